package cockroach

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

// Translate is the store's translation of driver and network errors into
// the ledger's, for tests that construct the driver's errors themselves.
func Translate(err error) error { return (&Store{}).translate(err) }

// CommitFailed marks err as the failure of a round trip that carried COMMIT.
var CommitFailed = commitFailed
