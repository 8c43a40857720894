package cockroach

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"golang.org/x/mod/sumdb/note"

	"github.com/corebanking/ledger/ledger"
)

// The sealer gives committed entries their audit sequence and chain hash,
// after commit and in batches, so that the online path shares nothing: a
// transfer only inserts one row into journal_pending, keyed by its entry's
// random UUID and carrying the entry's canonical bytes, so that the sealer
// reads the queue alone and not entries and postings.
//
// Finding what to seal is cheap and exact. journal_pending holds only the
// backlog (the sealing transaction deletes what it seals), so a poll reads
// a small table instead of anti-joining entries against the journal, whose
// cost would grow with the books. And a pending row commits in the same
// transaction as its entry: the sealer sees an entry exactly when it is
// committed, however late or out of order that is (queueCursor only spares
// polls the deleted rows at the queue's head; its periodic sweep finds
// what it skipped).
//
// Gapless and fixed: a sealing transaction reads the head and appends
// head+1, head+2, ... in one SERIALIZABLE transaction, as one row of
// journal_blocks (migration 46) whose key is its first sequence, so two
// transactions that started from the same head cannot both commit (no
// fork); and it deletes from the queue exactly the rows it seals, so a
// second transaction sealing any of them fails, and an entry is sealed
// once. Batches commit in sequence order, so a reader always sees a prefix
// 1..N. No role may update or delete a record.
//
// One sealer at a time: each sealing transaction first takes or renews the
// lease row. A sealer whose lease another has taken gets no row back and
// appends nothing; since the lease row stays locked (written) until the
// sealing transaction ends, no one can take it over in the middle.

// ErrWitness marks a checkpoint that was signed and stored but that the
// witness did not take. The next checkpoint covers its records.
var ErrWitness = errors.New("the witness did not take a checkpoint")

// leaseName is the one lease row: one active sealer per database.
const leaseName = "journal"

// SealerOptions tune a Sealer. The zero value of each field means its default.
type SealerOptions struct {
	// Holder names this sealer in the lease and in the records it seals;
	// a new random id by default.
	Holder string
	// Interval is the pause between polls once the backlog is sealed;
	// 200ms by default.
	Interval time.Duration
	// Batch is the most entries one transaction seals; 4,096 by default,
	// more than a poll interval's entries at full load, so that sealing
	// transactions normally run an Interval apart (see sealApart).
	Batch int
	// LeaseTTL is how long a lease lasts unless renewed; 5s by default. A
	// sealer renews it at every poll, so it must be well above Interval.
	LeaseTTL time.Duration
	// Logger receives sealing errors; the store's logger by default.
	Logger *slog.Logger
	// OnSealed, if set, is told of every sealing transaction this sealer
	// committed, including those that found nothing to seal and those of a
	// sealer that did not hold the lease (SealResult.Leader says).
	OnSealed func(SealResult)
	// OnError, if set, is told of every sealing transaction that failed
	// (Run logs it and tries again), and of every checkpoint the witness
	// did not take.
	OnError func(error)
	// Signer signs checkpoints of the journal's tree with a key the
	// database never sees; without one no checkpoint is signed.
	Signer note.Signer
	// CheckpointInterval is the least time between two signed checkpoints;
	// 5s by default. A sealing transaction signs one when the journal has
	// grown since the last checkpoint and this much time has passed, so
	// while entries arrive one is signed every CheckpointInterval or so.
	CheckpointInterval time.Duration
	// Witness, if set, is given every checkpoint this sealer signs, after
	// the transaction that stored it committed (see internal/witness).
	Witness func(ledger.SignedCheckpoint) error
}

// SealResult is what one sealing transaction did.
type SealResult struct {
	// Leader is whether this sealer held the lease; nothing is sealed
	// otherwise.
	Leader bool
	// Epoch is the lease term the batch was sealed under.
	Epoch int64
	// First and Last are the sequences sealed; Last < First when none were.
	First, Last int64
	// TreeBehind is set while the Merkle tree catches up on records sealed
	// before it existed: such a transaction seals nothing new.
	TreeBehind bool
	// Checkpoint is the checkpoint the transaction signed, if any.
	Checkpoint *ledger.SignedCheckpoint
}

// Sealed is how many records the transaction appended.
func (r SealResult) Sealed() int {
	if !r.Leader {
		return 0
	}
	return int(r.Last - r.First + 1)
}

// Sealer seals the journal; see the comment at the top of sealer.go.
type Sealer struct {
	st  *Store
	opt SealerOptions

	mu    sync.Mutex
	queue queueCursor
}

// queueCursor spares a poll the rows at the queue's head that earlier
// batches deleted. Between two vacuums the queue's index still holds them,
// tens of thousands under load, and a poll that starts at the beginning
// steps over all of them to reach the live rows. So a poll starts a little
// before the latest time this sealer sealed (queueLookback, for entries
// that committed a moment after later ones), and every sweepEvery it
// sweeps from the beginning: an entry that committed later still, with an
// older time, is sealed by the next sweep. The cursor is only a hint: a
// row it skips stays in the queue, and nothing is sealed twice or lost.
type queueCursor struct {
	latest time.Time // the latest posted_at sealed; zero: none yet
	swept  time.Time // when a poll last started from the beginning (wall clock)
	leader bool
}

const (
	// sweepEvery is how often a poll reads the queue from its beginning.
	// A sweep steps over every row deleted since the queue's last vacuum,
	// up to a minute's worth under load, and visits their heap pages: at
	// 5,000 transfers a second, tens of milliseconds of the database's
	// time. Once a second, that would be a good part of what the sealer
	// costs transfers (docs/benchmark.md); every ten seconds it is a small
	// part, and only an entry that commits more than queueLookback after
	// later ones waits for it.
	sweepEvery = 10 * time.Second
	// queueLookback is how far before the latest time sealed a poll starts.
	queueLookback = time.Second
)

// start returns the time the next poll starts from: a little before the
// latest time sealed, or zero, the queue's beginning, when a sweep is due
// or this sealer did not lead.
func (c *queueCursor) start(wall time.Time) (from time.Time, sweep bool) {
	if !c.leader || c.latest.IsZero() || wall.Sub(c.swept) >= sweepEvery {
		return time.Time{}, true
	}
	return c.latest.Add(-queueLookback), false
}

// sealed moves the cursor after a committed sealing transaction whose
// latest entry was posted at latest (zero if it sealed none).
func (c *queueCursor) sealed(res SealResult, latest time.Time, sweep bool, wall time.Time) {
	c.leader = res.Leader
	if sweep {
		c.swept = wall
	}
	if latest.After(c.latest) {
		c.latest = latest
	}
}

// sealApart is the pause after a full batch, while a backlog is sealed.
// PostgreSQL's SERIALIZABLE counts two sealing transactions as overlapping
// while a transfer that overlapped the first still runs: the second is
// then a pivot between the first (which read the journal's head and the
// queue that the second writes) and the transfers that added to the queue
// it read, and fails, wasting its batch. A pause longer than a transfer
// keeps them apart.
const sealApart = 20 * time.Millisecond

// NewSealer returns a sealer that works through st, whose pool should log
// in as RoleSealer.
func NewSealer(st *Store, opt SealerOptions) *Sealer {
	if opt.Holder == "" {
		opt.Holder = "sealer-" + uuid.NewString()
	}
	if opt.Interval <= 0 {
		opt.Interval = 200 * time.Millisecond
	}
	if opt.Batch <= 0 {
		opt.Batch = 4096
	}
	if opt.LeaseTTL <= 0 {
		opt.LeaseTTL = 5 * time.Second
	}
	if opt.CheckpointInterval <= 0 {
		opt.CheckpointInterval = 5 * time.Second
	}
	if opt.Logger == nil {
		opt.Logger = st.opt.Logger
	}
	return &Sealer{st: st, opt: opt}
}

// Holder is the name this sealer holds the lease under.
func (z *Sealer) Holder() string { return z.opt.Holder }

// Run seals until ctx ends, then gives up the lease. Errors are logged and
// retried after a pause; they never end the loop.
func (z *Sealer) Run(ctx context.Context) {
	leaseLoop{what: "journal sealer", holder: z.opt.Holder, interval: z.opt.Interval, leaseTTL: z.opt.LeaseTTL,
		logger: z.opt.Logger, onError: z.opt.OnError,
		once: func(ctx context.Context) (bool, error) {
			res, err := z.SealOnce(ctx)
			more := res.Sealed() == z.opt.Batch || res.TreeBehind
			if more { // more backlog: go on after the transfers that overlapped this one
				select {
				case <-ctx.Done():
				case <-time.After(sealApart):
				}
			}
			return more, err
		},
		release: func(ctx context.Context) error {
			_, err := z.st.pool.Exec(ctx, sqlReleaseLease, leaseName, z.opt.Holder)
			return err
		},
	}.run(ctx)
}

// Backlog is how many committed entries wait to be sealed, and when the
// oldest of them was posted (zero when none wait).
func (z *Sealer) Backlog(ctx context.Context) (n int64, oldest time.Time, err error) {
	var at *time.Time
	if err := z.st.pool.QueryRow(ctx, sqlBacklog).Scan(&n, &at); err != nil {
		return 0, time.Time{}, err
	}
	if at != nil {
		oldest = at.UTC()
	}
	return n, oldest, nil
}

// WaitSealed polls the backlog every poll until nothing waits to be sealed.
func (z *Sealer) WaitSealed(ctx context.Context, poll time.Duration) error {
	return z.WaitSealedBefore(ctx, time.Time{}, poll)
}

// WaitSealedBefore polls the backlog every poll until no entry posted
// before t waits to be sealed (with t zero, until none waits at all):
// while transfers go on, some always wait for the next poll.
func (z *Sealer) WaitSealedBefore(ctx context.Context, t time.Time, poll time.Duration) error {
	for {
		n, oldest, err := z.Backlog(ctx)
		if err != nil || n == 0 || (!t.IsZero() && !oldest.Before(t)) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
	}
}

// SealOnce takes or renews the lease and, if this sealer holds it, seals
// one batch of committed entries in one transaction: their records, their
// nodes of the Merkle tree and, when one is due, a signed checkpoint, which
// it then gives the witness. While the tree lags the journal (records
// sealed before it existed), the transaction adds those records to the
// tree instead.
func (z *Sealer) SealOnce(ctx context.Context) (SealResult, error) {
	var res SealResult
	var latest time.Time
	z.mu.Lock()
	from, sweep := z.queue.start(time.Now())
	z.mu.Unlock()
	err := z.st.inTx(ctx, func(t *txn) error {
		res, latest = SealResult{}, time.Time{}
		head := ledger.Checkpoint{Hash: ledger.GenesisHash()}
		var tree treeHead
		b := &pgx.Batch{}
		queueTakeLease(b, sqlTakeLease, leaseName, z.opt.Holder, z.opt.LeaseTTL, &res.Leader, &res.Epoch)
		b.Queue(sqlJournalHead).QueryRow(func(row pgx.Row) error {
			err := row.Scan(&head.Sequence, &head.Hash)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			return err
		})
		tree.queue(b)
		if err := t.exec(ctx, b); err != nil || !res.Leader {
			return err // not the leader: the transaction is rolled back
		}
		res.First, res.Last = head.Sequence+1, head.Sequence
		res.TreeBehind = tree.size < head.Sequence
		var pending []pendingRow
		var behind []ledger.Record
		var frontier [][]byte
		b = &pgx.Batch{}
		queueTreeNodes(b, ledger.FrontierNodes(tree.size), &frontier)
		if res.TreeBehind {
			queueRecords(b, tree.size, min(head.Sequence, tree.size+int64(z.opt.Batch)), &behind)
		} else {
			queuePending(b, z.opt.Batch, from, &pending)
		}
		if err := t.exec(ctx, b); err != nil {
			return err
		}
		entries, err := z.pendingEntries(ctx, t, pending)
		if err != nil {
			return err
		}
		if err := deletePending(ctx, t, pending); err != nil {
			return err
		}
		grow, err := ledger.TreeAt(tree.size, frontier)
		if err != nil {
			return fmt.Errorf("the stored tree of %d records: %w", tree.size, err)
		}
		final := &pgx.Batch{}
		nodes := &nodeRows{}
		for _, r := range behind { // head stays the journal's: no checkpoint before the tree reaches it
			if err := grow.Append(ledger.LeafHash(r.Sequence, r.Entry), nodes.add); err != nil {
				return err
			}
		}
		if len(entries) > 0 {
			if head, err = z.queueSeal(final, entries, head, grow, nodes, &res); err != nil {
				return err
			}
		}
		if err := nodes.queue(final, grow.Size()); err != nil {
			return err
		}
		if res.Checkpoint, err = z.checkpoint(final, tree, grow, head, res.Epoch); err != nil {
			return err
		}
		if n := len(pending); n > 0 {
			latest = pending[n-1].postedAt
		}
		return t.commit(ctx, final) // with nothing to seal, commits the renewed lease
	})
	if err != nil {
		return res, err
	}
	z.mu.Lock()
	z.queue.sealed(res, latest, sweep, time.Now())
	z.mu.Unlock()
	if z.opt.OnSealed != nil {
		z.opt.OnSealed(res)
	}
	if res.Checkpoint != nil && z.opt.Witness != nil {
		if werr := z.opt.Witness(*res.Checkpoint); werr != nil {
			return res, fmt.Errorf("%w: the checkpoint of %d records: %w", ErrWitness, res.Checkpoint.Size, werr)
		}
	}
	return res, nil
}

// queueSeal queues the records of entries after head, and adds their leaves
// to tree; it returns the new head.
func (z *Sealer) queueSeal(b *pgx.Batch, entries []ledger.Entry, head ledger.Checkpoint, tree *ledger.Tree,
	nodes *nodeRows, res *SealResult) (ledger.Checkpoint, error) {
	n := len(entries)
	// Entry ids go as the UUIDs' 16 bytes: pgx encodes a []string for a
	// UUID[] parameter only after a failed binary attempt, whose error
	// message quotes the whole array, and a uuid.UUID through its
	// driver.Valuer, as text that it then parses back.
	ids, times, hashes := make([][16]byte, n), make([]time.Time, n), make([][]byte, n)
	earliest, latest := entries[0].PostedAt, entries[0].PostedAt
	prev := head.Hash
	for i, e := range entries {
		id, err := uuid.Parse(e.ID)
		if err != nil {
			return head, fmt.Errorf("entry %q: %w", e.ID, err)
		}
		res.Last++
		ids[i], times[i] = id, e.PostedAt
		if e.PostedAt.Before(earliest) {
			earliest = e.PostedAt
		}
		if e.PostedAt.After(latest) {
			latest = e.PostedAt
		}
		chain, leaf := ledger.RecordHashes(prev, res.Last, e)
		hashes[i], prev = chain, chain
		if err := tree.Append(leaf, nodes.add); err != nil {
			return head, err
		}
	}
	b.Queue(sqlSealBatch, head.Sequence+1, res.Last, head.Hash, ids, times, hashes, earliest, latest,
		z.st.now(), z.opt.Holder, res.Epoch)
	return ledger.Checkpoint{Sequence: res.Last, Hash: prev}, nil
}

// pendingRow is an entry waiting to be sealed, as journal_pending has it.
type pendingRow struct {
	id       string
	postedAt time.Time
	record   []byte // Canonical(0, entry), or nil
}

// queuePending queues the read of the next batch of at most n entries to
// seal, posted at from or later, into *out, in the order they will be
// sealed.
func queuePending(b *pgx.Batch, n int, from time.Time, out *[]pendingRow) {
	b.Queue(sqlPendingBatch, n, from).Query(func(rows pgx.Rows) error {
		var r pendingRow
		_, err := pgx.ForEachRow(rows, []any{&r.id, &r.postedAt, &r.record}, func() error {
			*out = append(*out, r)
			return nil
		})
		return err
	})
}

// deletePending removes rows, the batch queuePending read, from the
// queue, in a round trip of its own: if it removed anything but exactly
// them, the transaction fails before it commits.
func deletePending(ctx context.Context, t *txn, rows []pendingRow) error {
	if len(rows) == 0 {
		return nil
	}
	first, last := rows[0], rows[len(rows)-1]
	firstID, err := uuid.Parse(first.id)
	if err != nil {
		return fmt.Errorf("pending entry %q: %w", first.id, err)
	}
	lastID, err := uuid.Parse(last.id)
	if err != nil {
		return fmt.Errorf("pending entry %q: %w", last.id, err)
	}
	var removed int64
	b := &pgx.Batch{}
	b.Queue(sqlSealedNotPending, first.postedAt, firstID[:], last.postedAt, lastID[:]).Exec(func(tag pgconn.CommandTag) error {
		removed = tag.RowsAffected()
		return nil
	})
	if err := t.exec(ctx, b); err != nil {
		return err
	}
	if removed != int64(len(rows)) {
		return fmt.Errorf("removing a batch of %d entries from the journal queue removed %d rows", len(rows), removed)
	}
	return nil
}

// pendingEntries returns the entries of rows, in order: from the canonical
// bytes each row carries, and from the entries and postings tables for a
// row without them (queued before they were written) or whose bytes do
// not parse or name another entry or time. The tables are the truth that
// the verifiers recompute every hash from; the bytes spare the sealer a
// lookup per entry and posting.
func (z *Sealer) pendingEntries(ctx context.Context, t *txn, rows []pendingRow) ([]ledger.Entry, error) {
	entries := make([]ledger.Entry, len(rows))
	var missing []string
	for i, r := range rows {
		e, err := parseRecord(r)
		if err != nil {
			if r.record != nil {
				z.opt.Logger.Error("a pending entry's canonical bytes are not its entry's: sealed from its tables",
					"entry", r.id, "err", err)
			}
			missing = append(missing, r.id)
			continue
		}
		entries[i] = e
	}
	if len(missing) == 0 {
		return entries, nil
	}
	ids := make([][16]byte, len(missing))
	for i, id := range missing {
		u, err := uuid.Parse(id)
		if err != nil {
			return nil, fmt.Errorf("pending entry %q: %w", id, err)
		}
		ids[i] = u
	}
	byID := map[string]ledger.Entry{}
	b := &pgx.Batch{}
	b.Queue(sqlPendingEntries, ids).Query(func(rows pgx.Rows) error { return scanEntries(rows, byID) })
	if err := t.exec(ctx, b); err != nil {
		return nil, err
	}
	for i, r := range rows {
		if entries[i].ID != "" {
			continue
		}
		e, ok := byID[r.id]
		if !ok {
			return nil, fmt.Errorf("pending entry %s is not in the entries", r.id)
		}
		entries[i] = e
	}
	return entries, nil
}

// parseRecord is the entry r's canonical bytes encode, if they are r's.
func parseRecord(r pendingRow) (ledger.Entry, error) {
	if r.record == nil {
		return ledger.Entry{}, errors.New("no canonical bytes")
	}
	_, e, err := ledger.ParseCanonical(r.record)
	switch {
	case err != nil:
		return ledger.Entry{}, err
	case !strings.EqualFold(e.ID, r.id):
		return ledger.Entry{}, fmt.Errorf("the bytes name entry %s", e.ID)
	case e.PostedAt.UnixMicro() != r.postedAt.UnixMicro():
		return ledger.Entry{}, fmt.Errorf("the bytes say posted at %s, the row %s", e.PostedAt, r.postedAt.UTC())
	}
	e.ID = r.id
	return e, nil
}

// scanEntries reads sqlPendingEntries' rows, one per posting, into byID.
func scanEntries(rows pgx.Rows, byID map[string]ledger.Entry) error {
	var e ledger.Entry
	var kind, actor string
	var account, currency *string
	var amount *int64
	_, err := pgx.ForEachRow(rows, []any{&e.ID, &kind, &actor, &e.RequestID, &e.Memo, &e.PostedAt,
		&e.ReversesEntryID, &account, &currency, &amount}, func() error {
		got, seen := byID[e.ID]
		if !seen {
			got = e
			got.Kind, got.Actor, got.PostedAt, got.Postings = ledger.ParseEntryKind(kind), ledger.Actor(actor), e.PostedAt.UTC(), nil
		}
		if account != nil {
			got.Postings = append(got.Postings, ledger.Posting{AccountID: *account, Currency: *currency, Amount: *amount})
		}
		byID[e.ID] = got
		return nil
	})
	return err
}
