-- What a posting is checked against, on the balance rows it changes: the
-- account's currency, kind and status. A move then reads only its two
-- balance rows, not their accounts too (sqlMove). Currency and kind never
-- change; status changes only through Store.SetAccountStatus, which changes
-- the account and all its balance rows in one transaction.

-- Not in one transaction: CockroachDB does not let a statement write a
-- column added earlier in the same transaction. Each statement can be run
-- again.
-- +goose NO TRANSACTION

-- +goose Up
ALTER TABLE balances ADD COLUMN IF NOT EXISTS currency TEXT NOT NULL DEFAULT '';
ALTER TABLE balances ADD COLUMN IF NOT EXISTS kind TEXT NOT NULL DEFAULT '';
ALTER TABLE balances ADD COLUMN IF NOT EXISTS status TEXT NOT NULL DEFAULT '';

UPDATE balances SET currency = a.currency, kind = a.kind, status = a.status
FROM accounts AS a
WHERE a.account_id = balances.account_id
    AND (balances.currency <> a.currency OR balances.kind <> a.kind OR balances.status <> a.status);

-- +goose Down
ALTER TABLE balances DROP COLUMN status;
ALTER TABLE balances DROP COLUMN kind;
ALTER TABLE balances DROP COLUMN currency;
