-- Home and care-home gateways are devices too: they have credentials, check in, and forward
-- what they cannot translate (issue 7).
ALTER TABLE devices DROP CONSTRAINT devices_kind_check;
ALTER TABLE devices ADD CONSTRAINT devices_kind_check
    CHECK (kind IN ('button', 'smoke', 'wearable', 'gateway', 'radar', 'door', 'pir', 'bed'));
