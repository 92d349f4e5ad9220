-- Where a resident may safely be at night: the geofence (detection/geofence.py) held every
-- wearer to a 300 m circle around their home. An elder who stays the night at their daughter's
-- raised a wandering alarm every evening there, and once it had, slipping out of the daughter's
-- flat at 2 a.m. raised nothing (one alarm per excursion). Carers now set the home's radius
-- (a village home's fields are further than a flat's courtyard) and name other safe places.

ALTER TABLE residents ADD COLUMN safe_radius_m real
    CHECK (safe_radius_m IS NULL OR safe_radius_m BETWEEN 50 AND 5000);

CREATE TABLE resident_places (
    resident_id  text NOT NULL REFERENCES residents(id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100 AND lower(name) <> 'home'),
    lat          double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon          double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
    radius_m     real NOT NULL CHECK (radius_m BETWEEN 50 AND 5000),
    changed_by   text NOT NULL,
    changed_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (resident_id, name)
);

-- Ingest reads both with the registry (store/registry.py): a place added must reach a running
-- ingest at once (migration 0014), or tonight's stay at the daughter's is still an alarm.
DROP TRIGGER residents_registry ON residents;
CREATE TRIGGER residents_registry AFTER INSERT OR DELETE
    OR UPDATE OF id, routing, asleep_from, up_by, safe_radius_m ON residents
    FOR EACH STATEMENT EXECUTE FUNCTION registry_changed();
CREATE TRIGGER resident_places_registry AFTER INSERT OR DELETE OR UPDATE ON resident_places
    FOR EACH STATEMENT EXECUTE FUNCTION registry_changed();
