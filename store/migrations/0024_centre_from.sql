-- When an incident reached the centre's queue: at once for the centre's and care homes' routes,
-- when the family window ended or the family handed it over for family-first ones, never for
-- one the family handled (alerts/escalation.py counts the centre's 60 s and 180 s from here, and
-- the answer-time KPIs measure the centre from here, over the incidents that reached it).
-- Until now both counted from the opening: a family-first alarm the family did not take was
-- escalated ("not yet answered", to the supervisor and the family) the moment it reached the
-- centre, and counted late.
ALTER TABLE incidents ADD COLUMN centre_from timestamptz;
-- Incidents before this change: those that were not the family's first (or were moved to the
-- centre, whose route is now 'centre') are taken to have reached it when they opened.
UPDATE incidents SET centre_from = opened_at WHERE route <> 'family_first';
-- A new incident reaches the centre when it opens unless the family is asked first; whoever
-- inserts it (ingest, a check-up entered by staff, a test) need not say so.
CREATE FUNCTION incidents_centre_from() RETURNS trigger AS $$
BEGIN
    IF NEW.centre_from IS NULL AND NEW.route <> 'family_first' THEN
        NEW.centre_from := NEW.opened_at;
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER incidents_centre_from BEFORE INSERT ON incidents
    FOR EACH ROW EXECUTE FUNCTION incidents_centre_from();
