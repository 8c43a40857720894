package ctl

import (
	"context"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

func (c *cli) admin() ledgerv1.AdminServiceClient { return ledgerv1.NewAdminServiceClient(c.conn) }

// compartments shows the live state of every bulkhead compartment.
func compartments(c *cli, _ *flag.FlagSet) func(context.Context, []string) error {
	return func(ctx context.Context, _ []string) error {
		resp, err := call(ctx, c, c.admin().ListCompartments, &ledgerv1.ListCompartmentsRequest{})
		if err != nil {
			return err
		}
		return c.show(resp, func(w io.Writer) {
			if !resp.GetBulkheads() {
				fmt.Fprintln(w, "bulkheads are OFF: every method shares one compartment")
			}
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "compartment\tbreaker\tin flight\tqueued\tslots\tlimit\tqueue\tadmitted\tfailures\trejected\tpool\t")
			for _, p := range resp.GetCompartments() {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%d\t%d\t%d\t%s\t%d/%d\t\n", p.GetName(), p.GetBreakerState(),
					p.GetInFlight(), p.GetQueued(), p.GetMaxConcurrent(), limit(p), p.GetMaxQueue(), p.GetAdmitted(),
					p.GetFailures(), rejected(p.GetRejected()), p.GetPoolAcquiredConns(), p.GetPoolMaxConns())
			}
			tw.Flush()
		})
	}
}

// limit renders a compartment's concurrency limit: "fixed", or the
// adaptive limit now and its bounds, e.g. "2 (1-4)".
func limit(p *ledgerv1.Compartment) string {
	if p.GetMinConcurrent() == 0 {
		return "fixed"
	}
	return fmt.Sprintf("%d (%d-%d)", p.GetLimit(), p.GetMinConcurrent(), p.GetMaxConcurrent())
}

// rejected renders the non-zero rejection counts, e.g. "saturated=12 circuit-open=40".
func rejected(m map[string]uint64) string {
	var parts []string
	for reason, n := range m {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", reason, n))
		}
	}
	if len(parts) == 0 {
		return "0"
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}
