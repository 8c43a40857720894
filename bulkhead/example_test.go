package bulkhead_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/corebanking/ledger/bulkhead"
)

func Example() {
	payments := bulkhead.New(bulkhead.Settings{Name: "payments", MaxConcurrent: 4})
	errInsufficientFunds := errors.New("insufficient funds")

	err := payments.Do(context.Background(), func(ctx context.Context) error {
		return errInsufficientFunds // a business outcome: a success to the breaker
	})
	fmt.Println(err)

	st := payments.Stats()
	fmt.Println(st.Name, st.State, st.Admitted, st.Successes, st.Failures)
	// Output:
	// insufficient funds
	// payments closed 1 1 0
}

func ExampleCompartment_TryReject() {
	audit := bulkhead.New(bulkhead.Settings{Name: "audit", MaxConcurrent: 1, MaxQueue: -1})
	_, release, _ := audit.Admit(context.Background()) // the only slot is taken

	err := audit.TryReject()
	fmt.Println(err)
	fmt.Println(errors.Is(err, bulkhead.ErrSaturated), audit.RetryAfter())

	release(nil)
	fmt.Println(audit.TryReject())
	// Output:
	// bulkhead audit: rejected: saturated
	// true 50ms
	// <nil>
}

func ExampleCompartment_Admit() {
	teller := bulkhead.New(bulkhead.Settings{Name: "teller"})

	// As in a gRPC unary interceptor: admit, run the handler, report.
	ctx, release, err := teller.Admit(context.Background())
	if err != nil {
		fmt.Println("rejected:", err) // map to RESOURCE_EXHAUSTED/UNAVAILABLE
		return
	}
	_, hasDeadline := ctx.Deadline()
	release(nil)

	fmt.Println(hasDeadline, teller.Stats().Successes)
	// Output:
	// true 1
}
