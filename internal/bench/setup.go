package bench

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/corebanking/ledger/internal/ledgerd"
	"github.com/corebanking/ledger/internal/pgserver"
	"github.com/corebanking/ledger/ledger/cockroach"
	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

const (
	currency = "KRW"
	// grpcConns is how many connections the clients share, as a handful
	// of application servers would.
	grpcConns = 4
	// setupWorkers open and fund the accounts concurrently.
	setupWorkers = 16
	// openingBalance is far more than the transfers can ever take out.
	openingBalance = 1_000_000_000_000
)

// setup brings up everything the runs need.
func (m *Main) setup(ctx context.Context) error {
	if err := m.startDatabases(ctx); err != nil {
		return err
	}
	m.logf("starting ledgerd (pool of %d connections, sealer off: %v)", m.cfg.Clients, m.cfg.SealerOff)
	var err error
	if !m.cfg.SealerOff {
		// The sealer's cost includes its signed checkpoints and the
		// witness's fsyncs, at the default interval.
		if m.witness, err = os.MkdirTemp("", "ledger-bench-witness"); err != nil {
			return err
		}
	}
	iso := ledgerd.DefaultIsolation()
	for _, l := range m.cfg.Limits {
		if err := iso.Set(l); err != nil {
			return err
		}
	}
	m.ledger, err = ledgerd.Run(ctx, ledgerd.Config{
		Plaintext: true, Isolation: &iso, // in-process, on loopback
		DatabaseURL: m.ledgerDB, Listen: "127.0.0.1:0", AdminListen: "-", WitnessDir: m.witness,
		MaxConns: int32(m.cfg.Clients), Logger: quietLogger(), Sealer: ledgerd.SealerConfig{Off: m.cfg.SealerOff, Interval: m.cfg.SealerInterval},
		StoreOptions: func(_ string, opt *cockroach.Options) {
			if m.cfg.MoveBatch != 0 {
				opt.MoveBatch = m.cfg.MoveBatch
			}
			if m.cfg.MoveLanes != 0 {
				opt.MoveLanes = m.cfg.MoveLanes
			}
		},
	})
	if err != nil {
		return fmt.Errorf("ledgerd: %w", err)
	}
	for range grpcConns {
		c, err := grpc.NewClient(m.ledger.Server.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return err
		}
		m.conns = append(m.conns, c)
	}
	start := time.Now()
	if err := m.openAccounts(ctx); err != nil {
		return err
	}
	funded := time.Now()
	m.logf("opened and funded %d accounts in %v", len(m.accounts), funded.Sub(start).Round(time.Millisecond))
	if m.pgbench != nil {
		m.logf("pgbench -i -s %d", pgbenchScale)
		if err := m.pgbench.init(ctx); err != nil {
			return err
		}
	}
	if !m.cfg.SealerOff {
		if err := m.waitSealed(ctx); err != nil {
			return err
		}
	}
	// Let the ledger's backends publish the setup's transaction counts
	// before the first run counts its own.
	_, err = pendingDB{url: m.ledgerDB, end: funded}.finish(ctx)
	return err
}

// waitSealed waits until the sealer has sealed the setup's entries, so
// that the runs measure sealing at the rate transfers come, not a backlog
// of account openings.
func (m *Main) waitSealed(ctx context.Context) error {
	start := time.Now()
	if err := m.ledger.Sealer.WaitSealed(ctx, 100*time.Millisecond); err != nil {
		return err
	}
	m.logf("sealed the setup's entries in %v", time.Since(start).Round(time.Millisecond))
	return nil
}

// startDatabases starts the throwaway server unless given URLs, and
// decides whether pgbench runs.
func (m *Main) startDatabases(ctx context.Context) error {
	m.ledgerDB = m.cfg.DatabaseURL
	pgbenchDB := m.cfg.PgbenchURL
	if m.ledgerDB == "" {
		var err error
		if m.tmp, err = os.MkdirTemp("", "lbench"); err != nil {
			return err
		}
		// The server runs as the postgres user when we are root, and must
		// reach its data directory inside this one.
		if err := os.Chmod(m.tmp, 0o755); err != nil {
			return err
		}
		m.logf("starting PostgreSQL in %s", m.tmp)
		m.pg, err = pgserver.Start(ctx, pgserver.Config{DataDir: filepath.Join(m.tmp, "pg")})
		if err != nil {
			return err
		}
		for _, db := range []string{"ledger", "pgbench"} {
			if err := m.pg.CreateDatabase(ctx, db); err != nil {
				return err
			}
		}
		m.ledgerDB = m.pg.URL("ledger")
		if !m.cfg.SQLOff {
			m.logf("the SQL phase's database: the ledger's schema and %d accounts", m.cfg.Accounts)
			if err := m.pg.CreateDatabase(ctx, "ledgersql"); err != nil {
				return err
			}
			if m.sql, err = m.setupSQL(ctx, m.pg.URL("ledgersql"), m.tmp); err != nil {
				return err
			}
		}
		if pgbenchDB == "" {
			pgbenchDB = m.pg.URL("pgbench")
		}
	}
	if pgbenchDB == "" {
		m.logf("no --pgbench-url with --database-url: skipping pgbench")
		return nil
	}
	script, err := absScript(m.cfg.PgbenchScript)
	if err != nil {
		return err
	}
	m.pgbench, err = newPgbench(pgbenchDB, script)
	return err
}

// quietLogger drops the ledger's per-call lines; errors still show.
func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
}

// openAccounts opens the customer accounts and funds each from the vault.
// Their ids are random, so that a shared database can be reused.
func (m *Main) openAccounts(ctx context.Context) error {
	m.accounts = make([]string, m.cfg.Accounts)
	for i := range m.accounts {
		m.accounts[i] = "bench-" + uuid.NewString()
	}
	g, ctx := errgroup.WithContext(ctx)
	next := make(chan string)
	g.Go(func() error {
		defer close(next)
		for _, id := range m.accounts {
			select {
			case next <- id:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	})
	for w := range setupWorkers {
		conn := m.conns[w%len(m.conns)]
		acc, pay := ledgerv1.NewAccountServiceClient(conn), ledgerv1.NewPaymentServiceClient(conn)
		g.Go(func() error {
			for id := range next {
				if err := openAccount(ctx, acc, pay, id); err != nil {
					return fmt.Errorf("account %s: %w", id, err)
				}
			}
			return nil
		})
	}
	return g.Wait()
}

func openAccount(ctx context.Context, acc ledgerv1.AccountServiceClient, pay ledgerv1.PaymentServiceClient, id string) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	_, err := acc.OpenAccount(ctx, &ledgerv1.OpenAccountRequest{
		RequestId: uuid.NewString(), AccountId: id, CustomerId: "c-" + id,
		Currency: currency, Kind: ledgerv1.AccountKind_ACCOUNT_KIND_CUSTOMER,
	})
	if err != nil {
		return err
	}
	_, err = pay.Deposit(ctx, &ledgerv1.DepositRequest{
		RequestId: uuid.NewString(), AccountId: id, Amount: openingBalance, Currency: currency,
	})
	return err
}
