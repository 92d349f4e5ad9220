-- Which gateway a device reaches the platform through. A home's buttons and smoke detectors
-- speak zigbee to the home gateway, and only the gateway speaks MQTT: when its line is cut, the
-- broker publishes the gateway's last will and nothing at all of the devices behind it, which
-- stay "fine" until their own check-ins are missed, 37.5 h later for a battery button. Device
-- health now counts a device behind a gateway that is offline or silent as cut off: an elder
-- all of whose emergency devices are cut off gets a welfare check at once (detection/
-- device_health.py), and a device's own silence while its gateway is down is the gateway's
-- (held, as a site's outage holds its devices'). Null: the device connects by itself (a 4G
-- watch), or nobody said.

ALTER TABLE devices ADD COLUMN via text REFERENCES devices(id) ON DELETE SET NULL;
ALTER TABLE devices ADD CONSTRAINT devices_via_not_itself CHECK (via IS NULL OR via <> id);

-- A device goes through a gateway of its own site, never through a button or another home's.
CREATE FUNCTION devices_via_is_a_gateway() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.via IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM devices g WHERE g.id = NEW.via AND g.kind = 'gateway'
               AND g.site_id = NEW.site_id) THEN
        RAISE EXCEPTION 'device % cannot go through %: that is not a gateway at site %',
            NEW.id, NEW.via, NEW.site_id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER devices_via_gateway BEFORE INSERT OR UPDATE OF via, site_id ON devices
    FOR EACH ROW EXECUTE FUNCTION devices_via_is_a_gateway();

-- A running ingest must hear of it at once (migration 0014).
DROP TRIGGER devices_registry ON devices;
CREATE TRIGGER devices_registry AFTER INSERT OR DELETE
    OR UPDATE OF id, site_id, kind, resident_id, room_id, retired_at, service_press, service_type,
       via
    ON devices FOR EACH STATEMENT EXECUTE FUNCTION registry_changed();
