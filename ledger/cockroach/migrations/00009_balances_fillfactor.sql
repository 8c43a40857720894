-- Balance rows leave half of each page free, so that changing a balance
-- writes the new row version into the same page (a heap-only update) and
-- never a new entry into the primary key's index.
--
-- On PostgreSQL's SERIALIZABLE this is what keeps batches of moves apart
-- (ledger/cockroach/batch.go): a transaction that read a balance row through
-- the index holds a predicate lock on the index page, and another
-- transaction's insert into that page, which an update that does not fit
-- its page makes, is a read-write conflict between the two. With full
-- pages about one update in forty moved; batches of moves that touch
-- different accounts then failed each other several times a second.
--
-- Only pages written from now on keep the room: a database that already
-- holds balances gets it as its rows are updated and vacuumed (or at once,
-- off-line, with VACUUM FULL balances). CockroachDB accepts the parameter
-- and ignores it: it has no pages.

-- +goose Up
ALTER TABLE balances SET (fillfactor = 50);

-- +goose Down
ALTER TABLE balances RESET (fillfactor);
