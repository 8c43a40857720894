package ctl

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/corebanking/ledger/internal/storm"
)

// stormCmd replays a promotion stampede and reports what it did to
// routine traffic, with bulkheads on and off.
func stormCmd(c *cli, fs *flag.FlagSet) func(context.Context, []string) error {
	cfg := storm.Defaults()
	out := fs.String("out", "storm-report", "`directory` for storm.html and storm.json")
	bulkheads := fs.String("bulkheads", "both", "runs that start their ledgerd: `both|on|off`")
	outside := fs.Bool("outside", false, "measure from outside: start --ledgerd as its own process for each run, the promo doing "+
		"real database work, and a control flood of the promo's rate at the health service in the baseline (the defaults of the "+
		"flags below change to that storm's: 20s control and 20s flood alternating in 4 slices each, 5s recovery, 64 promo connections, "+
		"a quota that never sells out)")
	ledgerdBin := fs.String("ledgerd", "", "with --outside, the ledgerd `binary` to start; by default ledgerd beside this program, else on PATH")
	fs.DurationVar(&cfg.Baseline, "baseline", cfg.Baseline, "quiet phase before the flood")
	fs.DurationVar(&cfg.Storm, "storm", cfg.Storm, "length of the promo flood")
	fs.DurationVar(&cfg.Recovery, "recovery", cfg.Recovery, "quiet phase after the flood")
	fs.DurationVar(&cfg.Deadline, "deadline", cfg.Deadline, "deadline of each request, from its scheduled time")
	fs.IntVar(&cfg.Accounts, "accounts", cfg.Accounts, "customers, one funded account each")
	fs.Float64Var(&cfg.Rates.Transfer, "transfer-rate", cfg.Rates.Transfer, "routine transfers per second")
	fs.Float64Var(&cfg.Rates.Withdraw, "withdraw-rate", cfg.Rates.Withdraw, "routine ATM withdrawals per second")
	fs.Float64Var(&cfg.Rates.Hold, "hold-rate", cfg.Rates.Hold, "routine hold-then-capture withdrawals per second")
	fs.Float64Var(&cfg.Rates.Balance, "balance-rate", cfg.Rates.Balance, "teller balance reads per second")
	fs.Float64Var(&cfg.Rates.Flood, "promo-rate", cfg.Rates.Flood, "promo subscriptions per second during the storm")
	fs.Float64Var(&cfg.Rates.Trickle, "promo-trickle", cfg.Rates.Trickle, "promo subscriptions per second outside the storm")
	fs.IntVar(&cfg.PromoQuota, "promo-quota", cfg.PromoQuota, "subscriptions the promo sells before it is sold out")
	fs.IntVar(&cfg.PromoConns, "promo-conns", cfg.PromoConns, "gRPC connections of the promo flood (and the control flood)")
	fs.IntVar(&cfg.Slices, "slices", cfg.Slices, "with --outside, alternate the control flood and the promo flood in this many slices each")
	fs.DurationVar(&cfg.PromoDBDelay, "promo-db-delay", cfg.PromoDBDelay,
		"during the storm, hold each Subscribe transaction open this long: a slow promo database (in-process runs; 0 for none)")
	fs.Func("limit", "override one compartment limit, COMPARTMENT.FIELD=VALUE, as ledgerd --limit (repeatable)", func(v string) error {
		cfg.Limits = append(cfg.Limits, v)
		return nil
	})
	return func(ctx context.Context, _ []string) error {
		if *outside {
			if err := outsideDefaults(fs, &cfg); err != nil {
				return err
			}
			bin, err := findLedgerd(*ledgerdBin)
			if err != nil {
				return err
			}
			cfg.Ledgerd = bin
		}
		switch *bulkheads {
		case "both":
			cfg.Modes = []bool{true, false}
		case "on", "off":
			cfg.Modes = []bool{*bulkheads == "on"}
		default:
			return usagef(nil, "--bulkheads must be both, on or off, not %q", *bulkheads)
		}
		if serverGiven(fs, c.g.server) {
			cfg.Server, cfg.Transport = c.g.server, c.g.sec.dialOption
			if !flagGiven(fs, "promo-db-delay") {
				cfg.PromoDBDelay = 0 // a running server's database is what it is
			}
		}
		cfg.Logf = func(format string, args ...any) {
			fmt.Fprintf(c.stderr, "%s storm: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
		}
		rep, err := storm.Run(ctx, cfg)
		if err != nil {
			return err
		}
		if err := rep.WriteFiles(*out); err != nil {
			return err
		}
		if c.g.json {
			return rep.WriteJSON(c.stdout)
		}
		rep.WriteTable(c.stdout)
		fmt.Fprintf(c.stdout, "\nreport: %s\n", filepath.Join(*out, "storm.html"))
		return nil
	}
}

// outsideDefaults replaces cfg by storm.OutsideDefaults, keeping every
// flag that was typed.
func outsideDefaults(fs *flag.FlagSet, cfg *storm.Config) error {
	typed := map[string]string{}
	fs.Visit(func(f *flag.Flag) { typed[f.Name] = f.Value.String() })
	limits := cfg.Limits
	*cfg = storm.OutsideDefaults()
	cfg.Limits = limits
	for name, v := range typed {
		if name == "limit" {
			continue // kept above: a repeatable flag shows no value
		}
		if err := fs.Set(name, v); err != nil {
			return err
		}
	}
	return nil
}

// findLedgerd returns the ledgerd binary to start: bin if given, else
// ledgerd beside this program, else on PATH.
func findLedgerd(bin string) (string, error) {
	if bin != "" {
		return bin, nil
	}
	if self, err := os.Executable(); err == nil {
		beside := filepath.Join(filepath.Dir(self), "ledgerd")
		if _, err := os.Stat(beside); err == nil {
			return beside, nil
		}
	}
	path, err := exec.LookPath("ledgerd")
	if err != nil {
		return "", usagef(nil, "--outside needs a ledgerd binary: build one (go build ./cmd/ledgerd) and pass --ledgerd")
	}
	return path, nil
}

// serverGiven reports whether --server was typed: a storm goes to a
// running ledger only when asked by name, never because LEDGER_SERVER is
// set in the environment or by default.
func serverGiven(fs *flag.FlagSet, server string) bool {
	return flagGiven(fs, "server") || (server != DefaultServer && server != os.Getenv("LEDGER_SERVER"))
}

// flagGiven reports whether the flag name was typed.
func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}
