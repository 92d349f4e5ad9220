-- How many devices each ingest lane heard in each five-minute slot (ingest/activity.py),
-- written with the heartbeat: the console compares the latest slots with the same slots on
-- the days before and says when a working lane hears far fewer devices than usual
-- (alerts/intake.py, "quieter"). About 2,000 rows per lane, eight days kept.
CREATE TABLE lane_activity (
    lane        text NOT NULL,          -- the heartbeat's name: ingest-streams, ingest-alarms-w0of2
    slot_start  timestamptz NOT NULL,   -- a whole slot's start
    devices     integer NOT NULL,       -- distinct devices heard in it
    messages    integer NOT NULL,
    PRIMARY KEY (lane, slot_start)
);
-- The console's read starts from each lane's latest slot, by time across all lanes.
CREATE INDEX lane_activity_recent ON lane_activity (slot_start);
