// Package server is the gRPC face of the ledger: it serves ledger.v1 over a
// chain of interceptors (call ids, metrics, logging, recovery, error mapping,
// validation), the standard health service and reflection, and an admin
// HTTP port with /metrics, /livez, /readyz, /healthz and the journal's
// public key at /journal/key.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"regexp"
	"sync"
	"time"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	"github.com/corebanking/ledger/ledger"
	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

// Config configures a Server. Zero values mean the documented defaults.
type Config struct {
	// Listen is the gRPC address; "127.0.0.1:7070" by default. Port 0 picks a free port.
	Listen string
	// AdminListen is the HTTP address for /metrics and health (see
	// adminHandler); "127.0.0.1:7071" by default. "-" turns the admin port
	// off. Start refuses an address other machines can reach unless
	// AdminPublic is set.
	AdminListen string
	// AdminPublic allows AdminListen to be an address other machines can
	// reach: the admin port has no authentication.
	AdminPublic bool
	// Ledger and Promotions serve every call when no compartment is configured. With
	// compartments, Start refuses a method of Services that Methods does
	// not map: each runs on its compartment's ledger.
	Ledger     ledger.Ledger
	Promotions ledger.Promotions
	// Journal serves AuditService, on a read-only database role, whichever
	// compartment admits its calls. Without it AuditService is unimplemented.
	Journal ledger.Journal
	// JournalPoll is how often a journal stream that has caught up looks
	// for new records; 250ms by default.
	JournalPoll time.Duration
	// Compartments isolate traffic classes from each other; Methods maps
	// each full method name ("/ledger.v1.PaymentService/Transfer") to one
	// of them by name. The map is configuration: a client cannot choose.
	Compartments []CompartmentConfig
	Methods      map[string]string
	// Bulkheads is reported by AdminService: false when every method shares
	// one compartment.
	Bulkheads bool
	// HealthPoll is how often breaker state and readiness are turned into
	// health; 100ms by default.
	HealthPoll time.Duration
	// Probe checks that the database answers. It runs every ProbeInterval
	// (1s by default) under ProbeTimeout (2s by default), and at once when
	// a call fails for want of infrastructure; while it fails the server
	// is not ready (see readiness). Nil: always ready.
	Probe         func(context.Context) error
	ProbeInterval time.Duration
	ProbeTimeout  time.Duration
	// Logger receives one line per call; slog.Default() by default.
	Logger *slog.Logger
	// Now is the clock used to show hold status; time.Now by default.
	Now func() time.Time
	// DefaultTimeout bounds calls whose client set no deadline; 10s by default.
	DefaultTimeout time.Duration
	// MaxRecvBytes bounds one request message; 64 KiB by default. A larger
	// one is refused through the error table (REQUEST_TOO_LARGE).
	MaxRecvBytes int
	// MaxBatchBytes bounds a SubmitBatch request, which carries up to 1,000
	// requests; 4 MiB by default.
	MaxBatchBytes int
	// MaxWireBytes is the transport's own bound, which gRPC enforces
	// before reading a message, with its own answer; 8 MiB by default, and
	// never below MaxRecvBytes or MaxBatchBytes. See docs/decoding.md.
	MaxWireBytes int
	// TLS serves mutual TLS: callers are named by their client
	// certificates and the permission table says what each role may call.
	// Either TLS or Plaintext must be set.
	TLS *TLSConfig
	// JournalKey is the public key of the journal's signed checkpoints,
	// published at /journal/key on the admin port; empty when none.
	JournalKey string
	// Tracer, when set, traces every call (otelgrpc), with the call id and
	// compartment on its span, following the caller's W3C trace context.
	// Nil: no tracing, at no cost.
	Tracer trace.TracerProvider
	// Plaintext serves without TLS, every caller acting as PlaintextActor
	// with the permissions of every role: for development and peer tools
	// on one machine. Start refuses it unless Listen is a loopback address.
	Plaintext bool
}

// Server is a running ledger server.
type Server struct {
	cfg       Config
	grpc      *grpc.Server
	health    *health.Server
	ready     *readiness
	http      *http.Server
	lis       net.Listener
	adminLis  net.Listener
	stopWatch context.CancelFunc
	// stopping is closed when Stop begins, so that streams that would
	// follow the journal forever end and let GracefulStop finish.
	stopping chan struct{}
	stopOnce sync.Once
	// Registry holds every metric the admin port serves.
	Registry *prometheus.Registry
}

// Services lists the ledger.v1 services this server reports health for.
var Services = []string{
	ledgerv1.AccountService_ServiceDesc.ServiceName,
	ledgerv1.PaymentService_ServiceDesc.ServiceName,
	ledgerv1.PromoService_ServiceDesc.ServiceName,
	ledgerv1.AdminService_ServiceDesc.ServiceName,
	ledgerv1.AuditService_ServiceDesc.ServiceName,
}

// unroutedService is the one service of Services that no compartment
// serves: AdminService reads the compartments' own state from memory, and
// must answer when every compartment is full.
var unroutedService = ledgerv1.AdminService_ServiceDesc.ServiceName

// Start listens on the configured addresses and serves until Stop.
func Start(cfg Config) (*Server, error) {
	cfg = cfg.withDefaults()
	ready := newReadiness(cfg.Logger, cfg.Probe, cfg.ProbeInterval, cfg.ProbeTimeout)
	iso, err := newIsolation(cfg.Logger, cfg.Compartments, cfg.Methods, ready.failed)
	if err != nil {
		return nil, err
	}
	if (cfg.TLS == nil) == !cfg.Plaintext {
		return nil, errors.New("server: set exactly one of TLS (mutual TLS) and Plaintext")
	}
	authz := newAuthorizer(cfg.Logger, cfg.Plaintext, "")
	var opts []grpc.ServerOption
	if cfg.TLS != nil {
		authz.trustDomain = cfg.TLS.TrustDomain
		creds, err := cfg.TLS.credentials(authz.handshakeFailed)
		if err != nil {
			return nil, err
		}
		opts = append(opts, grpc.Creds(creds))
	}
	s := &Server{cfg: cfg, ready: ready, Registry: prometheus.NewRegistry(), stopping: make(chan struct{})}
	codec := newWireCodec(cfg.MaxRecvBytes, cfg.MaxBatchBytes)
	s.Registry.MustRegister(iso.metrics, authz, ready, codec.refused)
	s.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram())
	s.Registry.MustRegister(metrics)

	// Calls run on long-lived workers, enough for every compartment's slots
	// and queue, instead of a new goroutine each: a new goroutine grows its
	// stack afresh on every call, which was a visible share of a transfer's
	// CPU. This is not a bulkhead (past its workers, gRPC starts goroutines
	// again); the compartments are.
	var workers int
	for _, c := range cfg.Compartments {
		workers += c.Settings.MaxConcurrent + c.Settings.MaxQueue
	}
	opts = append(opts, grpc.NumStreamWorkers(uint32(min(max(workers, 16), 1024))))
	if cfg.Tracer != nil {
		opts = append(opts, grpc.StatsHandler(otelgrpc.NewServerHandler(otelgrpc.WithTracerProvider(cfg.Tracer),
			otelgrpc.WithPropagators(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})))))
	}

	// Authorization comes first, in the tap and in each chain, so that a
	// refused caller never takes a compartment slot or learns its load.
	s.grpc = grpc.NewServer(append(opts,
		grpc.ForceServerCodecV2(codec),
		grpc.MaxRecvMsgSize(cfg.MaxWireBytes),
		// A peer that stalls its handshake, or sends a flood of headers,
		// holds no more than this.
		grpc.ConnectionTimeout(10*time.Second),
		grpc.MaxHeaderListSize(16<<10),
		grpc.InTapHandle(chainTaps(authz.tap, iso.tap)),
		grpc.ChainUnaryInterceptor(unaryChain(cfg.Logger, iso.early, metrics.UnaryServerInterceptor(), codec.refuseUndecoded(cfg.Logger),
			authz.unary, defaultDeadline(cfg.DefaultTimeout, iso.budget), iso.unary)...),
		grpc.ChainStreamInterceptor(append(streamChain(cfg.Logger, metrics.StreamServerInterceptor(),
			codec.refuseUndecodedStream(cfg.Logger)), authz.stream)...),
	)...)
	if err := s.register(iso); err != nil {
		return nil, err
	}
	metrics.InitializeMetrics(s.grpc)
	var watchCtx context.Context
	watchCtx, s.stopWatch = context.WithCancel(context.Background())
	go ready.run(watchCtx)
	go iso.watchHealth(watchCtx, s.health, Services, func() bool { up, _, _ := ready.state(); return up }, cfg.HealthPoll)

	if err := s.serve(); err != nil {
		s.stopWatch()
		return nil, err
	}
	cfg.Logger.Info("serving", "grpc", s.Addr(), "admin", s.AdminAddr())
	return s, nil
}

// register puts the ledger's services, health and reflection on the gRPC
// server, and checks that a compartment serves every routed method.
func (s *Server) register(iso *isolation) error {
	ledgerv1.RegisterAccountServiceServer(s.grpc, &accounts{l: s.cfg.Ledger})
	ledgerv1.RegisterPaymentServiceServer(s.grpc, &payments{l: s.cfg.Ledger, now: s.cfg.Now, log: s.cfg.Logger})
	ledgerv1.RegisterPromoServiceServer(s.grpc, &promos{p: s.cfg.Promotions})
	ledgerv1.RegisterAdminServiceServer(s.grpc, &admin{iso: iso, bulkheads: s.cfg.Bulkheads})
	ledgerv1.RegisterAuditServiceServer(s.grpc, &audit{j: s.cfg.Journal, iso: iso, log: s.cfg.Logger, poll: s.cfg.JournalPoll, stopping: s.stopping})
	s.health = health.NewServer()
	healthpb.RegisterHealthServer(s.grpc, s.health)
	for _, svc := range Services {
		s.health.SetServingStatus(svc, healthpb.HealthCheckResponse_SERVING)
	}
	if err := iso.checkRouted(s.grpc.GetServiceInfo(), Services, unroutedService); err != nil {
		return err
	}
	reflection.Register(s.grpc)
	return nil
}

// withDefaults returns cfg with every zero field that has a default set to it.
func (cfg Config) withDefaults() Config {
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:7070"
	}
	if cfg.AdminListen == "" {
		cfg.AdminListen = "127.0.0.1:7071"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.DefaultTimeout <= 0 {
		cfg.DefaultTimeout = 10 * time.Second
	}
	if cfg.MaxRecvBytes <= 0 {
		cfg.MaxRecvBytes = 64 << 10
	}
	if cfg.MaxBatchBytes <= 0 {
		cfg.MaxBatchBytes = 4 << 20
	}
	if cfg.MaxWireBytes <= 0 {
		cfg.MaxWireBytes = 8 << 20
	}
	cfg.MaxWireBytes = max(cfg.MaxWireBytes, cfg.MaxRecvBytes, cfg.MaxBatchBytes)
	if cfg.HealthPoll <= 0 {
		cfg.HealthPoll = 100 * time.Millisecond
	}
	if cfg.JournalPoll <= 0 {
		cfg.JournalPoll = 250 * time.Millisecond
	}
	return cfg
}

// serve listens on the gRPC and admin addresses and serves them.
func (s *Server) serve() error {
	var err error
	if s.lis, err = net.Listen("tcp", s.cfg.Listen); err != nil {
		return err
	}
	if s.cfg.Plaintext {
		if err := checkLoopback(s.lis); err != nil {
			s.lis.Close()
			return err
		}
		logPlaintext(s.cfg.Logger, s.Addr())
	}
	go s.grpc.Serve(s.lis)
	if s.cfg.AdminListen != "-" {
		if s.adminLis, err = net.Listen("tcp", s.cfg.AdminListen); err == nil {
			if err = checkAdminAddress(s.adminLis, s.cfg.AdminPublic); err != nil {
				s.adminLis.Close()
			}
		}
		if err != nil {
			s.grpc.Stop()
			return err
		}
		s.http = &http.Server{Handler: s.adminHandler(), ReadHeaderTimeout: 5 * time.Second}
		go s.http.Serve(s.adminLis)
	}
	return nil
}

// servingLine is the line Start logs once the listeners are bound, as
// ledgerd's text log has it.
var servingLine = regexp.MustCompile(`msg=serving grpc=(\S+) admin=(\S*)`)

// ServingAddrs finds, in ledgerd's text log, the addresses Start said it
// listens on: a process started on port 0 says there which port it got.
// The admin address is "" when it is off.
func ServingAddrs(log []byte) (grpcAddr, admin string, ok bool) {
	m := servingLine.FindSubmatch(log)
	if m == nil {
		return "", "", false
	}
	if admin = string(m[2]); admin == `""` {
		admin = ""
	}
	return string(m[1]), admin, true
}

// ErrExitedBeforeListening is WaitServingAddrs' error for a process that
// exited before its log said where it listens.
var ErrExitedBeforeListening = errors.New("exited before listening")

// WaitServingAddrs polls the ledgerd log at logPath until it says where the
// process listens (ServingAddrs), the process exits (exited is closed:
// ErrExitedBeforeListening, after one last read of the whole log), ctx
// ends, or timeout passes.
func WaitServingAddrs(ctx context.Context, logPath string, exited <-chan struct{}, timeout time.Duration) (grpcAddr, admin string, err error) {
	deadline := time.Now().Add(timeout)
	for gone := false; ; {
		if b, err := os.ReadFile(logPath); err == nil {
			if grpcAddr, admin, ok := ServingAddrs(b); ok {
				return grpcAddr, admin, nil
			}
		}
		if gone {
			return "", "", ErrExitedBeforeListening
		}
		if time.Now().After(deadline) {
			return "", "", fmt.Errorf("not listening %v after its start", timeout)
		}
		select {
		case <-exited:
			gone = true // read the whole log once more
		case <-ctx.Done():
			return "", "", ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Addr is the gRPC address the server listens on.
func (s *Server) Addr() string { return s.lis.Addr().String() }

// AdminAddr is the admin HTTP address, or "" when it is off.
func (s *Server) AdminAddr() string {
	if s.adminLis == nil {
		return ""
	}
	return s.adminLis.Addr().String()
}

// ServiceInfo describes every service registered on the gRPC server.
func (s *Server) ServiceInfo() map[string]grpc.ServiceInfo { return s.grpc.GetServiceInfo() }

// ProbeNow asks for a readiness probe at once, for a component that knows
// the database has just gone or come back.
func (s *Server) ProbeNow() { s.ready.failed() }

// Health is the server's health service, for components that report on
// their own services.
func (s *Server) Health() *health.Server { return s.health }

// Stop reports NOT_SERVING, lets in-flight calls finish until ctx ends,
// then closes every connection.
func (s *Server) Stop(ctx context.Context) error {
	s.ready.drain()
	s.stopWatch()
	s.stopOnce.Do(func() { close(s.stopping) })
	s.health.Shutdown()
	done := make(chan struct{})
	go func() { s.grpc.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		s.grpc.Stop()
	}
	if s.http != nil {
		if err := s.http.Shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	return nil
}
