package pgtest

import (
	"fmt"

	"github.com/cockroachdb/cockroach-go/v2/testserver"
)

// startCockroach starts a single-node, in-memory CockroachDB from bin.
func startCockroach(bin string) (func() error, error) {
	ts, err := testserver.NewTestServer(testserver.CockroachBinaryPathOpt(bin))
	if err != nil {
		return nil, fmt.Errorf("start CockroachDB %s: %w", bin, err)
	}
	adminURL = ts.PGURL().String()
	return func() error { ts.Stop(); return nil }, nil
}
