package pgtest

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// The journal is stored a block to a sealing transaction (journal_blocks,
// ledger/cockroach migration 46): record first_sequence+i-1 is element i of
// a block's arrays. These edit it record by record, as someone changing
// history behind the ledger's back would, inside TamperFunc. They use
// PostgreSQL's array slices.

// QueueRecordHashes queues into b the change of record seq's chain hash to
// hash and, when seq is its block's first record, of the hash before it to
// prev (elsewhere that is the previous record's hash, which the caller
// sets as that record's).
func QueueRecordHashes(b *pgx.Batch, seq int64, prev, hash []byte) {
	b.Queue(`UPDATE journal_blocks SET hashes[CAST($1 - first_sequence + 1 AS INT4)] = $3,
			prev_hash = CASE WHEN first_sequence = $1 THEN $2 ELSE prev_hash END
		WHERE first_sequence <= $1 AND last_sequence >= $1`, seq, prev, hash)
}

// CutJournal removes the records from from on.
func CutJournal(ctx context.Context, tx pgx.Tx, from int64) error {
	return exec(ctx, tx, from,
		`DELETE FROM journal_blocks WHERE first_sequence >= $1`,
		`UPDATE journal_blocks SET last_sequence = $1 - 1,
			entry_ids = entry_ids[1:CAST($1 - first_sequence AS INT4)],
			posted_ats = posted_ats[1:CAST($1 - first_sequence AS INT4)],
			hashes = hashes[1:CAST($1 - first_sequence AS INT4)]
		WHERE last_sequence >= $1`)
}

// DeleteRecord removes record seq and renumbers the records after it, so
// that the sequence has no gap.
func DeleteRecord(ctx context.Context, tx pgx.Tx, seq int64) error {
	const k = `CAST($1 - first_sequence + 1 AS INT4)`
	return exec(ctx, tx, seq,
		`DELETE FROM journal_blocks WHERE first_sequence = $1 AND last_sequence = $1`,
		`UPDATE journal_blocks SET last_sequence = last_sequence - 1,
			entry_ids = entry_ids[1:`+k+` - 1] || entry_ids[`+k+` + 1:],
			posted_ats = posted_ats[1:`+k+` - 1] || posted_ats[`+k+` + 1:],
			hashes = hashes[1:`+k+` - 1] || hashes[`+k+` + 1:]
		WHERE first_sequence <= $1 AND last_sequence >= $1`,
		// Renumber in two steps, so that no two blocks share a key.
		`UPDATE journal_blocks SET first_sequence = first_sequence + 1000000000000, last_sequence = last_sequence + 1000000000000
		WHERE first_sequence > $1`,
		`UPDATE journal_blocks SET first_sequence = first_sequence - 1000000000001, last_sequence = last_sequence - 1000000000001
		WHERE first_sequence > $1 + 1000000000000`)
}

// exec runs each of stmts with the one argument arg.
func exec(ctx context.Context, tx pgx.Tx, arg int64, stmts ...string) error {
	for _, s := range stmts {
		if _, err := tx.Exec(ctx, s, arg); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}
