-- A resident's own night, as their carers know it: asleep from one local hour, up by another.
-- NULL for both: the centre's night (22:00 to 07:00). The inactivity detector judges silence
-- from asleep_from to up_by by the night limit and counts the day's allowance from up_by, so an
-- early sleeper is not called at dawn and an early riser is missed sooner.
ALTER TABLE residents
    ADD COLUMN asleep_from smallint CHECK (asleep_from BETWEEN 0 AND 23),
    ADD COLUMN up_by smallint CHECK (up_by BETWEEN 0 AND 23),
    ADD CONSTRAINT residents_night_whole CHECK (
        (asleep_from IS NULL AND up_by IS NULL)
        OR (asleep_from IS NOT NULL AND up_by IS NOT NULL AND asleep_from <> up_by));

-- Ingest reads the night with the registry (store/registry.py): changing it must reach a
-- running ingest at once, like routing (migration 0014).
DROP TRIGGER residents_registry ON residents;
CREATE TRIGGER residents_registry AFTER INSERT OR DELETE
    OR UPDATE OF id, routing, asleep_from, up_by ON residents
    FOR EACH STATEMENT EXECUTE FUNCTION registry_changed();
