-- What the inactivity check holds a silence carried over from one part of the day into the
-- next to (detection/inactivity.py): the morning limit, how long one carried over from the
-- night may last, whole, before the centre is called in the morning unless the day's
-- allowance from the wake hour calls first; and the resident's bedtime, in seconds after their
-- wake hour, before which a silence that began by day is still held to its day limit after
-- the sleep hour ('Infinity': never seen going to bed by day). NULL until ten of the
-- resident's nights are known, and in rows written before they existed: the day's allowance
-- and the night limit alone, as before.
ALTER TABLE resident_welfare ADD COLUMN morning_limit_s real;
ALTER TABLE resident_welfare ADD COLUMN bedtime_from_s real;
