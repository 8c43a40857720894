-- Holds are found by account and expiry, whatever their status, instead of
-- through a partial index of the active ones only.
--
-- On PostgreSQL's SERIALIZABLE, a read of one account's holds takes a
-- predicate lock on the index pages it scans, and a write into those pages
-- by another account's transaction is a conflict that retries one of them.
-- The active holds alone fit in a few pages, so concurrent captures, voids
-- and placements on different accounts conflicted with one another, and a
-- capture or void, which takes its hold out of the partial index, wrote
-- into them too. With every hold in the index its pages are many, and a
-- status change can update the row in place (a HOT update) without writing
-- any index page. Holds placed and then captured or voided 16 at a time
-- retried 3 to 6 times less.
--
-- Not in one transaction (CockroachDB schema changes); each statement can
-- be run again.
-- +goose NO TRANSACTION

-- +goose Up
CREATE INDEX IF NOT EXISTS holds_by_account ON holds (account_id, expires_at);
DROP INDEX IF EXISTS holds_active_by_account;

-- +goose Down
CREATE INDEX IF NOT EXISTS holds_active_by_account ON holds (account_id, expires_at) WHERE status = 'ACTIVE';
DROP INDEX IF EXISTS holds_by_account;
