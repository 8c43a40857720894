-- The journal's Merkle tree, one row per sealing transaction instead of one
-- per node (see sealtree.go and docs/journal.md): a row holds the 32-byte
-- hashes of the nodes that transaction completed, in the order the tree
-- completes them, so that node (level, idx) is at a position computed from
-- (level, idx) alone. Two rows a record cost the sealer more than the
-- records themselves; one row a transaction costs next to nothing.

-- +goose Up
-- first_node is the position of the row's first node; tree_size is how many
-- records the tree holds with this row; nodes are the hashes, back to back.
CREATE TABLE journal_tree_chunks (
    first_node INT8 PRIMARY KEY,
    tree_size  INT8 NOT NULL,
    nodes      BYTEA NOT NULL
);

GRANT SELECT, INSERT ON TABLE journal_tree_chunks TO ledger_sealer;
GRANT SELECT ON TABLE journal_tree_chunks TO ledger_auditor;

-- The tree is derived from the journal: the sealer rebuilds it from the
-- records (as it did for the journal sealed before migration 30) before it
-- seals anything new, and the roots it reaches are those already signed.
DROP TABLE journal_tree;

-- +goose Down
CREATE TABLE journal_tree (
    level INT4 NOT NULL,
    idx   INT8 NOT NULL,
    hash  BYTEA NOT NULL,
    PRIMARY KEY (level, idx)
);
GRANT SELECT, INSERT ON TABLE journal_tree TO ledger_sealer;
GRANT SELECT ON TABLE journal_tree TO ledger_auditor;
DROP TABLE journal_tree_chunks;
