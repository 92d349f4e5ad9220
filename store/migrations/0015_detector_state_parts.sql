-- Detector snapshots as parts of encoded JSON, not one jsonb value.
--
-- The welfare detectors of a large district outgrew jsonb: 8,000 wearers after three days of
-- learning make a snapshot of ~550 MB, and a jsonb value cannot exceed 256 MB (its offsets are
-- 28 bits); PostgreSQL also spent seconds parsing it. The snapshot is now written as the bytes
-- ingest encoded, in parts of at most 32 MB, all of a name replaced in one transaction.
-- detector_state keeps what older versions wrote; a reader falls back to it when a name has no
-- parts, and saving parts removes it.
CREATE TABLE detector_state_parts (
    name      text NOT NULL,
    part      integer NOT NULL CHECK (part >= 0),
    body      bytea NOT NULL,
    saved_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name, part)
);
-- Stored out of line without compression: pglz spent most of a write on base64 of floats that
-- it barely shrinks.
ALTER TABLE detector_state_parts ALTER COLUMN body SET STORAGE EXTERNAL;
