-- A family member who accepts a family-first alarm ("I'm going", alerts/lifecycle.py): the
-- elder's other contacts are told who is going (the 'accepted' notification), so that nobody
-- else sets out, and nobody assumes someone else did.
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check
    CHECK (kind IN ('alarm', 'handled', 'escalated', 'accepted'));
