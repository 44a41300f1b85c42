package mde_test

// Fault injection: the client against the simulator's faults, over real
// HTTP. GETs are retried, bounded; a cancel is sent once and, when its
// outcome is unknown, the re-read tells what happened.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/mde/mdesim"
	"github.com/mdeactions/mdeactions/mde/pace"
	"github.com/mdeactions/mdeactions/mde/reliability"
)

// fastRetry keeps the tests short: 3 tries, 10-40 ms apart.
var fastRetry = mde.RetryPolicy{Attempts: 3, Base: 20 * time.Millisecond, Max: 40 * time.Millisecond, MaxWait: 5 * time.Second}

// openAction is a Pending action that never moves by itself.
func putOpen(sim *mdesim.Simulator, id string) mde.MachineAction {
	a := mde.MachineAction{ID: id, Type: mde.TypeIsolate, Status: mde.StatusPending, MachineID: "m-" + id,
		ComputerDNSName: "ws-" + id, Requestor: "soc@contoso.com", CreationDateTimeUtc: mde.Timestamp{Time: t0.Add(-time.Hour)}}
	sim.Put(a)
	return a
}

func TestFaultGETIsRetried(t *testing.T) {
	cases := []mdesim.Fault{
		{Kind: mdesim.FaultReset},
		{Kind: mdesim.FaultStatus, Status: 500},
		{Kind: mdesim.FaultStatus, Status: 502},
		{Kind: mdesim.FaultStatus, Status: 503},
		{Kind: mdesim.FaultMalformed},
		{Kind: mdesim.FaultTruncated},
		{Kind: mdesim.FaultHang},
	}
	for _, f := range cases {
		f.Times = 2 // the third try gets through
		t.Run(f.String(), func(t *testing.T) {
			t.Parallel()
			srv := startSim(t, mdesim.Options{Actions: -1})
			want := putOpen(srv.Sim, "a1")
			c := newClient(t, srv.URL, mde.WithRetry(fastRetry), mde.WithRequestTimeout(300*time.Millisecond))

			for _, ep := range []string{mdesim.EndpointGet, mdesim.EndpointList} {
				f.Endpoint = ep
				srv.Sim.ClearFaults()
				srv.Sim.AddFault(f)
				before := srv.Sim.Requests(ep)
				var got []mde.MachineAction
				var err error
				if ep == mdesim.EndpointGet {
					var a mde.MachineAction
					a, err = c.Get(context.Background(), want.ID)
					got = []mde.MachineAction{a}
				} else {
					got, err = c.List(context.Background(), mde.Query{})
				}
				if err != nil {
					t.Fatalf("%s with 2 faults then an answer: %v", ep, err)
				}
				if len(got) != 1 || got[0].ID != want.ID {
					t.Fatalf("%s: got %d actions %v, want exactly %s once", ep, len(got), idsOf(got), want.ID)
				}
				if n := srv.Sim.Requests(ep) - before; n != 3 {
					t.Fatalf("%s: %d requests, want 3 (2 spoiled, then the answer)", ep, n)
				}
			}
			reliability.Record(t, reliability.Row{Area: "network", Fault: fmt.Sprintf("%s on GET (one action, and the list), twice in a row", describe(f)),
				Outcome: "retried after a back-off with jitter; the 3rd try answered; the list holds each action once"})
		})
	}
}

func describe(f mdesim.Fault) string {
	switch f.Kind {
	case mdesim.FaultReset:
		return "connection reset"
	case mdesim.FaultStatus:
		return fmt.Sprintf("HTTP %d from a gateway (HTML body)", f.Status)
	case mdesim.FaultMalformed:
		return "malformed JSON"
	case mdesim.FaultTruncated:
		return "truncated JSON (connection cut halfway)"
	case mdesim.FaultHang:
		return "no answer (hang) until the request timeout"
	case mdesim.FaultLost:
		return "request done, answer lost (connection reset)"
	}
	return string(f.Kind)
}

func TestFaultGETGivesUpAfterItsTries(t *testing.T) {
	srv := startSim(t, mdesim.Options{Actions: -1, Faults: []mdesim.Fault{{Kind: mdesim.FaultStatus, Status: 503}}})
	putOpen(srv.Sim, "a1")
	c := newClient(t, srv.URL, mde.WithRetry(fastRetry))
	_, err := c.Get(context.Background(), "a1")
	e, ok := mde.AsAPIError(err)
	if !ok || e.StatusCode != 503 {
		t.Fatalf("want the 503, got %v", err)
	}
	if e.Body == "" || strings.Contains(err.Error(), "<html>") {
		t.Fatalf("error should say the body is not a JSON error without printing it: %v", err)
	}
	if n := srv.Sim.Requests(mdesim.EndpointGet); n != fastRetry.Attempts {
		t.Fatalf("%d requests for a GET that always fails, want exactly %d", n, fastRetry.Attempts)
	}
	reliability.Record(t, reliability.Row{Area: "API", Fault: "HTTP 503 on every GET (outage)",
		Outcome: fmt.Sprintf("%d tries, then the error in plain words (503, not a JSON error); no endless loop", fastRetry.Attempts)})
}

func TestFault429RetryAfter(t *testing.T) {
	cases := []struct {
		kind     mdesim.FaultKind
		delay    time.Duration
		min, max time.Duration
	}{
		{mdesim.Fault429, time.Second, 950 * time.Millisecond, 2500 * time.Millisecond},
		// An HTTP date has whole seconds: the wait is 1 to 2 s.
		{mdesim.Fault429Date, time.Second, 500 * time.Millisecond, 3 * time.Second},
	}
	for _, tc := range cases {
		t.Run(string(tc.kind), func(t *testing.T) {
			t.Parallel()
			srv := startSim(t, mdesim.Options{Actions: -1, Faults: []mdesim.Fault{{Kind: tc.kind, Delay: tc.delay, Times: 1}}})
			putOpen(srv.Sim, "a1")
			// As the app runs it: with its rate-limit budgets, which hold
			// the retry back until Retry-After.
			clock := pace.RealClock()
			limits := []pace.Limit{{Count: 100, Window: time.Minute}}
			c := newClient(t, srv.URL, mde.WithRetry(fastRetry),
				mde.WithBudgets(pace.NewBudget(clock, limits...), pace.NewBudget(clock, limits...), pace.NewBudget(clock, limits...)))
			start := time.Now()
			if _, err := c.Get(context.Background(), "a1"); err != nil {
				t.Fatal(err)
			}
			took := time.Since(start)
			if took < tc.min || took > tc.max {
				t.Fatalf("the retry after a 429 (%s) came after %s, want %s..%s", tc.kind, took, tc.min, tc.max)
			}
			if n := srv.Sim.Requests(mdesim.EndpointGet); n != 2 {
				t.Fatalf("%d requests, want 2", n)
			}
			form := "in seconds"
			if tc.kind == mdesim.Fault429Date {
				form = "as an HTTP date"
			}
			reliability.Record(t, reliability.Row{Area: "API", Fault: "429 with Retry-After " + form + " on a GET",
				Outcome: fmt.Sprintf("the rate-limit budget held the retry %s, as asked; one retry answered", took.Round(100*time.Millisecond))})
		})
	}
}

func TestFault429StormIsNotWaitedBlindly(t *testing.T) {
	srv := startSim(t, mdesim.Options{Actions: -1, Faults: []mdesim.Fault{{Kind: mdesim.Fault429, Delay: time.Minute}}})
	putOpen(srv.Sim, "a1")
	c := newClient(t, srv.URL, mde.WithRetry(fastRetry))
	start := time.Now()
	_, err := c.Get(context.Background(), "a1")
	ra, ok := mde.RetryAfter(err)
	if !ok || ra != time.Minute {
		t.Fatalf("want a 429 error with Retry-After 1m, got %v", err)
	}
	if took := time.Since(start); took > 2*time.Second || srv.Sim.Requests(mdesim.EndpointGet) != 1 {
		t.Fatalf("a 429 asking for 1m (above MaxWait) must go back to the caller at once: took %s, %d requests", took, srv.Sim.Requests(mdesim.EndpointGet))
	}
	reliability.Record(t, reliability.Row{Area: "API", Fault: "429 storm (every request, Retry-After 60 s)",
		Outcome: "not retried past the 30 s cap: the caller is told how long to wait, and the budget holds every request back until then"})
}

// TestFaultCancelIsSentOnce: whatever goes wrong, the client sends a cancel
// once; OutcomeUnknown says when a re-read is needed, and the re-read shows
// what really happened.
func TestFaultCancelIsSentOnce(t *testing.T) {
	cases := []struct {
		fault   mdesim.Fault
		applied bool // the server did the cancel
		unknown bool // the client cannot tell without a re-read
	}{
		{mdesim.Fault{Kind: mdesim.FaultReset}, false, true},
		{mdesim.Fault{Kind: mdesim.FaultHang}, false, true},
		{mdesim.Fault{Kind: mdesim.FaultStatus, Status: 502}, false, true},
		{mdesim.Fault{Kind: mdesim.FaultStatus, Status: 503}, false, true},
		{mdesim.Fault{Kind: mdesim.FaultMalformed}, true, true},
		{mdesim.Fault{Kind: mdesim.FaultTruncated}, true, true},
		{mdesim.Fault{Kind: mdesim.FaultLost}, true, true},
		{mdesim.Fault{Kind: mdesim.Fault429, Delay: time.Second}, false, false},
	}
	for _, tc := range cases {
		f := tc.fault
		f.Endpoint, f.Times = mdesim.EndpointCancel, 1
		t.Run(f.String(), func(t *testing.T) {
			t.Parallel()
			srv := startSim(t, mdesim.Options{Actions: -1, Faults: []mdesim.Fault{f}})
			putOpen(srv.Sim, "a1")
			c := newClient(t, srv.URL, mde.WithRetry(fastRetry), mde.WithRequestTimeout(300*time.Millisecond))
			comment := "IR-" + string(f.Kind)
			_, err := c.Cancel(context.Background(), "a1", comment)
			if err == nil {
				t.Fatal("the cancel's answer was spoiled, yet no error")
			}
			if n := srv.Sim.Requests(mdesim.EndpointCancel); n != 1 {
				t.Fatalf("the cancel was sent %d times, want once", n)
			}
			if got := mde.OutcomeUnknown(err); got != tc.unknown {
				t.Fatalf("OutcomeUnknown(%v) = %v, want %v", err, got, tc.unknown)
			}
			// The re-read (a GET: retried if need be) tells the truth.
			a, rerr := c.Get(context.Background(), "a1")
			if rerr != nil {
				t.Fatal(rerr)
			}
			cancelled := a.Status == mde.StatusCancelled
			if cancelled != tc.applied {
				t.Fatalf("re-read says %s; the server applied it: %v", a.Status, tc.applied)
			}
			lost := 0
			if cancelled && a.CancellationComment() != comment {
				lost++
				t.Errorf("comment lost: %q", a.CancellationComment())
			}
			outcome := "sent once; error says the answer is unknown; the re-read shows "
			if cancelled {
				outcome += "Cancelled with the comment"
			} else {
				outcome += "Pending: not applied, the comment is kept for a retry"
			}
			if !tc.unknown {
				outcome = "sent once; refused (not applied), the caller waits Retry-After before sending it again"
			}
			reliability.Record(t, reliability.Row{Area: "network", Fault: describe(f) + " on a cancel", Outcome: outcome,
				Lost: lost, SentTwice: srv.Sim.Requests(mdesim.EndpointCancel) - 1})
		})
	}
}

// refresher hands out token-1, token-2, … and counts refreshes.
type refresher struct {
	mu sync.Mutex
	n  int
}

func (r *refresher) Token(context.Context) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return fmt.Sprintf("token-%d-0123456789", r.n+1), nil
}

func (r *refresher) Refresh(context.Context) (string, error) {
	r.mu.Lock()
	r.n++
	r.mu.Unlock()
	return r.Token(context.Background())
}

func TestFaultTokenExpiresMidSession(t *testing.T) {
	// The 3rd request (the cancel) finds its token expired.
	srv := startSim(t, mdesim.Options{Actions: -1, Faults: []mdesim.Fault{{Kind: mdesim.FaultExpire, After: 2, Times: 1}}})
	putOpen(srv.Sim, "a1")
	ts := &refresher{}
	c, err := mde.NewClient(srv.URL, nil, ts, mde.WithRetry(fastRetry))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.List(ctx, mde.Query{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, "a1"); err != nil {
		t.Fatal(err)
	}
	a, err := c.Cancel(ctx, "a1", "token expired meanwhile")
	if err != nil {
		t.Fatalf("a 401 mid-session should be met with one refresh and one retry: %v", err)
	}
	if a.Status != mde.StatusCancelled || ts.n != 1 {
		t.Fatalf("status %s after %d refreshes", a.Status, ts.n)
	}
	// The old token stays refused; the new one works.
	if _, err := c.Get(ctx, "a1"); err != nil {
		t.Fatal(err)
	}
	applied := srv.Sim.Requests(mdesim.EndpointCancel) - srv.Sim.Injected(mdesim.FaultExpire)
	if applied != 1 {
		t.Fatalf("%d cancels reached the API's logic, want 1", applied)
	}
	reliability.Record(t, reliability.Row{Area: "auth", Fault: "token expires mid-session (401 on a cancel)",
		Outcome: "one silent refresh, the cancel re-sent once (a 401 is never applied): Cancelled, applied once"})
}

func TestFaultLatencyWithinTimeout(t *testing.T) {
	srv := startSim(t, mdesim.Options{Actions: -1, Faults: []mdesim.Fault{{Kind: mdesim.FaultLatency, Delay: 150 * time.Millisecond}}})
	putOpen(srv.Sim, "a1")
	c := newClient(t, srv.URL, mde.WithRetry(fastRetry), mde.WithRequestTimeout(time.Second))
	a, err := c.Cancel(context.Background(), "a1", "slow network")
	if err != nil || a.Status != mde.StatusCancelled {
		t.Fatalf("a slow answer within the timeout: %v, %s", err, a.Status)
	}
	if n := srv.Sim.Requests(mdesim.EndpointCancel); n != 1 {
		t.Fatalf("%d cancels", n)
	}
	reliability.Record(t, reliability.Row{Area: "network", Fault: "latency 150 ms on every request (timeout 1 s)",
		Outcome: "answers arrive late; the cancel is sent once and reads Cancelled"})
}

func TestFaultTimeoutIsPlain(t *testing.T) {
	srv := startSim(t, mdesim.Options{Actions: -1, Faults: []mdesim.Fault{{Kind: mdesim.FaultHang}}})
	putOpen(srv.Sim, "a1")
	c := newClient(t, srv.URL, mde.WithRequestTimeout(200*time.Millisecond))
	start := time.Now()
	_, err := c.Get(context.Background(), "a1")
	if !errors.Is(err, mde.ErrTimeout) || !strings.Contains(err.Error(), "no answer within 200ms") {
		t.Fatalf("want a plain time-out error, got %v", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("the request timeout did not cut the hang: %s", took)
	}
}

func TestFaultEchoedTokenIsRedacted(t *testing.T) {
	srv := startSim(t, mdesim.Options{Actions: -1, Faults: []mdesim.Fault{{Kind: mdesim.FaultEchoAuth}}})
	putOpen(srv.Sim, "a1")
	c := newClient(t, srv.URL)
	_, err := c.Cancel(context.Background(), "a1", "x")
	if err == nil || strings.Contains(err.Error(), contractToken) || !strings.Contains(err.Error(), "[redacted]") {
		t.Fatalf("the echoed token must be redacted: %v", err)
	}
	reliability.Record(t, reliability.Row{Area: "secrets", Fault: "an error body that echoes the Authorization header",
		Outcome: "the token is replaced by [redacted] in the error"})
}

func TestParseFault(t *testing.T) {
	for _, spec := range []string{"latency=2s", "reset,on=get", "hang", "503,on=cancel,times=2", "429=3s,times=5,after=1",
		"429-date=2s", "malformed", "truncated,on=list", "expire-token,after=10", "lost-answer,on=cancel,times=1", "echo-auth", "500", "502"} {
		f, err := mdesim.ParseFault(spec)
		if err != nil {
			t.Fatalf("%s: %v", spec, err)
		}
		if f.String() != spec {
			t.Fatalf("ParseFault(%q).String() = %q", spec, f.String())
		}
	}
	for _, bad := range []string{"", "boom", "latency", "429", "503,on=machines", "reset,times=-1", "reset,color=red"} {
		if _, err := mdesim.ParseFault(bad); err == nil {
			t.Fatalf("ParseFault(%q) accepted", bad)
		}
	}
}
