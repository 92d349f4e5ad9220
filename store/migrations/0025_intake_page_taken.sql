-- The on-call engineer says "I'm on it" (alerts/oncall.py, console/intake.py): who took the
-- page and when, so the screens say someone is on it, the reminders slow from every 30 min to
-- every 2 h, and the other engineers paged are told once (taken_told_at) that they need not
-- come.
ALTER TABLE intake_pages
    ADD COLUMN taken_at      timestamptz,
    ADD COLUMN taken_by      text,
    ADD COLUMN taken_told_at timestamptz;
