package journalkey_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/corebanking/ledger/internal/journalkey"
)

func TestKeyFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "journal.key")
	vkey, err := journalkey.Generate(path, "bank.example/ledger")
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("private key file: %v, %v", st.Mode(), err)
	}
	if _, err := journalkey.Generate(path, "bank.example/ledger"); err == nil {
		t.Error("an existing key was overwritten")
	}
	s, pub, err := journalkey.LoadSigner(path)
	if err != nil || pub != vkey || s.Name() != "bank.example/ledger" {
		t.Fatalf("LoadSigner = %v, %q, %v", s, pub, err)
	}
	msg, err := note.Sign(&note.Note{Text: "hello\n"}, s)
	if err != nil {
		t.Fatal(err)
	}
	// The public key, its file and the private key file all check it.
	for _, key := range []string{vkey, path + journalkey.PubSuffix, path} {
		v, got, err := journalkey.LoadVerifier(key)
		if err != nil || got != vkey {
			t.Fatalf("LoadVerifier(%s) = %q, %v", key, got, err)
		}
		if _, err := note.Open(msg, note.VerifierList(v)); err != nil {
			t.Errorf("LoadVerifier(%s) does not check its signature: %v", key, err)
		}
	}
	if _, _, err := journalkey.LoadVerifier("nonsense"); err == nil {
		t.Error("nonsense accepted as a key")
	}
	if made, err := journalkey.Ensure(path, "other"); made || err != nil {
		t.Errorf("Ensure over an existing key: %v, %v", made, err)
	}
	if _, err := journalkey.Generate(filepath.Join(t.TempDir(), "k"), "has space"); err == nil || !strings.Contains(err.Error(), "has space") {
		t.Errorf("a name with a space: %v", err)
	}
}
