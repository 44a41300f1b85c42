package bulk_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/mde/bulk"
	"github.com/mdeactions/mdeactions/mde/mdesim"
	"github.com/mdeactions/mdeactions/mde/pace"
	"github.com/mdeactions/mdeactions/mde/reliability"
)

// TestBulkUnderFaults runs a bulk cancel of 12 actions through the real
// client while the simulator spoils some cancels' answers (applied or not),
// and checks that every action is reported as it really ended and that no
// cancel reached the API twice.
func TestBulkUnderFaults(t *testing.T) {
	clock := pace.NewFakeClock(t0)
	var mu sync.Mutex
	posts := map[string]int{}
	faults := []mdesim.Fault{
		{Kind: mdesim.FaultLost, Endpoint: mdesim.EndpointCancel, After: 1, Times: 2},
		{Kind: mdesim.FaultStatus, Status: 503, Endpoint: mdesim.EndpointCancel, After: 4, Times: 1},
		{Kind: mdesim.FaultReset, Endpoint: mdesim.EndpointCancel, After: 5, Times: 1},
		{Kind: mdesim.FaultTruncated, Endpoint: mdesim.EndpointCancel, After: 6, Times: 1},
		{Kind: mdesim.FaultMalformed, Endpoint: mdesim.EndpointCancel, After: 7, Times: 1},
		{Kind: mdesim.FaultStatus, Status: 502, Endpoint: mdesim.EndpointList, Times: 1}, // the first re-read
	}
	srv, err := mdesim.Start(mdesim.Options{Actions: -1, Clock: clock, NoLimits: true, Faults: faults,
		Observe: func(endpoint, id string, _ int, _ time.Time) {
			if endpoint == mdesim.EndpointCancel {
				mu.Lock()
				posts[id]++
				mu.Unlock()
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	actions := manyActions(12)
	for _, a := range actions {
		srv.Sim.Put(a)
	}
	c, err := mde.NewClient(srv.URL, nil, mde.StaticToken("test"),
		mde.WithRetry(mde.RetryPolicy{Attempts: 3, Base: time.Millisecond, Max: 5 * time.Millisecond, MaxWait: time.Second}),
		mde.WithRequestTimeout(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	events := run(t, clock, c, actions, "bulk under faults", bulk.Options{Verify: true})
	got := map[string]bulk.Outcome{}
	for _, e := range ofKind(events, bulk.Done) {
		got[e.ID] = e.Outcome
	}
	lies, twice, unknown := 0, 0, 0
	for _, a := range actions {
		server, _ := srv.Sim.Action(a.ID)
		o, reported := got[a.ID]
		switch {
		case !reported:
			lies++
			t.Errorf("%s: no outcome reported", a.ID)
		case (o == bulk.Cancelled) != (server.Status == mde.StatusCancelled):
			lies++
			t.Errorf("%s: reported %s, the API says %s", a.ID, o, server.Status)
		case server.Status == mde.StatusCancelled && server.CancellationComment() != "bulk under faults":
			lies++
			t.Errorf("%s: comment lost: %q", a.ID, server.CancellationComment())
		}
		if o == bulk.Unknown || o == bulk.Failed {
			unknown++
		}
		if posts[a.ID] > 1 {
			twice++
			t.Errorf("%s: sent %d times", a.ID, posts[a.ID])
		}
	}
	applied := srv.Sim.Injected(mdesim.FaultLost) + srv.Sim.Injected(mdesim.FaultTruncated) + srv.Sim.Injected(mdesim.FaultMalformed)
	if applied < 3 || unknown < 1 {
		t.Fatalf("the faults did not bite: %d applied-but-unanswered cancels, %d unapplied", applied, unknown)
	}
	reliability.Record(t, reliability.Row{Area: "network", Fault: "bulk cancel of 12 with answers lost, truncated and malformed (applied), a 503 and a reset (not applied), a 502 on the first re-read",
		Outcome: fmt.Sprintf("%d cancels applied without a readable answer and %d not applied: each unsure one re-read, never re-sent; %d reported Cancelled as the API has them, %d reported not cancelled (still open, as the API has them)", applied, unknown, len(actions)-unknown, unknown),
		Lost:    lies, SentTwice: twice})
}

// panicky panics on its second cancel.
type panicky struct{ *fakeService }

func (p panicky) Cancel(ctx context.Context, id, comment string) (mde.MachineAction, error) {
	if len(p.Cancels()) == 1 {
		panic("bug in a service")
	}
	return p.fakeService.Cancel(ctx, id, comment)
}

func TestBulkPanicEndsTheJobNotTheProcess(t *testing.T) {
	actions := manyActions(3)
	svc := panicky{newFake(actions...)}
	events := run(t, pace.NewFakeClock(t0), svc, actions, "c", bulk.Options{})
	fin := ofKind(events, bulk.Finished)
	if len(fin) != 1 || !errors.Is(fin[0].Err, bulk.ErrInternal) {
		t.Fatalf("want one Finished event with ErrInternal, got %+v", fin)
	}
	reliability.Record(t, reliability.Row{Area: "process", Fault: "a panic inside the bulk cancel's goroutine",
		Outcome: "the job ends with an internal-error event telling the user to refresh and look; the process and the terminal live on"})
}
