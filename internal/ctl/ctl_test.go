package ctl_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/corebanking/ledger/internal/ctl"
	"github.com/corebanking/ledger/internal/devcert"
	"github.com/corebanking/ledger/internal/identity"
	"github.com/corebanking/ledger/internal/ledgerd"
	"github.com/corebanking/ledger/internal/pgtest"
	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// tlsDirs maps each test server's address to the directory of its
// development certificates, which ledgerctl then presents.
var tlsDirs sync.Map

// MustStartServer runs the real ledger server on port 0 against a fresh
// database, with mutual TLS and development certificates as `make run`
// has, and returns its gRPC address; it stops when the test ends.
func MustStartServer(tb testing.TB) string {
	tb.Helper()
	addr, _ := MustStartServerDB(tb)
	return addr
}

// MustStartServerDB is MustStartServer that also returns the database's
// superuser URL, for tests that reach behind the server's back.
func MustStartServerDB(tb testing.TB) (addr, url string) {
	tb.Helper()
	return mustStartServerWith(tb, nil)
}

// mustStartServerWith is MustStartServerDB with the configuration changed
// by tweak, if not nil.
func mustStartServerWith(tb testing.TB, tweak func(*ledgerd.Config)) (addr, url string) {
	tb.Helper()
	url = pgtest.NewDatabase(tb)
	dir := filepath.Join(tb.TempDir(), "tls")
	cfg := ledgerd.Config{
		DatabaseURL: url, Listen: "127.0.0.1:0", AdminListen: "-", TLSDir: dir,
		Logger: slog.New(slog.NewTextHandler(tb.Output(), nil)),
		Sealer: ledgerd.SealerConfig{Interval: 10 * time.Millisecond},
	}
	if tweak != nil {
		tweak(&cfg)
	}
	m, err := ledgerd.Run(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("ledgerd.Run: %v", err)
	}
	tb.Cleanup(func() {
		if err := m.Close(); err != nil {
			tb.Errorf("ledgerd Close: %v", err)
		}
	})
	tlsDirs.Store(m.Server.Addr(), dir)
	return m.Server.Addr(), url
}

// tlsDirOf returns the certificates of the server at addr, or, for an
// address no test server has, development certificates of their own.
func tlsDirOf(tb testing.TB, addr string) string {
	tb.Helper()
	if dir, ok := tlsDirs.Load(addr); ok {
		return dir.(string)
	}
	dir := tb.TempDir()
	if err := devcert.Ensure(dir, identity.DefaultTrustDomain, nil); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// result is what one run of ledgerctl printed and returned.
type result struct {
	stdout, stderr string
	code           int
}

// ledgerctl runs the program in-process against addr, with the
// certificates of the server there.
func ledgerctl(tb testing.TB, addr string, args ...string) result {
	tb.Helper()
	var out, errOut bytes.Buffer
	code := ctl.Main(context.Background(), append([]string{"--server", addr, "--tls-dir", tlsDirOf(tb, addr)}, args...), &out, &errOut)
	return result{out.String(), errOut.String(), code}
}

// mustRun runs ledgerctl and fails the test unless it succeeds.
func mustRun(tb testing.TB, addr string, args ...string) string {
	tb.Helper()
	r := ledgerctl(tb, addr, args...)
	if r.code != ctl.ExitOK {
		tb.Fatalf("ledgerctl %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// mustContain fails unless s matches every pattern (regular expressions).
func mustContain(tb testing.TB, s string, patterns ...string) {
	tb.Helper()
	for _, p := range patterns {
		if !regexp.MustCompile(p).MatchString(s) {
			tb.Errorf("output does not match %q:\n%s", p, s)
		}
	}
}

func mustBalance(tb testing.TB, addr, account, posted, held, available string) {
	tb.Helper()
	mustContain(tb, mustRun(tb, addr, "balance", account),
		`balance of `+account, `posted\s+`+posted+` KRW\n`, `held\s+`+held+` KRW\n`, `available\s+`+available+` KRW\n`)
}

// TestWalkthrough runs a teller's day against a real server: each step
// builds on the ones before.
func TestWalkthrough(t *testing.T) {
	addr := MustStartServer(t)

	t.Run("OpenAccounts", func(t *testing.T) {
		out := mustRun(t, addr, "account", "open", "--customer", "C-1", "--currency", "KRW", "--id", "A-1")
		mustContain(t, out, `^account opened: A-1 \(request [0-9a-f-]{36}\)\n`, `customer\s+C-1`, `currency\s+KRW`, `kind\s+customer`, `status\s+active`)
		mustRun(t, addr, "account", "open", "--customer", "C-2", "--currency", "krw", "--id", "B-1")
		mustContain(t, mustRun(t, addr, "account", "show", "B-1"), `^account B-1\n`, `customer\s+C-2`, `currency\s+KRW`)
	})
	t.Run("Deposit", func(t *testing.T) {
		out := mustRun(t, addr, "deposit", "A-1", "50000", "KRW", "--memo", "cash in", "--request-id", "dep-1")
		mustContain(t, out, `^deposit posted: entry \S+ \(request dep-1\)\n`, `A-1\s+\+50000 KRW\n`, `sys:vault:KRW\s+-50000 KRW\n`)
		if replay := mustRun(t, addr, "deposit", "A-1", "50000", "KRW", "--memo", "cash in", "--request-id", "dep-1"); replay != out {
			t.Errorf("replay printed\n%s\nwant the first result\n%s", replay, out)
		}
	})
	t.Run("Transfer", func(t *testing.T) {
		out := mustRun(t, addr, "transfer", "A-1", "B-1", "20000", "KRW", "--memo", "rent")
		mustContain(t, out, `^transfer posted: entry \S+ \(request \S+\)\n`, `A-1\s+-20000 KRW\n`, `B-1\s+\+20000 KRW\n`)
	})
	t.Run("Balance", func(t *testing.T) {
		mustBalance(t, addr, "A-1", "30000", "0", "30000")
		mustBalance(t, addr, "B-1", "20000", "0", "20000")
	})
	t.Run("Statement", func(t *testing.T) {
		out := mustRun(t, addr, "statement", "A-1")
		mustContain(t, out, `statement of A-1 \(KRW\)`, `TIME\s+KIND\s+AMOUNT\s+BALANCE AFTER\s+MEMO`,
			`(?s)transfer\s+-20000 KRW\s+30000 KRW\s+rent\n.*deposit\s+\+50000 KRW\s+50000 KRW\s+cash in\n`)
		if strings.Contains(out, "next page") {
			t.Errorf("one page printed a next page token:\n%s", out)
		}

		first := mustRun(t, addr, "statement", "A-1", "--page-size", "1")
		m := regexp.MustCompile(`next page: --page-token (\S+)`).FindStringSubmatch(first)
		if m == nil || strings.Contains(first, "deposit") {
			t.Fatalf("page 1 of 1 line:\n%s", first)
		}
		mustContain(t, mustRun(t, addr, "statement", "A-1", "--page-size", "1", "--page-token", m[1]), `deposit\s+\+50000 KRW`)
		mustContain(t, mustRun(t, addr, "statement", "A-1", "--page-size", "1", "--all"), `(?s)transfer.*deposit`)
	})
	t.Run("HoldPlaceCapture", func(t *testing.T) {
		out := mustRun(t, addr, "hold", "place", "A-1", "10000", "KRW", "--ttl", "1h")
		mustContain(t, out, `amount\s+10000 KRW`, `status\s+active`)
		holdID := regexp.MustCompile(`^hold placed: (\S+) `).FindStringSubmatch(out)[1]
		mustBalance(t, addr, "A-1", "30000", "10000", "20000")

		out = mustRun(t, addr, "hold", "capture", holdID, "6000")
		mustContain(t, out, `^hold captured: 6000 KRW of 10000 KRW, entry \S+ \(request \S+\)\n`, `A-1\s+-6000 KRW\n`)
		mustBalance(t, addr, "A-1", "24000", "0", "24000")
	})
	t.Run("HoldVoid", func(t *testing.T) {
		out := mustRun(t, addr, "hold", "place", "A-1", "5000", "KRW")
		holdID := regexp.MustCompile(`^hold placed: (\S+) `).FindStringSubmatch(out)[1]
		mustContain(t, mustRun(t, addr, "hold", "void", holdID), `^hold voided: `+holdID+`, 5000 KRW released`)
		mustBalance(t, addr, "A-1", "24000", "0", "24000")
	})
	t.Run("ErrInsufficientFunds", func(t *testing.T) {
		r := ledgerctl(t, addr, "transfer", "A-1", "B-1", "999999", "KRW", "--request-id", "big-1")
		if r.code != ctl.ExitFailure || r.stdout != "" {
			t.Fatalf("exit %d, stdout %q; want %d and nothing", r.code, r.stdout, ctl.ExitFailure)
		}
		mustContain(t, r.stderr, `^error: Your available balance is not enough for this payment\. \(INSUFFICIENT_FUNDS\)\n`,
			`request big-1\n`, `call [0-9a-f-]{36}\n`)

		r = ledgerctl(t, addr, "--lang", "ko", "transfer", "A-1", "B-1", "999999", "KRW")
		mustContain(t, r.stderr, `^error: 출금 가능 잔액이 부족합니다\. \(INSUFFICIENT_FUNDS\)\n`)
		mustBalance(t, addr, "A-1", "24000", "0", "24000")
	})
	t.Run("ErrInvalidArgument", func(t *testing.T) {
		r := ledgerctl(t, addr, "deposit", "A-1", "-5", "XYZ")
		if r.code != ctl.ExitFailure {
			t.Fatalf("exit %d, want %d; stderr:\n%s", r.code, ctl.ExitFailure, r.stderr)
		}
		mustContain(t, r.stderr, `\(INVALID_ARGUMENT\)\n`, `\n  amount: must be between 1 and`, `\n  currency: must be`)
	})
	t.Run("ErrAccountNotFound", func(t *testing.T) {
		r := ledgerctl(t, addr, "balance", "NOPE")
		if r.code != ctl.ExitFailure {
			t.Fatalf("exit %d, want %d", r.code, ctl.ExitFailure)
		}
		mustContain(t, r.stderr, `\(ACCOUNT_NOT_FOUND\)`)
	})
	t.Run("ErrUsage", func(t *testing.T) {
		r := ledgerctl(t, addr, "transfer", "A-1", "B-1", "20000")
		if r.code != ctl.ExitUsage || r.stdout != "" {
			t.Fatalf("exit %d, stdout %q; want %d and nothing", r.code, r.stdout, ctl.ExitUsage)
		}
		mustContain(t, r.stderr, `^error: transfer takes 4 arguments, got 3\n`, `usage: ledgerctl transfer FROM_ACCOUNT_ID`)
		mustBalance(t, addr, "A-1", "24000", "0", "24000")
	})
	t.Run("JSON", func(t *testing.T) {
		var bal ledgerv1.GetBalanceResponse
		mustUnmarshal(t, mustRun(t, addr, "--json", "balance", "A-1"), &bal)
		if b := bal.GetBalance(); b.GetPosted() != 24000 || b.GetHeld() != 0 || b.GetAvailable() != 24000 || b.GetCurrency() != "KRW" {
			t.Errorf("balance = %v", b)
		}
		var raw map[string]map[string]any
		if err := json.Unmarshal([]byte(mustRun(t, addr, "balance", "A-1", "--json")), &raw); err != nil {
			t.Fatal(err)
		}
		if got := raw["balance"]["held"]; got != "0" {
			t.Errorf(`balance.held = %#v, want "0" (zero fields are printed)`, got)
		}

		var dep ledgerv1.DepositResponse
		mustUnmarshal(t, mustRun(t, addr, "deposit", "B-1", "700", "KRW", "--json"), &dep)
		if e := dep.GetEntry(); e.GetKind() != ledgerv1.EntryKind_ENTRY_KIND_DEPOSIT || len(e.GetPostings()) != 2 || e.GetRequestId() == "" {
			t.Errorf("entry = %v", e)
		}

		var st ledgerv1.ListEntriesResponse
		mustUnmarshal(t, mustRun(t, addr, "statement", "A-1", "--page-size", "1", "--all", "--json"), &st)
		if len(st.GetLines()) != 3 || st.GetNextPageToken() != "" {
			t.Errorf("statement --all = %v, want 3 lines and no token", &st)
		}
	})
	t.Run("JSONError", func(t *testing.T) {
		r := ledgerctl(t, addr, "--json", "transfer", "A-1", "B-1", "999999", "KRW")
		if r.code != ctl.ExitFailure || r.stdout != "" {
			t.Fatalf("exit %d, stdout %q", r.code, r.stdout)
		}
		var st struct {
			Code    int
			Details []struct{ Reason string }
		}
		if err := json.Unmarshal([]byte(r.stderr), &st); err != nil {
			t.Fatalf("stderr is not JSON: %v\n%s", err, r.stderr)
		}
		if st.Code != 9 || len(st.Details) == 0 || st.Details[0].Reason != "INSUFFICIENT_FUNDS" {
			t.Errorf("status = %+v, want FAILED_PRECONDITION with ErrorInfo INSUFFICIENT_FUNDS", st)
		}
	})
}

// mustUnmarshal parses one line of --json output into m.
func mustUnmarshal(tb testing.TB, s string, m proto.Message) {
	tb.Helper()
	if strings.Count(s, "\n") != 1 {
		tb.Errorf("--json printed %d lines, want one object on one line:\n%s", strings.Count(s, "\n"), s)
	}
	if err := protojson.Unmarshal([]byte(s), m); err != nil {
		tb.Fatalf("--json output does not parse as %T: %v\n%s", m, err, s)
	}
}
