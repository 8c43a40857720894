package storm

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
)

//go:embed report.html.tmpl
var reportHTML string

var reportTmpl = template.Must(template.New("storm").Funcs(template.FuncMap{
	"percent": percent,
	"millis":  millis,
	"errors":  errorList,
	"stats":   func(r *RunReport, c Class, p Phase) Stats { return r.stats(c, p) },
	"classes": func() []Class { return Classes },
	"phases":  func() []Phase { return Phases },
	"trans":   transitions,
}).Parse(reportHTML))

// WriteHTML writes the report as one self-contained page: for each run,
// p99 latency and success rate second by second per class, shaded where
// the promo breaker was open or half-open, then the figures per phase.
func (r *Report) WriteHTML(w io.Writer) error {
	var table bytes.Buffer
	r.WriteTable(&table)
	type run struct {
		*RunReport
		Latency, Success template.HTML
	}
	data := struct {
		*Report
		Runs  []run
		Table string
	}{Report: r, Table: table.String()}
	for _, rr := range r.Runs {
		data.Runs = append(data.Runs, run{RunReport: rr,
			Latency: latencyChart(rr, r.Settings.DeadlineMs).svg(), Success: successChart(rr).svg()})
	}
	return reportTmpl.Execute(w, data)
}

// classColor gives each class one colour in every chart.
var classColor = map[Class]string{Routine: "#1f77b4", Teller: "#2ca02c", Promo: "#ff7f0e", Control: "#7f7f7f"}

// chart is an SVG plot area: seconds along x, a value along y.
type chart struct {
	b          strings.Builder
	w, h       float64 // the plot area, inside the margins
	left, top  float64
	seconds    float64
	y          func(v float64) float64 // value to a pixel row
	yTicks     []float64
	tickLabel  func(v float64) string
	title, yAx string
}

func newChart(title, yAxis string, seconds float64) *chart {
	return &chart{w: 860, h: 220, left: 60, top: 28, seconds: max(seconds, 1), title: title, yAx: yAxis}
}

func (c *chart) x(s float64) float64 { return c.left + c.w*s/c.seconds }

// width and height are the whole chart's, margins included.
func (c *chart) width() float64  { return c.left + c.w + 20 }
func (c *chart) height() float64 { return c.top + c.h + 44 }

// frame draws the phases, the breaker's spans, the axes and the ticks.
func (c *chart) frame(r *RunReport) {
	fmt.Fprintf(&c.b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s">`,
		c.width(), c.height(), c.width(), c.height(), template.HTMLEscapeString(c.title))
	fmt.Fprintf(&c.b, `<text x="%.0f" y="16" class="title">%s</text>`, c.left, template.HTMLEscapeString(c.title))
	for _, sp := range r.NotClosed {
		fill := "#d62728"
		if sp.State != "open" {
			fill = "#ffbb33"
		}
		fmt.Fprintf(&c.b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" fill-opacity="0.18"><title>breaker %s %.1fs-%.1fs</title></rect>`,
			c.x(sp.FromS), c.top, max(c.x(sp.ToS)-c.x(sp.FromS), 1), c.h, fill, sp.State, sp.FromS, sp.ToS)
	}
	for _, ph := range r.PhaseSpans {
		fmt.Fprintf(&c.b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" class="phase"/><text x="%.1f" y="%.1f" class="phasel">%s</text>`,
			c.x(ph.FromS), c.x(ph.FromS), c.top, c.top+c.h, c.x(ph.FromS)+4, c.top+12, ph.Phase)
	}
	for _, v := range c.yTicks {
		y := c.y(v)
		fmt.Fprintf(&c.b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" class="grid"/><text x="%.1f" y="%.1f" class="tick" text-anchor="end">%s</text>`,
			c.left, c.left+c.w, y, y, c.left-6, y+4, c.tickLabel(v))
	}
	step := math.Max(5, math.Round(c.seconds/12/5)*5)
	for s := 0.0; s <= c.seconds; s += step {
		fmt.Fprintf(&c.b, `<text x="%.1f" y="%.1f" class="tick" text-anchor="middle">%gs</text>`, c.x(s), c.top+c.h+16, s)
	}
	fmt.Fprintf(&c.b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" class="axes"/>`, c.left, c.top, c.w, c.h)
	fmt.Fprintf(&c.b, `<text x="%.1f" y="%.1f" class="tick">%s</text>`, c.left, c.top+c.h+34, template.HTMLEscapeString(c.yAx))
}

// line draws one class's values, second by second; seconds without a
// value (ok is false) break the line.
func (c *chart) line(class Class, secs []Second, value func(Second) (float64, bool)) {
	var pts []string
	flush := func() {
		if len(pts) > 0 {
			fmt.Fprintf(&c.b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="1.8"/>`, strings.Join(pts, " "), classColor[class])
		}
		pts = pts[:0]
	}
	for _, s := range secs {
		v, ok := value(s)
		if !ok {
			flush()
			continue
		}
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", c.x(float64(s.T)+0.5), c.y(v)))
	}
	flush()
}

// legend names the classes in their colours, and the shading.
func (c *chart) legend() {
	x, y := c.left+c.w-360, c.top+c.h+34
	for _, cl := range Classes {
		fmt.Fprintf(&c.b, `<rect x="%.0f" y="%.0f" width="12" height="4" fill="%s"/><text x="%.0f" y="%.0f" class="tick">%s</text>`,
			x, y-6, classColor[cl], x+16, y, cl)
		x += 80
	}
	fmt.Fprintf(&c.b, `<rect x="%.0f" y="%.0f" width="12" height="12" fill="#d62728" fill-opacity="0.18"/><text x="%.0f" y="%.0f" class="tick">breaker open</text>`,
		x, y-10, x+16, y)
}

func (c *chart) svg() template.HTML {
	c.legend()
	c.b.WriteString("</svg>")
	return template.HTML(c.b.String()) // built here from numbers and escaped names only
}

// latencyChart plots each class's p99 per second on a log scale from 1ms
// to twice the deadline.
func latencyChart(r *RunReport, deadlineMs float64) *chart {
	c := newChart(r.Label+": p99 latency per second, from the scheduled send time", "ms, log scale", runSeconds(r))
	top := math.Max(deadlineMs*2, 10)
	lo, hi := 0.0, math.Log10(top)
	c.y = func(v float64) float64 {
		l := math.Log10(math.Min(math.Max(v, 1), top))
		return c.top + c.h - c.h*(l-lo)/(hi-lo)
	}
	for v := 1.0; v <= top; v *= 10 {
		c.yTicks = append(c.yTicks, v)
	}
	c.tickLabel = func(v float64) string { return fmt.Sprintf("%g", v) }
	c.frame(r)
	for _, cr := range r.Classes {
		c.line(cr.Class, cr.Seconds, func(s Second) (float64, bool) { return s.P99Ms, s.Requests > 0 && s.P99Ms > 0 })
	}
	return c
}

// successChart plots each class's share of successful requests per second.
func successChart(r *RunReport) *chart {
	c := newChart(r.Label+": success rate per second", "% of requests answered OK", runSeconds(r))
	c.y = func(v float64) float64 { return c.top + c.h - c.h*v/100 }
	c.yTicks = []float64{0, 25, 50, 75, 100}
	c.tickLabel = func(v float64) string { return fmt.Sprintf("%g%%", v) }
	c.frame(r)
	for _, cr := range r.Classes {
		c.line(cr.Class, cr.Seconds, func(s Second) (float64, bool) {
			return 100 * float64(s.OK) / math.Max(float64(s.Requests), 1), s.Requests > 0
		})
	}
	return c
}

func runSeconds(r *RunReport) float64 {
	if n := len(r.PhaseSpans); n > 0 {
		return r.PhaseSpans[n-1].ToS
	}
	return 1
}

// chartStyle is the charts' look outside the HTML page.
const chartStyle = `.title{font:600 13px sans-serif}.tick,.phasel{font:11px sans-serif;fill:#555}` +
	`.axes{fill:none;stroke:#888}.grid{stroke:#eee}.phase{stroke:#999;stroke-dasharray:4 3}`

// WriteSVG writes one picture for a README: each run's latency chart, one
// above the other.
func (r *Report) WriteSVG(w io.Writer) error {
	var body strings.Builder
	width, y := 0.0, 0.0
	for _, run := range r.Runs {
		c := latencyChart(run, r.Settings.DeadlineMs)
		fmt.Fprintf(&body, `<g transform="translate(0 %.0f)">%s</g>`, y, c.svg())
		width, y = c.width(), y+c.height()
	}
	_, err := fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f">`+
		`<style>%s</style><rect width="100%%" height="100%%" fill="#fff"/>%s</svg>`+"\n", width, y, width, y, chartStyle, body.String())
	return err
}
