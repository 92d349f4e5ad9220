-- A reminder before a family's stay ends (alerts/notify.py, remind_stay): "Mum's stay at your
-- flat ends at 18:00; extend it if she is staying on". It belongs to no incident: ``about``
-- names what it concerns instead ('stay:<resident>:<place>'), and a stay re-timed or ended
-- early takes its waiting reminder back (store/admin.py).
ALTER TABLE notifications ALTER COLUMN incident_id DROP NOT NULL;
ALTER TABLE notifications ADD COLUMN about text;
ALTER TABLE notifications ADD CONSTRAINT notifications_about_one_thing
    CHECK ((incident_id IS NULL) <> (about IS NULL));
CREATE INDEX notifications_about ON notifications (about) WHERE about IS NOT NULL;
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check
    CHECK (kind IN ('alarm', 'handled', 'escalated', 'accepted', 'device', 'stay'));
