-- The morning limit: how long a silence carried over from the night may last, whole, before
-- the centre is called in the morning, unless the day's allowance from the wake hour calls
-- first (detection/inactivity.py). NULL until ten of the resident's nights are known, and in
-- rows written before it existed: the day's allowance alone, as before.
ALTER TABLE resident_welfare ADD COLUMN morning_limit_s real;
