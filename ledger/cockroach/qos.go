package cockroach

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Quality of service of a session's transactions on CockroachDB: when the
// cluster is saturated, its admission control serves critical work before
// regular, and regular before background. PostgreSQL has no such setting;
// there the compartments' own pools and slots are the only priority.
const (
	sqlQoSBackground = `SET default_transaction_quality_of_service = background`
	sqlQoSRegular    = `SET default_transaction_quality_of_service = regular`
	sqlQoSCritical   = `SET default_transaction_quality_of_service = critical`
)

// qosStatements maps a quality of service to the statement that sets it.
var qosStatements = map[string]string{
	"background": sqlQoSBackground,
	"regular":    sqlQoSRegular,
	"critical":   sqlQoSCritical,
}

// QualityOfService returns a pgxpool AfterConnect hook that gives every
// session of a pool the quality of service qos ("background", "regular" or
// "critical") on CockroachDB, and does nothing on PostgreSQL. An empty qos
// returns a nil hook: the database's default (regular).
func QualityOfService(qos string) (func(context.Context, *pgx.Conn) error, error) {
	if qos == "" {
		return nil, nil
	}
	stmt, ok := qosStatements[qos]
	if !ok {
		return nil, fmt.Errorf("quality of service %q: want background, regular or critical", qos)
	}
	return func(ctx context.Context, conn *pgx.Conn) error {
		if onPostgres(conn) {
			return nil
		}
		_, err := conn.Exec(ctx, stmt)
		return err
	}, nil
}
