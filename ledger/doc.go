// Package ledger holds the core-banking domain: accounts, journal entries,
// holds, the rules that govern them, and the errors they return. It knows
// nothing of SQL or gRPC; adapters live in subpackages (ledger/cockroach)
// and in internal/server.
//
// # Double entry
//
// Every change of a balance is one journal Entry whose postings sum to zero.
// An entry has a single currency: there are no cross-currency postings.
// Cash that enters or leaves the bank posts against the bank's own internal
// accounts: a deposit debits the vault of its currency, a withdrawal credits
// the cash account of the ATM that paid out. So the sum of all balances of
// a currency is always zero.
//
// # Balances
//
// An account's posted balance is the sum of its postings. Its held amount is
// the sum of its active, unexpired holds, and its available balance is
// posted minus held. A customer account's available balance never goes below
// zero; an internal account may go negative. Frozen and closed accounts
// refuse postings. Every amount is an int64 count of minor units between 1
// and MaxAmount, and every balance row stays within ±MaxBalance, so no sum
// the ledger computes can overflow.
//
// Busy internal accounts keep their balance in several shard rows whose sum
// is the balance, so that concurrent deposits do not queue on one row.
//
// # Holds
//
// A hold reserves part of an available balance, as an ATM authorization
// does. It ends in exactly one way: captured once (fully or partly; the rest
// is released), voided, or expired when its time to live passes. An expired
// hold cannot be captured and no longer counts against the balance.
//
// # Idempotency
//
// Every mutating request carries a client request id. The ledger remembers
// each id with a fingerprint of the request's content and the result it
// gave, in the same transaction as the change itself. A replay with the same
// content returns the stored result without posting again, even when two
// copies race; the same id with other content is refused with
// IDEMPOTENCY_CONFLICT. Capturing or voiding a hold that has already ended,
// under a new request id, is refused with HOLD_NOT_ACTIVE.
//
// # The journal
//
// Every entry, money or not (an account opened or its status changed, a
// hold placed or voided, a promotion created), is sealed after it commits
// into the auditors' journal: a gapless sequence, a SHA-256 chain over the
// canonical encoding of each record (Canonical, ChainHash), and an RFC 9162
// Merkle tree (LeafHash, Tree) whose checkpoints are signed with a key kept
// outside the database (SignedCheckpoint). JournalVerifier checks records
// from the genesis against signed checkpoints and names the first sequence
// it cannot vouch for; VerifyInclusion and VerifyConsistency check proofs.
// An account's status changes by an operator's hand (SetAccountStatus); a
// closed account stays closed. docs/journal.md specifies every byte.
package ledger
