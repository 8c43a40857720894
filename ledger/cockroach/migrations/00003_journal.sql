-- The auditors' journal: a gapless sequence and a SHA-256 hash chain over
-- the entries, assigned after commit by one sealer at a time (see
-- sealer.go). The online path only announces each new entry in a row of
-- its own (journal_pending, migration 4), so transfers share no row or
-- sequence.

-- +goose Up
-- One row per sealed entry. sequence has no gaps and never changes: each
-- sealing transaction reads the last row and appends after it. prev_hash
-- and hash are the chain; see docs/journal.md.
CREATE TABLE journal (
    sequence  INT8 PRIMARY KEY,
    entry_id  UUID NOT NULL UNIQUE,
    prev_hash BYTEA NOT NULL,
    hash      BYTEA NOT NULL,
    sealed_at TIMESTAMPTZ NOT NULL
);

-- The lease that makes one sealer active per database. It is taken or
-- renewed inside each sealing transaction, so a sealer that lost it cannot
-- append.
CREATE TABLE sealer_lease (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE sealer_lease;
DROP TABLE journal;
