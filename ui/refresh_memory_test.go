package ui

import (
	"context"
	"testing"
	"time"

	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/mde/mdesim"
)

type simToken struct{}

func (simToken) Token(context.Context) (string, error) { return "ui-test-token", nil }

// A refresh through a service that can relist (the real client) keeps the
// actions that did not change, rows and all, in the memory they had: a
// large tenant is not held twice. What changed is shown changed.
func TestRefreshKeepsWhatDidNotChange(t *testing.T) {
	srv, err := mdesim.Start(mdesim.Options{Seed: 5, Actions: 120, NoLimits: true, Clock: mdesim.NewManualClock(testNow)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	client, err := mde.NewClient(srv.URL, nil, simToken{})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, nil, func(o *Options) { o.Service = client; o.Timeout = 10 * time.Second })
	before := map[string]*mde.MachineAction{}
	rows := h.m.table.Rows()
	if len(rows) < 2 {
		t.Fatalf("%d rows listed", len(rows))
	}
	for _, r := range rows {
		before[r.Action.ID] = r.Action
	}
	changed := *rows[0].Action
	changed.RequestorComment = "escalated to tier 3"
	srv.Sim.Put(changed)

	h.press("r")
	after := h.m.table.Rows()
	if len(after) != len(rows) {
		t.Fatalf("%d rows after the refresh, %d before", len(after), len(rows))
	}
	kept := 0
	for _, r := range after {
		switch {
		case r.Action.ID == changed.ID:
			if r.Action == before[r.Action.ID] || r.Comment() != changed.RequestorComment {
				t.Errorf("the changed action kept its old value: comment %q", r.Comment())
			}
		case r.Action == before[r.Action.ID]:
			kept++
		}
	}
	if kept != len(rows)-1 {
		t.Errorf("%d of %d unchanged actions kept, want all", kept, len(rows)-1)
	}
	h.press("/")
	h.typeText("tier 3")
	if h.m.table.Len() != 1 || h.selected().RequestorComment != changed.RequestorComment {
		t.Errorf("the search does not find the changed comment (%d rows):\n%s", h.m.table.Len(), h.screen())
	}
}
