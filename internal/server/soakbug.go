//go:build soakbug

package server

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/corebanking/ledger/ledger"
	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

// A deliberately broken ledger, built only with -tags soakbug, for showing
// that the fault soak (ledger-soak --tags soakbug) catches what it is
// meant to: a transfer whose commit failed, or whose commit's fate is
// unknown, is acknowledged as if it had been posted, with an entry made up
// on the spot. This is the bug of a retry helper that reports a rolled-back
// transaction as done. Without faults it never shows.
func misacknowledge(ctx context.Context, r *ledgerv1.TransferRequest, err error) (*ledgerv1.TransferResponse, error) {
	var le *ledger.Error
	if !errors.As(err, &le) || (le.Code != ledger.CodeDatabaseUnavailable && le.Code != ledger.CodeOutcomeUnknown) {
		return nil, err
	}
	e := ledger.NewMove(ledger.EntryTransfer, r.GetRequestId(), r.GetMemo(), r.GetFromAccountId(), r.GetToAccountId(),
		r.GetCurrency(), r.GetAmount())
	e.ID, e.PostedAt, e.Actor = uuid.NewString(), time.Now().UTC(), ledger.ActorFrom(ctx)
	return &ledgerv1.TransferResponse{Entry: entryPB(e)}, nil
}
