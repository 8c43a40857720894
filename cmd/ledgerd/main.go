// Command ledgerd is the core-banking ledger server.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/corebanking/ledger/internal/ledgerd"
)

func main() {
	var cfg ledgerd.Config
	flag.StringVar(&cfg.Listen, "listen", env("LEDGER_LISTEN", "127.0.0.1:7070"), "gRPC address (LEDGER_LISTEN)")
	flag.StringVar(&cfg.AdminListen, "admin-listen", env("LEDGER_ADMIN_LISTEN", "127.0.0.1:7071"), "HTTP address for /metrics and /healthz (LEDGER_ADMIN_LISTEN)")
	flag.StringVar(&cfg.DataDir, "data-dir", env("LEDGER_DATA_DIR", "ledger-data"), "directory of the embedded PostgreSQL (LEDGER_DATA_DIR)")
	flag.StringVar(&cfg.DatabaseURL, "database-url", env("LEDGER_DATABASE_URL", ""), "CockroachDB or PostgreSQL URL; empty starts the embedded PostgreSQL (LEDGER_DATABASE_URL)")
	flag.Parse()
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	m, err := ledgerd.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ledgerd:", err)
		os.Exit(1)
	}
	<-ctx.Done()
	cfg.Logger.Info("shutting down")
	if err := m.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "ledgerd:", err)
		os.Exit(1)
	}
}

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}
