-- Everyday service requests (issue 9): meals, housekeeping, repairs, companionship, a medical
-- escort. A ticket is opened by a button's service press or by a call an operator or grid staff
-- logs; it is routed to a service provider by type and community, and its visit is logged.
-- Tickets are never incidents: they have their own table, queue and lifecycle.

CREATE TABLE service_providers (
    id         text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_.-]{1,64}$'),
    name       text NOT NULL CHECK (name <> ''),
    phone      text NOT NULL DEFAULT '',
    email      text NOT NULL DEFAULT '',
    types      text[] NOT NULL CHECK (types <> '{}' AND types <@ ARRAY[
        'meal', 'housekeeping', 'repair', 'companionship', 'medical_escort', 'other']::text[]),
    active     boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- The grid nodes a provider serves (a node covers its whole subtree).
CREATE TABLE provider_areas (
    provider_id text NOT NULL REFERENCES service_providers(id),
    node_id     text NOT NULL REFERENCES org_nodes(id),
    PRIMARY KEY (provider_id, node_id)
);

ALTER TABLE users ADD COLUMN provider_id text REFERENCES service_providers(id);
ALTER TABLE users ADD CONSTRAINT users_provider_scoped CHECK (
    role <> 'provider' OR provider_id IS NOT NULL);

CREATE TABLE service_tickets (
    id                bigserial PRIMARY KEY,
    resident_id       text NOT NULL REFERENCES residents(id),
    node_id           text REFERENCES org_nodes(id),   -- the resident's node when opened
    site_id           text NOT NULL REFERENCES sites(id),
    type              text NOT NULL CHECK (type IN
                        ('meal', 'housekeeping', 'repair', 'companionship', 'medical_escort', 'other')),
    source            text NOT NULL CHECK (source IN ('button', 'operator', 'staff', 'family')),
    status            text NOT NULL DEFAULT 'open' CHECK (status IN
                        ('open', 'assigned', 'accepted', 'visit_started', 'visit_finished', 'rated',
                         'cancelled')),
    provider_id       text REFERENCES service_providers(id),
    notes             text NOT NULL DEFAULT '',
    requested_for     timestamptz,                     -- when the elder would like the visit
    device_id         text REFERENCES devices(id),     -- for a button's press:
    source_seq        bigint,                          --   (device, seq) makes it idempotent
    opened_by         text NOT NULL DEFAULT '',
    opened_at         timestamptz NOT NULL DEFAULT now(),
    assigned_at       timestamptz,
    accepted_at       timestamptz,
    accepted_by       text,
    visit_started_at  timestamptz,
    visit_start_lat   double precision,
    visit_start_lon   double precision,
    visit_finished_at timestamptz,
    visit_finish_lat  double precision,
    visit_finish_lon  double precision,
    visit_by          text,
    rating            smallint CHECK (rating BETWEEN 1 AND 5),
    rating_comment    text NOT NULL DEFAULT '',
    rated_by          text,
    rated_at          timestamptz,
    cancelled_at      timestamptz,
    cancel_reason     text NOT NULL DEFAULT '',
    UNIQUE (device_id, source_seq)
);
CREATE INDEX service_tickets_node ON service_tickets (node_id, opened_at);
CREATE INDEX service_tickets_provider ON service_tickets (provider_id, status);
CREATE INDEX service_tickets_resident ON service_tickets (resident_id, opened_at);

CREATE FUNCTION service_tickets_place() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.node_id IS NULL THEN
        NEW.node_id := (SELECT node_id FROM residents WHERE id = NEW.resident_id);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER service_tickets_place BEFORE INSERT ON service_tickets
    FOR EACH ROW EXECUTE FUNCTION service_tickets_place();

CREATE TABLE service_ticket_timeline (
    id         bigserial PRIMARY KEY,
    ticket_id  bigint NOT NULL REFERENCES service_tickets(id),
    at         timestamptz NOT NULL DEFAULT now(),
    actor      text NOT NULL,
    action     text NOT NULL,
    to_status  text NOT NULL,
    details    jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX service_ticket_timeline_ticket ON service_ticket_timeline (ticket_id, id);
