package cockroach

// MigrateTo applies the migrations up to version, so that a test can
// write data as an older ledger did and then migrate it.
var MigrateTo = migrateTo

// SQLPost is the posting engine's statement, for tests that send it by
// hand.
const SQLPost = sqlPost

// QueuedMoves is how many moves wait for a batch.
func (s *Store) QueuedMoves() int {
	if s.batcher == nil {
		return 0
	}
	s.batcher.mu.Lock()
	defer s.batcher.mu.Unlock()
	return len(s.batcher.queue)
}
