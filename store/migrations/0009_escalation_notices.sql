-- Issue 5: an unanswered P1 escalates to the next channel: the family is told the centre has
-- not yet reached the alarm, so they can call or go (the 'escalated' notification).
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check
    CHECK (kind IN ('alarm', 'handled', 'escalated'));
