-- Detectors' snapshots (issue 4): baselines and learnt rhythms survive an ingest restart.
CREATE TABLE detector_state (
    name      text PRIMARY KEY,
    snapshot  jsonb NOT NULL,
    saved_at  timestamptz NOT NULL DEFAULT now()
);
