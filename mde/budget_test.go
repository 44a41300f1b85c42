package mde_test

// The client's rate-limit budgets (WithBudgets), against the simulator over
// real HTTP on a fake clock shared by both sides.

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/mde/mdesim"
	"github.com/mdeactions/mdeactions/mde/pace"
)

var budgetStart = time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC)

// pacedSim starts a simulator on clock with the given limits and n open
// actions of its own (no generated tenant, nothing moves by itself).
func pacedSim(t *testing.T, clock mdesim.Clock, limits []pace.Limit, n int) *mdesim.Server {
	t.Helper()
	var simLimits []mdesim.Limit
	for _, l := range limits {
		simLimits = append(simLimits, mdesim.Limit{Count: l.Count, Window: l.Window})
	}
	srv, err := mdesim.Start(mdesim.Options{Actions: -1, Clock: clock, Limits: simLimits})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	for i := range n {
		srv.Sim.Put(openAction(i))
	}
	return srv
}

func openAction(i int) mde.MachineAction {
	return mde.MachineAction{
		ID:                  fmt.Sprintf("00000000-0000-4000-8000-%012d", i),
		Type:                mde.TypeIsolate,
		Status:              mde.StatusPending,
		MachineID:           "machine-1",
		CreationDateTimeUtc: mde.Timestamp{Time: budgetStart.Add(-time.Hour)},
	}
}

func newBudgets(clock pace.Clock, limits []pace.Limit) (list, get, cancel *pace.Budget) {
	return pace.NewBudget(clock, limits...), pace.NewBudget(clock, limits...), pace.NewBudget(clock, limits...)
}

// greedyTimes is when n calls, one after another, can go under limits from
// start: each at the earliest moment every window has room.
func greedyTimes(start time.Time, limits []pace.Limit, n int) []time.Time {
	var times []time.Time
	for range n {
		at := start
		if len(times) > 0 {
			at = times[len(times)-1]
		}
		for _, l := range limits {
			if k := len(times) - l.Count; k >= 0 && times[k].Add(l.Window).After(at) {
				at = times[k].Add(l.Window)
			}
		}
		times = append(times, at)
	}
	return times
}

// A client alone, with the same limits as the server, never gets a 429,
// yet goes as fast as the limits allow; each endpoint spends its own budget.
func TestBudgetsKeepAClientAloneOutOf429s(t *testing.T) {
	clock := pace.NewFakeClock(budgetStart)
	limits := []pace.Limit{{Count: 10, Window: time.Second}, {Count: 25, Window: 10 * time.Second}}
	srv := pacedSim(t, clock, limits, 60)
	list, get, cancel := newBudgets(clock, limits)
	c, err := mde.NewClient(srv.URL, nil, mde.StaticToken("t"), mde.WithBudgets(list, get, cancel))
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go clock.AutoAdvance(ctx)

	want := greedyTimes(budgetStart, limits, 60)
	for i := range 60 {
		id := openAction(i).ID
		if _, err := c.Get(ctx, id); err != nil {
			t.Fatalf("get %d: %v", i+1, err)
		}
		if !clock.Now().Equal(want[i]) {
			t.Fatalf("get %d at %v, want %v", i+1, clock.Now().Sub(budgetStart), want[i].Sub(budgetStart))
		}
		a, err := c.Cancel(ctx, id, "paced")
		if err != nil {
			t.Fatalf("cancel %d: %v", i+1, err)
		}
		// The cancel spent its own budget: it went at the get's moment.
		if !a.CancellationDateTimeUtc().Equal(want[i]) {
			t.Fatalf("cancel %d at %v, want %v", i+1, a.CancellationDateTimeUtc().Sub(budgetStart), want[i].Sub(budgetStart))
		}
	}
	listStart := clock.Now()
	wantList := greedyTimes(listStart, limits, 30)
	for i := range 30 {
		if _, err := c.List(ctx, mde.Query{IDs: []string{openAction(i).ID}}); err != nil {
			t.Fatalf("list %d: %v", i+1, err)
		}
		if !clock.Now().Equal(wantList[i]) {
			t.Fatalf("list %d at %v after the first, want %v", i+1, clock.Now().Sub(listStart), wantList[i].Sub(listStart))
		}
	}
	for _, ep := range []string{mdesim.EndpointList, mdesim.EndpointGet, mdesim.EndpointCancel} {
		if n := srv.Sim.Throttled(ep); n != 0 {
			t.Errorf("%s: %d answers 429", ep, n)
		}
	}
	if g, c, l := srv.Sim.Requests("get"), srv.Sim.Requests("cancel"), srv.Sim.Requests("list"); g != 60 || c != 60 || l != 30 {
		t.Errorf("requests: %d gets, %d cancels, %d lists; want 60, 60, 30", g, c, l)
	}
}

// Another client of the same app+tenant spends the server's budget: our
// client gets a 429 (and does not retry it), and its next call waits for
// exactly Retry-After.
func TestA429FromAnotherClientDefersTheNextCall(t *testing.T) {
	clock := pace.NewFakeClock(budgetStart)
	limits := []pace.Limit{{Count: 5, Window: time.Minute}}
	srv := pacedSim(t, clock, limits, 10)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()

	other, _ := mde.NewClient(srv.URL, nil, mde.StaticToken("other"))
	for i := range 4 {
		if _, err := other.Cancel(ctx, openAction(i).ID, "someone else"); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(10 * time.Second)

	budget := pace.NewBudget(clock, limits...)
	c, _ := mde.NewClient(srv.URL, nil, mde.StaticToken("t"), mde.WithBudgets(nil, nil, budget))
	if _, err := c.Cancel(ctx, openAction(4).ID, "ours"); err != nil { // the server's 5th
		t.Fatal(err)
	}
	_, err := c.Cancel(ctx, openAction(5).ID, "ours")
	ra, ok := mde.RetryAfter(err)
	if !ok || ra != 50*time.Second {
		t.Fatalf("want a 429 with Retry-After 50s (the other client's calls leave at 1m), got %v", err)
	}
	if n := srv.Sim.Requests("cancel"); n != 6 {
		t.Fatalf("%d cancel requests, want 6: the client must not retry a 429", n)
	}
	if got := budget.Next(); !got.Equal(budgetStart.Add(time.Minute)) {
		t.Fatalf("budget.Next = %v, want 1m", got.Sub(budgetStart))
	}
	if u := budget.Used(); !slices.Equal(u, []int{1}) {
		t.Fatalf("budget.Used = %v, want [1]: the refused call is not counted", u)
	}

	go clock.AutoAdvance(ctx)
	a, err := c.Cancel(ctx, openAction(5).ID, "ours")
	if err != nil {
		t.Fatal(err)
	}
	if at := a.CancellationDateTimeUtc().Time; !at.Equal(budgetStart.Add(time.Minute)) {
		t.Fatalf("the next call went at %v, want exactly 1m (Retry-After)", at.Sub(budgetStart))
	}
	if n := srv.Sim.Throttled("cancel"); n != 1 {
		t.Fatalf("%d answers 429, want 1", n)
	}
}

func TestA429WithoutRetryAfterBacksOffTheDefault(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"error":{"code":"TooManyRequests","message":"slow down","target":"x"}}`))
	}))
	defer srv.Close()
	clock := pace.NewFakeClock(budgetStart)
	list, get, cancel := newBudgets(clock, pace.DefaultLimits())
	c, _ := mde.NewClient(srv.URL, nil, mde.StaticToken("t"), mde.WithBudgets(list, get, cancel))
	if _, err := c.Get(context.Background(), "a1"); err == nil {
		t.Fatal("no error for a 429")
	}
	if got := get.Next(); !got.Equal(budgetStart.Add(mde.DefaultRetryAfter)) {
		t.Fatalf("get budget Next = %v, want %v", got.Sub(budgetStart), mde.DefaultRetryAfter)
	}
	if !list.Next().Equal(budgetStart) || !cancel.Next().Equal(budgetStart) {
		t.Fatal("a 429 on get backed off another endpoint")
	}
}

type refreshingTokens struct{ refreshed atomic.Bool }

func (s *refreshingTokens) Token(context.Context) (string, error) {
	if s.refreshed.Load() {
		return "fresh", nil
	}
	return "stale", nil
}

func (s *refreshingTokens) Refresh(context.Context) (string, error) {
	s.refreshed.Store(true)
	return "fresh", nil
}

// Each request spends its own endpoint's budget, under a base URL with a
// path prefix too; the retry after a 401 spends one more.
func TestBudgetsFollowTheEndpoint(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("Authorization") != "Bearer fresh" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":{"code":"Unauthorized","message":"expired","target":"x"}}`))
			return
		}
		if r.URL.Path == "/prefix/api/machineactions" {
			_, _ = w.Write([]byte(`{"value":[]}`))
			return
		}
		_, _ = w.Write([]byte(`{"id":"a1","status":"Cancelled"}`))
	}))
	defer srv.Close()
	clock := pace.NewFakeClock(budgetStart)
	list, get, cancel := newBudgets(clock, pace.DefaultLimits())
	c, _ := mde.NewClient(srv.URL+"/prefix", nil, &refreshingTokens{}, mde.WithBudgets(list, get, cancel))
	used := func() [3]int { return [3]int{list.Used()[0], get.Used()[0], cancel.Used()[0]} }
	ctx := context.Background()

	if _, err := c.Get(ctx, "machineactions"); err != nil { // a 401, then the retry
		t.Fatal(err)
	}
	if u := used(); u != [3]int{0, 2, 0} {
		t.Fatalf("after a get with a 401 retry: list, get, cancel used %v, want [0 2 0]", u)
	}
	if _, err := c.List(ctx, mde.Query{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Cancel(ctx, "a1", "x"); err != nil {
		t.Fatal(err)
	}
	if u := used(); u != [3]int{1, 2, 1} {
		t.Fatalf("list, get, cancel used %v, want [1 2 1]", u)
	}
}
