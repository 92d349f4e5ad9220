-- A device whose clock is wrong has its readings refused (ts_past, ts_future: docs/device-api.md);
-- the maintenance list says so (alerts/maintenance.py), looking up each device's latest such
-- dead letter. Dead letters now name the device their topic names; only these two codes are
-- indexed, so the index stays small beside a table that also holds every rate-limited batch.
CREATE INDEX dead_letters_clock ON dead_letters (device_id, received_at DESC)
    WHERE code IN ('ts_past', 'ts_future');
