package auth

import (
	"context"
	"errors"
	"fmt"
)

// errLockWait: the context ended while another process held the cache lock.
var errLockWait = errors.New("waiting for another mdeactions sign-in that uses the same token cache")

// acquireLock is the lock around every token request of a device-code
// source: a channel for the goroutines of this process, then an exclusive
// flock on the sidecar file "<cache>.lock" for other processes (two
// terminals on one jump host). It is held from MSAL's cache read to its
// write, so a token another process writes in between is never lost
// (msal.md §4.2: only a lock around the whole acquisition closes that
// window). With no file (no cache) only the channel is used.
type acquireLock struct {
	sem  chan struct{}
	path string // "" => in-process only
	warn func(string)
}

func newAcquireLock(path string, warn func(string)) *acquireLock {
	return &acquireLock{sem: make(chan struct{}, 1), path: path, warn: warn}
}

// skipFileLock turns the cross-process lock off. Only the test that shows
// tokens are lost without it sets it.
var skipFileLock = false

// lock waits for the lock, honouring ctx, and returns its release func.
// The first time it has to wait for another process it says so with warn.
func (l *acquireLock) lock(ctx context.Context) (release func(), err error) {
	select {
	case l.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", errLockWait, ctx.Err())
	}
	if l.path == "" || skipFileLock {
		return func() { <-l.sem }, nil
	}
	unlock, err := lockFile(ctx, l.path, func() {
		l.warn("waiting for another mdeactions sign-in that uses " + l.path + " to finish…")
	})
	if err != nil {
		<-l.sem
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w: %w", errLockWait, ctx.Err())
		}
		return nil, err
	}
	return func() { unlock(); <-l.sem }, nil
}
