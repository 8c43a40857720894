package ledgerv1

// This file is written by hand. It gives each request message a Validate
// method, so that go-grpc-middleware's validator interceptor rejects bad
// input before it reaches a handler, and a Ledger method that turns the
// message into the domain request. The rules themselves live in package
// ledger; this is their only door from the wire.

import (
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/corebanking/ledger/ledger"
)

// Ledger returns the domain request.
func (r *OpenAccountRequest) Ledger() ledger.OpenAccountRequest {
	return ledger.OpenAccountRequest{
		RequestID: r.GetRequestId(), AccountID: r.GetAccountId(), CustomerID: r.GetCustomerId(),
		Currency: r.GetCurrency(), Kind: ledger.Kind(r.GetKind()),
	}
}

// Validate checks r against the ledger's rules.
func (r *OpenAccountRequest) Validate() error { return r.Ledger().Validate() }

// Validate checks r against the ledger's rules.
func (r *GetAccountRequest) Validate() error { return validateAccountID(r.GetAccountId()) }

// Validate checks r against the ledger's rules.
func (r *GetBalanceRequest) Validate() error { return validateAccountID(r.GetAccountId()) }

func validateAccountID(id string) error {
	return ledger.StatementQuery{AccountID: id}.Validate()
}

// Ledger returns the domain query.
func (r *ListEntriesRequest) Ledger() ledger.StatementQuery {
	return ledger.StatementQuery{AccountID: r.GetAccountId(), PageSize: int(r.GetPageSize()), PageToken: r.GetPageToken()}
}

// Validate checks r against the ledger's rules.
func (r *ListEntriesRequest) Validate() error { return r.Ledger().Validate() }

// Ledger returns the domain request.
func (r *DepositRequest) Ledger() ledger.DepositRequest {
	return ledger.DepositRequest{
		RequestID: r.GetRequestId(), AccountID: r.GetAccountId(), Amount: r.GetAmount(),
		Currency: r.GetCurrency(), Memo: r.GetMemo(),
	}
}

// Validate checks r against the ledger's rules.
func (r *DepositRequest) Validate() error { return r.Ledger().Validate() }

// Ledger returns the domain request.
func (r *TransferRequest) Ledger() ledger.TransferRequest {
	return ledger.TransferRequest{
		RequestID: r.GetRequestId(), From: r.GetFromAccountId(), To: r.GetToAccountId(),
		Amount: r.GetAmount(), Currency: r.GetCurrency(), Memo: r.GetMemo(),
	}
}

// Validate checks r against the ledger's rules.
func (r *TransferRequest) Validate() error { return r.Ledger().Validate() }

// Ledger returns the domain request.
func (r *WithdrawRequest) Ledger() ledger.WithdrawRequest {
	return ledger.WithdrawRequest{
		RequestID: r.GetRequestId(), AccountID: r.GetAccountId(), Amount: r.GetAmount(),
		Currency: r.GetCurrency(), ATMID: r.GetAtmId(),
	}
}

// Validate checks r against the ledger's rules.
func (r *WithdrawRequest) Validate() error { return r.Ledger().Validate() }

// Ledger returns the domain request. A negative or malformed ttl becomes -1,
// which Validate rejects.
func (r *PlaceHoldRequest) Ledger() ledger.PlaceHoldRequest {
	req := ledger.PlaceHoldRequest{
		RequestID: r.GetRequestId(), AccountID: r.GetAccountId(), Amount: r.GetAmount(),
		Currency: r.GetCurrency(), ATMID: r.GetAtmId(),
	}
	if ttl := r.GetTtl(); ttl != nil {
		req.TTL = -1
		if ttl.CheckValid() == nil {
			req.TTL = ttl.AsDuration()
		}
	}
	return req
}

// Validate checks r against the ledger's rules.
func (r *PlaceHoldRequest) Validate() error { return r.Ledger().Validate() }

// Ledger returns the domain request.
func (r *CaptureHoldRequest) Ledger() ledger.CaptureHoldRequest {
	return ledger.CaptureHoldRequest{RequestID: r.GetRequestId(), HoldID: r.GetHoldId(), Amount: r.GetAmount()}
}

// Validate checks r against the ledger's rules.
func (r *CaptureHoldRequest) Validate() error { return r.Ledger().Validate() }

// Ledger returns the domain request.
func (r *VoidHoldRequest) Ledger() ledger.VoidHoldRequest {
	return ledger.VoidHoldRequest{RequestID: r.GetRequestId(), HoldID: r.GetHoldId()}
}

// Validate checks r against the ledger's rules.
func (r *VoidHoldRequest) Validate() error { return r.Ledger().Validate() }

// Ledger returns the domain request.
func (r *PostEntryRequest) Ledger() ledger.PostEntryRequest {
	out := ledger.PostEntryRequest{RequestID: r.GetRequestId(), Memo: r.GetMemo()}
	for _, p := range r.GetPostings() {
		out.Postings = append(out.Postings, ledger.Posting{AccountID: p.GetAccountId(), Currency: p.GetCurrency(), Amount: p.GetAmount()})
	}
	return out
}

// Validate checks r against the ledger's rules.
func (r *PostEntryRequest) Validate() error { return r.Ledger().Validate() }

// Ledger returns the domain request.
func (r *ReverseEntryRequest) Ledger() ledger.ReverseEntryRequest {
	return ledger.ReverseEntryRequest{RequestID: r.GetRequestId(), EntryID: r.GetEntryId(), Memo: r.GetMemo()}
}

// Validate checks r against the ledger's rules.
func (r *ReverseEntryRequest) Validate() error { return r.Ledger().Validate() }

// Ledger returns the domain request. An item with no operation set has no
// field set, which the ledger refuses for that item alone.
func (r *SubmitBatchRequest) Ledger() ledger.SubmitBatchRequest {
	out := ledger.SubmitBatchRequest{Atomic: r.GetAtomic(), Items: make([]ledger.BatchItem, len(r.GetItems()))}
	for i, item := range r.GetItems() {
		switch op := item.GetOp().(type) {
		case *BatchItem_Transfer:
			t := op.Transfer.Ledger()
			out.Items[i].Transfer = &t
		case *BatchItem_Deposit:
			d := op.Deposit.Ledger()
			out.Items[i].Deposit = &d
		case *BatchItem_Withdraw:
			w := op.Withdraw.Ledger()
			out.Items[i].Withdraw = &w
		case *BatchItem_PostEntry:
			e := op.PostEntry.Ledger()
			out.Items[i].PostEntry = &e
		}
	}
	return out
}

// Validate checks the batch's own fields; each item is checked as its own
// call would be, and refused alone.
func (r *SubmitBatchRequest) Validate() error {
	return ledger.SubmitBatchRequest{Items: make([]ledger.BatchItem, len(r.GetItems()))}.Validate(ledger.MaxBatchItems)
}

// Ledger returns the domain request.
func (r *CreatePromoRequest) Ledger() ledger.CreatePromoRequest {
	return ledger.CreatePromoRequest{
		RequestID: r.GetRequestId(), PromoID: r.GetPromoId(), Currency: r.GetCurrency(),
		TotalQuota: r.GetTotalQuota(), MaxPerCustomer: r.GetMaxPerCustomer(), AnnualRateBps: r.GetAnnualRateBps(),
		OpensAt: timeOrZero(r.GetOpensAt()), ClosesAt: timeOrZero(r.GetClosesAt()),
		Term: durationOrZero(r.GetTerm()), EarlyRateBps: r.GetEarlyRateBps(), WithholdingBps: r.GetWithholdingBps(),
	}
}

// Validate checks r against the ledger's rules.
func (r *CreatePromoRequest) Validate() error { return r.Ledger().Validate() }

// Validate checks r against the ledger's rules.
func (r *GetPromoRequest) Validate() error { return ledger.ValidatePromoID(r.GetPromoId()) }

// Ledger returns the domain request.
func (r *SubscribeRequest) Ledger() ledger.SubscribeRequest {
	return ledger.SubscribeRequest{
		RequestID: r.GetRequestId(), PromoID: r.GetPromoId(), CustomerID: r.GetCustomerId(),
		FromAccount: r.GetFromAccountId(), Amount: r.GetAmount(), AllowPartial: r.GetAllowPartial(),
	}
}

// Validate checks r against the ledger's rules.
func (r *SubscribeRequest) Validate() error { return r.Ledger().Validate() }

// Ledger returns the domain request.
func (r *CancelSubscriptionRequest) Ledger() ledger.CancelSubscriptionRequest {
	return ledger.CancelSubscriptionRequest{RequestID: r.GetRequestId(), PromoID: r.GetPromoId(), CustomerID: r.GetCustomerId()}
}

// Validate checks r against the ledger's rules.
func (r *CancelSubscriptionRequest) Validate() error { return r.Ledger().Validate() }

// Ledger returns the domain query.
func (r *ListSubscriptionsRequest) Ledger() ledger.SubscriptionQuery {
	return ledger.SubscriptionQuery{PromoID: r.GetPromoId(), After: r.GetAfterCustomerId(), Limit: int(r.GetPageSize())}
}

// Validate checks r against the ledger's rules.
func (r *ListSubscriptionsRequest) Validate() error { return r.Ledger().Validate() }

// durationOrZero returns zero, which Validate rejects as a term, for a
// missing or malformed duration.
func durationOrZero(d *durationpb.Duration) time.Duration {
	if d == nil || d.CheckValid() != nil {
		return 0
	}
	return d.AsDuration()
}

// timeOrZero returns the zero time, which Validate rejects, for a missing
// or malformed timestamp.
func timeOrZero(ts *timestamppb.Timestamp) time.Time {
	if ts == nil || ts.CheckValid() != nil {
		return time.Time{}
	}
	return ts.AsTime()
}

// Ledger returns the domain query.
func (r *ListJournalRequest) Ledger() ledger.JournalQuery {
	return ledger.JournalQuery{After: r.GetAfterSequence(), Limit: int(r.GetLimit())}
}

// Validate checks r against the ledger's rules.
func (r *ListJournalRequest) Validate() error { return r.Ledger().Validate() }

// Validate checks r against the ledger's rules.
func (r *StreamJournalRequest) Validate() error {
	return ledger.ValidateStreamFrom(r.GetFromSequence())
}

// Ledger returns the domain range.
func (r *VerifyJournalRequest) Ledger() ledger.JournalRange {
	return ledger.JournalRange{From: r.GetFromSequence(), To: r.GetToSequence()}
}

// Validate checks r against the ledger's rules.
func (r *VerifyJournalRequest) Validate() error { return r.Ledger().Validate() }

// Ledger returns the domain entry, as a client needs it to recompute the
// entry's chain hash (ledger.ChainVerifier).
func (e *Entry) Ledger() ledger.Entry {
	out := ledger.Entry{
		ID: e.GetEntryId(), Kind: ledger.EntryKind(e.GetKind()), RequestID: e.GetRequestId(),
		Actor: ledger.Actor(e.GetActor()), Memo: e.GetMemo(), PostedAt: e.GetPostedAt().AsTime().UTC(),
		ReversesEntryID: e.GetReversesEntryId(),
	}
	for _, p := range e.GetPostings() {
		out.Postings = append(out.Postings, ledger.Posting{AccountID: p.GetAccountId(), Currency: p.GetCurrency(), Amount: p.GetAmount()})
	}
	return out
}

// Ledger returns the domain record.
func (r *JournalRecord) Ledger() ledger.Record {
	return ledger.Record{
		Sequence: r.GetSequence(), Entry: r.GetEntry().Ledger(), PrevHash: r.GetPrevHash(), Hash: r.GetHash(),
		SealedAt: r.GetSealedAt().AsTime().UTC(), SealedBy: r.GetSealedBy(), LeaseEpoch: r.GetLeaseEpoch(),
	}
}

// Ledger returns the domain request.
func (r *SetAccountStatusRequest) Ledger() ledger.SetAccountStatusRequest {
	return ledger.SetAccountStatusRequest{RequestID: r.GetRequestId(), AccountID: r.GetAccountId(),
		Status: ledger.Status(r.GetStatus()), Reason: r.GetReason()}
}

// Validate checks r against the ledger's rules.
func (r *SetAccountStatusRequest) Validate() error { return r.Ledger().Validate() }

// Ledger returns the domain query.
func (r *GetInclusionProofRequest) Ledger() ledger.InclusionQuery {
	return ledger.InclusionQuery{EntryID: r.GetEntryId(), Sequence: r.GetSequence(), TreeSize: r.GetTreeSize()}
}

// Validate checks r against the ledger's rules.
func (r *GetInclusionProofRequest) Validate() error { return r.Ledger().Validate() }

// Ledger returns the domain query.
func (r *GetConsistencyProofRequest) Ledger() ledger.ConsistencyQuery {
	return ledger.ConsistencyQuery{From: r.GetFromTreeSize(), To: r.GetToTreeSize()}
}

// Validate checks r against the ledger's rules.
func (r *GetConsistencyProofRequest) Validate() error { return r.Ledger().Validate() }
