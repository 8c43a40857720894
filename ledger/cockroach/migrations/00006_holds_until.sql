-- A hint on each balance row: no hold on its account is active after
-- holds_until. A move skips reading the holds of an account whose hint is
-- past, which is nearly every account at nearly every moment. PlaceHold
-- raises it under the row's lock; nothing lowers it (a hold captured or
-- voided early only costs a read until then).

-- Not in one transaction: CockroachDB does not let a statement write a
-- column added earlier in the same transaction. Each statement can be run
-- again.
-- +goose NO TRANSACTION

-- +goose Up
ALTER TABLE balances ADD COLUMN IF NOT EXISTS holds_until TIMESTAMPTZ NOT NULL
    DEFAULT TIMESTAMPTZ '1970-01-01 00:00:00+00';

UPDATE balances SET holds_until = h.until
FROM (SELECT account_id, max(expires_at) AS until FROM holds WHERE status = 'ACTIVE' GROUP BY account_id) AS h
WHERE h.account_id = balances.account_id;

-- +goose Down
ALTER TABLE balances DROP COLUMN holds_until;
