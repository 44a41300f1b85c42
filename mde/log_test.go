package mde

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestLoggerRecordsRequestsButNeverTheToken(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/cancel") {
			w.WriteHeader(400)
			_, _ = w.Write([]byte(`{"error":{"code":"BadRequest","message":"echo ` + r.Header.Get("Authorization") + `","target":"t"}}`))
			return
		}
		_, _ = w.Write([]byte(`{"value":[]}`))
	}))
	defer srv.Close()
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, err := NewClient(srv.URL, srv.Client(), StaticToken("SECRET-TOKEN-1234567890"), WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.List(context.Background(), Query{Statuses: []ActionStatus{StatusPending}}); err != nil {
		t.Fatal(err)
	}
	_, _ = c.Cancel(context.Background(), "a1", "x")
	out := buf.String()
	if !strings.Contains(out, "method=GET") || !strings.Contains(out, "status=400") || !strings.Contains(out, "/api/machineactions/a1/cancel") {
		t.Fatalf("log lacks the requests:\n%s", out)
	}
	if strings.Contains(out, "SECRET-TOKEN") || strings.Contains(strings.ToLower(out), "authorization") {
		t.Fatalf("the token or a header reached the log:\n%s", out)
	}
}
