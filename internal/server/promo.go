package server

import (
	"context"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/corebanking/ledger/ledger"
	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

// promos implements ledger.v1.PromoService on the promotions of the
// call's compartment, or p.
type promos struct {
	ledgerv1.UnimplementedPromoServiceServer
	p ledger.Promotions
}

func (s *promos) promotions(ctx context.Context) (ledger.Promotions, error) {
	if p := promotionsFor(ctx, s.p); p != nil {
		return p, nil
	}
	return nil, status.Error(codes.Unimplemented, "promotions are not served here")
}

func (s *promos) CreatePromo(ctx context.Context, r *ledgerv1.CreatePromoRequest) (*ledgerv1.CreatePromoResponse, error) {
	p, err := s.promotions(ctx)
	if err != nil {
		return nil, err
	}
	st, err := p.CreatePromo(ctx, r.Ledger())
	if err != nil {
		return nil, err
	}
	return &ledgerv1.CreatePromoResponse{Promo: promoPB(st)}, nil
}

func (s *promos) GetPromo(ctx context.Context, r *ledgerv1.GetPromoRequest) (*ledgerv1.GetPromoResponse, error) {
	p, err := s.promotions(ctx)
	if err != nil {
		return nil, err
	}
	st, err := p.GetPromo(ctx, r.GetPromoId())
	if err != nil {
		return nil, err
	}
	return &ledgerv1.GetPromoResponse{Promo: promoPB(st)}, nil
}

func (s *promos) Subscribe(ctx context.Context, r *ledgerv1.SubscribeRequest) (*ledgerv1.SubscribeResponse, error) {
	p, err := s.promotions(ctx)
	if err != nil {
		return nil, err
	}
	sub, err := p.Subscribe(ctx, r.Ledger())
	if err != nil {
		return nil, err
	}
	return &ledgerv1.SubscribeResponse{Subscription: subscriptionPB(sub)}, nil
}

func (s *promos) CancelSubscription(ctx context.Context, r *ledgerv1.CancelSubscriptionRequest) (*ledgerv1.CancelSubscriptionResponse, error) {
	p, err := s.promotions(ctx)
	if err != nil {
		return nil, err
	}
	sub, err := p.CancelSubscription(ctx, r.Ledger())
	if err != nil {
		return nil, err
	}
	return &ledgerv1.CancelSubscriptionResponse{Subscription: subscriptionPB(sub)}, nil
}

func (s *promos) ListSubscriptions(ctx context.Context, r *ledgerv1.ListSubscriptionsRequest) (*ledgerv1.ListSubscriptionsResponse, error) {
	p, err := s.promotions(ctx)
	if err != nil {
		return nil, err
	}
	q := r.Ledger()
	subs, err := p.ListSubscriptions(ctx, q)
	if err != nil {
		return nil, err
	}
	out := &ledgerv1.ListSubscriptionsResponse{Subscriptions: make([]*ledgerv1.Subscription, len(subs))}
	for i, sub := range subs {
		out.Subscriptions[i] = subscriptionPB(sub)
	}
	if q.Limit == 0 {
		q.Limit = ledger.DefaultPageSize
	}
	if len(subs) == q.Limit {
		out.NextAfterCustomerId = subs[len(subs)-1].CustomerID
	}
	return out, nil
}

// subscriptionPB is sub on the wire. A subscription listed, not just made,
// carries only its entry's id.
func subscriptionPB(sub ledger.Subscription) *ledgerv1.Subscription {
	out := &ledgerv1.Subscription{
		PromoId: sub.PromoID, CustomerId: sub.CustomerID, AccountId: sub.AccountID, Amount: sub.Amount,
		FromAccountId: sub.FromAccount, Status: ledgerv1.SubscriptionStatus(sub.Status),
		SubscribedAt: timeOrNil(sub.CreatedAt), MaturesAt: timeOrNil(sub.MaturesAt),
		Interest: sub.Interest, Tax: sub.Tax, PayoutEntryId: sub.PayoutEntryID, ClosedAt: timeOrNil(sub.ClosedAt),
	}
	switch {
	case len(sub.Entry.Postings) > 0:
		out.Entry = entryPB(sub.Entry)
	case sub.Entry.ID != "":
		out.Entry = &ledgerv1.Entry{EntryId: sub.Entry.ID}
	}
	if sub.PayoutEntry != nil {
		out.PayoutEntry = entryPB(*sub.PayoutEntry)
	}
	return out
}

// timeOrNil is t on the wire, or nothing for the zero time.
func timeOrNil(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// knownAnswers are the methods whose final answer may be known from memory,
// with how to ask for it: a nil answer leaves the call to its handler.
var knownAnswers = map[string]func(ctx context.Context, p ledger.Promotions, req any) error{
	ledgerv1.PromoService_Subscribe_FullMethodName: knownSubscribeAnswer,
}

// knownSubscribeAnswer is PROMO_SOLD_OUT or PROMO_ALREADY_SUBSCRIBED when
// the promotions know it without the database. An invalid request is left
// to the handler, which says what is wrong with it.
func knownSubscribeAnswer(ctx context.Context, p ledger.Promotions, req any) error {
	pb, ok := req.(*ledgerv1.SubscribeRequest)
	if !ok {
		return nil
	}
	r := pb.Ledger()
	if r.Validate() != nil {
		return nil
	}
	return p.KnownAnswer(ctx, r)
}

func promoPB(st ledger.PromoStatus) *ledgerv1.Promo {
	return &ledgerv1.Promo{
		PromoId: st.ID, Currency: st.Currency, TotalQuota: st.TotalQuota, MaxPerCustomer: st.MaxPerCustomer,
		AnnualRateBps: st.AnnualRateBps, OpensAt: timestamppb.New(st.OpensAt), ClosesAt: timestamppb.New(st.ClosesAt),
		Subscribed: st.Subscribed, Remaining: st.Remaining(), SoldOut: st.SoldOut(),
		Term: durationpb.New(st.Term), EarlyRateBps: st.EarlyRateBps, WithholdingBps: st.WithholdingBps,
	}
}
