package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/corebanking/ledger/internal/ledgerd"
	"github.com/corebanking/ledger/internal/pgtest"
	"github.com/corebanking/ledger/ledger"
	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

// TestPageTokensAreAuthenticated pages a statement over gRPC and checks
// that only tokens the ledger issued, for that account, are accepted:
// another ledgerd on the same database accepts them (the key is the
// database's), and forged, altered or borrowed tokens are refused with
// INVALID_ARGUMENT naming page_token.
func TestPageTokensAreAuthenticated(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	start := func() *ledgerd.Main {
		m, err := ledgerd.Run(ctx, ledgerd.Config{DatabaseURL: url, Listen: "127.0.0.1:0", AdminListen: "-", Plaintext: true,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		return m
	}
	first, second := start(), start()
	conn := MustDial(t, first.Server.Addr())
	accounts, payments := ledgerv1.NewAccountServiceClient(conn), ledgerv1.NewPaymentServiceClient(conn)
	otherServer := ledgerv1.NewAccountServiceClient(MustDial(t, second.Server.Addr()))
	for _, id := range []string{"alice", "bob"} {
		if _, err := accounts.OpenAccount(ctx, &ledgerv1.OpenAccountRequest{RequestId: "open-" + id, AccountId: id,
			CustomerId: "c-" + id, Currency: "KRW", Kind: ledgerv1.AccountKind_ACCOUNT_KIND_CUSTOMER}); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			if _, err := payments.Deposit(ctx, &ledgerv1.DepositRequest{RequestId: fmt.Sprintf("d-%s-%d", id, i),
				AccountId: id, Amount: 100, Currency: "KRW"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	page, err := accounts.ListEntries(ctx, &ledgerv1.ListEntriesRequest{AccountId: "alice", PageSize: 1})
	if err != nil || page.GetNextPageToken() == "" {
		t.Fatalf("first page: %v, %v", page, err)
	}
	tok := page.GetNextPageToken()

	t.Run("OK", func(t *testing.T) {
		next, err := accounts.ListEntries(ctx, &ledgerv1.ListEntriesRequest{AccountId: "alice", PageSize: 1, PageToken: tok})
		if err != nil || len(next.GetLines()) != 1 || next.GetLines()[0].GetEntryId() == page.GetLines()[0].GetEntryId() {
			t.Fatalf("second page: %v, %v", next, err)
		}
	})
	t.Run("OKOnAnotherServer", func(t *testing.T) {
		next, err := otherServer.ListEntries(ctx, &ledgerv1.ListEntriesRequest{AccountId: "alice", PageSize: 1, PageToken: tok})
		if err != nil || len(next.GetLines()) != 1 {
			t.Fatalf("second page from the other ledgerd: %v, %v", next, err)
		}
	})

	altered := []byte(tok)
	altered[5] ^= 0x01
	bobsPage, err := accounts.ListEntries(ctx, &ledgerv1.ListEntriesRequest{AccountId: "bob", PageSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	position := page.GetLines()[0]
	for name, bad := range map[string]string{
		// A token of the right shape that a client made up: the position
		// of alice's first line, under a key of its own.
		"ErrForged": ledger.NewPageTokens([]byte("a key the client chose, 32 bytes")).Issue("alice",
			position.GetPostedAt().AsTime().Add(-time.Microsecond), position.GetEntryId()),
		"ErrAltered":         string(altered),
		"ErrAnotherAccounts": bobsPage.GetNextPageToken(),
		"ErrUnsigned":        "MTcwMDAwMDAwMDAwMDAwMDAvN2U2M2E1ZDktZTBlMS00YWRkLWFiMmUtNjQzOTM2MDlkNWY2",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := accounts.ListEntries(ctx, &ledgerv1.ListEntriesRequest{AccountId: "alice", PageSize: 1, PageToken: bad})
			br := AssertReason(t, err, codes.InvalidArgument, "INVALID_ARGUMENT")
			if v := br.GetFieldViolations(); len(v) != 1 || v[0].GetField() != "page_token" {
				t.Fatalf("field violations = %v, want page_token", v)
			}
		})
	}
}
