-- The family is told when a device of the elder's needs them: for now, their watch has gone flat
-- (alerts/lifecycle.py, tell_family_of_device). 'device' is a kind a contact may want, and is
-- wanted by default: a preference saved before it existed lists the kinds chosen then, and keeps
-- them (the family page shows the new one unticked).
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check
    CHECK (kind IN ('alarm', 'handled', 'escalated', 'accepted', 'device'));
ALTER TABLE notification_prefs DROP CONSTRAINT notification_prefs_kinds_check;
ALTER TABLE notification_prefs ADD CONSTRAINT notification_prefs_kinds_check
    CHECK (kinds <@ ARRAY['alarm', 'handled', 'device']);
ALTER TABLE notification_prefs ALTER COLUMN kinds SET DEFAULT '{alarm,handled,device}';
