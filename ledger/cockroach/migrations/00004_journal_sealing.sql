-- What the sealer needs (see sealer.go and docs/journal.md): who made each
-- entry, the queue of entries not sealed yet, and who sealed each record
-- under which lease term.

-- +goose Up
-- The actor of the request that made the entry; entries written before
-- actors were recorded were made by the ledger itself.
ALTER TABLE entries ADD COLUMN actor TEXT NOT NULL DEFAULT 'system';

-- One row per committed entry not sealed yet, written in the entry's own
-- transaction and deleted by the sealing transaction that appends it to the
-- journal. Keyed by the entry's random UUID, so concurrent transfers insert
-- into different places of the index (no shared row, page or range), and
-- small: it holds only the backlog, so the sealer finds its next batch
-- without scanning the entries.
CREATE TABLE journal_pending (
    entry_id  UUID PRIMARY KEY,
    posted_at TIMESTAMPTZ NOT NULL
);

-- Entries written before the journal existed are sealed first.
INSERT INTO journal_pending (entry_id, posted_at) SELECT entry_id, posted_at FROM entries;

ALTER TABLE journal ADD COLUMN sealed_by TEXT NOT NULL DEFAULT '';
ALTER TABLE journal ADD COLUMN lease_epoch INT8 NOT NULL DEFAULT 0;

-- epoch counts the changes of holder: a fencing token recorded with every
-- record sealed under it.
ALTER TABLE sealer_lease ADD COLUMN epoch INT8 NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE sealer_lease DROP COLUMN epoch;
ALTER TABLE journal DROP COLUMN lease_epoch;
ALTER TABLE journal DROP COLUMN sealed_by;
DROP TABLE journal_pending;
ALTER TABLE entries DROP COLUMN actor;
