package mde

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"time"
)

// RetryPolicy bounds the retries of idempotent requests (GET: list pages
// and single actions). A cancel (POST) is never retried by the client: its
// outcome may be unknown, and only a re-read can tell (see OutcomeUnknown).
type RetryPolicy struct {
	Attempts int           // tries in all, the first included; 1 means no retry
	Base     time.Duration // first back-off; doubled at each retry, with jitter
	Max      time.Duration // longest back-off between two tries
	MaxWait  time.Duration // a 429 asking to wait longer than this is not retried: the caller is told
}

// DefaultRetryPolicy is 3 tries, 500 ms then 1 s (each between half and
// all of it, at random), and a 429's Retry-After waited out up to 30 s.
var DefaultRetryPolicy = RetryPolicy{Attempts: 3, Base: 500 * time.Millisecond, Max: 5 * time.Second, MaxWait: 30 * time.Second}

// WithRetry sets the retry policy of GET requests. Without it a client
// tries each request once.
func WithRetry(p RetryPolicy) Option { return func(c *Client) { c.retry = p } }

// WithRequestTimeout bounds each try of each request, reading the answer
// included (0: no bound of the client's own; the http.Client's Timeout
// and the caller's context still apply).
func WithRequestTimeout(d time.Duration) Option { return func(c *Client) { c.timeout = d } }

// ErrTimeout is wrapped by the error of a try that got no complete answer
// within the client's request timeout.
var ErrTimeout = errors.New("no answer in time")

// attempt runs one try of a request under the per-request timeout. A try
// that ran out of time has its error wrapped with ErrTimeout.
func (c *Client) attempt(ctx context.Context, try func(ctx context.Context) error) error {
	if c.timeout <= 0 {
		return try(ctx)
	}
	actx, cancel := context.WithTimeoutCause(ctx, c.timeout, ErrTimeout)
	defer cancel()
	err := try(actx)
	if err != nil && ctx.Err() == nil && errors.Is(context.Cause(actx), ErrTimeout) {
		return &timeoutError{err: err, after: c.timeout}
	}
	return err
}

// timeoutError is a try cut short by the request timeout.
type timeoutError struct {
	err   error
	after time.Duration
}

func (e *timeoutError) Error() string {
	return e.err.Error() + " (no answer within " + e.after.String() + ")"
}
func (e *timeoutError) Unwrap() []error { return []error{e.err, ErrTimeout} }

// idempotent runs a GET with the retry policy: transport errors, time-outs,
// unreadable answers, 500, 502, 503 and 504 are tried again, up to Attempts
// tries in all, after an exponential back-off with jitter. A 429 is tried
// again after its Retry-After (seconds or an HTTP date) when that is at
// most MaxWait: waited here by a client without budgets, by the budget
// (which holds every request back that long) by one with them.
func (c *Client) idempotent(ctx context.Context, what string, try func(ctx context.Context) error) error {
	p := c.retry
	for n := 1; ; n++ {
		err := c.attempt(ctx, try)
		if err == nil {
			return nil
		}
		wait, ok := c.retryWait(ctx, err, n)
		if !ok {
			return err
		}
		if c.log != nil {
			c.log.Info("api request retried", "request", what, "try", n+1, "of", p.Attempts, "after", wait.Round(time.Millisecond), "error", cleanText(err.Error()))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// retryWait says whether the n-th try's error is worth another try, and
// after how long.
func (c *Client) retryWait(ctx context.Context, err error, n int) (time.Duration, bool) {
	p := c.retry
	if n >= p.Attempts || ctx.Err() != nil || !Transient(err) {
		return 0, false
	}
	if e, ok := AsAPIError(err); ok && e.StatusCode == http.StatusTooManyRequests {
		ra := e.RetryAfter
		if ra == 0 {
			ra = DefaultRetryAfter
		}
		if ra > p.MaxWait {
			return 0, false // too long to wait unasked: the caller is told
		}
		if c.budgets.list != nil || c.budgets.get != nil {
			// Paced by budgets: the budget was told of the 429 and holds
			// the next try back until Retry-After itself.
			return 0, true
		}
		return ra, true
	}
	d := p.Base << (n - 1)
	if d > p.Max || d <= 0 {
		d = p.Max
	}
	return d/2 + rand.N(d/2+1), true
}

// Transient reports whether a failed request may succeed if made again:
// no answer (a reset connection, a time-out), an unreadable answer, a 429,
// or a 500, 502, 503 or 504. It says nothing of whether it was applied.
func Transient(err error) bool {
	if err == nil || errors.Is(err, ErrReadOnly) || errors.Is(err, ErrToken) || errors.Is(err, context.Canceled) {
		return false
	}
	if e, ok := AsAPIError(err); ok {
		switch e.StatusCode {
		case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
			http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
		return false
	}
	return true
}

// OutcomeUnknown reports whether a failed cancel may nevertheless have been
// applied: the API's answer was lost (a reset, a time-out), unreadable, or
// a 5xx from a gateway that may have passed the request on. Such a cancel
// must not be sent again blindly: re-read the action to learn its state.
// It is false for an answer that refused the request (4xx, 429) and for
// errors that came before anything was sent.
func OutcomeUnknown(err error) bool {
	if err == nil || errors.Is(err, ErrReadOnly) || errors.Is(err, ErrToken) || errors.Is(err, errNotSent) {
		return false
	}
	if e, ok := AsAPIError(err); ok {
		return e.StatusCode >= 500
	}
	var dns *net.DNSError
	var op *net.OpError
	switch {
	case errors.As(err, &dns):
		return false
	case errors.As(err, &op) && op.Op == "dial":
		return false
	}
	return true
}

// errNotSent marks errors that come before any byte left (no budget, no
// request could be built). It adds nothing to the error's text.
var errNotSent error = notSent{}

type notSent struct{}

func (notSent) Error() string { return "" }
