package mdesim

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

func TestRateLimit429AndRecovery(t *testing.T) {
	s, clock := newTestSim(t, Options{Seed: 30, Actions: -1, Limits: []Limit{{3, time.Minute}}})
	get := func() int { return do(t, s, http.MethodGet, "/api/machineactions", "").Code }

	for i := range 3 {
		if code := get(); code != http.StatusOK {
			t.Fatalf("request %d: %d", i, code)
		}
		clock.Advance(10 * time.Second) // at 0s, 10s, 20s
	}
	// Now 30s: the oldest request leaves the window at 60s.
	rec := do(t, s, http.MethodGet, "/api/machineactions", "")
	wantError(t, rec, http.StatusTooManyRequests, "TooManyRequests", "Rate limit is exceeded. Try again in 30 seconds.")
	if got := rec.Header().Get("Retry-After"); got != "30" {
		t.Errorf("Retry-After = %q, want 30", got)
	}
	// Rounded up to whole seconds.
	clock.Advance(500 * time.Millisecond)
	if got := do(t, s, http.MethodGet, "/api/machineactions", "").Header().Get("Retry-After"); got != "30" {
		t.Errorf("Retry-After at 30.5s = %q, want 30 (29.5 rounded up)", got)
	}
	// 429s consume nothing: after the wait exactly one request fits again.
	clock.Set(testStart.Add(60 * time.Second))
	if code := get(); code != http.StatusOK {
		t.Fatalf("after the wait: %d", code)
	}
	if code := get(); code != http.StatusTooManyRequests {
		t.Fatalf("second request after the wait: %d, want 429", code)
	}
	if got, want := s.Throttled(EndpointList), 3; got != want {
		t.Errorf("Throttled(list) = %d, want %d", got, want)
	}
	if got, want := s.Requests(EndpointList), 7; got != want {
		t.Errorf("Requests(list) = %d, want %d", got, want)
	}
	// Full recovery once the window has passed.
	clock.Advance(time.Minute)
	for range 3 {
		if code := get(); code != http.StatusOK {
			t.Fatalf("after recovery: %d", code)
		}
	}
}

func TestRateLimitDefaultsPerMinuteAndHour(t *testing.T) {
	s, clock := newTestSim(t, Options{Seed: 31, Actions: -1, Limits: DefaultLimits()})
	get := func() *http.Response {
		rec := do(t, s, http.MethodGet, "/api/machineactions?$top=0", "")
		return rec.Result()
	}
	// 100 a minute, for 15 minutes: 1,500 requests, all accepted.
	for m := range 15 {
		for i := range 100 {
			if r := get(); r.StatusCode != http.StatusOK {
				t.Fatalf("minute %d request %d: %d", m, i, r.StatusCode)
			}
		}
		r := get() // the 101st of the minute
		if r.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("minute %d: 101st request got %d", m, r.StatusCode)
		}
		ra, _ := strconv.Atoi(r.Header.Get("Retry-After"))
		// The longer wait wins; in the 15th minute the hour budget is spent
		// too and lasts until 60 minutes after the first minute.
		if m < 14 && (ra < 1 || ra > 60) || m == 14 && ra != 46*60 {
			t.Fatalf("minute %d: Retry-After %d", m, ra)
		}
		clock.Advance(time.Minute)
	}
	// The hour budget is spent: the wait is until the first minute's
	// requests leave the hour window, 45 minutes from now.
	r := get()
	if r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("after 1,500 in 15 minutes: %d, want 429", r.StatusCode)
	}
	if got := r.Header.Get("Retry-After"); got != strconv.Itoa(45*60) {
		t.Errorf("Retry-After = %s, want %d", got, 45*60)
	}
	clock.Advance(45 * time.Minute)
	if r := get(); r.StatusCode != http.StatusOK {
		t.Errorf("after 45 minutes: %d", r.StatusCode)
	}
}

func TestRateLimitPerEndpoint(t *testing.T) {
	s, _ := newTestSim(t, Options{Seed: 32, Limits: []Limit{{2, time.Minute}}})
	open := firstOpen(t, s)
	for range 2 {
		do(t, s, http.MethodGet, "/api/machineactions?$top=1", "")
	}
	if code := do(t, s, http.MethodGet, "/api/machineactions?$top=1", "").Code; code != http.StatusTooManyRequests {
		t.Fatalf("list: %d, want 429", code)
	}
	// get and cancel have their own budgets.
	for i := range 2 {
		if code := do(t, s, http.MethodGet, "/api/machineactions/"+open, "").Code; code != http.StatusOK {
			t.Errorf("get %d: %d", i, code)
		}
	}
	if code := do(t, s, http.MethodGet, "/api/machineactions/"+open, "").Code; code != http.StatusTooManyRequests {
		t.Errorf("third get: %d, want 429", code)
	}
	if code := do(t, s, http.MethodPost, "/api/machineactions/"+open+"/cancel", `{"Comment":"x"}`).Code; code != http.StatusOK {
		t.Errorf("cancel: %d", code)
	}
	if s.Throttled(EndpointList) != 1 || s.Throttled(EndpointGet) != 1 || s.Throttled(EndpointCancel) != 0 {
		t.Errorf("throttled list/get/cancel = %d/%d/%d", s.Throttled(EndpointList), s.Throttled(EndpointGet), s.Throttled(EndpointCancel))
	}
	// Unauthenticated requests spend no budget.
	s2, _ := newTestSim(t, Options{Seed: 32, Actions: -1, Limits: []Limit{{1, time.Minute}}})
	for range 5 {
		req, _ := http.NewRequest(http.MethodGet, "/api/machineactions", nil)
		s2.ServeHTTP(newRecorder(), req)
	}
	if code := do(t, s2, http.MethodGet, "/api/machineactions", "").Code; code != http.StatusOK {
		t.Errorf("after 401s: %d", code)
	}
}

func TestNoLimits(t *testing.T) {
	s, _ := newTestSim(t, Options{Seed: 33, Actions: -1, NoLimits: true, Limits: []Limit{{1, time.Hour}}})
	for i := range 300 {
		if code := do(t, s, http.MethodGet, "/api/machineactions", "").Code; code != http.StatusOK {
			t.Fatalf("request %d: %d", i, code)
		}
	}
	if s.Throttled(EndpointList) != 0 {
		t.Error("throttled with NoLimits")
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	for _, c := range []struct {
		wait time.Duration
		want int
	}{{time.Nanosecond, 1}, {time.Second, 1}, {1001 * time.Millisecond, 2}, {59 * time.Second, 59}, {0, 1}} {
		if got := retryAfterSeconds(c.wait); got != c.want {
			t.Errorf("retryAfterSeconds(%v) = %d, want %d", c.wait, got, c.want)
		}
	}
}

func TestLimiterClockSetBack(t *testing.T) {
	l := newLimiter([]Limit{{2, time.Minute}})
	l.allow(testStart.Add(30 * time.Second))
	l.allow(testStart) // clock set back: still counted, kept in order
	if wait := l.allow(testStart.Add(10 * time.Second)); wait != 50*time.Second {
		t.Errorf("wait %v, want 50s (until the request at 0s leaves)", wait)
	}
}
