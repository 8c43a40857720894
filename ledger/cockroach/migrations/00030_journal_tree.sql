-- What anchors the journal outside the database (see sealer.go and
-- docs/journal.md): the Merkle tree over the records, and the checkpoints
-- the sealer signs with a key the database never sees.

-- +goose Up
-- The nodes of the journal's tree (RFC 9162) whose subtrees are complete:
-- level 0 is the leaf of record idx+1; a node at level k covers 2^k
-- records. A complete node never changes, so the sealer only appends:
-- about two rows a record, after reading the right edge of the tree.
CREATE TABLE journal_tree (
    level INT4 NOT NULL,
    idx   INT8 NOT NULL,
    hash  BYTEA NOT NULL,
    PRIMARY KEY (level, idx)
);

-- Every checkpoint the sealer signed: the first tree_size records have
-- this root and chain head. note is the signed note exactly as signed; the
-- other columns are read from it, for queries. The witness file
-- (--witness-dir) holds the same notes outside the database.
CREATE TABLE journal_checkpoints (
    tree_size   INT8 PRIMARY KEY,
    root_hash   BYTEA NOT NULL,
    chain_head  BYTEA NOT NULL,
    signed_at   TIMESTAMPTZ NOT NULL,
    key_name    TEXT NOT NULL,
    key_id      INT8 NOT NULL,
    note        TEXT NOT NULL,
    sealed_by   TEXT NOT NULL,
    lease_epoch INT8 NOT NULL
);

GRANT SELECT, INSERT ON TABLE journal_tree, journal_checkpoints TO ledger_sealer;
GRANT SELECT ON TABLE journal_tree, journal_checkpoints TO ledger_auditor;

-- +goose Down
DROP TABLE journal_checkpoints;
DROP TABLE journal_tree;
