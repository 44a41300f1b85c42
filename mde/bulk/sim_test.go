package bulk_test

// The job against the simulator over real HTTP, through *mde.Client with
// budgets, on a fake clock shared by the job, the budgets and the server.

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/mde/bulk"
	"github.com/mdeactions/mdeactions/mde/mdesim"
	"github.com/mdeactions/mdeactions/mde/pace"
)

// fastLimits are the API's limits shrunk for tests: 100 per 2 s, 1,500 per 30 s.
var fastLimits = []pace.Limit{{Count: 100, Window: 2 * time.Second}, {Count: 1500, Window: 30 * time.Second}}

type simEnv struct {
	srv    *mdesim.Server
	clock  *pace.FakeClock
	client *mde.Client
	cancel *pace.Budget // the client's cancel budget
}

// newSimEnv starts a simulator with the same limits as the client's
// budgets and puts the given actions in it (nothing else, nothing moving).
func newSimEnv(t testing.TB, actions []mde.MachineAction) *simEnv {
	return newSimEnvLimits(t, actions, fastLimits)
}

func newSimEnvLimits(t testing.TB, actions []mde.MachineAction, limits []pace.Limit) *simEnv {
	t.Helper()
	fastLimits := limits
	clock := pace.NewFakeClock(t0)
	var simLimits []mdesim.Limit
	for _, l := range fastLimits {
		simLimits = append(simLimits, mdesim.Limit{Count: l.Count, Window: l.Window})
	}
	srv, err := mdesim.Start(mdesim.Options{Actions: -1, Clock: clock, Limits: simLimits})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	for _, a := range actions {
		srv.Sim.Put(a)
	}
	cancel := pace.NewBudget(clock, fastLimits...)
	c, err := mde.NewClient(srv.URL, nil, mde.StaticToken("test"),
		mde.WithBudgets(pace.NewBudget(clock, fastLimits...), pace.NewBudget(clock, fastLimits...), cancel))
	if err != nil {
		t.Fatal(err)
	}
	return &simEnv{srv: srv, clock: clock, client: c, cancel: cancel}
}

// manyActions returns n open actions spread over 10 machines.
func manyActions(n int) []mde.MachineAction {
	var out []mde.MachineAction
	for i := range n {
		out = append(out, action(fmt.Sprintf("00000000-0000-4000-8000-%012d", i), fmt.Sprintf("machine-%02d", i%10)))
	}
	return out
}

// checkCancelledOnce checks, in the simulator, that every action is
// Cancelled, and returns how many were cancelled at each moment.
func checkCancelledOnce(t *testing.T, env *simEnv, actions []mde.MachineAction) map[time.Duration]int {
	t.Helper()
	at := map[time.Duration]int{}
	for _, want := range actions {
		a, ok := env.srv.Sim.Action(want.ID)
		if !ok || a.Status != mde.StatusCancelled || a.CancellationDateTimeUtc().IsZero() {
			t.Fatalf("%s in the simulator: %s, cancelled at %v", want.ID, a.Status, a.CancellationDateTimeUtc())
		}
		at[a.CancellationDateTimeUtc().Sub(t0)]++
	}
	return at
}

// 150 cancels under 100 per 2 s: 100 at 0, 50 at 2 s, no 429.
func TestBulkCancelFinishesAtTheLowerBound(t *testing.T) {
	actions := manyActions(150)
	env := newSimEnv(t, actions)
	start := time.Now()
	events := run(t, env.clock, env.client, actions, "contain incident 42", bulk.Options{Budget: env.cancel, Verify: true})
	t.Logf("150 cancels over HTTP in %v", time.Since(start))

	checkFinished(t, events, 150, map[bulk.Outcome]int{bulk.Cancelled: 150})
	started := ofKind(events, bulk.Started)
	if len(started) != 150 {
		t.Fatalf("%d Started events, want 150", len(started))
	}
	for i, e := range started {
		if want := t0.Add(time.Duration(i/100) * 2 * time.Second); !e.At.Equal(want) {
			t.Fatalf("call %d at %v, want %v", i+1, e.At.Sub(t0), want.Sub(t0))
		}
	}
	if f := events[len(events)-1]; !f.At.Equal(t0.Add(2 * time.Second)) {
		t.Fatalf("finished at %v, want exactly 2s", f.At.Sub(t0))
	}
	waits := ofKind(events, bulk.Waiting)
	if len(waits) != 1 || !waits[0].Until.Equal(t0.Add(2*time.Second)) || waits[0].Err != nil {
		t.Fatalf("waits %+v, want one until 2s, from our own pacing", waits)
	}
	if n := env.srv.Sim.Throttled("cancel"); n != 0 {
		t.Fatalf("%d answers 429", n)
	}
	if n := env.srv.Sim.Requests("cancel"); n != 150 {
		t.Fatalf("%d cancel requests, want 150", n)
	}
	if v := ofKind(events, bulk.Verified); len(v) != 10 {
		t.Fatalf("%d Verified events, want one per machine (10)", len(v))
	}
	if at := checkCancelledOnce(t, env, actions); at[0] != 100 || at[2*time.Second] != 50 {
		t.Fatalf("cancellation times %v, want 100 at 0 and 50 at 2s", at)
	}
}

// Another client spends 30 of the 100 first: the job's 71st call gets a
// 429, the job waits exactly Retry-After and sends it again, and every
// action is cancelled exactly once.
func TestBulkCancelSitsOutA429FromAnotherClient(t *testing.T) {
	actions := manyActions(150)
	others := manyActions(180)[150:]
	env := newSimEnv(t, append(actions, others...))
	other, _ := mde.NewClient(env.srv.URL, nil, mde.StaticToken("other"))
	for _, a := range others {
		if _, err := other.Cancel(context.Background(), a.ID, "someone else"); err != nil {
			t.Fatal(err)
		}
	}

	events := run(t, env.clock, env.client, actions, "contain incident 42", bulk.Options{Budget: env.cancel})
	checkFinished(t, events, 150, map[bulk.Outcome]int{bulk.Cancelled: 150})

	throttled := env.srv.Sim.Throttled("cancel")
	if throttled != 1 {
		t.Fatalf("%d answers 429, want 1", throttled)
	}
	if n := env.srv.Sim.Requests("cancel"); n != len(others)+150+throttled {
		t.Fatalf("%d cancel requests, want %d + 150 + %d", n, len(others), throttled)
	}
	waits := ofKind(events, bulk.Waiting)
	ra, is429 := mde.RetryAfter(waits[0].Err)
	if len(waits) != 1 || !is429 || ra != 2*time.Second || !waits[0].Until.Equal(t0.Add(2*time.Second)) {
		t.Fatalf("waits %+v, want one 429 wait of Retry-After 2s until 2s", waits)
	}
	started := ofKind(events, bulk.Started)
	if len(started) != 151 {
		t.Fatalf("%d Started events, want 151", len(started))
	}
	retried := waits[0].ID
	var sends []time.Time
	for _, e := range started {
		if e.ID == retried {
			sends = append(sends, e.At)
		}
	}
	if len(sends) != 2 || sends[1].Sub(sends[0]) != ra {
		t.Fatalf("%s sent at %v, want twice, Retry-After (%v) apart", retried, sends, ra)
	}
	if at := checkCancelledOnce(t, env, actions); at[0] != 70 || at[2*time.Second] != 80 {
		t.Fatalf("cancellation times %v, want 70 at 0 and 80 at 2s", at)
	}
	if f := events[len(events)-1]; !f.At.Equal(t0.Add(2 * time.Second)) {
		t.Fatalf("finished at %v, want 2s", f.At.Sub(t0))
	}
}

// collateral is a Service whose cancels have a side effect on the device,
// as in the report of one cancel cancelling two live responses.
type collateral struct {
	*mde.Client
	after func()
}

func (c collateral) Cancel(ctx context.Context, id, comment string) (mde.MachineAction, error) {
	a, err := c.Client.Cancel(ctx, id, comment)
	c.after()
	return a, err
}

func TestVerifyReportsCollateralChanges(t *testing.T) {
	target := action("11111111-0000-4000-8000-000000000001", "machine-x")
	sibling := action("11111111-0000-4000-8000-000000000002", "machine-x")
	sibling.Type = mde.TypeLiveResponse
	unchanged := action("11111111-0000-4000-8000-000000000003", "machine-x")
	unknownBefore := action("11111111-0000-4000-8000-000000000004", "machine-x")
	elsewhere := action("11111111-0000-4000-8000-000000000005", "machine-y")
	env := newSimEnv(t, []mde.MachineAction{target, sibling, unchanged, unknownBefore, elsewhere})
	changeSiblings := func() {
		for _, a := range []mde.MachineAction{sibling, unknownBefore, elsewhere} {
			env.srv.Sim.Put(withStatus(a, mde.StatusCancelled, env.clock.Now()))
		}
	}
	svc := collateral{env.client, changeSiblings}
	known := []mde.MachineAction{sibling, unchanged, elsewhere}

	events := run(t, env.clock, svc, []mde.MachineAction{target}, "contain", bulk.Options{Verify: true, Known: known})
	v := ofKind(events, bulk.Verified)
	if len(v) != 1 || v[0].MachineID != "machine-x" || v[0].Err != nil {
		t.Fatalf("Verified events %+v, want one for machine-x", v)
	}
	ch := v[0].Changes
	if len(ch) != 1 || ch[0].Before.ID != sibling.ID || ch[0].Before.Status != mde.StatusPending || ch[0].After.Status != mde.StatusCancelled {
		t.Fatalf("changes %+v, want the sibling Pending → Cancelled only", ch)
	}
	if n := env.srv.Sim.Requests("list"); n != 1 {
		t.Fatalf("%d list requests, want 1", n)
	}

	// Without Verify: no re-read.
	env2 := newSimEnv(t, []mde.MachineAction{target, sibling})
	events = run(t, env2.clock, env2.client, []mde.MachineAction{target}, "contain", bulk.Options{Known: known})
	if len(ofKind(events, bulk.Verified)) != 0 || env2.srv.Sim.Requests("list") != 0 {
		t.Fatal("re-read a device without Verify")
	}
}

func TestCompletedBeforeCancel(t *testing.T) {
	lr := action("22222222-0000-4000-8000-000000000001", "machine-x")
	lr.Type, lr.Status = mde.TypeLiveResponse, mde.StatusInProgress
	lr.Edit().Commands = []mde.LiveResponseCommand{
		{Index: 0, CommandStatus: "Completed", StartTime: mde.Timestamp{Time: t0.Add(-time.Minute)}, EndTime: mde.Timestamp{Time: t0.Add(-time.Second)},
			Command: mde.Command{Type: "RunScript"}},
		{Index: 1, CommandStatus: "Created", Command: mde.Command{Type: "GetFile"}},
	}
	plain := action("22222222-0000-4000-8000-000000000002", "machine-x")
	env := newSimEnv(t, []mde.MachineAction{lr, plain})
	events := run(t, env.clock, env.client, []mde.MachineAction{lr, plain}, "contain", bulk.Options{Budget: env.cancel})
	done := ofKind(events, bulk.Done)
	if len(done) != 2 || done[0].Outcome != bulk.Cancelled || !done[0].CompletedBeforeCancel {
		t.Fatalf("live response: %+v, want Cancelled with CompletedBeforeCancel", done)
	}
	if done[1].Outcome != bulk.Cancelled || done[1].CompletedBeforeCancel {
		t.Fatalf("plain action: %s, CompletedBeforeCancel=%v", done[1].Outcome, done[1].CompletedBeforeCancel)
	}
}
