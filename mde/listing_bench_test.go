package mde_test

// Listing at tenant scale (issue #6): exactly 50,000 open actions in
// exactly five list calls of 10,000 (the API's largest page), and the
// server-side status filter against reading the whole history.

import (
	"cmp"
	"context"
	"io"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/mde/mdesim"
	"github.com/mdeactions/mdeactions/mde/pace"
)

// countingBody counts the bytes of answers the client reads.
type countingTransport struct{ n atomic.Int64 }

type countedBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b countedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil {
		resp.Body = countedBody{resp.Body, &t.n}
	}
	return resp, err
}

// historySim serves a generated tenant of n actions, open and finished
// (the history), on a stopped clock; exactly open of them are open
// (mdesim.Options.Open), or, if open is 0, the usual share. It returns how
// many are open.
func historySim(tb testing.TB, n, open int) (*mdesim.Server, int) {
	tb.Helper()
	srv, err := mdesim.Start(mdesim.Options{Seed: 3, Actions: n, Open: open, Devices: n / 10, NoLimits: true, Clock: pace.NewFakeClock(budgetStart)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = srv.Close() })
	open = 0
	for _, a := range srv.Sim.Actions() {
		if a.Status.Open() {
			open++
		}
	}
	return srv, open
}

var openStatuses = mde.Query{Statuses: []mde.ActionStatus{mde.StatusPending, mde.StatusInProgress}}

// listOnce lists with q and returns the actions, the list calls and the
// bytes received.
func listOnce(tb testing.TB, srv *mdesim.Server, q mde.Query) ([]mde.MachineAction, int, int64) {
	tb.Helper()
	ct := &countingTransport{}
	c, err := mde.NewClient(srv.URL, &http.Client{Transport: ct}, mde.StaticToken("t"))
	if err != nil {
		tb.Fatal(err)
	}
	before := srv.Sim.Requests(mdesim.EndpointList)
	acts, err := c.List(context.Background(), q)
	if err != nil {
		tb.Fatal(err)
	}
	return acts, srv.Sim.Requests(mdesim.EndpointList) - before, ct.n.Load()
}

// The open actions come in as few calls as the pages allow: exactly
// 50,000 open actions (in a history of 60,000) in exactly five calls of
// 10,000, the API's largest page. Under the race detector (make test) the
// tenant is a tenth as large in pages of 1,000: still five calls. With the
// status filter on the server, the finished history never crosses the wire.
func TestListingOpenActionsInFewestCalls(t *testing.T) {
	open, pageSize := 50_000, 0 // 0: mde.MaxPageSize
	if raceEnabled {
		open, pageSize = 2_500, 500
	}
	n := open * 6 / 5
	page := cmp.Or(pageSize, mde.MaxPageSize)
	srv, gotOpen := historySim(t, n, open)
	if gotOpen != open {
		t.Fatalf("the simulator has %d open actions, want %d", gotOpen, open)
	}
	q := openStatuses
	q.PageSize = pageSize
	acts, calls, received := listOnce(t, srv, q)
	if len(acts) != open || calls != 5 {
		t.Fatalf("%d actions in %d calls, want %d in 5", len(acts), calls, open)
	}
	for _, a := range acts {
		if !a.Status.Open() {
			t.Fatalf("a %s action came with the open ones", a.Status)
		}
	}
	all, allCalls, allReceived := listOnce(t, srv, mde.Query{PageSize: pageSize})
	t.Logf("%d open of %d; status filter: %d calls, %d B; whole history: %d calls, %d B", open, n, calls, received, allCalls, allReceived)
	if len(all) != n || allCalls != (n+page-1)/page {
		t.Fatalf("whole history: %d actions in %d calls", len(all), allCalls)
	}
	if received*int64(n) > allReceived*int64(open)*12/10 {
		t.Fatalf("the filtered list cost %d B, the whole history %d B: the filter did not run on the server", received, allReceived)
	}
}

// BenchmarkListing fetches and decodes the open actions of a generated
// tenant of 131,000 (exactly 50,000 open) with the status filter on the server, and the baseline
// that reads the whole history and keeps the open ones.
func BenchmarkListing(b *testing.B) {
	srv, open := historySim(b, 131_000, 50_000)
	for _, tc := range []struct {
		name string
		q    mde.Query
	}{{"status-filter", openStatuses}, {"whole-history", mde.Query{}}} {
		b.Run(tc.name, func(b *testing.B) {
			var calls int
			var received int64
			for b.Loop() {
				var acts []mde.MachineAction
				acts, calls, received = listOnce(b, srv, tc.q)
				n := 0
				for _, a := range acts {
					if a.Status.Open() {
						n++
					}
				}
				if n != open {
					b.Fatalf("%d open actions, want %d", n, open)
				}
			}
			b.ReportMetric(float64(open), "open-actions")
			b.ReportMetric(float64(calls), "calls")
			b.ReportMetric(float64(received), "B-received")
		})
	}
}
