// Package ctl is ledgerctl, the teller and operator command line of the
// ledger: one subcommand per ledger.v1 call, short human output by default
// and the protojson of the response with --json. cmd/ledgerctl only calls
// Main, so tests run the real program against a real server.
package ctl

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"google.golang.org/grpc"

	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

// Exit codes.
const (
	ExitOK      = 0
	ExitFailure = 1 // the server refused the call or could not be reached
	ExitUsage   = 2 // the command line or local setup was wrong; nothing was sent
)

// DefaultServer is the address used when neither --server nor LEDGER_SERVER is set.
const DefaultServer = "127.0.0.1:7070"

// defaultTimeout bounds each call unless --timeout says otherwise.
const defaultTimeout = 10 * time.Second

// Main runs ledgerctl with args (without the program name), writes to
// stdout and stderr, and returns the exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := &cli{stdout: stdout, stderr: stderr}
	return c.exit(c.run(ctx, args))
}

// globals are the flags every command accepts, before or after its name.
type globals struct {
	server  string
	json    bool
	timeout time.Duration
	lang    string
	sec     security
}

func (g *globals) register(fs *flag.FlagSet) {
	fs.StringVar(&g.server, "server", g.server, "ledger gRPC `address` (env LEDGER_SERVER)")
	fs.BoolVar(&g.json, "json", g.json, "print the response as protojson, one object; errors as a google.rpc.Status")
	fs.DurationVar(&g.timeout, "timeout", g.timeout, "deadline of each call")
	fs.StringVar(&g.lang, "lang", g.lang, "language of error messages: `en|ko`")
	g.sec.register(fs)
}

// cli is one run of the program.
type cli struct {
	stdout, stderr io.Writer
	g              globals
	conn           *grpc.ClientConn
	// requestID is the id a mutating command sent, reported with its error
	// so that a teller can replay it.
	requestID string
	// role is the role the command acts as, reported when it is refused.
	role string
}

func (c *cli) run(ctx context.Context, args []string) error {
	c.g = globals{server: DefaultServer, timeout: defaultTimeout, lang: "en", sec: securityFromEnv()}
	if v := os.Getenv("LEDGER_SERVER"); v != "" {
		c.g.server = v
	}
	top := newFlagSet("ledgerctl")
	c.g.register(top)
	if err := top.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printHelp(c.stdout)
			return nil
		}
		return usagef(nil, "%v", err)
	}
	args = top.Args()
	if len(args) == 0 {
		return usagef(nil, "no command given")
	}
	if args[0] == "help" {
		return c.help(args[1:])
	}
	cmd, args, err := lookup(args)
	if err != nil {
		return err
	}
	fs := newFlagSet(cmd.name)
	c.g.register(fs)
	runCmd := cmd.setup(c, fs)
	pos, err := parse(fs, args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		printCommandHelp(c.stdout, cmd, fs)
		return nil
	case err != nil:
		return usagef(cmd, "%v", err)
	case len(pos) < cmd.minArgs || len(pos) > cmd.maxArgs:
		return usagef(cmd, "%s takes %s, got %d", cmd.name, cmd.argsWanted(), len(pos))
	case c.g.lang != "en" && c.g.lang != "ko":
		return usagef(cmd, "--lang must be en or ko, not %q", c.g.lang)
	case c.g.timeout <= 0:
		return usagef(cmd, "--timeout must be positive")
	}
	if !cmd.offline {
		if err := c.connect(cmd); err != nil {
			return err
		}
		defer c.conn.Close()
	}
	err = runCmd(ctx, pos)
	if u, ok := err.(*usageError); ok && u.cmd == nil {
		u.cmd = cmd // a flag value the command itself found wrong
	}
	return err
}

// connect opens the connection cmd's calls use, as cmd's role.
func (c *cli) connect(cmd *command) error {
	role, err := c.g.sec.roleOf(cmd)
	if err != nil {
		return err
	}
	creds, err := c.g.sec.dialOption(role)
	if err != nil {
		return err
	}
	if c.g.sec.Cert == "" { // one's own certificate names its own role
		c.role = string(role)
	}
	if c.conn, err = grpc.NewClient(c.g.server, creds, grpc.WithUserAgent("ledgerctl")); err != nil {
		return usagef(cmd, "--server %q: %v", c.g.server, err)
	}
	return nil
}

func (c *cli) help(args []string) error {
	if len(args) == 0 {
		printHelp(c.stdout)
		return nil
	}
	cmd, rest, err := lookup(args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef(nil, "help takes a command name, not %q", rest)
	}
	fs := newFlagSet(cmd.name)
	c.g.register(fs)
	cmd.setup(c, fs)
	printCommandHelp(c.stdout, cmd, fs)
	return nil
}

func (c *cli) accounts() ledgerv1.AccountServiceClient {
	return ledgerv1.NewAccountServiceClient(c.conn)
}

func (c *cli) payments() ledgerv1.PaymentServiceClient {
	return ledgerv1.NewPaymentServiceClient(c.conn)
}

// call makes one RPC under the --timeout deadline.
func call[Req, Resp any](ctx context.Context, c *cli, rpc func(context.Context, Req, ...grpc.CallOption) (Resp, error), req Req) (Resp, error) {
	ctx, cancel := context.WithTimeout(ctx, c.g.timeout)
	defer cancel()
	return rpc(ctx, req)
}

// exit reports err, if any, and returns the exit code it calls for.
func (c *cli) exit(err error) int {
	if err == nil {
		return ExitOK
	}
	var s *setupError
	if errors.As(err, &s) {
		fmt.Fprintf(c.stderr, "error: %s\n", s.msg)
		return ExitUsage
	}
	var u *usageError
	if errors.As(err, &u) {
		fmt.Fprintf(c.stderr, "error: %s\n", u.msg)
		if u.cmd != nil {
			fmt.Fprintf(c.stderr, "usage: ledgerctl %s %s\n", u.cmd.name, u.cmd.synopsis)
			fmt.Fprintf(c.stderr, "run 'ledgerctl help %s' for details\n", u.cmd.name)
		} else {
			fmt.Fprintln(c.stderr, "run 'ledgerctl help' for the list of commands")
		}
		return ExitUsage
	}
	var f *failure
	if errors.As(err, &f) {
		fmt.Fprintf(c.stderr, "error: %s\n", f.msg)
		return ExitFailure
	}
	c.reportError(err)
	return ExitFailure
}
