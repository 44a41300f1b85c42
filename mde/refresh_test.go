package mde

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/mdeactions/mdeactions/mde/reliability"
)

type refreshingSource struct {
	token, fresh string
	refreshes    atomic.Int32
}

func (s *refreshingSource) Token(context.Context) (string, error) { return s.token, nil }
func (s *refreshingSource) Refresh(context.Context) (string, error) {
	s.refreshes.Add(1)
	return s.fresh, nil
}

func TestA401RefreshesTheTokenAndRetriesOnce(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.Header.Get("Authorization") != "Bearer fresh-token" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":{"code":"Unauthorized","message":"expired","target":"t"}}`))
			return
		}
		if r.Method == http.MethodPost {
			b := make([]byte, 64)
			n, _ := r.Body.Read(b)
			if string(b[:n]) != `{"Comment":"retry me"}` {
				t.Errorf("the retried cancel lost its body: %q", b[:n])
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":"a1","status":"Cancelled"}`))
	}))
	defer srv.Close()

	src := &refreshingSource{token: "stale-token", fresh: "fresh-token"}
	c, err := NewClient(srv.URL, srv.Client(), src)
	if err != nil {
		t.Fatal(err)
	}
	a, err := c.Cancel(context.Background(), "a1", "retry me")
	if err != nil || a.Status != StatusCancelled {
		t.Fatalf("Cancel after a refresh = %+v, %v", a, err)
	}
	if calls.Load() != 2 || src.refreshes.Load() != 1 {
		t.Fatalf("%d requests and %d refreshes, want 2 and 1", calls.Load(), src.refreshes.Load())
	}

	// A token the API still refuses after the refresh: one retry only, then the 401.
	calls.Store(0)
	src2 := &refreshingSource{token: "stale-token", fresh: "still-bad"}
	c2, _ := NewClient(srv.URL, srv.Client(), src2)
	_, err = c2.Get(context.Background(), "a1")
	if e, ok := AsAPIError(err); !ok || e.StatusCode != 401 {
		t.Fatalf("want the 401 after one retry, got %v", err)
	}
	if calls.Load() != 2 || src2.refreshes.Load() != 1 {
		t.Fatalf("%d requests and %d refreshes, want 2 and 1", calls.Load(), src2.refreshes.Load())
	}

	// A plain TokenSource is not retried.
	calls.Store(0)
	c3, _ := NewClient(srv.URL, srv.Client(), StaticToken("stale-token"))
	if _, err := c3.Get(context.Background(), "a1"); err == nil || calls.Load() != 1 {
		t.Fatalf("static token: %d requests, err %v; want 1 and a 401", calls.Load(), err)
	}
}

type failingRefresh struct{}

func (failingRefresh) Token(context.Context) (string, error) { return "expired-token", nil }
func (failingRefresh) Refresh(context.Context) (string, error) {
	return "", errors.New("the variable still holds the token the API refused")
}

// A 401 whose refresh fails was not applied: a token error, never an
// unknown outcome (which would send the UI to re-read, and say the answer
// was lost).
func TestA401WithAFailedRefreshIsATokenError(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":{"code":"Unauthorized","message":"expired","target":"t"}}`))
	}))
	defer srv.Close()
	c, _ := NewClient(srv.URL, srv.Client(), failingRefresh{}, WithRetry(DefaultRetryPolicy))
	_, err := c.Cancel(context.Background(), "a1", "x")
	if !errors.Is(err, ErrToken) || OutcomeUnknown(err) || Transient(err) {
		t.Fatalf("cancel: %v (token error %v, unknown %v)", err, errors.Is(err, ErrToken), OutcomeUnknown(err))
	}
	calls.Store(0)
	if _, err := c.Get(context.Background(), "a1"); !errors.Is(err, ErrToken) || calls.Load() != 1 {
		t.Fatalf("a GET after a failed refresh: %d requests, %v; want 1, no retry", calls.Load(), err)
	}
	reliability.Record(t, reliability.Row{Area: "auth", Fault: "401 on a cancel, and the token cannot be refreshed",
		Outcome: "a token error (not applied), not a lost answer: no re-read, no retry; the message says to get a new token"})
}
