package cockroach

// Every statement the store issues is here, so that one test can parse them
// all with CockroachDB's own parser. They use only the dialect that both
// CockroachDB and PostgreSQL accept.
const (
	sqlGetRequest = `SELECT fingerprint, result FROM requests WHERE request_id = $1`
	sqlPutRequest = `INSERT INTO requests (request_id, fingerprint, result, created_at) VALUES ($1, $2, $3, $4)`

	sqlGetAccount = `SELECT account_id, customer_id, currency, kind, status, shards, created_at
		FROM accounts WHERE account_id = $1`
	// sqlInsertAccount fails with a unique violation if the id is taken;
	// sqlEnsureAccount and sqlEnsureShards, for the ledger's own accounts
	// that concurrent requests may both create, do nothing then.
	sqlInsertAccount = `INSERT INTO accounts (account_id, customer_id, currency, kind, status, shards, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`
	sqlEnsureAccount = `INSERT INTO accounts (account_id, customer_id, currency, kind, status, shards, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (account_id) DO NOTHING`
	sqlEnsureShards = `INSERT INTO balances (account_id, shard, posted)
		SELECT $1, s, 0 FROM generate_series(0, $2 - 1) AS s ON CONFLICT (account_id, shard) DO NOTHING`

	sqlGetBalance = `SELECT a.currency,
		(SELECT CAST(COALESCE(SUM(b.posted), 0) AS INT8) FROM balances AS b WHERE b.account_id = a.account_id),
		(SELECT CAST(COALESCE(SUM(h.amount), 0) AS INT8) FROM holds AS h
			WHERE h.account_id = a.account_id AND h.status = 'ACTIVE' AND h.expires_at > $2)
		FROM accounts AS a WHERE a.account_id = $1`
	sqlLockBalances = `SELECT posted FROM balances WHERE account_id = $1 ORDER BY shard FOR UPDATE`
	// sqlRaiseHoldsUntil tells moves that a hold on account $1 is active
	// until $2 (see migration 6).
	sqlRaiseHoldsUntil = `UPDATE balances SET holds_until = $2 WHERE account_id = $1 AND holds_until < $2`
	// sqlAddToShard changes one balance row and returns it with its account,
	// so that a transfer needs no separate read of the accounts.
	sqlAddToShard = `UPDATE balances AS b SET posted = b.posted + $3 FROM accounts AS a
		WHERE b.account_id = $1 AND b.shard = $2 AND a.account_id = b.account_id
		RETURNING a.account_id, a.customer_id, a.currency, a.kind, a.status, a.shards, a.created_at, b.posted`
	// sqlHeld is the account's active holds at $2, leaving out hold $3, read
	// only if its balance row says some may be active (holds_until): an
	// account without holds reads none, so on PostgreSQL it takes no
	// predicate lock on the holds' index, which a concurrent hold on
	// another account would then conflict with.
	sqlHeld = `SELECT CAST(COALESCE(SUM(h.amount), 0) AS INT8) FROM holds AS h
		WHERE h.account_id = $1 AND h.status = 'ACTIVE' AND h.expires_at > $2 AND h.hold_id <> $3
			AND EXISTS (SELECT 1 FROM balances AS b WHERE b.account_id = $1 AND b.holds_until > $2)`
	// sqlDebitShard is sqlAddToShard that also returns the account's held
	// amount at $4, leaving out hold $5: a debit's two reads in one statement.
	sqlDebitShard = `UPDATE balances AS b SET posted = b.posted + $3 FROM accounts AS a,
		(SELECT CAST(COALESCE(SUM(h.amount), 0) AS INT8) AS held FROM holds AS h
			WHERE h.account_id = $1 AND h.status = 'ACTIVE' AND h.expires_at > $4 AND h.hold_id <> $5) AS x
		WHERE b.account_id = $1 AND b.shard = $2 AND a.account_id = b.account_id
		RETURNING a.account_id, a.customer_id, a.currency, a.kind, a.status, a.shards, a.created_at, b.posted, x.held`

	sqlInsertEntry = `INSERT INTO entries (entry_id, kind, actor, request_id, memo, posted_at)
		VALUES ($1, $2, $3, $4, $5, $6)`
	// sqlAnnounceEntry tells the sealer of a new entry, in the entry's own
	// transaction (see sealer.go).
	sqlAnnounceEntry = `INSERT INTO journal_pending (entry_id, posted_at) VALUES ($1, $2)`
	// sqlPostEntry writes an entry that moves money, in one statement: the
	// entry, its announcement to the sealer, its two postings (every such
	// entry the ledger makes today has two) and its request's idempotency
	// record. One statement instead of four is most of what separates the
	// ledger's transfer from the bare SQL one in the database's own work.
	sqlPostEntry = `WITH e AS (INSERT INTO entries (entry_id, kind, actor, request_id, memo, posted_at, accounts)
			VALUES ($1, $2, $3, $4, $5, $6, $18)),
		j AS (INSERT INTO journal_pending (entry_id, posted_at) VALUES ($1, $6)),
		p AS (INSERT INTO postings (entry_id, account_id, currency, amount, balance_after, posted_at)
			VALUES ($1, $7, $8, $9, $10, $6), ($1, $11, $8, $12, $13, $6))
		INSERT INTO requests (request_id, fingerprint, result, created_at) VALUES ($14, $15, $16, $17)`

	// sqlMove is a whole transfer, deposit or withdrawal, so that its
	// transaction is one round trip: BEGIN, this, COMMIT. It reads both
	// balance rows with their accounts, and the debited account's holds
	// ($8 pays $10 to $11, in currency $7; $9 and $12 are the shard rows);
	// (only if its balance row says some may be active: holds_until);
	// checks the ledger's rules on them (ok); and only if they hold changes
	// both rows and writes the entry, its announcement to the sealer, its
	// two postings and its request's idempotency record ($16 lists the
	// entry's two accounts, sorted: entries.accounts). Both rows change
	// in one UPDATE, which CockroachDB requires of a table modified once per
	// statement and which locks them in one scan. It returns what it read,
	// before any change, and whether it wrote: a refused move commits
	// nothing, and the ledger's rules in Go say why (checkLegs). The checks
	// here are those rules, written once more where they can gate the
	// writes: ledger.Account.CheckPostable, CheckDebit and CheckBalance.
	// A posting records its account's balance after it unless the account
	// has several shard rows. $13 is ledger.MaxBalance.
	sqlMove = `WITH legs AS (
			SELECT x.account_id, a.currency, a.kind, a.status, a.shards, x.posted,
				CASE WHEN x.account_id = $8 AND x.holds_until > $6 THEN (SELECT CAST(COALESCE(SUM(h.amount), 0) AS INT8)
					FROM holds AS h WHERE h.account_id = $8 AND h.status = 'ACTIVE' AND h.expires_at > $6) ELSE 0 END AS held
			FROM balances AS x JOIN accounts AS a ON a.account_id = x.account_id
			WHERE (x.account_id = $8 AND x.shard = $9) OR (x.account_id = $11 AND x.shard = $12)),
		ok AS (SELECT count(*) = 2 AS ok FROM legs WHERE status = 'ACTIVE' AND currency = $7 AND CASE
			WHEN account_id = $8 THEN (kind <> 'CUSTOMER' OR posted - held >= CAST($10 AS INT8))
				AND posted - CAST($10 AS INT8) >= -CAST($13 AS INT8)
			ELSE posted + CAST($10 AS INT8) <= CAST($13 AS INT8) END),
		u AS (UPDATE balances AS b
			SET posted = b.posted + CASE WHEN b.account_id = $8 THEN -CAST($10 AS INT8) ELSE CAST($10 AS INT8) END
			WHERE ((b.account_id = $8 AND b.shard = $9) OR (b.account_id = $11 AND b.shard = $12))
				AND (SELECT ok FROM ok)
			RETURNING b.account_id, b.posted),
		e AS (INSERT INTO entries (entry_id, kind, actor, request_id, memo, posted_at, accounts)
			SELECT CAST($1 AS UUID), CAST($2 AS TEXT), CAST($3 AS TEXT), CAST($4 AS TEXT), CAST($5 AS TEXT),
				CAST($6 AS TIMESTAMPTZ), CAST($16 AS TEXT[]) WHERE (SELECT ok FROM ok)),
		j AS (INSERT INTO journal_pending (entry_id, posted_at)
			SELECT CAST($1 AS UUID), CAST($6 AS TIMESTAMPTZ) WHERE (SELECT ok FROM ok)),
		r AS (INSERT INTO requests (request_id, fingerprint, result, created_at)
			SELECT CAST($4 AS TEXT), CAST($14 AS BYTEA), CAST($15 AS BYTEA), CAST($6 AS TIMESTAMPTZ)
			WHERE (SELECT ok FROM ok)),
		p AS (INSERT INTO postings (entry_id, account_id, currency, amount, balance_after, posted_at)
			SELECT CAST($1 AS UUID), u.account_id, CAST($7 AS TEXT),
				CASE WHEN u.account_id = $8 THEN -CAST($10 AS INT8) ELSE CAST($10 AS INT8) END,
				CASE WHEN l.shards > 1 THEN 0 ELSE u.posted END,
				CAST($6 AS TIMESTAMPTZ) FROM u JOIN legs AS l ON l.account_id = u.account_id)
		SELECT l.account_id, l.currency, l.kind, l.status, l.posted, l.held, (SELECT ok FROM ok) FROM legs AS l`

	// sqlMoveBatch is sqlMove for many moves in one statement: group
	// commit (batch.go). Each move is one element of the arrays: entry $1,
	// kind $2, actor $3, request $4, memo $5, currency $7, paying amount
	// $10 from shard row $9 of account $8 to shard row $12 of account $11,
	// with fingerprint $14, result $15, and the entry's two accounts sorted,
	// $16 and $17; every move posts at $6, and $13 is ledger.MaxBalance.
	// It locks the balance rows in (account, shard) order first, so that
	// two batches that share rows cannot deadlock, then checks the rules of
	// each move on what it read, as sqlMove does, and makes only the moves
	// that pass. A row that two moves of the batch would change refuses
	// both (uses): the batcher never sends one, and if it did the UPDATE
	// would apply only one of the two changes. It returns each leg as it
	// was before, and whether its move was made.
	sqlMoveBatch = `WITH i AS (
			SELECT * FROM unnest(CAST($1 AS UUID[]), CAST($2 AS TEXT[]), CAST($3 AS TEXT[]), CAST($4 AS TEXT[]),
				CAST($5 AS TEXT[]), CAST($7 AS TEXT[]), CAST($8 AS TEXT[]), CAST($9 AS INT4[]), CAST($10 AS INT8[]),
				CAST($11 AS TEXT[]), CAST($12 AS INT4[]), CAST($14 AS BYTEA[]), CAST($15 AS BYTEA[]),
				CAST($16 AS TEXT[]), CAST($17 AS TEXT[]))
				AS i (entry_id, kind, actor, request_id, memo, currency, src, src_shard, amount, dst, dst_shard,
					fp, result, lo, hi)),
		l AS (SELECT entry_id, src AS account_id, src_shard AS shard, -amount AS delta, currency FROM i
			UNION ALL SELECT entry_id, dst, dst_shard, amount, currency FROM i),
		x AS (SELECT b.account_id, b.shard, b.posted, b.holds_until FROM balances AS b
			WHERE (b.account_id, b.shard) IN (SELECT account_id, shard FROM l)
			ORDER BY b.account_id, b.shard FOR UPDATE),
		legs AS (SELECT l.entry_id, l.account_id, l.shard, l.delta, l.currency AS want, a.currency, a.kind,
				a.status, a.shards, x.posted,
				CASE WHEN l.delta < 0 AND x.holds_until > $6 THEN (SELECT CAST(COALESCE(SUM(h.amount), 0) AS INT8)
					FROM holds AS h WHERE h.account_id = l.account_id AND h.status = 'ACTIVE' AND h.expires_at > $6)
					ELSE 0 END AS held,
				count(*) OVER (PARTITION BY l.account_id, l.shard) AS uses
			FROM l JOIN x ON x.account_id = l.account_id AND x.shard = l.shard
				JOIN accounts AS a ON a.account_id = l.account_id),
		ok AS (SELECT entry_id FROM legs WHERE uses = 1 AND status = 'ACTIVE' AND currency = want AND CASE
				WHEN delta < 0 THEN (kind <> 'CUSTOMER' OR posted - held >= -delta)
					AND posted + delta >= -CAST($13 AS INT8)
				ELSE posted + delta <= CAST($13 AS INT8) END
			GROUP BY entry_id HAVING count(*) = 2),
		u AS (UPDATE balances AS b SET posted = b.posted + legs.delta FROM legs
			WHERE b.account_id = legs.account_id AND b.shard = legs.shard
				AND legs.entry_id IN (SELECT entry_id FROM ok)
			RETURNING legs.entry_id, b.account_id, b.posted, legs.delta, legs.shards, legs.want),
		e AS (INSERT INTO entries (entry_id, kind, actor, request_id, memo, posted_at, accounts)
			SELECT entry_id, kind, actor, request_id, memo, CAST($6 AS TIMESTAMPTZ), ARRAY[lo, hi] FROM i
			WHERE entry_id IN (SELECT entry_id FROM ok)),
		j AS (INSERT INTO journal_pending (entry_id, posted_at) SELECT entry_id, CAST($6 AS TIMESTAMPTZ) FROM ok),
		r AS (INSERT INTO requests (request_id, fingerprint, result, created_at)
			SELECT request_id, fp, result, CAST($6 AS TIMESTAMPTZ) FROM i WHERE entry_id IN (SELECT entry_id FROM ok)),
		p AS (INSERT INTO postings (entry_id, account_id, currency, amount, balance_after, posted_at)
			SELECT entry_id, account_id, want, delta, CASE WHEN shards > 1 THEN 0 ELSE posted END,
				CAST($6 AS TIMESTAMPTZ) FROM u)
		SELECT entry_id, account_id, currency, kind, status, posted, held,
			entry_id IN (SELECT entry_id FROM ok) FROM legs`

	// sqlGenericPlan precedes sqlMoveBatch on PostgreSQL. PostgreSQL plans a
	// prepared statement afresh for its first five runs and then keeps
	// doing so while it estimates a fresh plan cheaper than the general
	// one, which it does for the batch whatever its size: planning the
	// statement took longer than running it for a few moves. The general
	// plan is the same index lookups. SET LOCAL ends with the transaction.
	// (CockroachDB caches its plans its own way.)
	sqlGenericPlan = `SET LOCAL plan_cache_mode = force_generic_plan`

	sqlStatementFirst = `SELECT p.entry_id, e.kind, p.amount, e.memo, p.posted_at, p.balance_after
		FROM postings AS p JOIN entries AS e ON e.entry_id = p.entry_id
		WHERE p.account_id = $1
		ORDER BY p.posted_at DESC, p.entry_id DESC LIMIT $2`
	sqlStatementAfter = `SELECT p.entry_id, e.kind, p.amount, e.memo, p.posted_at, p.balance_after
		FROM postings AS p JOIN entries AS e ON e.entry_id = p.entry_id
		WHERE p.account_id = $1 AND (p.posted_at, p.entry_id) < ($3, $4)
		ORDER BY p.posted_at DESC, p.entry_id DESC LIMIT $2`

	sqlInsertHold = `INSERT INTO holds (hold_id, account_id, currency, amount, captured_amount, status, atm_id,
		request_id, created_at, expires_at) VALUES ($1, $2, $3, $4, 0, 'ACTIVE', $5, $6, $7, $8)`
	sqlGetHoldForUpdate = `SELECT hold_id, account_id, currency, amount, captured_amount, status, atm_id,
		created_at, expires_at FROM holds WHERE hold_id = $1 FOR UPDATE`
	sqlFinishHold = `UPDATE holds SET status = $2, captured_amount = $3 WHERE hold_id = $1 AND status = 'ACTIVE'`
)

// Promotions.
const (
	sqlGetPromo = `SELECT promo_id, currency, total_quota, max_per_customer, annual_rate_bps, opens_at, closes_at,
		created_at, shards FROM promos WHERE promo_id = $1`
	sqlInsertPromo = `INSERT INTO promos (promo_id, currency, total_quota, max_per_customer, annual_rate_bps,
		opens_at, closes_at, shards, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`
	sqlInsertQuota = `INSERT INTO promo_quota (promo_id, shard, quota, used) VALUES ($1, $2, $3, 0)`
	sqlPromoUsed   = `SELECT CAST(COALESCE(SUM(used), 0) AS INT8) FROM promo_quota WHERE promo_id = $1`
	// sqlTakeQuota takes amount from one shard if it has room for all of it.
	sqlTakeQuota = `UPDATE promo_quota SET used = used + $3
		WHERE promo_id = $1 AND shard = $2 AND used + $3 <= quota RETURNING used`
	sqlLockQuota = `SELECT shard, quota, used FROM promo_quota WHERE promo_id = $1 ORDER BY shard FOR UPDATE`
	sqlAddQuota  = `UPDATE promo_quota SET used = used + $3 WHERE promo_id = $1 AND shard = $2`

	sqlGetSubscription    = `SELECT request_id FROM subscriptions WHERE promo_id = $1 AND customer_id = $2`
	sqlInsertSubscription = `INSERT INTO subscriptions (promo_id, customer_id, account_id, amount, entry_id,
		request_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`
	sqlSubscriptionRequests = `SELECT request_id FROM subscriptions WHERE promo_id = $1`
	sqlInsertBalance        = `INSERT INTO balances (account_id, shard, posted) VALUES ($1, 0, $2)`
)

// statements lists every statement above, for the parser test.
var statements = []string{
	sqlGetRequest, sqlPutRequest,
	sqlGetAccount, sqlInsertAccount, sqlEnsureAccount, sqlEnsureShards,
	sqlGetBalance, sqlLockBalances, sqlRaiseHoldsUntil, sqlAddToShard, sqlHeld, sqlDebitShard,
	sqlInsertEntry, sqlAnnounceEntry, sqlPostEntry, sqlMove, sqlMoveBatch, sqlGenericPlan,
	sqlStatementFirst, sqlStatementAfter,
	sqlInsertHold, sqlGetHoldForUpdate, sqlFinishHold,
	sqlGetPromo, sqlInsertPromo, sqlInsertQuota, sqlPromoUsed, sqlTakeQuota, sqlLockQuota, sqlAddQuota,
	sqlGetSubscription, sqlInsertSubscription, sqlSubscriptionRequests, sqlInsertBalance,
}
