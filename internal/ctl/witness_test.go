package ctl_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/corebanking/ledger/internal/ctl"
	"github.com/corebanking/ledger/internal/journalkey"
	"github.com/corebanking/ledger/internal/ledgerd"
	"github.com/corebanking/ledger/internal/pgtest"
	"github.com/corebanking/ledger/internal/witness"
	"github.com/corebanking/ledger/ledger"
)

// witnessed is a real server whose sealer signs a checkpoint with every
// sealing transaction that grows the journal, and appends each to a
// witness file; db is its database as the superuser.
type witnessed struct {
	addr, witness, tls string
	db                 *pgxpool.Pool
}

func startWitnessed(t *testing.T) *witnessed {
	t.Helper()
	w := &witnessed{witness: t.TempDir()}
	addr, url := mustStartServerWith(t, func(c *ledgerd.Config) {
		c.WitnessDir = w.witness
		c.Sealer.CheckpointInterval = time.Nanosecond
	})
	w.addr, w.tls = addr, tlsDirOf(t, addr)
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	w.db = pool
	return w
}

// waitWitnessed waits until every entry is sealed and the witness holds a
// checkpoint of them all, and returns how many there are.
func (w *witnessed) waitWitnessed(t *testing.T) int64 {
	t.Helper()
	v, _, err := journalkey.LoadVerifier(filepath.Join(w.tls, journalkey.DevFile+journalkey.PubSuffix))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		var entries int64
		if err := w.db.QueryRow(context.Background(), `SELECT count(*) FROM entries`).Scan(&entries); err != nil {
			t.Fatal(err)
		}
		notes, _ := witness.Read(w.witness)
		if n := len(notes); n > 0 {
			if cp, err := ledger.OpenCheckpoint(notes[n-1].Text, v); err == nil && cp.Size == entries {
				return entries
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the witness has no checkpoint of the %d entries within a minute", entries)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// history writes the entries the tests change, each step witnessed before
// the next, so that the witness holds checkpoints just before and just
// after the transfer rent-1; it returns that transfer's sequence.
func (w *witnessed) history(t *testing.T) int64 {
	t.Helper()
	mustRun(t, w.addr, "account", "open", "--customer", "C-1", "--currency", "KRW", "--id", "A-1")
	mustRun(t, w.addr, "account", "open", "--customer", "C-2", "--currency", "KRW", "--id", "B-1")
	mustRun(t, w.addr, "deposit", "A-1", "50000", "KRW")
	before := w.waitWitnessed(t)
	mustRun(t, w.addr, "transfer", "A-1", "B-1", "20000", "KRW", "--memo", "rent", "--request-id", "rent-1")
	if n := w.waitWitnessed(t); n != before+1 {
		t.Fatalf("the transfer is record %d, after %d", n, before)
	}
	mustRun(t, w.addr, "deposit", "B-1", "100", "KRW")
	mustRun(t, w.addr, "transfer", "B-1", "A-1", "50", "KRW")
	w.waitWitnessed(t)
	return before + 1
}

// verify runs journal verify against the witness file.
func (w *witnessed) verify(t *testing.T, args ...string) result {
	t.Helper()
	return ledgerctl(t, w.addr, append([]string{"journal", "verify", "--witness", w.witness}, args...)...)
}

// mustFailAt checks that r is verify's failure naming sequence seq.
func mustFailAt(t *testing.T, r result, seq int64) {
	t.Helper()
	t.Logf("verify:\n%s%s", r.stdout, r.stderr)
	if r.code != ctl.ExitFailure {
		t.Fatalf("verify: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, ctl.ExitFailure, r.stdout, r.stderr)
	}
	mustContain(t, r.stdout, fmt.Sprintf(`^journal verify: sequence %d does not match\n`, seq))
	mustContain(t, r.stderr, fmt.Sprintf(`^error: the journal does not verify at sequence %d: `, seq))
}

// TestWitnessDetectsRewrites changes history as the database's superuser
// would, hiding each change as well as the database allows: every later
// chain hash and the whole Merkle tree recomputed, the checkpoints it
// cannot sign again removed. Verification against the witness file and the
// journal's public key names the first changed sequence.
func TestWitnessDetectsRewrites(t *testing.T) {
	t.Run("BalancedEdit", func(t *testing.T) {
		w := startWitnessed(t)
		target := w.history(t)
		mustContain(t, w.verify(t).stdout, `^journal verified: `)
		// rent-1 paid 2000, not 20000: both postings and both balances, so
		// the books still balance.
		pgtest.TamperFunc(t, w.db, func(ctx context.Context, tx pgx.Tx) error {
			for _, sql := range []string{
				`UPDATE postings SET amount = amount / 10 FROM entries AS e WHERE e.entry_id = postings.entry_id AND e.request_id = 'rent-1'`,
				`UPDATE balances SET posted = posted + 18000 WHERE account_id = 'A-1'`,
				`UPDATE balances SET posted = posted - 18000 WHERE account_id = 'B-1'`,
			} {
				if _, err := tx.Exec(ctx, sql); err != nil {
					return err
				}
			}
			return rewriteJournal(ctx, tx, target)
		})
		mustFailAt(t, w.verify(t), target)
		// Without the witness the database vouches for itself, and the
		// rewrite holds: what the witness is for.
		if r := ledgerctl(t, w.addr, "journal", "verify", "--on-server"); r.code != ctl.ExitOK {
			t.Errorf("verify --on-server after a complete rewrite: exit %d\n%s", r.code, r.stdout)
		}
	})
	t.Run("DeletedAndRenumbered", func(t *testing.T) {
		w := startWitnessed(t)
		target := w.history(t)
		pgtest.TamperFunc(t, w.db, func(ctx context.Context, tx pgx.Tx) error {
			if err := pgtest.DeleteRecord(ctx, tx, target); err != nil {
				return err
			}
			for _, sql := range []string{
				`DELETE FROM postings USING entries AS e WHERE e.entry_id = postings.entry_id AND e.request_id = 'rent-1'`,
				`DELETE FROM entries WHERE request_id = 'rent-1'`,
				`UPDATE balances SET posted = posted + 20000 WHERE account_id = 'A-1'`,
				`UPDATE balances SET posted = posted - 20000 WHERE account_id = 'B-1'`,
			} {
				if _, err := tx.Exec(ctx, sql); err != nil {
					return fmt.Errorf("%s: %w", sql, err)
				}
			}
			return rewriteJournal(ctx, tx, target)
		})
		mustFailAt(t, w.verify(t), target)
	})
	t.Run("CutTail", func(t *testing.T) {
		w := startWitnessed(t)
		target := w.history(t)
		pgtest.TamperFunc(t, w.db, func(ctx context.Context, tx pgx.Tx) error {
			if err := pgtest.CutJournal(ctx, tx, target); err != nil {
				return err
			}
			return rewriteJournal(ctx, tx, target)
		})
		r := w.verify(t)
		mustFailAt(t, r, target)
		mustContain(t, r.stdout, fmt.Sprintf(`the journal ends at sequence %d`, target-1))
		// The server sees it too: entries that are not in the journal.
		r = ledgerctl(t, w.addr, "journal", "verify", "--on-server")
		if r.code != ctl.ExitFailure || !strings.Contains(r.stdout, "is not in the journal, nor waiting to be sealed") {
			t.Errorf("verify --on-server after a cut: exit %d\n%s", r.code, r.stdout)
		}
	})
}

// rewriteJournal recomputes, as the database's owner would after changing
// history, every record's chain hash and the whole Merkle tree from the
// records as they now stand, and deletes the checkpoints of from records
// on, which it cannot sign again.
func rewriteJournal(ctx context.Context, tx pgx.Tx, from int64) error {
	kinds := map[string]ledger.EntryKind{}
	for k := range ledger.EntryKind(32) {
		kinds[k.String()] = k
	}
	rows, err := tx.Query(ctx, `SELECT j.sequence, CAST(e.entry_id AS TEXT), e.kind, e.actor, e.request_id, e.memo, e.posted_at
		FROM journal AS j JOIN entries AS e ON e.entry_id = j.entry_id ORDER BY j.sequence`)
	if err != nil {
		return err
	}
	records, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ledger.Record, error) {
		var r ledger.Record
		var kind, actor string
		err := row.Scan(&r.Sequence, &r.Entry.ID, &kind, &actor, &r.Entry.RequestID, &r.Entry.Memo, &r.Entry.PostedAt)
		r.Entry.Kind, r.Entry.Actor, r.Entry.PostedAt = kinds[kind], ledger.Actor(actor), r.Entry.PostedAt.UTC()
		return r, err
	})
	if err != nil {
		return err
	}
	postings := map[string][]ledger.Posting{}
	rows, err = tx.Query(ctx, `SELECT CAST(entry_id AS TEXT), account_id, currency, amount FROM postings`)
	if err != nil {
		return err
	}
	var id string
	var p ledger.Posting
	if _, err := pgx.ForEachRow(rows, []any{&id, &p.AccountID, &p.Currency, &p.Amount}, func() error {
		postings[id] = append(postings[id], p)
		return nil
	}); err != nil {
		return err
	}
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM journal_tree_chunks`)
	b.Queue(`DELETE FROM journal_checkpoints WHERE tree_size >= $1`, from)
	prev, tree := ledger.GenesisHash(), ledger.NewTree()
	var nodes []byte
	for _, r := range records {
		r.Entry.Postings = postings[r.Entry.ID]
		hash := ledger.ChainHash(prev, r.Sequence, r.Entry)
		pgtest.QueueRecordHashes(b, r.Sequence, prev, hash)
		if err := tree.Append(ledger.LeafHash(r.Sequence, r.Entry), func(n ledger.TreeNode) { nodes = append(nodes, n.Hash...) }); err != nil {
			return err
		}
		prev = hash
	}
	b.Queue(`INSERT INTO journal_tree_chunks (first_node, tree_size, nodes) VALUES (0, $1, $2)`, tree.Size(), nodes)
	return tx.SendBatch(ctx, b).Close()
}

// TestWitnessForgedSignature: a witness file whose checkpoint was changed,
// or signed by another key of the same name, does not verify.
func TestWitnessForgedSignature(t *testing.T) {
	w := startWitnessed(t)
	w.history(t)
	notes, err := witness.Read(w.witness)
	if err != nil || len(notes) < 2 {
		t.Fatalf("witness: %d notes, %v", len(notes), err)
	}
	forged := map[string]func(note []byte) []byte{
		"ChangedSignature": func(note []byte) []byte {
			// A character in the signature's last full base64 group, so that
			// every bit it carries counts: the last character before the
			// padding also carries bits a decoder ignores.
			i := len(note) - 8
			c := byte('A')
			if note[i] == 'A' {
				c = 'B'
			}
			return append(append(note[:i:i], c), note[i+1:]...)
		},
		"OtherKey": func(note []byte) []byte { // the same text, signed by a key the attacker made with the same name
			path := filepath.Join(t.TempDir(), "evil.key")
			if _, err := journalkey.Generate(path, "ledger.local/journal"); err != nil {
				t.Fatal(err)
			}
			s, _, err := journalkey.LoadSigner(path)
			if err != nil {
				t.Fatal(err)
			}
			text := note[:strings.Index(string(note), "\n\n")+1]
			cp, err := ledger.SignCheckpoint(mustParseText(t, text), s)
			if err != nil {
				t.Fatal(err)
			}
			return cp.Note
		},
	}
	for name, forge := range forged {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			var file []byte
			for i, n := range notes {
				text := n.Text
				if i == 1 {
					text = forge(append([]byte(nil), text...))
				}
				file = append(append(file, text...), '\n')
			}
			if err := os.WriteFile(filepath.Join(dir, witness.FileName), file, 0o644); err != nil {
				t.Fatal(err)
			}
			r := ledgerctl(t, w.addr, "journal", "verify", "--witness", dir)
			if r.code != ctl.ExitFailure {
				t.Fatalf("exit %d, want %d\n%s", r.code, ctl.ExitFailure, r.stdout)
			}
			mustContain(t, r.stdout, fmt.Sprintf(`the witness's checkpoint at line %d: `, notes[1].Line))
			want := map[string]string{"ChangedSignature": "is not valid: forged", "OtherKey": "not signed by key ledger.local/journal"}[name]
			mustContain(t, r.stdout, want)
		})
	}
}

// mustParseText reads a checkpoint's text back into its fields, through a
// throwaway signature (SignCheckpoint takes the fields, not the text).
func mustParseText(t *testing.T, text []byte) ledger.SignedCheckpoint {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(string(text), "\n"), "\n")
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	at, err := time.Parse("2006-01-02T15:04:05.000000Z", strings.TrimPrefix(lines[4], "time "))
	if err != nil {
		t.Fatal(err)
	}
	return ledger.SignedCheckpoint{Size: size, Root: mustB64(t, lines[2]), ChainHead: mustB64(t, strings.TrimPrefix(lines[3], "chain-head ")), Time: at}
}

func mustB64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
