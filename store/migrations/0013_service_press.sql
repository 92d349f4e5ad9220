-- Which presses of a button ask for an everyday service rather than for help (issue 9).
-- 'none' (the default): every press is an SOS. 'second_key': the device has a dedicated service
-- key and sends event type 'service'. 'double_press': a double press (presses = 2) is a service
-- request. Any other press from any device stays an SOS; see docs/services.md.
ALTER TABLE devices
    ADD COLUMN service_press text NOT NULL DEFAULT 'none'
        CHECK (service_press IN ('none', 'second_key', 'double_press')),
    ADD COLUMN service_type  text NOT NULL DEFAULT 'other'
        CHECK (service_type IN
            ('meal', 'housekeeping', 'repair', 'companionship', 'medical_escort', 'other'));

-- The open-ticket count that breaks routing ties is read per provider.
CREATE INDEX service_tickets_open ON service_tickets (provider_id)
    WHERE status IN ('assigned', 'accepted', 'visit_started');
