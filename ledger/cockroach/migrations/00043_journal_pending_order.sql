-- The sealer reads the queue oldest first (ORDER BY posted_at, entry_id
-- LIMIT n). Without an index that was a scan of the whole table and a sort:
-- the table holds only the backlog, but between vacuums its heap also holds
-- every row sealed and deleted since, tens of thousands under load, so each
-- poll read about 1,500 pages. And on PostgreSQL's SERIALIZABLE a scan of
-- the whole table takes a predicate lock on all of it, which every
-- transfer's insert into the queue then conflicts with. With this index a
-- poll reads the first n entries of the index and locks only the pages it
-- reads.
--
-- New rows go to the index's end (posted_at is about now). On CockroachDB,
-- where a range that every transfer writes is a hot spot, an operator with
-- several nodes makes this index hash-sharded (USING HASH); the sealer's
-- query is the same.
--
-- Not in one transaction (CockroachDB schema changes); each statement can
-- be run again.
-- +goose NO TRANSACTION

-- +goose Up
CREATE INDEX IF NOT EXISTS journal_pending_by_time ON journal_pending (posted_at, entry_id);

-- +goose Down
DROP INDEX IF EXISTS journal_pending_by_time;
