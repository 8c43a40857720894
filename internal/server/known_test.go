package server_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

// TestKnownAnswerWinsOverBusy proves the order of checks: while the promo
// compartment is full of slow calls (and its breaker may open), a customer
// who already subscribed is still told PROMO_ALREADY_SUBSCRIBED, a final
// answer, never "busy, try again", and the answer is counted as one given
// from memory.
func TestKnownAnswerWinsOverBusy(t *testing.T) {
	s := startStormServer(t, false)
	ctx := context.Background()
	sub := func(i int, rid string) *ledgerv1.SubscribeRequest {
		id := fmt.Sprintf("c%d", i)
		return &ledgerv1.SubscribeRequest{RequestId: rid, PromoId: "special", CustomerId: id, FromAccountId: id, Amount: 1_000}
	}
	if _, err := s.promos.Subscribe(ctx, sub(0, "first")); err != nil {
		t.Fatal(err)
	}

	s.slow.Store(true)
	flood, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	busy := make(chan codes.Code, 1)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; flood.Err() == nil; n++ {
				_, err := s.promos.Subscribe(flood, sub(1+w, fmt.Sprintf("flood-%d-%d", w, n)))
				if c := status.Code(err); c == codes.ResourceExhausted || c == codes.Unavailable {
					select {
					case busy <- c:
					default:
					}
				}
			}
		}()
	}
	defer func() { cancel(); wg.Wait() }()
	select { // the compartment is refusing new work
	case <-busy:
	case <-time.After(10 * time.Second):
		t.Fatal("the flood never saturated the promo compartment")
	}
	for n := range 50 {
		_, err := s.promos.Subscribe(ctx, sub(0, fmt.Sprintf("again-%d", n)))
		AssertReason(t, err, codes.AlreadyExists, "PROMO_ALREADY_SUBSCRIBED")
	}
	cancel()
	wg.Wait()
	want := `ledger_compartment_known_answers_total{compartment="promo",reason="PROMO_ALREADY_SUBSCRIBED"} 50`
	if m := scrape(t, "http://"+s.m.Server.AdminAddr()+"/metrics"); !strings.Contains(m, want) {
		t.Errorf("/metrics lacks %s", want)
	}
}

// BenchmarkRepeatedSubscribe measures what a repeated tap costs the server
// once its answer is known: Subscribe by a customer who already
// subscribed, over a real connection, beside a health check, the control
// flood's call. Profile it with -cpuprofile.
func BenchmarkRepeatedSubscribe(b *testing.B) {
	s := startStormServer(b, false)
	ctx := context.Background()
	first := &ledgerv1.SubscribeRequest{RequestId: "first", PromoId: "special", CustomerId: "c0", FromAccountId: "c0", Amount: 1_000}
	if _, err := s.promos.Subscribe(ctx, first); err != nil {
		b.Fatal(err)
	}
	b.Run("AlreadySubscribed", func(b *testing.B) {
		var n atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				r := &ledgerv1.SubscribeRequest{RequestId: fmt.Sprintf("again-%d", n.Add(1)), PromoId: "special",
					CustomerId: "c0", FromAccountId: "c0", Amount: 1_000}
				if _, err := s.promos.Subscribe(ctx, r); status.Code(err) != codes.AlreadyExists {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("HealthCheck", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.health.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}
