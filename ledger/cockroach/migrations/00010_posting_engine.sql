-- The posting engine (see ledger/cockroach/post.go): reversals, and request
-- ids scoped to the caller.
--
-- An entry that reverses another names it, and an entry is reversed at most
-- once: the unique index refuses a second reversal even when two race.
--
-- A request id belongs to the caller that sent it (its actor, "role/name"):
-- one caller can neither replay nor block another's id. Records written
-- before this migration are given the actor of the entry they made; the few
-- that made none keep "system".
--
-- Not in one transaction: CockroachDB does not let a statement write a
-- column added earlier in the same transaction. Each statement can be run
-- again.
-- +goose NO TRANSACTION

-- +goose Up
ALTER TABLE entries ADD COLUMN IF NOT EXISTS reverses_entry_id UUID;

CREATE UNIQUE INDEX IF NOT EXISTS entries_by_reversed ON entries (reverses_entry_id)
    WHERE reverses_entry_id IS NOT NULL;

ALTER TABLE requests ADD COLUMN IF NOT EXISTS actor TEXT NOT NULL DEFAULT 'system';

UPDATE requests SET actor = e.actor FROM entries AS e
WHERE e.request_id = requests.request_id AND requests.actor <> e.actor;

ALTER TABLE requests DROP CONSTRAINT requests_pkey,
    ADD CONSTRAINT requests_pkey PRIMARY KEY (actor, request_id);

-- +goose Down
ALTER TABLE requests DROP CONSTRAINT requests_pkey,
    ADD CONSTRAINT requests_pkey PRIMARY KEY (request_id);

ALTER TABLE requests DROP COLUMN actor;

DROP INDEX IF EXISTS entries_by_reversed;

ALTER TABLE entries DROP COLUMN reverses_entry_id;
