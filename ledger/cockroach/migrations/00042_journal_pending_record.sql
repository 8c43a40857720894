-- A pending entry carries its canonical bytes (docs/journal.md, at sequence
-- 0), written by the entry's own transaction from the values it writes to
-- entries and postings, so that the sealer reads only the queue: no lookup
-- of entries or postings per record. The sealer parses each record and
-- checks that it names the row's entry and time; the journal's verifiers
-- recompute every hash from entries and postings, as before. Rows queued
-- before this migration have none and are read the old way.

-- +goose Up
ALTER TABLE journal_pending ADD COLUMN IF NOT EXISTS record BYTEA;

-- +goose Down
ALTER TABLE journal_pending DROP COLUMN IF EXISTS record;
