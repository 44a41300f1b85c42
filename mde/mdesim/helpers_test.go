package mdesim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
	"time"

	"github.com/mdeactions/mdeactions/mde"
)

// testStart is the simulated "now" of most tests.
var testStart = time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC)

var guidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// newTestSim returns a simulator on a ManualClock at testStart, without
// rate limits unless opts sets some.
func newTestSim(t *testing.T, opts Options) (*Simulator, *ManualClock) {
	t.Helper()
	clock := NewManualClock(testStart)
	if opts.Clock == nil {
		opts.Clock = clock
	}
	if opts.Limits == nil {
		opts.NoLimits = true
	}
	return New(opts), clock
}

// do sends one request to h with a bearer token.
func do(t *testing.T, h http.Handler, method, target, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, bytes.NewBufferString(body))
	req.Header.Set("Authorization", "Bearer test-token")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

type listBody struct {
	Context  string              `json:"@odata.context"`
	Count    *int                `json:"@odata.count"`
	Value    []mde.MachineAction `json:"value"`
	NextLink string              `json:"@odata.nextLink"`
}

// list GETs target and decodes a 200 list body.
func list(t *testing.T, h http.Handler, target string) listBody {
	t.Helper()
	rec := do(t, h, http.MethodGet, target, "")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: status %d, body %s", target, rec.Code, rec.Body)
	}
	var b listBody
	if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
		t.Fatalf("GET %s: decoding: %v", target, err)
	}
	return b
}

type errorBody struct {
	Error struct {
		Code    *string `json:"code"`
		Message string  `json:"message"`
		Target  *string `json:"target"`
		Details []any   `json:"details"`
	} `json:"error"`
}

// wantError checks a standard-shape error: status, code, a GUID target, and
// (if non-empty) the message.
func wantError(t *testing.T, rec *httptest.ResponseRecorder, status int, code, message string) errorBody {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d; body %s", rec.Code, status, rec.Body)
	}
	var b errorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
		t.Fatalf("decoding error body %s: %v", rec.Body, err)
	}
	if b.Error.Code == nil || *b.Error.Code != code {
		t.Errorf("code = %v, want %q (body %s)", b.Error.Code, code, rec.Body)
	}
	if message != "" && b.Error.Message != message {
		t.Errorf("message = %q, want %q", b.Error.Message, message)
	}
	if b.Error.Target == nil || !guidRE.MatchString(*b.Error.Target) {
		t.Errorf("target = %v, want a lower-case GUID", b.Error.Target)
	}
	wantHeaders(t, rec)
	return b
}

func wantHeaders(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	if got := rec.Header().Get("Content-Type"); got != "application/json; odata.metadata=minimal; odata.streaming=true; charset=utf-8" {
		t.Errorf("Content-Type = %q", got)
	}
	if got := rec.Header().Get("OData-Version"); got != "4.0" {
		t.Errorf("OData-Version = %q", got)
	}
}

// ids returns the ids of actions, in order.
func ids(actions []mde.MachineAction) []string {
	out := make([]string, len(actions))
	for i, a := range actions {
		out[i] = a.ID
	}
	return out
}

// firstWhere returns the first action of s matching f.
func firstWhere(t *testing.T, s *Simulator, what string, f func(a mde.MachineAction) bool) mde.MachineAction {
	t.Helper()
	for _, a := range s.Actions() {
		if f(a) {
			return a
		}
	}
	t.Fatalf("no action is %s", what)
	return mde.MachineAction{}
}

// plan is a generated open action's id and hidden schedule.
type plan struct {
	id    string
	sched *schedule
}

// plans returns the schedules of the generated open actions matching f.
func plans(s *Simulator, f func(sc *schedule) bool) []plan {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []plan
	for _, e := range s.entries {
		if e.sched != nil && f(e.sched) {
			out = append(out, plan{e.action.ID, e.sched})
		}
	}
	return out
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

// firstOpen returns the id of the newest open action.
func firstOpen(t *testing.T, s *Simulator) string {
	t.Helper()
	return firstWhere(t, s, "open", func(a mde.MachineAction) bool { return a.Status.Open() }).ID
}
