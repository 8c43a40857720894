package server

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/corebanking/ledger/ledger"
	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

// Every code the ledger declares must have a row in the one table, with a
// message in both languages.
func TestReasonsCoverEveryCode(t *testing.T) {
	codes := []ledger.Code{
		ledger.CodeInvalidArgument, ledger.CodeAccountNotFound, ledger.CodeAccountExists, ledger.CodeAccountFrozen,
		ledger.CodeAccountClosed, ledger.CodeCurrencyMismatch, ledger.CodeInsufficientFunds,
		ledger.CodeBalanceLimitExceeded, ledger.CodeIdempotencyConflict, ledger.CodeHoldNotFound,
		ledger.CodeHoldExpired, ledger.CodeHoldNotActive, ledger.CodeHoldAmountExceeded, ledger.CodeUnavailable,
		ledger.CodePromoNotFound, ledger.CodePromoExists, ledger.CodePromoSoldOut, ledger.CodePromoNotOpen,
		ledger.CodePromoClosed, ledger.CodePromoAlreadySubscribed, ledger.CodePromoLimitExceeded,
		ledger.CodeInternal, ledger.CodeMalformedRequest, ledger.CodeRequestTooLarge,
	}
	for _, c := range codes {
		r, ok := reasons[c]
		if !ok || r.en == "" || r.ko == "" {
			t.Errorf("%s: no complete row in the reasons table", c)
		}
	}
	if len(reasons) != len(codes) {
		t.Errorf("reasons has %d rows, the ledger declares %d codes", len(reasons), len(codes))
	}
}

// The domain and wire enums share their numbering; the conversions rely on it.
func TestEnumsAlign(t *testing.T) {
	pairs := []struct{ domain, wire string }{
		{ledger.KindCustomer.String(), ledgerv1.AccountKind_ACCOUNT_KIND_CUSTOMER.String()},
		{ledger.KindInternal.String(), ledgerv1.AccountKind_ACCOUNT_KIND_INTERNAL.String()},
		{ledger.StatusActive.String(), ledgerv1.AccountStatus(ledger.StatusActive).String()},
		{ledger.StatusFrozen.String(), ledgerv1.AccountStatus(ledger.StatusFrozen).String()},
		{ledger.StatusClosed.String(), ledgerv1.AccountStatus(ledger.StatusClosed).String()},
		{ledger.EntryDeposit.String(), ledgerv1.EntryKind(ledger.EntryDeposit).String()},
		{ledger.EntryTransfer.String(), ledgerv1.EntryKind(ledger.EntryTransfer).String()},
		{ledger.EntryWithdrawal.String(), ledgerv1.EntryKind(ledger.EntryWithdrawal).String()},
		{ledger.EntryHoldCapture.String(), ledgerv1.EntryKind(ledger.EntryHoldCapture).String()},
		{ledger.EntryPromoSubscription.String(), ledgerv1.EntryKind(ledger.EntryPromoSubscription).String()},
		{ledger.EntryAccountOpening.String(), ledgerv1.EntryKind(ledger.EntryAccountOpening).String()},
		{ledger.EntryHoldPlacement.String(), ledgerv1.EntryKind(ledger.EntryHoldPlacement).String()},
		{ledger.EntryHoldVoid.String(), ledgerv1.EntryKind(ledger.EntryHoldVoid).String()},
		{ledger.HoldActive.String(), ledgerv1.HoldStatus(ledger.HoldActive).String()},
		{ledger.HoldCaptured.String(), ledgerv1.HoldStatus(ledger.HoldCaptured).String()},
		{ledger.HoldVoided.String(), ledgerv1.HoldStatus(ledger.HoldVoided).String()},
		{ledger.HoldExpired.String(), ledgerv1.HoldStatus(ledger.HoldExpired).String()},
	}
	for _, p := range pairs {
		if !strings.HasSuffix(p.wire, "_"+p.domain) {
			t.Errorf("domain %s maps to wire %s", p.domain, p.wire)
		}
	}
	if ledger.Kind(ledgerv1.AccountKind_ACCOUNT_KIND_CUSTOMER) != ledger.KindCustomer {
		t.Error("AccountKind numbering differs")
	}
}

// An internal error reaches the caller as a plain message with a call id;
// its detail stays in the log.
func TestInternalErrorHidesDetail(t *testing.T) {
	var log strings.Builder
	logger := slog.New(slog.NewTextHandler(&log, nil))
	ctx := context.WithValue(context.Background(), callIDKey{}, "call-1")
	secret := errors.New(`pq: relation "accounts" does not exist at 10.0.0.7`)
	err := toStatus(ctx, logger, "/ledger.v1.PaymentService/Transfer", secret)
	st := status.Convert(err)
	if st.Code() != codes.Internal || strings.Contains(st.Message(), "accounts") {
		t.Fatalf("status = %v", st)
	}
	var info *errdetails.ErrorInfo
	for _, d := range st.Details() {
		if i, ok := d.(*errdetails.ErrorInfo); ok {
			info = i
		}
	}
	if info == nil || info.Reason != "INTERNAL" || info.Metadata["call_id"] != "call-1" {
		t.Fatalf("error info = %v", info)
	}
	if !strings.Contains(log.String(), "relation") || !strings.Contains(log.String(), "call-1") {
		t.Fatalf("the log lacks the detail: %s", log.String())
	}
}
