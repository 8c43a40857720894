-- The journal, one row per sealing transaction instead of one per record,
-- as the tree's chunks are (migration 34): a row holds the records that one
-- transaction sealed, their entries' ids, times and chain hashes in arrays,
-- element i being record first_sequence + i - 1. A row a record was about a
-- third of what sealing cost (docs/benchmark.md); a row a transaction costs
-- next to nothing. The records and their hashes are unchanged
-- (docs/journal.md): only their storage is. Migration 47 moves the records
-- sealed before it into this table and puts a view named journal, one row
-- a record, in the old table's place.

-- +goose NO TRANSACTION
-- +goose Up
-- prev_hash is the chain's hash before the first record; first_posted_at
-- and last_posted_at are the earliest and latest of the records' entry
-- times, through which a record is found by its entry.
CREATE TABLE IF NOT EXISTS journal_blocks (
    first_sequence  INT8 PRIMARY KEY,
    last_sequence   INT8 NOT NULL,
    prev_hash       BYTEA NOT NULL,
    entry_ids       UUID[] NOT NULL,
    posted_ats      TIMESTAMPTZ[] NOT NULL,
    hashes          BYTEA[] NOT NULL,
    first_posted_at TIMESTAMPTZ,
    last_posted_at  TIMESTAMPTZ,
    sealed_at       TIMESTAMPTZ NOT NULL,
    sealed_by       TEXT NOT NULL,
    lease_epoch     INT8 NOT NULL,
    CHECK (last_sequence >= first_sequence)
);
CREATE INDEX IF NOT EXISTS journal_blocks_by_time ON journal_blocks (last_posted_at);

GRANT SELECT, INSERT ON TABLE journal_blocks TO ledger_sealer;
GRANT SELECT ON TABLE journal_blocks TO ledger_auditor;

-- +goose Down
DROP TABLE IF EXISTS journal_blocks;
