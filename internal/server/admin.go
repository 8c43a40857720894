package server

import (
	"context"

	"github.com/corebanking/ledger/bulkhead"
	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

// admin implements ledger.v1.AdminService.
type admin struct {
	ledgerv1.UnimplementedAdminServiceServer
	iso       *isolation
	bulkheads bool
}

func (a *admin) ListCompartments(context.Context, *ledgerv1.ListCompartmentsRequest) (*ledgerv1.ListCompartmentsResponse, error) {
	resp := &ledgerv1.ListCompartmentsResponse{Bulkheads: a.bulkheads}
	if a.iso == nil {
		return resp, nil
	}
	for _, name := range a.iso.names() {
		c := a.iso.byName[name]
		s := c.Stats()
		pc := &ledgerv1.Compartment{
			Name: name, BreakerState: s.State.String(),
			InFlight: int32(s.InFlight), Queued: int32(s.Queued),
			MaxConcurrent: int32(s.MaxConcurrent), MaxQueue: int32(s.MaxQueue),
			Limit: int32(s.Limit), MinConcurrent: int32(s.MinConcurrent),
			Admitted: s.Admitted, Successes: s.Successes, Failures: s.Failures,
			Rejected: map[string]uint64{}, Methods: a.iso.methodsOf(name),
		}
		for r, n := range s.Rejected {
			pc.Rejected[bulkhead.RejectReason(r).String()] = n
		}
		if c.pool != nil {
			pc.PoolMaxConns, pc.PoolAcquiredConns = c.pool()
		}
		resp.Compartments = append(resp.Compartments, pc)
	}
	return resp, nil
}
