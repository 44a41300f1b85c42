package bulk_test

// The odd cases, against an in-memory service.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/mde/audit"
	"github.com/mdeactions/mdeactions/mde/bulk"
	"github.com/mdeactions/mdeactions/mde/pace"
)

// jobHook lets a service hook act on the job, which exists only once
// Start has returned.
type jobHook struct{ ready chan *bulk.Job }

func newJobHook() *jobHook { return &jobHook{ready: make(chan *bulk.Job, 1)} }

func (h *jobHook) start(ctx context.Context, svc bulk.Service, actions []mde.MachineAction, opts bulk.Options) *bulk.Job {
	j := bulk.Start(ctx, svc, actions, "stop it", opts)
	h.ready <- j
	return j
}

func (h *jobHook) job() *bulk.Job {
	j := <-h.ready
	h.ready <- j
	return j
}

func fiveActions() []mde.MachineAction {
	var out []mde.MachineAction
	for i := 1; i <= 5; i++ {
		out = append(out, action(fmt.Sprintf("a%d", i), "m1"))
	}
	return out
}

func TestPauseStopsBeforeTheNextCallAndResumeGoesOn(t *testing.T) {
	actions := fiveActions()
	svc := newFake(actions...)
	hook := newJobHook()
	svc.onCancel = func(id string, n int) (mde.MachineAction, bool, error) {
		if n == 3 {
			hook.job().Pause() // while the third call is in flight
		}
		return mde.MachineAction{}, false, nil
	}
	j := hook.start(context.Background(), svc, actions, bulk.Options{Clock: pace.NewFakeClock(t0)})

	var events []bulk.Event
	for {
		e, ok := nextEvent(t, j)
		if !ok {
			t.Fatal("the job ended while paused")
		}
		events = append(events, e)
		if e.Kind == bulk.Paused {
			break
		}
	}
	if got := svc.Cancels(); !slices.Equal(got, []string{"a1", "a2", "a3"}) {
		t.Fatalf("sent %v before pausing, want a1..a3", got)
	}
	last := events[len(events)-2]
	if last.Kind != bulk.Done || last.ID != "a3" || last.Outcome != bulk.Cancelled {
		t.Fatalf("before Paused: %v, want a3's Done (the call in flight completes)", kinds(events))
	}
	j.Pause() // again: no effect
	j.Resume()
	rest := drain(t, j)
	if rest[0].Kind != bulk.Resumed || rest[1].Kind != bulk.Started || rest[1].ID != "a4" {
		t.Fatalf("after Resume: %v", kinds(rest))
	}
	if got := svc.Cancels(); len(got) != 5 {
		t.Fatalf("sent %v, want all five", got)
	}
	checkFinished(t, append(events, rest...), 5, map[bulk.Outcome]int{bulk.Cancelled: 5})
}

// A pause during a throttling wait holds the call even after the wait's
// end; Resume sends it.
func TestPauseDuringAWait(t *testing.T) {
	clock := pace.NewFakeClock(t0)
	budget := pace.NewBudget(clock, pace.Limit{Count: 1, Window: time.Minute})
	_ = budget.Wait(context.Background()) // someone else's call at t0
	svc := newFake(action("a1", "m1"))
	j := bulk.Start(context.Background(), svc, []mde.MachineAction{action("a1", "m1")}, "stop it",
		bulk.Options{Clock: clock, Budget: budget})

	if e, _ := nextEvent(t, j); e.Kind != bulk.Waiting || !e.Until.Equal(t0.Add(time.Minute)) || e.Err != nil {
		t.Fatalf("first event %+v, want Waiting until 1m without an error", e)
	}
	if err := clock.BlockUntil(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	j.Pause()
	if e, _ := nextEvent(t, j); e.Kind != bulk.Paused {
		t.Fatalf("got %v, want Paused", e.Kind)
	}
	clock.Advance(2 * time.Minute)
	if n := len(svc.Cancels()); n != 0 || clock.Sleepers() != 0 {
		t.Fatalf("paused, yet %d calls and %d sleepers", n, clock.Sleepers())
	}
	j.Resume()
	rest := drain(t, j)
	if len(rest) < 3 || rest[0].Kind != bulk.Resumed || rest[1].Kind != bulk.Started || !rest[1].At.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("after Resume: %v", kinds(rest))
	}
	checkFinished(t, rest, 1, map[bulk.Outcome]int{bulk.Cancelled: 1})
}

func TestAbortMidway(t *testing.T) {
	actions := fiveActions()
	svc := newFake(actions...)
	hook := newJobHook()
	svc.onCancel = func(id string, n int) (mde.MachineAction, bool, error) {
		if n == 2 {
			hook.job().Abort() // while the second call is in flight
		}
		return mde.MachineAction{}, false, nil
	}
	events := drain(t, hook.start(context.Background(), svc, actions, bulk.Options{Clock: pace.NewFakeClock(t0), Verify: true}))
	if got := svc.Cancels(); !slices.Equal(got, []string{"a1", "a2"}) {
		t.Fatalf("sent %v, want a1 and a2 only", got)
	}
	want := map[string]bulk.Outcome{"0:a1": bulk.Cancelled, "1:a2": bulk.Cancelled, "2:a3": bulk.Aborted, "3:a4": bulk.Aborted, "4:a5": bulk.Aborted}
	if got := outcomes(events); !maps.Equal(got, want) {
		t.Fatalf("outcomes %v, want %v", got, want)
	}
	if n := len(ofKind(events, bulk.Started)); n != 2 {
		t.Fatalf("%d Started events, want 2", n)
	}
	if len(svc.Lists()) != 0 || len(ofKind(events, bulk.Verified)) != 0 {
		t.Fatal("an aborted job verified the device")
	}
	checkFinished(t, events, 5, map[bulk.Outcome]int{bulk.Cancelled: 2, bulk.Aborted: 3})
}

// Aborting a job asleep on a 429 ends it: the events close and no
// goroutine is left behind.
func TestAbortDuringA429WaitLeavesNoGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	clock := pace.NewFakeClock(t0)
	svc := newFake(action("a1", "m1"), action("a2", "m1"))
	throttled := &mde.APIError{StatusCode: http.StatusTooManyRequests, Code: "TooManyRequests", RetryAfter: 30 * time.Second}
	svc.onCancel = func(string, int) (mde.MachineAction, bool, error) { return mde.MachineAction{}, true, throttled }
	j := bulk.Start(context.Background(), svc, []mde.MachineAction{action("a1", "m1"), action("a2", "m1")}, "stop it",
		bulk.Options{Clock: clock})

	if e, _ := nextEvent(t, j); e.Kind != bulk.Started || e.ID != "a1" {
		t.Fatalf("got %v %s, want Started a1", e.Kind, e.ID)
	}
	e, _ := nextEvent(t, j)
	if e.Kind != bulk.Waiting || !e.Until.Equal(t0.Add(30*time.Second)) || !errors.Is(e.Err, throttled) {
		t.Fatalf("got %+v, want Waiting until 30s with the 429", e)
	}
	if err := clock.BlockUntil(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	j.Abort()
	rest := drain(t, j)
	checkFinished(t, rest, 2, map[bulk.Outcome]int{bulk.Aborted: 2})
	if n := len(svc.Cancels()); n != 1 {
		t.Fatalf("%d calls, want 1", n)
	}
	if clock.Sleepers() != 0 {
		t.Fatal("the job still sleeps on the clock")
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines, %d before the job", runtime.NumGoroutine(), before)
		}
		runtime.Gosched()
	}
}

// A 429 without Retry-After waits mde.DefaultRetryAfter, then sends the
// same id again: the API refused it, so that is not a second cancel.
func TestA429IsSentAgainAfterTheWait(t *testing.T) {
	clock := pace.NewFakeClock(t0)
	svc := newFake(action("a1", "m1"))
	svc.onCancel = func(_ string, n int) (mde.MachineAction, bool, error) {
		if n == 1 {
			return mde.MachineAction{}, true, &mde.APIError{StatusCode: http.StatusTooManyRequests}
		}
		return mde.MachineAction{}, false, nil
	}
	events := run(t, clock, svc, []mde.MachineAction{action("a1", "m1")}, "stop it", bulk.Options{})
	started := ofKind(events, bulk.Started)
	if len(started) != 2 || !started[0].At.Equal(t0) || !started[1].At.Equal(t0.Add(mde.DefaultRetryAfter)) {
		t.Fatalf("events %v", kinds(events))
	}
	checkFinished(t, events, 1, map[bulk.Outcome]int{bulk.Cancelled: 1})
}

func TestFinalActionsAreSkipped(t *testing.T) {
	later := t0.Add(-time.Minute)
	a3 := action("a3", "m1")
	a5 := action("a5", "m1")
	a5.LastUpdateDateTimeUtc = mde.Timestamp{Time: later}
	input := []mde.MachineAction{
		action("a1", "m1"),
		withStatus(action("a2", "m1"), mde.StatusSucceeded, later),
		a3, // Pending here, but Known has it Failed, later
		withStatus(action("a4", "m1"), mde.StatusCancelled, later),
		a5, // Pending here, later than Known's Succeeded
	}
	known := []mde.MachineAction{
		withStatus(action("a3", "m1"), mde.StatusFailed, later),
		withStatus(action("a5", "m1"), mde.StatusSucceeded, t0.Add(-2*time.Hour)),
	}
	svc := newFake(input...)
	events := run(t, pace.NewFakeClock(t0), svc, input, "stop it", bulk.Options{Known: known})
	if got := svc.Cancels(); !slices.Equal(got, []string{"a1", "a5"}) {
		t.Fatalf("sent %v, want a1 and a5", got)
	}
	want := map[string]bulk.Outcome{"0:a1": bulk.Cancelled, "1:a2": bulk.SkippedFinal, "2:a3": bulk.SkippedFinal,
		"3:a4": bulk.SkippedFinal, "4:a5": bulk.Cancelled}
	if got := outcomes(events); !maps.Equal(got, want) {
		t.Fatalf("outcomes %v, want %v", got, want)
	}
	for _, e := range ofKind(events, bulk.Done) {
		if e.ID == "a3" && e.Action.Status != mde.StatusFailed {
			t.Errorf("a3 skipped with %s, want the known Failed", e.Action.Status)
		}
	}
	checkFinished(t, events, 5, map[bulk.Outcome]int{bulk.Cancelled: 2, bulk.SkippedFinal: 3})
}

func TestDuplicatesAreSentOnce(t *testing.T) {
	input := []mde.MachineAction{action("a1", "m1"), action("a2", "m1"), action("a1", "m1"), action("A1", "m1"), action("a2", "m1")}
	svc := newFake(input[:2]...)
	events := run(t, pace.NewFakeClock(t0), svc, input, "stop it", bulk.Options{})
	if got := svc.Cancels(); !slices.Equal(got, []string{"a1", "a2"}) {
		t.Fatalf("sent %v, want a1 and a2 once each", got)
	}
	want := map[string]bulk.Outcome{"0:a1": bulk.Cancelled, "1:a2": bulk.Cancelled, "2:a1": bulk.Duplicate,
		"3:A1": bulk.Duplicate, "4:a2": bulk.Duplicate}
	if got := outcomes(events); !maps.Equal(got, want) {
		t.Fatalf("outcomes %v, want %v", got, want)
	}
	checkFinished(t, events, 5, map[bulk.Outcome]int{bulk.Cancelled: 2, bulk.Duplicate: 3})
}

// A call whose outcome is unknown is never sent again: it is re-read and
// reported as what it is.
func TestUnknownOutcomesAreRereadNotResent(t *testing.T) {
	input := []mde.MachineAction{
		action("applied", "m1"), action("lost", "m1"), action("gateway", "m1"),
		action("undialled", "m1"), action("missing", "m1"),
	}
	svc := newFake(input[:4]...)
	reset := fmt.Errorf("mde: POST http://x/api/machineactions/x/cancel: %w",
		&net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET})
	refused := fmt.Errorf("mde: POST http://x/api/machineactions/x/cancel: %w",
		&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED})
	svc.onCancel = func(id string, _ int) (mde.MachineAction, bool, error) {
		switch id {
		case "applied": // the API cancelled it, the answer was lost
			_, _ = svc.apply(id, "stop it")
			return mde.MachineAction{}, true, reset
		case "lost": // the request never arrived
			return mde.MachineAction{}, true, reset
		case "gateway":
			return mde.MachineAction{}, true, &mde.APIError{StatusCode: http.StatusBadGateway}
		case "undialled":
			return mde.MachineAction{}, true, refused
		}
		return mde.MachineAction{}, false, nil
	}
	events := run(t, pace.NewFakeClock(t0), svc, input, "stop it", bulk.Options{})

	if got := svc.Cancels(); !slices.Equal(got, []string{"applied", "lost", "gateway", "undialled", "missing"}) {
		t.Fatalf("sent %v: each id exactly once", got)
	}
	var reread []string
	for _, q := range svc.Lists() {
		reread = append(reread, q.IDs...)
	}
	if !slices.Equal(reread, []string{"applied", "lost", "gateway"}) {
		t.Fatalf("re-read %v, want applied, lost and gateway", reread)
	}
	done := map[string]bulk.Event{}
	for _, e := range ofKind(events, bulk.Done) {
		done[e.ID] = e
	}
	if e := done["applied"]; e.Outcome != bulk.Cancelled || !e.Reread || e.Err != nil || e.Action.Status != mde.StatusCancelled {
		t.Errorf("applied: %s reread=%v err=%v status=%s; want Cancelled, re-read", e.Outcome, e.Reread, e.Err, e.Action.Status)
	}
	if e := done["lost"]; e.Outcome != bulk.Unknown || !e.Reread || !errors.Is(e.Err, syscall.ECONNRESET) || e.Action.Status != mde.StatusPending {
		t.Errorf("lost: %s reread=%v err=%v status=%s; want Unknown, re-read as Pending", e.Outcome, e.Reread, e.Err, e.Action.Status)
	}
	if e := done["gateway"]; e.Outcome != bulk.Unknown || !e.Reread {
		t.Errorf("gateway: %s reread=%v; want Unknown, re-read", e.Outcome, e.Reread)
	}
	if e := done["undialled"]; e.Outcome != bulk.Failed || e.Reread || !errors.Is(e.Err, syscall.ECONNREFUSED) {
		t.Errorf("undialled: %s reread=%v err=%v; want Failed without a re-read", e.Outcome, e.Reread, e.Err)
	}
	if e := done["missing"]; e.Outcome != bulk.Failed || !mde.IsNotFound(e.Err) {
		t.Errorf("missing: %s err=%v; want Failed with the 404", e.Outcome, e.Err)
	}
	checkFinished(t, events, 5, map[bulk.Outcome]int{bulk.Cancelled: 1, bulk.Unknown: 2, bulk.Failed: 2})
}

func TestAFailedRereadStaysUnknown(t *testing.T) {
	svc := newFake(action("a1", "m1"))
	svc.listErr = errors.New("list is down")
	svc.onCancel = func(string, int) (mde.MachineAction, bool, error) {
		return mde.MachineAction{}, true, context.DeadlineExceeded // a client timeout
	}
	events := run(t, pace.NewFakeClock(t0), svc, []mde.MachineAction{action("a1", "m1")}, "stop it", bulk.Options{})
	e := ofKind(events, bulk.Done)[0]
	if e.Outcome != bulk.Unknown || e.Reread || !errors.Is(e.Err, context.DeadlineExceeded) || !errors.Is(e.Err, svc.listErr) {
		t.Fatalf("got %s reread=%v err=%v; want Unknown with both errors", e.Outcome, e.Reread, e.Err)
	}
}

func TestASuccessThatIsNotCancelledFails(t *testing.T) {
	svc := newFake(action("a1", "m1"))
	svc.onCancel = func(string, int) (mde.MachineAction, bool, error) { return action("a1", "m1"), true, nil }
	events := run(t, pace.NewFakeClock(t0), svc, []mde.MachineAction{action("a1", "m1")}, "stop it", bulk.Options{})
	if e := ofKind(events, bulk.Done)[0]; e.Outcome != bulk.Failed || !errors.Is(e.Err, bulk.ErrNotCancelled) {
		t.Fatalf("got %s %v, want Failed with ErrNotCancelled", e.Outcome, e.Err)
	}
}

func TestABlankCommentSendsNothing(t *testing.T) {
	svc := newFake(fiveActions()...)
	ctx := context.Background()
	events := drain(t, bulk.Start(ctx, svc, fiveActions(), " \t", bulk.Options{Clock: pace.NewFakeClock(t0)}))
	if len(svc.Cancels()) != 0 {
		t.Fatal("sent a cancel without a comment")
	}
	for _, e := range ofKind(events, bulk.Done) {
		if !errors.Is(e.Err, bulk.ErrNoComment) {
			t.Fatalf("%s: %v, want ErrNoComment", e.ID, e.Err)
		}
	}
	checkFinished(t, events, 5, map[bulk.Outcome]int{bulk.Failed: 5})
}

// Devices go one after another, in the order they first appear; each is
// verified after its last action, unless nothing was sent on it.
func TestDevicesInOrderOfFirstAppearance(t *testing.T) {
	input := []mde.MachineAction{
		action("a1", "m1"), action("b1", "m2"), action("a2", "m1"),
		withStatus(action("c1", "m3"), mde.StatusSucceeded, t0), action("b2", "m2"),
	}
	svc := newFake(input...)
	events := run(t, pace.NewFakeClock(t0), svc, input, "stop it", bulk.Options{Verify: true})
	var order []string
	for _, e := range events {
		switch e.Kind {
		case bulk.Started:
			order = append(order, e.ID)
		case bulk.Verified:
			order = append(order, "verify "+e.MachineID)
		}
	}
	if want := []string{"a1", "a2", "verify m1", "b1", "b2", "verify m2"}; !slices.Equal(order, want) {
		t.Fatalf("order %v, want %v", order, want)
	}
	for _, e := range events {
		if e.Kind == bulk.Done && (e.Index < 0 || input[e.Index].ID != e.ID) {
			t.Errorf("Done %s has index %d", e.ID, e.Index)
		}
	}
	checkFinished(t, events, 5, map[bulk.Outcome]int{bulk.Cancelled: 4, bulk.SkippedFinal: 1})
}

// Found by a tester: an action that finished after the list was read was
// refused with 400 and reported as a failure, with its old status shown.
func TestRefusedBecauseAlreadyFinishedIsSkippedWithItsRealState(t *testing.T) {
	clock := pace.NewFakeClock(time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC))
	a := action("done-meanwhile", "m1")
	svc := newFake(a)
	svc.onCancel = func(id string, n int) (mde.MachineAction, bool, error) {
		svc.mu.Lock()
		done := svc.actions[id]
		done.Status = mde.StatusSucceeded
		svc.actions[id] = done
		svc.mu.Unlock()
		return mde.MachineAction{}, true, &mde.APIError{StatusCode: 400, Code: "BadRequest", Message: "already in a final state (Succeeded)"}
	}
	events := run(t, clock, svc, []mde.MachineAction{a}, "x", bulk.Options{})
	done := ofKind(events, bulk.Done)
	if len(done) != 1 || done[0].Outcome != bulk.SkippedFinal || !done[0].Reread || done[0].Action.Status != mde.StatusSucceeded || done[0].Err != nil {
		t.Fatalf("done = %+v", done)
	}
	if len(svc.Cancels()) != 1 {
		t.Fatal("the refused cancel was sent again")
	}
}

// A cancel refused by the audit trail was never sent: a failure, not an
// unknown outcome to re-read.
func TestAuditRefusalIsAFailureNotAnUnknown(t *testing.T) {
	clock := pace.NewFakeClock(time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC))
	a := action("a1", "m1")
	svc := newFake(a)
	svc.onCancel = func(string, int) (mde.MachineAction, bool, error) {
		return mde.MachineAction{}, true, fmt.Errorf("%w: disk full", audit.ErrAuditUnavailable)
	}
	events := run(t, clock, svc, []mde.MachineAction{a}, "x", bulk.Options{})
	done := ofKind(events, bulk.Done)
	if len(done) != 1 || done[0].Outcome != bulk.Failed || done[0].Reread {
		t.Fatalf("done = %+v", done)
	}
	if len(svc.Lists()) != 0 {
		t.Fatal("a refused cancel was re-read as if it might have been sent")
	}
}

// A device's re-read waits on the list budget in view: a Waiting event
// with its time (the UI's countdown), and Abort during it skips the
// re-read instead of sitting the wait out.
func TestDeviceRereadWaitsOnTheListBudgetInView(t *testing.T) {
	for _, abort := range []bool{false, true} {
		clock := pace.NewFakeClock(t0)
		lists := pace.NewBudget(clock, pace.Limit{Count: 1, Window: time.Minute})
		_ = lists.Wait(context.Background()) // a refresh spent it at t0
		svc := newFake(action("a1", "m1"))
		j := bulk.Start(context.Background(), svc, []mde.MachineAction{action("a1", "m1")}, "wrong device",
			bulk.Options{Clock: clock, ListBudget: lists, Verify: true})
		for _, want := range []bulk.Kind{bulk.Started, bulk.Done} {
			if e, _ := nextEvent(t, j); e.Kind != want {
				t.Fatalf("got %v, want %v", e.Kind, want)
			}
		}
		e, _ := nextEvent(t, j)
		if e.Kind != bulk.Waiting || !e.Until.Equal(t0.Add(time.Minute)) || e.Index != -1 || e.Done != 1 {
			t.Fatalf("before the re-read: %+v, want Waiting until 1m with 1 done", e)
		}
		if err := clock.BlockUntil(context.Background(), 1); err != nil {
			t.Fatal(err)
		}
		if abort {
			j.Abort()
		} else {
			clock.Advance(time.Minute)
		}
		rest := drain(t, j)
		switch verified := len(ofKind(rest, bulk.Verified)); {
		case abort && (verified != 0 || len(svc.Lists()) != 0):
			t.Fatalf("aborted during the wait, yet the device was re-read: %v", kinds(rest))
		case !abort && (verified != 1 || !ofKind(rest, bulk.Verified)[0].At.Equal(t0.Add(time.Minute))):
			t.Fatalf("the re-read did not follow the wait: %v", kinds(rest))
		}
		if f := rest[len(rest)-1]; f.Kind != bulk.Finished || f.Counts[bulk.Cancelled] != 1 || f.Done != 1 {
			t.Fatalf("last event %+v, want Finished with 1 cancelled", f)
		}
	}
}
