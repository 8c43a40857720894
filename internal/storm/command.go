package storm

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"google.golang.org/grpc"

	"github.com/corebanking/ledger/internal/clienttls"
	"github.com/corebanking/ledger/internal/identity"
)

// Exit codes of Main.
const (
	ExitOK      = 0
	ExitFailure = 1 // the storm did not run to its end
	ExitUsage   = 2 // the command line or local setup was wrong
)

// Main runs ledger-storm with args (without the program name): it storms
// the ledger as its flags say, writes the report's files, prints the
// report's table (or JSON) to stdout and its progress to stderr, and
// returns the exit code. cmd/ledger-storm only calls Main, so tests run
// the real program.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ledger-storm", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors and help are printed below
	f := registerFlags(fs)
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		printHelp(stdout, fs)
		return ExitOK
	case err == nil && fs.NArg() > 0:
		err = fmt.Errorf("ledger-storm takes no arguments, got %q", fs.Args())
	}
	var cfg Config
	if err == nil {
		cfg, err = f.config(fs, stderr)
	}
	if err != nil {
		fmt.Fprintf(stderr, "ledger-storm: %v\nrun 'ledger-storm -h' for its flags\n", err)
		return ExitUsage
	}
	if err := f.run(ctx, cfg, stdout); err != nil {
		fmt.Fprintf(stderr, "ledger-storm: %v\n", err)
		if errors.As(err, new(*setupError)) {
			return ExitUsage
		}
		return ExitFailure
	}
	return ExitOK
}

// flags are ledger-storm's command line, beside the Config fields it sets
// directly.
type flags struct {
	cfg       Config
	out       string
	bulkheads string
	outside   bool
	ledgerd   string
	server    string
	json      bool
	tls       clienttls.Flags
}

// registerFlags defines ledger-storm's flags on fs.
func registerFlags(fs *flag.FlagSet) *flags {
	f := &flags{cfg: Defaults(), tls: clienttls.FromEnv()}
	cfg := &f.cfg
	fs.StringVar(&f.out, "out", "storm-report", "`directory` for storm.html and storm.json")
	fs.StringVar(&f.bulkheads, "bulkheads", "both", "runs that start their ledgerd: `both|on|off`")
	fs.BoolVar(&f.outside, "outside", false, "measure from outside: start --ledgerd as its own process for each run, the promo doing "+
		"real database work, and a control flood of the promo's rate at the health service in the baseline (the defaults of the "+
		"flags below change to that storm's: 20s control and 20s flood alternating in 4 slices each, 5s recovery, 64 promo connections, "+
		"a quota that never sells out)")
	fs.StringVar(&f.ledgerd, "ledgerd", "", "with --outside, the ledgerd `binary` to start; by default ledgerd beside this program, else on PATH")
	fs.StringVar(&f.server, "server", "", "storm the running ledger at this gRPC `address` once, with --plaintext or the --tls-* flags, instead of starting ledgerd")
	fs.BoolVar(&f.json, "json", false, "print the report as JSON instead of its table")
	f.tls.Register(fs)
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
	return f
}

// config returns the storm the parsed flags ask for, its progress
// reported to stderr.
func (f *flags) config(fs *flag.FlagSet, stderr io.Writer) (Config, error) {
	if f.outside {
		if err := outsideDefaults(fs, &f.cfg); err != nil {
			return Config{}, err
		}
		bin, err := findLedgerd(f.ledgerd)
		if err != nil {
			return Config{}, err
		}
		f.cfg.Ledgerd = bin
	}
	cfg := f.cfg
	switch f.bulkheads {
	case "both":
		cfg.Modes = []bool{true, false}
	case "on", "off":
		cfg.Modes = []bool{f.bulkheads == "on"}
	default:
		return Config{}, fmt.Errorf("--bulkheads must be both, on or off, not %q", f.bulkheads)
	}
	if f.server != "" {
		cfg.Server, cfg.Transport = f.server, f.transport
		if !flagGiven(fs, "promo-db-delay") {
			cfg.PromoDBDelay = 0 // a running server's database is what it is
		}
	}
	cfg.Logf = func(format string, args ...any) {
		fmt.Fprintf(stderr, "%s storm: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
	}
	return cfg, nil
}

// run storms, writes the report's files and prints the report.
func (f *flags) run(ctx context.Context, cfg Config, stdout io.Writer) error {
	rep, err := Run(ctx, cfg)
	if err != nil {
		return err
	}
	if err := rep.WriteFiles(f.out); err != nil {
		return err
	}
	if f.json {
		return rep.WriteJSON(stdout)
	}
	rep.WriteTable(stdout)
	fmt.Fprintf(stdout, "\nreport: %s\n", filepath.Join(f.out, "storm.html"))
	return nil
}

// setupError is a problem on this machine, such as a missing certificate,
// met while connecting: nothing was sent.
type setupError struct{ err error }

func (e *setupError) Error() string { return e.err.Error() }

// transport returns role's credentials for --server.
func (f *flags) transport(role identity.Role) (grpc.DialOption, error) {
	opt, err := f.tls.DialOption(role)
	if err != nil {
		return nil, &setupError{err}
	}
	return opt, nil
}

// outsideDefaults replaces cfg by OutsideDefaults, keeping every flag
// that was typed.
func outsideDefaults(fs *flag.FlagSet, cfg *Config) error {
	typed := map[string]string{}
	fs.Visit(func(f *flag.Flag) { typed[f.Name] = f.Value.String() })
	limits := cfg.Limits
	*cfg = OutsideDefaults()
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
		return "", errors.New("--outside needs a ledgerd binary: build one (go build ./cmd/ledgerd) and pass --ledgerd")
	}
	return path, nil
}

// flagGiven reports whether the flag name was typed.
func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}

func printHelp(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprint(w, `usage: ledger-storm [flags]

ledger-storm floods the promo with subscriptions and measures routine
traffic, bulkheads on and off (docs/bulkheads.md). By default each run
starts its own ledgerd in this process on a fresh database of a PostgreSQL
of its own; --outside starts ledgerd as a process of its own; --server
storms a running ledger once. It writes storm.html, storm.json and
storm.svg to --out and prints the report's table.

Exit status: 0 done, 1 the storm did not run to its end, 2 bad usage or
local setup.

flags:
`)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}
