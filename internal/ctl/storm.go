package ctl

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/corebanking/ledger/internal/storm"
)

// stormCmd replays a promotion stampede and reports what it did to
// routine traffic, with bulkheads on and off.
func stormCmd(c *cli, fs *flag.FlagSet) func(context.Context, []string) error {
	cfg := storm.Defaults()
	out := fs.String("out", "storm-report", "`directory` for storm.html and storm.json")
	bulkheads := fs.String("bulkheads", "both", "in-process runs: `both|on|off`")
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
	fs.DurationVar(&cfg.PromoDBDelay, "promo-db-delay", cfg.PromoDBDelay,
		"during the storm, hold each Subscribe transaction open this long: a slow promo database (in-process runs; 0 for none)")
	fs.Func("limit", "override one compartment limit, COMPARTMENT.FIELD=VALUE, as ledgerd --limit (repeatable)", func(v string) error {
		cfg.Limits = append(cfg.Limits, v)
		return nil
	})
	return func(ctx context.Context, _ []string) error {
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
