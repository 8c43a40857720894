package ledgerd

import (
	"crypto/rand"
	"errors"
	"fmt"
	"path/filepath"

	"golang.org/x/mod/sumdb/note"

	"github.com/corebanking/ledger/internal/identity"
	"github.com/corebanking/ledger/internal/journalkey"
	"github.com/corebanking/ledger/internal/witness"
	"github.com/corebanking/ledger/ledger"
)

// journalSigner returns the key that signs the journal's checkpoints, and
// its public key:
//   - the key file in JournalKey (ledgerctl journal keygen) when given;
//   - in development (the development certificates, or the embedded
//     database) a key made on first start and kept beside the development
//     certificates, in TLSDir, as journal.key and journal.key.pub;
//   - with production certificates, none: JournalKey is required;
//   - in plaintext on a database given by URL (tests, benchmarks) a key
//     that lives as long as this process, which the log says.
func (cfg Config) journalSigner() (note.Signer, string, error) {
	switch {
	case cfg.JournalKey != "":
		return journalkey.LoadSigner(cfg.JournalKey)
	case cfg.TLSCert != "":
		return nil, "", errors.New("the journal's checkpoints need a signing key with production certificates: " +
			"make one with 'ledgerctl journal keygen' and pass --journal-key")
	case !cfg.Plaintext || cfg.DatabaseURL == "":
		dir := cfg.TLSDir
		if dir == "" {
			dir = DefaultTLSDir(cfg.DataDir)
		}
		path := filepath.Join(dir, journalkey.DevFile)
		made, err := journalkey.Ensure(path, cfg.journalKeyName())
		if err != nil {
			return nil, "", fmt.Errorf("development journal key: %w", err)
		}
		if made {
			cfg.Logger.Warn("made a development key for the journal's checkpoints: never use it beyond this machine",
				"key", path, "public_key", path+journalkey.PubSuffix)
		}
		return journalkey.LoadSigner(path)
	}
	skey, vkey, err := note.GenerateKey(rand.Reader, cfg.journalKeyName())
	if err != nil {
		return nil, "", err
	}
	s, err := note.NewSigner(skey)
	cfg.Logger.Warn("the journal's checkpoints are signed with a key that ends with this process: pass --journal-key to keep one",
		"public_key", vkey)
	return s, vkey, err
}

// journalKeyName names a key ledgerd makes: the trust domain's journal.
func (cfg Config) journalKeyName() string {
	td := cfg.TrustDomain
	if td == "" {
		td = identity.DefaultTrustDomain
	}
	return td + "/journal"
}

// witnessFunc opens the witness file in dir and returns what the sealer
// gives each checkpoint it signs.
func (m *Main) witnessFunc(dir string) (func(ledger.SignedCheckpoint) error, error) {
	w, err := witness.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("witness: %w", err)
	}
	m.witness = w
	m.cfg.Logger.Info("the sealer appends every signed checkpoint to the witness file", "file", w.Path())
	return func(c ledger.SignedCheckpoint) error { return w.Append(c.Note) }, nil
}
