-- What the inactivity detector holds for each resident, kept by ingest for the console: when
-- they last moved, whether they are home, and the silence allowed to them at each hour of their
-- day (learnt from their own days, or the programme's default) and at night. A daughter or a
-- nurse can then see when the centre would be called. Written once a minute for the residents
-- whose summary changed (a last movement only when it moved on by five minutes or more), so
-- it may be that much behind the detector. No foreign key: a row outliving its resident is
-- harmless, and ingest's writes must not fail on a resident removed meanwhile.
CREATE TABLE resident_welfare (
    resident_id      text PRIMARY KEY,
    last_movement_at timestamptz NOT NULL,
    at_home          boolean NOT NULL,
    tz               text NOT NULL,
    asleep_from      smallint NOT NULL CHECK (asleep_from BETWEEN 0 AND 23),
    up_by            smallint NOT NULL CHECK (up_by BETWEEN 0 AND 23),
    bin_hours        smallint NOT NULL CHECK (bin_hours BETWEEN 1 AND 24),
    day_limits_s     real[] NOT NULL,   -- per bin from 00:00; NULL where the bin is all night
    learnt           boolean[] NOT NULL,
    night_limit_s    real NOT NULL,
    updated_at       timestamptz NOT NULL
);
