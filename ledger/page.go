package ledger

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"time"

	"github.com/google/uuid"
)

// A statement page token is the position of the last line shown (its time
// and entry id) and an HMAC of that position and of the account it pages,
// under a key the server keeps: "a token this server issued" for this
// account is the only kind accepted, and a client can neither forge a
// position nor carry a token over to another account. It is opaque to
// clients: 8 bytes of Unix microseconds, the entry's 16-byte UUID and the
// first 16 bytes of the HMAC-SHA256, base64url-encoded without padding.

// PageTokens issues statement page tokens and reads them back, under one key.
type PageTokens struct{ key []byte }

// PageKeySize is the size of a page token key, in bytes.
const PageKeySize = 32

// NewPageTokens returns the tokens of key; every server that pages the same
// statements must share it. A nil key means a random one: tokens then
// outlive neither the value nor the process.
func NewPageTokens(key []byte) *PageTokens {
	if len(key) == 0 {
		key = make([]byte, PageKeySize)
		rand.Read(key)
	}
	return &PageTokens{key: key}
}

// Layout of a decoded token.
const (
	pagePosition = 8 + 16 // microseconds, entry id
	pageMAC      = 16
	pageRaw      = pagePosition + pageMAC
	// pageTokenLength is the length of every token: base64 of pageRaw bytes.
	pageTokenLength = (pageRaw*8 + 5) / 6
)

// Issue returns the token of the page of accountID's statement after the
// line at (at, entryID). entryID must be a UUID.
func (p *PageTokens) Issue(accountID string, at time.Time, entryID string) string {
	id := uuid.MustParse(entryID)
	raw := make([]byte, pagePosition, pageRaw)
	binary.BigEndian.PutUint64(raw, uint64(at.UnixMicro()))
	copy(raw[8:], id[:])
	return base64.RawURLEncoding.EncodeToString(append(raw, p.mac(accountID, raw)...))
}

// Parse reads a token Issue made for accountID, and reports false for any
// other string: another account's token, a changed or made-up one.
func (p *PageTokens) Parse(accountID, tok string) (at time.Time, entryID string, ok bool) {
	raw, ok := decodePageToken(tok)
	if !ok || !hmac.Equal(raw[pagePosition:], p.mac(accountID, raw[:pagePosition])) {
		return time.Time{}, "", false
	}
	id, _ := uuid.FromBytes(raw[8:pagePosition])
	return time.UnixMicro(int64(binary.BigEndian.Uint64(raw))).UTC(), id.String(), true
}

// mac authenticates a position of accountID's statement. The account id
// is length-prefixed, so no two (account, position) pairs share an input.
func (p *PageTokens) mac(accountID string, position []byte) []byte {
	h := hmac.New(sha256.New, p.key)
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(accountID)))
	h.Write([]byte("ledger statement page v1\x00"))
	h.Write(n[:])
	h.Write([]byte(accountID))
	h.Write(position)
	return h.Sum(nil)[:pageMAC]
}

// decodePageToken returns the bytes of a token of the right shape: the
// exact encoding of pageRaw bytes, so that one position has one token.
func decodePageToken(tok string) ([]byte, bool) {
	if len(tok) != pageTokenLength {
		return nil, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	// The decoder skips newlines and stray low bits: only the encoding of
	// what it read counts.
	if err != nil || len(raw) != pageRaw || base64.RawURLEncoding.EncodeToString(raw) != tok {
		return nil, false
	}
	return raw, true
}

// wellFormedPageToken reports whether tok has a token's shape. Only the
// store, which holds the key, can tell whether it issued it.
func wellFormedPageToken(tok string) bool {
	_, ok := decodePageToken(tok)
	return ok
}
