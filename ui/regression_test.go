package ui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/mde/audit"
	"github.com/mdeactions/mdeactions/ui/cancelform"
)

// Found by a tester: the confirmation hidden behind "terminal too small"
// still took y.
func TestTooSmallTerminalTakesOnlyQuit(t *testing.T) {
	svc := &fakeService{actions: sampleActions()}
	h := newHarness(t, svc, nil)
	h.press("c")
	h.typeText("reason")
	h.press("enter")
	h.send(tea.WindowSizeMsg{Width: 59, Height: 14})
	h.press("y", "j", "c", "enter")
	h.send(tea.PasteMsg{Content: "pasted"})
	if len(svc.cancels) != 0 {
		t.Fatal("a cancel was sent while the screen said it was too small")
	}
	h.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	if h.m.form == nil || h.m.form.Stage() != cancelform.StageConfirm || h.m.form.Comment() != "reason" {
		t.Fatal("the hidden form changed while the terminal was too small")
	}
	h.send(tea.WindowSizeMsg{Width: 59, Height: 14})
	cmd := h.send(keyPress("q"))
	if cmd == nil {
		t.Fatal("q did not quit on the too-small screen")
	}
	if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Fatal("q did not quit on the too-small screen")
	}
}

// Found by a tester: a list requested before a cancel was answered put the
// row back to Pending.
func TestStaleListDoesNotUndoACancel(t *testing.T) {
	svc := &fakeService{actions: sampleActions()}
	h := newHarness(t, svc, nil)
	for i := range svc.actions {
		svc.actions[i].LastUpdateDateTimeUtc = ts(time.Hour)
	}
	refresh := h.send(keyPress("r")) // the list request leaves now…
	stale := refresh()               // …and reads the Pending state
	id := h.selected().ID
	h.press("c")
	h.typeText("wrong device")
	h.press("enter", "y") // the cancel is answered first
	if h.selected().Status != mde.StatusCancelled {
		t.Fatal("cancel not applied")
	}
	h.send(stale) // then the older list arrives
	for _, r := range h.m.table.Rows() {
		if r.Action.ID == id && r.Action.Status != mde.StatusCancelled {
			t.Fatalf("the older list put the row back to %s", r.Action.Status)
		}
	}
	// A list newer than the cancel is the truth again.
	newer := sampleActions()
	for i := range newer {
		newer[i].LastUpdateDateTimeUtc = ts(-time.Minute)
	}
	h.send(loadedMsg{gen: h.m.gen, actions: ptrs(newer), at: testNow})
	if _, ok := h.m.known[id]; ok {
		t.Fatal("a newer list did not replace the remembered cancel result")
	}
}

// Found by a tester: long errors were cut to one line.
func TestLongErrorsWrapInTheFooter(t *testing.T) {
	svc := &fakeService{actions: sampleActions(), cancelErr: &mde.APIError{StatusCode: 400, Code: "BadRequest",
		Message: "Action aff494ee-540d-4c6d-9e89-0753404e33d1 is already in a final state (Succeeded) and cannot be cancelled", Target: "5b1d0c7e-1111-2222-3333-444455556666"}}
	h := newHarness(t, svc, nil)
	h.press("c")
	h.typeText("x")
	h.press("enter", "y")
	s := h.screen()
	flat := strings.Join(strings.Fields(s), " ")
	for _, w := range []string{"Your comment is kept: press c to try again", "cannot be cancelled", "5b1d0c7e-1111-2222-3333-444455556666", "A re-read shows it still Pending"} {
		if !strings.Contains(flat, w) {
			t.Fatalf("footer lost %q:\n%s", w, s)
		}
	}
	if n := len(strings.Split(h.m.View().Content, "\n")); n != 24 {
		t.Fatalf("screen has %d lines, want 24", n)
	}
	if h.m.table.Cursor() != 0 || !strings.Contains(s, ">   Isolate") {
		t.Fatal("the cursor row is not visible with a long footer")
	}
}

func TestListErrorsSayWhatToFix(t *testing.T) {
	h := newHarness(t, &fakeService{listErr: &mde.APIError{StatusCode: 404, Code: "NotFound", Path: "/api/api/machineactions"}}, nil)
	if !strings.Contains(h.m.loadErr, "404 Not Found for /api/api/machineactions. Check --api-url") {
		t.Fatalf("404 on list: %q", h.m.loadErr)
	}
	if strings.Contains(h.screen(), "0 actions") {
		t.Fatal("header claims an empty list though none was read")
	}
	if strings.Count(h.screen(), "404 Not Found") != 1 {
		t.Fatalf("the error is shown twice:\n%s", h.screen())
	}
	h = newHarness(t, &fakeService{listErr: &mde.APIError{StatusCode: 429, RetryAfter: 72 * 365 * 24 * time.Hour}}, nil)
	if !strings.Contains(h.m.loadErr, "Listing the actions was throttled by the API: try again in more than an hour") {
		t.Fatalf("absurd Retry-After: %q", h.m.loadErr)
	}
	h = newHarness(t, &fakeService{listErr: &mde.APIError{StatusCode: 400}}, nil)
	if strings.Contains(h.m.loadErr, "..") || strings.Contains(h.m.loadErr, ": .") {
		t.Fatalf("odd punctuation: %q", h.m.loadErr)
	}
}

func TestUnreadableCancelAnswerSaysItMayHaveWorked(t *testing.T) {
	h := newHarness(t, &fakeService{actions: sampleActions(), cancelErr: mde.ErrBadAnswer}, nil)
	h.press("c")
	h.typeText("x")
	h.press("enter", "y")
	// It may have been applied: the action is re-read (the fake did not
	// apply it) and the footer says so.
	if !strings.Contains(h.m.msg.text, "Not cancelled: the cancel's answer was lost (the answer could not be read) and a re-read shows") ||
		!strings.Contains(h.m.msg.text, "still Pending. Your comment is kept") {
		t.Fatalf("footer = %q", h.m.msg.text)
	}
}

func TestUnknownStatusesAreNotCountedAsFinished(t *testing.T) {
	acts := sampleActions()[:2]
	acts = append(acts, mde.MachineAction{ID: "q", Status: "Queued"}, mde.MachineAction{ID: "n"})
	h := newHarness(t, &fakeService{}, nil)
	h.send(loadedMsg{gen: 0, actions: ptrs(acts), at: testNow})
	if s := h.screen(); !strings.Contains(s, "4 actions: 1 Pending, 1 InProgress, 2 other") {
		t.Fatalf("header:\n%s", s)
	}
}

func TestHugeFieldDoesNotFreezeTheDetailView(t *testing.T) {
	a := sampleActions()[1]
	a.RequestorComment = strings.Repeat("A very long comment. ", 250000) // 5 MB
	h := newHarness(t, &fakeService{actions: []mde.MachineAction{a}}, nil)
	h.press("enter")
	seen := false
	for i := 0; i < 10 && !seen; i++ {
		seen = strings.Contains(h.screen(), "more characters not shown")
		h.press("pgdown")
	}
	if !seen {
		t.Fatalf("huge field not cut:\n%s", h.screen())
	}
	allocs := testing.AllocsPerRun(20, func() { h.m.Update(keyPress("j")) })
	if allocs > 200 {
		t.Fatalf("a key in the detail view allocates %v times: the view is rebuilt per key", allocs)
	}
}

func TestLongDraftShowsItsEnd(t *testing.T) {
	h := newHarness(t, &fakeService{actions: sampleActions()}, nil)
	h.press("c")
	h.typeText("Long-comment-" + strings.Repeat("x", 90) + "-END")
	h.press("esc", "c")
	if !strings.Contains(h.screen(), "-END") {
		t.Fatalf("reopened long draft does not show where the cursor is:\n%s", h.screen())
	}
}

func TestMissingFieldsReadSensiblyInTheConfirmation(t *testing.T) {
	h := newHarness(t, &fakeService{}, nil)
	h.send(loadedMsg{gen: 0, actions: ptrs([]mde.MachineAction{{ID: "id-3", Status: mde.StatusPending}}), at: testNow})
	h.press("c")
	h.typeText("x")
	h.press("enter")
	s := h.screen()
	if !strings.Contains(s, "Cancel (no type) on (unknown device)? [y/N]") || !strings.Contains(s, "requested by (unknown), at an unknown time") {
		t.Fatalf("confirmation with missing fields:\n%s", s)
	}
}

func TestCommentIsCleanedBeforeItIsSent(t *testing.T) {
	svc := &fakeService{actions: sampleActions()}
	h := newHarness(t, svc, nil)
	h.press("c")
	h.send(tea.PasteMsg{Content: "wrong\u202e device\u2066"})
	h.press("enter", "y")
	if len(svc.cancels) != 1 || svc.cancels[0].comment != "wrong device" {
		t.Fatalf("sent comment = %+v", svc.cancels)
	}
}

func TestRefreshWhileLoadingSendsNoSecondRequest(t *testing.T) {
	svc := &fakeService{actions: sampleActions()}
	h := newHarness(t, svc, nil)
	first := h.send(keyPress("r"))
	if second := h.send(keyPress("r")); second != nil {
		t.Fatal("a second list request was started while one was loading")
	}
	h.run(first)
	if svc.lists != 2 {
		t.Fatalf("%d list calls, want 2", svc.lists)
	}
}

func TestFooterHelpShowsQuitAt60Columns(t *testing.T) {
	h := newHarness(t, &fakeService{actions: sampleActions()}, nil)
	h.send(tea.WindowSizeMsg{Width: 60, Height: 15})
	lines := strings.Split(h.screen(), "\n")
	if last := lines[len(lines)-1]; !strings.Contains(last, "q quit") || ansi.StringWidth(last) > 60 {
		t.Fatalf("footer help at 60 columns: %q", last)
	}
}

func TestCopyIDsWithOSC52(t *testing.T) {
	h := newHarness(t, &fakeService{actions: sampleActions()}, nil)
	want := h.selected()
	for _, tc := range []struct{ key, value string }{{"y", want.ID}, {"Y", want.MachineID}} {
		cmd := h.send(keyPress(tc.key))
		if cmd == nil {
			t.Fatalf("%s did nothing", tc.key)
		}
		// tea.SetClipboard's message is unexported; its text is the value.
		if got := fmt.Sprint(cmd()); got != tc.value {
			t.Fatalf("%s copied %q, want %q", tc.key, got, tc.value)
		}
		if !strings.Contains(h.m.msg.text, tc.value) {
			t.Fatalf("footer does not say what was copied: %q", h.m.msg.text)
		}
	}
}

func TestAutoRefreshPausesWhileAPromptIsOpen(t *testing.T) {
	svc := &fakeService{actions: sampleActions()}
	h := newHarness(t, svc, func(o *Options) { o.RefreshEvery = 30 * time.Second })
	if h.m.tickSeq == 0 {
		t.Fatal("no refresh was scheduled after the first load")
	}
	// The timer fires: a load starts.
	if cmd := h.send(tickMsg{h.m.tickSeq}); cmd == nil || !h.m.loading {
		t.Fatal("the timer did not start a load")
	} else {
		h.run(cmd)
	}
	if svc.lists != 2 {
		t.Fatalf("%d list calls, want 2", svc.lists)
	}
	// With the prompt open, the timer only re-arms.
	h.press("c")
	seq := h.m.tickSeq
	h.send(tickMsg{seq})
	if h.m.loading || svc.lists != 2 || h.m.tickSeq == seq {
		t.Fatal("a refresh ran while the comment prompt was open")
	}
	// An old timer is ignored.
	h.press("esc")
	if cmd := h.send(tickMsg{seq}); cmd != nil || h.m.loading {
		t.Fatal("a stale timer started a load")
	}
}

func TestMarksSurviveRefreshAndShowWithoutColour(t *testing.T) {
	svc := &fakeService{actions: sampleActions()}
	h := newHarness(t, svc, nil)
	first := h.selected().ID
	h.press("space")
	if h.m.table.Cursor() != 1 || !h.m.marked[first] {
		t.Fatal("space did not mark the row and move down")
	}
	s := h.screen()
	if !strings.Contains(s, " *  Isolate") || !strings.Contains(s, "1 marked") {
		t.Fatalf("mark not visible without colour:\n%s", s)
	}
	h.press("r")
	if r := h.m.table.Shown(0); !r.Marked || r.Action.ID != first {
		t.Fatal("the mark was lost in the refresh")
	}
	h.press("a")
	if h.m.markedCount() != 3 {
		t.Fatalf("a marked %d, want the 3 open actions", h.m.markedCount())
	}
	h.press("u")
	if h.m.markedCount() != 0 || len(h.m.marked) != 0 {
		t.Fatal("u did not clear the marks")
	}
}

func TestTriageFlagsDuplicatesAndLiveResponseBlockers(t *testing.T) {
	acts := sampleActions()
	dup := acts[1] // a second open Isolate on ws-fin-0231
	dup.ID, dup.CreationDateTimeUtc = "dup", ts(time.Hour)
	acts = append(acts, dup)
	h := newHarness(t, &fakeService{actions: acts}, nil)
	flags := map[string]rune{}
	for _, r := range h.m.table.Rows() {
		flags[r.Action.ID] = r.Flag
	}
	if flags["dup"] != 'D' || flags[acts[1].ID] != 'D' || flags[acts[2].ID] != 'L' || flags[acts[0].ID] != ' ' {
		t.Fatalf("flags = %q", flags)
	}
	s := h.screen()
	if !strings.Contains(s, "> D Isolate") || !strings.Contains(s, "  L Live resp.") {
		t.Fatalf("flags not drawn:\n%s", s)
	}
	h.press("enter")
	if !strings.Contains(h.m.msg.text, "another open Isolate is on ws-fin-0231.contoso.local") {
		t.Fatalf("flag not explained: %q", h.m.msg.text)
	}
	// Once one of the pair is cancelled, the other is no duplicate.
	h.press("esc", "c")
	h.typeText("dup")
	h.press("enter", "y")
	for _, r := range h.m.table.Rows() {
		if r.Action.ID == "dup" && r.Flag != ' ' {
			t.Fatalf("the remaining Isolate is still flagged %q", r.Flag)
		}
	}
}

func TestACancelReReadsItsDeviceForCollateralChanges(t *testing.T) {
	acts := sampleActions()
	sibling := acts[0]
	sibling.ID, sibling.MachineID, sibling.ComputerDNSName = "sibling", acts[1].MachineID, acts[1].ComputerDNSName
	acts = append(acts, sibling)
	svc := &fakeService{actions: acts}
	svc.onCancel = func(f *fakeService) {
		for i := range f.actions {
			if f.actions[i].ID == "sibling" {
				f.actions[i].Status = mde.StatusFailed // changed while we cancelled next to it
			}
		}
	}
	h := newHarness(t, svc, nil)
	listsBefore := svc.lists
	if h.selected().MachineID != acts[1].MachineID {
		t.Fatal("test setup: the first row is not on the sibling's device")
	}
	h.press("c")
	h.typeText("x")
	h.press("enter", "y")
	if svc.lists != listsBefore+1 {
		t.Fatalf("%d list calls after the cancel, want one re-read of the device", svc.lists-listsBefore)
	}
	flat := strings.Join(strings.Fields(h.m.msg.text), " ")
	if !strings.Contains(flat, "Also changed on ws-fin-0231.contoso.local: RunAntiVirusScan (Quick) InProgress → Failed") {
		t.Fatalf("footer = %q", h.m.msg.text)
	}
}

func TestHeaderSaysHowLongAgoTheListWasRefreshed(t *testing.T) {
	now := testNow
	h := newHarness(t, &fakeService{actions: sampleActions()}, func(o *Options) {
		o.RefreshEvery = 30 * time.Second
		o.Now = func() time.Time { return now }
		o.Endpoint = "127.0.0.1:41371"
	})
	now = now.Add(20 * time.Second)
	h.send(ageTickMsg{})
	if s := h.screen(); !strings.HasSuffix(strings.TrimSpace(strings.Split(s, "\n")[0]), " just now") {
		t.Fatalf("header:\n%s", s)
	}
	// Reloads stalled: the age grows by the minute, and its timer fires
	// only when the text changes.
	now = testNow.Add(2*time.Minute + 10*time.Second)
	if cmd := h.send(ageTickMsg{}); cmd == nil {
		t.Fatal("the age's timer was not armed again")
	}
	if s := h.screen(); !strings.HasSuffix(strings.TrimSpace(strings.Split(s, "\n")[0]), " 2m ago") {
		t.Fatalf("header:\n%s", s)
	}
	for _, tc := range []struct {
		age  time.Duration
		text string
		next time.Duration
	}{
		{0, "just now", time.Minute},
		{59 * time.Second, "just now", time.Second},
		{2*time.Minute + 10*time.Second, "2m ago", 50 * time.Second},
		{3*time.Hour + 5*time.Minute, "3h ago", 55 * time.Minute},
		{50 * time.Hour, "2d ago", 22 * time.Hour},
	} {
		if got := refreshedAgo(tc.age); got != tc.text {
			t.Errorf("age %v: %q, want %q", tc.age, got, tc.text)
		}
		next := untilAgoChanges(tc.age)
		if next != tc.next || refreshedAgo(tc.age+next-time.Nanosecond) != tc.text || refreshedAgo(tc.age+next) == tc.text {
			t.Errorf("age %v: changes in %v, want %v", tc.age, next, tc.next)
		}
	}
	// With automatic refresh off, nothing ticks.
	h2 := newHarness(t, &fakeService{actions: sampleActions()}, nil)
	if h2.m.ageTick() != nil {
		t.Fatal("a timer ticks with automatic refresh off")
	}
}

func TestAuditFailureSaysTheCancelWasNotSent(t *testing.T) {
	h := newHarness(t, &fakeService{actions: sampleActions(), cancelErr: fmt.Errorf("%w: disk full", audit.ErrAuditUnavailable)}, nil)
	h.press("c")
	h.typeText("x")
	h.press("enter", "y")
	if !strings.Contains(h.m.msg.text, "The cancel was NOT sent: the audit trail cannot be written") {
		t.Fatalf("footer = %q", h.m.msg.text)
	}
}
