package server

import (
	"context"
	"time"

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

// payments implements ledger.v1.PaymentService on a ledger.
type payments struct {
	ledgerv1.UnimplementedPaymentServiceServer
	l   ledger.Ledger
	now func() time.Time
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
