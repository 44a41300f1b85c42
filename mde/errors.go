package mde

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mdeactions/mdeactions/mde/textsafe"
)

// ErrReadOnly is returned, before any network I/O, for every request other
// than GET made by a client built WithReadOnly.
var ErrReadOnly = errors.New("mde: read-only mode")

// ErrToken is wrapped by the error of a request that was not sent because
// no token could be had (sign-in failed, expired, or was never done); the
// error it wraps is the token source's.
var ErrToken = errors.New("getting a token")

// ErrBadAnswer is wrapped by the errors of a request that the API answered
// with a success status but a body that could not be read as what was
// asked for. For a cancel it means the cancel may well have been applied.
var ErrBadAnswer = errors.New("unreadable answer")

// APIError is a non-2xx answer from the API. It never holds request headers
// or the query string, so it is safe to show and to log.
type APIError struct {
	StatusCode int
	Code       string // the API's error code; "" for the OData-layer shape
	Message    string
	Target     string        // the API's per-request id
	RetryAfter time.Duration // from the Retry-After header; 0 when absent
	Method     string
	Path       string // the URL path only
	Body       string // for a body that is not a JSON error: its start, cleaned
}

// Error reads like
// "mde: GET /api/machineactions/x: 404 ResourceNotFound: MachineAction x was not found (request id …)".
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "mde: %s %s: %d", e.Method, e.Path, e.StatusCode)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	} else if e.Message == "" {
		b.WriteString(" " + http.StatusText(e.StatusCode))
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.Message == "" && e.Body != "" {
		b.WriteString(" (the body is not a JSON error)")
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	if e.Target != "" {
		b.WriteString(" (request id " + e.Target + ")")
	}
	return b.String()
}

// AsAPIError finds an *APIError in err's chain.
func AsAPIError(err error) (*APIError, bool) {
	var e *APIError
	ok := errors.As(err, &e)
	return e, ok
}

// IsNotFound reports whether err is an API answer 404.
func IsNotFound(err error) bool {
	e, ok := AsAPIError(err)
	return ok && e.StatusCode == http.StatusNotFound
}

// RetryAfter reports whether err is a 429 (too many requests) and how long
// the API asked to wait; the wait is 0 when the API gave none.
func RetryAfter(err error) (time.Duration, bool) {
	e, ok := AsAPIError(err)
	if !ok || e.StatusCode != http.StatusTooManyRequests {
		return 0, false
	}
	return e.RetryAfter, true
}

// maxBodyInError is how much of a body that is not a JSON error APIError keeps.
const maxBodyInError = 512

// newAPIError builds the error for a non-2xx response from its status,
// headers and (already capped) body. It understands both body shapes the
// API uses: {"error":{"code","message","target"}} and the OData layer's
// {"error":{"code":"","message","details":[]}}.
func newAPIError(method, path string, resp *http.Response, body []byte) *APIError {
	e := &APIError{
		StatusCode: resp.StatusCode,
		Method:     method,
		Path:       path,
		RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()),
	}
	var env struct {
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Target  string `json:"target"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &env) == nil && env.Error != nil {
		e.Code = cleanText(env.Error.Code)
		e.Message = cleanText(env.Error.Message)
		e.Target = cleanText(env.Error.Target)
		return e
	}
	if len(body) > maxBodyInError {
		body = body[:maxBodyInError]
	}
	e.Body = cleanText(string(body))
	return e
}

// parseRetryAfter reads a Retry-After value in seconds or as an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// cleanText makes text from a server safe to print on one line (and in a
// terminal): invalid UTF-8 and control characters, escape sequences'
// ESC included, are dropped; line breaks and tabs become spaces.
func cleanText(s string) string {
	return strings.TrimSpace(textsafe.Clean(s))
}

// redact removes the bearer token from every text field, in case a server
// echoes the request's headers back.
func (e *APIError) redact(token string) {
	if len(token) < 8 {
		return // too short to tell apart from ordinary text
	}
	for _, f := range []*string{&e.Code, &e.Message, &e.Target, &e.Body} {
		*f = strings.ReplaceAll(*f, token, "[redacted]")
	}
}
