// Command ledger-soak runs several ledgerd on one PostgreSQL under a
// reconciling bank workload while a seeded nemesis injects faults, then
// checks that every answer the ledger gave holds in its books. It exits 1
// on any violation, 2 if it could not run.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/corebanking/ledger/internal/soak"
)

func main() {
	var cfg soak.Config
	flag.DurationVar(&cfg.Duration, "duration", time.Minute, "how long the workload runs under faults")
	flag.Uint64Var(&cfg.Seed, "seed", 0, "seed of the workload and the faults; 0 picks one (the report names it, to replay a run)")
	flag.IntVar(&cfg.Instances, "instances", 3, "ledgerd processes")
	flag.IntVar(&cfg.Workers, "workers", 8, "concurrent clients")
	flag.IntVar(&cfg.Accounts, "accounts", 48, "customers")
	flag.DurationVar(&cfg.FaultEvery, "fault-every", 1500*time.Millisecond, "mean pause between one fault healed and the next")
	faults := flag.String("faults", "", "comma-separated fault kinds ("+strings.Join(soak.FaultKinds, ", ")+"); every kind by default")
	flag.BoolVar(&cfg.NoFaults, "no-faults", false, "run the workload without faults, as a control")
	flag.StringVar(&cfg.DatabaseURL, "database-url", "", "PostgreSQL or CockroachDB to use, over TCP, holding no ledger yet; empty starts one of the soak's own (needed for the database's crash and freeze)")
	flag.StringVar(&cfg.Ledgerd, "ledgerd", "", "ledgerd binary; empty builds cmd/ledgerd from this module")
	flag.StringVar(&cfg.BuildTags, "tags", "", "build tags for that build (soakbug builds a ledger that acknowledges some transfers it never commits)")
	flag.StringVar(&cfg.Dir, "dir", "", "directory for the database, the binary and the logs; a new one under /tmp by default")
	flag.BoolVar(&cfg.Keep, "keep", false, "keep the directory after a passing run (a failing run always keeps it)")
	jsonPath := flag.String("json", "", "also write the report as JSON to this file")
	quiet := flag.Bool("quiet", false, "no progress lines, only the report")
	flag.Parse()
	if *faults != "" {
		cfg.Faults = strings.Split(*faults, ",")
	}
	if !*quiet {
		logger := log.New(os.Stderr, "ledger-soak: ", log.Ltime|log.Lmicroseconds)
		cfg.Logf = logger.Printf
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	s := soak.New(cfg)
	report, err := s.Run(ctx)
	failed := err != nil || !report.Passed
	if cerr := s.Close(failed); cerr != nil && err == nil {
		fmt.Fprintln(os.Stderr, "ledger-soak: cleaning up:", cerr)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ledger-soak:", err)
		os.Exit(2)
	}
	report.WriteText(os.Stdout)
	if *jsonPath != "" {
		b, _ := json.MarshalIndent(report, "", "  ")
		if err := os.WriteFile(*jsonPath, append(b, '\n'), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "ledger-soak:", err)
			os.Exit(2)
		}
	}
	if !report.Passed {
		os.Exit(1)
	}
}
