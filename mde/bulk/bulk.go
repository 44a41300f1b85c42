// Package bulk cancels many machine actions with one comment, one call at
// a time, device by device, and reports every step as an Event: what is
// being sent, throttling waits with their end, each action's outcome, and,
// after a device's last action, what changed on that device.
//
// Safety rules: each action id is sent at most once, except after a 429
// (the API refused the call, so sending it again is not a second cancel);
// an action whose latest known state is final is not sent; a call whose
// outcome is unknown (a transport error or a 5xx after the request may
// have reached the API) is never sent again but re-read and reported as
// what it really is.
package bulk

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/mde/audit"
	"github.com/mdeactions/mdeactions/mde/pace"
)

// Service is the part of *mde.Client the job uses.
type Service interface {
	List(ctx context.Context, q mde.Query) ([]mde.MachineAction, error)
	Cancel(ctx context.Context, id, comment string) (mde.MachineAction, error)
}

// Options configure a Job.
type Options struct {
	Clock pace.Clock // nil: the real clock

	// Budget is the cancel budget the Service's client waits on (see
	// mde.WithBudgets). The job sits out its waits itself, before each
	// call, so that they show as Waiting events and Pause and Abort work
	// during them; the client's own Wait then returns at once. Nil: none.
	Budget *pace.Budget

	// Verify re-reads each device after its last action (one List by
	// machine id) and reports the other actions on it whose status changed.
	Verify bool

	// ListBudget is the list budget those re-reads wait on: like Budget,
	// the job sits its waits out itself, as Waiting events that Pause and
	// Abort interrupt. Nil: none.
	ListBudget *pace.Budget

	// Known is what the caller knew before the job, besides the input
	// actions: the "before" of Verify's changes, and a newer final state
	// here means an input action is skipped. Of two versions of an action
	// the one with the later lastUpdateDateTimeUtc wins, the input on a tie.
	Known []mde.MachineAction
}

// Kind says what an Event reports.
type Kind int

const (
	Started  Kind = iota + 1 // a cancel for ID is going out
	Waiting                  // throttled: the next call goes at Until (Err is the 429, if the API asked)
	Done                     // one input action is finished: Outcome
	Verified                 // a device was re-read: Changes (Err if the re-read failed)
	Paused                   // the job stopped before its next call
	Resumed                  // the job goes on
	Finished                 // the job is over: Counts; the channel closes next
)

var kindNames = map[Kind]string{Started: "Started", Waiting: "Waiting", Done: "Done", Verified: "Verified",
	Paused: "Paused", Resumed: "Resumed", Finished: "Finished"}

func (k Kind) String() string { return cmp.Or(kindNames[k], fmt.Sprintf("Kind(%d)", int(k))) }

// Outcome is how one input action ended.
type Outcome int

const (
	Cancelled    Outcome = iota + 1 // the API says Cancelled (Reread: learnt by re-reading after an unknown outcome)
	SkippedFinal                    // its latest known state is final: not sent
	Failed                          // the API refused the cancel, or it could not be sent (Err)
	Unknown                         // the call may or may not have been applied; Action is the re-read state if Reread
	Aborted                         // not sent because of Abort (or the context ending)
	Duplicate                       // the same id came earlier in the input: not sent again
)

var outcomeNames = map[Outcome]string{Cancelled: "Cancelled", SkippedFinal: "SkippedFinal", Failed: "Failed",
	Unknown: "Unknown", Aborted: "Aborted", Duplicate: "Duplicate"}

func (o Outcome) String() string { return cmp.Or(outcomeNames[o], fmt.Sprintf("Outcome(%d)", int(o))) }

// Event is one step of a job.
type Event struct {
	Kind      Kind
	At        time.Time // the job clock's time when the event was sent
	ID        string
	MachineID string
	Index     int // position in the input; -1 for Verified, Paused, Resumed and Finished
	Outcome   Outcome
	Action    mde.MachineAction // the returned or re-read entity; the input (or known) action when nothing came back
	Err       error
	Reread    bool // Action comes from a re-read after the cancel's outcome was unknown
	Until     time.Time
	Changes   []Change

	// CompletedBeforeCancel: the returned entity is Cancelled while a
	// live response command had already Completed (the API's known race).
	CompletedBeforeCancel bool

	Done, Total int             // input actions finished so far, and in all
	Counts      map[Outcome]int // on Finished: how many ended each way
}

// Change is another action on a verified device whose status differs from
// what the job knew before it started.
type Change struct{ Before, After mde.MachineAction }

var (
	// ErrNoComment fails every action of a job started with a blank comment:
	// the API rejects a cancel without one.
	ErrNoComment = errors.New("bulk: a cancellation comment is required")
	// ErrNoID fails an input action without an id.
	ErrNoID = errors.New("bulk: the action has no id")
	// ErrNotCancelled is a cancel the API answered with success but with an
	// action that is not Cancelled.
	ErrNotCancelled = errors.New("bulk: the API accepted the cancel but the action is not Cancelled")
)

// Job is a running bulk cancel. Read Events until it closes, or cancel the
// context given to Start: events that nobody reads then are dropped.
type Job struct {
	svc     Service
	clock   pace.Clock
	budget  *pace.Budget
	lists   *pace.Budget
	verify  bool
	comment string
	events  chan Event

	mu      sync.Mutex
	paused  bool
	aborted bool
	changed chan struct{} // closed, and replaced, when paused or aborted changes

	// Used by the job's goroutine only.
	before  map[string]mde.MachineAction // by lower-case id, as of the start
	known   map[string]mde.MachineAction // by lower-case id, kept up to date
	targets map[string]bool              // lower-case ids of the input
	done    int
	total   int
	counts  map[Outcome]int
}

// item is one input action and its position.
type item struct {
	index  int
	action mde.MachineAction
}

// device is the input actions on one machine, in input order.
type device struct {
	id    string
	items []item
}

// Start starts cancelling actions with comment and returns at once.
func Start(ctx context.Context, svc Service, actions []mde.MachineAction, comment string, opts Options) *Job {
	j := &Job{
		svc:     svc,
		clock:   opts.Clock,
		budget:  opts.Budget,
		lists:   opts.ListBudget,
		verify:  opts.Verify,
		comment: comment,
		events:  make(chan Event),
		changed: make(chan struct{}),
		before:  map[string]mde.MachineAction{},
		targets: map[string]bool{},
		total:   len(actions),
		counts:  map[Outcome]int{},
	}
	if j.clock == nil {
		j.clock = pace.RealClock()
	}
	for _, a := range opts.Known {
		remember(j.before, a)
	}
	for _, a := range actions {
		remember(j.before, a)
		j.targets[key(a.ID)] = true
	}
	j.known = maps.Clone(j.before)
	go j.run(ctx, actions)
	return j
}

// Events returns the job's events; the channel is closed when the job ends.
func (j *Job) Events() <-chan Event { return j.events }

// Pause makes the job stop before its next call, until Resume or Abort.
func (j *Job) Pause() { j.update(func() { j.paused = true }) }

// Resume undoes Pause.
func (j *Job) Resume() { j.update(func() { j.paused = false }) }

// Abort sends no new cancel: a call in flight completes and is reported,
// every action not yet sent ends Aborted, and the job finishes without
// re-reading any more devices.
func (j *Job) Abort() { j.update(func() { j.aborted = true }) }

func (j *Job) update(f func()) {
	j.mu.Lock()
	defer j.mu.Unlock()
	p, a := j.paused, j.aborted
	f()
	if p != j.paused || a != j.aborted {
		close(j.changed)
		j.changed = make(chan struct{})
	}
}

func (j *Job) state() (paused, aborted bool, changed <-chan struct{}) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.paused, j.aborted, j.changed
}

func (j *Job) run(ctx context.Context, actions []mde.MachineAction) {
	defer close(j.events)
	defer func() {
		// A bug must not take the process (and the terminal) down with it:
		// the job ends, and says so.
		if r := recover(); r != nil {
			j.emit(ctx, Event{Kind: Finished, Index: -1, Counts: maps.Clone(j.counts),
				Err: fmt.Errorf("%w: %v; the actions not reported yet may or may not be cancelled: refresh (r) and look before trying again", ErrInternal, r)})
		}
	}()
	devices, dups := plan(actions)
	for _, it := range dups {
		j.finish(ctx, Event{Outcome: Duplicate, Action: it.action}, it)
	}
	for _, d := range devices {
		touched := false
		for _, it := range d.items {
			if j.cancel(ctx, it) {
				touched = true
			}
		}
		if j.verify && touched && d.id != "" && j.waitForList(ctx) {
			j.verifyDevice(ctx, d.id)
		}
	}
	j.emit(ctx, Event{Kind: Finished, Index: -1, Counts: maps.Clone(j.counts)})
}

// plan drops repeated ids and groups the rest by machine, in the order of
// each machine's first appearance.
func plan(actions []mde.MachineAction) (devices []*device, dups []item) {
	seen := map[string]bool{}
	byID := map[string]*device{}
	for i, a := range actions {
		it := item{i, a}
		if k := key(a.ID); k != "" {
			if seen[k] {
				dups = append(dups, it)
				continue
			}
			seen[k] = true
		}
		d := byID[a.MachineID]
		if d == nil {
			d = &device{id: a.MachineID}
			byID[a.MachineID] = d
			devices = append(devices, d)
		}
		d.items = append(d.items, it)
	}
	return devices, dups
}

// cancel takes one action to its outcome. It reports whether the action
// may have changed on the API's side (so the device is worth re-reading).
func (j *Job) cancel(ctx context.Context, it item) (touched bool) {
	id := it.action.ID
	var notBefore time.Time // from a 429's Retry-After
	var throttled error     // that 429
	for {
		if !j.proceed(ctx) {
			j.finish(ctx, Event{Outcome: Aborted, Action: j.latest(it)}, it)
			return false
		}
		switch latest := j.latest(it); {
		case strings.TrimSpace(id) == "":
			j.finish(ctx, Event{Outcome: Failed, Err: ErrNoID, Action: latest}, it)
			return false
		case latest.Status.Final():
			j.finish(ctx, Event{Outcome: SkippedFinal, Action: latest}, it)
			return false
		case strings.TrimSpace(j.comment) == "":
			j.finish(ctx, Event{Outcome: Failed, Err: ErrNoComment, Action: latest}, it)
			return false
		}
		if until := maxTime(notBefore, j.budget.Next()); until.After(j.clock.Now()) {
			cause := throttled // shown while the 429's wait is the one that counts
			if until.After(notBefore) {
				cause = nil
			}
			j.emit(ctx, j.itemEvent(Event{Kind: Waiting, Until: until, Err: cause}, it))
			j.sleepUntil(ctx, until)
			continue // pause, abort and the budget are checked again
		}

		j.emit(ctx, j.itemEvent(Event{Kind: Started}, it))
		a, err := j.svc.Cancel(ctx, id, j.comment)
		if ra, ok := mde.RetryAfter(err); ok {
			// Refused, not processed: wait as asked, then send it again.
			notBefore, throttled = j.clock.Now().Add(cmp.Or(ra, mde.DefaultRetryAfter)), err
			continue
		}
		switch {
		case err == nil:
			j.learn(a)
			e := Event{Outcome: Cancelled, Action: a, CompletedBeforeCancel: a.CompletedBeforeCancel()}
			if a.Status != mde.StatusCancelled {
				e.Outcome, e.Err = Failed, fmt.Errorf("%w: it is %q", ErrNotCancelled, a.Status)
			}
			j.finish(ctx, e, it)
			return true
		case mayHaveApplied(err):
			j.finish(ctx, j.reread(ctx, it, err), it)
			return true
		case isBadRequest(err):
			// The usual reason: it finished (or was cancelled elsewhere)
			// after the list was read. Re-read it to know, and say so.
			e := j.reread(ctx, it, err)
			switch {
			case e.Reread && e.Action.Status == mde.StatusCancelled:
				// cancelled by someone else meanwhile: as wanted
			case e.Reread && e.Action.Status.Final():
				e.Outcome, e.Err = SkippedFinal, nil
			default:
				e.Outcome = Failed
			}
			j.finish(ctx, e, it)
			return true
		default:
			j.finish(ctx, Event{Outcome: Failed, Err: err, Action: j.latest(it)}, it)
			return false
		}
	}
}

// ErrInternal is the error of a job stopped by a bug in the program.
var ErrInternal = errors.New("bulk: internal error, the bulk cancel stopped")

// isBadRequest reports an API refusal with 400, such as an action already
// in a final state.
func isBadRequest(err error) bool {
	e, ok := mde.AsAPIError(err)
	return ok && e.StatusCode == 400
}

// mayHaveApplied reports whether a failed cancel may have reached the API
// and been applied: anything but an API answer below 500 or an error that
// certainly came before sending.
func mayHaveApplied(err error) bool {
	return !errors.Is(err, audit.ErrAuditUnavailable) && mde.OutcomeUnknown(err)
}

// reread learns what became of a cancel whose outcome is unknown, with one
// List by id, and makes its Done event.
func (j *Job) reread(ctx context.Context, it item, cause error) Event {
	e := Event{Outcome: Unknown, Err: cause, Action: j.latest(it)}
	if ctx.Err() != nil {
		return e
	}
	got, err := j.svc.List(ctx, mde.Query{IDs: []string{it.action.ID}})
	if err != nil {
		e.Err = errors.Join(cause, fmt.Errorf("bulk: re-reading %s: %w", it.action.ID, err))
		return e
	}
	for _, a := range got {
		if !strings.EqualFold(a.ID, it.action.ID) {
			continue
		}
		j.learn(a)
		e.Action, e.Reread = a, true
		if a.Status == mde.StatusCancelled {
			e.Outcome, e.Err, e.CompletedBeforeCancel = Cancelled, nil, a.CompletedBeforeCancel()
		}
		return e
	}
	e.Err = errors.Join(cause, fmt.Errorf("bulk: re-reading %s: the API does not list it", it.action.ID))
	return e
}

// verifyDevice re-reads a device and reports the other actions on it whose
// status differs from the one known before the job started. Actions the
// job knew nothing about are not reported.
func (j *Job) verifyDevice(ctx context.Context, machineID string) {
	e := Event{Kind: Verified, MachineID: machineID, Index: -1}
	got, err := j.svc.List(ctx, mde.Query{MachineIDs: []string{machineID}})
	if err != nil {
		e.Err = fmt.Errorf("bulk: re-reading device %s: %w", machineID, err)
	}
	for _, a := range got {
		j.learn(a)
		k := key(a.ID)
		if b, ok := j.before[k]; ok && !j.targets[k] && !strings.EqualFold(string(b.Status), string(a.Status)) {
			e.Changes = append(e.Changes, Change{Before: b, After: a})
		}
	}
	j.emit(ctx, e)
}

// waitForList sits out the list budget before a device's re-read, as
// Waiting events, and reports whether the job may go on: Pause holds it
// and Abort skips the re-read, as before a cancel.
func (j *Job) waitForList(ctx context.Context) bool {
	for j.proceed(ctx) {
		until := j.lists.Next()
		if !until.After(j.clock.Now()) {
			return true
		}
		j.emit(ctx, Event{Kind: Waiting, Until: until, Index: -1})
		j.sleepUntil(ctx, until)
	}
	return false
}

// proceed waits while the job is paused, sending Paused and Resumed, and
// reports whether the job may go on (not aborted, context not done).
func (j *Job) proceed(ctx context.Context) bool {
	wasPaused := false
	for {
		paused, aborted, changed := j.state()
		if aborted || ctx.Err() != nil {
			return false
		}
		if !paused {
			if wasPaused {
				j.emit(ctx, Event{Kind: Resumed, Index: -1})
			}
			return true
		}
		if !wasPaused {
			j.emit(ctx, Event{Kind: Paused, Index: -1})
			wasPaused = true
		}
		select {
		case <-changed:
		case <-ctx.Done():
		}
	}
}

// sleepUntil sleeps on the job's clock until t, or until Pause, Abort or
// the context interrupts it.
func (j *Job) sleepUntil(ctx context.Context, t time.Time) {
	_, _, changed := j.state()
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-changed:
			cancel()
		case <-sctx.Done():
		}
	}()
	_ = j.clock.Sleep(sctx, t.Sub(j.clock.Now()))
}

// finish counts one input action as done and sends its Done event.
func (j *Job) finish(ctx context.Context, e Event, it item) {
	e.Kind = Done
	j.done++
	j.counts[e.Outcome]++
	j.emit(ctx, j.itemEvent(e, it))
}

func (j *Job) itemEvent(e Event, it item) Event {
	e.ID, e.MachineID, e.Index = it.action.ID, it.action.MachineID, it.index
	return e
}

func (j *Job) emit(ctx context.Context, e Event) {
	e.At, e.Done, e.Total = j.clock.Now(), j.done, j.total
	select {
	case j.events <- e:
	case <-ctx.Done():
	}
}

// latest is the job's latest knowledge of an input action.
func (j *Job) latest(it item) mde.MachineAction {
	if a, ok := j.known[key(it.action.ID)]; ok {
		return a
	}
	return it.action
}

// learn records an entity the API returned.
func (j *Job) learn(a mde.MachineAction) {
	if k := key(a.ID); k != "" {
		j.known[k] = a
	}
}

// remember adds a to m unless m holds a version updated later.
func remember(m map[string]mde.MachineAction, a mde.MachineAction) {
	k := key(a.ID)
	if k == "" {
		return
	}
	if old, ok := m[k]; ok && old.LastUpdateDateTimeUtc.After(a.LastUpdateDateTimeUtc.Time) {
		return
	}
	m[k] = a
}

func key(id string) string { return strings.ToLower(strings.TrimSpace(id)) }

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
