package server

import (
	"context"
	"log/slog"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/peer"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectionv1alpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/grpc/tap"

	"github.com/corebanking/ledger/internal/identity"
	"github.com/corebanking/ledger/ledger"
	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

const (
	channel  = identity.Channel
	teller   = identity.Teller
	auditor  = identity.Auditor
	operator = identity.Operator
)

// anyone is every role: for calls any authenticated caller may make.
var anyone = identity.Roles

// readers may look at accounts, balances and statements.
var readers = []identity.Role{channel, teller, auditor, operator}

// permissions is the one table of who may call what: each full method name
// and the roles that may call it. A method that is not here is refused to
// everyone, so a new RPC is closed until someone decides who may use it.
//
// Auditors read and never post. Tellers serve a customer at a branch:
// accounts, cash in and out. Channels are the customer-facing services:
// payments, holds, promotions, statements. Operators run the ledger:
// promotions, account statuses, compartments, reflection, and the
// journal's integrity (checkpoints, consistency and verification, which
// show no customer data), but not the journal's entries.
var permissions = map[string][]identity.Role{
	ledgerv1.AccountService_OpenAccount_FullMethodName: {channel, teller, operator}, // INTERNAL: operator only
	ledgerv1.AccountService_GetAccount_FullMethodName:  readers,
	ledgerv1.AccountService_GetBalance_FullMethodName:  readers,
	ledgerv1.AccountService_ListEntries_FullMethodName: readers,
	// Freezing, closing and reactivating an account is an operator's act,
	// journaled with the operator's name.
	ledgerv1.AccountService_SetAccountStatus_FullMethodName: {operator},

	ledgerv1.PaymentService_Deposit_FullMethodName:     {channel, teller},
	ledgerv1.PaymentService_Withdraw_FullMethodName:    {channel, teller},
	ledgerv1.PaymentService_Transfer_FullMethodName:    {channel},
	ledgerv1.PaymentService_PlaceHold_FullMethodName:   {channel},
	ledgerv1.PaymentService_CaptureHold_FullMethodName: {channel},
	ledgerv1.PaymentService_VoidHold_FullMethodName:    {channel},
	// Channels debit only customer accounts; operators any. Each item of a
	// batch is authorized as its own call.
	ledgerv1.PaymentService_PostEntry_FullMethodName:    {channel, operator},
	ledgerv1.PaymentService_ReverseEntry_FullMethodName: {channel, operator},
	ledgerv1.PaymentService_SubmitBatch_FullMethodName:  {channel, teller, operator},

	ledgerv1.PromoService_CreatePromo_FullMethodName: {operator},
	ledgerv1.PromoService_GetPromo_FullMethodName:    {channel, operator},
	ledgerv1.PromoService_Subscribe_FullMethodName:   {channel},
	// A customer cancels through a channel; operators list who subscribed.
	ledgerv1.PromoService_CancelSubscription_FullMethodName: {channel},
	ledgerv1.PromoService_ListSubscriptions_FullMethodName:  {operator},

	ledgerv1.AdminService_ListCompartments_FullMethodName: {operator},

	"/ledger.v1.AuditService/ListJournal":   {auditor},
	"/ledger.v1.AuditService/StreamJournal": {auditor},
	"/ledger.v1.AuditService/GetCheckpoint": {auditor, operator},
	"/ledger.v1.AuditService/VerifyJournal": {auditor, operator},
	// An inclusion proof carries its record, an entry: auditors only. A
	// consistency proof is hashes, like a checkpoint.
	"/ledger.v1.AuditService/GetInclusionProof":   {auditor},
	"/ledger.v1.AuditService/GetConsistencyProof": {auditor, operator},

	// Load balancers and every client may ask whether the ledger serves.
	healthpb.Health_Check_FullMethodName: anyone,
	healthpb.Health_Watch_FullMethodName: anyone,
	healthpb.Health_List_FullMethodName:  anyone,
	// The schema is no secret, but production clients have compiled stubs.
	reflectionv1.ServerReflection_ServerReflectionInfo_FullMethodName:      {operator},
	reflectionv1alpha.ServerReflection_ServerReflectionInfo_FullMethodName: {operator},
}

// PlaintextActor is the actor of every call in plaintext mode, where no
// caller is authenticated: the journal shows such changes for what they are.
const PlaintextActor ledger.Actor = "dev/plaintext"

// authorizer authenticates each call from its peer's verified client
// certificate and checks the permission table. It runs twice: in the tap,
// so that a refused call never reads its request or reaches a compartment,
// and in the interceptors, which also put the actor in the context.
type authorizer struct {
	log         *slog.Logger
	plaintext   bool
	trustDomain string
	failures    *prometheus.CounterVec
	denied      *prometheus.CounterVec
}

func newAuthorizer(log *slog.Logger, plaintext bool, trustDomain string) *authorizer {
	a := &authorizer{
		log: log, plaintext: plaintext, trustDomain: trustDomain,
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ledger_authentication_failures_total",
			Help: "Connections and calls refused because the caller could not be authenticated, by reason.",
		}, []string{"reason"}),
		denied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ledger_permission_denied_total",
			Help: "Calls refused because the caller's role may not call the method, by role.",
		}, []string{"role"}),
	}
	// Every reason and role counted from zero, so that a dashboard's
	// increase() sees the first refusal.
	for _, why := range []string{failNoCertificate, failBadIdentity, failHandshake} {
		a.failures.WithLabelValues(why)
	}
	for _, role := range identity.Roles {
		a.denied.WithLabelValues(string(role))
	}
	return a
}

// Reasons of authentication failures, as the counter labels them.
const (
	failNoCertificate = "no_certificate"
	failBadIdentity   = "bad_identity"
	failHandshake     = "tls_handshake"
)

// caller is who makes a call, once authorized: the actor the journal
// records, and the roles whose permissions it has (every role in plaintext
// mode).
type caller struct {
	actor ledger.Actor
	roles []identity.Role
}

type callerKey struct{}

// withCaller returns ctx carrying c, as the ledger sees it too: its actor,
// and the operator's authority over the bank's own accounts for an
// operator (and in plaintext mode, where every caller has every role).
func withCaller(ctx context.Context, c caller) context.Context {
	ctx = ledger.WithActor(context.WithValue(ctx, callerKey{}, c), c.actor)
	if slices.Contains(c.roles, operator) {
		ctx = ledger.WithPrivilege(ctx)
	}
	return ctx
}

// mayCall reports whether the caller of ctx may call method: how a batch
// authorizes each of its items as its own call.
func mayCall(ctx context.Context, method string) bool {
	c, _ := ctx.Value(callerKey{}).(caller)
	for _, r := range permissions[method] {
		if slices.Contains(c.roles, r) {
			return true
		}
	}
	return false
}

// authorize returns the caller of a call of method, or the status that
// refuses it: UNAUTHENTICATED before PERMISSION_DENIED, so that a caller
// who is nobody learns nothing about the table. callID names the call in
// a refusal; it is only asked for then.
func (a *authorizer) authorize(ctx context.Context, method string, callID func() string) (caller, error) {
	roles, listed := permissions[method]
	if a.plaintext {
		if !listed {
			return caller{}, a.deny(ctx, method, callID(), "dev")
		}
		return caller{actor: PlaintextActor, roles: identity.Roles}, nil
	}
	id, why, err := a.caller(ctx)
	if err != nil {
		a.failures.WithLabelValues(why).Inc()
		call := callID()
		a.log.WarnContext(ctx, "authentication failed", "peer", peerAddr(ctx), "method", method,
			"call_id", call, "reason", why, "error", err)
		return caller{}, transportError(reasonUnauthenticated, call)
	}
	if !slices.Contains(roles, id.Role) {
		return caller{}, a.deny(ctx, method, callID(), id.String())
	}
	return caller{actor: id.Actor(), roles: []identity.Role{id.Role}}, nil
}

func (a *authorizer) deny(ctx context.Context, method, callID, who string) error {
	role, _, _ := strings.Cut(who, "/")
	a.denied.WithLabelValues(role).Inc()
	a.log.WarnContext(ctx, "permission denied", "peer", peerAddr(ctx), "method", method, "call_id", callID, "caller", who)
	return transportError(reasonPermissionDenied, callID)
}

// caller returns the identity in the peer's client certificate. Only a
// chain the handshake verified counts: a certificate merely presented
// proves nothing.
func (a *authorizer) caller(ctx context.Context) (identity.ID, string, error) {
	p, _ := peer.FromContext(ctx)
	var info credentials.TLSInfo
	if p != nil {
		info, _ = p.AuthInfo.(credentials.TLSInfo)
	}
	if len(info.State.VerifiedChains) == 0 || len(info.State.PeerCertificates) == 0 {
		return identity.ID{}, failNoCertificate, errNoCertificate
	}
	id, err := identity.FromCertificate(info.State.PeerCertificates[0], a.trustDomain)
	if err != nil {
		return identity.ID{}, failBadIdentity, err
	}
	return id, "", nil
}

type authError string

func (e authError) Error() string { return string(e) }

const errNoCertificate authError = "no verified client certificate"

func peerAddr(ctx context.Context) string {
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		return p.Addr.String()
	}
	return ""
}

// tap refuses an unauthorized call before its request is read. It runs on
// the connection's reader goroutine; the check is a map lookup and a look
// at the already verified certificate. The call has no id yet, so the
// refusal gets its own, logged with it.
func (a *authorizer) tap(ctx context.Context, info *tap.Info) (context.Context, error) {
	if _, err := a.authorize(ctx, info.FullMethodName, uuid.NewString); err != nil {
		return nil, err
	}
	return ctx, nil
}

// The interceptors below are written here rather than taken from
// go-grpc-middleware's auth package: its per-service AuthFuncOverride would
// let a service skip this table.

// unary authorizes the call and gives it its caller.
func (a *authorizer) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
	c, err := a.authorize(ctx, info.FullMethod, func() string { return CallID(ctx) })
	if err != nil {
		return nil, err
	}
	return next(withCaller(ctx, c), req)
}

// stream authorizes the stream and gives it its caller.
func (a *authorizer) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, next grpc.StreamHandler) error {
	c, err := a.authorize(ss.Context(), info.FullMethod, func() string { return CallID(ss.Context()) })
	if err != nil {
		return err
	}
	return next(srv, &wrappedStream{ServerStream: ss, ctx: withCaller(ss.Context(), c)})
}

// Describe implements prometheus.Collector.
func (a *authorizer) Describe(ch chan<- *prometheus.Desc) {
	a.failures.Describe(ch)
	a.denied.Describe(ch)
}

// Collect implements prometheus.Collector.
func (a *authorizer) Collect(ch chan<- prometheus.Metric) {
	a.failures.Collect(ch)
	a.denied.Collect(ch)
}

// chainTaps runs taps in order; the first refusal wins.
func chainTaps(taps ...tap.ServerInHandle) tap.ServerInHandle {
	return func(ctx context.Context, info *tap.Info) (context.Context, error) {
		for _, t := range taps {
			var err error
			if ctx, err = t(ctx, info); err != nil {
				return nil, err
			}
		}
		return ctx, nil
	}
}
