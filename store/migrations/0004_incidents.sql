-- Incidents (issue 5): alarms about the same subject join one incident, which is driven through
-- its lifecycle by people, with every step in an append-only timeline.

-- Routing as data, per site and per resident (alerts/routing.py reads these; NULL = defaults).
ALTER TABLE sites ADD COLUMN routing jsonb;
ALTER TABLE residents ADD COLUMN routing jsonb;

CREATE TABLE incidents (
    id               bigserial PRIMARY KEY,
    correlation_key  text NOT NULL,          -- resident:<id>, floor:<site>:<n>, device:<id>
    kind             text NOT NULL,          -- kind of the first alarm
    priority         smallint NOT NULL CHECK (priority BETWEEN 1 AND 4),
    status           text NOT NULL DEFAULT 'new' CHECK (status IN
                       ('new', 'claimed', 'in_progress', 'dispatched', 'on_site', 'resolved')),
    route            text NOT NULL CHECK (route IN
                       ('centre', 'family_first', 'care_home', 'maintenance')),
    site_id          text NOT NULL REFERENCES sites(id),
    resident_id      text REFERENCES residents(id),
    floor            integer,
    opened_at        timestamptz NOT NULL,
    last_alarm_at    timestamptz NOT NULL,
    alarm_count      integer NOT NULL DEFAULT 1,
    family_until     timestamptz,            -- family-first: the centre takes over after this
    claimed_by       text,
    claimed_at       timestamptz,
    first_claimed_at timestamptz,            -- kept across releases and reopenings, for KPIs
    dispatched_at    timestamptz,
    dispatched_to    text,
    on_site_at       timestamptz,
    resolved_at      timestamptz,
    outcome          text CHECK (outcome IN ('genuine', 'false_alarm', 'test', 'accidental',
                       'no_answer_escalated', 'device_fault')),
    escalation_level smallint NOT NULL DEFAULT 0,
    help_missing     boolean NOT NULL DEFAULT false,  -- dispatched help did not arrive in time
    next_timer_at    timestamptz,            -- when the escalation policy must look again
    CHECK ((status = 'resolved') = (outcome IS NOT NULL))
);
-- At most one open incident per subject: concurrent alarms join, never fork (ON CONFLICT).
CREATE UNIQUE INDEX incidents_one_open ON incidents (correlation_key) WHERE status <> 'resolved';
CREATE INDEX incidents_queue ON incidents (priority, opened_at) WHERE status <> 'resolved';
CREATE INDEX incidents_timers ON incidents (next_timer_at) WHERE next_timer_at IS NOT NULL;
CREATE INDEX incidents_opened ON incidents (opened_at);

ALTER TABLE alarms ADD COLUMN incident_id bigint REFERENCES incidents(id);
CREATE INDEX alarms_incident ON alarms (incident_id);

CREATE TABLE incident_timeline (
    id           bigserial PRIMARY KEY,
    incident_id  bigint NOT NULL REFERENCES incidents(id),
    at           timestamptz NOT NULL,
    actor        text NOT NULL,              -- a username, or 'system'
    action       text NOT NULL,
    from_status  text,
    to_status    text,
    details      jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX incident_timeline_incident ON incident_timeline (incident_id, id);
CREATE TRIGGER incident_timeline_append_only BEFORE UPDATE OR DELETE ON incident_timeline
    FOR EACH ROW EXECUTE FUNCTION audit_is_append_only();

-- The first claim is what the answer-time KPIs measure; later releases and re-claims keep it.
CREATE FUNCTION incidents_first_claim() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.claimed_at IS NOT NULL AND NEW.first_claimed_at IS NULL THEN
        NEW.first_claimed_at := NEW.claimed_at;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER incidents_first_claim BEFORE UPDATE ON incidents
    FOR EACH ROW EXECUTE FUNCTION incidents_first_claim();
