package ui

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/mde/bulk"
)

// fakeBulk records what it was asked and replays events the test sends.
type fakeBulk struct {
	mu      sync.Mutex
	actions []mde.MachineAction
	comment string
	job     *fakeJob
}

type fakeJob struct {
	events                 chan bulk.Event
	pauses, resumes, stops int
}

func (j *fakeJob) Events() <-chan bulk.Event { return j.events }
func (j *fakeJob) Pause()                    { j.pauses++ }
func (j *fakeJob) Resume()                   { j.resumes++ }
func (j *fakeJob) Abort()                    { j.stops++ }

func (f *fakeBulk) Start(_ context.Context, actions, known []mde.MachineAction, comment string) BulkJob {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.actions, f.comment = actions, comment
	f.job = &fakeJob{events: make(chan bulk.Event, 100)}
	return f.job
}

// manyActions returns n open actions, oldest first.
func manyActions(n int) []mde.MachineAction {
	out := make([]mde.MachineAction, n)
	for i := range out {
		out[i] = mde.MachineAction{ID: fmt.Sprintf("id-%03d", i), Type: mde.TypeIsolate, Status: mde.StatusPending,
			MachineID: fmt.Sprintf("m%02d", i%5), ComputerDNSName: fmt.Sprintf("host-%02d", i%5),
			CreationDateTimeUtc: ts(time.Duration(n-i) * time.Minute), LastUpdateDateTimeUtc: ts(time.Hour)}
	}
	return out
}

func newBulkHarness(t *testing.T, n int) (*harness, *fakeBulk) {
	fb := &fakeBulk{}
	h := newHarness(t, &fakeService{actions: manyActions(n)}, func(o *Options) { o.Bulk = fb })
	return h, fb
}

// bulkAll marks every row and confirms a bulk cancel of them with comment.
func (h *harness) bulkAll(comment string) {
	h.t.Helper()
	h.press("a", "c")
	h.typeText(comment)
	h.press("enter")
	h.send(runCmd(h.send(keyPress("y"))))
}

// deliver sends the job's next event to the model, as the runtime would.
func (h *harness) deliver(fb *fakeBulk, ev bulk.Event) {
	h.t.Helper()
	fb.job.events <- ev
	h.send(runCmd(nextEventCmd(fb.job)))
}

func TestBulkCancelOfMarkedActions(t *testing.T) {
	h, fb := newBulkHarness(t, 4)
	h.press("space", "space", "j", "space") // marks rows 0, 1 and 3
	h.press("c")
	if h.m.form == nil || len(h.m.form.Actions()) != 3 {
		t.Fatal("c with marks did not open the form for the marked actions")
	}
	s := h.screen()
	if !strings.Contains(s, "Cancel 3 actions on 3 devices") || !strings.Contains(s, "3 Isolate") {
		t.Fatalf("bulk form does not state the count and types:\n%s", s)
	}
	h.typeText("wrong group")
	h.press("enter")
	if !strings.Contains(h.screen(), "Cancel these 3 actions? [y/N]") {
		t.Fatalf("confirmation:\n%s", h.screen())
	}
	start := h.send(keyPress("y"))
	h.send(runCmd(start)) // bulkStartedMsg
	if fb.job == nil || len(fb.actions) != 3 || fb.comment != "wrong group" {
		t.Fatalf("bulk started with %d actions, comment %q", len(fb.actions), fb.comment)
	}
	ids := []string{fb.actions[0].ID, fb.actions[1].ID, fb.actions[2].ID}
	for _, r := range h.m.table.Rows() {
		if r.Marked && (!r.Queued || r.Busy) {
			t.Fatal("a marked row is not shown as queued before its turn")
		}
	}
	now := testNow
	h.deliver(fb, bulk.Event{Kind: bulk.Started, ID: ids[0], Total: 3})
	cancelled := fb.actions[0]
	cancelled.Status, cancelled.Edit().CancellationRequestor = mde.StatusCancelled, "responder@contoso.com"
	cancelled.LastUpdateDateTimeUtc = mde.Timestamp{Time: now}
	h.deliver(fb, bulk.Event{Kind: bulk.Done, ID: ids[0], Outcome: bulk.Cancelled, Action: cancelled, Done: 1, Total: 3})
	h.deliver(fb, bulk.Event{Kind: bulk.Waiting, Until: now.Add(2 * time.Second), Done: 1, Total: 3})
	if s := h.m.msg.text; !strings.Contains(s, "Cancelling 1/3") || !strings.Contains(s, "pacing within the API's limits: next in 2s") {
		t.Fatalf("our own pacing is not told apart:\n%s", s)
	}
	h.deliver(fb, bulk.Event{Kind: bulk.Waiting, Until: now.Add(37 * time.Second), Err: &mde.APIError{StatusCode: 429}, Done: 1, Total: 3})
	if s := h.m.msg.text; !strings.Contains(s, "Cancelling 1/3") || !strings.Contains(s, "throttled by the API (429): resuming in 37s") {
		t.Fatalf("no progress or countdown:\n%s", s)
	}
	h.deliver(fb, bulk.Event{Kind: bulk.Done, ID: ids[1], Outcome: bulk.Failed, Action: fb.actions[1],
		Err: &mde.APIError{StatusCode: 403, Code: "Forbidden"}, Done: 2, Total: 3})
	h.deliver(fb, bulk.Event{Kind: bulk.Done, ID: ids[2], Outcome: bulk.SkippedFinal, Action: fb.actions[2], Done: 3, Total: 3})
	h.send(runCmd(nextEventCmd(fb.job))) // nothing more:
	close(fb.job.events)
	h.send(runCmd(nextEventCmd(fb.job)))
	if h.m.bulk == nil || !h.m.bulk.finished {
		t.Fatal("the end of the job was not noticed")
	}
	s = strings.Join(strings.Fields(h.screen()), " ")
	if !strings.Contains(s, "Bulk cancel finished: 1 cancelled, 1 already finished, 1 failed") {
		t.Fatalf("summary:\n%s", h.screen())
	}
	for _, r := range h.m.table.Rows() {
		switch r.Action.ID {
		case ids[0]:
			if r.Action.Status != mde.StatusCancelled || r.Marked || r.Busy {
				t.Fatalf("cancelled row: %+v", r)
			}
		case ids[1]:
			if !r.Marked || r.Busy {
				t.Fatal("the failed row should keep its mark for a retry")
			}
		}
	}
	if !strings.Contains(h.m.failures[ids[1]], "permission missing (403)") {
		t.Fatalf("failure reason not kept: %q", h.m.failures[ids[1]])
	}
}

func TestBulkOfMoreThanTenAsksForTheCount(t *testing.T) {
	h, fb := newBulkHarness(t, 12)
	h.press("a", "c")
	h.typeText("storm of isolations")
	h.press("enter")
	if !strings.Contains(h.screen(), "Type 12 and press enter") {
		t.Fatalf("no typed confirmation:\n%s", h.screen())
	}
	for _, wrong := range []string{"y", "11", "120"} {
		h.typeText(wrong)
		h.press("enter")
		if h.m.form == nil || fb.job != nil {
			t.Fatalf("%q confirmed a bulk cancel of 12", wrong)
		}
		if !strings.Contains(h.screen(), "Type 12, the number of actions") {
			t.Fatalf("no hint after %q:\n%s", wrong, h.screen())
		}
		for range wrong {
			h.send(keyPress("backspace"))
		}
	}
	h.typeText("12")
	start := h.send(keyPress("enter"))
	h.send(runCmd(start))
	if fb.job == nil || len(fb.actions) != 12 {
		t.Fatal("typing the count did not start the bulk cancel")
	}
}

func TestBulkPauseStopAndQuitWarning(t *testing.T) {
	h, fb := newBulkHarness(t, 3)
	h.bulkAll("x")
	h.press("p")
	h.deliver(fb, bulk.Event{Kind: bulk.Paused, Total: 3})
	if fb.job.pauses != 1 || !strings.Contains(h.screen(), "PAUSED") {
		t.Fatal("p did not pause")
	}
	h.press("p")
	h.deliver(fb, bulk.Event{Kind: bulk.Resumed, Total: 3})
	if fb.job.resumes != 1 {
		t.Fatal("p did not resume")
	}
	h.press("x")
	if fb.job.stops != 1 {
		t.Fatal("x did not stop the rest")
	}
	h.press("q")
	if !strings.Contains(h.m.msg.text, "press q again") {
		t.Fatal("q quit during a bulk cancel without warning")
	}
	h.press("c")
	if h.m.form != nil {
		t.Fatal("a second cancel started during a bulk cancel")
	}
}

func TestReadOnlyHasNoMarksOrBulk(t *testing.T) {
	h := newHarness(t, &fakeService{actions: manyActions(3)}, func(o *Options) { o.ReadOnly = true })
	h.press("space", "a", "c")
	if len(h.m.marked) != 0 || h.m.form != nil {
		t.Fatal("marks or a cancel in read-only mode")
	}
}

// Found by a tester: what a bulk cancel would leave out, the quit during
// one, and the report that got cut.
func TestBulkFindingsFromANewUser(t *testing.T) {
	h, fb := newBulkHarness(t, 12)
	h.press("a")
	h.press("/")
	h.typeText("host-01")
	h.press("enter")
	if s := h.screen(); !strings.Contains(s, "marked (+") {
		t.Fatalf("hidden marks not counted in the header:\n%s", s)
	}
	h.press("c")
	if s := strings.Join(strings.Fields(h.screen()), " "); !strings.Contains(s, "more marked actions are hidden by the filter or search: not included") {
		t.Fatalf("the form does not say marked actions are left out:\n%s", h.screen())
	}
	h.typeText("x")
	h.press("enter")
	h.send(runCmd(h.send(keyPress("y"))))
	start := fb.job
	if start == nil {
		// 3 shown (host-01 is every fifth of 12): y confirms
		t.Fatal("bulk did not start")
	}
	h.press("u")
	if !strings.Contains(h.m.msg.text, "its actions are fixed until it ends") {
		t.Fatalf("marks changed during a bulk: %q", h.m.msg.text)
	}
	h.send(tea.WindowSizeMsg{Width: 50, Height: 12})
	if cmd := h.send(keyPress("q")); cmd != nil {
		t.Fatal("q on the too-small screen quit a running bulk cancel without asking")
	}
	h.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	if !strings.Contains(h.m.msg.text, "not sent yet") {
		t.Fatalf("quit warning: %q", h.m.msg.text)
	}
	h.deliver(fb, bulk.Event{Kind: bulk.Started, ID: "id-000", Total: 3})
	if !strings.Contains(h.m.msg.text, "press q again") {
		t.Fatal("progress replaced the quit warning")
	}
	cmd := h.send(keyPress("q"))
	if cmd == nil || fb.job.stops != 1 {
		t.Fatal("the second q did not stop the job and quit")
	}
	if r := h.m.Report(); len(r) == 0 || !strings.Contains(r[0], "stopped by quitting") {
		t.Fatalf("report after quitting: %v", r)
	}
}

func TestBulkReportView(t *testing.T) {
	h, fb := newBulkHarness(t, 2)
	h.bulkAll("x")
	for i, a := range fb.actions {
		c := a
		c.Status = mde.StatusCancelled
		h.deliver(fb, bulk.Event{Kind: bulk.Done, ID: a.ID, Outcome: bulk.Cancelled, Action: c, CompletedBeforeCancel: i == 0, Done: i + 1, Total: 2})
	}
	close(fb.job.events)
	h.send(runCmd(nextEventCmd(fb.job)))
	if !strings.Contains(h.m.msg.text, "R shows the report") {
		t.Fatalf("summary: %q", h.m.msg.text)
	}
	h.press("R")
	s := strings.Join(strings.Fields(h.screen()), " ")
	if !strings.Contains(s, "Bulk cancel of 2 actions: 2 cancelled.") || !strings.Contains(s, "a command had already completed") {
		t.Fatalf("report view:\n%s", h.screen())
	}
	h.press("esc")
	if h.m.view != viewList {
		t.Fatal("esc did not leave the report")
	}
}

func TestEmptyResultSaysTheFilterHidesIt(t *testing.T) {
	h := newHarness(t, &fakeService{actions: sampleActions()}, nil)
	h.press("/")
	h.typeText("no-such-host")
	h.press("enter")
	if !strings.Contains(h.screen(), "No action matches the filter or the search") {
		t.Fatalf("empty result:\n%s", h.screen())
	}
}

// TestBulkStoppedByABugIsReported: a job that ends early with an error
// (the engine caught a panic) says so in the summary and the report.
func TestBulkStoppedByABugIsReported(t *testing.T) {
	h, fb := newBulkHarness(t, 3)
	h.bulkAll("x")
	a := fb.actions[0]
	a.Status = mde.StatusCancelled
	h.deliver(fb, bulk.Event{Kind: bulk.Done, ID: a.ID, Outcome: bulk.Cancelled, Action: a, Done: 1, Total: 3})
	h.deliver(fb, bulk.Event{Kind: bulk.Finished, Index: -1, Err: fmt.Errorf("%w: boom\x1b]52;c;AA\x07", bulk.ErrInternal)})
	close(fb.job.events)
	h.send(runCmd(nextEventCmd(fb.job)))
	if h.m.msg.kind != footErr || !strings.Contains(h.m.msg.text, "R shows the report") {
		t.Fatalf("summary: %q", h.m.msg.text)
	}
	h.press("R")
	s := strings.Join(strings.Fields(h.screen()), " ")
	if !strings.Contains(s, "internal error, the bulk cancel stopped") || strings.Contains(h.m.View().Content, "\x1b]52") {
		t.Fatalf("report view:\n%s", h.screen())
	}
}

func TestBulkCountdownCountsDown(t *testing.T) {
	h, fb := newBulkHarness(t, 3)
	now := testNow
	h.m.opts.Now = func() time.Time { return now }
	h.bulkAll("stuck")
	h.deliver(fb, bulk.Event{Kind: bulk.Waiting, Until: now.Add(3 * time.Second), Err: &mde.APIError{StatusCode: 429}, Total: 3})
	for _, want := range []string{"resuming in 3s", "resuming in 2s", "resuming in 1s"} {
		if !strings.Contains(h.m.msg.text, want) {
			t.Fatalf("at %s the footer reads %q, want %q", now.Sub(testNow), h.m.msg.text, want)
		}
		now = now.Add(time.Second)
		if h.send(bulkTickMsg{}) == nil && now.Before(testNow.Add(3*time.Second)) {
			t.Fatal("the countdown stopped ticking before its end")
		}
	}
	if s := h.m.msg.text; strings.Contains(s, "resuming in") || !strings.Contains(s, "Cancelling 0/3") {
		t.Fatalf("after the wait the footer still counts down: %q", s)
	}
	if h.send(bulkTickMsg{}) != nil {
		t.Fatal("the countdown ticks on after its end")
	}
}

// TestBulkStopSaysWhatItWaitsFor: stopping or quitting while the job waits
// for the budget does not speak of a cancel under way; while one is out, it
// does.
func TestBulkStopSaysWhatItWaitsFor(t *testing.T) {
	h, fb := newBulkHarness(t, 3)
	h.bulkAll("stuck")
	h.deliver(fb, bulk.Event{Kind: bulk.Started, ID: fb.actions[0].ID, Total: 3})
	h.press("q")
	if !strings.Contains(h.m.msg.text, "the cancel under way finishes") {
		t.Fatalf("quit while a cancel is out: %q", h.m.msg.text)
	}
	h.m.quitArm = false
	h.deliver(fb, bulk.Event{Kind: bulk.Done, ID: fb.actions[0].ID, Outcome: bulk.Cancelled, Action: fb.actions[0], Done: 1, Total: 3})
	h.deliver(fb, bulk.Event{Kind: bulk.Waiting, Until: testNow.Add(20 * time.Second), Index: -1, Done: 1, Total: 3})
	h.press("x")
	if s := h.m.msg.text; s != "Stopping: no new cancel is sent." || fb.job.stops != 1 {
		t.Fatalf("stop during a wait: %q (%d stops)", s, fb.job.stops)
	}
}

// TestBulkReportNamesEachActionThatDidNotEndCancelled: the report says
// which actions failed or stayed unknown, and why.
func TestBulkReportNamesEachActionThatDidNotEndCancelled(t *testing.T) {
	h, fb := newBulkHarness(t, 3)
	h.bulkAll("wrong group")
	a := fb.actions
	h.deliver(fb, bulk.Event{Kind: bulk.Done, ID: a[0].ID, Outcome: bulk.Failed, Action: a[0], Err: &mde.APIError{StatusCode: 403, Code: "Forbidden"}, Done: 1, Total: 3})
	h.deliver(fb, bulk.Event{Kind: bulk.Done, ID: a[1].ID, Outcome: bulk.Unknown, Reread: true, Action: a[1], Err: &mde.APIError{StatusCode: 503}, Done: 2, Total: 3})
	h.deliver(fb, bulk.Event{Kind: bulk.Done, ID: a[2].ID, Outcome: bulk.Cancelled, Action: a[2], Done: 3, Total: 3})
	close(fb.job.events)
	h.send(runCmd(nextEventCmd(fb.job)))
	if !strings.Contains(h.m.msg.text, "R lists them") {
		t.Fatalf("summary %q does not point at the report", h.m.msg.text)
	}
	report := strings.Join(h.m.bulk.Report(), "\n")
	for _, want := range []string{a[0].ID + "): FAILED: The cancel was refused: permission missing (403)",
		a[1].ID + "): UNKNOWN: the cancel's answer was lost and a re-read shows it still Pending"} {
		if !strings.Contains(report, want) {
			t.Fatalf("report lacks %q:\n%s", want, report)
		}
	}
	if strings.Contains(report, a[2].ID) {
		t.Fatalf("the cancelled action is listed as a problem:\n%s", report)
	}
}

// TestBulkRowsSayQueuedUntilTheirTurn: before its call goes out a row says
// Queued; the one whose call is out says Cancelling; a refresh keeps both.
func TestBulkRowsSayQueuedUntilTheirTurn(t *testing.T) {
	fb := &fakeBulk{}
	h := newHarness(t, &fakeService{actions: manyActions(3)}, func(o *Options) {
		o.Bulk, o.Profiles = fb, &fakeProfiles{set: newTenantSet()}
	})
	h.bulkAll("wrong group")
	h.deliver(fb, bulk.Event{Kind: bulk.Started, ID: fb.actions[0].ID, Total: 3})
	h.press("r")
	states := map[string]string{}
	for _, r := range h.m.table.Rows() {
		switch {
		case r.Busy:
			states[r.Action.ID] = "Cancelling"
		case r.Queued:
			states[r.Action.ID] = "Queued"
		}
	}
	if states[fb.actions[0].ID] != "Cancelling" || states[fb.actions[1].ID] != "Queued" || states[fb.actions[2].ID] != "Queued" {
		t.Fatalf("row states %v", states)
	}
	if s := h.screen(); strings.Count(s, "Queued") != 2 || strings.Count(s, "Cancelling") < 1 {
		t.Fatalf("screen:\n%s", s)
	}
	h.press("p")
	h.deliver(fb, bulk.Event{Kind: bulk.Paused, Total: 3})
	h.press("P")
	if !strings.Contains(h.m.msg.text, "paused: resume it (p) or stop it (x)") {
		t.Fatalf("switching while paused: %q", h.m.msg.text)
	}
}

// TestBulkCommentIsNotCarriedToTheNextBulk: once every action of a bulk
// cancel ended Cancelled, the next bulk's form starts empty; with failures
// left to retry, it keeps the comment.
func TestBulkCommentIsNotCarriedToTheNextBulk(t *testing.T) {
	h, fb := newBulkHarness(t, 3)
	h.bulkAll("first group")
	for i, a := range fb.actions {
		c := a
		c.Status = mde.StatusCancelled
		h.deliver(fb, bulk.Event{Kind: bulk.Done, ID: a.ID, Outcome: bulk.Cancelled, Action: c, Done: i + 1, Total: 3})
	}
	close(fb.job.events)
	h.send(runCmd(nextEventCmd(fb.job)))
	if _, kept := h.m.drafts[bulkDraft]; kept {
		t.Fatal("the comment of a finished bulk cancel is kept for the next one")
	}
}
