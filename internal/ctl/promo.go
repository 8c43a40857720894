package ctl

import (
	"context"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
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
	term := fs.Duration("term", 0, "how long each subscription runs from its own subscription time, 1m to 87600h (ten years), such as 8760h (required)")
	early := fs.Int("early-rate-bps", 0, "annual interest rate paid on early cancellation, in basis points `BPS`")
	withholding := fs.Int("withholding-bps", 1540, "tax withheld on interest, in basis points `BPS`: 1540 is Korea's 15.4% on interest income")
	return func(ctx context.Context, args []string) error {
		given := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
		for _, name := range []string{"currency", "quota", "max-per-customer", "rate-bps", "closes", "term"} {
			if !given[name] {
				return usagef(nil, "--%s is required", name)
			}
		}
		for name, bps := range map[string]int{"rate-bps": *rate, "early-rate-bps": *early, "withholding-bps": *withholding} {
			if int64(int32(bps)) != int64(bps) {
				return usagef(nil, "--%s %d is out of range", name, bps)
			}
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
			Term: durationpb.New(*term), EarlyRateBps: int32(*early), WithholdingBps: int32(*withholding),
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

func promoShow(c *cli, fs *flag.FlagSet) func(context.Context, []string) error {
	subs := fs.Bool("subscriptions", true, "list the promotion's subscriptions too (operators)")
	return func(ctx context.Context, args []string) error {
		resp, err := call(ctx, c, c.promos().GetPromo, &ledgerv1.GetPromoRequest{PromoId: args[0]})
		if err != nil {
			return err
		}
		list := &ledgerv1.ListSubscriptionsResponse{}
		for req := (&ledgerv1.ListSubscriptionsRequest{PromoId: args[0], PageSize: 500}); *subs; {
			page, err := call(ctx, c, c.promos().ListSubscriptions, req)
			if err != nil {
				return err
			}
			list.Subscriptions = append(list.Subscriptions, page.GetSubscriptions()...)
			if req.AfterCustomerId = page.GetNextAfterCustomerId(); req.AfterCustomerId == "" {
				break
			}
		}
		if c.g.json {
			if !*subs {
				return c.printJSON(resp)
			}
			return c.printJSONMerged(resp, list)
		}
		p := resp.GetPromo()
		soldOut := ""
		if p.GetSoldOut() {
			soldOut = ": SOLD OUT"
		}
		fmt.Fprintf(c.stdout, "promo %s%s\n", p.GetPromoId(), soldOut)
		printPromo(c.stdout, p)
		if *subs {
			printSubscriptions(c.stdout, p.GetCurrency(), list.GetSubscriptions())
		}
		return nil
	}
}

// printSubscriptions lists subscriptions with their status and amounts: the
// principal, and once paid back the interest, the tax withheld and what the
// customer received.
func printSubscriptions(w io.Writer, cur string, subs []*ledgerv1.Subscription) {
	fmt.Fprintf(w, "%d subscriptions\n", len(subs))
	if len(subs) == 0 {
		return
	}
	cols := [4][]string{{"AMOUNT"}, {"INTEREST"}, {"TAX"}, {"PAID"}}
	for _, s := range subs {
		paid := "-"
		if s.GetStatus() != ledgerv1.SubscriptionStatus_SUBSCRIPTION_STATUS_ACTIVE {
			paid = ledger.FormatAmount(s.GetAmount()+s.GetInterest()-s.GetTax(), cur)
		}
		cols[0] = append(cols[0], ledger.FormatAmount(s.GetAmount(), cur))
		cols[1] = append(cols[1], ledger.FormatAmount(s.GetInterest(), cur))
		cols[2] = append(cols[2], ledger.FormatAmount(s.GetTax(), cur))
		cols[3] = append(cols[3], paid)
	}
	for i := range cols {
		cols[i] = alignRight(cols[i])
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "CUSTOMER\tSTATUS\t%s\tMATURES\t%s\t%s\t%s\tCLOSED\n", cols[0][0], cols[1][0], cols[2][0], cols[3][0])
	for i, s := range subs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.GetCustomerId(),
			label(s.GetStatus().String(), "SUBSCRIPTION_STATUS_"), cols[0][i+1], formatTime(s.GetMaturesAt()),
			cols[1][i+1], cols[2][i+1], cols[3][i+1], formatTime(s.GetClosedAt()))
	}
	tw.Flush()
}

func promoCancel(c *cli, fs *flag.FlagSet) func(context.Context, []string) error {
	requestID := requestIDFlag(c, fs)
	return func(ctx context.Context, args []string) error {
		resp, err := call(ctx, c, c.promos().CancelSubscription, &ledgerv1.CancelSubscriptionRequest{
			RequestId: requestID(), PromoId: args[0], CustomerId: args[1],
		})
		if err != nil {
			return err
		}
		return c.show(resp, func(w io.Writer) {
			s := resp.GetSubscription()
			cur := postingCurrency(s.GetPayoutEntry(), s.GetAccountId())
			fmt.Fprintf(w, "cancelled: %s paid back to %s (entry %s, request %s)\n",
				ledger.FormatAmount(s.GetAmount()+s.GetInterest()-s.GetTax(), cur), s.GetFromAccountId(),
				s.GetPayoutEntryId(), c.requestID)
			printFields(w, "principal", ledger.FormatAmount(s.GetAmount(), cur),
				"interest", ledger.FormatAmount(s.GetInterest(), cur), "tax withheld", ledger.FormatAmount(s.GetTax(), cur))
			printPostings(w, s.GetPayoutEntry().GetPostings())
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
		"early rate", formatBps(p.GetEarlyRateBps())+" a year, on cancellation",
		"withholding", formatBps(p.GetWithholdingBps())+" of interest",
		"term", p.GetTerm().AsDuration().String(),
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
