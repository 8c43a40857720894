-- An operator freezes, closes or reactivates an account (SetAccountStatus),
-- and the online server writes the change with its journal entry. Only
-- the status column is ever updated; CockroachDB has no column privileges,
-- so the grant is on the table.

-- +goose Up
GRANT UPDATE ON TABLE accounts TO ledger_writer;

-- +goose Down
REVOKE UPDATE ON TABLE accounts FROM ledger_writer;
