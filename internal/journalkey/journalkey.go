// Package journalkey keeps the Ed25519 key that signs the journal's
// checkpoints, in the key formats of Go's signed notes: a private key file
// holding "PRIVATE+KEY+<name>+<key id>+<key>" and, beside it, a public
// key file (.pub) holding "<name>+<key id>+<key>", which auditors pin. The
// key lives outside the database, so that whoever owns the database
// cannot sign a checkpoint of a history they rewrote.
package journalkey

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// DevFile is the development key's file name, in the development TLS
// directory beside the certificates; its public key is DevFile + ".pub".
const DevFile = "journal.key"

// PubSuffix names a private key file's public key file.
const PubSuffix = ".pub"

// Generate makes a new key named name (the journal's origin, for example
// "bank.example/ledger"), writes it to path (0600; an existing file is not
// overwritten) and its public key to path.pub, and returns the public key.
func Generate(path, name string) (string, error) {
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err == nil {
		_, err = note.NewSigner(skey) // which checks the name
	}
	if err != nil {
		return "", fmt.Errorf("key name %q (no spaces or '+'): %w", name, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	_, err = f.WriteString(skey + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.WriteFile(path+PubSuffix, []byte(vkey+"\n"), 0o644)
	}
	if err != nil {
		return "", fmt.Errorf("write key: %w", err)
	}
	return vkey, nil
}

// Ensure makes a key named name at path unless there is one, as ledgerd
// does for development; it reports whether it made one.
func Ensure(path, name string) (bool, error) {
	if _, err := os.Stat(path); err == nil {
		return false, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return false, err
	}
	if _, err := Generate(path, name); err != nil {
		return false, err
	}
	return true, nil
}

// LoadSigner reads the private key file at path and returns its signer and
// public key.
func LoadSigner(path string) (note.Signer, string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	skey := string(bytes.TrimSpace(b))
	s, err := note.NewSigner(skey)
	if err != nil {
		return nil, "", fmt.Errorf("%s is not a journal signing key: %w", path, err)
	}
	vkey, err := PublicKey(skey)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	return s, vkey, nil
}

// PublicKey returns the public key of the private key skey.
func PublicKey(skey string) (string, error) {
	parts := strings.SplitN(skey, "+", 5)
	if len(parts) != 5 || parts[0] != "PRIVATE" || parts[1] != "KEY" {
		return "", errors.New("not a private key")
	}
	key, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(key) != 1+ed25519.SeedSize || key[0] != 1 {
		return "", errors.New("not an Ed25519 private key")
	}
	pub := ed25519.NewKeyFromSeed(key[1:]).Public().(ed25519.PublicKey)
	return note.NewEd25519VerifierKey(parts[2], pub)
}

// LoadVerifier returns the verifier of key, which is a public key itself
// ("<name>+<key id>+<key>"), or a file holding one, or a private key file
// (whose public key it derives).
func LoadVerifier(key string) (note.Verifier, string, error) {
	vkey := key
	if _, err := note.NewVerifier(key); err != nil {
		b, ferr := os.ReadFile(key)
		if ferr != nil {
			return nil, "", fmt.Errorf("%q is neither a public key nor a readable key file: %w", key, ferr)
		}
		vkey = string(bytes.TrimSpace(b))
		if strings.HasPrefix(vkey, "PRIVATE+KEY+") {
			if vkey, err = PublicKey(vkey); err != nil {
				return nil, "", fmt.Errorf("%s: %w", key, err)
			}
		}
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, "", fmt.Errorf("%s is not a journal public key: %w", key, err)
	}
	return v, vkey, nil
}
