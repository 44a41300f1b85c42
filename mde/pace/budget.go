// Package pace keeps API calls inside rate limits: a Budget per endpoint
// holds the times of the calls it let through and makes the next caller
// wait until one more call fits every limit, and until a server-requested
// back-off (429 Retry-After) is over.
package pace

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Limit allows at most Count calls in any sliding Window. A call made at t
// counts in the window until, and not at, t+Window (as the simulator does).
type Limit struct {
	Count  int
	Window time.Duration
}

// String writes the limit as ParseLimits reads it, e.g. "100/1m".
func (l Limit) String() string { return strconv.Itoa(l.Count) + "/" + shortDuration(l.Window) }

// DefaultLimits returns the machine-actions API's budget per endpoint and
// per app+tenant: 100 calls a minute and 1,500 calls an hour.
func DefaultLimits() []Limit {
	return []Limit{{100, time.Minute}, {1500, time.Hour}}
}

// FormatLimits writes limits as ParseLimits reads them: "100/1m,1500/1h".
func FormatLimits(limits []Limit) string {
	parts := make([]string, len(limits))
	for i, l := range limits {
		parts[i] = l.String()
	}
	return strings.Join(parts, ",")
}

// ParseLimits reads a comma-separated list of COUNT/WINDOW, such as
// "100/1m,1500/1h" or "100/2s,1500/30s"; WINDOW is a Go duration, and a
// bare unit ("100/m") means one of it.
func ParseLimits(s string) ([]Limit, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New(`pace: no rate limits given: want COUNT/WINDOW[,COUNT/WINDOW...], e.g. "100/1m,1500/1h"`)
	}
	var out []Limit
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		count, window, ok := strings.Cut(part, "/")
		if !ok {
			return nil, fmt.Errorf("pace: rate limit %q: want COUNT/WINDOW, e.g. 100/1m", part)
		}
		n, err := strconv.Atoi(strings.TrimSpace(count))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("pace: rate limit %q: the count %q is not a positive whole number", part, count)
		}
		window = strings.TrimSpace(window)
		if window != "" && strings.Trim(window, "0123456789.") == window {
			window = "1" + window // "m" means "1m"
		}
		d, err := time.ParseDuration(window)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("pace: rate limit %q: the window %q is not a positive duration such as 30s, 1m or 1h", part, window)
		}
		out = append(out, Limit{Count: n, Window: d})
	}
	return out, nil
}

// shortDuration writes whole hours, minutes or seconds as "1h", "1m", "30s".
func shortDuration(d time.Duration) string {
	for _, u := range []struct {
		unit time.Duration
		name string
	}{{time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if d > 0 && d%u.unit == 0 {
			return strconv.FormatInt(int64(d/u.unit), 10) + u.name
		}
	}
	return d.String()
}

// Budget paces the calls to one endpoint. It is safe for concurrent use;
// one Budget per endpoint serves the whole process. A nil *Budget never
// waits and records nothing.
//
// Window accounting: Wait records a call at the moment it lets it through.
// Backoff forgets the most recent recorded call, because the server did
// not count the call it refused with 429 either; with one caller at a time
// that is exactly the refused call, and with several it is one that went
// out at about the same moment. A call that failed in any other way stays
// recorded: the server may well have counted it.
type Budget struct {
	clock  Clock
	limits []Limit
	span   time.Duration // the longest window: older calls are forgotten

	mu      sync.Mutex
	calls   []time.Time // oldest first
	backoff time.Time   // no call before this
}

// NewBudget returns a budget enforcing every limit at once. Limits with a
// non-positive Count or Window are ignored; a nil clock is the real one.
func NewBudget(clock Clock, limits ...Limit) *Budget {
	if clock == nil {
		clock = RealClock()
	}
	b := &Budget{clock: clock}
	for _, l := range limits {
		if l.Count > 0 && l.Window > 0 {
			b.limits = append(b.limits, l)
			b.span = max(b.span, l.Window)
		}
	}
	return b
}

// Limits returns the limits the budget enforces.
func (b *Budget) Limits() []Limit {
	if b == nil {
		return nil
	}
	return slices.Clone(b.limits)
}

// Wait blocks until one more call fits every limit and no back-off is in
// force, then records the call. It returns ctx's error, recording nothing,
// if ctx ends first.
func (b *Budget) Wait(ctx context.Context) error {
	_, err := b.Take(ctx)
	return err
}

// Ticket is a call a budget let through; hand it back with Answered or
// Refused when the call's answer comes.
type Ticket struct{ at time.Time }

// Take is Wait returning the call's ticket.
func (b *Budget) Take(ctx context.Context) (Ticket, error) {
	if b == nil {
		return Ticket{}, nil
	}
	for {
		if err := ctx.Err(); err != nil {
			return Ticket{}, err
		}
		b.mu.Lock()
		now := b.clock.Now()
		next := b.nextLocked(now)
		if !next.After(now) {
			b.recordLocked(now)
			b.mu.Unlock()
			return Ticket{at: now}, nil
		}
		b.mu.Unlock()
		// Someone else may take the slot, or a Backoff may come, while we
		// sleep: check again afterwards.
		if err := b.clock.Sleep(ctx, next.Sub(now)); err != nil {
			return Ticket{}, err
		}
	}
}

// Answered counts the ticket's call from now, when its answer came, rather
// than from when it was sent. The server counted it at some moment in
// between; counting from the later end keeps each of our windows at least
// as late as the server's, so that network latency can never turn pacing
// right at the limit into a 429.
func (b *Budget) Answered(t Ticket) {
	if b == nil || t.at.IsZero() {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.removeLocked(t.at)
	b.recordLocked(b.clock.Now())
}

// Refused is for a ticket's call answered 429: the server did not count it,
// so neither does the budget, and no call goes before now+retryAfter (a
// longer back-off already in force is kept).
func (b *Budget) Refused(t Ticket, retryAfter time.Duration) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !t.at.IsZero() {
		b.removeLocked(t.at)
	}
	if until := b.clock.Now().Add(retryAfter); until.After(b.backoff) {
		b.backoff = until
	}
}

// removeLocked forgets one call recorded at t, if it is still there.
func (b *Budget) removeLocked(t time.Time) {
	for i := len(b.calls) - 1; i >= 0; i-- {
		if b.calls[i].Equal(t) {
			b.calls = slices.Delete(b.calls, i, i+1)
			return
		}
	}
}

// Backoff is for a call the server refused with 429: no call goes before
// now+retryAfter (a longer back-off already in force is kept), and the
// refused call is taken out of the windows (see Budget). A retryAfter <= 0
// sets no back-off.
func (b *Budget) Backoff(retryAfter time.Duration) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if n := len(b.calls); n > 0 {
		b.calls = b.calls[:n-1]
	}
	if until := b.clock.Now().Add(retryAfter); until.After(b.backoff) {
		b.backoff = until
	}
}

// Next returns the earliest time the next call may go: now, if it may go
// at once.
func (b *Budget) Next() time.Time {
	if b == nil {
		return time.Time{}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	return maxTime(now, b.nextLocked(now))
}

// Used returns how many recorded calls each limit's window holds now, in
// the order of the limits.
func (b *Budget) Used() []int {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	out := make([]int, len(b.limits))
	for i, l := range b.limits {
		out[i] = len(b.calls) - b.firstInWindow(now, l.Window)
	}
	return out
}

// nextLocked is the earliest time a call fits: the back-off's end, and for
// each limit that is full, the moment its oldest counted call leaves the
// window. It may be before now.
func (b *Budget) nextLocked(now time.Time) time.Time {
	b.forgetLocked(now)
	next := b.backoff
	for _, l := range b.limits {
		if k := len(b.calls) - l.Count; k >= 0 {
			// The calls after k are Count-1; the call at k must leave.
			next = maxTime(next, b.calls[k].Add(l.Window))
		}
	}
	return next
}

// firstInWindow returns the index of the oldest call still inside a window
// ending now: a call at t counts while t > now-window.
func (b *Budget) firstInWindow(now time.Time, window time.Duration) int {
	start := now.Add(-window)
	i := len(b.calls)
	for i > 0 && b.calls[i-1].After(start) {
		i--
	}
	return i
}

// forgetLocked drops the calls no window can see any more.
func (b *Budget) forgetLocked(now time.Time) {
	if i := b.firstInWindow(now, b.span); i > 0 {
		b.calls = slices.Delete(b.calls, 0, i)
	}
}

// recordLocked adds a call at now, keeping calls sorted even if the clock
// went backwards.
func (b *Budget) recordLocked(now time.Time) {
	i := len(b.calls)
	for i > 0 && b.calls[i-1].After(now) {
		i--
	}
	b.calls = slices.Insert(b.calls, i, now)
}
