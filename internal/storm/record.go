package storm

import (
	"errors"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// outcomeOK is the outcome of a call that succeeded.
const outcomeOK = "OK"

// outcomeDropped is a request the generator did not send because too many
// of its class were in flight.
const outcomeDropped = "DROPPED"

// histMaxMicros is the largest latency a histogram holds: a minute.
const histMaxMicros = int64(time.Minute / time.Microsecond)

// tally is what one class saw in one second or one phase.
type tally struct {
	hist     *hdrhistogram.Histogram // every answered request, in microseconds
	requests int64
	ok       int64
	outcomes map[string]int64 // every other outcome, by outcomeOf
	shed     int64            // RESOURCE_EXHAUSTED and UNAVAILABLE answers
	advised  int64            // of those, the ones carrying RetryInfo
}

func newTally() *tally {
	return &tally{hist: hdrhistogram.New(1, histMaxMicros, 3), outcomes: map[string]int64{}}
}

func (t *tally) add(o outcome) {
	t.requests++
	if o.key == outcomeOK {
		t.ok++
	} else {
		t.outcomes[o.key]++
	}
	if o.shed {
		t.shed++
		if o.advised {
			t.advised++
		}
	}
	if o.key != outcomeDropped {
		_ = t.hist.RecordValue(min(max(o.latency.Microseconds(), 1), histMaxMicros))
	}
}

// outcome is one request's result.
type outcome struct {
	key     string // "OK", "DROPPED", or "CODE" or "CODE:REASON" from ErrorInfo
	latency time.Duration
	shed    bool // RESOURCE_EXHAUSTED or UNAVAILABLE
	advised bool // and the answer carried RetryInfo
}

// outcomeOf classifies a call's error.
func outcomeOf(err error, latency time.Duration) outcome {
	if err == nil {
		return outcome{key: outcomeOK, latency: latency}
	}
	if errors.Is(err, errDropped) {
		return outcome{key: outcomeDropped}
	}
	st := status.Convert(err)
	o := outcome{key: code.Code_name[int32(st.Code())], latency: latency}
	o.shed = st.Code() == codes.ResourceExhausted || st.Code() == codes.Unavailable
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			o.key += ":" + d.Reason
		case *errdetails.RetryInfo:
			o.advised = d.GetRetryDelay().AsDuration() > 0
		}
	}
	return o
}

// errDropped marks a request the generator did not send.
var errDropped = errors.New("storm: too many requests in flight; not sent")

// series records one class over a run: per phase and per second of the
// request's scheduled time.
type series struct {
	mu      sync.Mutex
	phases  [3]*tally
	seconds []*tally
}

// recorder holds every class's series for one run.
type recorder struct {
	cfg   Config
	t0    time.Time // the run's time zero
	class map[Class]*series
}

func newRecorder(cfg Config, t0 time.Time) *recorder {
	r := &recorder{cfg: cfg, t0: t0, class: map[Class]*series{}}
	n := int((cfg.total() + time.Second - 1) / time.Second)
	for _, c := range cfg.classes() {
		s := &series{seconds: make([]*tally, n)}
		for i := range s.phases {
			s.phases[i] = newTally()
		}
		for i := range s.seconds {
			s.seconds[i] = newTally()
		}
		r.class[c] = s
	}
	return r
}

// record adds the outcome of a request of class c scheduled at sched.
func (r *recorder) record(c Class, sched time.Time, o outcome) {
	at := sched.Sub(r.t0)
	s := r.class[c]
	sec := min(max(int(at/time.Second), 0), len(s.seconds)-1)
	s.mu.Lock()
	s.phases[r.cfg.phaseAt(at)].add(o)
	s.seconds[sec].add(o)
	s.mu.Unlock()
}
