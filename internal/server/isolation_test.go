package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/corebanking/ledger/internal/ctl"
	"github.com/corebanking/ledger/internal/ledgerd"
	"github.com/corebanking/ledger/internal/pgtest"
	"github.com/corebanking/ledger/ledger/cockroach"
	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

// promoMethod is the promotion stampede's method.
const promoMethod = ledgerv1.PromoService_Subscribe_FullMethodName

// stormServer is a real ledgerd on a real database whose promo database work
// is slow while slow is set.
type stormServer struct {
	m        *ledgerd.Main
	conn     *grpc.ClientConn
	accounts ledgerv1.AccountServiceClient
	payments ledgerv1.PaymentServiceClient
	promos   ledgerv1.PromoServiceClient
	admin    ledgerv1.AdminServiceClient
	health   healthpb.HealthClient
	slow     atomic.Bool
}

func startStormServer(t testing.TB, bulkheadsOff bool) *stormServer {
	t.Helper()
	s := &stormServer{}
	iso := ledgerd.DefaultIsolation()
	for _, kv := range []string{
		"promo.max_concurrent=2", "promo.max_queue=2", "promo.max_wait=20ms", "promo.timeout=300ms",
		"promo.min_requests=5", "promo.open_timeout=1s", "promo.half_open_probes=2",
		"routine.max_concurrent=8", "routine.pool_size=8", "shared.max_concurrent=8", "shared.max_queue=16",
		"shared.pool_size=8", "shared.timeout=300ms", "shared.min_requests=5", "shared.open_timeout=1s",
	} {
		if err := iso.Set(kv); err != nil {
			t.Fatal(err)
		}
	}
	m, err := ledgerd.Run(context.Background(), ledgerd.Config{
		DatabaseURL: pgtest.NewDatabase(t), Listen: "127.0.0.1:0", AdminListen: "127.0.0.1:0",
		Isolation: &iso, BulkheadsOff: bulkheadsOff, Plaintext: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		StoreOptions: func(_ string, opt *cockroach.Options) {
			// Slow promo database work: hold the transaction (and its
			// connection) open before committing, until the deadline.
			opt.BeforeCommit = func(ctx context.Context, _ int) error {
				if m, _ := grpc.Method(ctx); m != promoMethod || !s.slow.Load() {
					return nil
				}
				<-ctx.Done()
				return ctx.Err()
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	s.m, s.conn = m, MustDial(t, m.Server.Addr())
	s.accounts, s.payments = ledgerv1.NewAccountServiceClient(s.conn), ledgerv1.NewPaymentServiceClient(s.conn)
	s.admin, s.health = ledgerv1.NewAdminServiceClient(s.conn), healthpb.NewHealthClient(s.conn)
	s.promos = ledgerv1.NewPromoServiceClient(s.conn)

	ctx := context.Background()
	now := time.Now()
	if _, err := s.promos.CreatePromo(ctx, &ledgerv1.CreatePromoRequest{RequestId: "create", PromoId: "special", Currency: "KRW",
		TotalQuota: 1_000_000_000, MaxPerCustomer: 10_000_000, AnnualRateBps: 500,
		OpensAt: timestamppb.New(now.Add(-time.Minute)), ClosesAt: timestamppb.New(now.Add(time.Hour)),
		Term: durationpb.New(365 * 24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		id := fmt.Sprintf("c%d", i)
		if _, err := s.accounts.OpenAccount(ctx, &ledgerv1.OpenAccountRequest{RequestId: "o" + id, AccountId: id, CustomerId: id,
			Currency: "KRW", Kind: ledgerv1.AccountKind_ACCOUNT_KIND_CUSTOMER}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.payments.Deposit(ctx, &ledgerv1.DepositRequest{RequestId: "d" + id, AccountId: id, Amount: 1_000_000, Currency: "KRW"}); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// openPromoMetric is the metric of an open promo breaker.
const openPromoMetric = `ledger_compartment_breaker_state{compartment="promo"} 2`

// stormResult is what the routine callers and the flood saw.
type stormResult struct {
	routineOK, routineFailed atomic.Int64
	routineErrs              sync.Map // code -> count
	promoRejections          []error
	sawOpen, sawNotServing   bool
	otherNotServing          bool
	compartmentsOutput       string
	metrics                  string
}

// storm floods the promo method with slow calls while routine callers
// transfer, withdraw and read balances, each within a 2s deadline.
func (s *stormServer) storm(t *testing.T, d time.Duration) *stormResult {
	t.Helper()
	res := &stormResult{}
	s.slow.Store(true)
	ctx, stop := context.WithTimeout(context.Background(), d)
	defer stop()
	var wg sync.WaitGroup
	var rejMu sync.Mutex
	sampled := map[codes.Code]int{}
	var seq atomic.Int64
	for w := range 24 { // the flood: many times the promo compartment's capacity
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				_, err := s.promos.Subscribe(cctx, &ledgerv1.SubscribeRequest{RequestId: fmt.Sprintf("p%d-%d", w, seq.Add(1)),
					PromoId: "special", CustomerId: "c0", FromAccountId: "c0", Amount: 1_000})
				cancel()
				if c := status.Code(err); c == codes.ResourceExhausted || c == codes.Unavailable {
					rejMu.Lock()
					if sampled[c]++; sampled[c] <= 100 { // a sample of each kind
						res.promoRejections = append(res.promoRejections, err)
					}
					rejMu.Unlock()
				}
			}
		}()
	}
	for w := range 3 { // routine callers
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				var err error
				from, to := fmt.Sprintf("c%d", 1+(i+w)%9), fmt.Sprintf("c%d", 1+(i+w+1)%9)
				switch i % 3 {
				case 0:
					_, err = s.payments.Transfer(cctx, &ledgerv1.TransferRequest{RequestId: fmt.Sprintf("t%d-%d", w, i),
						FromAccountId: from, ToAccountId: to, Amount: 10, Currency: "KRW"})
				case 1:
					_, err = s.payments.Withdraw(cctx, &ledgerv1.WithdrawRequest{RequestId: fmt.Sprintf("w%d-%d", w, i),
						AccountId: from, Amount: 10, Currency: "KRW", AtmId: "atm-1"})
				case 2:
					_, err = s.accounts.GetBalance(cctx, &ledgerv1.GetBalanceRequest{AccountId: from})
				}
				cancel()
				if err != nil {
					res.routineFailed.Add(1)
					n, _ := res.routineErrs.LoadOrStore(status.Code(err).String(), new(atomic.Int64))
					n.(*atomic.Int64).Add(1)
				} else {
					res.routineOK.Add(1)
				}
			}
		}()
	}
	// Watch health on its own, often: the promo breaker may open for a
	// moment only, while the loop below is busy with ledgerctl.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			h, err := s.health.Check(context.Background(), &healthpb.HealthCheckRequest{Service: "ledger.v1.PromoService"})
			if err == nil && h.Status == healthpb.HealthCheckResponse_NOT_SERVING {
				res.sawNotServing = true
			}
			for _, svc := range []string{"ledger.v1.PaymentService", "ledger.v1.AccountService"} {
				if h, err := s.health.Check(context.Background(), &healthpb.HealthCheckRequest{Service: svc}); err != nil ||
					h.Status != healthpb.HealthCheckResponse_SERVING {
					res.otherNotServing = true
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	// Watch the promo compartment, ledgerctl and /metrics.
	for ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
		list, err := s.admin.ListCompartments(context.Background(), &ledgerv1.ListCompartmentsRequest{})
		if err != nil {
			t.Errorf("ListCompartments: %v", err)
			break
		}
		// The breaker may half-open while ledgerctl runs: each view is
		// taken again while the breaker is open until it shows it open.
		for _, c := range list.Compartments {
			if c.BreakerState != "open" {
				continue
			}
			res.sawOpen = true
			if !strings.Contains(res.compartmentsOutput, "open") {
				res.compartmentsOutput = runCtl(t, s.m.Server.Addr(), "compartments")
			}
			if !strings.Contains(res.metrics, openPromoMetric) {
				res.metrics = scrape(t, "http://"+s.m.Server.AdminAddr()+"/metrics")
			}
		}
	}
	wg.Wait()
	s.slow.Store(false)
	return res
}

func runCtl(t *testing.T, addr string, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if code := ctl.Main(context.Background(), append([]string{"--server", addr, "--plaintext"}, args...), &out, &errOut); code != 0 {
		t.Errorf("ledgerctl %v: exit %d: %s", args, code, errOut.String())
	}
	return out.String()
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Errorf("GET %s: %v", url, err)
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestPromoFloodIsIsolated is the July 2019 failure, replayed: a flood of
// slow promotion calls. With bulkheads, the promo breaker opens and its
// callers are told to come back later, while transfers, withdrawals and
// balance reads all succeed within their deadlines; with bulkheads off, the
// same flood takes routine traffic down with it.
func TestPromoFloodIsIsolated(t *testing.T) {
	if testing.Short() {
		t.Skip("storm takes a few seconds")
	}
	t.Run("BulkheadsOn", func(t *testing.T) {
		// Four seconds: the adaptive limit cuts the promo compartment to
		// one slot as its calls grow slow, so its breaker sees its five
		// failures later than with two fixed slots.
		s := startStormServer(t, false)
		res := s.storm(t, 4*time.Second)
		if res.routineFailed.Load() != 0 || res.routineOK.Load() == 0 {
			res.routineErrs.Range(func(k, v any) bool { t.Logf("routine %s: %d", k, v.(*atomic.Int64).Load()); return true })
			t.Fatalf("routine calls: %d ok, %d failed; want all ok", res.routineOK.Load(), res.routineFailed.Load())
		}
		if !res.sawOpen || !res.sawNotServing || res.otherNotServing {
			t.Fatalf("promo breaker open seen: %v, PromoService NOT_SERVING seen: %v, another service not serving: %v",
				res.sawOpen, res.sawNotServing, res.otherNotServing)
		}
		assertRejectionDetails(t, res.promoRejections)
		if !strings.Contains(res.compartmentsOutput, "promo") || !strings.Contains(res.compartmentsOutput, "open") {
			t.Errorf("ledgerctl compartments during the storm:\n%s", res.compartmentsOutput)
		}
		if !strings.Contains(res.metrics, openPromoMetric) {
			t.Errorf("/metrics during the storm lacks the open promo breaker")
		}
		// After the storm: the breaker half-opens, probes succeed, it closes,
		// and health is SERVING again. Each probe is a new customer's: a
		// second request of one who subscribed is answered from memory and
		// never reaches the breaker.
		deadline := time.Now().Add(15 * time.Second)
		for i := 0; ; i++ {
			c := fmt.Sprintf("c%d", 1+i%9)
			_, _ = s.promos.Subscribe(context.Background(), &ledgerv1.SubscribeRequest{RequestId: fmt.Sprintf("after-%d", i),
				PromoId: "special", CustomerId: c, FromAccountId: c, Amount: 1_000})
			list, _ := s.admin.ListCompartments(context.Background(), &ledgerv1.ListCompartmentsRequest{})
			h, _ := s.health.Check(context.Background(), &healthpb.HealthCheckRequest{Service: "ledger.v1.PromoService"})
			if promoState(list) == "closed" && h.GetStatus() == healthpb.HealthCheckResponse_SERVING {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("promo breaker %s and health %v long after the storm", promoState(list), h.GetStatus())
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("routine: %d calls, all ok; %d promo rejections sampled", res.routineOK.Load(), len(res.promoRejections))
	})
	t.Run("BulkheadsOff", func(t *testing.T) {
		s := startStormServer(t, true)
		res := s.storm(t, 4*time.Second)
		if res.routineFailed.Load() == 0 {
			t.Fatalf("with one shared compartment, %d routine calls all succeeded during the flood", res.routineOK.Load())
		}
		res.routineErrs.Range(func(k, v any) bool { t.Logf("routine %s: %d", k, v.(*atomic.Int64).Load()); return true })
		t.Logf("routine: %d ok, %d failed", res.routineOK.Load(), res.routineFailed.Load())
	})
}

func promoState(list *ledgerv1.ListCompartmentsResponse) string {
	for _, c := range list.GetCompartments() {
		if c.Name == "promo" {
			return c.BreakerState
		}
	}
	return "missing"
}

// assertRejectionDetails checks what a client library and a customer get
// from a shed call.
func assertRejectionDetails(t *testing.T, errs []error) {
	t.Helper()
	if len(errs) == 0 {
		t.Fatal("no promo call was rejected")
	}
	reasons := map[string]int{}
	for _, err := range errs {
		st := status.Convert(err)
		var info *errdetails.ErrorInfo
		var retry *errdetails.RetryInfo
		locales := map[string]bool{}
		for _, d := range st.Details() {
			switch d := d.(type) {
			case *errdetails.ErrorInfo:
				info = d
			case *errdetails.RetryInfo:
				retry = d
			case *errdetails.LocalizedMessage:
				locales[d.Locale] = d.Message != ""
			}
		}
		if info != nil && info.Reason == "DATABASE_UNAVAILABLE" && retry != nil && locales["en-US"] && locales["ko-KR"] {
			// Not a rejection: a call that ran and outlasted the promo's
			// budget on the slowed database, told to come back too.
			reasons[info.Reason]++
			continue
		}
		want := map[codes.Code]string{codes.ResourceExhausted: "COMPARTMENT_SATURATED", codes.Unavailable: "CIRCUIT_OPEN"}[st.Code()]
		if info == nil || info.Reason != want || info.Metadata["compartment"] != "promo" || retry == nil ||
			retry.RetryDelay.AsDuration() <= 0 || !locales["en-US"] || !locales["ko-KR"] {
			t.Fatalf("rejection %v: info %v, retry %v, locales %v", st.Code(), info, retry, locales)
		}
		reasons[info.Reason]++
	}
	if reasons["CIRCUIT_OPEN"] == 0 {
		t.Errorf("no CIRCUIT_OPEN rejection among %v", reasons)
	}
	t.Logf("promo rejections: %v", reasons)
}
