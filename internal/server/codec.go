package server

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/corebanking/ledger/ledger"
	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

// gRPC decodes a unary request before any interceptor runs, and a codec
// error becomes INTERNAL "grpc: failed to unmarshal the received message:
// ..." with the decoder's own words and nothing of the error table. So the
// server's codec never fails: a request that does not decode, or is larger
// than the server reads, is recorded against the message it was decoding,
// which is left empty, and the first interceptor that sees that message
// (refuseUndecoded, or RecvMsg of a stream) answers it through the one
// error table: INVALID_ARGUMENT with MALFORMED_REQUEST or
// REQUEST_TOO_LARGE, a BadRequest when a field can be named, messages in
// en-US and ko-KR; the decoder's text goes to the log under the call id.
// docs/decoding.md has the design and its limits.

// wireCodec is the server's codec: protobuf, with failures recorded rather
// than returned.
type wireCodec struct {
	proto    encoding.CodecV2
	maxBytes int
	// maxBatchBytes bounds a SubmitBatchRequest, which carries up to
	// ledger.MaxBatchItems requests of its own.
	maxBatchBytes int
	refused       *prometheus.CounterVec

	mu     sync.Mutex
	failed map[any]decodeFailure // by the message being decoded
}

// decodeFailure is why a request was not decoded.
type decodeFailure struct {
	code  ledger.Code
	size  int
	field string // the field to blame, "" when none can be named
	err   error  // the decoder's own words: for the log only
	at    time.Time
}

// undecodedTTL bounds how long an unclaimed failure is kept: a client that
// breaks the protocol (a second message on a unary call) can make gRPC end
// the call before any interceptor claims it.
const undecodedTTL = time.Minute

func newWireCodec(maxBytes, maxBatchBytes int) *wireCodec {
	c := &wireCodec{
		proto: encoding.GetCodecV2("proto"), maxBytes: maxBytes, maxBatchBytes: maxBatchBytes, failed: map[any]decodeFailure{},
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ledger_requests_undecoded_total",
			Help: "Requests refused because they did not decode or were too large, by reason.",
		}, []string{"reason"}),
	}
	for _, code := range []ledger.Code{ledger.CodeMalformedRequest, ledger.CodeRequestTooLarge} {
		c.refused.WithLabelValues(string(code)) // counted from zero
	}
	return c
}

// Name implements encoding.CodecV2; it replaces the default codec.
func (c *wireCodec) Name() string { return c.proto.Name() }

// Marshal implements encoding.CodecV2.
func (c *wireCodec) Marshal(v any) (mem.BufferSlice, error) { return c.proto.Marshal(v) }

// Unmarshal implements encoding.CodecV2. It returns nil whatever the bytes:
// see wireCodec.
func (c *wireCodec) Unmarshal(data mem.BufferSlice, v any) error {
	limit := c.maxBytes
	if _, batch := v.(*ledgerv1.SubmitBatchRequest); batch {
		limit = c.maxBatchBytes
	}
	if n := data.Len(); n > limit {
		c.fail(v, decodeFailure{code: ledger.CodeRequestTooLarge, size: n,
			err: fmt.Errorf("request of %d bytes, over the limit of %d", n, limit)})
		return nil
	}
	err := c.proto.Unmarshal(data, v)
	if err == nil {
		return nil
	}
	f := decodeFailure{code: ledger.CodeMalformedRequest, size: data.Len(), err: err}
	if m, ok := v.(proto.Message); ok {
		b := data.Materialize()
		f.field = blame(m.ProtoReflect().Descriptor(), b)
		proto.Reset(m) // nothing half-decoded reaches a handler
	}
	c.fail(v, f)
	return nil
}

func (c *wireCodec) fail(v any, f decodeFailure) {
	f.at = time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, old := range c.failed {
		if f.at.Sub(old.at) > undecodedTTL {
			delete(c.failed, k)
		}
	}
	c.failed[v] = f
}

// take returns and forgets the failure recorded against v, if any.
func (c *wireCodec) take(v any) (decodeFailure, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f, ok := c.failed[v]
	if ok {
		delete(c.failed, v)
	}
	return f, ok
}

// refuse answers an undecoded request through the error table and logs the
// decoder's words with the call id.
func (c *wireCodec) refuse(ctx context.Context, log *slog.Logger, method string, f decodeFailure) error {
	c.refused.WithLabelValues(string(f.code)).Inc()
	log.WarnContext(ctx, "request refused before decoding", "method", method, "call_id", CallID(ctx),
		"reason", f.code, "bytes", f.size, "field", f.field, "error", f.err)
	e := &ledger.Error{Code: f.code, Message: "request not decoded", Err: f.err}
	if f.field != "" {
		e.Fields = []ledger.FieldViolation{{Field: f.field, Description: "could not be read: it must be valid UTF-8 and of its declared type"}}
	}
	return toStatus(ctx, log, method, e)
}

// refuseUndecoded is the unary interceptor that answers a request the codec
// could not decode.
func (c *wireCodec) refuseUndecoded(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
		if f, ok := c.take(req); ok {
			return nil, c.refuse(ctx, log, info.FullMethod, f)
		}
		return next(ctx, req)
	}
}

// refuseUndecodedStream does the same for each message a stream receives.
func (c *wireCodec) refuseUndecodedStream(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, next grpc.StreamHandler) error {
		return next(srv, &decodedStream{ServerStream: ss, c: c, log: log, method: info.FullMethod})
	}
}

type decodedStream struct {
	grpc.ServerStream
	c      *wireCodec
	log    *slog.Logger
	method string
}

func (s *decodedStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	if f, ok := s.c.take(m); ok {
		return s.c.refuse(s.Context(), s.log, s.method, f)
	}
	return nil
}

// blame names the field of a message of md whose bytes broke decoding: a
// string that is not UTF-8, a value cut short, or a message field whose
// own bytes do not decode, with the path to it ("entry.memo"). It returns
// "" when no field can be named.
func blame(md protoreflect.MessageDescriptor, b []byte) string {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return ""
		}
		b = b[n:]
		fd := md.Fields().ByNumber(num)
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return nameOf(fd)
		}
		value := b[:n]
		b = b[n:]
		if fd == nil || typ != protowire.BytesType {
			continue // unknown fields are kept, and a mismatched wire type makes one
		}
		v, _ := protowire.ConsumeBytes(value)
		switch {
		case fd.Kind() == protoreflect.StringKind && !utf8.Valid(v):
			return nameOf(fd)
		case fd.Kind() == protoreflect.MessageKind:
			if inner := blame(fd.Message(), v); inner != "" {
				return nameOf(fd) + "." + inner
			}
			if proto.Unmarshal(v, dynamicpb.NewMessage(fd.Message())) != nil {
				return nameOf(fd)
			}
		}
	}
	return ""
}

func nameOf(fd protoreflect.FieldDescriptor) string {
	if fd == nil {
		return ""
	}
	return string(fd.Name())
}
