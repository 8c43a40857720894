-- Keys the servers of one database share, by name: the key that
-- authenticates statement page tokens (ledger.PageTokens), so that a token
-- one ledgerd issued is accepted by every other and after a restart.
-- Only the owner reads it, at start (keys.go); the roles the pools log in
-- as have no right to it.

-- +goose Up
CREATE TABLE server_keys (
    name       TEXT PRIMARY KEY,
    key        BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE server_keys;
