package soak

import (
	"context"
	"fmt"
	"sort"

	"github.com/jackc/pgx/v5"

	"github.com/corebanking/ledger/ledger/cockroach"
)

// books is the ledger as the database holds it, read in one snapshot.
type books struct {
	entries  map[string][]string // money entries' ids by request id
	balances map[string]int64    // posted balance by account
	holds    map[string]bookHold // by hold id
	holdReqs map[string]string   // hold id by request id
	subs     map[string]bookSub  // subscriptions by request id
	broken   []cockroach.BookFinding
	count    int64 // entries of every kind
}

type bookHold struct {
	requestID, status string
	amount, captured  int64
}

type bookSub struct {
	account string
	amount  int64
}

// readBooks reads the books in one snapshot, straight from the database.
func (s *Soak) readBooks(ctx context.Context) (*books, error) {
	b := &books{entries: map[string][]string{}, balances: map[string]int64{}, holds: map[string]bookHold{},
		holdReqs: map[string]string{}, subs: map[string]bookSub{}}
	snapshot := pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
	err := pgx.BeginTxFunc(ctx, s.db.check, snapshot, func(tx pgx.Tx) error {
		var err error
		if b.broken, err = cockroach.CheckBooks(ctx, tx); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM entries").Scan(&b.count); err != nil {
			return err
		}
		var req, entry, acct, status string
		var amount, captured int64
		reads := []struct {
			sql  string
			dest []any
			fn   func()
		}{
			{`SELECT e.request_id, CAST(e.entry_id AS TEXT) FROM entries AS e
				WHERE EXISTS (SELECT 1 FROM postings AS p WHERE p.entry_id = e.entry_id)`,
				[]any{&req, &entry}, func() { b.entries[req] = append(b.entries[req], entry) }},
			{`SELECT account_id, CAST(sum(posted) AS INT8) FROM balances GROUP BY account_id`,
				[]any{&acct, &amount}, func() { b.balances[acct] = amount }},
			{`SELECT CAST(hold_id AS TEXT), request_id, status, amount, captured_amount FROM holds`,
				[]any{&entry, &req, &status, &amount, &captured}, func() {
					b.holds[entry] = bookHold{requestID: req, status: status, amount: amount, captured: captured}
					b.holdReqs[req] = entry
				}},
			{`SELECT request_id, account_id, amount FROM subscriptions`,
				[]any{&req, &acct, &amount}, func() { b.subs[req] = bookSub{account: acct, amount: amount} }},
		}
		for _, r := range reads {
			rows, _ := tx.Query(ctx, r.sql)
			if _, err := pgx.ForEachRow(rows, r.dest, func() error { r.fn(); return nil }); err != nil {
				return fmt.Errorf("%s: %w", r.sql, err)
			}
		}
		return nil
	})
	for _, ids := range b.entries {
		sort.Strings(ids)
	}
	return b, err
}
