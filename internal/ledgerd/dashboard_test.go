package ledgerd_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metricsql"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/corebanking/ledger/internal/ledgerd"
	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

// dashboardPath is the Grafana dashboard operators import.
const dashboardPath = "../../docs/grafana/ledger-dashboard.json"

// TestDashboardMetricsExist reads every query of the Grafana dashboard,
// and checks that each metric it names is one a real ledgerd exports on
// /metrics, so that a renamed or removed metric cannot leave a panel
// empty without a test failing.
func TestDashboardMetricsExist(t *testing.T) {
	queries := dashboardQueries(t)
	if len(queries) < 20 {
		t.Fatalf("only %d queries found in %s", len(queries), dashboardPath)
	}
	exported := exportedSeries(t)
	checked := map[string]bool{}
	for _, q := range queries {
		names := metricNames(t, q)
		if len(names) == 0 {
			t.Errorf("query names no metric: %s", q)
		}
		for _, name := range names {
			checked[name] = true
			if !exported[name] {
				t.Errorf("the dashboard queries %s, which ledgerd does not export (in %s)", name, q)
			}
		}
	}
	t.Logf("%d queries of %d metrics checked", len(queries), len(checked))
}

// dashboardQueries returns every PromQL expression in the dashboard: the
// panels' targets and the template variables' queries, with Grafana's
// variables replaced by what they stand for.
func dashboardQueries(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", dashboardPath, err)
	}
	vars := strings.NewReplacer("$__rate_interval", "1m", "$instance", ".*", "$compartment", ".*")
	labelValues := regexp.MustCompile(`^label_values\((.+),\s*\w+\)$`)
	var out []string
	var walk func(key string, v any)
	walk = func(key string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, child := range v {
				walk(k, child)
			}
		case []any:
			for _, child := range v {
				walk(key, child)
			}
		case string:
			if key != "expr" && key != "definition" {
				return
			}
			q := vars.Replace(v)
			if m := labelValues.FindStringSubmatch(q); m != nil {
				q = m[1]
			}
			out = append(out, q)
		}
	}
	walk("", doc)
	return out
}

// metricNames parses a PromQL query and returns the metrics it selects.
func metricNames(t *testing.T, q string) []string {
	t.Helper()
	expr, err := metricsql.Parse(q)
	if err != nil {
		t.Errorf("query does not parse: %s: %v", q, err)
		return nil
	}
	var names []string
	metricsql.VisitAll(expr, func(e metricsql.Expr) {
		me, ok := e.(*metricsql.MetricExpr)
		if !ok {
			return
		}
		for _, group := range me.LabelFilterss {
			for _, f := range group {
				if f.Label == "__name__" && !f.IsRegexp && !f.IsNegative && !slices.Contains(names, f.Value) {
					names = append(names, f.Value)
				}
			}
		}
	})
	return names
}

// exportedSeries runs ledgerd, makes a few calls so that every method has
// answered once, and returns the name of every series /metrics serves
// (a histogram's _bucket, _sum and _count included).
func exportedSeries(t *testing.T) map[string]bool {
	t.Helper()
	m, conn := runInProcess(t, ledgerd.Config{AdminListen: "127.0.0.1:0"})
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if _, err := ledgerv1.NewAccountServiceClient(conn).OpenAccount(ctx, &ledgerv1.OpenAccountRequest{RequestId: "o-1",
		AccountId: "alice", CustomerId: "c-1", Currency: "KRW", Kind: ledgerv1.AccountKind_ACCOUNT_KIND_CUSTOMER}); err != nil {
		t.Fatal(err)
	}
	if _, err := ledgerv1.NewPaymentServiceClient(conn).Deposit(ctx, &ledgerv1.DepositRequest{RequestId: "d-1",
		AccountId: "alice", Amount: 100, Currency: "KRW"}); err != nil {
		t.Fatal(err)
	}

	resp, err := http.Get("http://" + m.Server.AdminAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics: %v", err)
	}
	out := map[string]bool{}
	for name, f := range families {
		if len(f.GetMetric()) == 0 {
			continue
		}
		out[name] = true
		switch f.GetType() {
		case dto.MetricType_HISTOGRAM:
			out[name+"_bucket"], out[name+"_sum"], out[name+"_count"] = true, true, true
		case dto.MetricType_SUMMARY:
			out[name+"_sum"], out[name+"_count"] = true, true
		}
	}
	return out
}
