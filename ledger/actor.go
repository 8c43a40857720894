package ledger

import "context"

// Actor is who caused a change: the authenticated caller's role and name,
// as "role/name" (for example "channel/mobile-banking"). Every journal
// entry records the actor of the request that made it, so an auditor can
// see who did what.
type Actor string

// SystemActor is the actor of changes the ledger makes on its own behalf
// (opening its internal accounts, expiring holds) and of calls made
// without an authenticated identity (tests, development).
const SystemActor Actor = "system"

type actorKey struct{}

// WithActor returns ctx carrying actor a. The transport sets it from the
// caller's verified identity; the store reads it with ActorFrom.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor ctx carries, or SystemActor.
func ActorFrom(ctx context.Context) Actor {
	if a, ok := ctx.Value(actorKey{}).(Actor); ok && a != "" {
		return a
	}
	return SystemActor
}

type privilegedKey struct{}

// WithPrivilege returns ctx marked as a call with the operator's authority:
// it may debit the bank's internal accounts and reverse any entry. The
// transport sets it for operators; channel and teller calls never have it.
func WithPrivilege(ctx context.Context) context.Context {
	return context.WithValue(ctx, privilegedKey{}, true)
}

// Privileged reports whether ctx may debit internal accounts and reverse
// any entry: an operator's call, or the ledger's own (no actor at all).
func Privileged(ctx context.Context) bool {
	p, _ := ctx.Value(privilegedKey{}).(bool)
	return p || ActorFrom(ctx) == SystemActor
}
