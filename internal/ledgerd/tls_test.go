package ledgerd_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/corebanking/ledger/internal/devcert"
	"github.com/corebanking/ledger/internal/journalkey"
	"github.com/corebanking/ledger/internal/ledgerd"
	"github.com/corebanking/ledger/internal/pgtest"
)

func run(t *testing.T, cfg ledgerd.Config) (*ledgerd.Main, error) {
	t.Helper()
	cfg.DatabaseURL, cfg.AdminListen = pgtest.NewDatabase(t), "-"
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	m, err := ledgerd.Run(context.Background(), cfg)
	if err == nil {
		t.Cleanup(func() { m.Close() })
	}
	return m, err
}

func TestTransport(t *testing.T) {
	t.Run("DevelopmentCertificatesBesideDataDir", func(t *testing.T) {
		data := filepath.Join(t.TempDir(), "ledger-data")
		if _, err := run(t, ledgerd.Config{DataDir: data}); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"ca.crt", "ca.key", "server.crt", "server.key", "channel.crt", "teller.key", "auditor.crt", "operator.key",
			"journal.key", "journal.key.pub"} {
			if _, err := os.Stat(filepath.Join(data+"-tls", f)); err != nil {
				t.Error(err)
			}
		}
	})
	t.Run("ProductionFiles", func(t *testing.T) {
		dir := t.TempDir()
		if err := devcert.Ensure(dir, "bank.example", nil); err != nil {
			t.Fatal(err)
		}
		cfg := ledgerd.Config{TLSCert: filepath.Join(dir, "server.crt"), TLSKey: filepath.Join(dir, "server.key"),
			TLSClientCA: filepath.Join(dir, "ca.crt"), TrustDomain: "bank.example", DataDir: filepath.Join(t.TempDir(), "d")}
		if _, err := run(t, cfg); err == nil || !strings.Contains(err.Error(), "--journal-key") {
			t.Fatalf("production certificates without a journal key: %v, want a refusal", err)
		}
		cfg.JournalKey = filepath.Join(t.TempDir(), "journal.key")
		if _, err := journalkey.Generate(cfg.JournalKey, "bank.example/journal"); err != nil {
			t.Fatal(err)
		}
		if _, err := run(t, cfg); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(ledgerd.DefaultTLSDir(cfg.DataDir)); !os.IsNotExist(err) {
			t.Errorf("production mode made development certificates: %v", err)
		}
	})
	for _, tt := range []struct {
		name string
		cfg  ledgerd.Config
		want string
	}{
		{"ErrPlaintextWithFiles", ledgerd.Config{Plaintext: true, TLSCert: "server.crt"}, "exclude each other"},
		{"ErrIncompleteFiles", ledgerd.Config{TLSCert: "server.crt", TrustDomain: "bank.example"}, "needs all of"},
		{"ErrNoTrustDomain", ledgerd.Config{TLSCert: "a", TLSKey: "b", TLSClientCA: "c"}, "trust domain"},
		{"ErrBadTrustDomain", ledgerd.Config{TrustDomain: "Bank Example"}, "invalid trust domain"},
		{"ErrPlaintextOffLoopback", ledgerd.Config{Plaintext: true, Listen: "0.0.0.0:0"}, "plaintext is refused"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.cfg.DataDir == "" {
				tt.cfg.DataDir = filepath.Join(t.TempDir(), "d")
			}
			_, err := run(t, tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one saying %q", err, tt.want)
			}
		})
	}
}
