-- A device whose clock is wrong by more than the window (ts_past, ts_future) has its clock's
-- error learnt from its readings, which are then placed by it instead of refused
-- (ingest/codec.py). The row keeps how far its latest message was moved (NULL: its clock is
-- right), so the maintenance list says its clock needs setting (alerts/maintenance.py).
ALTER TABLE devices ADD COLUMN clock_offset_s double precision;
