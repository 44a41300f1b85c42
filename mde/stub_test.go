package mde

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
)

// testToken looks like a JWT so that a leak is easy to spot.
const testToken = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.c2VjcmV0LXRva2VuLWZvci10ZXN0cw.c2lnbmF0dXJl"

// hit is one request a stub server received.
type hit struct {
	Method   string
	Path     string // escaped
	RawQuery string
	Query    url.Values
	Header   http.Header
	Body     string
}

// stub is an httptest server that records every request before handing it
// to its handler.
type stub struct {
	*httptest.Server
	mu   sync.Mutex
	hits []hit
}

func newStub(t *testing.T, h http.HandlerFunc) *stub {
	t.Helper()
	s := &stub{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.hits = append(s.hits, hit{
			Method:   r.Method,
			Path:     r.URL.EscapedPath(),
			RawQuery: r.URL.RawQuery,
			Query:    r.URL.Query(),
			Header:   r.Header.Clone(),
			Body:     string(b),
		})
		s.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *stub) Hits() []hit {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]hit(nil), s.hits...)
}

// respond writes a JSON answer.
func respond(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json; odata.metadata=minimal; odata.streaming=true; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// entityServer answers every request with the given status and body.
func entityServer(t *testing.T, status int, body string) *stub {
	return newStub(t, func(w http.ResponseWriter, r *http.Request) { respond(w, status, body) })
}

func newTestClient(t *testing.T, baseURL string, opts ...Option) *Client {
	t.Helper()
	c, err := NewClient(baseURL, nil, StaticToken(testToken), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// countingTokens is a TokenSource that counts its calls.
type countingTokens struct {
	mu    sync.Mutex
	calls int
	token string
	err   error
}

func (c *countingTokens) Calls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

func (c *countingTokens) Token(context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	return c.token, c.err
}
