package server

import (
	"strings"
	"testing"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/corebanking/ledger/ledger"
	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

// fuzzMessages are request types of every shape: strings, numbers, a
// nested message.
var fuzzMessages = []proto.Message{
	new(ledgerv1.TransferRequest), new(ledgerv1.PlaceHoldRequest), new(ledgerv1.ListEntriesRequest),
	new(ledgerv1.StreamJournalRequest), new(ledgerv1.CreatePromoRequest),
}

// FuzzWireCodec decodes arbitrary bytes with the server's codec: it never
// fails and never panics; it records a failure exactly when protobuf
// cannot decode the bytes (or they are over the limit), and then leaves the
// message empty; a field it blames is one of the message's own.
func FuzzWireCodec(f *testing.F) {
	seed := func(op int, m proto.Message) {
		b, err := proto.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(op), b)
	}
	seed(0, &ledgerv1.TransferRequest{RequestId: "t1", FromAccountId: "a", ToAccountId: "b", Amount: 5, Currency: "KRW", Memo: "rent"})
	seed(1, &ledgerv1.PlaceHoldRequest{RequestId: "h1", AccountId: "a", Amount: 5, Currency: "KRW", Ttl: durationpb.New(60e9)})
	f.Add(uint8(0), []byte("\x0a\x03t-\xff"))
	f.Add(uint8(1), []byte("\x2a\x03\x08\x3c\xff"))
	f.Add(uint8(3), []byte("\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"))
	c := newWireCodec(256, 256)
	f.Fuzz(func(t *testing.T, op uint8, data []byte) {
		m := fuzzMessages[int(op)%len(fuzzMessages)].ProtoReflect().New().Interface()
		if err := c.Unmarshal(mem.BufferSlice{mem.SliceBuffer(data)}, m); err != nil {
			t.Fatalf("Unmarshal returned %v; it must record failures instead", err)
		}
		failure, failed := c.take(m)
		want := len(data) > 256 || proto.Unmarshal(data, m.ProtoReflect().New().Interface()) != nil
		if failed != want {
			t.Fatalf("recorded a failure: %v (%+v); protobuf fails or too large: %v", failed, failure, want)
		}
		if !failed {
			return
		}
		if failure.code != ledger.CodeMalformedRequest && failure.code != ledger.CodeRequestTooLarge {
			t.Fatalf("failure code %s", failure.code)
		}
		if proto.Size(m) != 0 {
			t.Fatalf("an undecoded message kept %d bytes of content", proto.Size(m))
		}
		if failure.field != "" && m.ProtoReflect().Descriptor().Fields().ByName(firstName(failure.field)) == nil {
			t.Fatalf("blamed %q, not a field of %s", failure.field, m.ProtoReflect().Descriptor().FullName())
		}
	})
}

// firstName is the first name of a field path, as a field name.
func firstName(path string) protoreflect.Name {
	name, _, _ := strings.Cut(path, ".")
	return protoreflect.Name(name)
}
