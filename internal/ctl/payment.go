package ctl

import (
	"context"
	"flag"
	"fmt"
	"io"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/corebanking/ledger/ledger"
	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

func deposit(c *cli, fs *flag.FlagSet) func(context.Context, []string) error {
	requestID := requestIDFlag(c, fs)
	memo := fs.String("memo", "", "`text` shown on the statement")
	return func(ctx context.Context, args []string) error {
		cur := currencyArg(args[2])
		amount, err := parseAmount(args[1], cur)
		if err != nil {
			return err
		}
		resp, err := call(ctx, c, c.payments().Deposit, &ledgerv1.DepositRequest{
			RequestId: requestID(), AccountId: args[0], Amount: amount, Currency: cur, Memo: *memo,
		})
		if err != nil {
			return err
		}
		return c.show(resp, func(w io.Writer) { printEntry(w, "deposit posted", resp.GetEntry(), c.requestID) })
	}
}

func transfer(c *cli, fs *flag.FlagSet) func(context.Context, []string) error {
	requestID := requestIDFlag(c, fs)
	memo := fs.String("memo", "", "`text` shown on both statements")
	return func(ctx context.Context, args []string) error {
		cur := currencyArg(args[3])
		amount, err := parseAmount(args[2], cur)
		if err != nil {
			return err
		}
		resp, err := call(ctx, c, c.payments().Transfer, &ledgerv1.TransferRequest{
			RequestId: requestID(), FromAccountId: args[0], ToAccountId: args[1], Amount: amount, Currency: cur, Memo: *memo,
		})
		if err != nil {
			return err
		}
		return c.show(resp, func(w io.Writer) { printEntry(w, "transfer posted", resp.GetEntry(), c.requestID) })
	}
}

func withdraw(c *cli, fs *flag.FlagSet) func(context.Context, []string) error {
	requestID := requestIDFlag(c, fs)
	atm := fs.String("atm", "", "`id` of the ATM that pays the cash out (required)")
	return func(ctx context.Context, args []string) error {
		if *atm == "" {
			return usagef(nil, "--atm is required")
		}
		cur := currencyArg(args[2])
		amount, err := parseAmount(args[1], cur)
		if err != nil {
			return err
		}
		resp, err := call(ctx, c, c.payments().Withdraw, &ledgerv1.WithdrawRequest{
			RequestId: requestID(), AccountId: args[0], Amount: amount, Currency: cur, AtmId: *atm,
		})
		if err != nil {
			return err
		}
		return c.show(resp, func(w io.Writer) { printEntry(w, "withdrawal posted", resp.GetEntry(), c.requestID) })
	}
}

func holdPlace(c *cli, fs *flag.FlagSet) func(context.Context, []string) error {
	requestID := requestIDFlag(c, fs)
	ttl := fs.Duration("ttl", 0, "how long the hold lives, at most 168h (default: the server's, 15m)")
	atm := fs.String("atm", "", "`id` of the ATM a capture pays out at (default: settlement)")
	return func(ctx context.Context, args []string) error {
		cur := currencyArg(args[2])
		amount, err := parseAmount(args[1], cur)
		if err != nil {
			return err
		}
		req := &ledgerv1.PlaceHoldRequest{RequestId: requestID(), AccountId: args[0], Amount: amount, Currency: cur, AtmId: *atm}
		if *ttl != 0 {
			req.Ttl = durationpb.New(*ttl)
		}
		resp, err := call(ctx, c, c.payments().PlaceHold, req)
		if err != nil {
			return err
		}
		return c.show(resp, func(w io.Writer) {
			fmt.Fprintf(w, "hold placed: %s (request %s)\n", resp.GetHold().GetHoldId(), c.requestID)
			printHold(w, resp.GetHold())
		})
	}
}

func holdCapture(c *cli, fs *flag.FlagSet) func(context.Context, []string) error {
	requestID := requestIDFlag(c, fs)
	return func(ctx context.Context, args []string) error {
		var amount int64 // zero captures the whole hold
		if len(args) == 2 {
			var err error
			if amount, err = parseAmount(args[1], ""); err != nil {
				return err
			}
		}
		resp, err := call(ctx, c, c.payments().CaptureHold, &ledgerv1.CaptureHoldRequest{
			RequestId: requestID(), HoldId: args[0], Amount: amount,
		})
		if err != nil {
			return err
		}
		return c.show(resp, func(w io.Writer) {
			h, e := resp.GetHold(), resp.GetEntry()
			fmt.Fprintf(w, "hold captured: %s of %s, entry %s (request %s)\n",
				ledger.FormatAmount(h.GetCapturedAmount(), h.GetCurrency()),
				ledger.FormatAmount(h.GetAmount(), h.GetCurrency()), e.GetEntryId(), c.requestID)
			printPostings(w, e.GetPostings())
		})
	}
}

func holdVoid(c *cli, fs *flag.FlagSet) func(context.Context, []string) error {
	requestID := requestIDFlag(c, fs)
	return func(ctx context.Context, args []string) error {
		resp, err := call(ctx, c, c.payments().VoidHold, &ledgerv1.VoidHoldRequest{RequestId: requestID(), HoldId: args[0]})
		if err != nil {
			return err
		}
		return c.show(resp, func(w io.Writer) {
			h := resp.GetHold()
			fmt.Fprintf(w, "hold voided: %s, %s released (request %s)\n",
				h.GetHoldId(), ledger.FormatAmount(h.GetAmount(), h.GetCurrency()), c.requestID)
		})
	}
}
