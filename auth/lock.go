package auth

import (
	"context"
	"errors"
	"strings"
	"sync"
)

// ErrSignInBusy: the token cache is held by a sign-in that has not
// finished, so a token request or a new sign-in cannot go ahead. Either a
// sign-in started in this window is still open (StartSignIn returned a
// SignIn that was neither waited for to the end nor aborted): the error
// then says so at once; or another mdeactions (another terminal) is
// signing in with the same cache and the wait for it ended with the
// context. Test with errors.Is; the error also wraps the context's error
// when a wait ended.
var ErrSignInBusy = errors.New("the token cache is busy with a sign-in")

// busyError is the ErrSignInBusy error, saying who holds the lock.
type busyError struct {
	own       bool   // an open SignIn of this source holds it
	inProcess bool   // another request of this source holds it
	path      string // the cache file, for the cross-process case
	err       error  // the context's error when a wait ended
}

func (e *busyError) Error() string {
	switch {
	case e.own:
		return "a sign-in started in this window is still open: finish it or press esc"
	case e.inProcess:
		return "the token cache is still in use by another request of this window; " + waitEnded(e.err)
	}
	return "another mdeactions is signing in with the same token cache (" + strings.TrimSuffix(e.path, ".lock") + "); " + waitEnded(e.err)
}

func (e *busyError) Is(target error) bool { return target == ErrSignInBusy }
func (e *busyError) Unwrap() error        { return e.err }

func waitEnded(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "gave up waiting for it (timed out)"
	case errors.Is(err, context.Canceled):
		return "stopped waiting for it (cancelled)"
	}
	return "stopped waiting for it"
}

// acquireLock is the lock around every token request of a device-code
// source: an in-process lock for the goroutines of this source, then an
// exclusive flock on the sidecar file "<cache>.lock" for other processes
// (two terminals on one jump host). It is held from MSAL's cache read to
// its write, so a token another process writes in between is never lost
// (msal.md §4.2: only a lock around the whole acquisition closes that
// window). With no file (no cache) only the in-process lock is used.
//
// The lock knows when an open SignIn of its own source holds it (from
// StartSignIn until Wait returns or Abort): then nobody in this process
// waits for it, as the holder is a person who may never come back; lock
// fails at once with ErrSignInBusy saying so.
type acquireLock struct {
	path string // "" => in-process only
	warn func(string)

	mu       sync.Mutex
	held     bool
	bySignIn bool          // the holder is an open SignIn
	changed  chan struct{} // closed (and replaced) when held or bySignIn changes
}

func newAcquireLock(path string, warn func(string)) *acquireLock {
	return &acquireLock{path: path, warn: warn, changed: make(chan struct{})}
}

// skipFileLock turns the cross-process lock off. Only the test that shows
// tokens are lost without it sets it.
var skipFileLock = false

// lock waits for the lock, honouring ctx, and returns its release func.
// The first time it has to wait for another process it says so with warn.
func (l *acquireLock) lock(ctx context.Context) (release func(), err error) {
	return l.acquire(ctx, true)
}

// acquire is lock; with strict false the lock file is taken without
// checking its directory's permissions and without creating the
// directory (sign-out must work on an unsafe cache: it deletes it).
func (l *acquireLock) acquire(ctx context.Context, strict bool) (release func(), err error) {
	for {
		l.mu.Lock()
		if !l.held {
			l.held = true
			l.mu.Unlock()
			break
		}
		if l.bySignIn {
			l.mu.Unlock()
			return nil, &busyError{own: true}
		}
		ch := l.changed
		l.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, &busyError{inProcess: true, err: ctx.Err()}
		}
	}
	if l.path == "" || skipFileLock {
		return l.release, nil
	}
	unlock, err := lockFile(ctx, l.path, strict, func() {
		l.warn("waiting for another mdeactions sign-in that uses " + l.path + " to finish…")
	})
	if err != nil {
		l.release()
		if ctx.Err() != nil {
			return nil, &busyError{path: l.path, err: ctx.Err()}
		}
		return nil, err
	}
	return func() { unlock(); l.release() }, nil
}

// heldBySignIn records that the holder is now an open SignIn; waiters in
// this process stop waiting.
func (l *acquireLock) heldBySignIn() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.bySignIn = true
	l.notifyLocked()
}

// signInOpen says whether an open SignIn holds the lock.
func (l *acquireLock) signInOpen() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.bySignIn
}

func (l *acquireLock) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.held, l.bySignIn = false, false
	l.notifyLocked()
}

func (l *acquireLock) notifyLocked() {
	close(l.changed)
	l.changed = make(chan struct{})
}
