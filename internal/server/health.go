package server

import (
	"context"
	"strings"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/corebanking/ledger/bulkhead"
)

// watchHealth sets the health of the server ("") and of each service in
// services, every tick:
//   - while the server is not ready (its database does not answer, see
//     readiness), all of them are NOT_SERVING, whatever the breakers say;
//   - otherwise the server is SERVING, and each service is NOT_SERVING
//     while the breaker of any compartment serving its methods is open.
//
// Polling Stats is also what moves an idle open breaker to half-open, so
// callers that obey health come back and probe it.
func (iso *isolation) watchHealth(ctx context.Context, h healthSetter, services []string, ready func() bool, every time.Duration) {
	serving := map[string][]*compartment{}
	for method, c := range iso.methods {
		svc := strings.TrimPrefix(method[:strings.LastIndex(method, "/")], "/")
		serving[svc] = append(serving[svc], c)
	}
	last := map[string]healthpb.HealthCheckResponse_ServingStatus{}
	set := func(svc string, st healthpb.HealthCheckResponse_ServingStatus) {
		if last[svc] != st {
			h.SetServingStatus(svc, st)
			last[svc] = st
		}
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		open := map[*compartment]bool{}
		for _, c := range iso.byName {
			open[c] = c.Stats().State == bulkhead.StateOpen
		}
		up := ready()
		set("", servingStatus(up))
		for _, svc := range services {
			st := up
			for _, c := range serving[svc] {
				st = st && !open[c]
			}
			set(svc, servingStatus(st))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func servingStatus(serving bool) healthpb.HealthCheckResponse_ServingStatus {
	if serving {
		return healthpb.HealthCheckResponse_SERVING
	}
	return healthpb.HealthCheckResponse_NOT_SERVING
}

type healthSetter interface {
	SetServingStatus(service string, status healthpb.HealthCheckResponse_ServingStatus)
}
