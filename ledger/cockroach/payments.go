package cockroach

import (
	"context"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/corebanking/ledger/ledger"
)

// Deposit implements ledger.Ledger: the vault pays the cash in.
func (s *Store) Deposit(ctx context.Context, r ledger.DepositRequest) (ledger.Entry, error) {
	if err := r.Validate(); err != nil {
		return ledger.Entry{}, err
	}
	return s.move(ctx, move{
		kind: ledger.EntryDeposit, requestID: r.RequestID, fingerprint: r.Fingerprint(), memo: r.Memo,
		from: ledger.VaultAccountID(r.Currency), to: r.AccountID, currency: r.Currency, amount: r.Amount,
	})
}

// Transfer implements ledger.Ledger.
func (s *Store) Transfer(ctx context.Context, r ledger.TransferRequest) (ledger.Entry, error) {
	if err := r.Validate(); err != nil {
		return ledger.Entry{}, err
	}
	return s.move(ctx, move{
		kind: ledger.EntryTransfer, requestID: r.RequestID, fingerprint: r.Fingerprint(), memo: r.Memo,
		from: r.From, to: r.To, currency: r.Currency, amount: r.Amount,
	})
}

// Withdraw implements ledger.Ledger: the ATM's cash account pays out.
func (s *Store) Withdraw(ctx context.Context, r ledger.WithdrawRequest) (ledger.Entry, error) {
	if err := r.Validate(); err != nil {
		return ledger.Entry{}, err
	}
	return s.move(ctx, move{
		kind: ledger.EntryWithdrawal, requestID: r.RequestID, fingerprint: r.Fingerprint(), memo: "ATM " + r.ATMID,
		from: r.AccountID, to: ledger.ATMAccountID(r.ATMID, r.Currency), currency: r.Currency, amount: r.Amount,
	})
}

// move is a two-posting entry to make: amount from one account to another.
type move struct {
	kind        ledger.EntryKind
	requestID   string
	fingerprint []byte
	memo        string
	from, to    string
	currency    string
	amount      int64
}

func (s *Store) move(ctx context.Context, m move) (ledger.Entry, error) {
	var out ledger.Entry
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(sqlGetRequest, m.requestID)
		b.Queue(sqlGetAccounts, []string{m.from, m.to})
		br := tx.SendBatch(ctx, b)
		defer br.Close()
		if done, err := replayed(br.QueryRow(), m.requestID, m.fingerprint, &out); done || err != nil {
			return err
		}
		rows, err := br.Query()
		if err != nil {
			return err
		}
		accts, err := scanAccounts(rows)
		if err != nil {
			return err
		}
		if err := br.Close(); err != nil {
			return err
		}
		now := s.now()
		from, to, err := s.resolve(ctx, tx, accts, m.from, m.to, m.currency, now)
		if err != nil {
			return err
		}
		e := ledger.NewMove(m.kind, m.requestID, m.memo, m.from, m.to, m.currency, m.amount)
		e.ID, e.PostedAt = uuid.NewString(), now
		tail := &pgx.Batch{}
		if err := queueRequest(tail, m.requestID, m.fingerprint, e, now); err != nil {
			return err
		}
		if err := s.post(ctx, tx, e, []ledger.Account{from, to}, "", tail); err != nil {
			return err
		}
		out = e
		return nil
	})
	return out, err
}

// resolve returns the accounts of a move, checked for postability. The
// ledger's own system accounts (vault, ATM cash, settlement) are opened on
// first use, in the same transaction.
func (s *Store) resolve(ctx context.Context, tx pgx.Tx, accts map[string]ledger.Account, fromID, toID, currency string, now time.Time) (from, to ledger.Account, err error) {
	b := &pgx.Batch{}
	for _, id := range []string{fromID, toID} {
		if _, ok := accts[id]; ok || !strings.HasPrefix(id, "sys:") {
			continue
		}
		a := ledger.Account{ID: id, Currency: currency, Kind: ledger.KindInternal, Status: ledger.StatusActive,
			Shards: s.opt.VaultShards, CreatedAt: now}
		if strings.HasPrefix(id, "sys:atm:") {
			a.Shards = s.opt.ATMShards
		}
		queueCreateAccount(b, a)
		accts[id] = a
	}
	if b.Len() > 0 {
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return from, to, err
		}
	}
	for _, id := range []string{fromID, toID} {
		a, ok := accts[id]
		if !ok {
			return from, to, ledger.Errorf(ledger.CodeAccountNotFound, "account %s not found", id)
		}
		if err := a.CheckPostable(currency); err != nil {
			return from, to, err
		}
	}
	return accts[fromID], accts[toID], nil
}

// nilHold is a hold id no hold has, for sqlHeld when no hold is excluded.
const nilHold = "00000000-0000-0000-0000-000000000000"

// post writes entry e, whose postings are on accts (same order), and then
// the statements in tail, in one round trip after the balance updates. It
// updates balance rows in (account, shard) order, so that two transactions
// always lock shared rows in the same order and cannot deadlock, and checks
// each debited account's rules against the balance it returns. excludeHold
// is a hold whose amount is being captured by this entry, so must not count
// as held.
func (s *Store) post(ctx context.Context, tx pgx.Tx, e ledger.Entry, accts []ledger.Account, excludeHold string, tail *pgx.Batch) error {
	if err := e.Validate(); err != nil {
		return err
	}
	if excludeHold == "" {
		excludeHold = nilHold
	}
	type leg struct {
		acct   ledger.Account
		shard  int
		amount int64
		posted int64
		held   int64
	}
	legs := make([]leg, len(e.Postings))
	for i, p := range e.Postings {
		legs[i] = leg{acct: accts[i], amount: p.Amount}
		if n := accts[i].Shards; n > 1 {
			legs[i].shard = rand.IntN(n)
		}
	}
	order := make([]int, len(legs))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		if c := strings.Compare(legs[a].acct.ID, legs[b].acct.ID); c != 0 {
			return c
		}
		return legs[a].shard - legs[b].shard
	})

	b := &pgx.Batch{}
	for _, i := range order {
		l := &legs[i]
		b.Queue(sqlAddToShard, l.acct.ID, l.shard, l.amount).QueryRow(func(row pgx.Row) error {
			return row.Scan(&l.posted)
		})
		if l.amount < 0 && l.acct.Kind == ledger.KindCustomer {
			b.Queue(sqlHeld, l.acct.ID, e.PostedAt, excludeHold).QueryRow(func(row pgx.Row) error {
				return row.Scan(&l.held)
			})
		}
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return err
	}
	for _, l := range legs {
		var err error
		if l.amount < 0 {
			err = l.acct.CheckDebit(l.posted-l.amount, l.held, -l.amount)
		} else {
			err = ledger.CheckBalance(l.acct.ID, l.posted)
		}
		if err != nil {
			return err
		}
	}

	b = &pgx.Batch{}
	b.Queue(sqlInsertEntry, e.ID, e.Kind.String(), e.RequestID, e.Memo, e.PostedAt)
	for i, p := range e.Postings {
		after := legs[i].posted
		if legs[i].acct.Shards > 1 {
			after = 0 // a shard's balance is not the account's
		}
		b.Queue(sqlInsertPosting, e.ID, p.AccountID, p.Currency, p.Amount, after, e.PostedAt)
	}
	if tail != nil {
		b.QueuedQueries = append(b.QueuedQueries, tail.QueuedQueries...)
	}
	return tx.SendBatch(ctx, b).Close()
}
