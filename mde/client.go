package mde

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/mdeactions/mdeactions/mde/pace"
)

// TokenSource supplies the bearer token for each request.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// Refresher is a TokenSource that can acquire a new token when the API
// answers 401 to the one it gave (expired early, revoked, claims changed).
// The client calls Refresh once and retries the request once.
type Refresher interface {
	Refresh(ctx context.Context) (string, error)
}

// StaticToken is a fixed bearer token. An empty one sends no Authorization
// header at all.
type StaticToken string

// Token returns the token itself.
func (t StaticToken) Token(context.Context) (string, error) { return string(t), nil }

// Client calls the machine-actions API. It is safe for concurrent use.
type Client struct {
	base      *url.URL // scheme, host and an optional path prefix, no trailing slash
	hc        *http.Client
	ts        TokenSource
	userAgent string
	readOnly  bool
	budgets   budgets // rate-limit pacing per endpoint; see WithBudgets
	retry     RetryPolicy
	timeout   time.Duration // of each try; 0: none of the client's own
	log       *slog.Logger

	// Caps on response bodies; tests lower them.
	maxListBody   int64
	maxEntityBody int64
}

// Option configures a Client.
type Option func(*Client)

// WithUserAgent sets the User-Agent header of every request.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// WithLogger logs every request: method, path and query, status, time
// taken and the API's request id on errors. Never a header, never a token.
func WithLogger(l *slog.Logger) Option { return func(c *Client) { c.log = l } }

// WithReadOnly makes the client refuse every request other than GET with
// ErrReadOnly, before any network I/O.
func WithReadOnly() Option { return func(c *Client) { c.readOnly = true } }

const (
	defaultUserAgent = "mdeactions"
	defaultTimeout   = 30 * time.Second
	maxListBody      = 256 << 20
	maxEntityBody    = 4 << 20
	maxErrorBody     = 1 << 20
)

// NewClient returns a client for the API at baseURL, such as
// "https://api.security.microsoft.com" (without "/api"). A nil hc means an
// http.Client with a 30 s timeout.
func NewClient(baseURL string, hc *http.Client, ts TokenSource, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("mde: base URL: %w", err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("mde: base URL %q: want an absolute http or https URL", baseURL)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return nil, fmt.Errorf("mde: base URL %q: want no user info, query or fragment", baseURL)
	}
	if u.Scheme == "http" && !loopback(u.Hostname()) {
		return nil, fmt.Errorf("mde: base URL %q: plain http would send the token in clear text; use https (http is only for a loopback address, such as the simulator's)", baseURL)
	}
	if ts == nil {
		return nil, errors.New("mde: no token source")
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = strings.TrimRight(u.RawPath, "/")
	if hc == nil {
		hc = &http.Client{Timeout: defaultTimeout}
	}
	c := &Client{
		base:          u,
		hc:            hc,
		ts:            ts,
		userAgent:     defaultUserAgent,
		maxListBody:   maxListBody,
		maxEntityBody: maxEntityBody,
		retry:         RetryPolicy{Attempts: 1},
	}
	for _, opt := range opts {
		opt(c)
	}
	return c, nil
}

// BaseURL returns the base URL the client was built with, normalised.
func (c *Client) BaseURL() string { return c.base.String() }

// Get fetches one machine action by id.
func (c *Client) Get(ctx context.Context, id string) (MachineAction, error) {
	u, err := c.actionURL(id, "")
	if err != nil {
		return MachineAction{}, err
	}
	var a MachineAction
	err = c.idempotent(ctx, "GET "+u.EscapedPath(), func(ctx context.Context) (err error) {
		a, err = c.entity(ctx, http.MethodGet, u, nil)
		return err
	})
	return a, err
}

// Cancel asks the API to cancel a machine action that is not final yet and
// returns the action as the API answers it (the same id, updated in place).
// It is sent once, never retried: when it fails with OutcomeUnknown(err),
// it may have been applied, and only a re-read of the action can tell.
func (c *Client) Cancel(ctx context.Context, id, comment string) (MachineAction, error) {
	u, err := c.actionURL(id, "/cancel")
	if err != nil {
		return MachineAction{}, err
	}
	body, err := json.Marshal(struct{ Comment string }{comment})
	if err != nil {
		return MachineAction{}, err
	}
	var a MachineAction
	err = c.attempt(ctx, func(ctx context.Context) (err error) {
		a, err = c.entity(ctx, http.MethodPost, u, body)
		return err
	})
	return a, err
}

// actionURL is {base}/api/machineactions/{id}{more}.
func (c *Client) actionURL(id, more string) (*url.URL, error) {
	if id == "" || id == "." || id == ".." {
		return nil, fmt.Errorf("mde: invalid machine action id %q", id)
	}
	return c.apiURL("/machineactions/" + url.PathEscape(id) + more)
}

// apiURL is {base}/api{path}; path must already be escaped.
func (c *Client) apiURL(path string) (*url.URL, error) {
	u, err := url.Parse(c.base.String() + "/api" + path)
	if err != nil {
		return nil, fmt.Errorf("mde: %w", err)
	}
	return u, nil
}

// entity makes a request whose answer is a single machine action.
func (c *Client) entity(ctx context.Context, method string, u *url.URL, body []byte) (MachineAction, error) {
	resp, err := c.send(ctx, method, u, body)
	if err != nil {
		return MachineAction{}, err
	}
	defer closeBody(resp)
	b, err := io.ReadAll(newCapReader(resp.Body, c.maxEntityBody))
	if err != nil {
		return MachineAction{}, fmt.Errorf("mde: %s %s: %w: reading it: %w", method, u.EscapedPath(), ErrBadAnswer, err)
	}
	a, err := decodeEntity(b)
	if err != nil {
		return MachineAction{}, fmt.Errorf("mde: %s %s: %w: %w", method, u.EscapedPath(), ErrBadAnswer, err)
	}
	return a, nil
}

// send makes one request. A 2xx answer with a JSON content type (or none)
// is returned for the caller to read and close; any other status becomes
// an *APIError.
func (c *Client) send(ctx context.Context, method string, u *url.URL, body []byte) (*http.Response, error) {
	path := u.EscapedPath()
	if c.readOnly && method != http.MethodGet {
		return nil, fmt.Errorf("%w: refused %s %s", ErrReadOnly, method, path)
	}
	// The budget first: a wait can be long, and the token should be fresh.
	budget := c.budgetFor(method, path)
	ticket, err := takeBudget(ctx, budget, method, path)
	if err != nil {
		return nil, err
	}
	token, err := c.ts.Token(ctx)
	if err != nil {
		return nil, fmt.Errorf("mde: %s %s: %w: %w", method, path, ErrToken, err)
	}
	resp, err := c.do(ctx, method, u, body, token)
	if resp != nil && resp.StatusCode != http.StatusTooManyRequests {
		budget.Answered(ticket)
	}
	if err != nil {
		budget.Answered(ticket) // the server may have counted it
		return nil, err
	}
	// A 401 means the API did not act on the request, so one retry with a
	// fresh token is safe even for a cancel.
	if r, ok := c.ts.(Refresher); ok && resp.StatusCode == http.StatusUnauthorized {
		closeBody(resp)
		fresh, err := r.Refresh(ctx)
		if err != nil {
			// Not applied (401), and not to be tried again with this token:
			// a token error, not an unknown outcome.
			return nil, fmt.Errorf("mde: %s %s: the API refused the token (401); %w again failed: %w", method, path, ErrToken, err)
		}
		token = fresh
		if ticket, err = takeBudget(ctx, budget, method, path); err != nil {
			return nil, err
		}
		resp, err = c.do(ctx, method, u, body, token)
		if resp != nil && resp.StatusCode != http.StatusTooManyRequests {
			budget.Answered(ticket)
		}
		if err != nil {
			budget.Answered(ticket)
			return nil, err
		}
	}
	if a, ok := ctx.Value(answerKey{}).(*Answer); ok {
		a.Status = resp.StatusCode
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer closeBody(resp)
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		e := newAPIError(method, path, resp, b)
		e.redact(token)
		if e.StatusCode == http.StatusTooManyRequests {
			budget.Refused(ticket, cmp.Or(e.RetryAfter, DefaultRetryAfter))
		}
		return nil, e
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(strings.TrimSpace(ct)), "application/json") {
		closeBody(resp)
		mediaType, _, _ := strings.Cut(ct, ";")
		return nil, fmt.Errorf("mde: %s %s: %w: %d answer of type %q, want application/json", method, path, ErrBadAnswer, resp.StatusCode, cleanText(mediaType))
	}
	return resp, nil
}

// do sends one request with the token and returns whatever came back.
func (c *Client) do(ctx context.Context, method string, u *url.URL, body []byte, token string) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, fmt.Errorf("mde: %s %s: %w%w", method, u.EscapedPath(), err, errNotSent)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	resp, err := c.hc.Do(req)
	if c.log != nil {
		where := u.EscapedPath()
		if u.RawQuery != "" {
			where += "?" + u.RawQuery
		}
		took := time.Since(start).Round(time.Millisecond)
		if err != nil {
			c.log.Warn("api request failed", "method", method, "url", where, "took", took, "error", cleanText(err.Error()))
		} else {
			level := slog.LevelDebug
			if resp.StatusCode >= 400 {
				level = slog.LevelWarn
			}
			c.log.Log(ctx, level, "api request", "method", method, "url", where, "status", resp.StatusCode, "took", took)
		}
	}
	if err != nil {
		// *url.Error would repeat the whole URL, query included.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		where := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
		return nil, fmt.Errorf("mde: %s %s: %w", method, where.String(), err)
	}
	return resp, nil
}

// closeBody reads a little of what is left, so the connection can be
// reused, and closes the body.
func closeBody(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}

// decodeEntity decodes one machine action, which must be a JSON object.
func decodeEntity(b []byte) (MachineAction, error) {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 || b[0] != '{' {
		return MachineAction{}, errors.New("the machine action is not a JSON object")
	}
	var a MachineAction
	if err := a.UnmarshalJSON(b); err != nil { // directly: json.Unmarshal would validate b twice more
		return MachineAction{}, err
	}
	return a, nil
}

// capReader reads at most limit bytes and fails clearly on a longer body.
type capReader struct {
	r     io.Reader
	left  int64
	limit int64
}

func newCapReader(r io.Reader, limit int64) *capReader {
	return &capReader{r: r, left: limit, limit: limit}
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		// At the limit: one more byte means the body is too large.
		var one [1]byte
		if n, err := c.r.Read(one[:]); n == 0 {
			return 0, err
		}
		return 0, fmt.Errorf("the answer is larger than the %s limit", sizeText(c.limit))
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

func sizeText(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d-byte", n)
}

// ---- Rate-limit budgets (see WithBudgets) ----

// DefaultRetryAfter is the back-off applied to an endpoint's budget after a
// 429 that carries no usable Retry-After. The API documents that a 429
// carries one; 10 s is a conservative guess for when it does not, short
// enough to show as a countdown.
const DefaultRetryAfter = 10 * time.Second

// budgets holds one pace.Budget per endpoint; nil means no pacing.
type budgets struct{ list, get, cancel *pace.Budget }

// WithBudgets paces the list, get and cancel endpoints with the given
// budgets (any may be nil: that endpoint is not paced). Before each
// request, the retry after a 401 included, the client waits on the
// endpoint's budget; after a 429 it calls the budget's Backoff with the
// answer's Retry-After (DefaultRetryAfter if it has none). The client never
// retries a 429 itself: the caller gets the *APIError and decides.
func WithBudgets(list, get, cancel *pace.Budget) Option {
	return func(c *Client) { c.budgets = budgets{list, get, cancel} }
}

// budgetFor picks the budget of the endpoint a request goes to, from its
// method and escaped path: GET …/machineactions is the list (next pages
// included), GET …/machineactions/{id} a get, POST …/machineactions/{id}/cancel
// a cancel.
func (c *Client) budgetFor(method, path string) *pace.Budget {
	segs := strings.Split(strings.ToLower(strings.TrimSuffix(path, "/")), "/")
	n := len(segs)
	switch {
	case method == http.MethodGet && n >= 2 && segs[n-2] == "machineactions":
		return c.budgets.get
	case method == http.MethodGet && segs[n-1] == "machineactions":
		return c.budgets.list
	case method == http.MethodPost && n >= 3 && segs[n-1] == "cancel" && segs[n-3] == "machineactions":
		return c.budgets.cancel
	}
	return nil
}

// takeBudget waits for room in b, if any, and returns the call's ticket.
func takeBudget(ctx context.Context, b *pace.Budget, method, path string) (pace.Ticket, error) {
	t, err := b.Take(ctx)
	if err != nil {
		return t, fmt.Errorf("mde: %s %s: waiting for the rate-limit budget: %w%w", method, path, err, errNotSent)
	}
	return t, nil
}

// loopback reports whether host is this machine: localhost or a loopback IP.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Answer is what a caller may learn of a call's HTTP answer (see WithAnswer).
type Answer struct {
	Status int // the HTTP status of the last answer; 0 if none came
}

type answerKey struct{}

// WithAnswer returns a context under which the client notes the HTTP
// status of its answer in a (the audit trail records it for each cancel).
func WithAnswer(ctx context.Context, a *Answer) context.Context {
	return context.WithValue(ctx, answerKey{}, a)
}
