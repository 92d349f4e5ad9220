-- Ingest caches who is who (devices, their sites, residents and rooms: routing, service-press
-- configuration, time zones). Any change to those tables is announced on the 'registry' channel
-- so a running ingest re-reads them at once: switching a button off double-press must not wait
-- for a restart, or its double presses would keep opening tickets instead of raising an SOS.
-- Statement-level, so a bulk import is one notification, not one per row; and only for the
-- columns ingest reads (store/registry.py), so ingest's own last-seen updates announce nothing.

CREATE FUNCTION registry_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('registry', TG_TABLE_NAME);
    RETURN NULL;
END $$;

CREATE TRIGGER devices_registry AFTER INSERT OR DELETE
    OR UPDATE OF id, site_id, kind, resident_id, room_id, retired_at, service_press, service_type
    ON devices FOR EACH STATEMENT EXECUTE FUNCTION registry_changed();
CREATE TRIGGER sites_registry AFTER INSERT OR DELETE
    OR UPDATE OF id, kind, routing, lat, lon, tz ON sites
    FOR EACH STATEMENT EXECUTE FUNCTION registry_changed();
CREATE TRIGGER residents_registry AFTER INSERT OR DELETE OR UPDATE OF id, routing ON residents
    FOR EACH STATEMENT EXECUTE FUNCTION registry_changed();
CREATE TRIGGER rooms_registry AFTER INSERT OR DELETE OR UPDATE OF id, floor ON rooms
    FOR EACH STATEMENT EXECUTE FUNCTION registry_changed();
