-- Commands down to devices (issue 7): asked for in the console, published by ingest (the only
-- broker client), answered by the device or its gateway on .../ack, or timed out.
CREATE TABLE commands (
    id            text PRIMARY KEY,
    device_id     text NOT NULL REFERENCES devices(id),
    site_id       text NOT NULL REFERENCES sites(id),
    command       text NOT NULL,
    requested_by  text NOT NULL,
    requested_at  timestamptz NOT NULL DEFAULT now(),
    deadline      timestamptz NOT NULL,
    published_at  timestamptz,
    status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'published', 'sent',
                    'done', 'unsupported', 'expired', 'failed', 'unknown_device', 'timed_out')),
    answered_at   timestamptz
);
CREATE INDEX commands_waiting ON commands (deadline) WHERE status IN ('pending', 'published', 'sent');
