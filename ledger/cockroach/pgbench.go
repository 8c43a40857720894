package cockroach

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/corebanking/ledger/ledger"
)

// PgbenchTransfer returns a pgbench script that runs a transfer's own
// statement, sqlPost, the way the store sends a transfer that goes alone:
// BEGIN ISOLATION LEVEL SERIALIZABLE, the statement and COMMIT in one round
// trip (a pipeline), paying 1 to 5,000 of currency between two distinct
// random accounts named prefix+"1" to prefix+N, each of which must have one
// balance row, and may be internal (the script posts as the operator may).
// It writes what a transfer writes: the entry, its postings, its journal
// announcement with canonical bytes and an idempotency record with a
// result, both of a transfer's usual size. ledger-bench runs it beside
// pgbench's bare
// transfer, to tell the database's share of a transfer's cost from the
// server's. PostgreSQL only (pgbench 14 or later, for pipelines).
func PgbenchTransfer(prefix string, accounts int, currency string) string {
	account := func(v string) string { return "(" + quote(prefix) + " || :" + v + ")" }
	entryID := "CAST(lpad(to_hex(CAST(:e1 AS INT8)), 16, '0') || lpad(to_hex(CAST(:e2 AS INT8)), 16, '0') AS UUID)"
	pair := func(a, b string) string { return "ARRAY[" + a + ", " + b + "]" }
	one := func(a string) string { return "ARRAY[" + a + "]" }
	args := []string{ // $1 to $23, as queuePost binds them
		one(entryID), one("'TRANSFER'"), one("'pgbench'"), one("('pgbench-' || :e1 || '-' || :e2)"), one("''"),
		one("CAST(repeat('f', 32) AS BYTEA)"), one("CAST(repeat('r', 360) AS BYTEA)"), one("CAST(NULL AS UUID)"),
		pair("0", "1"), pair(entryID, entryID), pair(account("src"), account("dst")), pair("0", "0"),
		pair("-CAST(:amt AS INT8)", "CAST(:amt AS INT8)"), pair(quote(currency), quote(currency)), pair(quote(nilHold), quote(nilHold)),
		pair("true", "true"), "CURRENT_TIMESTAMP", strconv.FormatInt(ledger.MaxBalance, 10), "false",
		one("(least(" + account("src") + ", " + account("dst") + ") || ',' || greatest(" + account("src") + ", " + account("dst") + "))"),
		pair("0", "0"), pair("0", "0"), one("CAST(repeat('c', 200) AS BYTEA)"),
	}
	stmt := sqlPost
	for i := len(args); i >= 1; i-- { // $23 before $2 before $1
		stmt = strings.ReplaceAll(stmt, "$"+strconv.Itoa(i), args[i-1])
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\\set src random(1, %d)\n", accounts)
	fmt.Fprintf(&b, "\\set dst 1 + (:src - 1 + random(1, %d)) %% %d\n", accounts-1, accounts)
	b.WriteString("\\set amt random(1, 5000)\n")
	b.WriteString("\\set e1 random(0, 9223372036854775806)\n")
	b.WriteString("\\set e2 random(0, 9223372036854775806)\n")
	b.WriteString("\\startpipeline\n")
	b.WriteString(sqlBegin + ";\n")
	b.WriteString(strings.Join(strings.Fields(stmt), " ") + ";\n")
	b.WriteString("COMMIT;\n")
	b.WriteString("\\endpipeline\n")
	return b.String()
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
