//go:build !soakbug

package server

import (
	"context"

	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

// misacknowledge returns a failed transfer's error as it is. Built with
// -tags soakbug, it acknowledges some failed transfers instead, to show
// that the fault soak catches a ledger that does (see soakbug.go).
func misacknowledge(_ context.Context, _ *ledgerv1.TransferRequest, err error) (*ledgerv1.TransferResponse, error) {
	return nil, err
}
