// Command ledger-bench measures the ledger's transfers/s and latency through
// gRPC, and pgbench's transfers/s on the same PostgreSQL in the same run.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/corebanking/ledger/internal/bench"
)

func main() {
	var cfg bench.Config
	flag.DurationVar(&cfg.Duration, "duration", 20*time.Second, "length of each ledger and each pgbench phase")
	flag.IntVar(&cfg.Clients, "clients", 32, "concurrent clients (and pgbench -c)")
	flag.IntVar(&cfg.Accounts, "accounts", 10000, "customer accounts to transfer between")
	flag.IntVar(&cfg.Runs, "runs", 3, "ledger+pgbench runs; the report shows each and the median")
	flag.StringVar(&cfg.DatabaseURL, "database-url", "", "existing database for the ledger; empty starts a throwaway PostgreSQL")
	flag.StringVar(&cfg.PgbenchURL, "pgbench-url", "", "database for pgbench (its tables are dropped and recreated); needed with --database-url, else pgbench is skipped")
	flag.StringVar(&cfg.PgbenchScript, "pgbench-script", "../shared/bench/pgbench-transfer.sql", "pgbench transfer script")
	flag.StringVar(&cfg.JSONPath, "json", "", "also write the report as JSON to this file (\"-\": JSON only, to standard output)")
	flag.StringVar(&cfg.CPUProfile, "cpuprofile", "", "write a CPU profile of ledgerd and the load generator to this file")
	flag.StringVar(&cfg.AllocProfile, "allocprofile", "", "write what ledgerd and the load generator allocated, from start to the end of the runs, to this file")
	flag.IntVar(&cfg.MoveBatch, "move-batch", 0, "most transfers one ledger transaction carries (group commit); 0: the store's default, 1: batching off")
	flag.IntVar(&cfg.MoveLanes, "move-lanes", 0, "most such transactions at once; 0: the store's default")
	flag.IntVar(&cfg.Batch, "batch", 0, "also run a phase of SubmitBatch calls of this many transfers each; 0: none")
	flag.Func("limit", "override one of ledgerd's compartment limits, COMPARTMENT.FIELD=VALUE as ledgerd --limit (repeatable)", func(v string) error {
		cfg.Limits = append(cfg.Limits, v)
		return nil
	})
	sealer := flag.String("sealer", "on", "on: ledgerd seals the journal as it runs; off: no sealer, to measure its cost; paired: each run measures transfers with the sealer on and paused, on one server; windows: each run's transfers alternate the sealer on and paused in windows of --sealer-window")
	flag.DurationVar(&cfg.SealerWindow, "sealer-window", 3*time.Second, "with --sealer windows, the length of each window")
	flag.DurationVar(&cfg.SealerInterval, "sealer-interval", 0, "the sealer's pause between polls once caught up; 0: ledgerd's default")
	sql := flag.String("sql", "on", "on: each run also has pgbench run the ledger's own transfer statement (throwaway server only); off: skip it")
	flag.Parse()
	for _, f := range []struct {
		name, value string
		allowed     []string
	}{{"sealer", *sealer, []string{"on", "off", "paired", "windows"}}, {"sql", *sql, []string{"on", "off"}}} {
		if !slices.Contains(f.allowed, f.value) {
			fmt.Fprintf(os.Stderr, "ledger-bench: --%s must be one of %s, not %q\n", f.name, strings.Join(f.allowed, ", "), f.value)
			os.Exit(2)
		}
	}
	cfg.SealerOff, cfg.SealerPaired, cfg.SQLOff = *sealer == "off", *sealer == "paired", *sql == "off"
	if *sealer != "windows" {
		cfg.SealerWindow = 0
	}
	cfg.Command = append([]string{filepath.Base(os.Args[0])}, os.Args[1:]...)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	b := bench.New(cfg)
	err := errors.Join(b.Run(ctx), b.Close())
	if err != nil {
		fmt.Fprintln(os.Stderr, "ledger-bench:", err)
		os.Exit(1)
	}
}
