package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/mde/mdesim"
	"github.com/mdeactions/mdeactions/mde/reliability"
)

// TestCancelWithLostAnswerIsReread: the TUI's single cancel through the
// real client, against the simulator spoiling the answer. The cancel is
// sent once; the re-read tells whether it went through; the comment is
// kept when it did not.
func TestCancelWithLostAnswerIsReread(t *testing.T) {
	for _, tc := range []struct {
		fault   mdesim.Fault
		applied bool
		want    string
	}{
		{mdesim.Fault{Kind: mdesim.FaultLost}, true, "a re-read shows it went through"},
		{mdesim.Fault{Kind: mdesim.FaultMalformed}, true, "a re-read shows it went through"},
		{mdesim.Fault{Kind: mdesim.FaultReset}, false, "Not cancelled: the cancel's answer was lost"},
		{mdesim.Fault{Kind: mdesim.FaultStatus, Status: 503}, false, "Not cancelled: the cancel's answer was lost"},
		{mdesim.Fault{Kind: mdesim.FaultHang}, false, "Not cancelled: the cancel's answer was lost"},
	} {
		t.Run(tc.fault.String(), func(t *testing.T) {
			f := tc.fault
			f.Endpoint, f.Times = mdesim.EndpointCancel, 1
			srv, err := mdesim.Start(mdesim.Options{Actions: -1, NoLimits: true, Clock: mdesim.NewManualClock(testNow), Faults: []mdesim.Fault{f}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = srv.Close() })
			for _, a := range sampleActions() {
				srv.Sim.Put(a)
			}
			client, err := mde.NewClient(srv.URL, nil, mde.StaticToken("ui-test-token"), mde.WithRequestTimeout(150*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			h := newHarness(t, &fakeService{}, func(o *Options) { o.Service = client; o.Timeout = 250 * time.Millisecond })
			target := h.selected()
			comment := "lost answer " + string(f.Kind)
			h.press("c")
			h.typeText(comment)
			h.press("enter", "y")
			if !strings.Contains(h.m.msg.text, tc.want) {
				t.Fatalf("footer = %q, want %q", h.m.msg.text, tc.want)
			}
			if n := srv.Sim.Requests(mdesim.EndpointCancel); n != 1 {
				t.Fatalf("the cancel was sent %d times", n)
			}
			server, _ := srv.Sim.Action(target.ID)
			row := h.selected()
			if (server.Status == mde.StatusCancelled) != tc.applied || row.Status != server.Status {
				t.Fatalf("server says %s, the row %s; applied should be %v", server.Status, row.Status, tc.applied)
			}
			lost := 0
			if tc.applied && server.CancellationComment() != comment {
				lost++
			}
			if !tc.applied && strings.TrimSpace(h.m.drafts[target.ID]) != comment {
				lost++
			}
			if h.m.inFlight[target.ID] {
				t.Fatal("still marked in flight after the re-read")
			}
			outcome := "sent once; the footer says the answer was lost and the re-read shows "
			if tc.applied {
				outcome += "Cancelled: the row says Cancelled"
			} else {
				outcome += string(server.Status) + ": not applied, the comment kept in the form for c"
			}
			reliability.Record(t, reliability.Row{Area: "network", Fault: "TUI single cancel: " + f.String(), Outcome: outcome, Lost: lost})
		})
	}
}
