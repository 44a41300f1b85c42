package mdesim

import (
	"sync"
	"time"
)

// Clock tells the simulator what time it is. Every lifecycle transition and
// every rate-limit window is measured on it.
type Clock interface{ Now() time.Time }

// realClock is the wall clock, used when Options.Clock is nil.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// ManualClock is a Clock that only moves when told to. It is safe for
// concurrent use.
type ManualClock struct {
	mu sync.Mutex
	t  time.Time
}

// NewManualClock returns a clock stopped at t.
func NewManualClock(t time.Time) *ManualClock { return &ManualClock{t: t} }

// Now returns the clock's current time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Set moves the clock to t. Moving it backwards does not undo transitions
// the simulator has already applied.
func (c *ManualClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// ScaledClock runs speed times as fast as the wall clock from the moment
// it was made (speed 0: stopped there). Lifecycle transitions and
// rate-limit windows both run on it: at speed 60 an InProgress action
// finishes in seconds, and a one-minute limit window lasts one second.
type ScaledClock struct {
	start time.Time
	speed float64
}

// NewScaledClock returns a clock that starts now and runs speed times as
// fast as real time.
func NewScaledClock(speed float64) *ScaledClock {
	return &ScaledClock{start: time.Now(), speed: max(speed, 0)}
}

// Now returns the scaled time.
func (c *ScaledClock) Now() time.Time {
	return c.start.Add(time.Duration(float64(time.Since(c.start)) * c.speed))
}

// tick is the API's timestamp resolution (.NET ticks).
const tick = 100 * time.Nanosecond

// toTick returns t in UTC, truncated to the API's 100 ns resolution, so that
// what the simulator stores is exactly what a client parses back.
func toTick(t time.Time) time.Time { return t.UTC().Truncate(tick) }
