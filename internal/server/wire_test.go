package server_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/corebanking/ledger/internal/ledgerd"
	"github.com/corebanking/ledger/internal/pgtest"
	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

// rawCodec sends a *[]byte as it is: the test writes the wire bytes itself.
type rawCodec struct{}

func (rawCodec) Name() string { return "proto" }

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(*v.(*[]byte))}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	*v.(*[]byte) = data.Materialize()
	return nil
}

// field appends a length-delimited field to b, as the wire has it.
func field(b []byte, num protowire.Number, value []byte) []byte {
	return protowire.AppendBytes(protowire.AppendTag(b, num, protowire.BytesType), value)
}

// TestUndecodableRequests sends raw bytes on the wire to a real ledgerd:
// each request that does not decode, or is too large, is answered
// INVALID_ARGUMENT with a stable reason, messages in en-US and ko-KR and
// nothing of gRPC's or the decoder's words, which go to the log with the
// call id.
func TestUndecodableRequests(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "ledgerd.log")
	log, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	m, err := ledgerd.Run(context.Background(), ledgerd.Config{DatabaseURL: pgtest.NewDatabase(t), Listen: "127.0.0.1:0",
		AdminListen: "-", Plaintext: true, Logger: slog.New(slog.NewTextHandler(log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	conn := MustDial(t, m.Server.Addr())

	transfer := func(requestID, memo string) []byte {
		b, err := proto.Marshal(&ledgerv1.TransferRequest{RequestId: requestID, FromAccountId: "alice", ToAccountId: "bob",
			Amount: 100, Currency: "KRW", Memo: memo})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	valid := func(memo string) []byte { return transfer("t-1", memo) }
	// A valid request but for its request_id, field 1, which is not UTF-8.
	badUTF8 := field(transfer("", "rent"), 1, []byte("t-\xff\xfe"))
	holdTTL, _ := proto.Marshal(durationpb.New(60e9))
	for _, tt := range []struct {
		name, method string
		body         []byte
		reason       string
		field        string // the field BadRequest must name, if any
		stream       bool
	}{
		{"InvalidUTF8InRequestID", ledgerv1.PaymentService_Transfer_FullMethodName, badUTF8, "MALFORMED_REQUEST", "request_id", false},
		{"InvalidUTF8InMemo", ledgerv1.PaymentService_Transfer_FullMethodName, field(valid(""), 6, []byte("\xc3\x28")), "MALFORMED_REQUEST", "memo", false},
		{"GarbageBytes", ledgerv1.PaymentService_Transfer_FullMethodName, []byte("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff garbage"), "MALFORMED_REQUEST", "", false},
		{"TruncatedField", ledgerv1.PaymentService_Transfer_FullMethodName, []byte{0x0a, 0x40, 't', '-'}, "MALFORMED_REQUEST", "request_id", false},
		{"BrokenNestedMessage", ledgerv1.PaymentService_PlaceHold_FullMethodName,
			field(field(nil, 1, []byte("h-1")), 5, append(holdTTL, 0xff)), "MALFORMED_REQUEST", "ttl", false},
		{"TooLarge70KiB", ledgerv1.PaymentService_Transfer_FullMethodName, valid(strings.Repeat("x", 70<<10)), "REQUEST_TOO_LARGE", "", false},
		{"HealthGarbage", healthpb.Health_Check_FullMethodName, []byte{0x0a, 0x03, 0xff, 0xfe, 0xfd}, "MALFORMED_REQUEST", "service", false},
		{"StreamGarbage", ledgerv1.AuditService_StreamJournal_FullMethodName, []byte("\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"), "MALFORMED_REQUEST", "from_sequence", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := sendRaw(t, conn, tt.method, tt.body, tt.stream)
			br := AssertReason(t, err, codes.InvalidArgument, tt.reason)
			var fields []string
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
			if want := []string{tt.field}; tt.field != "" && !slices.Equal(fields, want) || tt.field == "" && len(fields) != 0 {
				t.Errorf("field violations %v, want %q", fields, tt.field)
			}
			assertNoTransportWords(t, err)
			callID := callIDOf(err)
			written, _ := os.ReadFile(logPath)
			if line := logLine(string(written), "call_id="+callID); !strings.Contains(line, "request refused before decoding") ||
				!strings.Contains(line, "reason="+tt.reason) || !strings.Contains(line, `error="`) {
				t.Errorf("the log has no line with the decoder's words under call %s: %q", callID, line)
			}
		})
	}

	// The server still serves: a valid request after all that.
	_, err = ledgerv1.NewPaymentServiceClient(conn).Transfer(context.Background(), &ledgerv1.TransferRequest{
		RequestId: "t-2", FromAccountId: "alice", ToAccountId: "bob", Amount: 1, Currency: "KRW"})
	AssertReason(t, err, codes.NotFound, "ACCOUNT_NOT_FOUND")

	// Over the transport's own bound gRPC refuses the message before
	// reading it, with its own answer (docs/decoding.md).
	err = sendRaw(t, conn, ledgerv1.PaymentService_Transfer_FullMethodName, valid(strings.Repeat("x", 16<<20)), false)
	if status.Code(err) != codes.ResourceExhausted {
		t.Errorf("a request over the transport's bound: %v, want RESOURCE_EXHAUSTED", err)
	}
}

// sendRaw sends body as the request of method, unary or server-streaming,
// and returns the call's error.
func sendRaw(t *testing.T, conn *grpc.ClientConn, method string, body []byte, stream bool) error {
	t.Helper()
	ctx := t.Context()
	codec := grpc.ForceCodecV2(rawCodec{})
	if !stream {
		var out []byte
		return conn.Invoke(ctx, method, &body, &out, codec)
	}
	s, err := conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, method, codec)
	if err != nil {
		return err
	}
	if err := s.SendMsg(&body); err != nil {
		return err
	}
	if err := s.CloseSend(); err != nil {
		return err
	}
	var out []byte
	return s.RecvMsg(&out)
}

// assertNoTransportWords checks that nothing the caller sees speaks of
// gRPC's or protobuf's internals.
func assertNoTransportWords(t *testing.T, err error) {
	t.Helper()
	st := status.Convert(err)
	texts := []string{st.Message()}
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.LocalizedMessage:
			texts = append(texts, d.GetMessage())
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				texts = append(texts, v.GetDescription())
			}
		}
	}
	for _, s := range texts {
		for _, word := range []string{"grpc:", "proto:", "unmarshal", "UTF-8 in", "wire"} {
			if strings.Contains(s, word) {
				t.Errorf("the caller sees %q", s)
			}
		}
	}
}

func callIDOf(err error) string {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetMetadata()["call_id"]
		}
	}
	return ""
}

// logLine returns the first line of log that holds want.
func logLine(log, want string) string {
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, want) {
			return line
		}
	}
	return ""
}
