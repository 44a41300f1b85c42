package mdesim

import (
	"sync"
	"time"
)

// Limit is one rate-limit budget: at most Count requests in any sliding
// Window.
type Limit struct {
	Count  int
	Window time.Duration
}

// DefaultLimits returns the documented budget of the list, get and cancel
// APIs: 100 calls per minute and 1,500 calls per hour.
func DefaultLimits() []Limit {
	return []Limit{{100, time.Minute}, {1500, time.Hour}}
}

// limiter keeps, for one endpoint, the times of the requests it accepted and
// checks new ones against every Limit. Rejected requests are not recorded,
// so a 429 does not consume budget.
type limiter struct {
	mu        sync.Mutex
	limits    []Limit
	maxWindow time.Duration
	accepted  []time.Time // oldest first
}

func newLimiter(limits []Limit) *limiter {
	l := &limiter{limits: limits}
	for _, lim := range limits {
		l.maxWindow = max(l.maxWindow, lim.Window)
	}
	return l
}

// allow records a request at now and returns 0 if every budget has room.
// Otherwise it records nothing and returns how long until the request would
// fit.
func (l *limiter) allow(now time.Time) (wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()

	// Forget requests that no window can see any more.
	drop := 0
	for drop < len(l.accepted) && !l.accepted[drop].After(now.Add(-l.maxWindow)) {
		drop++
	}
	l.accepted = l.accepted[drop:]

	for _, lim := range l.limits {
		if lim.Count <= 0 || lim.Window <= 0 {
			continue
		}
		// The requests inside this window are a suffix of accepted.
		first := len(l.accepted)
		for first > 0 && l.accepted[first-1].After(now.Add(-lim.Window)) {
			first--
		}
		inWindow := l.accepted[first:]
		if len(inWindow) < lim.Count {
			continue
		}
		// The request fits once enough of the oldest ones have left the
		// window: the (len-Count+1)th oldest must leave.
		leaves := inWindow[len(inWindow)-lim.Count].Add(lim.Window)
		wait = max(wait, leaves.Sub(now))
		if wait <= 0 {
			wait = time.Nanosecond
		}
	}
	if wait > 0 {
		return wait
	}
	// Keep the slice sorted even if the clock was set back.
	i := len(l.accepted)
	for i > 0 && l.accepted[i-1].After(now) {
		i--
	}
	l.accepted = append(l.accepted, time.Time{})
	copy(l.accepted[i+1:], l.accepted[i:])
	l.accepted[i] = now
	return 0
}

// retryAfterSeconds turns a wait into the whole seconds of a Retry-After
// header: rounded up, at least 1.
func retryAfterSeconds(wait time.Duration) int {
	s := int((wait + time.Second - 1) / time.Second)
	return max(s, 1)
}
