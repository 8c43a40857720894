package cockroach

import (
	"context"
	"crypto/rand"

	"github.com/jackc/pgx/v5"

	"github.com/corebanking/ledger/ledger"
)

// The page token key's row in server_keys (migration 20). The first
// server to start writes a random key; every later one reads that.
const (
	pageKeyName     = "page_tokens"
	sqlInsertKey    = `INSERT INTO server_keys (name, key) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`
	sqlGetServerKey = `SELECT key FROM server_keys WHERE name = $1`
)

func init() { statements = append(statements, sqlInsertKey, sqlGetServerKey) }

// LoadPageKey returns the database's page token key, made on first use, for
// Options.PageKey. Only the schema's owner may read it: call it on the
// pool that migrated.
func (s *Store) LoadPageKey(ctx context.Context) ([]byte, error) {
	fresh := make([]byte, ledger.PageKeySize)
	rand.Read(fresh)
	var key []byte
	err := s.inTx(ctx, func(t *txn) error {
		b := &pgx.Batch{}
		b.Queue(sqlInsertKey, pageKeyName, fresh)
		b.Queue(sqlGetServerKey, pageKeyName).QueryRow(func(row pgx.Row) error { return row.Scan(&key) })
		return t.commit(ctx, b)
	})
	return key, err
}
