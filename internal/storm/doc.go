// Package storm replays the July 2019 promotion stampede against the
// ledger and measures what it does to everyone else.
//
// A run sets up its own customers and a promo with a hard quota, then
// drives open-loop load over real gRPC connections through three phases:
// a quiet baseline, a storm in which a flood of PromoService.Subscribe
// arrives at many times the promo compartment's capacity, and a recovery.
// Routine payments (transfers, ATM withdrawals, hold then capture) and
// teller balance reads arrive at steady rates throughout; a trickle of
// promo calls arrives outside the storm, so that an open breaker has
// callers to probe it after the flood.
//
// Load is open-loop: each class has a fixed arrival rate, and a request is
// sent at its scheduled time whether or not earlier ones have come back.
// Latency is measured from the scheduled time, so a stalled server (or a
// stalled load generator) shows up in the figures instead of silently
// thinning the load. A per-class cap on requests in flight protects the
// generator; a request over the cap is not sent and counts as an error
// (DROPPED). No call is ever retried.
//
// By default the storm runs twice against an in-process ledgerd, each run
// on a fresh database: bulkheads on, then bulkheads off (one shared
// compartment, the naive design). Each class connects over its own gRPC
// connections, as different apps would.
package storm
