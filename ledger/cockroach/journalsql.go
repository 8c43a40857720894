package cockroach

import "fmt"

// The sealer's lease (leaseLoop).
var (
	sqlTakeLease    = takeLeaseSQL("sealer_lease")
	sqlReleaseLease = releaseLeaseSQL("sealer_lease")
)

// The journal is stored a block to a sealing transaction (migration 46):
// block b holds records b.first_sequence..b.last_sequence, record
// first_sequence+i-1 at element i of its arrays.
const (
	// journalRecords is a derived table of the records in the blocks that
	// hold records %[1]s < sequence <= %[2]s, one row a record, as the
	// journal's view has them. The blocks are found through their key:
	// from the one that holds record %[1]s+1 to the one that holds %[2]s.
	journalRecords = `(SELECT b.first_sequence + x.i - 1 AS sequence, x.entry_id, x.posted_at,
			CASE WHEN x.i = 1 THEN b.prev_hash ELSE b.hashes[CAST(x.i - 1 AS INT4)] END AS prev_hash, x.hash,
			b.sealed_at, b.sealed_by, b.lease_epoch
		FROM journal_blocks AS b
		CROSS JOIN LATERAL unnest(b.entry_ids, b.posted_ats, b.hashes) WITH ORDINALITY AS x (entry_id, posted_at, hash, i)
		WHERE b.first_sequence <= %[2]s AND b.first_sequence >= (SELECT COALESCE(max(c.first_sequence), 0)
			FROM journal_blocks AS c WHERE c.first_sequence <= %[1]s + 1))`
	// allRecords is every record's entry id, for the checks that look at
	// the whole journal at once.
	allRecords = `(SELECT x.entry_id FROM journal_blocks AS b CROSS JOIN LATERAL unnest(b.entry_ids) AS x (entry_id))`
)

// The auditors' journal: the sealer's statements (sealer.go) and the
// auditors' reads (journal.go).
var (
	sqlJournalHead = `SELECT b.last_sequence, b.hashes[CAST(b.last_sequence - b.first_sequence + 1 AS INT4)]
		FROM journal_blocks AS b ORDER BY b.first_sequence DESC LIMIT 1`

	// sqlPendingBatch reads the next batch to seal, oldest first among
	// the entries posted at $2 or later: each entry's id, time and
	// canonical bytes, which its own transaction wrote (NULL if queued
	// before migration 42).
	sqlPendingBatch = `SELECT q.entry_id, q.posted_at, q.record FROM journal_pending AS q
		WHERE q.posted_at >= $2 ORDER BY q.posted_at, q.entry_id LIMIT $1`
	// sqlPendingEntries reads the entries $1 from their tables, each with
	// its postings (one row per posting; entries without postings come
	// once, with NULLs): for pending rows without canonical bytes. An
	// entry's postings are keyed by account (migration 7): its accounts
	// column says where to look.
	sqlPendingEntries = `SELECT e.entry_id, e.kind, e.actor, e.request_id, e.memo, e.posted_at,
			COALESCE(CAST(e.reverses_entry_id AS TEXT), ''), p.account_id, p.currency, p.amount
		FROM entries AS e
		LEFT JOIN LATERAL (SELECT p.account_id, p.currency, p.amount
			FROM unnest(e.accounts) AS a (account_id)
			JOIN postings AS p ON p.account_id = a.account_id AND p.posted_at = e.posted_at AND p.entry_id = e.entry_id
		) AS p ON true
		WHERE e.entry_id = ANY(CAST($1 AS UUID[]))
		ORDER BY e.entry_id, p.account_id`
	// sqlSealBatch appends a batch of records as one block.
	sqlSealBatch = `INSERT INTO journal_blocks (first_sequence, last_sequence, prev_hash, entry_ids, posted_ats, hashes,
			first_posted_at, last_posted_at, sealed_at, sealed_by, lease_epoch)
		VALUES ($1, $2, $3, CAST($4 AS UUID[]), CAST($5 AS TIMESTAMPTZ[]), CAST($6 AS BYTEA[]), $7, $8, $9, $10, $11)`
	// sqlSealedNotPending removes from the queue what this transaction
	// sealed: the batch sqlPendingBatch read, from its first key ($1, $2)
	// to its last ($3, $4). In the transaction's snapshot that range holds
	// the batch and nothing else (the sealer checks the count), and one
	// range costs one descent of the queue's index where a lookup per id
	// costs one each. The range starts at the batch, not where the poll
	// started, so that it does not step again over the deleted rows that
	// the poll stepped over before it.
	sqlSealedNotPending = `DELETE FROM journal_pending
		WHERE posted_at >= $1 AND posted_at <= $3 AND (posted_at, entry_id) >= ($1, $2) AND (posted_at, entry_id) <= ($3, $4)`
	// sqlBacklog measures what waits to be sealed, for the sealer's metrics.
	// The backlog is small while the sealer keeps up (it holds only what was
	// committed since the last batch).
	sqlBacklog = `SELECT count(*), min(posted_at) FROM journal_pending`

	// sqlJournalPage reads records after $1 with their entries. A record
	// whose entry is gone still reads, with empty fields, so that
	// verification names it.
	sqlJournalPage = `SELECT j.sequence, j.prev_hash, j.hash, j.sealed_at, j.sealed_by, j.lease_epoch, j.entry_id,
		COALESCE(e.kind, ''), COALESCE(e.actor, ''), COALESCE(e.request_id, ''), COALESCE(e.memo, ''), e.posted_at,
		COALESCE(CAST(e.reverses_entry_id AS TEXT), '')
		FROM ` + fmt.Sprintf(journalRecords, "CAST($1 AS INT8)", "CAST($1 AS INT8) + CAST($2 AS INT8)") + ` AS j
		LEFT JOIN entries AS e ON e.entry_id = j.entry_id
		WHERE j.sequence > $1 ORDER BY j.sequence LIMIT $2`
	// sqlJournalPostings reads the postings of records $1 < sequence <= $2,
	// by sequence: an entry sealed twice has its postings at each record.
	sqlJournalPostings = `SELECT j.sequence, p.account_id, p.currency, p.amount
		FROM ` + fmt.Sprintf(journalRecords, "CAST($1 AS INT8)", "CAST($2 AS INT8)") + ` AS j
		JOIN entries AS e ON e.entry_id = j.entry_id
		CROSS JOIN LATERAL unnest(e.accounts) AS a (account_id)
		JOIN postings AS p ON p.account_id = a.account_id AND p.posted_at = e.posted_at AND p.entry_id = e.entry_id
		WHERE j.sequence > $1 AND j.sequence <= $2 ORDER BY j.sequence, p.account_id`
	// sqlJournalHash reads record $1's hash from the block that starts at
	// or before it, if that block holds it.
	sqlJournalHash = `SELECT b.hashes[CAST($1 - b.first_sequence + 1 AS INT4)]
		FROM (SELECT * FROM journal_blocks WHERE first_sequence <= $1 ORDER BY first_sequence DESC LIMIT 1) AS b
		WHERE b.last_sequence >= $1`
	// sqlStrayPosting finds a posting that its entry does not list, and so
	// the journal's reads do not see (a posting of no entry, or at another
	// time than its entry, or to an account not in entries.accounts).
	sqlStrayPosting = `SELECT p.entry_id, p.account_id FROM postings AS p
		LEFT JOIN entries AS e ON e.entry_id = p.entry_id
		WHERE e.entry_id IS NULL OR e.posted_at <> p.posted_at OR NOT (p.account_id = ANY(e.accounts))
		ORDER BY p.account_id, p.posted_at, p.entry_id LIMIT 1`
	// sqlBalancePage compares, for a page of accounts, the sum of their
	// balance rows with the sum of their postings, in one snapshot.
	sqlBalancePage = `SELECT x.account_id, x.bal,
		CAST(COALESCE((SELECT sum(p.amount) FROM postings AS p WHERE p.account_id = x.account_id), 0) AS INT8)
		FROM (SELECT b.account_id, CAST(sum(b.posted) AS INT8) AS bal FROM balances AS b
			WHERE b.account_id > $1 GROUP BY b.account_id ORDER BY b.account_id LIMIT $2) AS x
		ORDER BY x.account_id`
)

// The journal's Merkle tree and signed checkpoints (sealtree.go, proofs.go).
const (
	// sqlTreeSize is how many records the tree holds: its last chunk says.
	sqlTreeSize       = `SELECT tree_size FROM journal_tree_chunks ORDER BY first_node DESC LIMIT 1`
	sqlLastCheckpoint = `SELECT tree_size, signed_at FROM journal_checkpoints ORDER BY tree_size DESC LIMIT 1`
	// sqlTreeNodes reads the hashes of the nodes at positions $1: each from
	// the chunk that starts at or before it. A position past the chunk's
	// end reads fewer than 32 bytes.
	sqlTreeNodes = `SELECT n.pos, substring(c.nodes, CAST((n.pos - c.first_node) * 32 + 1 AS INT4), 32)
		FROM unnest(CAST($1 AS INT8[])) AS n (pos)
		JOIN LATERAL (SELECT t.first_node, t.nodes FROM journal_tree_chunks AS t
			WHERE t.first_node <= n.pos ORDER BY t.first_node DESC LIMIT 1) AS c ON true`
	// sqlAppendTree appends a sealing transaction's nodes as one chunk.
	sqlAppendTree       = `INSERT INTO journal_tree_chunks (first_node, tree_size, nodes) VALUES ($1, $2, $3)`
	sqlInsertCheckpoint = `INSERT INTO journal_checkpoints (tree_size, root_hash, chain_head, signed_at, key_name, key_id,
		note, sealed_by, lease_epoch) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`
	sqlSignedCheckpoint = `SELECT tree_size, root_hash, chain_head, signed_at, key_name, key_id, note
		FROM journal_checkpoints ORDER BY tree_size DESC LIMIT 1`
	sqlCheckpointAt = `SELECT tree_size, root_hash, chain_head, signed_at, key_name, key_id, note
		FROM journal_checkpoints WHERE tree_size = $1`
	// sqlCheckpointsIn reads the checkpoints of $1 < tree_size <= $2, for
	// verification.
	sqlCheckpointsIn = `SELECT tree_size, root_hash, chain_head, signed_at, key_name, key_id, note
		FROM journal_checkpoints WHERE tree_size > $1 AND tree_size <= $2 ORDER BY tree_size`
	// sqlRecordOfEntry finds the sequence of the entry $1 through the
	// entry's time: among the blocks whose records' times span it, in the
	// order of their latest time, the first that holds the entry. That is
	// nearly always the first block read: a block spans more than the
	// times around its sealing only when it holds an entry committed long
	// after its time.
	sqlRecordOfEntry = `SELECT b.first_sequence + x.i - 1 FROM entries AS e
			JOIN journal_blocks AS b ON b.last_posted_at >= e.posted_at AND b.first_posted_at <= e.posted_at
			CROSS JOIN LATERAL unnest(b.entry_ids) WITH ORDINALITY AS x (entry_id, i)
		WHERE e.entry_id = $1 AND x.entry_id = e.entry_id
		ORDER BY b.last_posted_at LIMIT 1`
	// sqlUnsealedEntry finds an entry that is neither sealed nor waiting
	// to be: its record was removed from the journal (or its announcement
	// from the queue). A set difference, not an anti-join: PostgreSQL
	// guesses ten records a block, and with stale statistics, or under the
	// LIMIT, it would compare every entry with every record (20 to 35 s
	// for 19k entries after a soak, against 20 ms for the difference).
	sqlUnsealedEntry = `SELECT u.entry_id FROM (SELECT e.entry_id FROM entries AS e
			EXCEPT SELECT j.entry_id FROM ` + allRecords + ` AS j
			EXCEPT SELECT q.entry_id FROM journal_pending AS q) AS u
		ORDER BY u.entry_id LIMIT 1`
	// sqlSealedTwice finds an entry with two records, or sealed and still
	// waiting to be sealed again. The sealer removes what it seals from the
	// queue in the transaction that seals it, and the queue holds an entry
	// once, so only a sealer at fault, or a hand on the tables, does either.
	// An intersection, for sqlUnsealedEntry's reason.
	sqlSealedTwice = `SELECT x.entry_id FROM (
			SELECT j.entry_id FROM ` + allRecords + ` AS j GROUP BY j.entry_id HAVING count(*) > 1
			UNION ALL (SELECT q.entry_id FROM journal_pending AS q INTERSECT SELECT j.entry_id FROM ` + allRecords + ` AS j)) AS x
		ORDER BY x.entry_id LIMIT 1`
)

func init() {
	statements = append(statements, sqlTreeSize, sqlLastCheckpoint, sqlTreeNodes, sqlAppendTree, sqlInsertCheckpoint,
		sqlSignedCheckpoint, sqlCheckpointAt, sqlCheckpointsIn, sqlRecordOfEntry, sqlUnsealedEntry, sqlSealedTwice)
	statements = append(statements, sqlTakeLease, sqlReleaseLease, sqlJournalHead, sqlPendingBatch, sqlPendingEntries,
		sqlSealBatch, sqlSealedNotPending, sqlBacklog, sqlJournalPage, sqlJournalPostings, sqlJournalHash, sqlStrayPosting,
		sqlBalancePage)
}
