package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"charm.land/bubbles/v2/key"

	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/ui/keys"
)

// tenantActions returns n open actions whose ids and devices name the tenant.
func tenantActions(tenant string, n int) []mde.MachineAction {
	out := make([]mde.MachineAction, n)
	for i := range out {
		out[i] = mde.MachineAction{ID: fmt.Sprintf("%s-%02d", tenant, i), Type: mde.TypeIsolate, Status: mde.StatusPending,
			MachineID: fmt.Sprintf("%s-m%d", tenant, i), ComputerDNSName: fmt.Sprintf("%s-host-%d", tenant, i),
			Requestor: "soar@" + tenant + ".com", CreationDateTimeUtc: ts(time.Duration(10*n-i) * time.Minute),
			LastUpdateDateTimeUtc: ts(time.Hour)}
	}
	return out
}

// heldService answers List only when release is closed.
type heldService struct {
	fakeService
	release chan struct{}
}

func (s *heldService) List(ctx context.Context, q mde.Query) ([]mde.MachineAction, error) {
	select {
	case <-s.release:
		return s.fakeService.List(ctx, q)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type tenantSet struct {
	contoso, fabrikam, northwind *fakeService
	fbContoso, fbFabrikam        *fakeBulk
}

func newTenantSet() *tenantSet {
	return &tenantSet{
		contoso:    &fakeService{actions: tenantActions("contoso", 3)},
		fabrikam:   &fakeService{actions: tenantActions("fabrikam", 2)},
		northwind:  &fakeService{listErr: &mde.APIError{StatusCode: 503, Message: "Service unavailable"}},
		fbContoso:  &fakeBulk{},
		fbFabrikam: &fakeBulk{},
	}
}

func (s *tenantSet) tenants() []Tenant {
	return []Tenant{
		{Name: "contoso", Service: s.contoso, Bulk: s.fbContoso},
		{Name: "fabrikam", Service: s.fabrikam, Bulk: s.fbFabrikam},
		{Name: "northwind", Service: s.northwind},
	}
}

func newAllProfiles(t *testing.T, s *tenantSet) *harness {
	return newHarness(t, nil, func(o *Options) {
		o.Tenants, o.Profile = s.tenants(), AllProfiles
	})
}

// rowOf puts the cursor on the first row of the tenant.
func (h *harness) rowOf(tenant string) mde.MachineAction {
	h.t.Helper()
	for i := 0; i < h.m.table.Len(); i++ {
		if h.m.table.Shown(i).Tenant == tenant {
			h.press("g")
			for range i {
				h.press("j")
			}
			return h.selected()
		}
	}
	h.t.Fatalf("no row of tenant %s:\n%s", tenant, h.screen())
	return mde.MachineAction{}
}

func TestAllProfilesListsEveryTenantAndShowsTheFailingOne(t *testing.T) {
	s := newTenantSet()
	h := newAllProfiles(t, s)
	if got := h.m.table.Len(); got != 5 {
		t.Fatalf("%d rows, want the 3 of contoso and the 2 of fabrikam", got)
	}
	for _, c := range []*fakeService{s.contoso, s.fabrikam, s.northwind} {
		if c.lists != 1 {
			t.Fatalf("a tenant was listed %d times, want once", c.lists)
		}
	}
	scr := h.screen()
	for _, w := range []string{"TENANT", "contoso-host-0", "fabrikam-host-1", "[all profiles]",
		"Tenants: 1 FAILED: northwind · contoso 3 open · fabrikam 2 open", "Tenant northwind:", "503"} {
		if !strings.Contains(scr, w) {
			t.Fatalf("screen lacks %q:\n%s", w, scr)
		}
	}
	for i := 0; i < h.m.table.Len(); i++ {
		r := h.m.table.Shown(i)
		if !strings.HasPrefix(r.Action.ID, r.Tenant+"-") {
			t.Fatalf("row %s is labelled tenant %q", r.Action.ID, r.Tenant)
		}
	}
	// The search finds a tenant by name.
	h.press("/")
	h.typeText("fabrikam")
	h.press("enter")
	if h.m.table.Len() != 2 {
		t.Fatalf("search for the tenant's name shows %d rows, want 2", h.m.table.Len())
	}
}

// newWithSlowTenant is the all-profiles view of contoso, fabrikam and a
// tenant "slow" whose list has not come yet (tests send it).
func newWithSlowTenant(t *testing.T) *harness {
	s := newTenantSet()
	slow := &heldService{fakeService: fakeService{actions: tenantActions("slow", 4)}, release: make(chan struct{})}
	t.Cleanup(func() { close(slow.release) })
	return newHarness(t, nil, func(o *Options) {
		o.Tenants = append(s.tenants()[:2], Tenant{Name: "slow", Service: slow})
		o.Profile = AllProfiles
	})
}

func TestAllProfilesSlowTenantHoldsNoOtherBack(t *testing.T) {
	h := newWithSlowTenant(t)
	if h.m.table.Len() != 5 {
		t.Fatalf("%d rows while one tenant is slow, want the other tenants' 5", h.m.table.Len())
	}
	if scr := h.screen(); !strings.Contains(scr, "slow loading…") || !strings.Contains(scr, "contoso 3 open") {
		t.Fatalf("the slow tenant is not shown as loading beside the others:\n%s", scr)
	}
	// Its answer, when it comes, joins the list.
	h.send(loadedMsg{gen: h.m.gen, tenant: 2, actions: ptrs(tenantActions("slow", 4)), at: testNow})
	if h.m.table.Len() != 9 || strings.Contains(h.screen(), "loading…") {
		t.Fatalf("after the slow answer: %d rows\n%s", h.m.table.Len(), h.screen())
	}
}

func TestAllProfilesCancelGoesToTheActionsTenant(t *testing.T) {
	s := newTenantSet()
	// Two actions on one device in fabrikam (the re-read after a cancel
	// lists that device), and a device id that is the same in contoso.
	s.fabrikam.actions[1].MachineID = s.fabrikam.actions[0].MachineID
	s.contoso.actions[2].MachineID = s.fabrikam.actions[0].MachineID
	h := newAllProfiles(t, s)
	a := h.rowOf("fabrikam")
	h.press("c")
	if scr := h.screen(); !strings.Contains(scr, "in tenant fabrikam") {
		t.Fatalf("the form does not name the tenant:\n%s", scr)
	}
	h.typeText("wrong tenant")
	h.press("enter", "y")
	if len(s.fabrikam.cancels) != 1 || s.fabrikam.cancels[0].id != a.ID {
		t.Fatalf("fabrikam got cancels %v, want %s", s.fabrikam.cancels, a.ID)
	}
	if len(s.contoso.cancels) != 0 || len(s.northwind.cancels) != 0 {
		t.Fatalf("a cancel went to another tenant: contoso %v, northwind %v", s.contoso.cancels, s.northwind.cancels)
	}
	for _, r := range h.m.table.Rows() {
		if r.Action.ID == a.ID && (r.Tenant != "fabrikam" || r.Action.Status != mde.StatusCancelled) {
			t.Fatalf("after the cancel the row is %s under %q", r.Action.Status, r.Tenant)
		}
	}
	// The device re-read after it went to the same tenant.
	if s.fabrikam.lists < 2 || s.contoso.lists != 1 {
		t.Fatalf("lists after the cancel: fabrikam %d, contoso %d", s.fabrikam.lists, s.contoso.lists)
	}
}

func TestAllProfilesBulkCancelStaysInOneTenant(t *testing.T) {
	s := newTenantSet()
	h := newAllProfiles(t, s)
	h.rowOf("contoso")
	h.press("space")
	h.rowOf("fabrikam")
	h.press("space", "c")
	if h.m.form != nil || !strings.Contains(h.screen(), "in 2 tenants (contoso, fabrikam)") {
		t.Fatalf("marks in two tenants opened a form:\n%s", h.screen())
	}
	h.press("u")
	h.press("/")
	h.typeText("contoso")
	h.press("enter", "a", "c")
	if h.m.form == nil || !strings.Contains(h.screen(), "in tenant contoso") {
		t.Fatalf("no form naming the tenant:\n%s", h.screen())
	}
	h.typeText("wrong group")
	h.press("enter")
	start := h.send(keyPress("y"))
	h.send(runCmd(start))
	if len(s.fbContoso.actions) != 3 || s.fbFabrikam.job != nil {
		t.Fatalf("contoso's bulk got %d actions; fabrikam's started: %v", len(s.fbContoso.actions), s.fbFabrikam.job != nil)
	}
}

func TestAllProfilesReadOnlyTenantRefusesCancel(t *testing.T) {
	s := newTenantSet()
	h := newHarness(t, nil, func(o *Options) {
		ts := s.tenants()
		ts[1].ReadOnly = true
		o.Tenants, o.Profile = ts, AllProfiles
	})
	h.rowOf("fabrikam")
	h.press("c")
	if h.m.form != nil || !strings.Contains(h.screen(), "fabrikam is read-only") {
		t.Fatalf("a read-only tenant's action got a form:\n%s", h.screen())
	}
}

func TestAllProfilesShowsATenantReachedTwiceOnce(t *testing.T) {
	s := newTenantSet()
	h := newHarness(t, nil, func(o *Options) {
		o.Tenants = []Tenant{{Name: "contoso", Service: s.contoso}, {Name: "contoso-ro", Service: s.contoso, ReadOnly: true}}
		o.Profile = AllProfiles
	})
	if h.m.table.Len() != 3 || !strings.Contains(h.screen(), "contoso-ro same tenant as contoso") || !strings.Contains(h.screen(), "· 1 tenant ") {
		t.Fatalf("%d rows, want each of the tenant's 3 actions once:\n%s", h.m.table.Len(), h.screen())
	}
	for i := 0; i < h.m.table.Len(); i++ {
		if r := h.m.table.Shown(i); r.Tenant != "contoso" || r.Flag == 'D' {
			t.Fatalf("row under %q, flag %q", r.Tenant, r.Flag)
		}
	}
}

func TestAllProfilesEveryTenantFailing(t *testing.T) {
	bad := func() *fakeService {
		return &fakeService{listErr: &mde.APIError{StatusCode: 403, Code: "Forbidden", Message: "Missing application roles"}}
	}
	h := newHarness(t, nil, func(o *Options) {
		o.Tenants = []Tenant{{Name: "a", Service: bad()}, {Name: "b", Service: bad()}}
		o.Profile = AllProfiles
	})
	scr := h.screen()
	if !strings.Contains(scr, "Every tenant failed to load") || !strings.Contains(scr, "2 FAILED: a, b") {
		t.Fatalf("screen:\n%s", scr)
	}
}

// fakeProfiles opens the tenant set's profiles by name.
type fakeProfiles struct {
	mu     sync.Mutex
	set    *tenantSet
	opened []string
}

func (p *fakeProfiles) Names() []string { return []string{"contoso", "fabrikam", "northwind"} }

func (p *fakeProfiles) Open(_ context.Context, name string) ([]Tenant, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.opened = append(p.opened, name)
	all := p.set.tenants()
	if name == AllProfiles {
		return all, nil
	}
	for _, t := range all {
		if t.Name == name {
			return []Tenant{t}, nil
		}
	}
	return nil, fmt.Errorf("no profile %q", name)
}

func TestSwitchProfileInsideTheUI(t *testing.T) {
	s := newTenantSet()
	fp := &fakeProfiles{set: s}
	h := newHarness(t, nil, func(o *Options) {
		o.Tenants, o.Profile, o.Profiles = s.tenants()[:1], "contoso", fp
	})
	if !strings.Contains(h.screen(), "[contoso]") || strings.Contains(h.screen(), "TENANT") {
		t.Fatalf("one profile: no tenant column, its name in the header:\n%s", h.screen())
	}
	h.press("space") // a mark in contoso does not follow to another tenant
	h.press("P")
	scr := h.screen()
	for _, w := range []string{"Switch profile", "> contoso  (shown now)", "fabrikam", "All profiles"} {
		if !strings.Contains(scr, w) {
			t.Fatalf("picker lacks %q:\n%s", w, scr)
		}
	}
	old := h.m.gen
	h.press("j", "enter")
	// A list of the profile before, answered late, is dropped.
	h.send(loadedMsg{gen: old, tenant: 0, actions: ptrs(tenantActions("contoso", 3)), at: testNow})
	if len(fp.opened) != 1 || fp.opened[0] != "fabrikam" {
		t.Fatalf("opened %v", fp.opened)
	}
	if h.m.table.Len() != 2 || !strings.Contains(h.screen(), "[fabrikam]") || h.m.markedCount() != 0 {
		t.Fatalf("after switching: %d rows, %d marked\n%s", h.m.table.Len(), h.m.markedCount(), h.screen())
	}
	h.press("P", "G", "enter")
	if h.m.table.Len() != 5 || !strings.Contains(h.screen(), "1 FAILED: northwind") {
		t.Fatalf("all profiles: %d rows\n%s", h.m.table.Len(), h.screen())
	}
	h.press("P", "esc")
	if h.m.picker != nil {
		t.Fatal("esc did not close the picker")
	}
	// A tenant filter does not follow into one profile, where it would
	// hide every row.
	h.press("f")
	h.typeText("tenant:fabrikam")
	h.press("enter")
	if h.m.table.Len() != 2 {
		t.Fatalf("tenant:fabrikam shows %d rows", h.m.table.Len())
	}
	h.press("P", "g", "j", "enter") // fabrikam
	if h.m.spec.Tenant != "" || h.m.table.Len() != 2 || !strings.Contains(h.m.msg.text, "tenant:fabrikam was dropped") {
		t.Fatalf("one profile after a tenant filter: spec %+v, %d rows, footer %q\n%s", h.m.spec, h.m.table.Len(), h.m.msg.text, h.screen())
	}
}

func TestAllProfilesGolden(t *testing.T) {
	h := newAllProfiles(t, newTenantSet())
	golden(t, "allprofiles_80x24", ascii(t, h.m.View().Content))
	h.send(keyPress("q")) // nothing in flight: quits
}

// A tenant reached by two profiles is shown under the first in the list,
// whichever answered first, and its cancel goes where the row says.
func TestAllProfilesTwinTenantLabelAndCancelAgree(t *testing.T) {
	data := &fakeService{actions: tenantActions("acme", 2)}
	held := &heldService{fakeService: fakeService{actions: data.actions}, release: make(chan struct{})}
	defer close(held.release)
	h := newHarness(t, nil, func(o *Options) {
		o.Tenants = []Tenant{{Name: "alpha-ro", Service: held, ReadOnly: true}, {Name: "zeta", Service: data}}
		o.Profile = AllProfiles
	})
	if r := h.m.table.Shown(0); r.Tenant != "zeta" {
		t.Fatalf("before alpha-ro answered the row is under %q", r.Tenant)
	}
	h.send(loadedMsg{gen: h.m.gen, tenant: 0, actions: ptrs(data.actions), at: testNow})
	h.press("g")
	if r := h.m.table.Shown(0); r.Tenant != "alpha-ro" {
		t.Fatalf("after both answered the row is under %q, want the first profile", r.Tenant)
	}
	h.press("c")
	if h.m.form != nil || !strings.Contains(h.screen(), "alpha-ro is read-only") || len(data.cancels) != 0 {
		t.Fatalf("the row says alpha-ro (read-only) but the cancel went on:\n%s", h.screen())
	}
}

// A token error reads as one line in the footer: its hint becomes a
// sentence of its own.
func TestTokenErrorsReadAsSentences(t *testing.T) {
	err := fmt.Errorf("mde: POST /api/x: %w: %w", mde.ErrToken, errors.New("refused"))
	got := tokenText(err, func(error) string {
		return "TOK still holds the token the API refused, and there is no newer one\nHint: put a fresh token in the variable."
	})
	want := "TOK still holds the token the API refused, and there is no newer one. What to do: put a fresh token in the variable."
	if got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

// TestAllProfilesAutoRefreshKeepsTheCancelsAnswer: the automatic refresh
// does not write a failing tenant's known error over the footer (it would
// hide the answer to the cancel just made); r, asked for, does.
func TestAllProfilesAutoRefreshKeepsTheCancelsAnswer(t *testing.T) {
	s := newTenantSet()
	h := newAllProfiles(t, s)
	h.rowOf("contoso")
	h.press("c")
	h.typeText("wrong device")
	h.press("enter", "y")
	if !strings.HasPrefix(h.m.msg.text, "Cancelled") {
		t.Fatalf("footer after the cancel: %q", h.m.msg.text)
	}
	// The same failure again, with the request id every answer has of its own.
	s.northwind.mu.Lock()
	s.northwind.listErr = &mde.APIError{StatusCode: 503, Message: "Service unavailable", Target: "a5c1e7f0-second-call"}
	s.northwind.mu.Unlock()
	h.run(h.send(tickMsg{seq: h.m.tickSeq}))
	if s.northwind.lists != 2 {
		t.Fatalf("the automatic refresh did not run (%d lists of northwind)", s.northwind.lists)
	}
	if !strings.HasPrefix(h.m.msg.text, "Cancelled") {
		t.Fatalf("the automatic refresh wrote over the cancel's answer: %q", h.m.msg.text)
	}
	if !strings.Contains(h.screen(), "FAILED: northwind") {
		t.Fatalf("the tenants line no longer says northwind fails:\n%s", h.screen())
	}
	// A new error is worth the footer, even unasked.
	s.northwind.mu.Lock()
	s.northwind.listErr = &mde.APIError{StatusCode: 401, Message: "token expired"}
	s.northwind.mu.Unlock()
	h.run(h.send(tickMsg{seq: h.m.tickSeq}))
	if !strings.Contains(h.m.msg.text, "Tenant northwind") {
		t.Fatalf("a new failure was not told: %q", h.m.msg.text)
	}
	h.m.msg = footerMsg{}
	h.press("r")
	if !strings.Contains(h.m.msg.text, "Tenant northwind") {
		t.Fatalf("r, asked for, does not say the tenant fails: %q", h.m.msg.text)
	}
}

// TestAllProfilesDuplicateFlagStaysInOneTenant: one machine id in two
// tenants is two machines; their actions are not each other's duplicates.
func TestAllProfilesDuplicateFlagStaysInOneTenant(t *testing.T) {
	s := newTenantSet()
	s.contoso.actions[2].MachineID = s.fabrikam.actions[0].MachineID
	h := newAllProfiles(t, s)
	for _, r := range h.m.table.Rows() {
		if r.Flag == 'D' {
			t.Fatalf("%s in %s is flagged a duplicate of another tenant's action", r.Action.ID, r.Tenant)
		}
	}
	s.fabrikam.actions[1].MachineID = s.fabrikam.actions[0].MachineID // a real duplicate, in fabrikam
	h.press("r")
	var flagged []string
	for _, r := range h.m.table.Rows() {
		if r.Flag == 'D' {
			flagged = append(flagged, r.Action.ID)
		}
	}
	if strings.Join(flagged, ",") != "fabrikam-00,fabrikam-01" {
		t.Fatalf("flagged %v, want the two fabrikam actions on one machine", flagged)
	}
}

// TestAllProfilesTenantFilterPicksOneOfTwoSimilarNames: with tenants named
// contoso and contoso-eu a search for "contoso" finds both; f tenant:contoso
// shows exactly one, and a bulk cancel from there goes to it alone.
func TestAllProfilesTenantFilterPicksOneOfTwoSimilarNames(t *testing.T) {
	s := newTenantSet()
	eu := &fakeService{actions: tenantActions("contosoeu", 2)}
	h := newHarness(t, nil, func(o *Options) {
		o.Tenants = []Tenant{{Name: "contoso", Service: s.contoso, Bulk: s.fbContoso}, {Name: "contoso-eu", Service: eu, Bulk: s.fbFabrikam}}
		o.Profile = AllProfiles
	})
	h.press("a", "c")
	if h.m.form != nil || !strings.Contains(h.m.msg.text, "f tenant:NAME") {
		t.Fatalf("marks in two tenants: %q", h.m.msg.text)
	}
	h.press("f")
	h.typeText("tenant:contoso")
	h.press("enter")
	if h.m.table.Len() != 3 {
		t.Fatalf("tenant:contoso shows %d rows, want contoso's 3:\n%s", h.m.table.Len(), h.screen())
	}
	for i := 0; i < h.m.table.Len(); i++ {
		if r := h.m.table.Shown(i); r.Tenant != "contoso" {
			t.Fatalf("tenant:contoso shows a row of %s", r.Tenant)
		}
	}
	h.press("c")
	if h.m.form == nil || !strings.Contains(h.screen(), "in tenant contoso") {
		t.Fatalf("no form for contoso's marked actions:\n%s", h.screen())
	}
	h.typeText("wrong group")
	h.press("enter")
	h.send(runCmd(h.send(keyPress("y"))))
	if len(s.fbContoso.actions) != 3 || s.fbFabrikam.job != nil {
		t.Fatalf("contoso's bulk got %d actions; contoso-eu's started: %v", len(s.fbContoso.actions), s.fbFabrikam.job != nil)
	}
}

// TestAllProfilesTenantFilterNamesOnlyItsProfiles: a name that is no
// profile here (a typo, a list) is refused with the names; a failing
// tenant's name applies, and the footer says its actions are not known.
func TestAllProfilesTenantFilterNamesOnlyItsProfiles(t *testing.T) {
	h := newAllProfiles(t, newTenantSet())
	for _, bad := range []string{"contos", "contoso,fabrikam"} {
		h.press("f")
		h.typeText("tenant:" + bad)
		h.press("enter")
		if h.m.spec.Tenant != "" || !strings.Contains(h.m.msg.text, "the profiles are contoso, fabrikam, northwind") {
			t.Fatalf("tenant:%s: spec %+v, footer %q", bad, h.m.spec, h.m.msg.text)
		}
		h.press("esc")
	}
	h.press("f")
	h.typeText("tenant:Northwind")
	h.press("enter")
	if h.m.spec.Tenant != "Northwind" || !strings.Contains(h.m.msg.text, "Tenant northwind failed to load, so its actions are not known") {
		t.Fatalf("tenant:northwind: spec %+v, footer %q", h.m.spec, h.m.msg.text)
	}
}

// TestAllProfilesCursorStartsAtTheTop: while the tenants' lists arrive the
// cursor stays on the top row; once a key was pressed it stays on its
// action.
func TestAllProfilesCursorStartsAtTheTop(t *testing.T) {
	for _, moved := range []bool{false, true} {
		h := newWithSlowTenant(t)
		if moved {
			h.press("j", "k")
		}
		before := h.selected().ID
		h.send(loadedMsg{gen: h.m.gen, tenant: 2, actions: ptrs(tenantActions("slow", 4)), at: testNow}) // older: they sort first
		got, top := h.selected().ID, h.m.table.Shown(0).Action.ID
		switch {
		case !moved && got != top:
			t.Fatalf("before any key the cursor followed %s to row %s, not the top row %s", before, got, top)
		case moved && got != before:
			t.Fatalf("after a key the cursor left its action %s for %s", before, got)
		}
	}
}

// mapProfiles opens the tenants it holds, by name.
type mapProfiles map[string]Tenant

func (p mapProfiles) Names() []string { return []string{"alpha", "beta"} }

func (p mapProfiles) Open(_ context.Context, name string) ([]Tenant, error) {
	if name == AllProfiles {
		return []Tenant{p["alpha"], p["beta"]}, nil
	}
	return []Tenant{p[name]}, nil
}

// TestSwitchProfileTakesItsKeysAndReadOnly: the profile switched to brings
// its own read_only and key bindings; the one switched from leaves none.
func TestSwitchProfileTakesItsKeysAndReadOnly(t *testing.T) {
	alphaKeys := keys.Default()
	alphaKeys.Cancel = key.NewBinding(key.WithKeys("C"), key.WithHelp("C", "cancel"))
	profiles := mapProfiles{
		"alpha": {Name: "alpha", Service: &fakeService{actions: tenantActions("alpha", 2)}, Keys: &alphaKeys},
		"beta":  {Name: "beta", Service: &fakeService{actions: tenantActions("beta", 2)}, ReadOnly: true},
	}
	h := newHarness(t, nil, func(o *Options) {
		o.Tenants, o.Profile, o.Profiles, o.Keys = []Tenant{profiles["alpha"]}, "alpha", profiles, &alphaKeys
	})
	if h.press("C"); h.m.form == nil {
		t.Fatal("alpha's C does not cancel")
	}
	h.press("esc")
	h.press("P", "g", "j", "enter") // beta, read-only
	if !strings.Contains(h.screen(), " RO ") {
		t.Fatalf("beta is read-only, but no RO badge:\n%s", h.screen())
	}
	for _, k := range []string{"C", "c"} {
		if h.press(k); h.m.form != nil {
			t.Fatalf("%s opened the cancel form in a read-only profile", k)
		}
	}
	h.press("P", "g", "enter") // back to alpha
	if strings.Contains(h.screen(), " RO ") {
		t.Fatalf("alpha shows beta's RO badge:\n%s", h.screen())
	}
	if h.press("C"); h.m.form == nil {
		t.Fatal("back in alpha, C does not cancel")
	}
	h.press("esc")
	h.press("P", "G", "enter") // all profiles: alpha's keys, beta refused per action
	if strings.Contains(h.screen(), " RO ") {
		t.Fatalf("all profiles, one of them writable, shows RO:\n%s", h.screen())
	}
	h.rowOf("beta")
	if h.press("C"); h.m.form != nil || !strings.Contains(h.m.msg.text, "beta is read-only") {
		t.Fatalf("a cancel in beta from all profiles: form %v, footer %q", h.m.form != nil, h.m.msg.text)
	}
}

// TestAllProfilesCursorFollowsTheActionOnceCIsPressed: c at once (no move
// first) counts as looking at a row: a tenant arriving meanwhile does not
// move the cursor off the action whose cancel is being written.
func TestAllProfilesCursorFollowsTheActionOnceCIsPressed(t *testing.T) {
	h := newWithSlowTenant(t)
	target := h.selected().ID
	h.press("c")
	h.send(loadedMsg{gen: h.m.gen, tenant: 2, actions: ptrs(tenantActions("slow", 4)), at: testNow}) // older: they sort first
	h.press("esc")
	if got := h.selected().ID; got != target {
		t.Fatalf("after c and esc the cursor is on %s, not on %s", got, target)
	}
}
