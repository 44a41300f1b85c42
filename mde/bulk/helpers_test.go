package bulk_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/mde/bulk"
	"github.com/mdeactions/mdeactions/mde/pace"
)

var t0 = time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC)

// action is an open action with a readable id on a machine.
func action(id, machine string) mde.MachineAction {
	return mde.MachineAction{
		ID:                    id,
		Type:                  mde.TypeIsolate,
		Status:                mde.StatusPending,
		MachineID:             machine,
		CreationDateTimeUtc:   mde.Timestamp{Time: t0.Add(-time.Hour)},
		LastUpdateDateTimeUtc: mde.Timestamp{Time: t0.Add(-time.Hour)},
	}
}

func withStatus(a mde.MachineAction, s mde.ActionStatus, updated time.Time) mde.MachineAction {
	a.Status, a.LastUpdateDateTimeUtc = s, mde.Timestamp{Time: updated}
	return a
}

// nextEvent returns the job's next event; ok is false once it has closed.
// The real-time limit only guards against a hung test.
func nextEvent(t testing.TB, j *bulk.Job) (bulk.Event, bool) {
	t.Helper()
	select {
	case e, ok := <-j.Events():
		return e, ok
	case <-time.After(10 * time.Second):
		t.Fatal("no event for 10 s: the job hangs")
		return bulk.Event{}, false
	}
}

// drain reads events until the channel closes.
func drain(t testing.TB, j *bulk.Job) []bulk.Event {
	t.Helper()
	var out []bulk.Event
	for {
		e, ok := nextEvent(t, j)
		if !ok {
			return out
		}
		out = append(out, e)
	}
}

// run starts a job with the clock advancing whenever the job sleeps, and
// returns all its events.
func run(t testing.TB, clock *pace.FakeClock, svc bulk.Service, actions []mde.MachineAction, comment string, opts bulk.Options) []bulk.Event {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go clock.AutoAdvance(ctx)
	opts.Clock = clock
	return drain(t, bulk.Start(ctx, svc, actions, comment, opts))
}

func ofKind(events []bulk.Event, k bulk.Kind) []bulk.Event {
	var out []bulk.Event
	for _, e := range events {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}

// outcomes maps each Done event's id to its outcome.
func outcomes(events []bulk.Event) map[string]bulk.Outcome {
	m := map[string]bulk.Outcome{}
	for _, e := range ofKind(events, bulk.Done) {
		m[fmt.Sprintf("%d:%s", e.Index, e.ID)] = e.Outcome
	}
	return m
}

// checkFinished checks the last event is Finished with every input done
// and counts that add up.
func checkFinished(t *testing.T, events []bulk.Event, total int, want map[bulk.Outcome]int) {
	t.Helper()
	if len(events) == 0 || events[len(events)-1].Kind != bulk.Finished {
		t.Fatalf("the last event is not Finished: %v", kinds(events))
	}
	f := events[len(events)-1]
	if f.Done != total || f.Total != total {
		t.Errorf("Finished with %d/%d done, want %d/%d", f.Done, f.Total, total, total)
	}
	if len(ofKind(events, bulk.Done)) != total {
		t.Errorf("%d Done events, want %d", len(ofKind(events, bulk.Done)), total)
	}
	for o, n := range want {
		if f.Counts[o] != n {
			t.Errorf("Counts[%s] = %d, want %d (all: %v)", o, f.Counts[o], n, f.Counts)
		}
	}
}

func kinds(events []bulk.Event) []string {
	var out []string
	for _, e := range events {
		s := e.Kind.String()
		if e.ID != "" {
			s += " " + e.ID
		}
		if e.Kind == bulk.Done {
			s += " " + e.Outcome.String()
		}
		out = append(out, s)
	}
	return out
}

// fakeService is an in-memory API. Cancel applies to open actions, answers
// 400 for final ones and 404 for unknown ones, unless onCancel handles the
// call first.
type fakeService struct {
	mu      sync.Mutex
	actions map[string]mde.MachineAction
	cancels []string
	lists   []mde.Query

	// onCancel, if set, runs before the default behaviour; handled=true
	// returns its answer instead.
	onCancel func(id string, n int) (a mde.MachineAction, handled bool, err error)
	listErr  error
}

func newFake(actions ...mde.MachineAction) *fakeService {
	f := &fakeService{actions: map[string]mde.MachineAction{}}
	for _, a := range actions {
		f.actions[strings.ToLower(a.ID)] = a
	}
	return f
}

func (f *fakeService) Cancel(_ context.Context, id, comment string) (mde.MachineAction, error) {
	f.mu.Lock()
	f.cancels = append(f.cancels, id)
	n := len(f.cancels)
	hook := f.onCancel
	f.mu.Unlock()
	if hook != nil {
		if a, handled, err := hook(id, n); handled {
			return a, err
		}
	}
	return f.apply(id, comment)
}

// apply cancels an open action, as the API does.
func (f *fakeService) apply(id, comment string) (mde.MachineAction, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.actions[strings.ToLower(id)]
	switch {
	case !ok:
		return mde.MachineAction{}, &mde.APIError{StatusCode: http.StatusNotFound, Code: "ResourceNotFound", Method: "POST"}
	case a.Status.Final():
		return mde.MachineAction{}, &mde.APIError{StatusCode: http.StatusBadRequest, Code: "BadRequest", Method: "POST"}
	}
	a.Status, a.Edit().CancellationComment = mde.StatusCancelled, comment
	f.actions[strings.ToLower(id)] = a
	return a, nil
}

func (f *fakeService) List(_ context.Context, q mde.Query) ([]mde.MachineAction, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lists = append(f.lists, q)
	if f.listErr != nil {
		return nil, f.listErr
	}
	var out []mde.MachineAction
	for _, a := range f.actions {
		if (len(q.IDs) == 0 || slices.ContainsFunc(q.IDs, func(id string) bool { return strings.EqualFold(id, a.ID) })) &&
			(len(q.MachineIDs) == 0 || slices.Contains(q.MachineIDs, a.MachineID)) {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b mde.MachineAction) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

func (f *fakeService) Cancels() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.cancels)
}

func (f *fakeService) Lists() []mde.Query {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.lists)
}
