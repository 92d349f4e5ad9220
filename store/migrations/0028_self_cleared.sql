-- A device's maintenance item closes itself when the device is whole again (heard, its battery
-- above its level): device health's "restored", store/batch.py's _clear_maintenance. Such an
-- incident is resolved by 'system' with its own outcome, so nobody reads it as a repair made.
ALTER TABLE incidents DROP CONSTRAINT incidents_outcome_check;
ALTER TABLE incidents ADD CONSTRAINT incidents_outcome_check CHECK (outcome IN ('genuine',
    'false_alarm', 'test', 'accidental', 'no_answer_escalated', 'device_fault', 'self_cleared'));
