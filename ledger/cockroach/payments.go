package cockroach

import (
	"context"
	"encoding/json"
	"errors"
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
	return s.move(ctx, r.RequestID, r.Fingerprint(), ledger.NewMove(ledger.EntryDeposit, r.RequestID, r.Memo,
		ledger.VaultAccountID(r.Currency), r.AccountID, r.Currency, r.Amount))
}

// Transfer implements ledger.Ledger.
func (s *Store) Transfer(ctx context.Context, r ledger.TransferRequest) (ledger.Entry, error) {
	if err := r.Validate(); err != nil {
		return ledger.Entry{}, err
	}
	return s.move(ctx, r.RequestID, r.Fingerprint(), ledger.NewMove(ledger.EntryTransfer, r.RequestID, r.Memo,
		r.From, r.To, r.Currency, r.Amount))
}

// Withdraw implements ledger.Ledger: the ATM's cash account pays out.
func (s *Store) Withdraw(ctx context.Context, r ledger.WithdrawRequest) (ledger.Entry, error) {
	if err := r.Validate(); err != nil {
		return ledger.Entry{}, err
	}
	return s.move(ctx, r.RequestID, r.Fingerprint(), ledger.NewMove(ledger.EntryWithdrawal, r.RequestID, "ATM "+r.ATMID,
		r.AccountID, ledger.ATMAccountID(r.ATMID, r.Currency), r.Currency, r.Amount))
}

// move posts entry e, which moves money between two accounts: in a batch
// with other moves when the store is busy (batch.go), else by itself.
func (s *Store) move(ctx context.Context, requestID string, fp []byte, e ledger.Entry) (ledger.Entry, error) {
	if s.batcher == nil {
		return s.moveAlone(ctx, requestID, fp, e)
	}
	e.Actor = ledger.ActorFrom(ctx)
	pm := &pendingMove{ctx: ctx, rq: request{id: requestID, fp: fp}, e: e}
	if err := s.batcher.do(ctx, pm); err != nil {
		return ledger.Entry{}, err
	}
	if pm.alone {
		return s.moveAlone(ctx, requestID, fp, e)
	}
	return pm.out, pm.err
}

// moveAlone posts entry e, which moves money between two accounts, in one
// round trip: BEGIN, sqlMove, COMMIT. sqlMove writes only if the ledger's
// rules allow the move; when it does not, the empty transaction commits and
// the rules, applied to what the statement read, say why.
//
// An attempt after a unique violation on the idempotency record (a twin
// request committed first) looks the record up in a round trip of its own
// before sqlMove: sqlMove's writes cannot be taken back once sent.
func (s *Store) moveAlone(ctx context.Context, requestID string, fp []byte, e ledger.Entry) (ledger.Entry, error) {
	var out ledger.Entry
	rq := &request{id: requestID, fp: fp, out: &out}
	err := s.withSystemAccounts(ctx, func() error {
		return s.inTx(ctx, func(t *txn) error {
			e.ID, e.PostedAt, e.Actor = uuid.NewString(), s.now(), ledger.ActorFrom(ctx)
			if t.lookup {
				b := &pgx.Batch{}
				rq.queueLookup(t, b)
				if err := t.exec(ctx, b); err != nil || rq.replay {
					return err
				}
			}
			b := &pgx.Batch{}
			m, err := s.queueMove(b, e, rq)
			if err != nil {
				return err
			}
			if err := t.commit(ctx, b); err != nil {
				return err
			}
			// The statement's checks and the rules in Go must agree; each
			// disagreement is logged, the one that was committed loudest.
			rules := checkLegs(m.legs, e.Postings[0].Currency)
			if !m.done {
				if rules == nil {
					s.opt.Logger.Error("the database refused a move the ledger's rules allow", "entry", e.ID,
						"request_id", requestID)
					rules = ledger.Errorf(ledger.CodeInternal, "move refused for no known reason")
				}
				return rq.refuse(ctx, t, rules)
			}
			if rules != nil {
				s.opt.Logger.Error("LEDGER RULE BROKEN: the database posted a move the ledger's rules refuse",
					"entry", e.ID, "request_id", requestID, "rule", rules)
			}
			out = e
			return nil
		})
	})
	return out, err
}

// moveResult is what sqlMove tells: each leg as it was before the move
// (leg.posted is the balance the move would have left, for checkLegs), and
// whether the move was made.
type moveResult struct {
	legs []*leg
	done bool
}

// queueMove queues sqlMove for e, whose first posting pays its second.
func (s *Store) queueMove(b *pgx.Batch, e ledger.Entry, rq *request) (*moveResult, error) {
	result, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	from, to := s.newLeg(e.Postings[0]), s.newLeg(e.Postings[1])
	m := &moveResult{legs: []*leg{from, to}}
	b.Queue(sqlMove, e.ID, e.Kind.String(), string(e.Actor), e.RequestID, e.Memo, e.PostedAt,
		from.posting.Currency, from.posting.AccountID, from.shard, to.posting.Amount, to.posting.AccountID, to.shard,
		ledger.MaxBalance, rq.fp, result, entryAccounts(e),
	).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var a ledger.Account
			var kind, status string
			var posted, held int64
			if err := rows.Scan(&a.ID, &a.Currency, &kind, &status, &posted, &held, &m.done); err != nil {
				return err
			}
			l := from
			if a.ID != from.posting.AccountID {
				l = to
			}
			a.Kind, a.Status = kinds[kind], statuses[status]
			l.acct, l.found, l.posted, l.held = a, true, posted+l.posting.Amount, held
		}
		return rows.Err()
	})
	return m, nil
}

// leg is one posting's balance change, filled in when its batch is read.
type leg struct {
	posting ledger.Posting
	shard   int
	acct    ledger.Account
	found   bool
	posted  int64 // the shard's balance after the change
	held    int64 // for debits: the account's other holds
}

// newLeg is p's balance change, on one of its account's shard rows picked
// at random.
func (s *Store) newLeg(p ledger.Posting) *leg {
	l := &leg{posting: p}
	if n := s.shards(p.AccountID); n > 1 {
		l.shard = rand.IntN(n)
	}
	return l
}

// nilHold is a hold id no hold has, for sqlHeld when no hold is excluded.
const nilHold = "00000000-0000-0000-0000-000000000000"

// queueLegs queues the balance change of each posting of e, in (account,
// shard) order so that two transactions always lock shared rows in the same
// order and cannot deadlock, and for each debit the account's held amount,
// leaving out excludeHold (the hold being captured, if any). Busy internal
// accounts are split in shards; each change picks one at random.
func (s *Store) queueLegs(b *pgx.Batch, e ledger.Entry, excludeHold string) []*leg {
	legs := make([]*leg, len(e.Postings))
	for i, p := range e.Postings {
		legs[i] = s.newLeg(p)
	}
	sorted := slices.Clone(legs)
	slices.SortFunc(sorted, func(a, b *leg) int {
		if c := strings.Compare(a.posting.AccountID, b.posting.AccountID); c != 0 {
			return c
		}
		return a.shard - b.shard
	})
	for _, l := range sorted {
		var kind, status string
		a := &l.acct
		dest := []any{&a.ID, &a.CustomerID, &a.Currency, &kind, &status, &a.Shards, &a.CreatedAt, &l.posted}
		var q *pgx.QueuedQuery
		if l.posting.Amount < 0 {
			dest = append(dest, &l.held)
			q = b.Queue(sqlDebitShard, l.posting.AccountID, l.shard, l.posting.Amount, e.PostedAt, excludeHold)
		} else {
			q = b.Queue(sqlAddToShard, l.posting.AccountID, l.shard, l.posting.Amount)
		}
		q.QueryRow(func(row pgx.Row) error {
			err := row.Scan(dest...)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			l.found, a.Kind, a.Status, a.CreatedAt = true, kinds[kind], statuses[status], a.CreatedAt.UTC()
			return err
		})
	}
	return legs
}

// checkLegs applies the ledger's rules to the changed balances.
func checkLegs(legs []*leg, currency string) error {
	for _, l := range legs {
		if !l.found {
			if ledger.IsSystemAccount(l.posting.AccountID) {
				return missingSystemAccount{id: l.posting.AccountID, currency: currency}
			}
			return ledger.Errorf(ledger.CodeAccountNotFound, "account %s not found", l.posting.AccountID)
		}
		if err := l.acct.CheckPostable(currency); err != nil {
			return err
		}
	}
	for _, l := range legs {
		var err error
		if amount := l.posting.Amount; amount < 0 {
			err = l.acct.CheckDebit(l.posted-amount, l.held, -amount)
		} else {
			err = ledger.CheckBalance(l.acct.ID, l.posted)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// queueEntry queues e, which moves money, with its announcement to the
// sealer, its two postings and the idempotency record of rq with result,
// as one statement (sqlPostEntry). Entries that move no money are written
// by queueEntryRow.
func queueEntry(b *pgx.Batch, e ledger.Entry, legs []*leg, rq *request, result any, now time.Time) error {
	after := func(l *leg) int64 {
		if l.acct.Shards > 1 {
			return 0 // a shard's balance is not the account's
		}
		return l.posted
	}
	buf, err := json.Marshal(result)
	if err != nil {
		return err
	}
	p, q := e.Postings[0], e.Postings[1]
	b.Queue(sqlPostEntry, e.ID, e.Kind.String(), string(e.Actor), e.RequestID, e.Memo, e.PostedAt,
		p.AccountID, p.Currency, p.Amount, after(legs[0]), q.AccountID, q.Amount, after(legs[1]),
		rq.id, rq.fp, buf, now, entryAccounts(e))
	return nil
}

// entryAccounts is what entries.accounts holds for e: the accounts it
// posts to, sorted and each once. The readers that start from an entry find
// its postings by these (migration 7).
func entryAccounts(e ledger.Entry) []string {
	ids := make([]string, 0, len(e.Postings))
	for _, p := range e.Postings {
		ids = append(ids, p.AccountID)
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// shards is how many balance rows an account has. It follows from the id:
// the ledger's vault and settlement accounts have VaultShards, each ATM's
// cash account ATMShards, every other account one.
func (s *Store) shards(accountID string) int {
	switch {
	case strings.HasPrefix(accountID, "sys:vault:"), strings.HasPrefix(accountID, "sys:settlement:"):
		return s.opt.VaultShards
	case strings.HasPrefix(accountID, "sys:atm:"):
		return s.opt.ATMShards
	}
	return 1
}

// missingSystemAccount is returned by a transaction that needs one of the
// ledger's own accounts that does not exist yet.
type missingSystemAccount struct{ id, currency string }

func (m missingSystemAccount) Error() string { return "system account " + m.id + " does not exist yet" }

// withSystemAccounts runs fn, and when fn needs a system account (vault,
// ATM cash, settlement) that does not exist yet, opens it and runs fn again.
func (s *Store) withSystemAccounts(ctx context.Context, fn func() error) error {
	for range 3 {
		err := fn()
		var m missingSystemAccount
		if !errors.As(err, &m) {
			return err
		}
		a := ledger.Account{ID: m.id, Currency: m.currency, Kind: ledger.KindInternal, Status: ledger.StatusActive,
			Shards: s.shards(m.id), CreatedAt: s.now()}
		if err := s.inTx(ctx, func(t *txn) error {
			b := &pgx.Batch{}
			queueEnsureAccount(b, a)
			return t.commit(ctx, b)
		}); err != nil {
			return err
		}
	}
	return ledger.Errorf(ledger.CodeInternal, "system accounts could not be opened")
}
