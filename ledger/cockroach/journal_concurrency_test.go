package cockroach_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/corebanking/ledger/ledger"
	"github.com/corebanking/ledger/ledger/cockroach"
)

// TestJournalPagingSeesNoGap runs concurrent writers, whose entries commit
// out of id and time order, while a sealer seals in small batches and a
// reader pages through the journal by after_sequence. Every page must start
// right after the last sequence the reader saw and run on without a gap;
// in the end every entry is sealed exactly once and the chain verifies.
func TestJournalPagingSeesNoGap(t *testing.T) {
	const (
		accounts = 8
		writers  = 8
		perWrite = 40
	)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	f := MustOpenStore(t, cockroach.Options{})
	for i := range accounts {
		f.MustOpen(t, fmt.Sprintf("acct-%d", i), 1_000_000)
	}
	sealer := f.MustSealer(t, cockroach.SealerOptions{Interval: 2 * time.Millisecond, Batch: 5})
	sealCtx, stopSealer := context.WithCancel(ctx)
	sealed := make(chan struct{})
	go func() { sealer.Run(sealCtx); close(sealed) }()
	defer func() { stopSealer(); <-sealed }()

	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range perWrite {
				from, to := rand.IntN(accounts), rand.IntN(accounts-1)
				if to >= from {
					to++
				}
				_, err := f.Transfer(ctx, ledger.TransferRequest{RequestID: fmt.Sprintf("w%d-%d", w, i),
					From: fmt.Sprintf("acct-%d", from), To: fmt.Sprintf("acct-%d", to), Amount: 1 + int64(rand.IntN(100)), Currency: "KRW"})
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	writing := make(chan struct{})
	go func() { wg.Wait(); close(writing) }()

	seen := map[string]int64{}
	var after int64
	done := false
	for !done {
		select {
		case <-writing:
			// Once writing ends, read on until every entry is sealed.
			done = f.mustCount(t, `SELECT count(*) FROM entries`) == len(seen)
		default:
		}
		page, err := f.ListJournal(ctx, ledger.JournalQuery{After: after, Limit: 7})
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range page {
			if r.Sequence != after+int64(i)+1 {
				t.Fatalf("page after %d: record %d has sequence %d", after, i, r.Sequence)
			}
			if s, dup := seen[r.Entry.ID]; dup {
				t.Fatalf("entry %s sealed at %d and %d", r.Entry.ID, s, r.Sequence)
			}
			seen[r.Entry.ID] = r.Sequence
		}
		if len(page) > 0 {
			after = page[len(page)-1].Sequence
			done = false
		} else {
			time.Sleep(time.Millisecond)
		}
		if ctx.Err() != nil {
			t.Fatalf("gave up with %d entries read: %v", len(seen), ctx.Err())
		}
	}
	close(errs)
	for err := range errs {
		t.Fatalf("writer: %v", err)
	}
	// The vault's opening, an opening and a deposit per account, then the transfers.
	want := 1 + accounts*2 + writers*perWrite
	if len(seen) != want {
		t.Errorf("read %d sealed entries, want %d", len(seen), want)
	}
	var unsealed int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM entries AS e WHERE NOT EXISTS
		(SELECT 1 FROM journal AS j WHERE j.entry_id = e.entry_id)`).Scan(&unsealed); err != nil || unsealed != 0 {
		t.Errorf("%d entries not in the journal (%v)", unsealed, err)
	}
	if v := f.MustVerify(t, ledger.JournalRange{}); !v.OK || v.Checked != int64(want) {
		t.Errorf("verification = %+v", v)
	}
	f.AssertBooksBalance(t)
}
