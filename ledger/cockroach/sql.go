package cockroach

// Every statement the store issues is here, so that one test can parse them
// all with CockroachDB's own parser. They use only the dialect that both
// CockroachDB and PostgreSQL accept.
const (
	sqlGetRequest = `SELECT fingerprint, result FROM requests WHERE actor = $1 AND request_id = $2`
	sqlPutRequest = `INSERT INTO requests (actor, request_id, fingerprint, result, created_at) VALUES ($1, $2, $3, $4, $5)`
	// sqlCountRequests counts the records of the requests of actors $1
	// with ids $2, pairwise.
	sqlCountRequests = `SELECT count(*) FROM requests
		WHERE (actor, request_id) IN (SELECT * FROM unnest(CAST($1 AS TEXT[]), CAST($2 AS TEXT[])))`

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
	// sqlRaiseHoldsUntil tells the posting statement that a hold on
	// account $1 is active until $2 (see migration 6).
	sqlRaiseHoldsUntil = `UPDATE balances SET holds_until = $2 WHERE account_id = $1 AND holds_until < $2`
	// sqlHeld is the account's active holds at $2, leaving out hold $3, read
	// only if its balance row says some may be active (holds_until): an
	// account without holds reads none, so on PostgreSQL it takes no
	// predicate lock on the holds' index, which a concurrent hold on
	// another account would then conflict with.
	sqlHeld = `SELECT CAST(COALESCE(SUM(h.amount), 0) AS INT8) FROM holds AS h
		WHERE h.account_id = $1 AND h.status = 'ACTIVE' AND h.expires_at > $2 AND h.hold_id <> $3
			AND EXISTS (SELECT 1 FROM balances AS b WHERE b.account_id = $1 AND b.holds_until > $2)`

	sqlInsertEntry = `INSERT INTO entries (entry_id, kind, actor, request_id, memo, posted_at)
		VALUES ($1, $2, $3, $4, $5, $6)`
	// sqlAnnounceEntry tells the sealer of a new entry, in the entry's own
	// transaction (see sealer.go).
	sqlAnnounceEntry = `INSERT INTO journal_pending (entry_id, posted_at, record) VALUES ($1, $2, $3)`

	// sqlPost is the posting engine (post.go): every entry that moves money,
	// whatever call made it, is posted by this statement, alone or in a
	// batch with others. The ledger's rules live here, where they gate the
	// writes, and in ledger.CheckProposals, which says why an entry was
	// refused; a property test holds the two to the same verdicts.
	//
	// Entries are arrays of one element per entry: id $1, kind $2, actor
	// $3, request $4, memo $5, the request's fingerprint $6 and result $7,
	// the entry it reverses $8 (NULL for none), and its canonical bytes at
	// sequence 0 for the sealer $23 (see sealer.go). Postings are arrays of
	// one element per posting, in batch order: its position $9, its entry
	// $10, the account $11 and shard row $12 it changes, its amount $13 and
	// currency $14, a hold to leave out of the account's held amount $15
	// (the hold being captured; the nil UUID for none), and whether it may
	// debit an internal account $16, and what the batch's postings before
	// it on its row change, debits $21 and credits $22 (see below). Every
	// entry posts at $17; $18 is ledger.MaxBalance; $19 makes the batch
	// atomic; $20 lists each entry's accounts, sorted and joined with
	// commas (account ids have none).
	//
	// It locks the balance rows in (account, shard) order first, so that
	// two statements that share rows cannot deadlock; checks each entry on
	// its rows as ledger.CheckProposals describes (an atomic batch on the
	// rows as its earlier entries leave them; any other on what its earlier
	// debits could leave: the sums $21 and $22, which depend only on the
	// batch, are computed by the caller); writes only the entries that pass (an atomic
	// batch: all or none), each row once with the sum of its changes; and
	// returns each posting's row as it was before the batch, and whether
	// its entry was posted. A posting records its account's balance after
	// it unless the account has several shard rows.
	//
	// The entries not posted (refused) are few, or all of an atomic batch; what
	// is written is picked by NOT IN them, which PostgreSQL answers from a
	// hash. (Picked by IN the entries posted, it joined each posting with
	// each posted entry: a batch of 200 entries spent a sixth of its time
	// there.)
	sqlPost = `WITH i AS (
			SELECT * FROM unnest(CAST($1 AS UUID[]), CAST($2 AS TEXT[]), CAST($3 AS TEXT[]), CAST($4 AS TEXT[]),
				CAST($5 AS TEXT[]), CAST($6 AS BYTEA[]), CAST($7 AS BYTEA[]), CAST($8 AS UUID[]), CAST($20 AS TEXT[]),
				CAST($23 AS BYTEA[]))
				AS i (entry_id, kind, actor, request_id, memo, fp, result, reverses, accounts, record)),
		l AS (
			SELECT * FROM unnest(CAST($9 AS INT4[]), CAST($10 AS UUID[]), CAST($11 AS TEXT[]), CAST($12 AS INT4[]),
				CAST($13 AS INT8[]), CAST($14 AS TEXT[]), CAST($15 AS UUID[]), CAST($16 AS BOOL[]), CAST($21 AS INT8[]),
				CAST($22 AS INT8[]))
				AS l (seq, entry_id, account_id, shard, delta, want, excl, internal_ok, down, up)),
		x AS (SELECT b.account_id, b.shard, b.posted, b.holds_until FROM balances AS b
			WHERE (b.account_id, b.shard) IN (SELECT account_id, shard FROM l)
			ORDER BY b.account_id, b.shard FOR UPDATE),
		legs AS (SELECT l.seq, l.entry_id, l.account_id, l.shard, l.delta, l.want, l.internal_ok, l.down, l.up,
				a.customer_id, a.currency, a.kind, a.status, a.shards, x.posted,
				CASE WHEN l.delta < 0 AND x.holds_until > $17 THEN (SELECT CAST(COALESCE(SUM(h.amount), 0) AS INT8)
					FROM holds AS h WHERE h.account_id = l.account_id AND h.status = 'ACTIVE'
						AND h.expires_at > $17 AND h.hold_id <> l.excl) ELSE 0 END AS held
			FROM l JOIN x ON x.account_id = l.account_id AND x.shard = l.shard
				JOIN accounts AS a ON a.account_id = l.account_id),
		rev AS (SELECT i.entry_id FROM i WHERE i.reverses IS NOT NULL
			AND EXISTS (SELECT 1 FROM entries AS r WHERE r.reverses_entry_id = i.reverses)),
		bad AS (SELECT entry_id FROM legs WHERE NOT (status = 'ACTIVE' AND currency = want
				AND (delta >= 0 OR kind = 'CUSTOMER' OR internal_ok)
				AND CASE WHEN delta < 0 THEN (kind <> 'CUSTOMER' OR posted + down - held >= -delta)
						AND posted + down + delta >= -CAST($18 AS INT8)
					ELSE posted + up + delta <= CAST($18 AS INT8) END)
			UNION ALL SELECT entry_id FROM l WHERE seq NOT IN (SELECT seq FROM legs)
			UNION ALL SELECT entry_id FROM rev),
		refused AS (SELECT entry_id FROM bad
			UNION ALL SELECT entry_id FROM i WHERE CAST($19 AS BOOL) AND EXISTS (SELECT 1 FROM bad)),
		ol AS (SELECT * FROM legs WHERE entry_id NOT IN (SELECT entry_id FROM refused)),
		u AS (UPDATE balances AS b SET posted = b.posted + d.delta
			FROM (SELECT account_id, shard, CAST(SUM(delta) AS INT8) AS delta FROM ol GROUP BY account_id, shard) AS d
			WHERE b.account_id = d.account_id AND b.shard = d.shard
			RETURNING b.account_id),
		e AS (INSERT INTO entries (entry_id, kind, actor, request_id, memo, posted_at, accounts, reverses_entry_id)
			SELECT entry_id, kind, actor, request_id, memo, CAST($17 AS TIMESTAMPTZ), string_to_array(accounts, ','),
				reverses
			FROM i WHERE entry_id NOT IN (SELECT entry_id FROM refused)),
		j AS (INSERT INTO journal_pending (entry_id, posted_at, record)
			SELECT entry_id, CAST($17 AS TIMESTAMPTZ), record FROM i WHERE entry_id NOT IN (SELECT entry_id FROM refused)),
		r AS (INSERT INTO requests (actor, request_id, fingerprint, result, created_at)
			SELECT actor, request_id, fp, result, CAST($17 AS TIMESTAMPTZ) FROM i WHERE entry_id NOT IN (SELECT entry_id FROM refused)),
		p AS (INSERT INTO postings (entry_id, account_id, currency, amount, balance_after, posted_at)
			SELECT entry_id, account_id, want, delta,
				CASE WHEN shards > 1 THEN 0
					ELSE posted + CAST(SUM(delta) OVER (PARTITION BY account_id, shard ORDER BY seq) AS INT8) END,
				CAST($17 AS TIMESTAMPTZ) FROM ol)
		SELECT l.seq, legs.seq IS NOT NULL, COALESCE(legs.customer_id, ''), COALESCE(legs.currency, ''),
			COALESCE(legs.kind, ''), COALESCE(legs.status, ''), COALESCE(legs.shards, 0), COALESCE(legs.posted, 0),
			COALESCE(legs.held, 0), l.entry_id NOT IN (SELECT entry_id FROM refused), l.entry_id IN (SELECT entry_id FROM rev)
		FROM l LEFT JOIN legs ON legs.seq = l.seq`

	// sqlGenericPlan precedes sqlPost on PostgreSQL, for the rest of the
	// transaction. PostgreSQL plans a prepared statement afresh for its
	// first five runs and then keeps doing so while it estimates a fresh
	// plan cheaper than the general one, which it does for the batch
	// whatever its size: planning the statement took longer than running
	// it for a few entries. And the statement must find its balance rows,
	// and their accounts, through their keys: on a small table PostgreSQL
	// prefers to read it whole, and at SERIALIZABLE a transaction that read
	// a table whole conflicts with every other that writes to it (a batch
	// of captures on different accounts retried each other about once per
	// capture). (CockroachDB caches its plans its own way, and reads by
	// key.)
	sqlGenericPlan = `SELECT set_config('plan_cache_mode', 'force_generic_plan', true),
		set_config('enable_seqscan', 'off', true)`

	// sqlGetEntry reads an entry with its postings (none for an entry that
	// moves no money), through the accounts it lists (migration 7).
	sqlGetEntry = `SELECT e.kind, e.actor, e.request_id, e.memo, e.posted_at, COALESCE(CAST(e.reverses_entry_id AS TEXT), ''),
		p.account_id, p.currency, p.amount
		FROM entries AS e LEFT JOIN postings AS p ON p.account_id = ANY (e.accounts)
			AND p.posted_at = e.posted_at AND p.entry_id = e.entry_id
		WHERE e.entry_id = $1 ORDER BY p.account_id`

	sqlStatementFirst = `SELECT p.entry_id, e.kind, p.amount, e.memo, p.posted_at, p.balance_after,
		COALESCE(CAST(e.reverses_entry_id AS TEXT), '')
		FROM postings AS p JOIN entries AS e ON e.entry_id = p.entry_id
		WHERE p.account_id = $1
		ORDER BY p.posted_at DESC, p.entry_id DESC LIMIT $2`
	sqlStatementAfter = `SELECT p.entry_id, e.kind, p.amount, e.memo, p.posted_at, p.balance_after,
		COALESCE(CAST(e.reverses_entry_id AS TEXT), '')
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
		created_at, shards, term_us, early_rate_bps, withholding_bps FROM promos WHERE promo_id = $1`
	sqlInsertPromo = `INSERT INTO promos (promo_id, currency, total_quota, max_per_customer, annual_rate_bps,
		opens_at, closes_at, shards, created_at, term_us, early_rate_bps, withholding_bps)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`
	sqlInsertQuota = `INSERT INTO promo_quota (promo_id, shard, quota, used) VALUES ($1, $2, $3, 0)`
	sqlPromoUsed   = `SELECT CAST(COALESCE(SUM(used), 0) AS INT8) FROM promo_quota WHERE promo_id = $1`
	// sqlTakeQuota takes amount from one shard if it has room for all of it.
	sqlTakeQuota = `UPDATE promo_quota SET used = used + $3
		WHERE promo_id = $1 AND shard = $2 AND used + $3 <= quota RETURNING used`
	sqlLockQuota = `SELECT shard, quota, used FROM promo_quota WHERE promo_id = $1 ORDER BY shard FOR UPDATE`
	sqlAddQuota  = `UPDATE promo_quota SET used = used + $3 WHERE promo_id = $1 AND shard = $2`

	sqlGetSubscription = `SELECT request_id FROM subscriptions WHERE promo_id = $1 AND customer_id = $2`
	// A subscription is due to be paid when it matures (payout.go).
	sqlInsertSubscription = `INSERT INTO subscriptions (promo_id, customer_id, account_id, amount, entry_id,
		request_id, created_at, from_account_id, matures_at, due_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)`
	sqlSubscriptionRequests = `SELECT e.actor, s.request_id FROM subscriptions AS s
		JOIN entries AS e ON e.entry_id = s.entry_id WHERE s.promo_id = $1`
	sqlInsertBalance = `INSERT INTO balances (account_id, shard, posted) VALUES ($1, 0, $2)`
)

// statements lists every statement above, for the parser test.
var statements = []string{
	sqlGetRequest, sqlPutRequest, sqlCountRequests,
	sqlGetAccount, sqlInsertAccount, sqlEnsureAccount, sqlEnsureShards,
	sqlGetBalance, sqlLockBalances, sqlRaiseHoldsUntil, sqlHeld,
	sqlInsertEntry, sqlAnnounceEntry, sqlPost, sqlGenericPlan, sqlGetEntry,
	sqlStatementFirst, sqlStatementAfter,
	sqlInsertHold, sqlGetHoldForUpdate, sqlFinishHold,
	sqlGetPromo, sqlInsertPromo, sqlInsertQuota, sqlPromoUsed, sqlTakeQuota, sqlLockQuota, sqlAddQuota,
	sqlGetSubscription, sqlInsertSubscription, sqlSubscriptionRequests, sqlInsertBalance,
	sqlQoSBackground, sqlQoSRegular, sqlQoSCritical,
}
