package ui

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/mdeactions/mdeactions/ui/signin"
)

// fakeSignIn is a device-code sign-in whose outcome the test sets.
type fakeSignIn struct {
	mu        sync.Mutex
	cached    bool
	readyErr  error
	startErr  error
	waitErr   error
	block     bool // Wait blocks until its context is cancelled
	noCode    bool // another terminal signed in meanwhile: no code to show
	slowStart bool // Start blocks until its context ends
	startCtx  bool // Start saw its context end
	starts    int
	aborts    int
	waitCtxOK bool
}

func (f *fakeSignIn) Ready(context.Context) (string, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.readyErr != nil {
		return "", false, f.readyErr
	}
	return "alex@contoso.com", f.cached, nil
}

func (f *fakeSignIn) Start(ctx context.Context) (signin.Prompt, error) {
	if f.slowStart {
		<-ctx.Done()
		f.mu.Lock()
		f.startCtx = true
		f.mu.Unlock()
		return signin.Prompt{}, ctx.Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.starts++
	if f.startErr != nil {
		return signin.Prompt{}, f.startErr
	}
	if f.noCode {
		return signin.Prompt{}, nil
	}
	return signin.Prompt{URL: "https://microsoft.com/devicelogin\x1b]52;c;AAAA\x07", Code: "FAKE-CODE", ExpiresOn: testNow.Add(15 * time.Minute)}, nil
}

func (f *fakeSignIn) Wait(ctx context.Context) (string, error) {
	if f.block {
		<-ctx.Done()
		f.mu.Lock()
		f.waitCtxOK = true
		f.mu.Unlock()
		return "", ctx.Err()
	}
	if f.waitErr != nil {
		return "", f.waitErr
	}
	return "alex@contoso.com", nil
}

func (f *fakeSignIn) Abort() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.aborts++
}

// runSignIn runs the harness's commands including the sign-in messages.
func (h *harness) runAll(cmd tea.Cmd) {
	h.t.Helper()
	msg := runCmd(cmd)
	if msg == nil {
		return
	}
	switch msg := msg.(type) {
	case loadedMsg, cancelledMsg, readyMsg, startedMsg, signedInMsg:
		h.runAll(h.send(msg))
	case tea.BatchMsg:
		for _, c := range msg {
			h.runAll(c)
		}
	}
}

func newSignInHarness(t *testing.T, si *fakeSignIn) *harness {
	t.Helper()
	svc := &fakeService{actions: sampleActions()}
	h := &harness{t: t, svc: svc, m: New(Options{Service: svc, SignIn: si, SignInAbout: "commercial cloud · tenant contoso", Endpoint: "api", Mono: true,
		Now: func() time.Time { return testNow }})}
	h.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	return h
}

func TestSavedSignInGoesStraightToTheList(t *testing.T) {
	si := &fakeSignIn{cached: true}
	h := newSignInHarness(t, si)
	h.runAll(h.m.Init())
	if h.m.signIn != nil || h.m.table.Len() != 3 || si.starts != 0 {
		t.Fatalf("with a saved sign-in: signIn=%v rows=%d starts=%d", h.m.signIn, h.m.table.Len(), si.starts)
	}
	if !strings.Contains(h.screen(), "Signed in as alex@contoso.com") {
		t.Fatalf("no signed-in note:\n%s", h.screen())
	}
}

func TestDeviceCodeIsShownThenTheList(t *testing.T) {
	// Step by step, so the code screen can be seen before Wait returns.
	h2 := newSignInHarness(t, &fakeSignIn{})
	cmd := h2.send(h2.m.Init()()) // ready -> Start
	cmd = h2.send(cmd())          // started -> Wait
	s := h2.screen()
	for _, w := range []string{"https://microsoft.com/devicelogin", "FAKE-CODE", "Waiting for you to sign in", "tenant contoso", "esc: abort sign-in"} {
		if !strings.Contains(s, w) {
			t.Fatalf("sign-in screen lacks %q:\n%s", w, s)
		}
	}
	if strings.Contains(h2.m.View().Content, "\x1b]52") {
		t.Fatal("an escape sequence from the identity provider reached the screen")
	}
	h2.runAll(cmd) // Wait -> signed in -> load
	if h2.m.signIn != nil || h2.m.table.Len() != 3 {
		t.Fatal("did not continue into the list after signing in")
	}
}

func TestEscAbortsTheSignInAndRRestartsIt(t *testing.T) {
	si := &fakeSignIn{block: true}
	h := newSignInHarness(t, si)
	cmd := h.send(h.m.Init()())
	wait := h.send(cmd()) // the Wait command, which blocks
	done := make(chan tea.Msg)
	go func() { done <- wait() }()
	abort := h.send(keyPress("esc"))
	late := <-done // Wait returned because esc cancelled its context
	if !si.waitCtxOK {
		t.Fatal("esc did not cancel the wait")
	}
	h.run(abort)
	if si.aborts != 1 || h.m.signIn == nil || h.m.signIn.Stage != signin.Aborted {
		t.Fatalf("after esc: aborts=%d stage=%v", si.aborts, h.m.signIn)
	}
	h.send(late) // the aborted try's answer must be dropped
	if h.m.signIn.Stage != signin.Aborted {
		t.Fatal("a reply to the aborted try changed the screen")
	}
	if !strings.Contains(h.screen(), "Sign-in aborted") {
		t.Fatalf("screen:\n%s", h.screen())
	}
	si.block = false
	h.runAll(h.send(keyPress("r")))
	if h.m.signIn != nil || si.starts != 2 {
		t.Fatalf("r did not sign in again (starts=%d)", si.starts)
	}
}

func TestSignInErrorsAreShownAndRetried(t *testing.T) {
	si := &fakeSignIn{startErr: errors.New("AADSTS7000218: The request body must contain client_assertion. Hint: allow public client flows on the app registration.")}
	h := newSignInHarness(t, si)
	h.runAll(h.m.Init())
	s := h.screen()
	if !strings.Contains(s, "AADSTS7000218") || !strings.Contains(s, "Press r to try again") {
		t.Fatalf("error not shown:\n%s", s)
	}
	if h.m.table.Len() != 0 || h.svc.lists != 0 {
		t.Fatal("listed without a sign-in")
	}
	si.startErr = nil
	h.runAll(h.send(keyPress("r")))
	if h.m.signIn != nil || h.m.table.Len() != 3 {
		t.Fatal("r after an error did not sign in")
	}
}

func TestQDuringSignInQuitsAndAborts(t *testing.T) {
	si := &fakeSignIn{}
	h := newSignInHarness(t, si)
	cmd := h.send(h.m.Init()())
	h.send(cmd())
	quit := h.send(keyPress("q"))
	if quit == nil {
		t.Fatal("q did nothing")
	}
	// tea.Sequence's message type is unexported: walk it as a slice of Cmds.
	seq := reflect.ValueOf(quit())
	if seq.Kind() != reflect.Slice || seq.Len() != 2 {
		t.Fatalf("q returned %T", quit())
	}
	seq.Index(0).Interface().(tea.Cmd)()
	if _, ok := seq.Index(1).Interface().(tea.Cmd)().(tea.QuitMsg); !ok || si.aborts != 1 {
		t.Fatal("q did not abort the sign-in and quit")
	}
}

func TestSignInByAnotherTerminalShowsNoEmptyCode(t *testing.T) {
	h := newSignInHarness(t, &fakeSignIn{noCode: true})
	cmd := h.send(h.m.Init()())
	wait := h.send(cmd())
	if strings.Contains(h.screen(), "Enter this code") {
		t.Fatalf("an empty code screen was shown:\n%s", h.screen())
	}
	h.runAll(wait)
	if h.m.signIn != nil || h.m.table.Len() != 3 {
		t.Fatal("did not continue into the list")
	}
}

// Found by a tester: esc while the code was being requested left that
// request (and the token cache's lock) running.
func TestEscWhileRequestingTheCodeStopsTheRequest(t *testing.T) {
	si := &fakeSignIn{slowStart: true}
	h := newSignInHarness(t, si)
	start := h.send(h.m.Init()())
	if h.m.signIn.Stage != signin.Requesting || !strings.Contains(h.screen(), "asking Microsoft Entra ID for a sign-in code") {
		t.Fatalf("stage %v:\n%s", h.m.signIn.Stage, h.screen())
	}
	done := make(chan tea.Msg)
	go func() { done <- start() }()
	h.run(h.send(keyPress("esc")))
	select {
	case late := <-done:
		h.send(late)
	case <-time.After(5 * time.Second):
		t.Fatal("esc did not stop the code request")
	}
	if !si.startCtx || h.m.signIn.Stage != signin.Aborted {
		t.Fatal("the request was not cancelled, or the screen moved on")
	}
	if !strings.Contains(h.screen(), "not signed in") {
		t.Fatalf("header after an abort:\n%s", h.screen())
	}
}

func TestACodeForAnAbandonedTryIsLetGo(t *testing.T) {
	si := &fakeSignIn{}
	h := newSignInHarness(t, si)
	h.send(h.m.Init()()) // ready: not signed in, Start next
	h.send(keyPress("esc"))
	cmd := h.send(startedMsg{gen: 0, prompt: signin.Prompt{Code: "LATE"}})
	if cmd == nil {
		t.Fatal("a late code was ignored without letting it go")
	}
	cmd()
	if si.aborts < 1 {
		t.Fatal("the late sign-in was not aborted")
	}
}

func TestWarningsReachTheFooter(t *testing.T) {
	ch := make(chan string, 1)
	ch <- "the token cache was corrupt; it was moved aside"
	svc := &fakeService{actions: sampleActions()}
	h := &harness{t: t, svc: svc, m: New(Options{Service: svc, Warnings: ch, Mono: true, Now: func() time.Time { return testNow }})}
	h.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	for _, c := range h.m.Init()().(tea.BatchMsg) {
		if msg := runCmd(c); msg != nil {
			h.send(msg)
		}
	}
	if !strings.Contains(h.m.msg.text, "Warning: the token cache was corrupt") {
		t.Fatalf("footer = %q", h.m.msg.text)
	}
}
