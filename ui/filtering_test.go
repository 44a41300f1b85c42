package ui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"charm.land/bubbles/v2/key"

	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/ui/filter"
	"github.com/mdeactions/mdeactions/ui/keys"
)

func shownDevices(h *harness) []string {
	var out []string
	for i := 0; i < h.m.table.Len(); i++ {
		out = append(out, h.m.table.Shown(i).Device())
	}
	return out
}

func TestIncrementalSearch(t *testing.T) {
	h := newHarness(t, &fakeService{actions: sampleActions()}, nil)
	h.press("/")
	if !h.m.bar.Active() {
		t.Fatal("/ did not open the search")
	}
	h.typeText("ws-fin")
	if got := shownDevices(h); len(got) != 1 || got[0] != "ws-fin-0231.contoso.local" {
		t.Fatalf("while typing, shown = %v", got)
	}
	if s := h.screen(); !strings.Contains(s, "1 shown") {
		t.Fatalf("header does not say how many are shown:\n%s", s)
	}
	h.press("enter")
	if h.m.bar.Active() || h.m.query != "ws-fin" || !strings.Contains(h.screen(), `search "ws-fin"`) {
		t.Fatalf("enter did not keep the search:\n%s", h.screen())
	}
	h.press("esc")
	if h.m.query != "" || h.m.table.Len() != 3 {
		t.Fatal("esc in the list did not clear the search")
	}
	// Keys that mean something in the list are text in the search.
	h.press("/")
	h.typeText("q c r")
	if h.m.form != nil || h.svc.lists != 1 || !h.m.bar.Active() {
		t.Fatal("a key typed in the search acted on the list")
	}
	h.press("esc")
	if h.m.bar.Active() || h.m.query != "" {
		t.Fatal("esc in the search did not clear it")
	}
}

func TestFilterSpecNarrowsLocallyAndWidensWithAReload(t *testing.T) {
	svc := &fakeService{actions: sampleActions()}
	h := newHarness(t, svc, nil)
	h.press("f")
	h.typeText("type:scan")
	h.press("enter")
	if got := shownDevices(h); len(got) != 1 || got[0] != "srv-sql-02.corp.contoso.com" {
		t.Fatalf("type:scan shows %v", got)
	}
	if svc.lists != 1 {
		t.Fatal("a narrower filter read the list again")
	}
	h.press("f", "ctrl+u") // clear the input
	h.typeText("status:all")
	h.press("enter")
	if svc.lists != 2 {
		t.Fatalf("a wider filter did not read the list again (%d calls)", svc.lists)
	}
	if h.m.table.Len() != 4 {
		t.Fatalf("status:all shows %d rows, want all 4", h.m.table.Len())
	}
	h.press("f")
	h.typeText(" bogus:1")
	h.press("enter")
	if !h.m.bar.Active() || h.m.bar.Err() == "" {
		t.Fatal("a bad filter was applied or not explained")
	}
}

func TestSortKeys(t *testing.T) {
	h := newHarness(t, &fakeService{actions: sampleActions()}, nil)
	h.press("O")
	if got := shownDevices(h); got[0] != "srv-sql-02.corp.contoso.com" {
		t.Fatalf("O did not reverse to newest first: %v", got)
	}
	h.press("o")
	if !strings.Contains(h.m.msg.text, "Sorted by") {
		t.Fatalf("footer = %q", h.m.msg.text)
	}
	if !strings.Contains(h.screen(), "sorted by") {
		t.Fatalf("the order is not shown:\n%s", h.screen())
	}
}

func TestACancelledRowStaysInViewUntilRefresh(t *testing.T) {
	svc := &fakeService{actions: sampleActions()}
	h := newHarness(t, svc, nil)
	id := h.selected().ID
	h.press("c")
	h.typeText("x")
	h.press("enter", "y")
	if r, ok := h.m.table.Selected(); !ok || r.Action.ID != id || r.Action.Status != mde.StatusCancelled {
		t.Fatal("the cancelled row left the view at once")
	}
	h.press("r")
	for i := 0; i < h.m.table.Len(); i++ {
		if h.m.table.Shown(i).Action.ID == id {
			t.Fatal("the cancelled row is still shown after a refresh of the open actions")
		}
	}
}

func TestGroupByDevice(t *testing.T) {
	acts := sampleActions()
	dup := acts[0]
	dup.ID, dup.Type, dup.CreationDateTimeUtc = "dup", mde.TypeIsolate, ts(100*time.Hour)
	acts = append(acts, dup)
	h := newHarness(t, &fakeService{actions: acts}, nil)
	h.press("D")
	got := shownDevices(h)
	want := []string{"srv-sql-02.corp.contoso.com", "srv-sql-02.corp.contoso.com", "ws-fin-0231.contoso.local", "会議室-pc01"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("grouped order %v, want %v", got, want)
	}
	s := h.screen()
	if strings.Count(s, "srv-sql-02") != 1 || !strings.Contains(s, "  ·") {
		t.Fatalf("a device is not named once per group:\n%s", s)
	}
	h.press("D")
	if got := shownDevices(h); got[0] != "srv-sql-02.corp.contoso.com" || h.m.order != (filter.Order{}) {
		t.Fatalf("D again did not go back to oldest first: %v", got)
	}
}

// TestGroupKeepsTwoMachinesOfOneNameApart: two machines that share a name
// (a re-imaged host, a clone) are two groups, each named; the rows of one
// machine stay together even when created between the other's.
func TestGroupKeepsTwoMachinesOfOneNameApart(t *testing.T) {
	mk := func(id, machine string, age time.Duration) mde.MachineAction {
		return mde.MachineAction{ID: id, Type: mde.TypeIsolate, Status: mde.StatusPending, MachineID: machine,
			ComputerDNSName: "ws-clone", CreationDateTimeUtc: ts(age)}
	}
	acts := []mde.MachineAction{mk("a1", "m-aaa", 4*time.Hour), mk("b1", "m-bbb", 3*time.Hour), mk("a2", "m-aaa", 2*time.Hour), mk("b2", "m-bbb", time.Hour)}
	h := newHarness(t, &fakeService{actions: acts}, nil)
	h.press("D")
	var ids []string
	for i := 0; i < h.m.table.Len(); i++ {
		ids = append(ids, h.m.table.Shown(i).Action.ID)
	}
	if strings.Join(ids, ",") != "a1,a2,b1,b2" {
		t.Fatalf("grouped order %v: the two machines are mixed", ids)
	}
	if n := strings.Count(h.screen(), "ws-clone"); n != 2 {
		t.Fatalf("two machines named ws-clone must be named twice, not %d times:\n%s", n, h.screen())
	}
}

func TestRefreshedCountsOpenActionsAsOpen(t *testing.T) {
	acts := sampleActions()
	done := acts[0]
	done.ID, done.Status = "done", mde.StatusSucceeded
	open := 0
	for _, a := range acts {
		if a.Status.Open() {
			open++
		}
	}
	svc := &fakeService{actions: append(acts, done)}
	h := newHarness(t, svc, nil)
	h.press("r")
	if want := fmt.Sprintf("Refreshed: %d open actions.", open); h.m.msg.text != want {
		t.Fatalf("footer %q, want %q", h.m.msg.text, want)
	}
	h.m.spec = filter.Spec{AllStatuses: true} // as with f status:all
	h.press("r")
	if want := fmt.Sprintf("Refreshed: %d actions, %d of them open.", len(acts)+1, open); h.m.msg.text != want {
		t.Fatalf("footer %q, want %q", h.m.msg.text, want)
	}
}

func TestTenantFilterIsRefusedInOneProfile(t *testing.T) {
	h := newHarness(t, &fakeService{actions: sampleActions()}, nil)
	n := h.m.table.Len()
	h.press("f")
	h.typeText("tenant:contoso")
	h.press("enter")
	if h.m.spec.Tenant != "" || h.m.table.Len() != n || !strings.Contains(h.m.msg.text, "all-profiles view (P)") {
		t.Fatalf("tenant: in one profile: spec %+v, %d rows, footer %q", h.m.spec, h.m.table.Len(), h.m.msg.text)
	}
}

func TestNoMatchMessageFitsEightyColumns(t *testing.T) {
	h := newHarness(t, &fakeService{actions: sampleActions()}, nil)
	h.press("/")
	h.typeText("no-such-device")
	h.press("enter")
	if s := strings.Join(strings.Fields(h.screen()), " "); !strings.Contains(s, "esc clears the search; f changes the filter.") {
		t.Fatalf("the message is cut at 80 columns:\n%s", h.screen())
	}
}

func TestReadOnlyRefusalOffersNoRetry(t *testing.T) {
	svc := &fakeService{actions: sampleActions(), cancelErr: fmt.Errorf("cancel: %w", mde.ErrReadOnly)}
	h := newHarness(t, svc, nil)
	h.press("c")
	h.typeText("wrong host")
	h.press("enter", "y")
	if s := h.m.msg.text; !strings.Contains(s, "read-only") || strings.Contains(s, "retry") {
		t.Fatalf("footer %q: a read-only refusal must not offer a retry", s)
	}
}

// TestHintsNameTheBoundKeys: with keys rebound in the profile, the footer's
// hints name the keys that work.
func TestHintsNameTheBoundKeys(t *testing.T) {
	km := keys.Default()
	km.Refresh = key.NewBinding(key.WithKeys("R"), key.WithHelp("R", "refresh"))
	km.Report = key.NewBinding(key.WithKeys("ctrl+r"), key.WithHelp("ctrl+r", "bulk report"))
	km.Cancel = key.NewBinding(key.WithKeys("C"), key.WithHelp("C", "cancel"))
	km.Filter = key.NewBinding(key.WithKeys("F"), key.WithHelp("F", "filter"))
	svc := &fakeService{actions: sampleActions(), cancelErr: &mde.APIError{StatusCode: 404, Code: "ResourceNotFound"}}
	h := newHarness(t, svc, func(o *Options) { o.Keys = &km })
	h.press("C")
	h.typeText("wrong host")
	h.press("enter", "y")
	if s := h.m.msg.text; !strings.Contains(s, "Press R to refresh") || !strings.Contains(s, "press C to retry") {
		t.Fatalf("footer %q does not name the bound keys", s)
	}
	h.press("/")
	h.typeText("no-such-device")
	h.press("enter")
	if s := strings.Join(strings.Fields(h.screen()), " "); !strings.Contains(s, "esc clears the search; F changes the filter") {
		t.Fatalf("no match:\n%s", h.screen())
	}
}

// TestHelpShowsEveryKeyWithLongNames: rebound to long names, the help at
// 80x24 still lists every action.
func TestHelpShowsEveryKeyWithLongNames(t *testing.T) {
	km := keys.Default()
	km.Back = key.NewBinding(key.WithKeys("backspace"), key.WithHelp("backspace", "back"))
	km.PauseBulk = key.NewBinding(key.WithKeys("ctrl+p"), key.WithHelp("ctrl+p", "pause/resume bulk"))
	km.Report = key.NewBinding(key.WithKeys("ctrl+r"), key.WithHelp("ctrl+r", "bulk report"))
	h := newHarness(t, &fakeService{actions: sampleActions()}, func(o *Options) { o.Keys = &km })
	h.press("?")
	s := strings.Join(strings.Fields(h.screen()), " ")
	for _, want := range []string{"search", "filter", "group by device", "mark all shown", "clear marks", "ctrl+p pause/resume bulk", "stop bulk", "ctrl+r bulk report", "copy machine id", "quit"} {
		if !strings.Contains(s, want) {
			t.Errorf("help lacks %q:\n%s", want, h.screen())
		}
	}
}
