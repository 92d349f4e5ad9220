-- A 'device' message to a family (alerts/lifecycle.py tell_family_of_device: charge her watch,
-- put her smoke detector back, see to the home gateway) is P4: quiet hours hold it to the
-- morning. By then its maintenance item has often closed itself (the watch charged, the
-- detector back on its base, the line back at 04:00), and "please check the gateway" at 08:00
-- about a line that has worked for four hours is worse than nothing. So when an item is
-- resolved, by itself or by a person, its 'device' messages not yet sent nor being sent are
-- taken back (deleted, as a stay's reminder is when the stay is re-timed: migration 0033).
-- A message already sent stays on record; one being sent now finishes.
CREATE FUNCTION incidents_take_back_device_messages() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM notifications WHERE incident_id = NEW.id AND kind = 'device'
        AND status IN ('pending', 'failed');
    RETURN NULL;
END $$;
CREATE TRIGGER incidents_resolved_take_back AFTER UPDATE OF status ON incidents
    FOR EACH ROW WHEN (NEW.status = 'resolved' AND OLD.status <> 'resolved')
    EXECUTE FUNCTION incidents_take_back_device_messages();
