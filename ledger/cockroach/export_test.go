package cockroach

import (
	"io/fs"
	"slices"

	"github.com/pressly/goose/v3"
)

// MigrateTo applies the migrations up to version, so that a test can
// write data as an older ledger did and then migrate it.
var MigrateTo = migrateTo

// SQLMoveBatch is the statement that makes a batch of moves, for tests
// that send it by hand.
const SQLMoveBatch = sqlMoveBatch

// QueuedMoves is how many moves wait for a batch.
func (s *Store) QueuedMoves() int {
	if s.batcher == nil {
		return 0
	}
	s.batcher.mu.Lock()
	defer s.batcher.mu.Unlock()
	return len(s.batcher.queue)
}

// MigrationVersions lists every migration's version, from the embedded
// files and the migrations written in Go, in order.
func MigrationVersions() ([]int64, error) {
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	out := []int64{rolesMigration.Version, appendOnlyMigration.Version}
	for _, f := range files {
		v, err := goose.NumericComponent(f)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	slices.Sort(out)
	return out, nil
}
