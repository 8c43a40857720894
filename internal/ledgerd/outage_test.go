package ledgerd_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/corebanking/ledger/internal/pgserver"
	"github.com/corebanking/ledger/internal/server"
)

// The outage test's bounds: the database stays down this long, health
// must say so within notServingWithin of the stop and SERVING within
// servingWithin of the database's return.
const (
	outageLength     = 20 * time.Second
	notServingWithin = 10 * time.Second
	servingWithin    = 20 * time.Second
)

// TestDatabaseOutage stops ledgerd's PostgreSQL (an external one, given by
// --database-url) for 20 seconds while clients keep paying: overall and
// per-service health are NOT_SERVING and /readyz answers 503 within 10
// seconds and for the rest of the outage, breakers' half-open probes
// notwithstanding; after the database returns, all is SERVING and 200
// within 20 seconds, without a restart; and every acknowledged payment is
// in the books exactly once.
func TestDatabaseOutage(t *testing.T) {
	bin := buildLedgerd(t)
	pg := startExternalPostgres(t)
	dbURL := pg.srv.URL("ledger")
	srv := startLedgerd(t, bin, dbURL)
	db := openPool(t, dbURL)
	accts := openAccounts(t, srv)
	l := startRetryingLoad(t, srv, accts)
	l.waitAcks(t, srv, 50, time.Minute)

	w := watchHealth(t, srv)
	w.expect(t, "before the outage", true, time.Now(), 5*time.Second)
	stopped := time.Now()
	pg.stop(t)
	down := w.expect(t, "with the database stopped", false, stopped, notServingWithin)
	t.Logf("NOT_SERVING and 503 %v after the database stopped", down.Sub(stopped).Round(time.Millisecond))
	time.Sleep(time.Until(stopped.Add(outageLength)))
	pg.start(t)
	restarted := time.Now()
	w.allSince(t, down, restarted, false)
	up := w.expect(t, "after the database returned", true, restarted, servingWithin)
	t.Logf("SERVING and 200 %v after the database returned", up.Sub(restarted).Round(time.Millisecond))
	w.stop()

	acked := l.acks.Load()
	l.waitAcks(t, srv, acked+50, time.Minute)
	l.stop()
	if l.acks.Load() < acked+50 {
		t.Fatalf("payments stalled after the database returned: %d acknowledged, %d before", l.acks.Load(), acked)
	}
	applied, refused := resolveUnknown(t, srv, &l.load, checkBooks(t, db))
	final := checkBooks(t, db)
	assertEntries(t, "after the outage", final, applied, refused)
	assertBalances(t, srv, final, accts, applied)
}

// externalPostgres is a PostgreSQL of the test's own, on a data directory
// it can stop and start again, standing for a database ledgerd does not run.
type externalPostgres struct {
	dir string
	srv *pgserver.Server
}

var fastPostgres = map[string]string{"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}

func startExternalPostgres(t *testing.T) *externalPostgres {
	t.Helper()
	base, err := os.MkdirTemp("", "pgx")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil { // root runs the server as postgres, who must reach base/d
		t.Fatal(err)
	}
	pg := &externalPostgres{dir: filepath.Join(base, "d")}
	pg.start(t)
	t.Cleanup(func() { pg.srv.Stop() })
	if err := pg.srv.CreateDatabase(t.Context(), "ledger"); err != nil {
		t.Fatal(err)
	}
	return pg
}

func (pg *externalPostgres) start(t *testing.T) {
	t.Helper()
	srv, err := pgserver.Start(t.Context(), pgserver.Config{DataDir: pg.dir, Settings: fastPostgres})
	if err != nil {
		t.Fatal(err)
	}
	pg.srv = srv
}

func (pg *externalPostgres) stop(t *testing.T) {
	t.Helper()
	if err := pg.srv.Stop(); err != nil {
		t.Fatal(err)
	}
}

// retryingLoad is clients paying as careful clients do: a payment that
// gets no answer (the server says UNAVAILABLE, or nothing) is sent again
// with the same request id until it is answered, so an outage leaves at
// most one payment of unknown outcome per client.
type retryingLoad struct{ load }

func startRetryingLoad(t *testing.T, s *proc, accts []string) *retryingLoad {
	ctx, cancel := context.WithCancel(context.Background())
	l := &retryingLoad{load{cancel: cancel}}
	t.Cleanup(l.stop)
	for w := range crashWorkers {
		l.wg.Go(func() {
			for seq := 0; ctx.Err() == nil; seq++ {
				o := randomOp(fmt.Sprintf("pay-%02d-%06d", w, seq), accts)
				for {
					callCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
					id, err := o.send(callCtx, s.pay)
					cancel()
					if !retryable(err) || ctx.Err() != nil {
						l.record(o, id, err)
						break
					}
					select {
					case <-ctx.Done():
					case <-time.After(100 * time.Millisecond):
					}
				}
			}
		})
	}
	return l
}

// healthWatch samples a server's health, overall and per service, and its
// /readyz, every 100ms.
type healthWatch struct {
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	samples []healthSample
}

type healthSample struct {
	at         time.Time
	serving    bool // every service, "" included, SERVING and /readyz 200
	notServing bool // every service NOT_SERVING and /readyz 503
	what       string
}

func watchHealth(t *testing.T, s *proc) *healthWatch {
	ctx, cancel := context.WithCancel(context.Background())
	w := &healthWatch{cancel: cancel, done: make(chan struct{})}
	t.Cleanup(w.stop)
	go func() {
		defer close(w.done)
		for ctx.Err() == nil {
			smp := s.sampleHealth(ctx)
			if ctx.Err() != nil {
				return // stopped mid-sample: its calls were cancelled, not answered
			}
			w.mu.Lock()
			w.samples = append(w.samples, smp)
			w.mu.Unlock()
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return w
}

func (w *healthWatch) stop() {
	w.cancel()
	<-w.done
}

// sampleHealth asks for the health of every service and for /readyz.
func (s *proc) sampleHealth(ctx context.Context) healthSample {
	smp := healthSample{at: time.Now(), serving: true, notServing: true}
	for _, svc := range append([]string{""}, server.Services...) {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		resp, err := s.health.Check(cctx, &healthpb.HealthCheckRequest{Service: svc})
		cancel()
		st := resp.GetStatus()
		smp.serving = smp.serving && err == nil && st == healthpb.HealthCheckResponse_SERVING
		smp.notServing = smp.notServing && err == nil && st == healthpb.HealthCheckResponse_NOT_SERVING
		smp.what += fmt.Sprintf("%q=%v ", svc, st)
		if err != nil {
			smp.what += fmt.Sprintf("(%v) ", err)
		}
	}
	code := 0
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.admin+"/readyz", nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		code = resp.StatusCode
		resp.Body.Close()
	}
	smp.serving = smp.serving && code == http.StatusOK
	smp.notServing = smp.notServing && code == http.StatusServiceUnavailable
	smp.what += fmt.Sprintf("/readyz=%d", code)
	return smp
}

// expect waits until a sample taken after from is all SERVING (serving)
// or all NOT_SERVING, for at most limit after from, and returns its time.
func (w *healthWatch) expect(t *testing.T, when string, serving bool, from time.Time, limit time.Duration) time.Time {
	t.Helper()
	for {
		w.mu.Lock()
		var last healthSample
		for _, smp := range w.samples {
			if smp.at.Before(from) {
				continue
			}
			last = smp
			if serving && smp.serving || !serving && smp.notServing {
				w.mu.Unlock()
				return smp.at
			}
		}
		w.mu.Unlock()
		if time.Since(from) > limit {
			t.Fatalf("%s: not %s within %v; last sample: %s", when, map[bool]string{true: "SERVING", false: "NOT_SERVING"}[serving], limit, last.what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// allSince checks that every sample taken between from and to is all
// SERVING (serving) or all NOT_SERVING.
func (w *healthWatch) allSince(t *testing.T, from, to time.Time, serving bool) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, smp := range w.samples {
		if smp.at.Before(from) || smp.at.After(to) {
			continue
		}
		n++
		if serving && !smp.serving || !serving && !smp.notServing {
			t.Errorf("at %s (%v after the first NOT_SERVING): %s", smp.at.Format("15:04:05.000"), smp.at.Sub(from).Round(time.Millisecond), smp.what)
		}
	}
	if n < int(to.Sub(from)/time.Second) {
		t.Errorf("only %d health samples in %v", n, to.Sub(from))
	}
}
