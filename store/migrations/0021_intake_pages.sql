-- The on-call engineer paged when the alarm path broke (alerts/oncall.py): one row per episode,
-- from the page to the all-clear. At most one episode is open (cleared_at NULL), so that two
-- console processes watching the same heartbeats page once, not twice: the one whose insert
-- wins sends.
CREATE TABLE intake_pages (
    id           bigserial PRIMARY KEY,
    began_at     timestamptz NOT NULL,        -- when the trouble began, as the heartbeats tell
    paged_at     timestamptz NOT NULL DEFAULT now(),
    problems     jsonb NOT NULL,              -- [{"name", "role", "problem", "since"}], at the page
    recipients   integer NOT NULL DEFAULT 0,  -- on-call addresses the page was sent to
    delivered    integer,                     -- how many took it (NULL: still being sent)
    reminded_at  timestamptz,                 -- the last "still broken" reminder
    cleared_at   timestamptz                  -- the path found working again
);
CREATE UNIQUE INDEX intake_pages_one_open ON intake_pages ((true)) WHERE cleared_at IS NULL;
