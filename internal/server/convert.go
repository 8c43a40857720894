package server

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/corebanking/ledger/ledger"
	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

// The enums of package ledger and of ledger.v1 share their numbering; a
// test walks both to keep it so.

func accountPB(a ledger.Account) *ledgerv1.Account {
	return &ledgerv1.Account{
		AccountId: a.ID, CustomerId: a.CustomerID, Currency: a.Currency,
		Kind: ledgerv1.AccountKind(a.Kind), Status: ledgerv1.AccountStatus(a.Status),
		CreatedAt: timestamppb.New(a.CreatedAt),
	}
}

func balancePB(b ledger.Balance) *ledgerv1.Balance {
	return &ledgerv1.Balance{
		AccountId: b.AccountID, Currency: b.Currency, Posted: b.Posted, Held: b.Held, Available: b.Available(),
	}
}

func entryPB(e ledger.Entry) *ledgerv1.Entry {
	out := &ledgerv1.Entry{
		EntryId: e.ID, Kind: ledgerv1.EntryKind(e.Kind), RequestId: e.RequestID, Memo: e.Memo,
		PostedAt: timestamppb.New(e.PostedAt), Actor: string(e.Actor), ReversesEntryId: e.ReversesEntryID,
	}
	for _, p := range e.Postings {
		out.Postings = append(out.Postings, &ledgerv1.Posting{AccountId: p.AccountID, Currency: p.Currency, Amount: p.Amount})
	}
	return out
}

func recordPB(r ledger.Record) *ledgerv1.JournalRecord {
	return &ledgerv1.JournalRecord{
		Sequence: r.Sequence, Entry: entryPB(r.Entry), PrevHash: r.PrevHash, Hash: r.Hash,
		SealedAt: timestamppb.New(r.SealedAt), SealedBy: r.SealedBy, LeaseEpoch: r.LeaseEpoch,
	}
}

func checkpointPB(c ledger.Checkpoint) *ledgerv1.Checkpoint {
	return &ledgerv1.Checkpoint{Sequence: c.Sequence, Hash: c.Hash}
}

// signedCheckpointPB is c as the wire carries it; nil for nil.
func signedCheckpointPB(c *ledger.SignedCheckpoint) *ledgerv1.SignedCheckpoint {
	if c == nil {
		return nil
	}
	return &ledgerv1.SignedCheckpoint{Note: string(c.Note), KeyName: c.Origin, KeyId: c.KeyID, TreeSize: c.Size}
}

// holdPB shows a hold as it stands now: an active hold past its expiry is
// reported EXPIRED.
func holdPB(h ledger.Hold, now func() time.Time) *ledgerv1.Hold {
	return &ledgerv1.Hold{
		HoldId: h.ID, AccountId: h.AccountID, Currency: h.Currency, Amount: h.Amount,
		CapturedAmount: h.CapturedAmount, Status: ledgerv1.HoldStatus(h.StatusAt(now())), AtmId: h.ATMID,
		CreatedAt: timestamppb.New(h.CreatedAt), ExpiresAt: timestamppb.New(h.ExpiresAt),
	}
}

func statementPB(p ledger.StatementPage) *ledgerv1.ListEntriesResponse {
	out := &ledgerv1.ListEntriesResponse{NextPageToken: p.NextPageToken}
	for _, l := range p.Lines {
		out.Lines = append(out.Lines, &ledgerv1.StatementLine{
			EntryId: l.EntryID, Kind: ledgerv1.EntryKind(l.Kind), Amount: l.Amount, Memo: l.Memo,
			PostedAt: timestamppb.New(l.PostedAt), BalanceAfter: l.BalanceAfter, ReversesEntryId: l.ReversesEntryID,
		})
	}
	return out
}
