package ctl

import (
	"fmt"
	"strings"
	"unicode"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
)

// statusText is st's message in the chosen language and its stable reason.
func (c *cli) statusText(st *status.Status) (msg, reason string) {
	msg, reason = st.Message(), codeName(st.Code())
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			reason = d.GetReason()
		case *errdetails.LocalizedMessage:
			if lang, _, _ := strings.Cut(d.GetLocale(), "-"); lang == c.g.lang {
				msg = d.GetMessage()
			}
		}
	}
	return msg, reason
}

// reportError prints a failed call: the message in the chosen language with
// its stable reason, each invalid field, retry advice and the ids an
// operator needs to find the call. With --json it prints the status itself.
func (c *cli) reportError(err error) {
	st := status.Convert(err)
	if c.g.json {
		b, merr := protojson.Marshal(st.Proto())
		if merr == nil {
			fmt.Fprintf(c.stderr, "%s\n", b)
			return
		}
	}
	msg, reason := c.statusText(st)
	var info *errdetails.ErrorInfo
	var bad *errdetails.BadRequest
	var retry *errdetails.RetryInfo
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			info = d
		case *errdetails.BadRequest:
			bad = d
		case *errdetails.RetryInfo:
			retry = d
		}
	}
	var hint string
	switch {
	case info == nil && st.Code() == codes.Unavailable && handshakeFailure(st.Message()):
		msg = fmt.Sprintf("the TLS handshake with the ledger at %s failed", c.g.server)
		hint = "  check --tls-dir (or --tls-cert, --tls-key, --tls-ca) belongs to this ledger; --plaintext only for a ledgerd started with --plaintext"
	case info == nil && st.Code() == codes.Unavailable:
		// The transport's own words ("dial tcp ... connection refused") are for
		// the log, not for a teller.
		msg = fmt.Sprintf("cannot reach the ledger at %s; is it running?", c.g.server)
		if c.g.sec.Plaintext {
			hint = "  or does it serve mutual TLS? --plaintext is only for a ledgerd started with --plaintext"
		}
	case info.GetReason() == "PERMISSION_DENIED" && c.role == "":
		hint = "  the role in your certificate (--tls-cert) may not do this"
	case info.GetReason() == "PERMISSION_DENIED":
		hint = fmt.Sprintf("  this command ran as role %s; another role's certificate may be allowed (--role)", c.role)
	}
	fmt.Fprintf(c.stderr, "error: %s (%s)\n", msg, reason)
	if hint != "" {
		fmt.Fprintln(c.stderr, hint)
	}
	for _, v := range bad.GetFieldViolations() {
		fmt.Fprintf(c.stderr, "  %s: %s\n", v.GetField(), v.GetDescription())
	}
	if d := retry.GetRetryDelay(); d != nil {
		fmt.Fprintf(c.stderr, "  retry after %s\n", d.AsDuration())
	}
	if c.requestID != "" {
		if outcomeUnknown(st.Code()) {
			fmt.Fprintf(c.stderr, "  the outcome is unknown: check the statement, or replay with --request-id %s (a replay never posts twice)\n", c.requestID)
		} else {
			fmt.Fprintf(c.stderr, "  request %s\n", c.requestID)
		}
	}
	if id := info.GetMetadata()["call_id"]; id != "" {
		fmt.Fprintf(c.stderr, "  call %s\n", id)
	}
}

// outcomeUnknown reports whether a mutating call that failed with code may
// nevertheless have been applied.
func outcomeUnknown(code codes.Code) bool {
	switch code {
	case codes.DeadlineExceeded, codes.Canceled, codes.Unavailable, codes.Unknown, codes.Internal:
		return true
	}
	return false
}

// codeName spells a gRPC code as its canonical name, DEADLINE_EXCEEDED for
// DeadlineExceeded, for calls that failed before the server gave a reason.
func codeName(code codes.Code) string {
	var b strings.Builder
	for i, r := range code.String() {
		if i > 0 && unicode.IsUpper(r) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}
