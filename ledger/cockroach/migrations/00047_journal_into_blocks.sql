-- The records sealed before migration 46 move into journal_blocks, each as
-- a block of its own, with its entry's time where it had none (records
-- sealed before migration 44), so that every record is found the same way.
-- A view named journal, one row a record as the table was, takes the
-- table's place for whoever reads the journal by hand; the ledger reads
-- the blocks. The table is renamed first, so that a sealer of an older
-- version fails rather than append where nothing reads (its entries stay
-- in the queue for the new one); migration 48 drops it.

-- +goose Up
ALTER TABLE journal RENAME TO journal_sealed_rows;

CREATE VIEW journal AS SELECT b.first_sequence + x.i - 1 AS sequence, x.entry_id, x.posted_at,
        CASE WHEN x.i = 1 THEN b.prev_hash ELSE b.hashes[CAST(x.i - 1 AS INT4)] END AS prev_hash, x.hash,
        b.sealed_at, b.sealed_by, b.lease_epoch
    FROM journal_blocks AS b
    CROSS JOIN LATERAL unnest(b.entry_ids, b.posted_ats, b.hashes) WITH ORDINALITY AS x (entry_id, posted_at, hash, i);
GRANT SELECT ON TABLE journal TO ledger_auditor;

INSERT INTO journal_blocks (first_sequence, last_sequence, prev_hash, entry_ids, posted_ats, hashes,
        first_posted_at, last_posted_at, sealed_at, sealed_by, lease_epoch)
    SELECT j.sequence, j.sequence, j.prev_hash, ARRAY[j.entry_id], ARRAY[COALESCE(j.posted_at, e.posted_at)], ARRAY[j.hash],
        COALESCE(j.posted_at, e.posted_at), COALESCE(j.posted_at, e.posted_at), j.sealed_at, j.sealed_by, j.lease_epoch
    FROM journal_sealed_rows AS j LEFT JOIN entries AS e ON e.entry_id = j.entry_id;

-- +goose Down
DROP VIEW journal;
ALTER TABLE journal_sealed_rows RENAME TO journal;
INSERT INTO journal (sequence, entry_id, posted_at, prev_hash, hash, sealed_at, sealed_by, lease_epoch)
    SELECT b.first_sequence + x.i - 1, x.entry_id, x.posted_at,
        CASE WHEN x.i = 1 THEN b.prev_hash ELSE b.hashes[CAST(x.i - 1 AS INT4)] END, x.hash,
        b.sealed_at, b.sealed_by, b.lease_epoch
    FROM journal_blocks AS b
    CROSS JOIN LATERAL unnest(b.entry_ids, b.posted_ats, b.hashes) WITH ORDINALITY AS x (entry_id, posted_at, hash, i)
    WHERE b.first_sequence + x.i - 1 > (SELECT COALESCE(max(j.sequence), 0) FROM journal AS j);
