package ctl

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/corebanking/ledger/ledger"
	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

func (c *cli) promos() ledgerv1.PromoServiceClient { return ledgerv1.NewPromoServiceClient(c.conn) }

func promoCreate(c *cli, fs *flag.FlagSet) func(context.Context, []string) error {
	requestID := requestIDFlag(c, fs)
	currency := fs.String("currency", "", "ISO 4217 `code` of the promo's currency, for example KRW (required)")
	quota := fs.Int64("quota", 0, "total `AMOUNT` all subscriptions together may hold (required)")
	perCustomer := fs.Int64("max-per-customer", 0, "the most `AMOUNT` one customer may subscribe (required)")
	rate := fs.Int("rate-bps", 0, "annual interest rate in basis points, `BPS`: 500 is 5.00% (required)")
	opens := fs.String("opens", "now", "when subscriptions open: an RFC 3339 `time` or now; a replay with --request-id must send the times the first run sent")
	closes := fs.String("closes", "", "when subscriptions close: an RFC 3339 `time`, or a duration after --opens such as 24h (required)")
	return func(ctx context.Context, args []string) error {
		given := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
		for _, name := range []string{"currency", "quota", "max-per-customer", "rate-bps", "closes"} {
			if !given[name] {
				return usagef(nil, "--%s is required", name)
			}
		}
		if int64(int32(*rate)) != int64(*rate) {
			return usagef(nil, "--rate-bps %d is out of range", *rate)
		}
		opensAt := time.Now().Truncate(time.Second) // as --json prints it, to replay with
		if *opens != "now" {
			t, err := time.Parse(time.RFC3339, *opens)
			if err != nil {
				return usagef(nil, "--opens %q is neither an RFC 3339 time, such as 2025-07-01T09:00:00+09:00, nor now", *opens)
			}
			opensAt = t
		}
		closesAt, err := time.Parse(time.RFC3339, *closes)
		if err != nil {
			d, derr := time.ParseDuration(*closes)
			if derr != nil {
				return usagef(nil, "--closes %q is neither an RFC 3339 time, such as 2025-07-02T09:00:00+09:00, nor a duration, such as 24h", *closes)
			}
			closesAt = opensAt.Add(d)
		}
		resp, err := call(ctx, c, c.promos().CreatePromo, &ledgerv1.CreatePromoRequest{
			RequestId: requestID(), PromoId: args[0], Currency: currencyArg(*currency),
			TotalQuota: *quota, MaxPerCustomer: *perCustomer, AnnualRateBps: int32(*rate),
			OpensAt: timestamppb.New(opensAt), ClosesAt: timestamppb.New(closesAt),
		})
		if err != nil {
			return err
		}
		return c.show(resp, func(w io.Writer) {
			fmt.Fprintf(w, "promo created: %s (request %s)\n", resp.GetPromo().GetPromoId(), c.requestID)
			printPromo(w, resp.GetPromo())
		})
	}
}

func promoShow(c *cli, _ *flag.FlagSet) func(context.Context, []string) error {
	return func(ctx context.Context, args []string) error {
		resp, err := call(ctx, c, c.promos().GetPromo, &ledgerv1.GetPromoRequest{PromoId: args[0]})
		if err != nil {
			return err
		}
		return c.show(resp, func(w io.Writer) {
			p := resp.GetPromo()
			soldOut := ""
			if p.GetSoldOut() {
				soldOut = ": SOLD OUT"
			}
			fmt.Fprintf(w, "promo %s%s\n", p.GetPromoId(), soldOut)
			printPromo(w, p)
		})
	}
}

func promoSubscribe(c *cli, fs *flag.FlagSet) func(context.Context, []string) error {
	requestID := requestIDFlag(c, fs)
	partial := fs.Bool("allow-partial", false, "when less than AMOUNT remains, take what remains instead of refusing")
	return func(ctx context.Context, args []string) error {
		amount, err := parseAmount(args[3], "")
		if err != nil {
			return err
		}
		resp, err := call(ctx, c, c.promos().Subscribe, &ledgerv1.SubscribeRequest{
			RequestId: requestID(), PromoId: args[0], CustomerId: args[1], FromAccountId: args[2],
			Amount: amount, AllowPartial: *partial,
		})
		if err != nil {
			return err
		}
		return c.show(resp, func(w io.Writer) {
			s := resp.GetSubscription()
			cur := postingCurrency(s.GetEntry(), s.GetAccountId())
			fmt.Fprintf(w, "subscribed: %s into account %s (entry %s, request %s)\n",
				ledger.FormatAmount(s.GetAmount(), cur), s.GetAccountId(), s.GetEntry().GetEntryId(), c.requestID)
			if s.GetAmount() != amount {
				fmt.Fprintf(w, "  only %s remained of the %s asked\n",
					ledger.FormatAmount(s.GetAmount(), cur), ledger.FormatAmount(amount, cur))
			}
			printPostings(w, s.GetEntry().GetPostings())
		})
	}
}

// postingCurrency is the currency of e's posting to accountID: a
// subscription carries none of its own.
func postingCurrency(e *ledgerv1.Entry, accountID string) string {
	for _, p := range e.GetPostings() {
		if p.GetAccountId() == accountID {
			return p.GetCurrency()
		}
	}
	return ""
}

func printPromo(w io.Writer, p *ledgerv1.Promo) {
	cur := p.GetCurrency()
	amounts := alignRight([]string{
		ledger.FormatAmount(p.GetTotalQuota(), cur),
		ledger.FormatAmount(p.GetSubscribed(), cur),
		ledger.FormatAmount(p.GetRemaining(), cur),
		ledger.FormatAmount(p.GetMaxPerCustomer(), cur),
	})
	printFields(w,
		"quota", amounts[0],
		"subscribed", amounts[1],
		"remaining", amounts[2],
		"per customer", amounts[3],
		"rate", formatBps(p.GetAnnualRateBps())+" a year",
		"window", formatTime(p.GetOpensAt())+" to "+formatTime(p.GetClosesAt()),
	)
}

// formatBps renders basis points as a percentage: 500 is "5.00%".
func formatBps(bps int32) string {
	n, sign := int64(bps), ""
	if n < 0 {
		n, sign = -n, "-"
	}
	return fmt.Sprintf("%s%d.%02d%%", sign, n/100, n%100)
}
