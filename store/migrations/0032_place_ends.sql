-- A stay, not a second home: "Mum is with me until Sunday" is what a family tells the centre.
-- A safe place may end (ends_at): past it the geofence no longer counts it, so an elder still
-- there that night is a wandering the operator asks the family about, and the place needs no
-- one to remember to remove it. Families set their own stays (console/residents.py); those are
-- marked (by_family) and always end, so a family cannot widen the fence for good without the
-- centre, and the centre's own places are not theirs to change.

ALTER TABLE resident_places ADD COLUMN ends_at timestamptz;
ALTER TABLE resident_places ADD COLUMN by_family boolean NOT NULL DEFAULT false;
ALTER TABLE resident_places ADD CONSTRAINT resident_places_ends_later
    CHECK (ends_at IS NULL OR ends_at > changed_at);
ALTER TABLE resident_places ADD CONSTRAINT resident_places_family_stays_end
    CHECK (NOT by_family OR ends_at IS NOT NULL);
