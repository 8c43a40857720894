package cockroach

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/corebanking/ledger/ledger"
)

// The posting engine. Every entry that moves money, whatever call made it
// (a transfer, a deposit, a withdrawal, a capture, a subscription, a
// general entry, a reversal, each item of a batch), is a proposal posted by
// one statement, sqlPost: alone, or in a batch with others (batch.go). The
// statement applies the ledger's rules where they gate its writes, and
// ledger.CheckProposals, applied to what the statement read, says why an
// entry was refused.

// proposal is one entry on its way through the engine.
type proposal struct {
	ctx context.Context
	rq  *request
	e   ledger.Entry // ID and PostedAt are set by each attempt
	id  uuid.UUID    // e.ID, as bytes
	// legs are e's postings, one each, with the shard rows they change and
	// what the statement read of them.
	legs []ledger.Leg
	// excludeHold is a hold the debited account's held amount leaves out:
	// the hold a capture takes.
	excludeHold string
	// result is what the request's record keeps for a replay; the entry
	// when nil.
	result func(ledger.Entry) any

	// posted and reversed are what the last attempt's statement said: the
	// entry was posted; the entry it reverses was reversed already.
	posted, reversed bool

	// The group-commit queue's (batch.go).
	state atomic.Int32
	done  chan struct{} // closed when out, err and alone are set
	out   ledger.Entry
	err   error
	alone bool // the batch did not post it: the caller posts it alone
}

// entryAccounts is what entries.accounts holds for e, joined with commas:
// the accounts it posts to, sorted. The readers that start from an entry
// find its postings by these (migration 7).
func entryAccounts(e ledger.Entry) string {
	ids := make([]string, len(e.Postings))
	for i, p := range e.Postings {
		ids[i] = p.AccountID
	}
	slices.Sort(ids)
	return strings.Join(ids, ",")
}

// nilHold is a hold id no hold has: the held amount leaves out no hold.
const nilHold = "00000000-0000-0000-0000-000000000000"

// productFlow marks the postings of an entry that debit the bank's own
// accounts by the design of the call that makes it (a deposit debits the
// vault), which any caller of that call may post.
type productFlow []bool

// newProposal is e posted by ctx's caller, whose request has fingerprint
// fp. A posting may debit an internal account if the caller is privileged
// or flow marks it.
func (s *Store) newProposal(ctx context.Context, fp []byte, e ledger.Entry, flow productFlow) *proposal {
	e.Actor = ledger.ActorFrom(ctx)
	p := &proposal{ctx: ctx, rq: newRequest(ctx, e.RequestID, fp, nil), e: e, legs: make([]ledger.Leg, len(e.Postings))}
	privileged := ledger.Privileged(ctx)
	for i, posting := range e.Postings {
		p.legs[i] = ledger.Leg{Posting: posting, MayDebitInternal: privileged || i < len(flow) && flow[i], Shard: -1}
	}
	return p
}

// begin starts an attempt: a new entry id, the time, and the state read by
// an earlier attempt forgotten. A leg without a shard row yet gets one of
// its account's at random.
func (p *proposal) begin(now time.Time) {
	p.id = uuid.New()
	p.e.ID, p.e.PostedAt, p.posted, p.reversed = p.id.String(), now, false, false
	for i := range p.legs {
		l := &p.legs[i]
		*l = ledger.Leg{Posting: l.Posting, Shard: l.Shard, MayDebitInternal: l.MayDebitInternal}
	}
}

// pickShards gives each leg without a shard row one of its account's, at
// random.
func (s *Store) pickShards(p *proposal) {
	for i := range p.legs {
		if l := &p.legs[i]; l.Shard < 0 {
			l.Shard = 0
			if n := s.shards(l.Posting.AccountID); n > 1 {
				l.Shard = rand.IntN(n)
			}
		}
	}
}

// postArgs are sqlPost's arrays: one element per entry, then one per
// posting.
type postArgs struct {
	ids                        [][16]byte // UUIDs, as bytes: see sealer.go
	kinds, actors, reqs, memos []string
	fps, results, records      [][]byte
	reverses                   []pgtype.UUID
	entryAccounts              []string
	seqs, shards               []int32
	entries, excls             [][16]byte
	accounts, currencies       []string
	amounts, downs, ups        []int64
	internalOK                 []bool
	bySeq                      []*ledger.Leg
	owners                     []*proposal
	now                        time.Time // when every entry posts
	// What the batch's postings so far change on each row: debits and
	// credits, or every change when the batch is atomic.
	atomic   bool
	down, up map[rowKey]int64
}

// written is the entry as sqlPost writes it at now: the request's actor
// and id, the legs' postings.
func (p *proposal) written(now time.Time) ledger.Entry {
	e := p.e
	e.Actor, e.RequestID, e.PostedAt = p.rq.actor, p.rq.id, now
	e.Postings = make([]ledger.Posting, len(p.legs))
	for i, l := range p.legs {
		e.Postings[i] = l.Posting
	}
	return e
}

// queuePost queues sqlPost for props into b, all posting at now: atomic
// posts all or none. The statement's answer fills each proposal's legs and
// posted flags when b is sent.
func queuePost(b *pgx.Batch, props []*proposal, now time.Time, atomic bool) error {
	a := newPostArgs(props, now, atomic)
	for _, p := range props {
		if err := a.add(p); err != nil {
			return err
		}
	}
	b.Queue(sqlPost, a.ids, a.kinds, a.actors, a.reqs, a.memos, a.fps, a.results, a.reverses,
		a.seqs, a.entries, a.accounts, a.shards, a.amounts, a.currencies, a.excls, a.internalOK,
		now, ledger.MaxBalance, atomic, a.entryAccounts, a.downs, a.ups, a.records,
	).Query(func(rows pgx.Rows) error { return a.read(rows) })
	return nil
}

// newPostArgs returns empty arrays sized for props.
func newPostArgs(props []*proposal, now time.Time, atomic bool) *postArgs {
	n, m := 0, len(props)
	for _, p := range props {
		n += len(p.legs)
	}
	return &postArgs{
		ids: make([][16]byte, 0, m), kinds: make([]string, 0, m), actors: make([]string, 0, m),
		reqs: make([]string, 0, m), memos: make([]string, 0, m), fps: make([][]byte, 0, m),
		results: make([][]byte, 0, m), records: make([][]byte, 0, m), reverses: make([]pgtype.UUID, 0, m), entryAccounts: make([]string, 0, m),
		seqs: make([]int32, 0, n), shards: make([]int32, 0, n), entries: make([][16]byte, 0, n),
		excls: make([][16]byte, 0, n), accounts: make([]string, 0, n), currencies: make([]string, 0, n),
		amounts: make([]int64, 0, n), downs: make([]int64, 0, n), ups: make([]int64, 0, n),
		internalOK: make([]bool, 0, n), bySeq: make([]*ledger.Leg, 0, n), owners: make([]*proposal, 0, n),
		now: now, atomic: atomic, down: map[rowKey]int64{}, up: map[rowKey]int64{},
	}
}

// add appends p, an entry and its postings, to the arrays.
func (a *postArgs) add(p *proposal) error {
	var result any = p.e
	if p.result != nil {
		result = p.result(p.e)
	}
	buf, err := json.Marshal(result)
	if err != nil {
		return err
	}
	var rev pgtype.UUID
	if p.e.ReversesEntryID != "" {
		if rev.Bytes, err = uuid.Parse(p.e.ReversesEntryID); err != nil {
			return err
		}
		rev.Valid = true
	}
	excl := uuid.UUID{}
	if p.excludeHold != "" {
		if excl, err = uuid.Parse(p.excludeHold); err != nil {
			return err
		}
	}
	a.ids, a.kinds, a.actors = append(a.ids, p.id), append(a.kinds, p.e.Kind.String()), append(a.actors, string(p.rq.actor))
	a.reqs, a.memos, a.fps = append(a.reqs, p.rq.id), append(a.memos, p.e.Memo), append(a.fps, p.rq.fp)
	a.results, a.reverses = append(a.results, buf), append(a.reverses, rev)
	a.entryAccounts = append(a.entryAccounts, entryAccounts(p.e))
	a.records = append(a.records, ledger.Canonical(0, p.written(a.now)))
	for i := range p.legs {
		l := &p.legs[i]
		r := rowKey{l.Posting.AccountID, l.Shard}
		a.downs, a.ups = append(a.downs, a.down[r]), append(a.ups, a.up[r])
		a.seqs, a.entries = append(a.seqs, int32(len(a.bySeq))), append(a.entries, p.id)
		a.accounts, a.shards = append(a.accounts, l.Posting.AccountID), append(a.shards, int32(l.Shard))
		a.amounts, a.currencies = append(a.amounts, l.Posting.Amount), append(a.currencies, l.Posting.Currency)
		a.excls, a.internalOK = append(a.excls, excl), append(a.internalOK, l.MayDebitInternal)
		a.bySeq, a.owners = append(a.bySeq, l), append(a.owners, p)
	}
	// The entries after p see its changes, as ledger.CheckProposals says.
	for _, l := range p.legs {
		r, amount := rowKey{l.Posting.AccountID, l.Shard}, l.Posting.Amount
		if a.atomic || amount < 0 {
			a.down[r] += amount
		}
		if a.atomic || amount > 0 {
			a.up[r] += amount
		}
	}
	return nil
}

// read takes sqlPost's answer: one row per posting, in order.
func (a *postArgs) read(rows pgx.Rows) error {
	for rows.Next() {
		var (
			seq                 int32
			found, posted, revd bool
			customer, cur       string
			kind, status        string
			shards              int32
			balance, held       int64
		)
		if err := rows.Scan(&seq, &found, &customer, &cur, &kind, &status, &shards, &balance, &held,
			&posted, &revd); err != nil {
			return err
		}
		if seq < 0 || int(seq) >= len(a.bySeq) {
			return errors.New("the posting statement answered for a posting it was not given")
		}
		l, p := a.bySeq[seq], a.owners[seq]
		p.posted, p.reversed = posted, revd
		if found {
			l.Found = true
			l.Account = ledger.Account{ID: l.Posting.AccountID, CustomerID: customer, Currency: cur,
				Kind: kinds[kind], Status: statuses[status], Shards: int(shards)}
			l.Posted, l.Held = balance, held
		}
	}
	return rows.Err()
}

// verdicts applies the ledger's rules to what the statement read for
// props, and reports each disagreement between the rules and the
// statement.
func (s *Store) verdicts(props []*proposal, atomic bool) []error {
	batch := make([]ledger.Proposal, len(props))
	for i, p := range props {
		batch[i] = ledger.Proposal{Legs: p.legs, AlreadyReversed: p.reversed}
	}
	errs := ledger.CheckProposals(batch, atomic)
	for i, p := range props {
		if p.posted != (errs[i] == nil) {
			s.disagree(p, errs[i])
		}
	}
	return errs
}

// disagree reports that the statement and the rules in Go gave p different
// verdicts: a bug in one of them. A posted entry that the rules refuse is
// the worse.
func (s *Store) disagree(p *proposal, rule error) {
	if p.posted {
		s.opt.Logger.Error("LEDGER RULE BROKEN: the database posted an entry the ledger's rules refuse",
			"entry", p.e.ID, "request_id", p.rq.id, "rule", rule)
	} else {
		s.opt.Logger.Error("the database refused an entry the ledger's rules allow",
			"entry", p.e.ID, "request_id", p.rq.id)
	}
	if s.opt.OnRuleDisagreement != nil {
		s.opt.OnRuleDisagreement(p.e.ID, p.posted, rule)
	}
}

// refusal is why p was not posted: the rules' verdict, or an internal error
// if they allow it. An account that does not exist and that the ledger
// opens itself when first needed is opened and the entry posted again.
func (s *Store) refusal(p *proposal, verdict error) error {
	if verdict == nil {
		return ledger.Errorf(ledger.CodeInternal, "entry refused for no known reason")
	}
	if ledger.ErrorCode(verdict) == ledger.CodeAccountNotFound {
		for _, l := range p.legs {
			if !l.Found && ledger.OpenedOnUse(l.Posting) {
				return missingSystemAccount{id: l.Posting.AccountID, currency: l.Posting.Currency}
			}
		}
	}
	return verdict
}

// post posts p, whose result is its entry: in a batch with others when the
// store is busy (batch.go), else alone.
func (s *Store) post(ctx context.Context, p *proposal) (ledger.Entry, error) {
	if s.batcher == nil {
		return s.postAlone(ctx, p)
	}
	if err := s.batcher.do(ctx, p); err != nil {
		return ledger.Entry{}, outcome(p, err)
	}
	if p.alone {
		return s.postAlone(ctx, p)
	}
	return p.out, p.err
}

// postAlone posts p by itself in one round trip: BEGIN, sqlPost, COMMIT.
// sqlPost writes only if the ledger's rules allow the entry; when it does
// not, the empty transaction commits and the rules, applied to what the
// statement read, say why.
//
// An attempt after a unique violation on the idempotency record (a twin
// request committed first) looks the record up in a round trip of its own
// before sqlPost: sqlPost's writes cannot be taken back once sent.
func (s *Store) postAlone(ctx context.Context, p *proposal) (ledger.Entry, error) {
	var out ledger.Entry
	p.rq.out = &out
	err := s.withSystemAccounts(ctx, func() error {
		return s.inTx(ctx, func(t *txn) error {
			now := s.now()
			p.begin(now)
			s.pickShards(p)
			if t.lookup {
				b := &pgx.Batch{}
				p.rq.queueLookup(t, b)
				if err := t.exec(ctx, b); err != nil || p.rq.replay {
					return err
				}
			}
			b := &pgx.Batch{}
			if onPostgres(t.conn) {
				b.Queue(sqlGenericPlan)
			}
			if err := queuePost(b, []*proposal{p}, now, false); err != nil {
				return err
			}
			if err := t.commit(ctx, b); err != nil {
				return err
			}
			verdict := s.verdicts([]*proposal{p}, false)[0]
			if !p.posted {
				return p.rq.refuse(ctx, t, s.refusal(p, verdict))
			}
			out = p.e
			return nil
		})
	})
	return out, err
}

// postInTx queues p into b as a batch of one, for a call whose transaction
// does more than post (a capture, a subscription), and returns a function
// that, once b is sent, says whether p was posted and why not.
func (s *Store) postInTx(t *txn, b *pgx.Batch, p *proposal, now time.Time) (func() error, error) {
	p.begin(now)
	s.pickShards(p)
	if onPostgres(t.conn) {
		b.Queue(sqlGenericPlan)
	}
	if err := queuePost(b, []*proposal{p}, now, false); err != nil {
		return nil, err
	}
	return func() error {
		verdict := s.verdicts([]*proposal{p}, false)[0]
		if p.posted {
			return nil
		}
		return s.refusal(p, verdict)
	}, nil
}

// sendPost posts p in t, in a round trip of its own, for a call whose
// transaction then writes more; a refusal is answered as p's request
// answers it (a replay of a request done before gets its result: then
// p.rq.replay is set and nil returned).
func (s *Store) sendPost(ctx context.Context, t *txn, p *proposal, now time.Time) error {
	b := &pgx.Batch{}
	verdict, err := s.postInTx(t, b, p, now)
	if err != nil {
		return err
	}
	if err := t.exec(ctx, b); err != nil {
		return err
	}
	if err := verdict(); err != nil {
		return p.rq.refuse(ctx, t, err)
	}
	return nil
}

// shards is how many balance rows an account has. It follows from the id:
// the ledger's vault, settlement, interest expense and tax payable accounts
// have VaultShards, each ATM's
// cash account ATMShards, every other account one.
func (s *Store) shards(accountID string) int {
	switch kind, _ := ledger.SystemAccount(accountID); kind {
	case ledger.SystemVault, ledger.SystemSettlement, ledger.SystemInterestExpense, ledger.SystemTaxPayable:
		return s.opt.VaultShards
	case ledger.SystemATM:
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
