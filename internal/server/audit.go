package server

import (
	"context"
	"log/slog"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/corebanking/ledger/ledger"
	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

// audit implements ledger.v1.AuditService on the auditors' read-only
// journal. Its unary calls pass the audit compartment like any other; a
// stream is admitted at its start (the InTapHandle sees every new stream)
// and then each page it reads is admitted to the compartment as a call of
// its own, so a follower waiting for new records holds no slot, and its
// database work counts against the compartment's slots and breaker.
type audit struct {
	ledgerv1.UnimplementedAuditServiceServer
	j    ledger.Journal
	iso  *isolation
	log  *slog.Logger
	poll time.Duration
	// stopping ends the streams when the server stops.
	stopping <-chan struct{}
}

// journal is the journal of the call's compartment, or the server's.
func (a *audit) journal(ctx context.Context) (ledger.Journal, error) {
	j := journalFor(ctx, a.j)
	if j == nil {
		return nil, status.Error(codes.Unimplemented, "the journal is not served here")
	}
	return j, nil
}

func (a *audit) ListJournal(ctx context.Context, r *ledgerv1.ListJournalRequest) (*ledgerv1.ListJournalResponse, error) {
	j, err := a.journal(ctx)
	if err != nil {
		return nil, err
	}
	records, err := j.ListJournal(ctx, r.Ledger())
	if err != nil {
		return nil, err
	}
	resp := &ledgerv1.ListJournalResponse{}
	for _, rec := range records {
		resp.Records = append(resp.Records, recordPB(rec))
	}
	return resp, nil
}

func (a *audit) GetCheckpoint(ctx context.Context, _ *ledgerv1.GetCheckpointRequest) (*ledgerv1.GetCheckpointResponse, error) {
	j, err := a.journal(ctx)
	if err != nil {
		return nil, err
	}
	c, err := j.Checkpoint(ctx)
	if err != nil {
		return nil, err
	}
	signed, ok, err := j.SignedCheckpoint(ctx)
	if err != nil {
		return nil, err
	}
	resp := &ledgerv1.GetCheckpointResponse{Checkpoint: checkpointPB(c)}
	if ok {
		resp.Signed = signedCheckpointPB(&signed)
	}
	return resp, nil
}

func (a *audit) GetInclusionProof(ctx context.Context, r *ledgerv1.GetInclusionProofRequest) (*ledgerv1.GetInclusionProofResponse, error) {
	j, err := a.journal(ctx)
	if err != nil {
		return nil, err
	}
	p, err := j.InclusionProof(ctx, r.Ledger())
	if err != nil {
		return nil, err
	}
	return &ledgerv1.GetInclusionProofResponse{Record: recordPB(p.Record), TreeSize: p.TreeSize, Proof: p.Proof,
		Checkpoint: signedCheckpointPB(p.Checkpoint)}, nil
}

func (a *audit) GetConsistencyProof(ctx context.Context, r *ledgerv1.GetConsistencyProofRequest) (*ledgerv1.GetConsistencyProofResponse, error) {
	j, err := a.journal(ctx)
	if err != nil {
		return nil, err
	}
	p, err := j.ConsistencyProof(ctx, r.Ledger())
	if err != nil {
		return nil, err
	}
	return &ledgerv1.GetConsistencyProofResponse{FromTreeSize: p.From, ToTreeSize: p.To, Proof: p.Proof,
		Checkpoint: signedCheckpointPB(p.Checkpoint)}, nil
}

func (a *audit) VerifyJournal(ctx context.Context, r *ledgerv1.VerifyJournalRequest) (*ledgerv1.VerifyJournalResponse, error) {
	j, err := a.journal(ctx)
	if err != nil {
		return nil, err
	}
	v, err := j.VerifyJournal(ctx, r.Ledger())
	if err != nil {
		return nil, err
	}
	return &ledgerv1.VerifyJournalResponse{Ok: v.OK, BadSequence: v.BadSequence, Reason: v.Reason,
		RecordsChecked: v.Checked, Checkpoint: checkpointPB(v.Checkpoint), CheckpointsChecked: v.Checkpoints,
		RootHash: v.Root}, nil
}

// StreamJournal sends pages until it has caught up, then looks for new
// records every poll until the client leaves.
func (a *audit) StreamJournal(r *ledgerv1.StreamJournalRequest, stream ledgerv1.AuditService_StreamJournalServer) error {
	ctx := stream.Context()
	j, err := a.journal(ctx)
	if err != nil {
		return err
	}
	q := ledger.JournalQuery{After: max(r.GetFromSequence()-1, 0), Limit: ledger.MaxJournalPage}
	for {
		var page []ledger.Record
		err := a.iso.admitted(ctx, ledgerv1.AuditService_StreamJournal_FullMethodName, func(ctx context.Context) error {
			var err error
			page, err = j.ListJournal(ctx, q)
			return toStatus(ctx, a.log, ledgerv1.AuditService_StreamJournal_FullMethodName, err)
		})
		if err != nil {
			return err
		}
		for _, rec := range page {
			if err := stream.Send(&ledgerv1.StreamJournalResponse{Record: recordPB(rec)}); err != nil {
				return err
			}
			q.After = rec.Sequence
		}
		if len(page) == q.Limit {
			continue // more to catch up on
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-a.stopping: // the client resumes after the last record it got
			return ledger.Errorf(ledger.CodeUnavailable, "the server is stopping")
		case <-time.After(a.poll):
		}
	}
}
