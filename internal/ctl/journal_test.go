package ctl_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/corebanking/ledger/internal/ctl"
	"github.com/corebanking/ledger/internal/pgtest"
	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

// mustSealed waits until the journal holds every entry of the database and
// returns how many that is.
func mustSealed(tb testing.TB, addr string, db *pgx.Conn) int {
	tb.Helper()
	var entries int
	if err := db.QueryRow(context.Background(), `SELECT count(*) FROM entries`).Scan(&entries); err != nil {
		tb.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		if n := strings.Count(mustRun(tb, addr, "journal", "export"), "\n"); n == entries {
			return n
		}
		if time.Now().After(deadline) {
			tb.Fatalf("the journal did not reach %d records within a minute", entries)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestJournal reads, exports and verifies the journal of a real server,
// then edits one entry behind the server's back as a superuser would:
// verification on the client, from the records alone, names that record.
func TestJournal(t *testing.T) {
	ctx := context.Background()
	addr, url := MustStartServerDB(t)
	db, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close(ctx) })
	mustRun(t, addr, "account", "open", "--customer", "C-1", "--currency", "KRW", "--id", "A-1")
	mustRun(t, addr, "account", "open", "--customer", "C-2", "--currency", "KRW", "--id", "B-1")
	mustRun(t, addr, "deposit", "A-1", "50000", "KRW")
	mustRun(t, addr, "transfer", "A-1", "B-1", "20000", "KRW", "--memo", "rent", "--request-id", "rent-1")
	mustRun(t, addr, "deposit", "B-1", "100", "KRW")
	n := mustSealed(t, addr, db)

	t.Run("Tail", func(t *testing.T) {
		out := mustRun(t, addr, "journal", "tail")
		mustContain(t, out, `(?m)^1  .*  account opening  by teller/dev  entry `,
			`(?m)^3  .*  account opening  by system  entry \S+  hash [0-9a-f]{16}\n  account sys:vault:KRW opened by the ledger`,
			`(?m)^5  .*  transfer  by channel/dev  entry \S+  hash [0-9a-f]{16}\n  rent\n`,
			`A-1\s+-20000 KRW\n`, `B-1\s+\+20000 KRW\n`)
		if after := mustRun(t, addr, "journal", "tail", "--after", "5"); strings.Contains(after, "transfer") || !strings.HasPrefix(after, "6  ") {
			t.Errorf("tail --after 5:\n%s", after)
		}
	})
	t.Run("Export", func(t *testing.T) {
		lines := strings.Split(strings.TrimSpace(mustRun(t, addr, "journal", "export")), "\n")
		for i, l := range lines {
			var r ledgerv1.JournalRecord
			mustUnmarshal(t, l+"\n", &r)
			if r.GetSequence() != int64(i+1) || len(r.GetHash()) != 32 || r.GetEntry().GetEntryId() == "" {
				t.Errorf("line %d: %v", i+1, &r)
			}
		}
	})
	t.Run("Verify", func(t *testing.T) {
		// The development key's public key is in --tls-dir: the server's
		// latest signed checkpoint is checked too.
		mustContain(t, mustRun(t, addr, "journal", "verify"), fmt.Sprintf(`^journal verified: %d records, chain intact\n  checkpoint: %d:[0-9a-f]{64}\n`+
			`  tree root: [0-9a-f]{64}\n  signed checkpoints reproduced: 1\n$`, n, n))
	})
	t.Run("KeptCheckpoint", func(t *testing.T) {
		var at []byte
		if err := db.QueryRow(ctx, `SELECT hash FROM journal WHERE sequence = 4`).Scan(&at); err != nil {
			t.Fatal(err)
		}
		mustContain(t, mustRun(t, addr, "journal", "verify", "--checkpoint", fmt.Sprintf("4:%x", at)), `^journal verified: `)
		at[0] ^= 1
		r := ledgerctl(t, addr, "journal", "verify", "--checkpoint", fmt.Sprintf("4:%x", at))
		if r.code != ctl.ExitFailure || !strings.Contains(r.stdout, "do not reproduce the checkpoint you kept") {
			t.Errorf("a checkpoint the chain does not pass through: exit %d\n%s", r.code, r.stdout)
		}
		if r := ledgerctl(t, addr, "journal", "verify", "--from", fmt.Sprintf("4:%x", at)); r.code != ctl.ExitUsage ||
			!strings.Contains(r.stderr, "--from is removed") {
			t.Errorf("--from: exit %d\n%s", r.code, r.stderr)
		}
	})

	var seq int64
	var hash []byte
	if err := db.QueryRow(ctx, `SELECT j.sequence, p.hash FROM journal AS j JOIN entries AS e ON e.entry_id = j.entry_id
		JOIN journal AS p ON p.sequence = j.sequence - 1 WHERE e.request_id = 'rent-1'`).Scan(&seq, &hash); err != nil {
		t.Fatal(err)
	}
	pgtest.Tamper(t, db, `UPDATE postings SET amount = amount * 10 FROM entries AS e
		WHERE e.entry_id = postings.entry_id AND e.request_id = 'rent-1'`)
	t.Run("ErrTampered", func(t *testing.T) {
		r := ledgerctl(t, addr, "journal", "verify")
		if r.code != ctl.ExitFailure {
			t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, ctl.ExitFailure, r.stdout, r.stderr)
		}
		mustContain(t, r.stdout, fmt.Sprintf(`^journal verify: sequence %d does not match\n  hash [0-9a-f]+ does not match the entry's content`, seq),
			fmt.Sprintf(`last good checkpoint: %d:%x\n`, seq-1, hash))
		mustContain(t, r.stderr, fmt.Sprintf(`^error: the journal does not verify at sequence %d: `, seq))

		var v ledgerv1.VerifyJournalResponse
		r = ledgerctl(t, addr, "--json", "journal", "verify")
		mustUnmarshal(t, r.stdout, &v)
		if v.GetOk() || v.GetBadSequence() != seq || r.code != ctl.ExitFailure {
			t.Errorf("--json: exit %d, %v", r.code, &v)
		}
	})
	t.Run("ErrTamperedOnTheServer", func(t *testing.T) {
		r := ledgerctl(t, addr, "journal", "verify", "--on-server")
		if r.code != ctl.ExitFailure {
			t.Fatalf("exit %d, want %d\nstdout:\n%s", r.code, ctl.ExitFailure, r.stdout)
		}
		mustContain(t, r.stdout, fmt.Sprintf(`^journal verify: sequence %d does not match\n`, seq))
	})
	t.Run("Follow", func(t *testing.T) {
		fctx, stop := context.WithCancel(ctx)
		out := &syncBuffer{}
		done := make(chan int)
		go func() {
			done <- ctl.Main(fctx, []string{"--server", addr, "--tls-dir", tlsDirOf(t, addr), "journal", "tail", "--follow", "--after", fmt.Sprint(n)}, out, out)
		}()
		mustRun(t, addr, "deposit", "A-1", "5", "KRW", "--memo", "followed")
		deadline := time.Now().Add(time.Minute)
		for !strings.Contains(out.String(), "followed") && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		stop()
		if code := <-done; code != ctl.ExitOK {
			t.Errorf("tail --follow ended with %d:\n%s", code, out.String())
		}
		mustContain(t, out.String(), fmt.Sprintf(`^%d  .*  deposit  by teller/dev  .*\n  followed\n`, n+1))
	})
}

// syncBuffer is a bytes.Buffer that a running command writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
