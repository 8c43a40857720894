package ledgerv1_test

import (
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/corebanking/ledger/ledger"
	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

// validator is every request message the validator interceptor checks.
type validator interface {
	proto.Message
	Validate() error
}

// requests are the request types that have rules, one message of each.
var requests = []validator{
	new(ledgerv1.OpenAccountRequest), new(ledgerv1.GetAccountRequest), new(ledgerv1.GetBalanceRequest),
	new(ledgerv1.ListEntriesRequest), new(ledgerv1.DepositRequest), new(ledgerv1.TransferRequest),
	new(ledgerv1.WithdrawRequest), new(ledgerv1.PlaceHoldRequest), new(ledgerv1.CaptureHoldRequest),
	new(ledgerv1.VoidHoldRequest), new(ledgerv1.CreatePromoRequest), new(ledgerv1.GetPromoRequest),
	new(ledgerv1.SubscribeRequest),
}

// FuzzWireRequest decodes arbitrary bytes as each request type, as the
// server does before its interceptors run, and validates the result: no
// panic, and any refusal is INVALID_ARGUMENT with field violations.
func FuzzWireRequest(f *testing.F) {
	seed := func(op int, m proto.Message) {
		b, err := proto.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(op), b)
	}
	seed(5, &ledgerv1.TransferRequest{RequestId: "t1", FromAccountId: "a", ToAccountId: "b", Amount: 5, Currency: "KRW", Memo: "rent"})
	seed(7, &ledgerv1.PlaceHoldRequest{RequestId: "h1", AccountId: "a", Amount: 5, Currency: "KRW", Ttl: durationpb.New(-1)})
	seed(3, &ledgerv1.ListEntriesRequest{AccountId: "a", PageSize: -1, PageToken: "x"})
	f.Add(uint8(10), []byte{0x3a, 0x02, 0x08, 0x80})
	f.Fuzz(func(t *testing.T, op uint8, data []byte) {
		m := requests[int(op)%len(requests)].ProtoReflect().New().Interface().(validator)
		if proto.Unmarshal(data, m) != nil {
			return // the server's codec refuses what does not decode (internal/server/codec.go)
		}
		if err := m.Validate(); err != nil {
			var le *ledger.Error
			if !errors.As(err, &le) || le.Code != ledger.CodeInvalidArgument || len(le.Fields) == 0 {
				t.Fatalf("%T.Validate = %v, want INVALID_ARGUMENT with field violations", m, err)
			}
		}
	})
}
