-- A record's entry is found by the entry's time and id, not by its id
-- alone. journal.entry_id was unique, and the index behind that keeps
-- random UUIDs: each record the sealer appends goes to a random page of
-- an index as large as the journal, which stops fitting in memory as the
-- books grow; it was about two thirds of the journal insert's cost under
-- load (docs/benchmark.md). journal.posted_at, the entry's own time,
-- grows with the journal, so the index on (posted_at, entry_id) takes
-- each record near its end, like the sequence's. It is unique: an entry
-- is still sealed at most once, since an entry has one time. Records
-- sealed before this migration have no posted_at; a partial index keeps
-- their ids unique, and only theirs. Migration 45 then drops the old
-- constraint.
--
-- Not in one transaction (CockroachDB schema changes); each statement can
-- be run again.
-- +goose NO TRANSACTION

-- +goose Up
ALTER TABLE journal ADD COLUMN IF NOT EXISTS posted_at TIMESTAMPTZ;
CREATE UNIQUE INDEX IF NOT EXISTS journal_by_entry_time ON journal (posted_at, entry_id);
CREATE UNIQUE INDEX IF NOT EXISTS journal_entry_untimed ON journal (entry_id) WHERE posted_at IS NULL;

-- +goose Down
DROP INDEX IF EXISTS journal_entry_untimed;
DROP INDEX IF EXISTS journal_by_entry_time;
ALTER TABLE journal DROP COLUMN IF EXISTS posted_at;
