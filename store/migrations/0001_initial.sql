-- eldercare schema v1. All times are timestamptz (stored UTC). Migrations run in order, each once,
-- inside a transaction (store/migrate.py).

CREATE TABLE sites (
    id          text PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('home', 'day_care', 'care_home')),
    name        text NOT NULL,
    address     text NOT NULL DEFAULT '',
    community   text NOT NULL DEFAULT '',
    tz          text NOT NULL DEFAULT 'Asia/Shanghai',
    lat         double precision,
    lon         double precision,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE rooms (
    id       text PRIMARY KEY,
    site_id  text NOT NULL REFERENCES sites(id),
    floor    integer NOT NULL,
    name     text NOT NULL,
    UNIQUE (site_id, name)
);

CREATE TABLE residents (
    id           text PRIMARY KEY,
    site_id      text NOT NULL REFERENCES sites(id),
    room_id      text REFERENCES rooms(id),
    name         text NOT NULL,
    birth_year   integer CHECK (birth_year BETWEEN 1900 AND 2100),
    sex          text CHECK (sex IN ('F', 'M', 'X')),
    phone        text NOT NULL DEFAULT '',
    lang         text NOT NULL DEFAULT 'zh-CN',
    conditions   text[] NOT NULL DEFAULT '{}',
    medications  text[] NOT NULL DEFAULT '{}',
    mobility     text NOT NULL DEFAULT '',
    notes        text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE contacts (
    id           bigserial PRIMARY KEY,
    resident_id  text NOT NULL REFERENCES residents(id),
    name         text NOT NULL,
    relation     text NOT NULL,
    phone        text NOT NULL DEFAULT '',
    email        text NOT NULL DEFAULT '',
    lang         text NOT NULL DEFAULT 'zh-CN',
    priority     integer NOT NULL DEFAULT 1,
    keyholder    boolean NOT NULL DEFAULT false
);
CREATE INDEX contacts_resident ON contacts (resident_id, priority);

CREATE TABLE devices (
    id            text PRIMARY KEY,
    site_id       text NOT NULL REFERENCES sites(id),
    kind          text NOT NULL CHECK (kind IN ('button', 'smoke', 'wearable')),
    model         text NOT NULL DEFAULT '',
    resident_id   text REFERENCES residents(id),
    room_id       text REFERENCES rooms(id),
    registered_at timestamptz NOT NULL DEFAULT now(),
    retired_at    timestamptz,
    last_seen     timestamptz,
    last_checkin  timestamptz,
    battery       integer,
    online        boolean
);
CREATE INDEX devices_resident ON devices (resident_id);

-- Everything a device said that is an event (press, smoke, fault...). Low rate, kept for ever;
-- (device_id, seq) is the idempotency key of the whole pipeline.
CREATE TABLE events (
    id           bigserial PRIMARY KEY,
    device_id    text NOT NULL REFERENCES devices(id),
    seq          bigint NOT NULL,
    ts           timestamptz NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    type         text NOT NULL,
    detail       jsonb,
    UNIQUE (device_id, seq)
);
CREATE INDEX events_device_ts ON events (device_id, ts DESC);

-- Time series: partitioned by day (store/partitions.py creates and drops partitions). The
-- primary key includes ts because a partitioned table's unique keys must contain the partition
-- key; a redelivered message repeats its ts, so this still deduplicates.
CREATE TABLE telemetry (
    device_id  text NOT NULL,
    seq        bigint NOT NULL,
    ts         timestamptz NOT NULL,
    hr         smallint,
    spo2       smallint,
    skin_temp  real,
    steps      integer,
    battery    smallint,
    worn       boolean,
    PRIMARY KEY (device_id, ts, seq)
) PARTITION BY RANGE (ts);

CREATE TABLE locations (
    device_id  text NOT NULL,
    seq        bigint NOT NULL,
    ts         timestamptz NOT NULL,
    lat        double precision NOT NULL,
    lon        double precision NOT NULL,
    acc        real,
    source     text,
    PRIMARY KEY (device_id, ts, seq)
) PARTITION BY RANGE (ts);

CREATE TABLE checkins (
    device_id  text NOT NULL,
    seq        bigint NOT NULL,
    ts         timestamptz NOT NULL,
    kind       text NOT NULL,           -- 'checkin', 'online', 'offline'
    battery    smallint,
    rssi       smallint,
    PRIMARY KEY (device_id, ts, seq)
) PARTITION BY RANGE (ts);

-- Messages that broke the contract or named an unknown device: kept whole with the reason.
CREATE TABLE dead_letters (
    id           bigserial PRIMARY KEY,
    received_at  timestamptz NOT NULL DEFAULT now(),
    topic        text NOT NULL,
    payload      bytea NOT NULL,
    code         text NOT NULL,
    reason       text NOT NULL,
    device_id    text
);
CREATE INDEX dead_letters_received ON dead_letters (received_at DESC);

CREATE TABLE alarms (
    id               bigserial PRIMARY KEY,
    kind             text NOT NULL,          -- sos, smoke, fall, ...
    priority         smallint NOT NULL CHECK (priority BETWEEN 1 AND 4),
    status           text NOT NULL DEFAULT 'new'
                     CHECK (status IN ('new', 'acknowledged', 'cancelled', 'resolved')),
    device_id        text NOT NULL REFERENCES devices(id),
    site_id          text NOT NULL REFERENCES sites(id),
    resident_id      text REFERENCES residents(id),
    room_id          text REFERENCES rooms(id),
    source_seq       bigint NOT NULL,        -- seq of the message that raised it
    occurred_at      timestamptz NOT NULL,   -- when the device observed it
    raised_at        timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz,            -- first time a console client confirmed receipt
    acknowledged_at  timestamptz,
    acknowledged_by  text,
    details          jsonb NOT NULL DEFAULT '{}',
    UNIQUE (device_id, source_seq, kind)     -- a replayed message never raises a second alarm
);
CREATE INDEX alarms_open ON alarms (priority, raised_at) WHERE status = 'new';

-- A few seconds of raw motion around a detected fall, for the operator's chart.
CREATE TABLE alarm_snippets (
    alarm_id   bigint PRIMARY KEY REFERENCES alarms(id),
    hz         real NOT NULL,
    t0         timestamptz NOT NULL,
    samples    bytea NOT NULL              -- little-endian float32 (n, 3), g
);

CREATE TABLE users (
    id             bigserial PRIMARY KEY,
    username       text NOT NULL UNIQUE,
    password_hash  text NOT NULL,
    role           text NOT NULL CHECK (role IN ('operator', 'supervisor', 'care_staff', 'family', 'admin')),
    display_name   text NOT NULL,
    lang           text NOT NULL DEFAULT 'zh-CN',
    scope_site     text REFERENCES sites(id),
    scope_resident text REFERENCES residents(id),
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sessions (
    token_hash  text PRIMARY KEY,            -- sha256 of the cookie value; the value is never stored
    user_id     bigint NOT NULL REFERENCES users(id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);

-- Append-only: the application role is never granted UPDATE or DELETE on it.
CREATE TABLE audit (
    id       bigserial PRIMARY KEY,
    at       timestamptz NOT NULL DEFAULT now(),
    actor    text NOT NULL,
    action   text NOT NULL,
    target   text NOT NULL,
    details  jsonb NOT NULL DEFAULT '{}'
);

CREATE FUNCTION audit_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only';
END $$;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_is_append_only();
