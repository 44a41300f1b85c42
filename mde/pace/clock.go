package pace

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Clock tells the time and sleeps. RealClock is the wall clock; FakeClock
// moves only when a test tells it to.
type Clock interface {
	Now() time.Time
	// Sleep returns nil after d has passed, or ctx's error if ctx ends first.
	Sleep(ctx context.Context, d time.Duration) error
}

// RealClock returns the wall clock.
func RealClock() Clock { return realClock{} }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// FakeClock is a Clock for tests: time stands still until Advance or
// AdvanceToNext moves it, and a Sleep returns once time has reached its
// deadline. BlockUntil lets a test wait, without real sleeps, until the
// code under test is asleep on the clock. It is safe for concurrent use,
// and it also satisfies mdesim.Clock, so a simulator can share it.
type FakeClock struct {
	mu       sync.Mutex
	now      time.Time
	sleepers []*sleeper
	changed  chan struct{} // closed, and replaced, whenever sleepers changes
}

type sleeper struct {
	until time.Time
	wake  chan struct{}
}

// NewFakeClock returns a fake clock stopped at t.
func NewFakeClock(t time.Time) *FakeClock {
	return &FakeClock{now: t, changed: make(chan struct{})}
}

// Now returns the fake time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Sleep blocks until the clock reaches now+d or ctx ends. A d <= 0 returns
// at once.
func (c *FakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d <= 0 {
		return nil
	}
	c.mu.Lock()
	s := &sleeper{until: c.now.Add(d), wake: make(chan struct{})}
	c.sleepers = append(c.sleepers, s)
	c.notifyLocked()
	c.mu.Unlock()

	select {
	case <-s.wake:
		return nil
	case <-ctx.Done():
		c.mu.Lock()
		defer c.mu.Unlock()
		if i := slices.Index(c.sleepers, s); i >= 0 {
			c.sleepers = slices.Delete(c.sleepers, i, i+1)
			c.notifyLocked()
			return ctx.Err()
		}
		return nil // woken by Advance at the same moment: the sleep is over
	}
}

// Advance moves the clock forward by d and wakes every sleeper whose
// deadline has come.
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.setLocked(c.now.Add(d))
}

// AdvanceToNext moves the clock to the earliest sleeper's deadline (never
// backwards) and wakes it, with any other sleeper due by then. It returns
// false, without moving the clock, when nobody sleeps.
func (c *FakeClock) AdvanceToNext() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.sleepers) == 0 {
		return false
	}
	next := c.sleepers[0].until
	for _, s := range c.sleepers[1:] {
		if s.until.Before(next) {
			next = s.until
		}
	}
	c.setLocked(maxTime(c.now, next))
	return true
}

func (c *FakeClock) setLocked(t time.Time) {
	c.now = t
	kept := c.sleepers[:0]
	for _, s := range c.sleepers {
		if s.until.After(t) {
			kept = append(kept, s)
		} else {
			close(s.wake)
		}
	}
	clear(c.sleepers[len(kept):])
	if len(kept) != len(c.sleepers) {
		c.sleepers = kept
		c.notifyLocked()
	}
}

func (c *FakeClock) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// Sleepers returns how many goroutines are asleep on the clock.
func (c *FakeClock) Sleepers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.sleepers)
}

// BlockUntil returns once at least n goroutines are asleep on the clock, or
// with ctx's error.
func (c *FakeClock) BlockUntil(ctx context.Context, n int) error {
	for {
		c.mu.Lock()
		count, changed := len(c.sleepers), c.changed
		c.mu.Unlock()
		if count >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// AutoAdvance runs until ctx ends: whenever someone sleeps on the clock it
// moves the clock to the earliest deadline. With one goroutine sleeping at
// a time (a sequential job), every sleep then lasts exactly as long as
// asked, in no real time.
func (c *FakeClock) AutoAdvance(ctx context.Context) {
	for c.BlockUntil(ctx, 1) == nil {
		c.AdvanceToNext()
	}
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
