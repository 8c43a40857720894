package ctl

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/corebanking/ledger/internal/clienttls"
)

// command is one subcommand. setup registers its flags on fs and returns
// the function that runs it with its positional arguments.
type command struct {
	name     string // as typed, for example "hold place"
	synopsis string // arguments and flags, for usage lines
	summary  string
	minArgs  int
	maxArgs  int
	// offline commands make their own connections, or none.
	offline bool
	setup   func(c *cli, fs *flag.FlagSet) func(ctx context.Context, args []string) error
}

func (cmd *command) argsWanted() string {
	switch {
	case cmd.maxArgs == 0:
		return "no arguments"
	case cmd.maxArgs == 1 && cmd.minArgs == 1:
		return "1 argument"
	case cmd.minArgs == cmd.maxArgs:
		return fmt.Sprintf("%d arguments", cmd.minArgs)
	case cmd.maxArgs > cmd.minArgs+1:
		return fmt.Sprintf("%d to %d arguments", cmd.minArgs, cmd.maxArgs)
	}
	return fmt.Sprintf("%d or %d arguments", cmd.minArgs, cmd.maxArgs)
}

// commands lists every subcommand in the order help shows them.
var commands = []*command{
	{name: "account open", synopsis: "--customer CUSTOMER_ID --currency CURRENCY [--id ACCOUNT_ID] [--kind customer|internal]",
		summary: "open an account", setup: accountOpen},
	{name: "account show", synopsis: "ACCOUNT_ID", summary: "show an account's details",
		minArgs: 1, maxArgs: 1, setup: accountShow},
	{name: "account status", synopsis: "ACCOUNT_ID active|frozen|closed --reason TEXT",
		summary: "freeze, close or reactivate an account; the journal records who and why", minArgs: 2, maxArgs: 2, setup: accountStatus},
	{name: "balance", synopsis: "ACCOUNT_ID", summary: "show posted, held and available balance",
		minArgs: 1, maxArgs: 1, setup: balance},
	{name: "statement", synopsis: "ACCOUNT_ID [--page-size N] [--page-token T] [--all]",
		summary: "list an account's entries, newest first", minArgs: 1, maxArgs: 1, setup: statement},
	{name: "deposit", synopsis: "ACCOUNT_ID AMOUNT CURRENCY [--memo M]", summary: "credit cash paid in",
		minArgs: 3, maxArgs: 3, setup: deposit},
	{name: "transfer", synopsis: "FROM_ACCOUNT_ID TO_ACCOUNT_ID AMOUNT CURRENCY [--memo M]",
		summary: "move money between two accounts", minArgs: 4, maxArgs: 4, setup: transfer},
	{name: "withdraw", synopsis: "ACCOUNT_ID AMOUNT CURRENCY --atm ATM_ID", summary: "pay cash out at an ATM",
		minArgs: 3, maxArgs: 3, setup: withdraw},
	{name: "hold place", synopsis: "ACCOUNT_ID AMOUNT CURRENCY [--ttl 15m] [--atm ATM_ID]",
		summary: "reserve funds until captured, voided or expired", minArgs: 3, maxArgs: 3, setup: holdPlace},
	{name: "hold capture", synopsis: "HOLD_ID [AMOUNT]", summary: "take a hold, all of it or AMOUNT; the rest is released",
		minArgs: 1, maxArgs: 2, setup: holdCapture},
	{name: "hold void", synopsis: "HOLD_ID", summary: "release a hold without moving money",
		minArgs: 1, maxArgs: 1, setup: holdVoid},
	{name: "entry post", synopsis: "ACCOUNT_ID:AMOUNT[:CURRENCY] ... [--currency CURRENCY] [--memo M]",
		summary: "post an entry of 2 to 16 postings (negative AMOUNT debits) that sum to zero per currency",
		minArgs: 2, maxArgs: 16, setup: entryPost},
	{name: "entry reverse", synopsis: "ENTRY_ID [--memo M]", summary: "post the mirror of an entry's postings",
		minArgs: 1, maxArgs: 1, setup: entryReverse},
	{name: "batch", synopsis: "FILE|- [--atomic]",
		summary: "submit up to 1,000 items, one ledger.v1.BatchItem in JSON per line", minArgs: 1, maxArgs: 1, setup: batchCmd},
	{name: "promo create", synopsis: "PROMO_ID --currency CURRENCY --quota AMOUNT --max-per-customer AMOUNT --rate-bps BPS [--opens RFC3339|now] --closes RFC3339|DURATION --term DURATION [--early-rate-bps BPS] [--withholding-bps BPS]",
		summary: "define a promotional deposit with a hard total quota and a term", minArgs: 1, maxArgs: 1, setup: promoCreate},
	{name: "promo show", synopsis: "PROMO_ID [--subscriptions=false]", summary: "show a promotion's quota, sales, terms and window, and its subscriptions with their status and amounts",
		minArgs: 1, maxArgs: 1, setup: promoShow},
	{name: "promo cancel", synopsis: "PROMO_ID CUSTOMER_ID", summary: "cancel a subscription before it matures: the principal back now, with the early rate's interest, less tax",
		minArgs: 2, maxArgs: 2, setup: promoCancel},
	{name: "promo subscribe", synopsis: "PROMO_ID CUSTOMER_ID FROM_ACCOUNT_ID AMOUNT [--allow-partial]",
		summary: "move a customer's deposit into a promotion, consuming quota", minArgs: 4, maxArgs: 4, setup: promoSubscribe},
	{name: "journal tail", synopsis: "[--after N] [--follow]",
		summary: "show the last journal records, or those after N; --follow keeps printing new ones", setup: journalTail},
	{name: "journal export", synopsis: "[--after N]", summary: "print every journal record as JSON lines",
		setup: journalExport},
	{name: "journal verify", synopsis: "[--witness DIR] [--key KEY] [--checkpoint SEQUENCE:HASH] [--on-server]",
		summary: "recompute the journal's chain and tree here from the genesis, against signed checkpoints; names the first sequence that does not match",
		setup:   journalVerify},
	{name: "journal prove", synopsis: "ENTRY_ID [--tree-size N] [--key KEY] [--save FILE]",
		summary: "prove that an entry is in the journal a signed checkpoint commits to, checked here", minArgs: 1, maxArgs: 1, setup: journalProve},
	{name: "journal check-proof", synopsis: "FILE [--key KEY]",
		summary: "check a proof that 'journal prove --save' wrote, without the server", minArgs: 1, maxArgs: 1, offline: true, setup: journalCheckProof},
	{name: "journal keygen", synopsis: "--name NAME [--out FILE]",
		summary: "make the key that signs the journal's checkpoints (for ledgerd --journal-key)", offline: true, setup: journalKeygen},
	{name: "journal pubkey", synopsis: "[--key FILE]",
		summary: "print the public key that checks the journal's checkpoints", offline: true, setup: journalPubkey},
	{name: "compartments", summary: "show every bulkhead compartment's breaker, load and rejections",
		setup: compartments},
	{name: "cert issue", synopsis: "--role ROLE --name NAME [--out DIR] [--trust-domain DOMAIN]",
		summary: "issue a client certificate from the development CA in --tls-dir", offline: true, setup: certIssue},
}

// lookup finds the command named by the first one or two words of args and
// returns the arguments after its name.
func lookup(args []string) (*command, []string, error) {
	for _, cmd := range commands {
		words := strings.Fields(cmd.name)
		if len(args) >= len(words) && slices.Equal(args[:len(words)], words) {
			return cmd, args[len(words):], nil
		}
	}
	var subs []string
	for _, cmd := range commands {
		if group, sub, ok := strings.Cut(cmd.name, " "); ok && group == args[0] {
			subs = append(subs, sub)
		}
	}
	if len(subs) > 0 {
		return nil, nil, usagef(nil, "%s needs one of: %s", args[0], strings.Join(subs, ", "))
	}
	return nil, nil, usagef(nil, "unknown command %q", args[0])
}

func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors and help are printed by exit and printCommandHelp
	fs.Usage = func() {}
	return fs
}

const amountHelp = `AMOUNT is a whole number of minor units of the currency: 5000 KRW is 5000,
12.50 USD is 1250.`

func printHelp(w io.Writer) {
	fmt.Fprint(w, `ledgerctl is the teller and operator tool of the core-banking ledger.

usage: ledgerctl [global flags] COMMAND ARGS [flags]

commands:
`)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, cmd := range commands {
		fmt.Fprintf(tw, "  %s\t%s\n", cmd.name, cmd.summary)
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%s\n\nglobal flags (before or after the command):\n", amountHelp)
	fs := newFlagSet("ledgerctl")
	(&globals{server: DefaultServer, timeout: defaultTimeout, lang: "en", sec: security{Flags: clienttls.Flags{Dir: clienttls.DefaultDir}}}).register(fs)
	printFlags(w, fs, nil)
	fmt.Fprint(w, `
Commands that change the ledger send a request id (--request-id, a new UUID by default) and
print it; running the command again with the same --request-id is safe: the
ledger applies a request once and returns the first result.

Calls go over mutual TLS with a certificate per role from --tls-dir, the
development certificates ledgerd makes on its first start; each command acts as
the role it needs (help COMMAND says which), --role chooses another.

Run 'ledgerctl help COMMAND' or 'ledgerctl COMMAND -h' for a command's flags.

Exit status: 0 done, 1 refused by or could not reach the server, 2 bad usage
or local setup (nothing was sent).
`)
}

func printCommandHelp(w io.Writer, cmd *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "usage: ledgerctl %s %s\n\n%s.\n", cmd.name, cmd.synopsis, capitalize(cmd.summary))
	if strings.Contains(cmd.synopsis, "AMOUNT") {
		fmt.Fprintf(w, "\n%s\n", amountHelp)
	}
	global := map[string]bool{"server": true, "json": true, "timeout": true, "lang": true,
		"plaintext": true, "tls-dir": true, "role": true, "tls-cert": true, "tls-key": true, "tls-ca": true}
	if hasFlags(fs, global) {
		fmt.Fprintln(w, "\nflags:")
		printFlags(w, fs, global)
	}
	if r := commandRoles[cmd.name]; r != "" {
		fmt.Fprintf(w, "\nRuns as role %s, with its certificate from --tls-dir, unless --role says otherwise.\n", r)
	}
	fmt.Fprintln(w, "\nglobal flags: --server, --json, --timeout, --lang, --role, --tls-dir, --tls-cert, --tls-key, --tls-ca, --plaintext (see 'ledgerctl help')")
}

func hasFlags(fs *flag.FlagSet, skip map[string]bool) bool {
	n := 0
	fs.VisitAll(func(f *flag.Flag) {
		if !skip[f.Name] {
			n++
		}
	})
	return n > 0
}

// printFlags lists fs's flags, except those in skip, GNU style.
func printFlags(w io.Writer, fs *flag.FlagSet, skip map[string]bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fs.VisitAll(func(f *flag.Flag) {
		if skip[f.Name] {
			return
		}
		arg, usage := flag.UnquoteUsage(f)
		if arg != "" {
			arg = " " + arg
		}
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "0s" {
			usage += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(tw, "  --%s%s\t%s\n", f.Name, arg, usage)
	})
	tw.Flush()
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
