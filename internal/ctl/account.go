package ctl

import (
	"context"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/corebanking/ledger/ledger"
	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

var accountKinds = map[string]ledgerv1.AccountKind{
	"customer": ledgerv1.AccountKind_ACCOUNT_KIND_CUSTOMER,
	"internal": ledgerv1.AccountKind_ACCOUNT_KIND_INTERNAL,
}

func accountOpen(c *cli, fs *flag.FlagSet) func(context.Context, []string) error {
	requestID := requestIDFlag(c, fs)
	customer := fs.String("customer", "", "`id` of the customer who owns the account (customer accounts)")
	currency := fs.String("currency", "", "ISO 4217 `code` of the account's currency, for example KRW")
	id := fs.String("id", "", "account `id` to open (default: one the server generates)")
	kind := fs.String("kind", "customer", "account kind: `customer|internal`")
	return func(ctx context.Context, _ []string) error {
		k, ok := accountKinds[*kind]
		if !ok {
			return usagef(nil, "--kind must be customer or internal, not %q", *kind)
		}
		if *currency == "" {
			return usagef(nil, "--currency is required")
		}
		resp, err := call(ctx, c, c.accounts().OpenAccount, &ledgerv1.OpenAccountRequest{
			RequestId: requestID(), AccountId: *id, CustomerId: *customer, Currency: currencyArg(*currency), Kind: k,
		})
		if err != nil {
			return err
		}
		return c.show(resp, func(w io.Writer) {
			fmt.Fprintf(w, "account opened: %s (request %s)\n", resp.GetAccount().GetAccountId(), c.requestID)
			printAccount(w, resp.GetAccount())
		})
	}
}

var accountStatuses = map[string]ledgerv1.AccountStatus{
	"active": ledgerv1.AccountStatus_ACCOUNT_STATUS_ACTIVE,
	"frozen": ledgerv1.AccountStatus_ACCOUNT_STATUS_FROZEN,
	"closed": ledgerv1.AccountStatus_ACCOUNT_STATUS_CLOSED,
}

// accountStatus freezes, closes or reactivates an account; the journal
// records it with the caller and --reason.
func accountStatus(c *cli, fs *flag.FlagSet) func(context.Context, []string) error {
	requestID := requestIDFlag(c, fs)
	reason := fs.String("reason", "", "why, for the journal (required, at most 140 characters)")
	return func(ctx context.Context, args []string) error {
		st, ok := accountStatuses[args[1]]
		if !ok {
			return usagef(nil, "the status must be active, frozen or closed, not %q", args[1])
		}
		if *reason == "" {
			return usagef(nil, "--reason is required")
		}
		resp, err := call(ctx, c, c.accounts().SetAccountStatus, &ledgerv1.SetAccountStatusRequest{
			RequestId: requestID(), AccountId: args[0], Status: st, Reason: *reason})
		if err != nil {
			return err
		}
		return c.show(resp, func(w io.Writer) {
			fmt.Fprintf(w, "account %s is %s (request %s)\n", resp.GetAccount().GetAccountId(),
				label(resp.GetAccount().GetStatus().String(), "ACCOUNT_STATUS_"), c.requestID)
			printAccount(w, resp.GetAccount())
		})
	}
}

func accountShow(c *cli, _ *flag.FlagSet) func(context.Context, []string) error {
	return func(ctx context.Context, args []string) error {
		resp, err := call(ctx, c, c.accounts().GetAccount, &ledgerv1.GetAccountRequest{AccountId: args[0]})
		if err != nil {
			return err
		}
		return c.show(resp, func(w io.Writer) {
			fmt.Fprintf(w, "account %s\n", resp.GetAccount().GetAccountId())
			printAccount(w, resp.GetAccount())
		})
	}
}

func balance(c *cli, _ *flag.FlagSet) func(context.Context, []string) error {
	return func(ctx context.Context, args []string) error {
		resp, err := call(ctx, c, c.accounts().GetBalance, &ledgerv1.GetBalanceRequest{AccountId: args[0]})
		if err != nil {
			return err
		}
		return c.show(resp, func(w io.Writer) {
			b := resp.GetBalance()
			cur := b.GetCurrency()
			amounts := alignRight([]string{
				ledger.FormatAmount(b.GetPosted(), cur),
				ledger.FormatAmount(b.GetHeld(), cur),
				ledger.FormatAmount(b.GetAvailable(), cur),
			})
			fmt.Fprintf(w, "balance of %s\n", b.GetAccountId())
			printFields(w, "posted", amounts[0], "held", amounts[1], "available", amounts[2])
		})
	}
}

func statement(c *cli, fs *flag.FlagSet) func(context.Context, []string) error {
	pageSize := fs.Int("page-size", 0, "`lines` per page, at most 500 (default: the server's, 50)")
	pageToken := fs.String("page-token", "", "`token` of the page to show, from the previous page")
	all := fs.Bool("all", false, "follow page tokens to the end of the statement")
	return func(ctx context.Context, args []string) error {
		req := &ledgerv1.ListEntriesRequest{AccountId: args[0], PageSize: int32(*pageSize), PageToken: *pageToken}
		if int64(req.PageSize) != int64(*pageSize) {
			return usagef(nil, "--page-size %d is out of range", *pageSize)
		}
		page, err := call(ctx, c, c.accounts().ListEntries, req)
		if err != nil {
			return err
		}
		for *all && page.GetNextPageToken() != "" {
			req.PageToken = page.GetNextPageToken()
			next, err := call(ctx, c, c.accounts().ListEntries, req)
			if err != nil {
				return err
			}
			page.Lines = append(page.Lines, next.GetLines()...)
			page.NextPageToken = next.GetNextPageToken()
		}
		if c.g.json {
			return c.show(page, nil)
		}
		// Statement lines carry no currency; the account knows it.
		acct, err := call(ctx, c, c.accounts().GetAccount, &ledgerv1.GetAccountRequest{AccountId: args[0]})
		if err != nil {
			return err
		}
		printStatement(c.stdout, acct.GetAccount(), page)
		return nil
	}
}

func printStatement(w io.Writer, a *ledgerv1.Account, page *ledgerv1.ListEntriesResponse) {
	cur := a.GetCurrency()
	fmt.Fprintf(w, "statement of %s (%s), newest first\n", a.GetAccountId(), cur)
	lines := page.GetLines()
	if len(lines) == 0 {
		fmt.Fprintln(w, "no entries")
	} else {
		amounts, balances := []string{"AMOUNT"}, []string{"BALANCE AFTER"}
		for _, l := range lines {
			amounts = append(amounts, signed(l.GetAmount(), cur))
			balances = append(balances, ledger.FormatAmount(l.GetBalanceAfter(), cur))
		}
		amounts, balances = alignRight(amounts), alignRight(balances)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "TIME\tKIND\t%s\t%s\tMEMO\n", amounts[0], balances[0])
		for i, l := range lines {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", formatTime(l.GetPostedAt()),
				label(l.GetKind().String(), "ENTRY_KIND_"), amounts[i+1], balances[i+1], oneLine(l.GetMemo()))
		}
		tw.Flush()
	}
	if t := page.GetNextPageToken(); t != "" {
		fmt.Fprintf(w, "next page: --page-token %s\n", t)
	}
}
