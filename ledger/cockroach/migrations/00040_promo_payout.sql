-- The special deposit pays what it promised: a promo's term, early rate
-- and tax withholding; each subscription's maturity, status and payout;
-- and the lease that makes one payer active per database (payout.go).
--
-- A subscription is paid back once: its payout entry's request id derives
-- from the subscription, and the same transaction moves it out of ACTIVE.
-- due_at is when the payer next takes it up: its maturity, or later when a
-- payout was refused (a frozen account) and waits to be tried again.
-- Subscriptions of promos created before terms existed have no maturity.
--
-- Not in one transaction: CockroachDB does not let a statement write a
-- column added earlier in the same transaction. Each statement can be run
-- again.
-- +goose NO TRANSACTION

-- +goose Up
ALTER TABLE promos ADD COLUMN IF NOT EXISTS term_us INT8 NOT NULL DEFAULT 0;

ALTER TABLE promos ADD COLUMN IF NOT EXISTS early_rate_bps INT4 NOT NULL DEFAULT 0;

ALTER TABLE promos ADD COLUMN IF NOT EXISTS withholding_bps INT4 NOT NULL DEFAULT 0;

ALTER TABLE subscriptions ADD COLUMN IF NOT EXISTS from_account_id TEXT NOT NULL DEFAULT '';

ALTER TABLE subscriptions ADD COLUMN IF NOT EXISTS status TEXT NOT NULL DEFAULT 'ACTIVE';

ALTER TABLE subscriptions ADD COLUMN IF NOT EXISTS matures_at TIMESTAMPTZ;

ALTER TABLE subscriptions ADD COLUMN IF NOT EXISTS due_at TIMESTAMPTZ;

ALTER TABLE subscriptions ADD COLUMN IF NOT EXISTS interest INT8 NOT NULL DEFAULT 0;

ALTER TABLE subscriptions ADD COLUMN IF NOT EXISTS tax INT8 NOT NULL DEFAULT 0;

ALTER TABLE subscriptions ADD COLUMN IF NOT EXISTS payout_entry_id UUID;

ALTER TABLE subscriptions ADD COLUMN IF NOT EXISTS closed_at TIMESTAMPTZ;

UPDATE subscriptions SET from_account_id = p.account_id
FROM postings AS p WHERE p.entry_id = subscriptions.entry_id AND p.amount < 0
    AND subscriptions.from_account_id = '';

CREATE INDEX IF NOT EXISTS subscriptions_due ON subscriptions (due_at) WHERE status = 'ACTIVE';

CREATE TABLE IF NOT EXISTS payout_lease (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    epoch      INT8 NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);

GRANT UPDATE ON TABLE subscriptions TO ledger_writer;

GRANT SELECT, INSERT, UPDATE ON TABLE payout_lease TO ledger_writer;

GRANT SELECT ON TABLE payout_lease TO ledger_auditor;

-- +goose Down
DROP TABLE IF EXISTS payout_lease;

DROP INDEX IF EXISTS subscriptions_due;

ALTER TABLE subscriptions DROP COLUMN IF EXISTS closed_at, DROP COLUMN IF EXISTS payout_entry_id,
    DROP COLUMN IF EXISTS tax, DROP COLUMN IF EXISTS interest, DROP COLUMN IF EXISTS due_at,
    DROP COLUMN IF EXISTS matures_at, DROP COLUMN IF EXISTS status, DROP COLUMN IF EXISTS from_account_id;

ALTER TABLE promos DROP COLUMN IF EXISTS withholding_bps, DROP COLUMN IF EXISTS early_rate_bps,
    DROP COLUMN IF EXISTS term_us;
