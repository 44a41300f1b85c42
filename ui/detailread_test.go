package ui

import (
	"errors"
	"strings"
	"testing"

	"github.com/mdeactions/mdeactions/mde"
)

// TestDetailOfAnActionThatLeavesTheList: a refresh that no longer lists the
// detail view's action says so and reads it again, so the view shows what
// it became and c does not offer to cancel a finished action.
func TestDetailOfAnActionThatLeavesTheList(t *testing.T) {
	svc := &fakeService{actions: sampleActions()}
	h := newHarness(t, svc, nil)
	h.press("enter")
	id := h.m.detail.ID()
	lists := svc.lists
	svc.mu.Lock()
	for i := range svc.actions {
		if svc.actions[i].ID == id {
			svc.actions[i].Status = mde.StatusSucceeded
		}
	}
	svc.mu.Unlock()
	h.press("r")
	if svc.lists != lists+2 {
		t.Fatalf("%d list calls after r, want the refresh and one read of the action", svc.lists-lists)
	}
	s := strings.Join(strings.Fields(h.screen()), " ")
	if !strings.Contains(s, "No longer in the list") || !strings.Contains(s, "it is now Succeeded") {
		t.Fatalf("the detail does not say its action left the list:\n%s", h.screen())
	}
	if h.m.detail.Action().Status != mde.StatusSucceeded {
		t.Fatalf("the detail still shows %s", h.m.detail.Action().Status)
	}
	h.press("c")
	if h.m.form != nil || !strings.Contains(h.m.msg.text, "already Succeeded") {
		t.Fatalf("c offered to cancel a finished action: %q", h.m.msg.text)
	}
	lists = svc.lists
	h.press("r")
	if svc.lists != lists+1 {
		t.Fatal("a finished action was read again at every refresh")
	}

	// Back in the list and into another action: no note.
	h.press("esc", "enter")
	if h.m.detail.Note() != "" {
		t.Fatalf("a fresh detail view carries a note: %q", h.m.detail.Note())
	}
}

func TestDetailReadFailureKeepsWhatWasShown(t *testing.T) {
	svc := &fakeService{actions: sampleActions()}
	h := newHarness(t, svc, nil)
	h.press("enter")
	before := h.m.detail.Action()
	// The refresh lists nothing; the read then fails.
	svc.mu.Lock()
	svc.listErr = errors.New("dial tcp: connection refused")
	svc.mu.Unlock()
	h.run(h.send(loadedMsg{gen: h.m.gen, spec: h.m.spec, at: testNow}))
	if h.m.detail.Action().Status != before.Status {
		t.Fatal("a failed read changed the action shown")
	}
	if n := h.m.detail.Note(); !strings.Contains(n, "Reading the action again failed") || !strings.Contains(n, "from when it was last listed") {
		t.Fatalf("note: %q", n)
	}
}

// TestRefusedCancelOfAFinishedActionRedrawsItsRow: a 400 because another
// responder cancelled it meanwhile: the row is read again and says
// Cancelled, by whom, and no retry is offered.
func TestRefusedCancelOfAFinishedActionRedrawsItsRow(t *testing.T) {
	svc := &fakeService{actions: sampleActions(), cancelErr: &mde.APIError{StatusCode: 400, Code: "BadRequest", Message: "already in a final state (Cancelled)"}}
	h := newHarness(t, svc, nil)
	id := h.selected().ID
	svc.mu.Lock()
	for i := range svc.actions {
		if svc.actions[i].ID == id {
			svc.actions[i].Status = mde.StatusCancelled
			svc.actions[i].Edit().CancellationRequestor = "other.responder@contoso.com"
		}
	}
	svc.mu.Unlock()
	h.press("c")
	h.typeText("wrong host")
	h.press("enter", "y")
	if s := h.m.msg.text; !strings.Contains(s, "Nothing to cancel") || !strings.Contains(s, "already Cancelled by other.responder@contoso.com") || strings.Contains(s, "try again") {
		t.Fatalf("footer %q", s)
	}
	if r, _ := h.m.table.Selected(); r.Action.ID != id || r.Action.Status != mde.StatusCancelled || r.Busy {
		t.Fatalf("row after the refusal: %s %s busy=%v", r.Action.ID, r.Action.Status, r.Busy)
	}
	if len(svc.cancels) != 1 {
		t.Fatalf("%d cancels sent, want 1", len(svc.cancels))
	}
}

// TestSmallHonestyFixes: a single cancel's failure shows in its detail
// view; a finished action's detail does not offer cancel; read-only says
// why c does nothing.
func TestSmallHonestyFixes(t *testing.T) {
	svc := &fakeService{actions: sampleActions(), cancelErr: &mde.APIError{StatusCode: 403, Code: "Forbidden"}}
	h := newHarness(t, svc, nil)
	h.press("c")
	h.typeText("wrong host")
	h.press("enter", "y", "enter")
	if !strings.Contains(h.m.msg.text, "Last cancel: The cancel was refused: permission missing (403)") {
		t.Fatalf("detail after a failed cancel: %q", h.m.msg.text)
	}
	if !strings.Contains(h.screen(), "c cancel") {
		t.Fatalf("an open action's detail does not offer cancel:\n%s", h.screen())
	}
	done := sampleActions()[0]
	done.Status = mde.StatusSucceeded
	h.m.detail.SetAction(done, false)
	if strings.Contains(h.screen(), "c cancel") {
		t.Fatalf("a finished action's detail offers cancel:\n%s", h.screen())
	}

	ro := newHarness(t, &fakeService{actions: sampleActions()}, func(o *Options) { o.ReadOnly = true })
	ro.press("c")
	if ro.m.form != nil || !strings.Contains(ro.m.msg.text, "Read-only") {
		t.Fatalf("c in read-only: form %v, footer %q", ro.m.form != nil, ro.m.msg.text)
	}
}
