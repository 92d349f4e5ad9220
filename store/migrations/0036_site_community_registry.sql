-- Ingest reads a site's community (store/registry.py site_community): the gateways of several
-- homes of one community down together are one area outage (detection/device_health.py). A
-- site moved to another community must be heard by a running ingest at once (migration 0014),
-- or its gateway would go on counting towards the old community's outages until a restart.
DROP TRIGGER sites_registry ON sites;
CREATE TRIGGER sites_registry AFTER INSERT OR DELETE
    OR UPDATE OF id, kind, routing, lat, lon, tz, community ON sites
    FOR EACH STATEMENT EXECUTE FUNCTION registry_changed();
