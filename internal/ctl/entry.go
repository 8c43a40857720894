package ctl

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

// entryPost posts an entry of the postings given as ACCOUNT_ID:AMOUNT
// (AMOUNT signed: negative debits) or ACCOUNT_ID:AMOUNT:CURRENCY.
func entryPost(c *cli, fs *flag.FlagSet) func(context.Context, []string) error {
	requestID := requestIDFlag(c, fs)
	memo := fs.String("memo", "", "`text` shown on every statement the entry is on")
	currency := fs.String("currency", "", "`currency` of the postings that name none")
	return func(ctx context.Context, args []string) error {
		req := &ledgerv1.PostEntryRequest{Memo: *memo}
		for _, arg := range args {
			p, err := parsePosting(arg, *currency)
			if err != nil {
				return err
			}
			req.Postings = append(req.Postings, p)
		}
		req.RequestId = requestID()
		resp, err := call(ctx, c, c.payments().PostEntry, req)
		if err != nil {
			return err
		}
		return c.show(resp, func(w io.Writer) { printEntry(w, "entry posted", resp.GetEntry(), c.requestID) })
	}
}

func parsePosting(arg, currency string) (*ledgerv1.Posting, error) {
	parts := strings.Split(arg, ":")
	// Account ids may hold ':' themselves (sys:vault:KRW): the amount is
	// the last part that parses, with the currency after it if given.
	cur := currencyArg(currency)
	if n := len(parts); n >= 3 && !isSigned(parts[n-1]) {
		cur, parts = currencyArg(parts[n-1]), parts[:n-1]
	}
	if len(parts) < 2 || cur == "" {
		return nil, usagef(nil, "posting %q: want ACCOUNT_ID:AMOUNT with --currency, or ACCOUNT_ID:AMOUNT:CURRENCY", arg)
	}
	amount, err := parseAmount(parts[len(parts)-1], cur)
	if err != nil {
		return nil, err
	}
	return &ledgerv1.Posting{AccountId: strings.Join(parts[:len(parts)-1], ":"), Currency: cur, Amount: amount}, nil
}

func isSigned(s string) bool {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	return s != "" && strings.Trim(s, "0123456789") == ""
}

func entryReverse(c *cli, fs *flag.FlagSet) func(context.Context, []string) error {
	requestID := requestIDFlag(c, fs)
	memo := fs.String("memo", "", "`text` of the reversal (default: reversal of ENTRY_ID)")
	return func(ctx context.Context, args []string) error {
		resp, err := call(ctx, c, c.payments().ReverseEntry, &ledgerv1.ReverseEntryRequest{
			RequestId: requestID(), EntryId: args[0], Memo: *memo,
		})
		if err != nil {
			return err
		}
		return c.show(resp, func(w io.Writer) {
			printEntry(w, "reversal posted", resp.GetEntry(), c.requestID)
			fmt.Fprintf(w, "  reverses %s\n", resp.GetEntry().GetReversesEntryId())
		})
	}
}

// batchCmd submits the items of FILE ("-" for standard input), one JSON
// object per line as ledger.v1.BatchItem is written in JSON, for example
// {"transfer": {"requestId": "p-1", "fromAccountId": "a", "toAccountId": "b", "amount": "100", "currency": "KRW"}}.
// It fails unless every item succeeds.
func batchCmd(c *cli, fs *flag.FlagSet) func(context.Context, []string) error {
	atomic := fs.Bool("atomic", false, "apply every item or none")
	return func(ctx context.Context, args []string) error {
		items, err := readBatch(args[0])
		if err != nil {
			return err
		}
		resp, err := call(ctx, c, c.payments().SubmitBatch, &ledgerv1.SubmitBatchRequest{Items: items, Atomic: *atomic})
		if err != nil {
			return err
		}
		refused := 0
		for _, r := range resp.GetResults() {
			if r.GetError() != nil {
				refused++
			}
		}
		if err := c.show(resp, func(w io.Writer) {
			for i, r := range resp.GetResults() {
				if e := r.GetEntry(); e != nil {
					fmt.Fprintf(w, "item %d: posted entry %s (request %s)\n", i, e.GetEntryId(), e.GetRequestId())
					continue
				}
				msg, reason := c.statusText(status.FromProto(r.GetError()))
				fmt.Fprintf(w, "item %d: refused: %s (%s)\n", i, msg, reason)
			}
			fmt.Fprintf(w, "%d posted, %d refused\n", len(resp.GetResults())-refused, refused)
		}); err != nil {
			return err
		}
		if refused > 0 {
			return &failure{msg: fmt.Sprintf("%d of %d items refused", refused, len(resp.GetResults()))}
		}
		return nil
	}
}

func readBatch(name string) ([]*ledgerv1.BatchItem, error) {
	in := io.Reader(os.Stdin)
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, &setupError{msg: err.Error()}
		}
		defer f.Close()
		in = f
	}
	var items []*ledgerv1.BatchItem
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		item := &ledgerv1.BatchItem{}
		if err := protojson.Unmarshal([]byte(text), item); err != nil {
			return nil, usagef(nil, "%s line %d: not a batch item: %v", name, line, err)
		}
		items = append(items, item)
	}
	if err := sc.Err(); err != nil {
		return nil, &setupError{msg: err.Error()}
	}
	return items, nil
}
