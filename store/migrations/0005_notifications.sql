-- Notifications to family members and partner systems, with delivery tracking (issue 5).
-- Only contacts, residents and sites of 0001 are referenced; incidents are referred to by a plain
-- incident_id (the foreign key comes with the incidents migration).

-- Per-contact preferences. No row means the defaults: every kind, SMS then email.
CREATE TABLE notification_prefs (
    contact_id   bigint PRIMARY KEY REFERENCES contacts(id) ON DELETE CASCADE,
    kinds        text[] NOT NULL DEFAULT '{alarm,handled}'
                 CHECK (kinds <@ ARRAY['alarm', 'handled']),
    channels     text[] NOT NULL DEFAULT '{sms,email}'       -- in fallback order
                 CHECK (channels <@ ARRAY['sms', 'email']),
    quiet_start  time,                                        -- local time in tz; P1 ignores it
    quiet_end    time,
    tz           text,                                        -- NULL: the site's zone
    CHECK ((quiet_start IS NULL) = (quiet_end IS NULL))
);

-- Partner systems (community responder app, property management...) told about a site's alarms.
CREATE TABLE webhooks (
    id          bigserial PRIMARY KEY,
    site_id     text NOT NULL REFERENCES sites(id),
    url         text NOT NULL,
    secret      text NOT NULL,                                -- HMAC-SHA256 key; never logged
    lang        text NOT NULL DEFAULT 'zh-CN',
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhooks_site ON webhooks (site_id) WHERE active;

-- The outbox. Rows are written in the transaction that creates or closes the incident, and a
-- notifier process delivers them (alerts/notify.py). Status:
--   pending   waiting for its first attempt (next_attempt_at may lie after quiet hours)
--   sending   claimed by a notifier until next_attempt_at (a lease: if that process dies,
--             the row becomes due again)
--   failed    the last attempt failed; retried at next_attempt_at, on the same or the next channel
--   sent      delivered (sent_at)
--   given_up  every channel of the chain failed; listed for the console
CREATE TABLE notifications (
    id               bigserial PRIMARY KEY,
    incident_id      bigint NOT NULL,
    contact_id       bigint REFERENCES contacts(id),
    webhook_id       bigint REFERENCES webhooks(id),
    recipient        text GENERATED ALWAYS AS (
                         CASE WHEN contact_id IS NOT NULL THEN 'contact:' || contact_id
                              ELSE 'webhook:' || webhook_id END) STORED,
    kind             text NOT NULL CHECK (kind IN ('alarm', 'handled')),
    priority         smallint NOT NULL CHECK (priority BETWEEN 1 AND 4),
    lang             text NOT NULL,
    channels         text[] NOT NULL,                         -- the fallback chain
    channel_index    smallint NOT NULL DEFAULT 0,             -- 0-based position in channels
    channel          text GENERATED ALWAYS AS (channels[channel_index + 1]) STORED,
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'given_up')),
    attempts         integer NOT NULL DEFAULT 0,              -- on the current channel
    total_attempts   integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    sent_at          timestamptz,
    subject          text NOT NULL,                           -- rendered once, in lang
    body             text NOT NULL,
    short_text       text NOT NULL,                           -- fits one SMS
    payload          jsonb NOT NULL,                          -- structured facts for webhooks
    CHECK ((contact_id IS NULL) <> (webhook_id IS NULL)),
    -- Enqueueing the same message for the same person twice is a no-op.
    UNIQUE (incident_id, recipient, kind)
);
CREATE INDEX notifications_due ON notifications (next_attempt_at)
    WHERE status IN ('pending', 'sending', 'failed');
CREATE INDEX notifications_given_up ON notifications (created_at DESC) WHERE status = 'given_up';
