-- Promotional deposits with a hard quota.

-- +goose Up
CREATE TABLE promos (
    promo_id         TEXT PRIMARY KEY,
    currency         TEXT NOT NULL,
    total_quota      INT8 NOT NULL,
    max_per_customer INT8 NOT NULL,
    annual_rate_bps  INT4 NOT NULL,
    opens_at         TIMESTAMPTZ NOT NULL,
    closes_at        TIMESTAMPTZ NOT NULL,
    shards           INT4 NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL
);

-- A promo's quota is spread over shard rows whose quotas sum to its total,
-- so that a stampede of subscriptions does not queue on one counter row
-- (or, on CockroachDB, one range). The CHECK is the last line of defence
-- against overselling.
CREATE TABLE promo_quota (
    promo_id TEXT NOT NULL,
    shard    INT4 NOT NULL,
    quota    INT8 NOT NULL,
    used     INT8 NOT NULL,
    PRIMARY KEY (promo_id, shard),
    CHECK (used >= 0 AND used <= quota)
);

-- One subscription per customer and promo, by its primary key.
CREATE TABLE subscriptions (
    promo_id    TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    account_id  TEXT NOT NULL,
    amount      INT8 NOT NULL,
    entry_id    UUID NOT NULL,
    request_id  TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (promo_id, customer_id)
);

-- +goose Down
DROP TABLE subscriptions;
DROP TABLE promo_quota;
DROP TABLE promos;
