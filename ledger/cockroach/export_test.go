package cockroach

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/corebanking/ledger/ledger"
	"io/fs"
	"slices"

	"github.com/pressly/goose/v3"
)

// MigrateTo applies the migrations up to version, so that a test can
// write data as an older ledger did and then migrate it.
var MigrateTo = migrateTo

// SweepEvery is how often the sealer's poll reads the queue from its
// beginning.
const SweepEvery = sweepEvery

// SQLPost is the posting engine's statement, for tests that send it by
// hand.
const SQLPost = sqlPost

// QueuedMoves is how many moves wait for a batch.
func (s *Store) QueuedMoves() int {
	if s.batcher == nil {
		return 0
	}
	s.batcher.mu.Lock()
	defer s.batcher.mu.Unlock()
	return len(s.batcher.queue)
}

// RawEntry is an entry for PostRaw: its postings, each on the given shard
// row and allowed or not to debit an internal account, and a hold its
// debits leave out of the held amount.
type RawEntry struct {
	Entry            ledger.Entry
	Shards           []int
	MayDebitInternal []bool
	ExcludeHold      string
}

// RawResult is what the posting statement said of one RawEntry: whether it
// was posted, whether the entry it reverses was reversed already, and each
// posting's row as the statement read it.
type RawResult struct {
	Posted, Reversed bool
	Legs             []ledger.Leg
}

// PostRaw posts entries through the posting statement as one batch in one
// transaction, as the engine does, and returns what the statement said of
// each. Each entry's request id is its own; the actor is ctx's.
func (s *Store) PostRaw(ctx context.Context, entries []RawEntry, atomic bool) ([]RawResult, error) {
	props := make([]*proposal, len(entries))
	for i, r := range entries {
		p := s.newProposal(ctx, []byte{byte(i)}, r.Entry, nil)
		for j := range p.legs {
			p.legs[j].Shard, p.legs[j].MayDebitInternal = r.Shards[j], r.MayDebitInternal[j]
		}
		p.excludeHold = r.ExcludeHold
		props[i] = p
	}
	err := s.inTx(ctx, func(t *txn) error {
		now := s.now()
		for _, p := range props {
			p.begin(now)
		}
		b := &pgx.Batch{}
		if onPostgres(t.conn) {
			b.Queue(sqlGenericPlan)
		}
		if err := queuePost(b, props, now, atomic); err != nil {
			return err
		}
		return t.commit(ctx, b)
	})
	if err != nil {
		return nil, err
	}
	out := make([]RawResult, len(props))
	for i, p := range props {
		out[i] = RawResult{Posted: p.posted, Reversed: p.reversed, Legs: p.legs}
		entries[i].Entry.ID = p.e.ID
	}
	return out, nil
}

// MigrationVersions lists every migration's version, from the embedded
// files and the migrations written in Go, in order.
func MigrationVersions() ([]int64, error) {
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var out []int64
	for _, m := range goMigrations {
		out = append(out, m.Version)
	}
	for _, f := range files {
		v, err := goose.NumericComponent(f)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	slices.Sort(out)
	return out, nil
}

// Translate is the store's translation of driver and network errors into
// the ledger's, for tests that construct the driver's errors themselves.
func Translate(err error) error { return (&Store{}).translate(err) }

// CommitFailed marks err as the failure of a round trip that carried COMMIT.
var CommitFailed = commitFailed
