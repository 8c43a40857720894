-- Core ledger schema. Every statement here is accepted by both CockroachDB
-- and PostgreSQL: no SERIAL, no triggers, no PostgreSQL-only functions.

-- +goose Up
CREATE TABLE accounts (
    account_id  TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL,
    currency    TEXT NOT NULL,
    kind        TEXT NOT NULL,
    status      TEXT NOT NULL,
    shards      INT4 NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);

-- An account's posted balance is the sum of its shard rows. Customer
-- accounts have one; busy internal accounts (the vault) several.
CREATE TABLE balances (
    account_id TEXT NOT NULL REFERENCES accounts (account_id),
    shard      INT4 NOT NULL,
    posted     INT8 NOT NULL,
    PRIMARY KEY (account_id, shard)
);

-- Journal entries and their postings are written once, never updated.
CREATE TABLE entries (
    entry_id   UUID PRIMARY KEY,
    kind       TEXT NOT NULL,
    request_id TEXT NOT NULL,
    memo       TEXT NOT NULL,
    posted_at  TIMESTAMPTZ NOT NULL
);

-- No foreign keys on the journal: each check would cost every posting a
-- lookup and a row lock on the hot path, and the journal is verified as a
-- whole instead (every entry's postings sum to zero, every balance equals
-- the sum of its postings).
CREATE TABLE postings (
    entry_id      UUID NOT NULL,
    account_id    TEXT NOT NULL,
    currency      TEXT NOT NULL,
    amount        INT8 NOT NULL,
    balance_after INT8 NOT NULL,
    posted_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (entry_id, account_id)
);

CREATE INDEX postings_by_account ON postings (account_id, posted_at DESC, entry_id DESC);

CREATE TABLE holds (
    hold_id         UUID PRIMARY KEY,
    account_id      TEXT NOT NULL,
    currency        TEXT NOT NULL,
    amount          INT8 NOT NULL,
    captured_amount INT8 NOT NULL,
    status          TEXT NOT NULL,
    atm_id          TEXT NOT NULL,
    request_id      TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    expires_at      TIMESTAMPTZ NOT NULL
);

CREATE INDEX holds_active_by_account ON holds (account_id, expires_at) WHERE status = 'ACTIVE';

-- One row per mutating request: its content's fingerprint and the result it
-- gave, written in the same transaction as the change.
CREATE TABLE requests (
    request_id  TEXT PRIMARY KEY,
    fingerprint BYTEA NOT NULL,
    result      BYTEA NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE requests;
DROP TABLE holds;
DROP TABLE postings;
DROP TABLE entries;
DROP TABLE balances;
DROP TABLE accounts;
