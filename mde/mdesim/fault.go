package mdesim

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// FaultKind is one way the network or the API can misbehave.
type FaultKind string

// The faults the simulator can inject. Faults marked "not applied" answer
// before the request reaches the API's logic (a cancel is not applied);
// "applied" faults let the request do its work first and then spoil the
// answer (a cancel is applied, but the client cannot tell).
const (
	FaultLatency   FaultKind = "latency"      // waits Delay, then answers normally
	FaultReset     FaultKind = "reset"        // not applied: the connection is reset (TCP RST) without an answer
	FaultHang      FaultKind = "hang"         // not applied: no answer until the client gives up (or Delay, if set)
	FaultStatus    FaultKind = "status"       // not applied: Status (500, 502 or 503) with an HTML body, as a gateway sends
	Fault429       FaultKind = "429"          // not applied: 429 with Retry-After in seconds (Delay, rounded up)
	Fault429Date   FaultKind = "429-date"     // not applied: 429 with Retry-After as an HTTP date, Delay from now
	FaultMalformed FaultKind = "malformed"    // applied: 200 with a body that is not JSON
	FaultTruncated FaultKind = "truncated"    // applied: 200 whose body stops halfway (Content-Length says more)
	FaultExpire    FaultKind = "expire-token" // not applied: the request's token expires now: 401 for it from here on
	FaultLost      FaultKind = "lost-answer"  // applied: the request is done, then the connection is reset before the answer
	FaultEchoAuth  FaultKind = "echo-auth"    // not applied: a 400 whose message echoes the Authorization header (a careless proxy)
)

// Fault is one injected fault. It applies to the requests of Endpoint
// ("" for all) after the first After of them, Times times (0: every time).
// When several faults are due for one request, the first one added wins
// (the request still counts for the others' After).
type Fault struct {
	Kind     FaultKind
	Endpoint string        // "list", "get", "cancel" or "" for every endpoint
	Status   int           // FaultStatus: 500, 502 or 503 (0 => 503)
	Delay    time.Duration // latency, hang limit, Retry-After
	Times    int           // how many requests it spoils; 0 => all
	After    int           // matching requests let through first
}

func (f Fault) String() string {
	s := string(f.Kind)
	switch f.Kind {
	case FaultStatus:
		s = strconv.Itoa(f.status())
	case FaultLatency, Fault429, Fault429Date, FaultHang:
		if f.Delay > 0 {
			s += "=" + f.Delay.String()
		}
	}
	if f.Endpoint != "" {
		s += ",on=" + f.Endpoint
	}
	if f.Times > 0 {
		s += ",times=" + strconv.Itoa(f.Times)
	}
	if f.After > 0 {
		s += ",after=" + strconv.Itoa(f.After)
	}
	return s
}

func (f Fault) status() int {
	if f.Status == 0 {
		return http.StatusServiceUnavailable
	}
	return f.Status
}

// ParseFault reads a fault as the sim command's --fault flag takes it:
// KIND[=ARG][,on=ENDPOINT][,times=N][,after=N], where KIND is one of
// latency=D, reset, hang[=D], 500, 502, 503, 429=D, 429-date=D, malformed,
// truncated, expire-token, lost-answer, echo-auth. For example
// "lost-answer,on=cancel,times=1" or "429=3s,times=5".
func ParseFault(spec string) (Fault, error) {
	parts := strings.Split(strings.TrimSpace(spec), ",")
	kind, arg, hasArg := strings.Cut(parts[0], "=")
	var f Fault
	switch k := FaultKind(strings.ToLower(strings.TrimSpace(kind))); k {
	case "500", "502", "503", "504":
		f.Kind, f.Status = FaultStatus, 0
		f.Status, _ = strconv.Atoi(string(k))
	case FaultLatency, FaultReset, FaultHang, Fault429, Fault429Date, FaultMalformed, FaultTruncated, FaultExpire, FaultLost, FaultEchoAuth:
		f.Kind = k
	default:
		return Fault{}, fmt.Errorf("fault %q: unknown kind %q (want latency=D, reset, hang, 500, 502, 503, 429=D, 429-date=D, malformed, truncated, expire-token, lost-answer or echo-auth)", spec, kind)
	}
	if hasArg {
		d, err := time.ParseDuration(strings.TrimSpace(arg))
		if err != nil || d < 0 {
			return Fault{}, fmt.Errorf("fault %q: %q is not a duration such as 2s", spec, arg)
		}
		f.Delay = d
	}
	if (f.Kind == FaultLatency || f.Kind == Fault429 || f.Kind == Fault429Date) && f.Delay == 0 {
		return Fault{}, fmt.Errorf("fault %q: say how long, e.g. %s=2s", spec, f.Kind)
	}
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch strings.ToLower(k) {
		case "on":
			switch v {
			case EndpointList, EndpointGet, EndpointCancel, "":
				f.Endpoint = v
			default:
				return Fault{}, fmt.Errorf("fault %q: on=%s: want list, get or cancel", spec, v)
			}
		case "times", "after":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return Fault{}, fmt.Errorf("fault %q: %s=%s: want a whole number", spec, k, v)
			}
			if k == "times" {
				f.Times = n
			} else {
				f.After = n
			}
		default:
			return Fault{}, fmt.Errorf("fault %q: unknown option %q (want on=, times= or after=)", spec, k)
		}
	}
	return f, nil
}

// faultState is a fault and how many requests it has seen and spoiled.
type faultState struct {
	Fault
	seen, spoiled int
}

// faults holds the simulator's active faults.
type faults struct {
	mu      sync.Mutex
	list    []*faultState
	expired map[string]bool // tokens an expire-token fault expired
	counts  map[FaultKind]int
}

// AddFault injects a fault from now on, in addition to those in Options.
func (s *Simulator) AddFault(f Fault) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.list = append(s.faults.list, &faultState{Fault: f})
}

// ClearFaults removes every fault (expired tokens stay expired).
func (s *Simulator) ClearFaults() {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.list = nil
}

// Injected returns how many requests a kind of fault has spoiled.
func (s *Simulator) Injected(kind FaultKind) int {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	return s.faults.counts[kind]
}

// pick returns the fault that applies to this request, if any, counting it.
func (fs *faults) pick(endpoint string) (Fault, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	// Every fault counts every request it could apply to, so that After
	// means the same whatever other faults there are; the first one due
	// spoils the request.
	var chosen *faultState
	for _, f := range fs.list {
		if f.Endpoint != "" && f.Endpoint != endpoint {
			continue
		}
		f.seen++
		if chosen == nil && f.seen > f.After && (f.Times == 0 || f.spoiled < f.Times) {
			chosen = f
		}
	}
	if chosen == nil {
		return Fault{}, false
	}
	chosen.spoiled++
	if fs.counts == nil {
		fs.counts = map[FaultKind]int{}
	}
	fs.counts[chosen.Kind]++
	return chosen.Fault, true
}

func (fs *faults) expire(token string) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.expired == nil {
		fs.expired = map[string]bool{}
	}
	fs.expired[token] = true
}

func (fs *faults) isExpired(token string) bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.expired[token]
}

func bearer(r *http.Request) string {
	_, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	return strings.TrimSpace(token)
}

// serveFault answers r with fault f, or lets serve answer it and spoils
// the answer. It reports false for a fault that let the request through
// unchanged (latency).
func (s *Simulator) serveFault(w http.ResponseWriter, r *http.Request, f Fault, serve http.HandlerFunc) {
	switch f.Kind {
	case FaultLatency:
		sleepCtx(r, f.Delay)
		serve(w, r)
	case FaultReset:
		reset(w)
	case FaultHang:
		if f.Delay > 0 {
			sleepCtx(r, f.Delay)
			reset(w)
			return
		}
		<-r.Context().Done()
	case FaultStatus:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(f.status())
		fmt.Fprintf(w, "<html><body><h1>%d %s</h1>The gateway could not reach the service.</body></html>", f.status(), http.StatusText(f.status()))
	case Fault429:
		writeThrottled(w, retryAfterSeconds(f.Delay))
	case Fault429Date:
		at := time.Now().Add(f.Delay).Add(time.Second - 1).Truncate(time.Second)
		w.Header().Set("Retry-After", at.UTC().Format(http.TimeFormat))
		writeError(w, newError(http.StatusTooManyRequests, "TooManyRequests", "Rate limit is exceeded. Try again later."))
	case FaultExpire:
		s.faults.expire(bearer(r))
		writeError(w, newError(http.StatusUnauthorized, "Unauthorized", "The token has expired."))
	case FaultEchoAuth:
		writeError(w, newError(http.StatusBadRequest, "BadRequest", "Bad request with header Authorization: %s", r.Header.Get("Authorization")))
	case FaultMalformed, FaultTruncated, FaultLost:
		rec := &bufferWriter{header: http.Header{}, status: http.StatusOK}
		serve(rec, r)
		switch {
		case f.Kind == FaultLost:
			reset(w)
		case rec.status/100 != 2:
			copyAnswer(w, rec) // only a success is spoiled
		case f.Kind == FaultMalformed:
			setHeaders(w)
			w.WriteHeader(http.StatusOK)
			w.Write([]byte(`{"id": "` + "\x00" + `<html>Service Unavailable`))
		default: // truncated
			body := rec.body.Bytes()
			for k, v := range rec.header {
				w.Header()[k] = v
			}
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.WriteHeader(http.StatusOK)
			w.Write(body[:len(body)/2])
			_ = http.NewResponseController(w).Flush()
			reset(w)
		}
	default:
		serve(w, r)
	}
}

func sleepCtx(r *http.Request, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	}
}

// reset closes the connection at once with a TCP RST, without an answer.
// Behind a writer that cannot be hijacked (a test recorder), it panics as
// net/http does to abort a response.
func reset(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// bufferWriter keeps an answer so that a fault can spoil it.
type bufferWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferWriter) Header() http.Header         { return b.header }
func (b *bufferWriter) WriteHeader(code int)        { b.status = code }
func (b *bufferWriter) Write(p []byte) (int, error) { return b.body.Write(p) }

func copyAnswer(w http.ResponseWriter, rec *bufferWriter) {
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.status)
	w.Write(rec.body.Bytes())
}
