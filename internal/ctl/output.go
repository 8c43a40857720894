package ctl

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"unicode"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/corebanking/ledger/ledger"
	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

// jsonOptions print zero fields too, so that a script reads "held": "0"
// rather than guessing what a missing field means.
var jsonOptions = protojson.MarshalOptions{EmitUnpopulated: true}

// show prints resp: as one protojson object with --json, else through human.
func (c *cli) show(resp proto.Message, human func(w io.Writer)) error {
	if c.g.json {
		return c.printJSON(resp)
	}
	human(c.stdout)
	return nil
}

// printJSON prints m as protojson on one line.
func (c *cli) printJSON(m proto.Message) error {
	b, err := jsonOptions.Marshal(m)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.stdout, "%s\n", b)
	return err
}

// printJSONMerged prints the fields of several messages as one protojson
// object on one line: the answers of the calls one command made.
func (c *cli) printJSONMerged(ms ...proto.Message) error {
	merged := map[string]json.RawMessage{}
	for _, m := range ms {
		b, err := jsonOptions.Marshal(m)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &merged); err != nil {
			return err
		}
	}
	b, err := json.Marshal(merged)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.stdout, "%s\n", b)
	return err
}

// label turns an enum value name into a word for people:
// ENTRY_KIND_HOLD_CAPTURE becomes "hold capture".
func label(name, prefix string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(name, prefix)), "_", " ")
}

// oneLine keeps a memo from breaking a table: control characters become spaces.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

// timeLayout shows times in the teller's own zone.
const timeLayout = "2006-01-02 15:04:05 MST"

func formatTime(ts *timestamppb.Timestamp) string {
	if ts == nil {
		return "-"
	}
	return ts.AsTime().Local().Format(timeLayout)
}

// signed formats an amount with its sign, as a statement or posting shows it.
func signed(amount int64, currency string) string {
	s := ledger.FormatAmount(amount, currency)
	if amount > 0 {
		s = "+" + s
	}
	return s
}

// alignRight pads strings on the left to one width, so amounts line up in
// a column that tabwriter aligns to the left.
func alignRight(ss []string) []string {
	width := 0
	for _, s := range ss {
		width = max(width, len(s))
	}
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.Repeat(" ", width-len(s)) + s
	}
	return out
}

// printFields prints label-value pairs as an indented two-column block.
func printFields(w io.Writer, pairs ...string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] != "" {
			fmt.Fprintf(tw, "  %s\t%s\n", pairs[i], pairs[i+1])
		}
	}
	tw.Flush()
}

// printEntry prints a posted entry: what happened, the entry and the request
// id that replays it, then its postings.
func printEntry(w io.Writer, what string, e *ledgerv1.Entry, requestID string) {
	fmt.Fprintf(w, "%s: entry %s (request %s)\n", what, e.GetEntryId(), requestID)
	printPostings(w, e.GetPostings())
}

func printPostings(w io.Writer, postings []*ledgerv1.Posting) {
	amounts := make([]string, len(postings))
	for i, p := range postings {
		amounts[i] = signed(p.GetAmount(), p.GetCurrency())
	}
	amounts = alignRight(amounts)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for i, p := range postings {
		fmt.Fprintf(tw, "  %s\t%s\n", p.GetAccountId(), amounts[i])
	}
	tw.Flush()
}

func printAccount(w io.Writer, a *ledgerv1.Account) {
	printFields(w,
		"customer", a.GetCustomerId(),
		"currency", a.GetCurrency(),
		"kind", label(a.GetKind().String(), "ACCOUNT_KIND_"),
		"status", label(a.GetStatus().String(), "ACCOUNT_STATUS_"),
		"opened", formatTime(a.GetCreatedAt()),
	)
}

func printHold(w io.Writer, h *ledgerv1.Hold) {
	captured := ""
	if h.GetCapturedAmount() != 0 {
		captured = ledger.FormatAmount(h.GetCapturedAmount(), h.GetCurrency())
	}
	printFields(w,
		"account", h.GetAccountId(),
		"amount", ledger.FormatAmount(h.GetAmount(), h.GetCurrency()),
		"captured", captured,
		"status", label(h.GetStatus().String(), "HOLD_STATUS_"),
		"atm", h.GetAtmId(),
		"expires", formatTime(h.GetExpiresAt()),
	)
}
