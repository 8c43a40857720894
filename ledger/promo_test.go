package ledger_test

import (
	"errors"
	"testing"

	"github.com/corebanking/ledger/ledger"
)

// TestSubscribeCheckOwner: a customer subscribes only from an account of
// their own.
func TestSubscribeCheckOwner(t *testing.T) {
	r := ledger.SubscribeRequest{CustomerID: "alice", FromAccount: "acct-1"}
	if err := r.CheckOwner(ledger.Account{ID: "acct-1", CustomerID: "alice"}); err != nil {
		t.Errorf("alice's own account: %v", err)
	}
	err := r.CheckOwner(ledger.Account{ID: "acct-1", CustomerID: "bob"})
	if ledger.ErrorCode(err) != ledger.CodeInvalidArgument {
		t.Fatalf("bob's account: %v, want INVALID_ARGUMENT", err)
	}
	var e *ledger.Error
	if !errors.As(err, &e) || len(e.Fields) != 1 || e.Fields[0].Field != "from_account_id" {
		t.Errorf("bob's account: %+v, want the from_account_id field named", err)
	}
}
