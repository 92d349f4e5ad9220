-- Ingest reads the outcomes of resolved incidents back once a minute (store/outcomes.py): an
-- inactivity alarm an operator found genuine must not teach the detector that such a silence
-- is this resident's ordinary life. This index keeps that read to the incidents resolved since.
CREATE INDEX incidents_resolved ON incidents (resolved_at) WHERE resolved_at IS NOT NULL;
