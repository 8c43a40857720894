-- A statement that posts several entries (a group commit of transfers, a
-- batch) queues them for the sealer as one row instead of one each: their
-- ids and canonical bytes in arrays, in the order they are sealed, the
-- row's entry_id being the first of them. Reading and deleting the queue
-- cost the sealer by the row (index entries, heap tuples, and on
-- PostgreSQL's SERIALIZABLE a read lock each), so a row a statement cuts
-- its work by the size of the statements' batches (docs/benchmark.md).
-- Rows without arrays, queued before this migration or by the statements
-- that write one entry alone, hold one entry, as before.

-- +goose Up
ALTER TABLE journal_pending ADD COLUMN IF NOT EXISTS entry_ids UUID[], ADD COLUMN IF NOT EXISTS records BYTEA[];

-- +goose Down
ALTER TABLE journal_pending DROP COLUMN IF EXISTS records, DROP COLUMN IF EXISTS entry_ids;
