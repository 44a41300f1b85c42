// Package mdesim simulates the Microsoft Defender for Endpoint
// machine-actions API (list, get and cancel) for tests and demos: a
// deterministic tenant generated from a seed, a lifecycle that moves open
// actions along on a Clock, OData query options, the API's error shapes and
// its per-endpoint rate limits. The behaviour follows
// shared/reference/mde-api.md; where that reference says UNCONFIRMED, the
// choice made here is noted next to the code.
package mdesim

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mdeactions/mdeactions/mde"
)

// The endpoint names used by Requests and Throttled.
const (
	EndpointList   = "list"
	EndpointGet    = "get"
	EndpointCancel = "cancel"
)

var endpoints = []string{EndpointList, EndpointGet, EndpointCancel}

// Options configure a Simulator. The zero value is a usable default.
type Options struct {
	Seed      int64   // tenant generation seed (same seed and start time => same tenant, byte for byte)
	Actions   int     // number of actions to generate; 0 => 400; negative => none
	Open      int     // if > 0, exactly this many of them are open (Pending or InProgress) at start, the rest finished; Actions below Open is raised to Open
	Devices   int     // number of devices; 0 => 80
	Clock     Clock   // nil => real time
	Limits    []Limit // per endpoint budgets; nil => DefaultLimits()
	NoLimits  bool    // disables rate limiting
	PageSize  int     // page size when a list request has no $top; 0 => 10000
	Principal string  // recorded as cancellationRequestor; "" => "responder@contoso.com"

	// Authorize, if set, decides every request: an error wrapping
	// ErrForbidden gives 403, any other error 401, with the error's text; a non-empty principal is recorded on cancellations
	// instead of Principal. If nil, any non-empty "Bearer <token>" passes.
	Authorize func(r *http.Request) (principal string, err error)

	// Observe, if set, is told of every answered request: the endpoint
	// ("" for an unknown path), the action id (for get and cancel), the
	// status sent and the clock's time. Tests use it to check pacing.
	Observe func(endpoint, id string, status int, at time.Time)

	ContextBase string // base of "@odata.context"; "" => "https://api.security.microsoft.com"

	// Faults are injected into the answers from the start (see Fault;
	// AddFault adds more later).
	Faults []Fault
}

// Simulator is an http.Handler serving the machine-actions API. It is safe
// for concurrent use.
type Simulator struct {
	clock       Clock
	contextBase string
	principal   string
	authorize   func(r *http.Request) (string, error)
	observe     func(endpoint, id string, status int, at time.Time)
	pageSize    int
	limiters    map[string]*limiter // nil: no limits
	requests    map[string]*atomic.Int64
	throttled   map[string]*atomic.Int64

	faults faults

	mu        sync.Mutex
	entries   []*entry          // newest first: creation desc, then id
	byID      map[string]*entry // keyed by lower-case id
	nextEvent time.Time         // earliest scheduled transition; zero: none
}

// entry is one action and, for a generated open action, its schedule.
type entry struct {
	action mde.MachineAction
	sched  *schedule // nil: the action never moves by itself
	next   time.Time // next scheduled event of sched
}

// New builds a simulator with a tenant generated from opts.Seed, as of the
// clock's current time.
func New(opts Options) *Simulator {
	s := &Simulator{
		clock:       opts.Clock,
		contextBase: strings.TrimSuffix(cmp.Or(opts.ContextBase, "https://api.security.microsoft.com"), "/"),
		principal:   cmp.Or(opts.Principal, "responder@contoso.com"),
		authorize:   opts.Authorize,
		observe:     opts.Observe,
		pageSize:    cmp.Or(opts.PageSize, maxTop),
		requests:    map[string]*atomic.Int64{},
		throttled:   map[string]*atomic.Int64{},
		byID:        map[string]*entry{},
	}
	for _, f := range opts.Faults {
		s.AddFault(f)
	}
	if s.clock == nil {
		s.clock = realClock{}
	}
	if !opts.NoLimits {
		limits := opts.Limits
		if limits == nil {
			limits = DefaultLimits()
		}
		s.limiters = map[string]*limiter{}
		for _, ep := range endpoints {
			s.limiters[ep] = newLimiter(limits)
		}
	}
	for _, ep := range endpoints {
		s.requests[ep] = new(atomic.Int64)
		s.throttled[ep] = new(atomic.Int64)
	}

	n := opts.Actions
	if n == 0 {
		n = 400
	}
	open := -1 // the usual shares
	if opts.Open > 0 {
		n, open = max(n, opts.Open), opts.Open
	}
	devices := cmp.Or(opts.Devices, 80)
	for _, e := range generateTenant(opts.Seed, max(n, 0), devices, open, s.now()) {
		s.entries = append(s.entries, e)
		s.byID[strings.ToLower(e.action.ID)] = e
		s.nextEvent = earliest(s.nextEvent, e.next)
	}
	s.sortEntries()
	return s
}

// now is the clock's time at the API's resolution.
func (s *Simulator) now() time.Time { return toTick(s.clock.Now()) }

// earliest returns the earlier of two times, where zero means "never".
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

func (s *Simulator) sortEntries() {
	slices.SortStableFunc(s.entries, func(a, b *entry) int {
		if c := b.action.CreationDateTimeUtc.Time.Compare(a.action.CreationDateTimeUtc.Time); c != 0 {
			return c
		}
		return cmp.Compare(a.action.ID, b.action.ID)
	})
}

// advanceLocked applies every scheduled transition due by now. s.mu must be
// held. The clock moving backwards undoes nothing.
func (s *Simulator) advanceLocked(now time.Time) {
	if s.nextEvent.IsZero() || now.Before(s.nextEvent) {
		return
	}
	s.nextEvent = time.Time{}
	for _, e := range s.entries {
		if e.sched == nil {
			continue
		}
		if !now.Before(e.next) {
			e.action = e.sched.stateAt(now)
			e.next = e.sched.nextAfter(now)
			if e.next.IsZero() {
				e.sched = nil
				continue
			}
		}
		s.nextEvent = earliest(s.nextEvent, e.next)
	}
}

// Actions returns a snapshot of every action, newest first, after applying
// the lifecycle up to the clock's current time.
func (s *Simulator) Actions() []mde.MachineAction {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceLocked(s.now())
	out := make([]mde.MachineAction, len(s.entries))
	for i, e := range s.entries {
		out[i] = cloneAction(e.action)
	}
	return out
}

// Action returns one action by id (case-insensitive).
func (s *Simulator) Action(id string) (mde.MachineAction, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceLocked(s.now())
	e, ok := s.byID[strings.ToLower(id)]
	if !ok {
		return mde.MachineAction{}, false
	}
	return cloneAction(e.action), true
}

// Put adds an action or replaces the one with the same id. A Put action
// has no schedule: it stays exactly as given until cancelled or replaced.
func (s *Simulator) Put(a mde.MachineAction) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceLocked(s.now())
	key := strings.ToLower(a.ID)
	if e, ok := s.byID[key]; ok {
		e.action, e.sched, e.next = cloneAction(a), nil, time.Time{}
	} else {
		e := &entry{action: cloneAction(a)}
		s.entries = append(s.entries, e)
		s.byID[key] = e
	}
	s.sortEntries()
}

// Requests returns how many requests reached an endpoint ("list", "get" or
// "cancel"), counted before authentication and rate limiting.
func (s *Simulator) Requests(endpoint string) int {
	if c, ok := s.requests[endpoint]; ok {
		return int(c.Load())
	}
	return 0
}

// Throttled returns how many requests to an endpoint were answered 429.
func (s *Simulator) Throttled(endpoint string) int {
	if c, ok := s.throttled[endpoint]; ok {
		return int(c.Load())
	}
	return 0
}

// ServeHTTP serves /api/machineactions, /api/machineactions/{id} and
// /api/machineactions/{id}/cancel (and the same under /api/v1.0/).
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.observe != nil {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		endpoint, id := route(r.URL.Path)
		defer func() { s.observe(endpoint, id, rec.status, s.clock.Now()) }()
		w = rec
	}
	endpoint, id := route(r.URL.Path)
	if endpoint != "" {
		s.requests[endpoint].Add(1)
	}
	if f, ok := s.faults.pick(endpoint); ok {
		s.serveFault(w, r, f, func(w http.ResponseWriter, r *http.Request) { s.serve(w, r, endpoint, id) })
		return
	}
	s.serve(w, r, endpoint, id)
}

// serve answers a request as the API does.
func (s *Simulator) serve(w http.ResponseWriter, r *http.Request, endpoint, id string) {
	if token := bearer(r); token != "" && s.faults.isExpired(token) {
		writeError(w, newError(http.StatusUnauthorized, "Unauthorized", "The token has expired."))
		return
	}
	principal, err := s.authenticate(r)
	if err != nil {
		writeError(w, err)
		return
	}
	if endpoint == "" {
		writeError(w, newError(http.StatusNotFound, "NotFound", "No resource was found at '%s'", r.URL.Path))
		return
	}
	method := http.MethodGet
	if endpoint == EndpointCancel {
		method = http.MethodPost
	}
	if r.Method != method {
		w.Header().Set("Allow", method)
		writeError(w, newError(http.StatusMethodNotAllowed, "BadRequest",
			"The requested resource does not support http method '%s'.", r.Method))
		return
	}
	if s.limiters != nil {
		if wait := s.limiters[endpoint].allow(s.clock.Now()); wait > 0 {
			s.throttled[endpoint].Add(1)
			writeThrottled(w, retryAfterSeconds(wait))
			return
		}
	}
	switch endpoint {
	case EndpointList:
		s.serveList(w, r)
	case EndpointGet:
		s.serveGet(w, id)
	case EndpointCancel:
		s.serveCancel(w, r, id, principal)
	}
}

// statusRecorder remembers the status a handler sent.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

// Unwrap lets a fault hijack the connection underneath.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// route maps a path to an endpoint and action id. Path segments are
// matched case-insensitively, as ASP.NET routing does; one trailing slash
// is ignored.
func route(path string) (endpoint, id string) {
	path = strings.TrimSuffix(path, "/")
	var rest string
	for _, prefix := range []string{"/api/v1.0/machineactions", "/api/machineactions"} {
		if len(path) >= len(prefix) && strings.EqualFold(path[:len(prefix)], prefix) {
			rest = path[len(prefix):]
			if rest == "" {
				return EndpointList, ""
			}
			break
		}
	}
	if !strings.HasPrefix(rest, "/") {
		return "", ""
	}
	parts := strings.Split(rest[1:], "/")
	switch {
	case len(parts) == 1 && parts[0] != "":
		return EndpointGet, parts[0]
	case len(parts) == 2 && parts[0] != "" && strings.EqualFold(parts[1], "cancel"):
		return EndpointCancel, parts[0]
	}
	return "", ""
}

// authenticate checks the request's credentials and returns the principal
// to record on a cancellation.
func (s *Simulator) authenticate(r *http.Request) (string, *apiError) {
	if s.authorize != nil {
		principal, err := s.authorize(r)
		if errors.Is(err, ErrForbidden) {
			return "", newError(http.StatusForbidden, "Forbidden", "%s", err.Error())
		}
		if err != nil {
			return "", newError(http.StatusUnauthorized, "Unauthorized", "%s", err.Error())
		}
		return cmp.Or(principal, s.principal), nil
	}
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return "", newError(http.StatusUnauthorized, "Unauthorized", "Authorization has been denied for this request.")
	}
	return s.principal, nil
}

func (s *Simulator) serveList(w http.ResponseWriter, r *http.Request) {
	q, qerr := parseListQuery(r.URL.RawQuery)
	if qerr != nil {
		writeError(w, qerr)
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceLocked(s.now())

	var rows []*mde.MachineAction
	for _, e := range s.entries {
		if q.filter == nil || q.filter.match(&e.action) {
			rows = append(rows, &e.action)
		}
	}
	if q.orderBy != nil {
		slices.SortStableFunc(rows, func(a, b *mde.MachineAction) int { return compareActions(q.orderBy, a, b) })
	}
	total := len(rows)
	rows = rows[min(q.skip, total):]
	limit, more := q.top, false
	if limit < 0 {
		limit = s.pageSize
		more = len(rows) > limit
	}
	rows = rows[:min(limit, len(rows))]

	var buf bytes.Buffer
	buf.WriteString(`{"@odata.context":`)
	buf.Write(marshal(s.contextBase + "/api/$metadata#MachineActions"))
	if q.count {
		buf.WriteString(`,"@odata.count":` + strconv.Itoa(total))
	}
	buf.WriteString(`,"value":[`)
	for i, a := range rows {
		if i > 0 {
			buf.WriteByte(',')
		}
		b, _ := a.MarshalJSON()
		buf.Write(b)
	}
	buf.WriteByte(']')
	if more {
		buf.WriteString(`,"@odata.nextLink":`)
		buf.Write(marshal(nextLink(r, q, q.skip+len(rows))))
	}
	buf.WriteByte('}')
	writeBody(w, http.StatusOK, buf.Bytes())
}

// nextLink is the request's own URL with $skip moved on. The reference
// leaves nextLink on machineactions UNCONFIRMED; the simulator sends one only
// when the request had no $top (as /api/machines does), pointing at the
// host the client called so that following it works.
func nextLink(r *http.Request, q listQuery, skip int) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	parts := append(slices.Clone(q.rest), "$skip="+strconv.Itoa(skip))
	return scheme + "://" + r.Host + r.URL.Path + "?" + strings.Join(parts, "&")
}

func (s *Simulator) serveGet(w http.ResponseWriter, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceLocked(s.now())
	e, ok := s.byID[strings.ToLower(id)]
	if !ok {
		// A malformed (non-GUID) id gets the same 404: UNCONFIRMED in the reference.
		writeError(w, notFound(id))
		return
	}
	writeBody(w, http.StatusOK, e.action.MarshalEntity(s.contextBase+"/api/$metadata#MachineActions/$entity"))
}

func notFound(id string) *apiError {
	return newError(http.StatusNotFound, "ResourceNotFound", "MachineAction %s was not found", id)
}

// maxCommentLength is the simulator's cap on a cancellation comment. The real
// limit is not documented; a longer Comment gets 400 InvalidInput here.
const maxCommentLength = 1000

// serveCancel cancels an open action in place (reference §3.2).
//
// Choices where the reference is UNCONFIRMED:
//   - The body is checked before the id is looked up (as ASP.NET model
//     validation would): a body that is not a JSON object gets 400
//     InvalidRequestBody; a missing, null, empty or whitespace-only
//     "Comment" (case-sensitive key) gets 400 MissingRequiredParameter; a
//     Comment that is not a string gets InvalidRequestBody; one longer than
//     1000 characters gets InvalidInput. The Content-Type is not checked.
//   - Cancelling an action in a final state gets 400 BadRequest.
//   - Live response commands are left as they are, so an action can end
//     Cancelled with a command already Completed (the known race).
func (s *Simulator) serveCancel(w http.ResponseWriter, r *http.Request, id, principal string) {
	comment, berr := readComment(r.Body)
	if berr != nil {
		writeError(w, berr)
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.advanceLocked(now)
	e, ok := s.byID[strings.ToLower(id)]
	if !ok {
		writeError(w, notFound(id))
		return
	}
	if e.action.Status.Final() {
		writeError(w, newError(http.StatusBadRequest, "BadRequest",
			"Action %s is already in a final state (%s) and cannot be cancelled", e.action.ID, e.action.Status))
		return
	}
	e.sched, e.next = nil, time.Time{}
	a := &e.action
	a.Status = mde.StatusCancelled
	a.Edit().CancellationRequestor = principal
	a.Edit().CancellationComment = comment
	a.Edit().CancellationDateTimeUtc = mde.Timestamp{Time: now}
	a.LastUpdateDateTimeUtc = mde.Timestamp{Time: now}
	writeBody(w, http.StatusOK, a.MarshalEntity(s.contextBase+"/api/$metadata#MachineActions/$entity"))
}

// readComment reads and validates the cancel body {"Comment": "..."}.
func readComment(body io.Reader) (string, *apiError) {
	invalid := newError(http.StatusBadRequest, "InvalidRequestBody", "Request body is incorrect")
	data, err := io.ReadAll(io.LimitReader(body, 1<<20))
	if err != nil {
		return "", invalid
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil || fields == nil {
		return "", invalid
	}
	raw, ok := fields["Comment"]
	if !ok || string(raw) == "null" {
		return "", missingComment()
	}
	var comment string
	if err := json.Unmarshal(raw, &comment); err != nil {
		return "", invalid
	}
	if strings.TrimSpace(comment) == "" {
		return "", missingComment()
	}
	if len([]rune(comment)) > maxCommentLength {
		return "", newError(http.StatusBadRequest, "InvalidInput",
			"Comment exceeds the maximum length of %d characters", maxCommentLength)
	}
	return comment, nil
}

func missingComment() *apiError {
	return newError(http.StatusBadRequest, "MissingRequiredParameter", "Comment is required")
}

// Server is a Simulator listening on loopback.
type Server struct {
	URL string // e.g. "http://127.0.0.1:41234"
	Sim *Simulator

	srv  *http.Server
	done chan struct{}
}

// Start builds a Simulator from opts and serves it on 127.0.0.1 at a free port.
func Start(opts Options) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	sim := New(opts)
	s := &Server{
		URL:  "http://" + ln.Addr().String(),
		Sim:  sim,
		srv:  &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second},
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		s.srv.Serve(ln)
	}()
	return s, nil
}

// Close stops the server and waits for it to finish.
func (s *Server) Close() error {
	err := s.srv.Close()
	<-s.done
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
