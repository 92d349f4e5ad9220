-- Falls waiting out their grace period (issue 3): written in the same transaction that
-- acknowledges the windows they were found in, so an ingest crash inside the grace period loses
-- nothing: the next ingest reloads them and alarms when the deadline passes.
CREATE TABLE pending_falls (
    device_id   text PRIMARY KEY REFERENCES devices(id),
    source_seq  bigint NOT NULL,            -- seq of the window holding the impact
    impact_at   timestamptz NOT NULL,
    deadline    timestamptz NOT NULL,
    finding     jsonb NOT NULL
);

-- Every detected fall and how it ended: alarmed, or logged because the wearer got up and moved
-- on or cancelled within the grace period.
CREATE TABLE fall_log (
    id           bigserial PRIMARY KEY,
    device_id    text NOT NULL REFERENCES devices(id),
    impact_at    timestamptz NOT NULL,
    outcome      text NOT NULL CHECK (outcome IN ('alarmed', 'recovered', 'cancelled')),
    resolved_at  timestamptz NOT NULL,
    evidence     jsonb NOT NULL,
    UNIQUE (device_id, impact_at)
);
