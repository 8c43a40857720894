package ctl

import (
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/corebanking/ledger/ledger"
)

// usageError is a mistake on the command line: nothing was sent, and the
// program exits with ExitUsage.
type usageError struct {
	cmd *command // nil when no command was recognised
	msg string
}

func (e *usageError) Error() string { return e.msg }

func usagef(cmd *command, format string, args ...any) error {
	return &usageError{cmd: cmd, msg: fmt.Sprintf(format, args...)}
}

// parse parses flags wherever they stand among args, as tellers type them
// ("deposit ACC 5000 KRW --memo cash"), and returns the positional
// arguments. "--" ends the flags. A token that reads as a number, such as
// "-5", is positional, so a negative amount meets the server's rule rather
// than an "unknown flag" error.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(pos, args[i+1:]...), nil
		}
		if len(a) < 2 || a[0] != '-' || isNumber(a) {
			pos = append(pos, a)
			continue
		}
		n := 1 // tokens this flag takes: "--memo=x" and "--json" one, "--memo x" two
		if name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "="); !hasValue {
			if f := fs.Lookup(name); f != nil && !isBoolFlag(f) && i+1 < len(args) {
				n = 2
			}
		}
		if err := fs.Parse(args[i : i+n]); err != nil {
			return nil, err
		}
		i += n - 1
	}
	return pos, nil
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// parseAmount reads an AMOUNT argument: a whole number of minor units.
// Whether it is positive and within limits is the server's rule to apply.
func parseAmount(s, currency string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		example := "1250 is 12.50 USD"
		if d, ok := ledger.MinorUnits(currency); ok && d == 0 {
			example = "5000 is " + ledger.FormatAmount(5000, currency)
		} else if ok {
			example = fmt.Sprintf("1250 is %s", ledger.FormatAmount(1250, currency))
		}
		return 0, usagef(nil, "AMOUNT %q is not a whole number of minor units (%s)", s, example)
	}
	return n, nil
}

// currencyArg accepts a currency code in either case.
func currencyArg(s string) string { return strings.ToUpper(s) }

// requestIDFlag registers --request-id on fs and returns a function that
// yields the id to send, a new UUID unless the flag was given, and records
// it so that an error report can show it.
func requestIDFlag(c *cli, fs *flag.FlagSet) func() string {
	id := fs.String("request-id", "", "idempotency `id` of this request; reuse one to replay a request safely (default a new UUID)")
	return func() string {
		if *id == "" {
			*id = uuid.NewString()
		}
		c.requestID = *id
		return *id
	}
}
