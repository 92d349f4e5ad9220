-- The health record's readings over time (issue 9): self check-ups -- blood pressure, blood
-- glucose, weight, temperature, pulse, SpO2 -- taken at a community kiosk, entered by staff, or
-- sent by the elder's own meter. Wearable streams stay in `telemetry`; this table holds deliberate
-- measurements, a few a day at most, kept with the record for ever (like events, not partitioned).
-- Every read of them goes through the console, which writes the audit trail (docs/health.md).

CREATE TABLE health_readings (
    id          bigserial PRIMARY KEY,
    resident_id text NOT NULL REFERENCES residents(id),
    at          timestamptz NOT NULL,                 -- when it was measured
    kind        text NOT NULL CHECK (kind IN ('bp_systolic', 'bp_diastolic', 'glucose', 'weight',
                                              'temperature', 'heart_rate', 'spo2')),
    -- The contract and the console refuse implausible values long before this; the check keeps
    -- NaN and infinities out (PostgreSQL sorts NaN above every number).
    value       double precision NOT NULL CHECK (value > 0 AND value < 1000),
    unit        text NOT NULL,                        -- mmHg, mmol/L, kg, °C, bpm, %
    source      text NOT NULL CHECK (source IN ('kiosk', 'staff', 'self')),
    device_id   text REFERENCES devices(id),          -- the kiosk or meter; NULL for staff entry
    source_seq  bigint NOT NULL,                      -- the message's seq; staff: staff_checkup_seq
    entered_by  text NOT NULL DEFAULT '',             -- the console user, for staff entries
    abnormal    boolean NOT NULL DEFAULT false,
    finding     text CHECK (finding IN ('below_bound', 'above_bound', 'deviation')),
    received_at timestamptz NOT NULL DEFAULT now(),
    CHECK (abnormal = (finding IS NOT NULL)),
    CHECK ((source = 'staff') = (device_id IS NULL)),
    -- A kiosk message redelivered by the broker stores nothing new.
    UNIQUE (device_id, source_seq, kind)
);
CREATE INDEX health_readings_resident ON health_readings (resident_id, kind, at);

-- Staff entries have no device sequence number: this numbers them, and with the site's entry
-- source (below) keys their alarms the way (device, seq, kind) keys a device's.
CREATE SEQUENCE staff_checkup_seq;

-- A clinician's own check-up limits for one resident, over the defaults in detection/checkup.py:
-- {"bp_systolic": {"high": 170}, "glucose": {"low": 4.5, "high": null}}.
ALTER TABLE residents ADD COLUMN checkup_bounds jsonb NOT NULL DEFAULT '{}'
    CHECK (jsonb_typeof(checkup_bounds) = 'object');

-- Kiosks (community health kiosks: blood pressure, glucose, scales) are devices. 'staff_entry' is
-- the console as the source of readings staff type in for a site's residents: an alarm names a
-- device, so each site gets one such row when its first staff entry raises an alarm. It is
-- created retired: it never gets credentials, never appears in device lists or maintenance, and
-- ingest refuses anything published in its name.
ALTER TABLE devices DROP CONSTRAINT devices_kind_check;
ALTER TABLE devices ADD CONSTRAINT devices_kind_check
    CHECK (kind IN ('button', 'smoke', 'wearable', 'gateway', 'radar', 'door', 'pir', 'bed',
                    'kiosk', 'staff_entry'));
