package server

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/grpc/status"

	"github.com/corebanking/ledger/ledger"
	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

// accounts implements ledger.v1.AccountService on a ledger.
type accounts struct {
	ledgerv1.UnimplementedAccountServiceServer
	l ledger.Ledger
}

func (s *accounts) OpenAccount(ctx context.Context, r *ledgerv1.OpenAccountRequest) (*ledgerv1.OpenAccountResponse, error) {
	a, err := ledgerFor(ctx, s.l).OpenAccount(ctx, r.Ledger())
	if err != nil {
		return nil, err
	}
	return &ledgerv1.OpenAccountResponse{Account: accountPB(a)}, nil
}

func (s *accounts) GetAccount(ctx context.Context, r *ledgerv1.GetAccountRequest) (*ledgerv1.GetAccountResponse, error) {
	a, err := ledgerFor(ctx, s.l).GetAccount(ctx, r.GetAccountId())
	if err != nil {
		return nil, err
	}
	return &ledgerv1.GetAccountResponse{Account: accountPB(a)}, nil
}

func (s *accounts) GetBalance(ctx context.Context, r *ledgerv1.GetBalanceRequest) (*ledgerv1.GetBalanceResponse, error) {
	b, err := ledgerFor(ctx, s.l).GetBalance(ctx, r.GetAccountId())
	if err != nil {
		return nil, err
	}
	return &ledgerv1.GetBalanceResponse{Balance: balancePB(b)}, nil
}

func (s *accounts) ListEntries(ctx context.Context, r *ledgerv1.ListEntriesRequest) (*ledgerv1.ListEntriesResponse, error) {
	p, err := ledgerFor(ctx, s.l).ListEntries(ctx, r.Ledger())
	if err != nil {
		return nil, err
	}
	return statementPB(p), nil
}

func (s *accounts) SetAccountStatus(ctx context.Context, r *ledgerv1.SetAccountStatusRequest) (*ledgerv1.SetAccountStatusResponse, error) {
	a, err := ledgerFor(ctx, s.l).SetAccountStatus(ctx, r.Ledger())
	if err != nil {
		return nil, err
	}
	return &ledgerv1.SetAccountStatusResponse{Account: accountPB(a)}, nil
}

// payments implements ledger.v1.PaymentService on a ledger.
type payments struct {
	ledgerv1.UnimplementedPaymentServiceServer
	l   ledger.Ledger
	now func() time.Time
	log *slog.Logger
}

func (s *payments) Deposit(ctx context.Context, r *ledgerv1.DepositRequest) (*ledgerv1.DepositResponse, error) {
	e, err := ledgerFor(ctx, s.l).Deposit(ctx, r.Ledger())
	if err != nil {
		return nil, err
	}
	return &ledgerv1.DepositResponse{Entry: entryPB(e)}, nil
}

func (s *payments) Transfer(ctx context.Context, r *ledgerv1.TransferRequest) (*ledgerv1.TransferResponse, error) {
	e, err := ledgerFor(ctx, s.l).Transfer(ctx, r.Ledger())
	if err != nil {
		return misacknowledge(ctx, r, err)
	}
	return &ledgerv1.TransferResponse{Entry: entryPB(e)}, nil
}

func (s *payments) Withdraw(ctx context.Context, r *ledgerv1.WithdrawRequest) (*ledgerv1.WithdrawResponse, error) {
	e, err := ledgerFor(ctx, s.l).Withdraw(ctx, r.Ledger())
	if err != nil {
		return nil, err
	}
	return &ledgerv1.WithdrawResponse{Entry: entryPB(e)}, nil
}

func (s *payments) PlaceHold(ctx context.Context, r *ledgerv1.PlaceHoldRequest) (*ledgerv1.PlaceHoldResponse, error) {
	h, err := ledgerFor(ctx, s.l).PlaceHold(ctx, r.Ledger())
	if err != nil {
		return nil, err
	}
	return &ledgerv1.PlaceHoldResponse{Hold: holdPB(h, s.now)}, nil
}

func (s *payments) CaptureHold(ctx context.Context, r *ledgerv1.CaptureHoldRequest) (*ledgerv1.CaptureHoldResponse, error) {
	c, err := ledgerFor(ctx, s.l).CaptureHold(ctx, r.Ledger())
	if err != nil {
		return nil, err
	}
	return &ledgerv1.CaptureHoldResponse{Hold: holdPB(c.Hold, s.now), Entry: entryPB(c.Entry)}, nil
}

func (s *payments) VoidHold(ctx context.Context, r *ledgerv1.VoidHoldRequest) (*ledgerv1.VoidHoldResponse, error) {
	h, err := ledgerFor(ctx, s.l).VoidHold(ctx, r.Ledger())
	if err != nil {
		return nil, err
	}
	return &ledgerv1.VoidHoldResponse{Hold: holdPB(h, s.now)}, nil
}

func (s *payments) PostEntry(ctx context.Context, r *ledgerv1.PostEntryRequest) (*ledgerv1.PostEntryResponse, error) {
	e, err := ledgerFor(ctx, s.l).PostEntry(ctx, r.Ledger())
	if err != nil {
		return nil, err
	}
	return &ledgerv1.PostEntryResponse{Entry: entryPB(e)}, nil
}

func (s *payments) ReverseEntry(ctx context.Context, r *ledgerv1.ReverseEntryRequest) (*ledgerv1.ReverseEntryResponse, error) {
	e, err := ledgerFor(ctx, s.l).ReverseEntry(ctx, r.Ledger())
	if err != nil {
		return nil, err
	}
	return &ledgerv1.ReverseEntryResponse{Entry: entryPB(e)}, nil
}

// SubmitBatch authorizes each item as its own call, refusing for that item
// alone what its caller may not call (in an atomic batch, then, the whole
// batch), and gives each item its result: its entry, or the status its own
// call would have returned.
func (s *payments) SubmitBatch(ctx context.Context, r *ledgerv1.SubmitBatchRequest) (*ledgerv1.SubmitBatchResponse, error) {
	if limit := batchLimit(ctx); len(r.GetItems()) > limit {
		return nil, &ledger.Error{Code: ledger.CodeInvalidArgument, Message: "batch over the compartment's limit",
			Fields: []ledger.FieldViolation{{Field: "items", Description: fmt.Sprintf("must have at most %d items", limit)}}}
	}
	req := r.Ledger()
	results := make([]ledger.BatchResult, len(req.Items))
	allowed := ledger.SubmitBatchRequest{Atomic: req.Atomic}
	var at []int // the item of each allowed one
	for i, item := range req.Items {
		if m := itemMethod(item); m != "" && !mayCall(ctx, m) {
			results[i].Err = transportError(reasonPermissionDenied, CallID(ctx))
			continue
		}
		allowed.Items, at = append(allowed.Items, item), append(at, i)
	}
	switch {
	case req.Atomic && len(at) < len(req.Items):
		for _, i := range at {
			results[i].Err = ledger.Errorf(ledger.CodeBatchItemNotApplied, "another item may not be called")
		}
	case len(at) > 0:
		out, err := ledgerFor(ctx, s.l).SubmitBatch(ctx, allowed)
		if err != nil {
			return nil, err
		}
		for k, res := range out {
			results[at[k]] = res
		}
	}
	resp := &ledgerv1.SubmitBatchResponse{Results: make([]*ledgerv1.BatchResult, len(results))}
	for i, res := range results {
		if res.Err != nil {
			st := status.Convert(toStatus(ctx, s.log, ledgerv1.PaymentService_SubmitBatch_FullMethodName, res.Err))
			resp.Results[i] = &ledgerv1.BatchResult{Outcome: &ledgerv1.BatchResult_Error{Error: st.Proto()}}
			continue
		}
		resp.Results[i] = &ledgerv1.BatchResult{Outcome: &ledgerv1.BatchResult_Entry{Entry: entryPB(res.Entry)}}
	}
	return resp, nil
}

// itemMethod is the call that a batch item stands for.
func itemMethod(item ledger.BatchItem) string {
	switch {
	case item.Transfer != nil:
		return ledgerv1.PaymentService_Transfer_FullMethodName
	case item.Deposit != nil:
		return ledgerv1.PaymentService_Deposit_FullMethodName
	case item.Withdraw != nil:
		return ledgerv1.PaymentService_Withdraw_FullMethodName
	case item.PostEntry != nil:
		return ledgerv1.PaymentService_PostEntry_FullMethodName
	}
	return ""
}
