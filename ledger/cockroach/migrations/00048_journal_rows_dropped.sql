-- The journal's table of one row a record, emptied into journal_blocks by
-- migration 47, is dropped.

-- +goose Up
DROP TABLE journal_sealed_rows;

-- +goose Down
-- The table as migrations 3, 4, 44 and 45 left it; migration 47's Down
-- fills it again from journal_blocks.
CREATE TABLE journal_sealed_rows (
    sequence    INT8 PRIMARY KEY,
    entry_id    UUID NOT NULL,
    prev_hash   BYTEA NOT NULL,
    hash        BYTEA NOT NULL,
    sealed_at   TIMESTAMPTZ NOT NULL,
    sealed_by   TEXT NOT NULL DEFAULT '',
    lease_epoch INT8 NOT NULL DEFAULT 0,
    posted_at   TIMESTAMPTZ
);
CREATE UNIQUE INDEX journal_by_entry_time ON journal_sealed_rows (posted_at, entry_id);
CREATE UNIQUE INDEX journal_entry_untimed ON journal_sealed_rows (entry_id) WHERE posted_at IS NULL;
GRANT SELECT, INSERT ON TABLE journal_sealed_rows TO ledger_sealer;
GRANT SELECT ON TABLE journal_sealed_rows TO ledger_auditor;
