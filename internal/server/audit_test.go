package server_test

import (
	"context"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"

	"github.com/corebanking/ledger/internal/ledgerd"
	"github.com/corebanking/ledger/internal/pgtest"
	"github.com/corebanking/ledger/ledger"
	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

// TestAuditService reads the journal of a real server through the real
// interceptor chain: records in order with their chain, a stream that
// follows, and requests out of bounds refused like any other.
func TestAuditService(t *testing.T) {
	ctx := t.Context()
	c := MustStartServer(t)
	for _, id := range []string{"alice", "bob"} {
		if _, err := c.accounts.OpenAccount(ctx, &ledgerv1.OpenAccountRequest{RequestId: "open-" + id, AccountId: id,
			CustomerId: "c-" + id, Currency: "KRW", Kind: ledgerv1.AccountKind_ACCOUNT_KIND_CUSTOMER}); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("StreamFollows", func(t *testing.T) {
		sctx, stop := context.WithCancel(ctx)
		defer stop()
		stream, err := c.audit.StreamJournal(sctx, &ledgerv1.StreamJournalRequest{})
		if err != nil {
			t.Fatal(err)
		}
		chain := ledger.NewChainVerifier(ledger.Checkpoint{Hash: ledger.GenesisHash()})
		// Two openings, then a deposit made while the stream waits, which
		// opens the vault first.
		for want := range 3 {
			if want == 2 {
				if _, err := c.payments.Deposit(ctx, &ledgerv1.DepositRequest{RequestId: "d1", AccountId: "alice", Amount: 500, Currency: "KRW"}); err != nil {
					t.Fatal(err)
				}
			}
			resp, err := stream.Recv()
			if err != nil {
				t.Fatal(err)
			}
			if err := chain.Check(resp.GetRecord().Ledger()); err != nil {
				t.Fatalf("record %d: %v", resp.GetRecord().GetSequence(), err)
			}
		}
		if last := chain.Last.Sequence; last != 3 {
			t.Fatalf("stream stopped at %d", last)
		}
	})
	t.Run("ListAndCheckpoint", func(t *testing.T) {
		list, err := c.audit.ListJournal(ctx, &ledgerv1.ListJournalRequest{AfterSequence: 1, Limit: 5})
		if err != nil {
			t.Fatal(err)
		}
		head, err := c.audit.GetCheckpoint(ctx, &ledgerv1.GetCheckpointRequest{})
		if err != nil {
			t.Fatal(err)
		}
		// The deposit and the vault's opening, which the deposit needed,
		// post at the same instant of the test's clock: the journal orders
		// them by entry id, either way round.
		recs := list.GetRecords()
		if len(recs) != 3 || recs[0].GetSequence() != 2 {
			t.Fatalf("records after 1 = %v", recs)
		}
		var deposit, vault *ledgerv1.Entry
		for _, r := range recs[1:] {
			switch e := r.GetEntry(); e.GetKind() {
			case ledgerv1.EntryKind_ENTRY_KIND_DEPOSIT:
				deposit = e
			case ledgerv1.EntryKind_ENTRY_KIND_ACCOUNT_OPENING:
				vault = e
			}
		}
		if len(deposit.GetPostings()) != 2 || deposit.GetActor() != "dev/plaintext" {
			t.Errorf("records 3 and 4 = %v, want the deposit by dev/plaintext", recs[1:])
		}
		if vault.GetActor() != "system" {
			t.Errorf("records 3 and 4 = %v, want the vault's opening by the ledger", recs[1:])
		}
		if cp := head.GetCheckpoint(); cp.GetSequence() != 4 || string(cp.GetHash()) != string(recs[2].GetHash()) {
			t.Errorf("checkpoint = %v, want the last record's", cp)
		}
		v, err := c.audit.VerifyJournal(ctx, &ledgerv1.VerifyJournalRequest{FromSequence: 2})
		if err != nil || !v.GetOk() || v.GetRecordsChecked() != 3 {
			t.Errorf("VerifyJournal from 2 = %v, %v", v, err)
		}
	})
	t.Run("CountedInTheAuditCompartment", func(t *testing.T) {
		resp, err := c.admin.ListCompartments(ctx, &ledgerv1.ListCompartmentsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		for _, cp := range resp.GetCompartments() {
			if cp.GetName() == "audit" && cp.GetAdmitted() < 5 {
				t.Errorf("audit compartment admitted %d calls and stream pages", cp.GetAdmitted())
			}
		}
	})
	t.Run("ErrLimit", func(t *testing.T) {
		_, err := c.audit.ListJournal(ctx, &ledgerv1.ListJournalRequest{Limit: 5000})
		assertFields(t, AssertReason(t, err, codes.InvalidArgument, "INVALID_ARGUMENT"), "limit")
		_, err = c.audit.VerifyJournal(ctx, &ledgerv1.VerifyJournalRequest{FromSequence: 9, ToSequence: 3})
		assertFields(t, AssertReason(t, err, codes.InvalidArgument, "INVALID_ARGUMENT"), "to_sequence")
	})
	t.Run("ErrStreamFrom", func(t *testing.T) {
		stream, err := c.audit.StreamJournal(ctx, &ledgerv1.StreamJournalRequest{FromSequence: -4})
		if err == nil {
			_, err = stream.Recv()
		}
		assertFields(t, AssertReason(t, err, codes.InvalidArgument, "INVALID_ARGUMENT"), "from_sequence")
	})
}

// assertFields checks that br names exactly the field want.
func assertFields(t *testing.T, br *errdetails.BadRequest, want string) {
	t.Helper()
	if v := br.GetFieldViolations(); len(v) != 1 || v[0].GetField() != want {
		t.Errorf("field violations = %v, want %s", v, want)
	}
}

// TestStopEndsJournalStreams: a stream that follows the journal would keep
// a graceful stop waiting forever; Stop ends it with UNAVAILABLE, from which
// the client resumes after the last record it got.
func TestStopEndsJournalStreams(t *testing.T) {
	m, err := ledgerd.Run(t.Context(), ledgerd.Config{DatabaseURL: pgtest.NewDatabase(t), Listen: "127.0.0.1:0", AdminListen: "-", Plaintext: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	conn := MustDial(t, m.Server.Addr())
	if _, err := ledgerv1.NewAccountServiceClient(conn).OpenAccount(t.Context(), &ledgerv1.OpenAccountRequest{RequestId: "o1",
		AccountId: "alice", CustomerId: "c1", Currency: "KRW", Kind: ledgerv1.AccountKind_ACCOUNT_KIND_CUSTOMER}); err != nil {
		t.Fatal(err)
	}
	stream, err := ledgerv1.NewAuditServiceClient(conn).StreamJournal(t.Context(), &ledgerv1.StreamJournalRequest{})
	if err == nil {
		_, err = stream.Recv() // the opening, once sealed: the stream is now following
	}
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	go func() { closed <- m.Close() }()
	_, err = stream.Recv()
	AssertReason(t, err, codes.Unavailable, "UNAVAILABLE")
	if err := <-closed; err != nil {
		t.Errorf("Close: %v", err)
	}
}
