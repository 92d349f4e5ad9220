-- Each running service says every few seconds that it is alive and doing its work, so that the
-- console can tell operators when alarms may not be arriving (alerts/intake.py): an ingest
-- lane that stopped, lost the broker or stalled, or a process that went silent. One row per
-- service name, overwritten at each beat; beat_at is the database's clock, so no process's
-- clock has to be right.
CREATE TABLE service_heartbeats (
    name            text PRIMARY KEY,       -- ingest-alarms, ingest-streams-w0of2, escalator, ...
    role            text NOT NULL,          -- ingest-alarms, ingest-streams, escalator, notifier
    host            text NOT NULL,          -- which machine and process (for the engineer)
    started_at      timestamptz NOT NULL,
    beat_at         timestamptz NOT NULL,
    running         boolean NOT NULL,       -- its task is still alive
    connected       boolean,                -- to the broker (ingest lanes only)
    processed_at    timestamptz,            -- its last round of work (ingest lanes only)
    last_message_at timestamptz             -- the last device message it took (ingest lanes only)
);
