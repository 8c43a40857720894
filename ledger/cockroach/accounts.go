package cockroach

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/corebanking/ledger/ledger"
)

// OpenAccount implements ledger.Ledger.
func (s *Store) OpenAccount(ctx context.Context, r ledger.OpenAccountRequest) (ledger.Account, error) {
	if err := r.Validate(); err != nil {
		return ledger.Account{}, err
	}
	if err := r.Authorize(ctx); err != nil {
		return ledger.Account{}, err
	}
	fp := r.Fingerprint() // of the request as sent: a generated id is not content
	if r.AccountID == "" {
		r.AccountID = uuid.NewString()
	}
	var out ledger.Account
	rq := newRequest(ctx, r.RequestID, fp, &out)
	err := s.inTx(ctx, func(t *txn) error {
		// An attempt reads nothing, like a move: an account id or request
		// id already taken fails its insert with a unique violation, and
		// the attempts after it look both up (txn.lookup). Reading first
		// would put a predicate lock on the accounts' index that every
		// concurrent opening's insert conflicts with: a sign-up flood would
		// retry most of its openings.
		if t.lookup {
			var exists bool
			b := &pgx.Batch{}
			rq.queueLookup(t, b)
			queueExists(b, &exists, sqlGetAccount, r.AccountID)
			if err := t.exec(ctx, b); err != nil || rq.replay {
				return err
			}
			if exists {
				return rq.refuse(ctx, t, ledger.Errorf(ledger.CodeAccountExists, "account %s already exists", r.AccountID))
			}
		}
		a := ledger.Account{
			ID: r.AccountID, CustomerID: r.CustomerID, Currency: r.Currency,
			Kind: r.Kind, Status: ledger.StatusActive, Shards: 1, CreatedAt: s.now(),
		}
		b := &pgx.Batch{}
		queueCreateAccount(b, a)
		queueEvent(ctx, b, ledger.EntryAccountOpening, r.RequestID,
			fmt.Sprintf("account %s opened for customer %s in %s, %s", a.ID, a.CustomerID, a.Currency, a.Kind), a.CreatedAt)
		if err := rq.queueRecord(b, a, a.CreatedAt); err != nil {
			return err
		}
		if err := t.commit(ctx, b); err != nil {
			return err
		}
		out = a
		return nil
	})
	return out, err
}

// queueExists queues into b the lookup of one row by its key, and sets
// *found to whether there is one.
func queueExists(b *pgx.Batch, found *bool, sql string, key any) {
	b.Queue(sql, key).Query(func(rows pgx.Rows) error {
		*found = rows.Next()
		rows.Close()
		return rows.Err()
	})
}

// queueCreateAccount queues the insert of a customer's account a, with its
// one balance row.
func queueCreateAccount(b *pgx.Batch, a ledger.Account) {
	b.Queue(sqlInsertAccount, a.ID, a.CustomerID, a.Currency, a.Kind.String(), a.Status.String(), a.Shards, a.CreatedAt)
	b.Queue(sqlInsertBalance, a.ID, 0)
}

// queueEnsureAccount queues the insert of the ledger's own account a, with
// its shard rows, unless it exists. Its opening is journaled like a
// customer's, with the ledger itself (SystemActor) as the actor: only by
// the statement that inserts it, so that two requests that both find it
// missing journal one opening.
func queueEnsureAccount(b *pgx.Batch, a ledger.Account) {
	e := ledger.Entry{ID: uuid.NewString(), Kind: ledger.EntryAccountOpening, Actor: ledger.SystemActor,
		RequestID: "open:" + a.ID, Memo: fmt.Sprintf("account %s opened by the ledger in %s, %s", a.ID, a.Currency, a.Kind),
		PostedAt: a.CreatedAt}
	b.Queue(sqlEnsureSystemAccount, a.ID, a.CustomerID, a.Currency, a.Kind.String(), a.Status.String(), a.Shards, a.CreatedAt,
		e.ID, e.Kind.String(), string(e.Actor), e.RequestID, e.Memo, ledger.Canonical(0, e))
	b.Queue(sqlEnsureShards, a.ID, a.Shards)
}

// sqlEnsureSystemAccount inserts one of the ledger's own accounts unless
// it exists and, only if it inserted it, the entry of its opening ($8, of
// kind $9 by actor $10 for request $11 with memo $12) and its announcement
// to the sealer, with its canonical bytes $13.
const sqlEnsureSystemAccount = `WITH a AS (
		INSERT INTO accounts (account_id, customer_id, currency, kind, status, shards, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (account_id) DO NOTHING RETURNING account_id),
	e AS (INSERT INTO entries (entry_id, kind, actor, request_id, memo, posted_at)
		SELECT CAST($8 AS UUID), CAST($9 AS TEXT), CAST($10 AS TEXT), CAST($11 AS TEXT), CAST($12 AS TEXT),
			CAST($7 AS TIMESTAMPTZ) FROM a)
	INSERT INTO journal_pending (entry_id, posted_at, record)
		SELECT CAST($8 AS UUID), CAST($7 AS TIMESTAMPTZ), CAST($13 AS BYTEA) FROM a`

func init() { statements = append(statements, sqlEnsureSystemAccount) }

// GetAccount implements ledger.Ledger.
func (s *Store) GetAccount(ctx context.Context, accountID string) (ledger.Account, error) {
	a, err := scanAccount(s.pool.QueryRow(ctx, sqlGetAccount, accountID))
	if errors.Is(err, pgx.ErrNoRows) {
		return a, ledger.Errorf(ledger.CodeAccountNotFound, "account %s not found", accountID)
	}
	return a, s.translate(err)
}

// GetBalance implements ledger.Ledger.
func (s *Store) GetBalance(ctx context.Context, accountID string) (ledger.Balance, error) {
	b := ledger.Balance{AccountID: accountID}
	err := s.pool.QueryRow(ctx, sqlGetBalance, accountID, s.now()).Scan(&b.Currency, &b.Posted, &b.Held)
	if errors.Is(err, pgx.ErrNoRows) {
		return b, ledger.Errorf(ledger.CodeAccountNotFound, "account %s not found", accountID)
	}
	return b, s.translate(err)
}

// ListEntries implements ledger.Ledger.
func (s *Store) ListEntries(ctx context.Context, q ledger.StatementQuery) (ledger.StatementPage, error) {
	var page ledger.StatementPage
	if err := q.Validate(); err != nil {
		return page, err
	}
	size := q.PageSize
	if size == 0 {
		size = ledger.DefaultPageSize
	}
	var rows pgx.Rows
	var err error
	if q.PageToken == "" {
		rows, err = s.pool.Query(ctx, sqlStatementFirst, q.AccountID, size+1)
	} else {
		at, id, ok := s.pages.Parse(q.AccountID, q.PageToken)
		if !ok {
			return page, &ledger.Error{Code: ledger.CodeInvalidArgument, Message: "bad page token",
				Fields: []ledger.FieldViolation{{Field: "page_token", Description: "is not a token this server issued"}}}
		}
		rows, err = s.pool.Query(ctx, sqlStatementAfter, q.AccountID, size+1, at, id)
	}
	if err != nil {
		return page, s.translate(err)
	}
	lines, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ledger.StatementLine, error) {
		var l ledger.StatementLine
		var kind string
		err := row.Scan(&l.EntryID, &kind, &l.Amount, &l.Memo, &l.PostedAt, &l.BalanceAfter, &l.ReversesEntryID)
		l.Kind, l.PostedAt = ledger.ParseEntryKind(kind), l.PostedAt.UTC()
		return l, err
	})
	if err != nil {
		return page, s.translate(err)
	}
	if len(lines) > size {
		lines = lines[:size]
		last := lines[size-1]
		page.NextPageToken = s.pages.Issue(q.AccountID, last.PostedAt, last.EntryID)
	}
	page.Lines = lines
	if len(lines) == 0 && q.PageToken == "" {
		// An empty first page: tell a new account from a missing one.
		if _, err := s.GetAccount(ctx, q.AccountID); err != nil {
			return page, err
		}
	}
	return page, nil
}
