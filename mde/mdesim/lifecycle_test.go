package mdesim

import (
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/mdeactions/mdeactions/mde"
)

func TestManualClock(t *testing.T) {
	c := NewManualClock(testStart)
	c.Advance(90 * time.Second)
	if got := c.Now(); !got.Equal(testStart.Add(90 * time.Second)) {
		t.Errorf("after Advance: %v", got)
	}
	c.Set(testStart)
	if got := c.Now(); !got.Equal(testStart) {
		t.Errorf("after Set: %v", got)
	}
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				c.Advance(time.Millisecond)
				c.Now()
			}
		}()
	}
	wg.Wait()
	if got := c.Now().Sub(testStart); got != time.Second {
		t.Errorf("concurrent advances sum to %v, want 1s", got)
	}
}

func TestQuietPeriodAfterStart(t *testing.T) {
	first10, later := 0, 0
	for seed := int64(40); seed < 46; seed++ {
		s, clock := newTestSim(t, Options{Seed: seed})
		before := mustJSON(t, s.Actions())
		for _, p := range plans(s, func(*schedule) bool { return true }) {
			next := p.sched.nextAfter(testStart).Sub(testStart)
			if next <= quietPeriod {
				t.Errorf("seed %d: %s: next transition %v after start", seed, p.id, next)
			}
			if next <= 10*time.Minute {
				first10++
			}
			if next > time.Hour {
				later++
			}
		}
		clock.Advance(quietPeriod)
		if after := mustJSON(t, s.Actions()); string(after) != string(before) {
			t.Errorf("seed %d: something changed within the first 120 seconds", seed)
		}
		clock.Advance(10*time.Minute - quietPeriod)
		if after := mustJSON(t, s.Actions()); string(after) == string(before) {
			t.Errorf("seed %d: nothing changed in the first 10 minutes", seed)
		}
	}
	// A few transitions in the first 10 minutes, most spread over hours.
	if first10 < 6*3 || later < 6*30 {
		t.Errorf("%d transitions in the first 10 minutes, %d after an hour (6 tenants)", first10, later)
	}
}

func TestPendingToInProgressToOutcome(t *testing.T) {
	for _, outcome := range []mde.ActionStatus{mde.StatusSucceeded, mde.StatusFailed} {
		s, clock := newTestSim(t, Options{Seed: 41})
		ps := plans(s, func(sc *schedule) bool {
			return sc.base.Type != mde.TypeLiveResponse && sc.pickedUp() && sc.pickupAt.After(testStart) && sc.outcome == outcome
		})
		if len(ps) == 0 {
			t.Fatalf("no Pending action scheduled to end %s", outcome)
		}
		p := ps[0]
		a, _ := s.Action(p.id)
		if a.Status != mde.StatusPending {
			t.Fatalf("status at start %s", a.Status)
		}

		clock.Set(p.sched.pickupAt.Add(-tick))
		if a, _ := s.Action(p.id); a.Status != mde.StatusPending {
			t.Errorf("just before pickup: %s", a.Status)
		}
		clock.Set(p.sched.pickupAt)
		a = getAction(t, s, p.id)
		if a.Status != mde.StatusInProgress || !a.LastUpdateDateTimeUtc.Equal(p.sched.pickupAt) {
			t.Errorf("at pickup: %s, last update %v, want InProgress at %v", a.Status, a.LastUpdateDateTimeUtc, p.sched.pickupAt)
		}
		clock.Set(p.sched.finishAt.Add(time.Hour))
		a = getAction(t, s, p.id)
		if a.Status != outcome || !a.LastUpdateDateTimeUtc.Equal(p.sched.finishAt) {
			t.Errorf("after finish: %s at %v, want %s at %v", a.Status, a.LastUpdateDateTimeUtc, outcome, p.sched.finishAt)
		}
		if outcome == mde.StatusSucceeded && a.ErrorHResult() != 0 {
			t.Errorf("succeeded with errorHResult %d", a.ErrorHResult())
		}
		if !a.CancellationDateTimeUtc().IsZero() || a.CancellationRequestor() != "" {
			t.Error("cancellation fields set on a finished action")
		}
	}
}

func TestPendingTimesOutAfterThreeDays(t *testing.T) {
	s, clock := newTestSim(t, Options{Seed: 42})
	ps := plans(s, func(sc *schedule) bool { return !sc.pickedUp() })
	if len(ps) < 5 {
		t.Fatalf("only %d actions never picked up", len(ps))
	}
	p := ps[0]
	created := p.sched.base.CreationDateTimeUtc.Time
	if !p.sched.timeoutAt.Equal(created.Add(72 * time.Hour)) {
		t.Fatalf("timeout at %v, created %v", p.sched.timeoutAt, created)
	}
	clock.Set(created.Add(72*time.Hour - tick))
	if a, _ := s.Action(p.id); a.Status != mde.StatusPending {
		t.Errorf("just before 3 days: %s", a.Status)
	}
	clock.Set(created.Add(72 * time.Hour))
	a := getAction(t, s, p.id)
	if a.Status != mde.StatusTimeOut || !a.LastUpdateDateTimeUtc.Equal(created.Add(72*time.Hour)) {
		t.Errorf("after 3 days: %s at %v", a.Status, a.LastUpdateDateTimeUtc)
	}
	// The planted duplicates are among them: they stay Pending for the demo.
	planted := 0
	for _, p := range ps {
		if p.sched.base.ComputerDNSName == "ws-fin-0231.contoso.local" && p.sched.base.Type == mde.TypeIsolate {
			planted++
		}
	}
	if planted != 2 {
		t.Errorf("%d planted Isolate duplicates never picked up, want 2", planted)
	}
}

func TestEverythingEndsWithinThreeDays(t *testing.T) {
	s, clock := newTestSim(t, Options{Seed: 43})
	clock.Advance(73 * time.Hour)
	for _, a := range s.Actions() {
		if a.Status.Open() {
			t.Fatalf("%s (%s, created %v) still %s after 73h", a.ID, a.Type, a.CreationDateTimeUtc, a.Status)
		}
	}
	counts := map[mde.ActionStatus]int{}
	for _, a := range s.Actions() {
		counts[a.Status]++
	}
	if counts[mde.StatusTimeOut] < 30 || counts[mde.StatusSucceeded] < 200 {
		t.Errorf("final statuses after 73h: %v", counts)
	}
	if !s.nextEvent.IsZero() {
		t.Errorf("a transition is still scheduled at %v", s.nextEvent)
	}
}

func TestLiveResponseCommandsMove(t *testing.T) {
	s, clock := newTestSim(t, Options{Seed: 44})
	ps := plans(s, func(sc *schedule) bool {
		return sc.base.Type == mde.TypeLiveResponse && sc.pickedUp() && sc.pickupAt.After(testStart) &&
			sc.outcome == mde.StatusSucceeded && len(sc.ends) >= 2
	})
	if len(ps) == 0 {
		t.Fatal("no Pending multi-command live response")
	}
	p := ps[0]
	status := func(a mde.MachineAction) []string {
		var out []string
		for _, c := range a.Commands() {
			out = append(out, c.CommandStatus)
		}
		return out
	}
	a, _ := s.Action(p.id)
	for _, c := range a.Commands() {
		if c.CommandStatus != "Created" || !c.StartTime.IsZero() {
			t.Errorf("pending: command %+v", c)
		}
	}
	clock.Set(p.sched.pickupAt)
	a = getAction(t, s, p.id)
	if got := status(a); got[0] != "Executing" || got[1] != "Created" || !a.Commands()[0].StartTime.Equal(p.sched.pickupAt) {
		t.Errorf("at pickup: %v", got)
	}
	clock.Set(p.sched.ends[0])
	a = getAction(t, s, p.id)
	if got := status(a); got[0] != "Completed" || got[1] != "Executing" || a.Status != mde.StatusInProgress {
		t.Errorf("after the first command: %s %v", a.Status, got)
	}
	if !a.LastUpdateDateTimeUtc.Equal(p.sched.ends[0]) || !a.Commands()[0].EndTime.Equal(p.sched.ends[0]) {
		t.Error("lastUpdateDateTimeUtc/endTime did not move with the command")
	}
	// Cancelling now leaves the completed command: the known race.
	rec := do(t, s, http.MethodPost, "/api/machineactions/"+p.id+"/cancel", `{"Comment":"enough"}`)
	var c mde.MachineAction
	if err := json.Unmarshal(rec.Body.Bytes(), &c); err != nil || !c.CompletedBeforeCancel() {
		t.Errorf("cancel: %d %v, CompletedBeforeCancel %v", rec.Code, err, c.CompletedBeforeCancel())
	}
	clock.Set(p.sched.finishAt.Add(time.Hour))
	if a, _ := s.Action(p.id); a.Status != mde.StatusCancelled || status(a)[1] != "Executing" {
		t.Errorf("after the schedule's end: %s %v", a.Status, status(a))
	}
}

func TestFailedLiveResponseHasErrors(t *testing.T) {
	s, clock := newTestSim(t, Options{Seed: 45})
	ps := plans(s, func(sc *schedule) bool {
		return sc.base.Type == mde.TypeLiveResponse && sc.pickedUp() && sc.outcome == mde.StatusFailed
	})
	if len(ps) == 0 {
		t.Fatal("no open live response scheduled to fail")
	}
	clock.Set(ps[0].sched.finishAt)
	a, _ := s.Action(ps[0].id)
	last := a.Commands()[len(ps[0].sched.ends)-1]
	if a.Status != mde.StatusFailed || last.CommandStatus != "Failed" || len(last.Errors) != 1 || last.Errors[0] == "" {
		t.Errorf("failed live response: %s, command %+v", a.Status, last)
	}
}

func getAction(t *testing.T, s *Simulator, id string) mde.MachineAction {
	t.Helper()
	rec := do(t, s, http.MethodGet, "/api/machineactions/"+id, "")
	var a mde.MachineAction
	if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil || rec.Code != http.StatusOK {
		t.Fatalf("get %s: %d %v", id, rec.Code, err)
	}
	return a
}
