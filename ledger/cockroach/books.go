package cockroach

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// BookCheck is one rule that the books obey after any sequence of
// requests, crashes and retries, stated as a query that counts what breaks
// it: a half-applied change, a doubled one, money made or lost, a promo
// sold beyond its cap. Zero is healthy.
type BookCheck struct {
	What string // what the count counts, e.g. "request ids with more than one entry"
	SQL  string
}

// eventKinds are the entries that record an event without moving money
// (an account opened, a hold placed or voided, an account's status changed,
// a promo created): they have no postings.
const eventKinds = `('ACCOUNT_OPENING', 'HOLD_PLACEMENT', 'HOLD_VOID', 'ACCOUNT_STATUS_CHANGE', 'PROMO_CREATION')`

// postingsByEntry counts each entry's postings and lists their accounts in
// the order entries.accounts keeps them.
const postingsByEntry = `(SELECT entry_id, count(*) AS n, array_agg(account_id ORDER BY account_id) AS accounts
	FROM postings GROUP BY entry_id)`

// BookChecks are the rules CheckBooks applies.
var BookChecks = []BookCheck{
	{"money entries with fewer than two postings", `SELECT count(*) FROM entries AS e
		LEFT JOIN ` + postingsByEntry + ` AS p ON p.entry_id = e.entry_id
		WHERE e.kind NOT IN ` + eventKinds + ` AND COALESCE(p.n, 0) < 2`},
	{"event entries with postings", `SELECT count(*) FROM entries AS e
		JOIN ` + postingsByEntry + ` AS p ON p.entry_id = e.entry_id WHERE e.kind IN ` + eventKinds},
	{"entries that do not list their postings' accounts", `SELECT count(*) FROM entries AS e
		LEFT JOIN ` + postingsByEntry + ` AS p ON p.entry_id = e.entry_id
		WHERE e.accounts <> COALESCE(p.accounts, CAST('{}' AS TEXT[]))`},
	{"entries whose postings do not sum to zero", `SELECT count(*) FROM
		(SELECT entry_id FROM postings GROUP BY entry_id HAVING sum(amount) <> 0) AS x`},
	{"postings without their entry", `SELECT count(*) FROM postings AS p
		WHERE NOT EXISTS (SELECT 1 FROM entries AS e WHERE e.entry_id = p.entry_id)`},
	{"request ids with more than one entry", `SELECT count(*) FROM
		(SELECT actor, request_id FROM entries GROUP BY actor, request_id HAVING count(*) > 1) AS x`},
	{"currencies whose balances do not sum to zero", `SELECT count(*) FROM
		(SELECT a.currency FROM balances AS b JOIN accounts AS a ON a.account_id = b.account_id
		GROUP BY a.currency HAVING sum(b.posted) <> 0) AS x`},
	{"accounts whose balance differs from the sum of their postings", `SELECT count(*) FROM
		(SELECT account_id, sum(posted) AS total FROM balances GROUP BY account_id) AS b
		FULL JOIN (SELECT account_id, sum(amount) AS total FROM postings GROUP BY account_id) AS p
		ON p.account_id = b.account_id WHERE COALESCE(b.total, 0) <> COALESCE(p.total, 0)`},
	{"customer accounts below zero", `SELECT count(*) FROM
		(SELECT b.account_id FROM balances AS b JOIN accounts AS a ON a.account_id = b.account_id
		WHERE a.kind = 'CUSTOMER' GROUP BY b.account_id HAVING sum(b.posted) < 0) AS x`},
	{"promos sold beyond their quota", `SELECT count(*) FROM promos AS p
		WHERE (SELECT COALESCE(sum(s.amount), 0) FROM subscriptions AS s WHERE s.promo_id = p.promo_id) > p.total_quota`},
	{"promos whose quota used differs from their subscriptions", `SELECT count(*) FROM promos AS p
		WHERE (SELECT COALESCE(sum(q.used), 0) FROM promo_quota AS q WHERE q.promo_id = p.promo_id)
		<> (SELECT COALESCE(sum(s.amount), 0) FROM subscriptions AS s WHERE s.promo_id = p.promo_id)`},
	{"promos whose quota shards do not sum to their total", `SELECT count(*) FROM promos AS p
		WHERE (SELECT COALESCE(sum(q.quota), 0) FROM promo_quota AS q WHERE q.promo_id = p.promo_id) <> p.total_quota`},
}

func init() {
	for _, c := range BookChecks {
		statements = append(statements, c.SQL)
	}
}

// BookFinding is a rule of BookChecks that the books break, and how often.
type BookFinding struct {
	What  string
	Count int64
}

// CheckBooks applies every rule of BookChecks to the books as one snapshot
// of tx shows them, and returns those broken.
func CheckBooks(ctx context.Context, tx pgx.Tx) ([]BookFinding, error) {
	var out []BookFinding
	for _, c := range BookChecks {
		var n int64
		if err := tx.QueryRow(ctx, c.SQL).Scan(&n); err != nil {
			return nil, fmt.Errorf("check %s: %w", c.What, err)
		}
		if n != 0 {
			out = append(out, BookFinding{What: c.What, Count: n})
		}
	}
	return out, nil
}
