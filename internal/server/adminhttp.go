package server

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// adminHandler serves the admin port, which has no authentication:
//   - /metrics: every metric in Registry (compartments, breakers, group
//     commit, the sealer, readiness, per-method gRPC counts, the Go runtime);
//   - /livez: 200 while the process serves at all (Kubernetes' liveness:
//     a failure means restart it);
//   - /readyz: 200 while the server is ready to serve, 503 with the reason
//     while its database does not answer or it is shutting down
//     (Kubernetes' readiness: a failure means send it no calls);
//   - /healthz: the same as /readyz, as it always meant "serving".
func (s *Server) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/livez", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/readyz", s.readyz)
	mux.HandleFunc("/healthz", s.readyz)
	return mux
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	ready, reason, since := s.ready.state()
	if ready {
		fmt.Fprintln(w, "ok")
		return
	}
	w.WriteHeader(http.StatusServiceUnavailable)
	fmt.Fprintf(w, "not ready since %s: %s\n", since.UTC().Format(time.RFC3339), reason)
}

// checkAdminAddress refuses an admin listener that other machines can
// reach, unless public says the operator means it: the admin port has no
// authentication, and its metrics name compartments, methods and load. It
// looks at the address actually bound, as checkLoopback does.
func checkAdminAddress(lis net.Listener, public bool) error {
	if a, ok := lis.Addr().(*net.TCPAddr); public || ok && a.IP.IsLoopback() {
		return nil
	}
	return errors.New("server: the admin port (metrics and health, no authentication) is refused on " +
		lis.Addr().String() + ": listen on 127.0.0.1 or ::1, or allow a public admin address explicitly (--admin-public)")
}
