package cockroach

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/corebanking/ledger/ledger"
)

// Enums are stored by name, so that a person reading the tables (an auditor
// with psql) needs no lookup table.
var (
	kinds       = map[string]ledger.Kind{"CUSTOMER": ledger.KindCustomer, "INTERNAL": ledger.KindInternal}
	statuses    = map[string]ledger.Status{"ACTIVE": ledger.StatusActive, "FROZEN": ledger.StatusFrozen, "CLOSED": ledger.StatusClosed}
	holdStates  = map[string]ledger.HoldStatus{"ACTIVE": ledger.HoldActive, "CAPTURED": ledger.HoldCaptured, "VOIDED": ledger.HoldVoided}
	subStatuses = map[string]ledger.SubscriptionStatus{"ACTIVE": ledger.SubscriptionActive,
		"MATURED": ledger.SubscriptionMatured, "CANCELLED": ledger.SubscriptionCancelled}
)

func scanAccount(row pgx.Row) (ledger.Account, error) {
	var a ledger.Account
	var kind, status string
	err := row.Scan(&a.ID, &a.CustomerID, &a.Currency, &kind, &status, &a.Shards, &a.CreatedAt)
	a.Kind, a.Status, a.CreatedAt = kinds[kind], statuses[status], a.CreatedAt.UTC()
	return a, err
}

func scanHold(row pgx.Row) (ledger.Hold, error) {
	var h ledger.Hold
	var status string
	err := row.Scan(&h.ID, &h.AccountID, &h.Currency, &h.Amount, &h.CapturedAmount, &status, &h.ATMID,
		&h.CreatedAt, &h.ExpiresAt)
	h.Status, h.CreatedAt, h.ExpiresAt = holdStates[status], h.CreatedAt.UTC(), h.ExpiresAt.UTC()
	return h, err
}

// replayed reads the result of sqlGetRequest. It reports true, with the
// stored result decoded into out, when requestID was already done with the
// same content; IDEMPOTENCY_CONFLICT when it was done with other content;
// false when it is new.
func replayed(row pgx.Row, requestID string, fingerprint []byte, out any) (bool, error) {
	var fp, result []byte
	err := row.Scan(&fp, &result)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if string(fp) != string(fingerprint) {
		return false, ledger.Errorf(ledger.CodeIdempotencyConflict,
			"request %s was already used for a different request", requestID)
	}
	return true, json.Unmarshal(result, out)
}

func holdStatusName(s ledger.HoldStatus) string {
	for name, v := range holdStates {
		if v == s {
			return name
		}
	}
	return s.String()
}

// queueEvent queues a journal entry without postings, recording an event
// that moves no money, made by the context's actor.
func queueEvent(ctx context.Context, b *pgx.Batch, kind ledger.EntryKind, requestID, memo string, at time.Time) {
	queueEntryRow(b, ledger.Entry{ID: uuid.NewString(), Kind: kind, Actor: ledger.ActorFrom(ctx),
		RequestID: requestID, Memo: memo, PostedAt: at})
}

// queueEntryRow queues the insert of e's row (not its postings) and its
// announcement to the sealer. Entries that move no money are written here;
// the others by queueEntry, whose one statement does the same and more.
func queueEntryRow(b *pgx.Batch, e ledger.Entry) {
	b.Queue(sqlInsertEntry, e.ID, e.Kind.String(), string(e.Actor), e.RequestID, e.Memo, e.PostedAt)
	event := ledger.Entry{ID: e.ID, Kind: e.Kind, Actor: e.Actor, RequestID: e.RequestID, Memo: e.Memo, PostedAt: e.PostedAt}
	b.Queue(sqlAnnounceEntry, e.ID, e.PostedAt, ledger.Canonical(0, event))
}
