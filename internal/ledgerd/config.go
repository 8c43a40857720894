package ledgerd

import (
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/corebanking/ledger/bulkhead"
	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

// Limits are one compartment's bulkhead settings (the file names them by
// their yaml tags), its database pool and its store. A zero field takes
// bulkhead.Settings' default; a negative TargetLatency turns the adaptive
// limit off.
type Limits struct {
	bulkhead.Settings `yaml:",inline"`
	PoolSize          int32         `yaml:"pool_size"`
	StatementTimeout  time.Duration `yaml:"statement_timeout"`
	// ReadOnly runs the compartment on the auditors' read-only database
	// role: a write routed to it is refused by the database. AuditService
	// reads the journal through the first read-only compartment's store
	// (by name), or a pool of its own on that role when there is none.
	ReadOnly bool `yaml:"read_only"`
	// QualityOfService is the priority of the compartment's transactions
	// on CockroachDB ("background", "regular", "critical"; empty: the
	// database's default, regular). PostgreSQL has no such setting.
	QualityOfService string `yaml:"quality_of_service"`
	// MoveBatch and MoveLanes shape group commit in the compartment's
	// store (cockroach.Options): the most transfers, deposits and
	// withdrawals one transaction carries, and how many such transactions
	// run at once. Zero takes the store's default; a MoveBatch of 1 turns
	// batching off.
	MoveBatch int `yaml:"move_batch"`
	MoveLanes int `yaml:"move_lanes"`
	// MaxBatchItems is the most items one SubmitBatch may carry in the
	// compartment; zero takes ledger.MaxBatchItems (1,000).
	MaxBatchItems int `yaml:"max_batch_items"`
}

// settings are the compartment's bulkhead settings, named.
func (l Limits) settings(name string) bulkhead.Settings {
	s := l.Settings
	s.Name, s.TargetLatency = name, max(s.TargetLatency, 0)
	return s
}

// Isolation is how traffic is divided: the compartments, and which
// compartment serves each method. It is configuration, never chosen by a
// client.
type Isolation struct {
	Compartments map[string]Limits `yaml:"compartments"`
	Methods      map[string]string `yaml:"methods"`
	// Shared is the one compartment every method uses when bulkheads are off.
	Shared Limits `yaml:"shared"`
}

// The compartment every method shares when bulkheads are off.
const sharedCompartment = "shared"

// DefaultIsolation is sized for a 2-core machine with one local database of
// 300 connections: routine payments get most of the pool, a promotion
// stampede gets a few connections and a short fuse, teller reads and audit
// reads their own.
func DefaultIsolation() Isolation {
	return Isolation{
		Compartments: map[string]Limits{
			"routine": {
				Settings: bulkhead.Settings{MaxConcurrent: 32, MaxQueue: 128, MaxWait: 200 * time.Millisecond,
					Timeout: 3 * time.Second},
				PoolSize: 32, StatementTimeout: 2 * time.Second, QualityOfService: "regular",
			},
			// The promo breaker judges only the last two seconds, so that a
			// calm hour of successes cannot outvote a stampede's first
			// failures, and needs only five calls to judge: four slots with
			// a one-second budget finish few calls when the database is slow.
			// Its slots shrink, down to one, while its calls take 200ms or
			// more, and grow back as they speed up; on CockroachDB its
			// transactions yield to routine ones.
			"promo": {
				Settings: bulkhead.Settings{MaxConcurrent: 4, MaxQueue: 8, MaxWait: 50 * time.Millisecond,
					Timeout: time.Second, MinRequests: 5, Interval: 2 * time.Second, OpenTimeout: 3 * time.Second,
					TargetLatency: 200 * time.Millisecond, MinConcurrent: 1},
				PoolSize: 4, StatementTimeout: time.Second, QualityOfService: "background",
			},
			"teller": {
				Settings: bulkhead.Settings{MaxConcurrent: 8, MaxQueue: 32, MaxWait: 100 * time.Millisecond,
					Timeout: 2 * time.Second},
				PoolSize: 8, StatementTimeout: 2 * time.Second,
			},
			"audit": {
				Settings: bulkhead.Settings{MaxConcurrent: 2, MaxQueue: 4, MaxWait: 200 * time.Millisecond,
					Timeout: 10 * time.Second, SlowCall: -1},
				PoolSize: 2, StatementTimeout: 10 * time.Second, ReadOnly: true,
			},
			// VerifyJournal reads the whole journal, which grows without
			// end: one at a time, on a connection of its own, for minutes
			// if it must, while audit reads keep their two.
			"verify": {
				Settings: bulkhead.Settings{MaxConcurrent: 1, MaxQueue: 2, MaxWait: 200 * time.Millisecond,
					Timeout: 10 * time.Minute, SlowCall: -1},
				PoolSize: 1, StatementTimeout: time.Minute, ReadOnly: true,
			},
			// Settlement files and payroll runs: a few large batches at a
			// time, on connections of their own, so that a batch of a
			// thousand transfers never takes routine payments' slots. Each
			// transaction carries up to 250 of the batches' entries.
			"batch": {
				Settings: bulkhead.Settings{MaxConcurrent: 4, MaxQueue: 32, MaxWait: 5 * time.Second,
					Timeout: 30 * time.Second, SlowCall: -1},
				PoolSize: 4, StatementTimeout: 10 * time.Second, MoveBatch: 250, MaxBatchItems: 1000,
			},
		},
		Methods: map[string]string{
			ledgerv1.AccountService_OpenAccount_FullMethodName:       "routine",
			ledgerv1.AccountService_GetAccount_FullMethodName:        "teller",
			ledgerv1.AccountService_GetBalance_FullMethodName:        "teller",
			ledgerv1.AccountService_ListEntries_FullMethodName:       "teller",
			ledgerv1.AccountService_SetAccountStatus_FullMethodName:  "routine",
			ledgerv1.PaymentService_Deposit_FullMethodName:           "routine",
			ledgerv1.PaymentService_Transfer_FullMethodName:          "routine",
			ledgerv1.PaymentService_Withdraw_FullMethodName:          "routine",
			ledgerv1.PaymentService_PlaceHold_FullMethodName:         "routine",
			ledgerv1.PaymentService_CaptureHold_FullMethodName:       "routine",
			ledgerv1.PaymentService_VoidHold_FullMethodName:          "routine",
			ledgerv1.PaymentService_PostEntry_FullMethodName:         "routine",
			ledgerv1.PaymentService_ReverseEntry_FullMethodName:      "routine",
			ledgerv1.PaymentService_SubmitBatch_FullMethodName:       "batch",
			ledgerv1.PromoService_CreatePromo_FullMethodName:         "promo",
			ledgerv1.PromoService_GetPromo_FullMethodName:            "promo",
			ledgerv1.PromoService_Subscribe_FullMethodName:           "promo",
			ledgerv1.PromoService_CancelSubscription_FullMethodName:  "promo",
			ledgerv1.PromoService_ListSubscriptions_FullMethodName:   "teller",
			ledgerv1.AuditService_ListJournal_FullMethodName:         "audit",
			ledgerv1.AuditService_StreamJournal_FullMethodName:       "audit",
			ledgerv1.AuditService_GetCheckpoint_FullMethodName:       "audit",
			ledgerv1.AuditService_VerifyJournal_FullMethodName:       "verify",
			ledgerv1.AuditService_GetInclusionProof_FullMethodName:   "audit",
			ledgerv1.AuditService_GetConsistencyProof_FullMethodName: "audit",
		},
		Shared: Limits{
			Settings: bulkhead.Settings{MaxConcurrent: 32, MaxQueue: 128, MaxWait: 200 * time.Millisecond,
				Timeout: 3 * time.Second},
			PoolSize: 32, StatementTimeout: 2 * time.Second,
		},
	}
}

// LoadIsolation reads a YAML file over the defaults: a compartment in the
// file keeps the default of every field it does not set.
func LoadIsolation(path string) (Isolation, error) {
	iso := DefaultIsolation()
	if path == "" {
		return iso, nil
	}
	buf, err := os.ReadFile(path)
	if err != nil {
		return iso, err
	}
	var file struct {
		Compartments map[string]yaml.Node `yaml:"compartments"`
		Methods      map[string]string    `yaml:"methods"`
		Shared       yaml.Node            `yaml:"shared"`
	}
	if err := yaml.Unmarshal(buf, &file); err != nil {
		return iso, fmt.Errorf("%s: %w", path, err)
	}
	for name, node := range file.Compartments {
		l := iso.Compartments[name]
		if err := node.Decode(&l); err != nil {
			return iso, fmt.Errorf("%s: compartment %s: %w", path, name, err)
		}
		iso.Compartments[name] = l
	}
	if !file.Shared.IsZero() {
		if err := file.Shared.Decode(&iso.Shared); err != nil {
			return iso, fmt.Errorf("%s: shared: %w", path, err)
		}
	}
	for method, name := range file.Methods {
		iso.Methods[method] = name
	}
	return iso, iso.validate()
}

// Set overrides one limit, written as COMPARTMENT.FIELD=VALUE with the
// file's field names, for example "promo.max_concurrent=2".
func (iso *Isolation) Set(kv string) error {
	key, value, ok := strings.Cut(kv, "=")
	name, field, ok2 := strings.Cut(key, ".")
	if !ok || !ok2 {
		return fmt.Errorf("limit %q: want COMPARTMENT.FIELD=VALUE", kv)
	}
	var l Limits
	switch {
	case name == sharedCompartment:
		l = iso.Shared
	default:
		var known bool
		if l, known = iso.Compartments[name]; !known {
			return fmt.Errorf("limit %q: no compartment %q", kv, name)
		}
	}
	if !knownField(field) {
		return fmt.Errorf("limit %q: no field %q", kv, field)
	}
	if err := yaml.Unmarshal([]byte(field+": "+value), &l); err != nil {
		return fmt.Errorf("limit %q: %w", kv, err)
	}
	if name == sharedCompartment {
		iso.Shared = l
	} else {
		iso.Compartments[name] = l
	}
	return nil
}

// knownField reports whether f names a field of Limits in the file, by
// the struct's own yaml tags, so that a new limit is settable at once.
func knownField(f string) bool {
	for _, field := range reflect.VisibleFields(reflect.TypeFor[Limits]()) {
		if tag, _, _ := strings.Cut(field.Tag.Get("yaml"), ","); tag == f && tag != "" && tag != "-" {
			return true
		}
	}
	return false
}

func (iso Isolation) validate() error {
	for method, name := range iso.Methods {
		if _, ok := iso.Compartments[name]; !ok {
			return fmt.Errorf("method %s is mapped to compartment %q, which is not configured", method, name)
		}
	}
	return nil
}

// clone returns a copy of iso that shares no map with it.
func (iso Isolation) clone() Isolation {
	out := Isolation{Compartments: map[string]Limits{}, Methods: map[string]string{}, Shared: iso.Shared}
	for k, v := range iso.Compartments {
		out.Compartments[k] = v
	}
	for k, v := range iso.Methods {
		out.Methods[k] = v
	}
	return out
}

// names returns the compartments' names, sorted.
func (iso Isolation) names() []string {
	out := make([]string, 0, len(iso.Compartments))
	for n := range iso.Compartments {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
