package cockroach

import "io/fs"

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

// MigrationCount is how many migrations the binary carries: the SQL
// files and the roles migration in Go. Their versions may have gaps.
func MigrationCount(tb interface{ Fatal(...any) }) int64 {
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		tb.Fatal(err)
	}
	return int64(len(files)) + 1
}
