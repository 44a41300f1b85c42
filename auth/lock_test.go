package auth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mdeactions/mdeactions/auth/fakeentra"
)

// TestOwnOpenSignInIsNamed: while a SignIn of this source is open (started,
// neither finished nor aborted), its other calls fail at once, saying so,
// instead of waiting until their context ends and blaming another terminal.
func TestOwnOpenSignInIsNamed(t *testing.T) {
	srv := startFake(t, fakeentra.Options{PendingPolls: -1})
	cfg, _, w := fakeConfig(t, srv, ModeDeviceCode)
	src := newDeviceCode(t, cfg)
	ctx := ctxT(t)

	si, err := src.StartSignIn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !src.lock.signInOpen() {
		t.Fatal("the source does not know its own SignIn holds the lock")
	}
	calls := map[string]func(context.Context) error{
		"Token":       func(ctx context.Context) error { _, err := src.Token(ctx); return err },
		"Refresh":     func(ctx context.Context) error { _, err := src.Refresh(ctx); return err },
		"StartSignIn": func(ctx context.Context) error { _, err := src.StartSignIn(ctx); return err },
		"Login":       func(ctx context.Context) error { _, err := src.Login(ctx, nil); return err },
	}
	for name, call := range calls {
		short, cancel := context.WithTimeout(ctx, 5*time.Second)
		start := time.Now()
		err := call(short)
		cancel()
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s waited %v for this window's own sign-in", name, d)
		}
		if !errors.Is(err, ErrSignInBusy) || errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: %v; want ErrSignInBusy at once", name, err)
			continue
		}
		ex := Explain(err)
		if !strings.Contains(ex, "a sign-in started in this window is still open: finish it or press esc") || strings.Contains(ex, "another mdeactions") {
			t.Errorf("%s: Explain:\n%s", name, ex)
		}
	}
	if got := strings.Join(w.all(), "\n"); strings.Contains(got, "another mdeactions") {
		t.Errorf("warned about another mdeactions: %q", got)
	}

	// A request already waiting for the lock (held by a Token call, say)
	// stops waiting when the holder turns out to be an open SignIn.
	si.Abort()
	release, err := src.lock.lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := src.Token(ctx); done <- err }()
	time.Sleep(50 * time.Millisecond)
	src.lock.heldBySignIn()
	select {
	case err := <-done:
		if !errors.Is(err, ErrSignInBusy) || !strings.Contains(err.Error(), "this window") {
			t.Fatalf("waiting Token: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a waiting Token kept waiting for this window's own sign-in")
	}
	release()
	if src.lock.signInOpen() {
		t.Fatal("the lock still says a SignIn holds it")
	}

	// Aborted: everything works again.
	if _, err := src.Token(ctx); !errors.Is(err, ErrSignInRequired) {
		t.Fatalf("Token after Abort: %v, want ErrSignInRequired", err)
	}
	si, err = src.StartSignIn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	srv.Approve(si.Code.UserCode)
	if _, err := si.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if src.lock.signInOpen() {
		t.Fatal("the lock still says a SignIn holds it after Wait")
	}
	if _, err := src.Token(ctx); err != nil {
		t.Fatalf("Token after Wait: %v", err)
	}
}

// TestAnotherTerminalsSignInIsErrSignInBusy: the cross-process wait is
// kept, and when it ends the error wraps ErrSignInBusy and the context's
// error, names the cache, and hints at the other terminal.
func TestAnotherTerminalsSignInIsErrSignInBusy(t *testing.T) {
	srv := startFake(t, fakeentra.Options{PendingPolls: -1})
	cfg, _, w := fakeConfig(t, srv, ModeDeviceCode)
	a := newDeviceCode(t, cfg)
	b := newDeviceCode(t, cfg) // another terminal: only the file lock is shared
	ctx := ctxT(t)
	si, err := a.StartSignIn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer si.Abort()
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = b.Token(short)
	if time.Since(start) < 250*time.Millisecond {
		t.Fatalf("Token did not wait for the other terminal: %v", err)
	}
	if !errors.Is(err, ErrSignInBusy) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Token while another terminal signs in: %v; want ErrSignInBusy and DeadlineExceeded", err)
	}
	ex := Explain(err)
	if !strings.Contains(ex, "another mdeactions is signing in with the same token cache") || !strings.Contains(ex, b.CachePath()) ||
		!strings.Contains(ex, "\nHint: finish or cancel the sign-in in the other terminal") || strings.Contains(ex, "this window") ||
		strings.Contains(ex, "context deadline exceeded") {
		t.Fatalf("Explain:\n%s", ex)
	}
	if got := strings.Join(w.all(), "\n"); !strings.Contains(got, "waiting for another mdeactions sign-in") {
		t.Fatalf("no waiting notice: %q", got)
	}
}
