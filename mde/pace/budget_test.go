package pace

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var t0 = time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC)

// waitN makes n calls one after another on a fake clock that advances
// whenever the caller sleeps, and returns the time of each call.
func waitN(t *testing.T, clock *FakeClock, b *Budget, n int) []time.Time {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go clock.AutoAdvance(ctx)
	times := make([]time.Time, n)
	for i := range times {
		if err := b.Wait(ctx); err != nil {
			t.Fatalf("call %d: %v", i+1, err)
		}
		times[i] = clock.Now()
	}
	return times
}

// checkLimits fails if any window of any limit holds more than Count calls.
func checkLimits(t *testing.T, times []time.Time, limits []Limit) {
	t.Helper()
	times = slices.Clone(times)
	slices.SortFunc(times, time.Time.Compare)
	for _, l := range limits {
		for i := 0; i+l.Count < len(times); i++ {
			if gap := times[i+l.Count].Sub(times[i]); gap < l.Window {
				t.Fatalf("limit %v exceeded: calls %d and %d are %v apart", l, i+1, i+l.Count+1, gap)
			}
		}
	}
}

func TestDefaultLimits(t *testing.T) {
	if got := FormatLimits(DefaultLimits()); got != "100/1m,1500/1h" {
		t.Fatalf("DefaultLimits = %s", got)
	}
}

func TestParseLimits(t *testing.T) {
	good := map[string][]Limit{
		"100/1m,1500/1h":      {{100, time.Minute}, {1500, time.Hour}},
		"100/2s,1500/30s":     {{100, 2 * time.Second}, {1500, 30 * time.Second}},
		" 10 / m , 25/1m30s ": {{10, time.Minute}, {25, 90 * time.Second}},
		"5/250ms":             {{5, 250 * time.Millisecond}},
		"100/h":               {{100, time.Hour}},
	}
	for in, want := range good {
		got, err := ParseLimits(in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("ParseLimits(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	bad := map[string]string{
		"":          "no rate limits",
		"100":       "want COUNT/WINDOW",
		"100/1m,":   "want COUNT/WINDOW",
		"x/1m":      "not a positive whole number",
		"0/1m":      "not a positive whole number",
		"-5/1m":     "not a positive whole number",
		"100/":      "not a positive duration",
		"100/0s":    "not a positive duration",
		"100/-1m":   "not a positive duration",
		"100/1 min": "not a positive duration",
	}
	for in, want := range bad {
		if _, err := ParseLimits(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseLimits(%q) error = %v, want one saying %q", in, err, want)
		}
	}
	for _, s := range []string{"100/1m,1500/1h", "100/2s,1500/30s", "7/1.5s"} {
		l, err := ParseLimits(s)
		if err != nil || FormatLimits(l) != s {
			t.Errorf("round trip of %q: %q, %v", s, FormatLimits(l), err)
		}
	}
}

// 250 calls under 100/min and 1,500/h: 1–100 at 0, 101–200 at 1m, 201–250 at 2m.
func TestPacingReachesTheLowerBound(t *testing.T) {
	clock := NewFakeClock(t0)
	b := NewBudget(clock, DefaultLimits()...)
	times := waitN(t, clock, b, 250)
	for i, at := range times {
		if want := t0.Add(time.Duration(i/100) * time.Minute); !at.Equal(want) {
			t.Fatalf("call %d at %v, want %v", i+1, at.Sub(t0), want.Sub(t0))
		}
	}
	checkLimits(t, times, DefaultLimits())
	if u := b.Used(); !slices.Equal(u, []int{50, 250}) {
		t.Errorf("Used = %v, want [50 250]", u)
	}
}

// 1,600 calls: 100 a minute for 15 minutes fills the hour; the 1,501st
// waits for the first minute's calls to leave the hour window, at 60m.
func TestPacingRespectsTheHourlyLimit(t *testing.T) {
	clock := NewFakeClock(t0)
	b := NewBudget(clock, DefaultLimits()...)
	times := waitN(t, clock, b, 1600)
	for i, at := range times {
		want := t0.Add(time.Duration(i/100) * time.Minute)
		if i >= 1500 {
			want = t0.Add(time.Hour)
		}
		if !at.Equal(want) {
			t.Fatalf("call %d at %v, want %v", i+1, at.Sub(t0), want.Sub(t0))
		}
	}
	checkLimits(t, times, DefaultLimits())
}

func TestBackoffDefersTheNextCallExactly(t *testing.T) {
	clock := NewFakeClock(t0)
	b := NewBudget(clock, DefaultLimits()...)
	ctx := context.Background()
	if err := b.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	clock.Advance(5 * time.Second)
	b.Backoff(30 * time.Second) // the call at t0 got a 429
	if got := b.Next(); !got.Equal(t0.Add(35 * time.Second)) {
		t.Fatalf("Next = %v, want 35s", got.Sub(t0))
	}
	if u := b.Used(); !slices.Equal(u, []int{0, 0}) {
		t.Fatalf("Used = %v after the 429: the refused call must leave the windows", u)
	}

	done := make(chan time.Time)
	go func() {
		if err := b.Wait(ctx); err != nil {
			t.Error(err)
		}
		done <- clock.Now()
	}()
	if err := clock.BlockUntil(ctx, 1); err != nil {
		t.Fatal(err)
	}
	clock.Advance(30*time.Second - time.Nanosecond) // 1 ns short of the back-off's end
	if n := clock.Sleepers(); n != 1 {
		t.Fatalf("the call went out before the back-off ended (%d sleepers)", n)
	}
	clock.Advance(time.Nanosecond)
	if at := <-done; !at.Equal(t0.Add(35 * time.Second)) {
		t.Fatalf("the call went at %v, want 35s", at.Sub(t0))
	}
}

func TestBackoffKeepsTheLongerOne(t *testing.T) {
	clock := NewFakeClock(t0)
	b := NewBudget(clock, DefaultLimits()...)
	b.Backoff(time.Minute)
	b.Backoff(10 * time.Second)
	if got := b.Next(); !got.Equal(t0.Add(time.Minute)) {
		t.Fatalf("Next = %v, want 1m", got.Sub(t0))
	}
	clock.Advance(20 * time.Second)
	b.Backoff(time.Minute) // now ends later than the first: it wins
	if got := b.Next(); !got.Equal(t0.Add(80 * time.Second)) {
		t.Fatalf("Next = %v, want 1m20s", got.Sub(t0))
	}
}

func TestNextAndUsed(t *testing.T) {
	clock := NewFakeClock(t0)
	b := NewBudget(clock, Limit{3, 10 * time.Second}, Limit{5, time.Minute})
	ctx := context.Background()
	if !b.Next().Equal(t0) {
		t.Fatalf("Next of a fresh budget = %v", b.Next())
	}
	for range 3 {
		if err := b.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Second)
	}
	// Calls at 0, 1s, 2s; now 3s.
	if u := b.Used(); !slices.Equal(u, []int{3, 3}) {
		t.Fatalf("Used = %v", u)
	}
	if got := b.Next(); !got.Equal(t0.Add(10 * time.Second)) {
		t.Fatalf("Next = %v, want 10s", got.Sub(t0))
	}
	clock.Advance(7 * time.Second) // 10s: the call at 0 has left
	if u := b.Used(); !slices.Equal(u, []int{2, 3}) {
		t.Fatalf("Used at 10s = %v", u)
	}
	if !b.Next().Equal(clock.Now()) {
		t.Fatalf("Next at 10s = %v, want now", b.Next().Sub(t0))
	}
}

func TestWaitGivesUpWithTheContext(t *testing.T) {
	clock := NewFakeClock(t0)
	b := NewBudget(clock, Limit{1, time.Minute})
	if err := b.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() { errc <- b.Wait(ctx) }()
	if err := clock.BlockUntil(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait = %v, want context.Canceled", err)
	}
	if clock.Sleepers() != 0 {
		t.Fatal("the cancelled sleeper is still registered")
	}
	if u := b.Used(); u[0] != 1 {
		t.Fatalf("Used = %v: a cancelled Wait must record nothing", u)
	}
}

// Many goroutines waiting at once never exceed a limit, and still finish
// at the lower bound. Time moves only when every unfinished caller sleeps.
func TestConcurrentWaitersNeverExceedALimit(t *testing.T) {
	for _, limits := range [][]Limit{DefaultLimits(), {{7, time.Second}, {20, 10 * time.Second}}} {
		clock := NewFakeClock(t0)
		b := NewBudget(clock, limits...)
		const n = 250
		var (
			mu       sync.Mutex
			times    []time.Time
			finished atomic.Int64
			wg       sync.WaitGroup
		)
		for range n {
			wg.Go(func() {
				if err := b.Wait(context.Background()); err != nil {
					t.Error(err)
				}
				mu.Lock()
				times = append(times, clock.Now())
				mu.Unlock()
				finished.Add(1)
			})
		}
		// Sleepers only grow, and finished only grows, until we advance:
		// when they add up to n, everybody is asleep or done.
		for finished.Load() < n {
			if clock.Sleepers()+int(finished.Load()) == n {
				clock.AdvanceToNext()
			} else {
				runtime.Gosched()
			}
		}
		wg.Wait()
		checkLimits(t, times, limits)
		last := slices.MaxFunc(times, time.Time.Compare)
		want := lowerBound(limits, n)
		if !last.Equal(want) {
			t.Errorf("limits %s: last call at %v, want %v", FormatLimits(limits), last.Sub(t0), want.Sub(t0))
		}
	}
}

// lowerBound is the time of call n (1-based) under greedy pacing from t0,
// computed independently of Budget: each call goes at the earliest time
// every window has room.
func lowerBound(limits []Limit, n int) time.Time {
	var times []time.Time
	for range n {
		at := t0
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
	return times[n-1]
}

func TestNilBudgetNeverWaits(t *testing.T) {
	var b *Budget
	if err := b.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	b.Backoff(time.Hour)
	if !b.Next().IsZero() || b.Used() != nil || b.Limits() != nil {
		t.Fatal("a nil budget reports something")
	}
}

func TestFakeClock(t *testing.T) {
	clock := NewFakeClock(t0)
	if clock.AdvanceToNext() {
		t.Fatal("AdvanceToNext with no sleepers moved the clock")
	}
	if err := clock.Sleep(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	woke := make(chan time.Time, 2)
	for _, d := range []time.Duration{3 * time.Second, time.Second} {
		go func() {
			_ = clock.Sleep(context.Background(), d)
			woke <- clock.Now()
		}()
	}
	if err := clock.BlockUntil(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	clock.AdvanceToNext()
	if at := <-woke; !at.Equal(t0.Add(time.Second)) || clock.Sleepers() != 1 {
		t.Fatalf("first wake at %v with %d sleepers left", at.Sub(t0), clock.Sleepers())
	}
	clock.Advance(5 * time.Second)
	if at := <-woke; !at.Equal(t0.Add(6 * time.Second)) {
		t.Fatalf("second wake at %v", at.Sub(t0))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	if err := clock.BlockUntil(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("BlockUntil with nobody asleep = %v", err)
	}
}

func TestRealClock(t *testing.T) {
	c := RealClock()
	start := time.Now()
	if err := c.Sleep(context.Background(), time.Millisecond); err != nil || time.Since(start) < time.Millisecond {
		t.Fatalf("Sleep(1ms) = %v after %v", err, time.Since(start))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep with a done context = %v", err)
	}
	b := NewBudget(nil, Limit{1, time.Hour})
	if err := b.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := b.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait on a real clock with a done context = %v", err)
	}
}

// A call counts from when its answer came: latency between our clock and
// the server's can then never make pacing at the limit draw a 429.
func TestAnsweredCountsFromTheAnswer(t *testing.T) {
	start := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	clock := NewFakeClock(start)
	b := NewBudget(clock, Limit{Count: 2, Window: 2 * time.Second})
	ctx := context.Background()
	t1, _ := b.Take(ctx)
	t2, _ := b.Take(ctx)
	clock.Advance(300 * time.Millisecond) // the answers take 300 ms
	b.Answered(t1)
	b.Answered(t2)
	if got, want := b.Next(), start.Add(2300*time.Millisecond); !got.Equal(want) {
		t.Fatalf("next call at %v, want %v: two seconds after the answers, not the sends", got.Sub(start), want.Sub(start))
	}
	// A refused call is not counted, and the back-off holds.
	clock.Advance(10*time.Second - 300*time.Millisecond)
	t3, _ := b.Take(ctx)
	b.Refused(t3, 5*time.Second)
	if used := b.Used()[0]; used != 0 {
		t.Fatalf("%d calls counted after a 429, want 0", used)
	}
	if got, want := b.Next(), start.Add(15*time.Second); !got.Equal(want) {
		t.Fatalf("next call at %v after a 429 with Retry-After 5s, want %v", got.Sub(start), want.Sub(start))
	}
}
