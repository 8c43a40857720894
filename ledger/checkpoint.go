package ledger

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// A signed checkpoint commits the ledger to the first Size records of its
// journal: the root of their Merkle tree and the chain hash of the last of
// them, signed with an Ed25519 key that lives outside the database. It is a
// signed note (C2SP signed-note, as Go's checksum database and
// Certificate Transparency logs use) whose text is, line by line:
//
//	<origin: the signing key's name>
//	<size, decimal>
//	<root hash, base64>
//	chain-head <hash of record Size, base64>
//	time <when it was signed, 2006-01-02T15:04:05.000000Z>
//
// docs/journal.md specifies it, with a worked example.

// checkpointTime is the layout of a checkpoint's time line: UTC, always
// six fractional digits, so that a time has one text.
const checkpointTime = "2006-01-02T15:04:05.000000Z"

// SignedCheckpoint is one signed commitment to the journal's first Size
// records.
type SignedCheckpoint struct {
	// Origin names the journal: the name of the key that signs it.
	Origin    string
	Size      int64
	Root      []byte
	ChainHead []byte
	Time      time.Time
	// KeyID is the signing key's id: the first four bytes of
	// SHA-256(name || "\n" || 0x01 || public key), as the signature line
	// carries it.
	KeyID uint32
	// Note is the signed note as it was signed: Text, a blank line and the
	// signature line. Only its bytes count; the fields above are read
	// from it.
	Note []byte
}

// Text returns the bytes the key signs.
func (c SignedCheckpoint) Text() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n%d\n%s\n", c.Origin, c.Size, base64.StdEncoding.EncodeToString(c.Root))
	fmt.Fprintf(&b, "chain-head %s\n", base64.StdEncoding.EncodeToString(c.ChainHead))
	fmt.Fprintf(&b, "time %s\n", c.Time.UTC().Format(checkpointTime))
	return []byte(b.String())
}

// SignCheckpoint signs c with s, whose name becomes c's origin, and returns
// it with its note and key id.
func SignCheckpoint(c SignedCheckpoint, s note.Signer) (SignedCheckpoint, error) {
	c.Origin, c.KeyID = s.Name(), s.KeyHash()
	c.Time = c.Time.UTC().Truncate(time.Microsecond)
	msg, err := note.Sign(&note.Note{Text: string(c.Text())}, s)
	if err != nil {
		return c, fmt.Errorf("sign checkpoint: %w", err)
	}
	c.Note = msg
	return c, nil
}

// OpenCheckpoint checks that msg is a checkpoint signed by v's key and
// returns it. A signature by another key, a forged signature and a text
// that is not a checkpoint of v's journal are each an error.
func OpenCheckpoint(msg []byte, v note.Verifier) (SignedCheckpoint, error) {
	n, err := note.Open(msg, note.VerifierList(v))
	var unverified *note.UnverifiedNoteError
	var invalid *note.InvalidSignatureError
	switch {
	case errors.As(err, &invalid):
		return SignedCheckpoint{}, fmt.Errorf("the signature of key %s (%08x) is not valid: forged, or the text was changed", invalid.Name, invalid.Hash)
	case errors.As(err, &unverified):
		var by []string
		for _, s := range unverified.Note.UnverifiedSigs {
			by = append(by, fmt.Sprintf("%s (%08x)", s.Name, s.Hash))
		}
		return SignedCheckpoint{}, fmt.Errorf("not signed by key %s (%08x); signed by %s", v.Name(), v.KeyHash(), strings.Join(by, ", "))
	case err != nil:
		return SignedCheckpoint{}, fmt.Errorf("not a signed note: %w", err)
	}
	c, err := parseCheckpointText(n.Text)
	if err != nil {
		return c, err
	}
	if c.Origin != v.Name() {
		return c, fmt.Errorf("checkpoint of journal %q signed by key %s", c.Origin, v.Name())
	}
	c.KeyID, c.Note = v.KeyHash(), bytes.Clone(msg)
	return c, nil
}

// parseCheckpointText reads a checkpoint's text, accepting only the one
// way Text writes each value.
func parseCheckpointText(text string) (SignedCheckpoint, error) {
	var c SignedCheckpoint
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) != 5 {
		return c, fmt.Errorf("a checkpoint has 5 lines, this text %d", len(lines))
	}
	bad := func(what string, i int) error { return fmt.Errorf("checkpoint: bad %s line %q", what, lines[i]) }
	c.Origin = lines[0]
	var err error
	if c.Size, err = strconv.ParseInt(lines[1], 10, 64); err != nil || c.Size < 0 || strconv.FormatInt(c.Size, 10) != lines[1] {
		return c, bad("size", 1)
	}
	if c.Root, err = base64.StdEncoding.DecodeString(lines[2]); err != nil || len(c.Root) != HashSize {
		return c, bad("root", 2)
	}
	head, ok := strings.CutPrefix(lines[3], "chain-head ")
	if c.ChainHead, err = base64.StdEncoding.DecodeString(head); !ok || err != nil || len(c.ChainHead) != HashSize {
		return c, bad("chain-head", 3)
	}
	at, ok := strings.CutPrefix(lines[4], "time ")
	if c.Time, err = time.Parse(checkpointTime, at); !ok || err != nil || c.Time.Format(checkpointTime) != at {
		return c, bad("time", 4)
	}
	if string(c.Text()) != text {
		return c, errors.New("checkpoint: the text is not in its one canonical form")
	}
	return c, nil
}
