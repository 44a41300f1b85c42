package ui

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"

	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/ui/cancelform"
	"github.com/mdeactions/mdeactions/ui/filter"
)

var update = flag.Bool("update", false, "rewrite golden files")

var testNow = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

// fakeService is an in-memory ActionService that records every call.
type fakeService struct {
	mu        sync.Mutex
	actions   []mde.MachineAction
	listErr   error
	cancelErr error
	cancels   []cancelCall
	lists     int
	onCancel  func(f *fakeService) // runs after a successful cancel (collateral changes)
}

type cancelCall struct{ id, comment string }

func (f *fakeService) List(_ context.Context, q mde.Query) ([]mde.MachineAction, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lists++
	if f.listErr != nil {
		return nil, f.listErr
	}
	var out []mde.MachineAction
	if len(q.MachineIDs) > 0 {
		for _, a := range f.actions {
			if a.MachineID == q.MachineIDs[0] {
				out = append(out, a)
			}
		}
		return out, nil
	}
	for _, a := range f.actions {
		if len(q.Statuses) == 0 {
			out = append(out, a)
		}
		for _, s := range q.Statuses {
			if a.Status == s {
				out = append(out, a)
			}
		}
	}
	return out, nil
}

func (f *fakeService) Cancel(_ context.Context, id, comment string) (mde.MachineAction, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cancels = append(f.cancels, cancelCall{id, comment})
	if f.cancelErr != nil {
		return mde.MachineAction{}, f.cancelErr
	}
	for i, a := range f.actions {
		if a.ID == id {
			a.Status = mde.StatusCancelled
			a.Edit().CancellationComment = comment
			a.Edit().CancellationRequestor = "responder@contoso.com"
			a.Edit().CancellationDateTimeUtc = mde.Timestamp{Time: testNow}
			a.LastUpdateDateTimeUtc = mde.Timestamp{Time: testNow}
			f.actions[i] = a
			if f.onCancel != nil {
				f.onCancel(f)
			}
			return a, nil
		}
	}
	return mde.MachineAction{}, &mde.APIError{StatusCode: 404, Code: "ResourceNotFound", Message: "MachineAction " + id + " was not found"}
}

func ts(d time.Duration) mde.Timestamp { return mde.Timestamp{Time: testNow.Add(-d)} }

func sampleActions() []mde.MachineAction {
	return []mde.MachineAction{
		{ID: "6f1c2f3a-0000-4000-8000-000000000003", Type: mde.TypeRunAntiVirusScan, Scope: "Quick", Status: mde.StatusInProgress,
			Requestor: "Contoso SOAR", RequestorComment: "Scan after alert 4412", MachineID: "aa11", ComputerDNSName: "srv-sql-02.corp.contoso.com",
			CreationDateTimeUtc: ts(3 * time.Hour), LastUpdateDateTimeUtc: ts(2 * time.Hour), RequestSource: "PublicApi"},
		{ID: "6f1c2f3a-0000-4000-8000-000000000001", Type: mde.TypeIsolate, Scope: "Full", Status: mde.StatusPending,
			Requestor: "alex.morgan@contoso.com", RequestorComment: "Isolate per IR-2291: beaconing", MachineID: "bb22", ComputerDNSName: "ws-fin-0231.contoso.local",
			CreationDateTimeUtc: ts(50 * time.Hour), LastUpdateDateTimeUtc: ts(50 * time.Hour), RequestSource: "PublicApi"},
		{ID: "6f1c2f3a-0000-4000-8000-000000000002", Type: mde.TypeLiveResponse, Status: mde.StatusPending,
			Requestor: "Sentinel Playbook - Isolate", RequestorComment: "Collect triage", MachineID: "cc33", ComputerDNSName: "会議室-pc01",
			CreationDateTimeUtc: ts(26 * time.Hour), LastUpdateDateTimeUtc: ts(26 * time.Hour), RequestSource: "PublicApi",
			Rare: &mde.RareFields{Commands: []mde.LiveResponseCommand{{Index: 0, CommandStatus: "Created", Command: mde.Command{Type: "RunScript", Params: []mde.CommandParam{{Key: "ScriptName", Value: "triage.ps1"}}}}}}},
		{ID: "6f1c2f3a-0000-4000-8000-000000000004", Type: mde.TypeOffboard, Status: mde.StatusSucceeded,
			Requestor: "alex.morgan@contoso.com", MachineID: "dd44", ComputerDNSName: "old-host",
			CreationDateTimeUtc: ts(70 * time.Hour)},
	}
}

type harness struct {
	t   *testing.T
	m   Model
	svc *fakeService
}

func newHarness(t *testing.T, svc *fakeService, mod func(*Options)) *harness {
	t.Helper()
	opts := Options{Service: svc, Endpoint: "api.security.microsoft.com", Mono: true,
		Now: func() time.Time { return testNow }}
	if mod != nil {
		mod(&opts)
	}
	h := &harness{t: t, m: New(opts), svc: svc}
	h.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	h.run(h.m.Init())
	return h
}

// send delivers a message and returns the command Update gave back.
func (h *harness) send(msg tea.Msg) tea.Cmd {
	h.t.Helper()
	nm, cmd := h.m.Update(msg)
	h.m = nm.(Model)
	return cmd
}

// run executes a command the way the runtime would and feeds back the
// messages of our own types (it ignores the text input's cursor commands).
func (h *harness) run(cmd tea.Cmd) {
	h.t.Helper()
	msg := runCmd(cmd)
	if msg == nil {
		return
	}
	switch msg := msg.(type) {
	case loadedMsg, cancelledMsg, verifiedMsg, openedMsg, rereadMsg, detailReadMsg:
		h.run(h.send(msg))
	case tea.BatchMsg:
		for _, c := range msg {
			h.run(c)
		}
	}
}

// runCmd runs a command and returns its message, or nil for a command
// that waits (a timer): tests drive timers by sending their messages.
func runCmd(cmd tea.Cmd) tea.Msg {
	if cmd == nil {
		return nil
	}
	ch := make(chan tea.Msg, 1)
	go func() { ch <- cmd() }()
	select {
	case msg := <-ch:
		return msg
	case <-time.After(300 * time.Millisecond):
		return nil
	}
}

func keyPress(s string) tea.KeyPressMsg {
	switch s {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "pgdown":
		return tea.KeyPressMsg{Code: tea.KeyPgDown}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	case "space":
		return tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}
	case "backspace":
		return tea.KeyPressMsg{Code: tea.KeyBackspace}
	case "ctrl+u":
		return tea.KeyPressMsg{Code: 'u', Mod: tea.ModCtrl}
	}
	r := []rune(s)[0]
	return tea.KeyPressMsg{Code: r, Text: s}
}

// press sends keys and runs what they return.
func (h *harness) press(keys ...string) {
	h.t.Helper()
	for _, k := range keys {
		h.run(h.send(keyPress(k)))
	}
}

// typeText types text into the focused input, one key press per rune.
func (h *harness) typeText(s string) {
	h.t.Helper()
	for _, r := range s {
		if r == ' ' {
			h.run(h.send(keyPress("space")))
			continue
		}
		h.run(h.send(tea.KeyPressMsg{Code: r, Text: string(r)}))
	}
}

func (h *harness) screen() string { return ansi.Strip(h.m.View().Content) }

func (h *harness) selected() mde.MachineAction {
	r, ok := h.m.table.Selected()
	if !ok {
		h.t.Fatal("no row selected")
	}
	return *r.Action
}

func TestListShowsOpenActionsOldestFirst(t *testing.T) {
	h := newHarness(t, &fakeService{actions: sampleActions()}, nil)
	if h.m.table.Len() != 3 {
		t.Fatalf("got %d rows, want the 3 open ones", h.m.table.Len())
	}
	want := []string{"ws-fin-0231.contoso.local", "会議室-pc01", "srv-sql-02.corp.contoso.com"}
	for i := range want {
		if r := h.m.table.Shown(i); r.Device() != want[i] {
			t.Fatalf("row %d is %s, want %s (oldest first)", i, r.Device(), want[i])
		}
	}
	s := h.screen()
	for _, w := range []string{"3 actions: 2 Pending, 1 InProgress", "Isolate", "Pending", "InProgress", "2d02h", "alex.morgan@", "q quit"} {
		if !strings.Contains(s, w) {
			t.Fatalf("screen lacks %q:\n%s", w, s)
		}
	}
}

func TestNavigationKeys(t *testing.T) {
	var many []mde.MachineAction
	for i := 0; i < 100; i++ {
		many = append(many, mde.MachineAction{ID: string(rune('a'+i%26)) + strings.Repeat("x", i), Type: mde.TypeIsolate,
			Status: mde.StatusPending, CreationDateTimeUtc: ts(time.Duration(200-i) * time.Minute)})
	}
	h := newHarness(t, &fakeService{actions: many}, nil)
	steps := []struct {
		key  string
		want int
	}{{"j", 1}, {"down", 2}, {"k", 1}, {"G", 99}, {"g", 0}, {"pgdown", 20}, {"pgdown", 40}, {"end", 40}}
	for _, s := range steps[:7] {
		h.press(s.key)
		if got := h.m.table.Cursor(); got != s.want {
			t.Fatalf("after %s cursor is %d, want %d", s.key, got, s.want)
		}
	}
	if !strings.Contains(h.screen(), "> ") {
		t.Fatal("no cursor glyph on screen")
	}
}

func TestCancelFlowReplacesRowWithReturnedEntity(t *testing.T) {
	svc := &fakeService{actions: sampleActions()}
	h := newHarness(t, svc, nil)
	target := h.selected()
	h.press("c")
	if h.m.form == nil || h.m.form.Stage() != cancelform.StageComment {
		t.Fatal("c did not open the comment prompt")
	}
	if !strings.Contains(h.screen(), "Cancel Isolate (Full) on ws-fin-0231.contoso.local") {
		t.Fatalf("prompt does not name the action and device:\n%s", h.screen())
	}
	h.typeText("  wrong device, playbook error  ")
	h.press("enter")
	if h.m.form.Stage() != cancelform.StageConfirm {
		t.Fatal("enter with a comment did not move to the confirmation")
	}
	s := h.screen()
	if !strings.Contains(s, "Cancel Isolate (Full) on ws-fin-0231.contoso.local? [y/N]") {
		t.Fatalf("confirmation does not name action and device:\n%s", s)
	}
	if len(svc.cancels) != 0 {
		t.Fatal("a cancel was sent before y")
	}
	cmd := h.send(keyPress("y"))
	if cmd == nil {
		t.Fatal("y returned no command")
	}
	if r, _ := h.m.table.Selected(); !r.Busy || !strings.Contains(h.screen(), "Cancelling") {
		t.Fatal("row is not shown as cancelling while the call runs")
	}
	h.run(cmd)
	if len(svc.cancels) != 1 || svc.cancels[0] != (cancelCall{target.ID, "wrong device, playbook error"}) {
		t.Fatalf("cancel calls = %+v, want one with the trimmed comment", svc.cancels)
	}
	got := h.selected()
	if got.Status != mde.StatusCancelled || got.CancellationComment() != "wrong device, playbook error" ||
		got.CancellationRequestor() != "responder@contoso.com" {
		t.Fatalf("row not replaced by the returned entity: %+v", got)
	}
	s = h.screen()
	if !strings.Contains(s, "Cancelled") || !strings.Contains(s, "Cancelled Isolate (Full) on ws-fin-0231.contoso.local by responder@contoso.com.") {
		t.Fatalf("screen does not show the cancel:\n%s", s)
	}
	h.press("enter")
	s = h.screen()
	for _, w := range []string{target.ID, "cancellationRequestor", "responder@contoso.com", "cancellationComment", "wrong device, playbook error", "2026-12-03 12:00:00 UTC"} {
		if !strings.Contains(s, w) {
			t.Fatalf("detail view lacks %q:\n%s", w, s)
		}
	}
	h.press("c")
	if h.m.form != nil || !strings.Contains(h.screen(), "already Cancelled") {
		t.Fatal("a cancelled action can be cancelled again")
	}
}

func TestEmptyCommentIsRefused(t *testing.T) {
	svc := &fakeService{actions: sampleActions()}
	h := newHarness(t, svc, nil)
	h.press("c")
	h.typeText("   ")
	h.press("enter")
	if h.m.form == nil || h.m.form.Stage() != cancelform.StageComment {
		t.Fatal("an empty comment moved past the prompt")
	}
	if !strings.Contains(h.screen(), "A comment is required") {
		t.Fatalf("no hint for the empty comment:\n%s", h.screen())
	}
}

func TestCommentIsLengthLimited(t *testing.T) {
	h := newHarness(t, &fakeService{actions: sampleActions()}, nil)
	h.press("c")
	h.send(tea.PasteMsg{Content: strings.Repeat("x", 5000)})
	if n := len(h.m.form.Comment()); n != cancelform.MaxComment {
		t.Fatalf("comment has %d characters, want the limit %d", n, cancelform.MaxComment)
	}
}

func TestAbortPathsSendNothing(t *testing.T) {
	for _, tc := range []struct {
		name string
		keys []string
	}{
		{"esc at the comment", []string{"c", "esc"}},
		{"enter at the confirmation (default No)", []string{"c", "enter", "enter"}},
		{"n at the confirmation", []string{"c", "enter", "n"}},
		{"another key at the confirmation", []string{"c", "enter", "x"}},
		{"uppercase N", []string{"c", "enter", "N"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := &fakeService{actions: sampleActions()}
			h := newHarness(t, svc, nil)
			h.press(tc.keys[0])
			h.typeText("oops")
			h.press(tc.keys[1:]...)
			if h.m.form != nil {
				t.Fatal("form still open")
			}
			if len(svc.cancels) != 0 {
				t.Fatal("a cancel was sent")
			}
			if h.selected().Status != mde.StatusPending {
				t.Fatal("row changed")
			}
			if !strings.Contains(h.screen(), "Not cancelled") {
				t.Fatalf("footer does not say nothing happened:\n%s", h.screen())
			}
			h.press("c")
			if h.m.form.Comment() != "oops" {
				t.Fatalf("draft comment lost: %q", h.m.form.Comment())
			}
		})
	}
}

func TestEscAtConfirmationGoesBackToComment(t *testing.T) {
	h := newHarness(t, &fakeService{actions: sampleActions()}, nil)
	h.press("c")
	h.typeText("abc")
	h.press("enter", "esc")
	if h.m.form == nil || h.m.form.Stage() != cancelform.StageComment || h.m.form.Comment() != "abc" {
		t.Fatal("esc at the confirmation did not go back to the comment")
	}
}

func TestQAndOtherKeysAreTextInThePrompt(t *testing.T) {
	h := newHarness(t, &fakeService{actions: sampleActions()}, nil)
	h.press("c")
	cmd := h.send(keyPress("q"))
	h.run(cmd)
	h.typeText("r?j")
	if h.m.form == nil || h.m.form.Comment() != "qr?j" {
		t.Fatalf("keys in the prompt were not typed: %+v", h.m.form)
	}
}

func TestCtrlCQuitsEvenInThePrompt(t *testing.T) {
	h := newHarness(t, &fakeService{actions: sampleActions()}, nil)
	h.press("c")
	cmd := h.send(keyPress("ctrl+c"))
	if cmd == nil {
		t.Fatal("ctrl+c returned no command")
	}
	if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Fatal("ctrl+c did not quit")
	}
}

func TestCancelErrorsInPlainWords(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"not found", &mde.APIError{StatusCode: 404, Code: "ResourceNotFound", Message: "MachineAction x was not found", Target: "req-1"}, "not found; the action no longer exists (request id req-1)"},
		{"already finished", &mde.APIError{StatusCode: 400, Code: "BadRequest", Message: "Action is already in a final state (Succeeded)"}, "The cancel was refused (400): Action is already in a final state (Succeeded). A re-read shows it still Pending"},
		{"permission", &mde.APIError{StatusCode: 403, Code: "Forbidden", Message: "no"}, "permission missing (403). Cancelling needs one of the Machine.* action permissions"},
		{"throttled", &mde.APIError{StatusCode: 429, Code: "TooManyRequests", RetryAfter: 37 * time.Second}, "throttled by the API: try again in 37 s"},
		{"server", &mde.APIError{StatusCode: 502, Body: "<html>bad gateway</html>"}, "the Defender API had an error (502)"},
		{"expired token", &mde.APIError{StatusCode: 401, Code: "Unauthorized"}, "the API did not accept the sign-in (401)"},
		{"timeout", context.DeadlineExceeded, "timed out"},
		{"hostile message", &mde.APIError{StatusCode: 400, Message: "bad\x1b]52;c;AAAA\x07 thing"}, "The cancel was refused (400): bad thing."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := &fakeService{actions: sampleActions(), cancelErr: tc.err}
			h := newHarness(t, svc, func(o *Options) { o.Endpoint = "x" })
			id := h.selected().ID
			h.press("c")
			h.typeText("keep me")
			h.press("enter", "y")
			if len(svc.cancels) != 1 {
				t.Fatalf("%d cancel calls, want 1", len(svc.cancels))
			}
			if !strings.Contains(h.m.msg.text, tc.want) || !strings.Contains(h.m.msg.text, "comment is kept") {
				t.Fatalf("footer = %q, want it to contain %q", h.m.msg.text, tc.want)
			}
			if strings.ContainsRune(h.m.msg.text, 0x1b) {
				t.Fatal("escape sequence reached the footer")
			}
			r, _ := h.m.table.Selected()
			if r.Busy || r.Action.ID != id || r.Action.Status != mde.StatusPending {
				t.Fatalf("row after a failed cancel: %+v", r)
			}
			h.press("c")
			if h.m.form == nil || h.m.form.Comment() != "keep me" {
				t.Fatal("the comment was not kept for a retry")
			}
		})
	}
}

func TestDoubleCancelWhileInFlightIsRefused(t *testing.T) {
	svc := &fakeService{actions: sampleActions()}
	h := newHarness(t, svc, nil)
	h.press("c")
	h.typeText("one")
	h.press("enter")
	pending := h.send(keyPress("y")) // not run yet: the call is in flight
	h.press("c")
	if h.m.form != nil || !strings.Contains(h.m.msg.text, "already waiting") {
		t.Fatal("a second cancel of an in-flight action was allowed")
	}
	h.press("q")
	if !strings.Contains(h.m.msg.text, "press q again") {
		t.Fatal("q quit without warning while a cancel was in flight")
	}
	h.run(pending)
	if len(svc.cancels) != 1 {
		t.Fatalf("%d cancel calls, want 1", len(svc.cancels))
	}
}

func TestStaleRefreshIsDropped(t *testing.T) {
	svc := &fakeService{actions: sampleActions()}
	h := newHarness(t, svc, nil)
	h.send(keyPress("r"))
	h.send(loadedMsg{gen: 0, actions: nil, at: testNow}) // reply to the first request, now old
	if h.m.table.Len() != 3 {
		t.Fatal("an old reply replaced newer data")
	}
	h.send(loadedMsg{gen: 1, actions: ptrs(sampleActions()[:1]), at: testNow})
	if h.m.table.Len() != 1 {
		t.Fatal("the newest reply was not applied")
	}
}

func TestRefreshKeepsCursorOnSameAction(t *testing.T) {
	svc := &fakeService{actions: sampleActions()}
	h := newHarness(t, svc, nil)
	h.press("j")
	id := h.selected().ID
	h.press("r")
	if h.selected().ID != id {
		t.Fatal("cursor moved to another action after refresh")
	}
	if svc.lists != 2 {
		t.Fatalf("%d list calls, want 2", svc.lists)
	}
}

func TestFinalActionCannotBeCancelled(t *testing.T) {
	svc := &fakeService{actions: []mde.MachineAction{{ID: "x", Type: mde.TypeIsolate, Status: mde.StatusPending}}}
	h := newHarness(t, svc, nil)
	h.m.spec = filter.Spec{AllStatuses: true} // as with f status:all
	h.send(loadedMsg{gen: 0, spec: h.m.spec, actions: ptrs([]mde.MachineAction{{ID: "x", Type: mde.TypeIsolate, Status: mde.StatusTimeOut}})})
	h.press("c")
	if h.m.form != nil || !strings.Contains(h.m.msg.text, "already TimeOut") {
		t.Fatal("the prompt opened for a timed-out action")
	}
}

func TestReadOnlyHasNoCancel(t *testing.T) {
	svc := &fakeService{actions: sampleActions()}
	h := newHarness(t, svc, func(o *Options) { o.ReadOnly = true })
	h.press("c")
	if h.m.form != nil {
		t.Fatal("cancel opened in read-only mode")
	}
	s := h.screen()
	if !strings.Contains(s, " RO ") || strings.Contains(s, "c cancel") {
		t.Fatalf("read-only badge missing or cancel still in help:\n%s", s)
	}
}

func TestBadInputIsShownSensibly(t *testing.T) {
	odd := []mde.MachineAction{
		{ID: "1", Type: "ContainDevice", Status: mde.StatusPending, CreationDateTimeUtc: ts(time.Hour)},
		{ID: "2", Status: mde.StatusInProgress},
		{ID: "3", Type: mde.TypeIsolate, Status: mde.StatusPending, ComputerDNSName: "evil\x1b]0;owned\x07host\x1b[2J",
			Requestor: "\u202eadmin", RequestorComment: "line1\nline2\x1b]8;;http://x\x1b\\link", CreationDateTimeUtc: ts(time.Minute)},
	}
	h := newHarness(t, &fakeService{actions: odd}, nil)
	s := h.m.View().Content
	if strings.Contains(ansi.Strip(s), "owned") || strings.Contains(s, "\x1b]") || strings.Contains(s, "\u202e") || strings.Contains(s, "\x1b[2J") {
		t.Fatalf("hostile text reached the screen: %q", s)
	}
	plain := ansi.Strip(s)
	for _, w := range []string{"ContainDev", "(no type)", "evilhost", "line1 line2li"} {
		if !strings.Contains(plain, w) {
			t.Fatalf("screen lacks %q:\n%s", w, plain)
		}
	}
	h.press("G", "enter")
	if !strings.Contains(h.screen(), "(none)") {
		t.Fatalf("missing fields not shown as (none):\n%s", h.screen())
	}
}

func TestEmptyListAndLoadError(t *testing.T) {
	h := newHarness(t, &fakeService{}, nil)
	if !strings.Contains(h.screen(), "No Pending or InProgress machine actions") {
		t.Fatalf("empty list not explained:\n%s", h.screen())
	}
	h = newHarness(t, &fakeService{listErr: &mde.APIError{StatusCode: 403, Code: "Forbidden"}}, nil)
	if !strings.Contains(h.m.loadErr, "Machine.Read.All or Machine.ReadWrite.All") || !strings.Contains(h.screen(), "permission missing (403)") {
		t.Fatalf("403 on list not explained:\n%s", h.screen())
	}
	h = newHarness(t, &fakeService{listErr: errors.New("dial tcp: connection refused")}, nil)
	if !strings.Contains(h.screen(), "Listing the actions failed: dial tcp") {
		t.Fatalf("network error not shown:\n%s", h.screen())
	}
}

func TestTooSmallTerminal(t *testing.T) {
	h := newHarness(t, &fakeService{actions: sampleActions()}, nil)
	h.send(tea.WindowSizeMsg{Width: 50, Height: 12})
	if !strings.Contains(h.screen(), "Terminal too small: 50x12") {
		t.Fatalf("no too-small screen:\n%s", h.screen())
	}
}

func TestEveryLineFitsTheWidth(t *testing.T) {
	h := newHarness(t, &fakeService{actions: sampleActions()}, nil)
	check := func(when string) {
		lines := strings.Split(h.m.View().Content, "\n")
		if len(lines) != 24 {
			t.Fatalf("%s: %d lines, want 24", when, len(lines))
		}
		for i, l := range lines {
			if w := ansi.StringWidth(l); w > 80 {
				t.Fatalf("%s: line %d is %d cells wide: %q", when, i, w, ansi.Strip(l))
			}
		}
	}
	check("list")
	h.press("c")
	check("prompt")
	h.press("esc", "enter")
	check("detail")
	h.press("esc", "?")
	check("help")
}

// golden compares got with testdata/<name>.golden; -update rewrites it.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./ui -update to create it)", err)
	}
	if string(want) != got {
		t.Fatalf("%s differs from the golden file; run go test ./ui -update if the change is intended\n--- got ---\n%s\n--- want ---\n%s", name, got, want)
	}
}

// ascii renders a view through the Ascii colour profile, as the program
// does when NO_COLOR is set.
func ascii(t *testing.T, s string) string {
	var buf bytes.Buffer
	w := colorprofile.NewWriter(&buf, nil)
	w.Profile = colorprofile.Ascii
	if _, err := w.WriteString(s); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestViewGoldens(t *testing.T) {
	svc := &fakeService{actions: sampleActions()}
	h := newHarness(t, svc, func(o *Options) { o.Mono = false; o.Demo = true })
	golden(t, "list_80x24", ascii(t, h.m.View().Content))
	h.press("c")
	h.typeText("wrong device")
	golden(t, "prompt_80x24", ascii(t, h.m.View().Content))
	h.press("enter")
	golden(t, "confirm_80x24", ascii(t, h.m.View().Content))
	h.press("y")
	golden(t, "cancelled_80x24", ascii(t, h.m.View().Content))
	h.press("enter")
	golden(t, "detail_80x24", ascii(t, h.m.View().Content))

	for _, size := range []struct{ w, h int }{{60, 20}, {120, 40}} {
		h := newHarness(t, &fakeService{actions: sampleActions()}, func(o *Options) { o.Mono = false })
		h.send(tea.WindowSizeMsg{Width: size.w, Height: size.h})
		golden(t, fmt.Sprintf("list_%dx%d", size.w, size.h), ascii(t, h.m.View().Content))
	}
}

func TestDetailScrollsToLiveResponseCommands(t *testing.T) {
	h := newHarness(t, &fakeService{actions: sampleActions()}, nil)
	h.send(tea.WindowSizeMsg{Width: 80, Height: 16})
	h.press("j", "enter")
	s := h.screen()
	if !strings.Contains(s, "more lines below") || strings.Contains(s, "triage.ps1") {
		t.Fatalf("a short detail view does not say there is more:\n%s", s)
	}
	h.press("G")
	s = h.screen()
	if !strings.Contains(s, "[0] RunScript ScriptName=triage.ps1: Created") {
		t.Fatalf("live response command not shown after scrolling:\n%s", s)
	}
	h.press("esc")
	if h.m.view != viewList {
		t.Fatal("esc did not go back to the list")
	}
}
