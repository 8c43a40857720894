// Command ledgerd is the core-banking ledger server.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/corebanking/ledger/internal/ledgerd"
)

func main() {
	cfg, err := configFromFlags()
	if err != nil {
		fmt.Fprintln(os.Stderr, "ledgerd:", err)
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	m, err := ledgerd.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ledgerd:", err)
		os.Exit(1)
	}
	select {
	case <-ctx.Done():
		cfg.Logger.Info("shutting down")
	case err := <-m.Fatal():
		cfg.Logger.Error("stopping", "error", err)
		m.Close()
		fmt.Fprintln(os.Stderr, "ledgerd:", err)
		os.Exit(1)
	}
	if err := m.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "ledgerd:", err)
		os.Exit(1)
	}
}

// configFromFlags is the server the command line and the environment ask
// for; an error is a mistake in them.
func configFromFlags() (ledgerd.Config, error) {
	var cfg ledgerd.Config
	flag.StringVar(&cfg.Listen, "listen", env("LEDGER_LISTEN", "127.0.0.1:7070"), "gRPC address (LEDGER_LISTEN)")
	flag.StringVar(&cfg.AdminListen, "admin-listen", env("LEDGER_ADMIN_LISTEN", "127.0.0.1:7071"), "HTTP address for /metrics, /livez, /readyz and /healthz, with no authentication; a loopback address unless --admin-public (LEDGER_ADMIN_LISTEN)")
	flag.BoolVar(&cfg.AdminPublic, "admin-public", env("LEDGER_ADMIN_PUBLIC", "") == "true", "allow --admin-listen on an address other machines can reach: its metrics name compartments, methods and load (LEDGER_ADMIN_PUBLIC=true)")
	flag.StringVar(&cfg.DataDir, "data-dir", env("LEDGER_DATA_DIR", "ledger-data"), "directory of the embedded PostgreSQL (LEDGER_DATA_DIR)")
	flag.StringVar(&cfg.DatabaseURL, "database-url", env("LEDGER_DATABASE_URL", ""), "CockroachDB or PostgreSQL URL; empty starts the embedded PostgreSQL (LEDGER_DATABASE_URL)")
	flag.BoolVar(&cfg.Plaintext, "plaintext", env("LEDGER_PLAINTEXT", "") == "true", "serve without TLS, every caller with every role: development and peer tools only, refused unless --listen is loopback (LEDGER_PLAINTEXT=true)")
	flag.StringVar(&cfg.TLSCert, "tls-cert", env("LEDGER_TLS_CERT", ""), "PEM `file` of the server certificate (LEDGER_TLS_CERT); empty makes development certificates in --tls-dir")
	flag.StringVar(&cfg.TLSKey, "tls-key", env("LEDGER_TLS_KEY", ""), "PEM `file` of the server certificate's key (LEDGER_TLS_KEY)")
	flag.StringVar(&cfg.TLSClientCA, "tls-client-ca", env("LEDGER_TLS_CLIENT_CA", ""), "PEM `file` of the CAs that sign client certificates (LEDGER_TLS_CLIENT_CA)")
	flag.StringVar(&cfg.TLSDir, "tls-dir", env("LEDGER_TLS_DIR", ""), "`directory` of the development CA and certificates (LEDGER_TLS_DIR); <data-dir>-tls by default")
	flag.StringVar(&cfg.TrustDomain, "trust-domain", env("LEDGER_TRUST_DOMAIN", ""), "trust `domain` of the callers' spiffe://DOMAIN/ROLE/NAME IDs (LEDGER_TRUST_DOMAIN); required with --tls-cert, ledger.local for development")
	configFile := flag.String("config", env("LEDGER_CONFIG", ""), "YAML file of compartment limits and the method map (LEDGER_CONFIG); built-in defaults otherwise")
	bulkheads := flag.String("bulkheads", env("LEDGER_BULKHEADS", "on"), "on: a compartment per traffic class; off: one shared compartment and pool, only to measure the difference (LEDGER_BULKHEADS)")
	payer := flag.String("payer", env("LEDGER_PAYER", "on"), "on: pay matured promo subscriptions here (one payer per database is active, by lease); off: not in this process (LEDGER_PAYER)")
	sealer := flag.String("sealer", env("LEDGER_SEALER", "on"), "on: seal the journal here (one sealer per database is active, by lease); off: not in this process (LEDGER_SEALER)")
	flag.DurationVar(&cfg.Sealer.Interval, "seal-interval", envDuration("LEDGER_SEAL_INTERVAL", 200*time.Millisecond), "pause between sealer polls once the journal is caught up (LEDGER_SEAL_INTERVAL)")
	flag.StringVar(&cfg.JournalKey, "journal-key", env("LEDGER_JOURNAL_KEY", ""), "private key `file` that signs the journal's checkpoints, from 'ledgerctl journal keygen' (LEDGER_JOURNAL_KEY); a development key in --tls-dir otherwise")
	flag.StringVar(&cfg.WitnessDir, "witness-dir", env("LEDGER_WITNESS_DIR", ""), "`directory` whose file 'checkpoints' gets every signed checkpoint, fsynced: ship it where the database's owners cannot rewrite it (LEDGER_WITNESS_DIR)")
	flag.DurationVar(&cfg.Sealer.CheckpointInterval, "checkpoint-interval", envDuration("LEDGER_CHECKPOINT_INTERVAL", 5*time.Second), "least time between two signed checkpoints while entries arrive, 1s to 1m (LEDGER_CHECKPOINT_INTERVAL)")
	flag.StringVar(&cfg.Tracing.Endpoint, "otlp-endpoint", env("LEDGER_OTLP_ENDPOINT", ""), "OTLP/gRPC collector (host:port, or http(s)://host:port) to send traces of every call and its statements to; empty: no tracing (LEDGER_OTLP_ENDPOINT)")
	flag.BoolVar(&cfg.Tracing.Insecure, "otlp-insecure", env("LEDGER_OTLP_INSECURE", "") == "true", "send traces to --otlp-endpoint without TLS: a collector on this host or in this pod (LEDGER_OTLP_INSECURE=true)")
	flag.Float64Var(&cfg.Tracing.SampleRatio, "trace-sample", envFloat("LEDGER_TRACE_SAMPLE", 1), "share of calls traced when the caller's trace context does not decide, 0 to 1 (LEDGER_TRACE_SAMPLE)")
	var limits []string
	flag.Func("limit", "override one limit, COMPARTMENT.FIELD=VALUE, e.g. promo.max_concurrent=2 (repeatable)", func(v string) error {
		limits = append(limits, v)
		return nil
	})
	flag.Parse()
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))

	iso, err := ledgerd.LoadIsolation(*configFile)
	for _, l := range limits {
		if err == nil {
			err = iso.Set(l)
		}
	}
	if err == nil && *bulkheads != "on" && *bulkheads != "off" {
		err = fmt.Errorf("--bulkheads must be on or off, not %q", *bulkheads)
	}
	if err == nil && *sealer != "on" && *sealer != "off" {
		err = fmt.Errorf("--sealer must be on or off, not %q", *sealer)
	}
	if err == nil && *payer != "on" && *payer != "off" {
		err = fmt.Errorf("--payer must be on or off, not %q", *payer)
	}
	if ci := cfg.Sealer.CheckpointInterval; err == nil && (ci < time.Second || ci > time.Minute) {
		err = fmt.Errorf("--checkpoint-interval must be between 1s and 1m, not %s", ci)
	}
	// Passwords never come from flags, which other users can read in ps.
	if dir := os.Getenv("LEDGER_DATABASE_SECRETS_DIR"); err == nil && dir != "" {
		cfg.RolePasswords, err = ledgerd.RolePasswordsFromDir(dir)
	}
	if err != nil {
		return cfg, err
	}
	cfg.Isolation, cfg.BulkheadsOff, cfg.Sealer.Off, cfg.Payer.Off = &iso, *bulkheads == "off", *sealer == "off", *payer == "off"
	return cfg, nil
}

// envDuration is env for a duration; a malformed value stops the program.
func envDuration(name string, def time.Duration) time.Duration {
	if v, ok := os.LookupEnv(name); ok {
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
		fmt.Fprintf(os.Stderr, "ledgerd: %s=%q is not a duration\n", name, v)
		os.Exit(2)
	}
	return def
}

// envFloat is env for a number; a malformed value stops the program.
func envFloat(name string, def float64) float64 {
	if v, ok := os.LookupEnv(name); ok {
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return f
		}
		fmt.Fprintf(os.Stderr, "ledgerd: %s=%q is not a number\n", name, v)
		os.Exit(2)
	}
	return def
}

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}
