package ledger

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// A statement page token is the position of the last line shown: its time
// (Unix microseconds) and entry id, base64url-encoded. It is opaque to
// clients; the store issues it and reads it back.

// PageToken returns the token of the page after the line at (at, entryID).
func PageToken(at time.Time, entryID string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at.UnixMicro(), 10) + "/" + entryID))
}

// ParsePageToken reads a token PageToken made. It accepts only the exact
// form PageToken writes (canonical decimal, a lower-case UUID), so that
// one position has one token and a forged token is refused before any
// query runs.
func ParsePageToken(tok string) (at time.Time, entryID string, ok bool) {
	if len(tok) > maxPageTokenLength {
		return time.Time{}, "", false
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	// The decoder skips newlines and stray low bits: only the encoding of
	// what it read counts.
	if err != nil || base64.RawURLEncoding.EncodeToString(raw) != tok {
		return time.Time{}, "", false
	}
	micros, id, found := strings.Cut(string(raw), "/")
	us, err := strconv.ParseInt(micros, 10, 64)
	if !found || err != nil || strconv.FormatInt(us, 10) != micros {
		return time.Time{}, "", false
	}
	if u, err := uuid.Parse(id); err != nil || u.String() != id {
		return time.Time{}, "", false
	}
	return time.UnixMicro(us).UTC(), id, true
}

// maxPageTokenLength is longer than any token PageToken makes (20 digits,
// a slash and 36 characters, base64: 76).
const maxPageTokenLength = 128
