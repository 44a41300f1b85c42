package mde

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// A server that ignores $top and $skip must not make the client page forever.
func TestServerIgnoringPagingDoesNotLoop(t *testing.T) {
	var calls atomic.Int32
	body := func(n int) string {
		rows := make([]string, n)
		for i := range rows {
			rows[i] = fmt.Sprintf(`{"id":"a%d","status":"Pending"}`, i)
		}
		return `{"value":[` + strings.Join(rows, ",") + `]}`
	}
	for _, tc := range []struct {
		name     string
		rows     int
		pageSize int
		wantErr  bool
		wantLen  int
	}{
		{"ignores $top: more rows than asked", 50, 10, false, 50},
		{"ignores $skip: the same full page again", 10, 10, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls.Store(0)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(body(tc.rows)))
			}))
			defer srv.Close()
			c, _ := NewClient(srv.URL, srv.Client(), StaticToken("t"))
			got, err := c.List(context.Background(), Query{PageSize: tc.pageSize})
			if (err != nil) != tc.wantErr || len(got) != tc.wantLen {
				t.Fatalf("List = %d rows, %v", len(got), err)
			}
			if calls.Load() > 2 {
				t.Fatalf("%d calls: the client kept paging", calls.Load())
			}
		})
	}
}
