package ui

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/mde/textsafe"
	"github.com/mdeactions/mdeactions/ui/actiontable"
	"github.com/mdeactions/mdeactions/ui/filter"
	"github.com/mdeactions/mdeactions/ui/keys"
)

// Tenants: the UI lists and cancels through one or more profiles. With one,
// nothing about tenants shows; with several (the all-profiles view) every
// row names its tenant, each tenant loads on its own (a slow or failing one
// holds no other back) and every cancel goes through the tenant its action
// was read from.

// Tenant is one profile the UI lists and cancels through.
type Tenant struct {
	Name     string // the profile's name, as the tenant column shows it
	Service  ActionService
	Bulk     BulkCanceller // nil: one action at a time
	ReadOnly bool          // its client refuses to cancel: say so before the form
	// SignIn is its interactive sign-in (when it is the only tenant shown);
	// SignInAbout says what it is for.
	SignIn      SignIn
	SignInAbout string
	Endpoint    string // its API host, for the header
	// Keys are its profile's key bindings (nil: the defaults); they apply
	// when it is the only tenant shown.
	Keys *keys.KeyMap
}

// Profiles lets the user switch profile inside the UI.
type Profiles interface {
	// Names are the configured profiles, in the file's order.
	Names() []string
	// Open connects to the profile named, or to every profile when name is
	// AllProfiles. It runs in a command (it reads files, and may get a
	// token silently); an interactive sign-in is the UI's, after it.
	Open(ctx context.Context, name string) ([]Tenant, error)
}

// AllProfiles is the name Open takes for every profile at once.
const AllProfiles = "*"

// tenantState is a tenant and what its last load brought.
type tenantState struct {
	Tenant
	loading bool
	err     string               // why its newest load failed; "" if it did not
	errKind string               // that failure without what changes per call (a request id)
	at      time.Time            // when its rows were read
	actions []*mde.MachineAction // as listed; never written to
	// dups counts its actions already shown under the tenant dupOf (the
	// same tenant reached through another profile).
	dups, dupOf int
}

// multi reports whether rows come from several tenants.
func (m Model) multi() bool { return len(m.tenants) > 1 }

func (m Model) anyLoading() bool {
	for _, t := range m.tenants {
		if t.loading {
			return true
		}
	}
	return false
}

// loadCmd reads every tenant's list, each in a command of its own, so that
// the fastest shows first.
func (m *Model) loadCmd(gen int) tea.Cmd {
	cmds := make([]tea.Cmd, len(m.tenants))
	for i := range m.tenants {
		m.tenants[i].loading = true
		cmds[i] = m.loadTenantCmd(gen, i)
	}
	return tea.Batch(cmds...)
}

func (m Model) loadTenantCmd(gen, i int) tea.Cmd {
	svc, timeout, now, spec := m.tenants[i].Service, m.opts.Timeout, m.opts.Now, m.spec
	prev := m.tenants[i].actions
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		actions, err := list(ctx, svc, spec.Query(now()), prev)
		return loadedMsg{gen: gen, tenant: i, spec: spec, actions: actions, err: err, at: now()}
	}
}

// list reads a tenant's list, keeping the actions of prev that did not
// change when the service can (Relister).
func list(ctx context.Context, svc ActionService, q mde.Query, prev []*mde.MachineAction) ([]*mde.MachineAction, error) {
	if r, ok := svc.(Relister); ok {
		return r.Relist(ctx, q, prev)
	}
	values, err := svc.List(ctx, q)
	if err != nil {
		return nil, err
	}
	out := make([]*mde.MachineAction, len(values))
	for i := range values {
		out[i] = &values[i]
	}
	return out, nil
}

// owner is the index of the tenant the action was read from; ok false when
// the action was never listed (then nothing may be sent for it in the
// all-profiles view).
func (m Model) owner(id string) (int, bool) {
	if !m.multi() {
		return 0, true
	}
	i, ok := m.owners[id]
	return i, ok
}

// serviceFor is the service of the action's tenant. Callers checked with
// tenantRefuses that the tenant is known.
func (m Model) serviceFor(id string) ActionService {
	i, _ := m.owner(id)
	return m.tenants[i].Service
}

// tenantRefuses says why these actions may not be cancelled together from
// here ("" when they may): every one must come from one known tenant, and
// that tenant's profile must not be read-only.
func (m Model) tenantRefuses(actions []mde.MachineAction) string {
	var in []int // the tenants, in the order met
	for _, a := range actions {
		i, ok := m.owner(a.ID)
		if !ok {
			return "Which tenant this action belongs to is not known (it was not listed since the profile was opened): press " + keys.Name(m.ctx.Keys.Refresh) + " to refresh, then try again."
		}
		if !slices.Contains(in, i) {
			in = append(in, i)
		}
	}
	if len(in) > 1 {
		names := make([]string, len(in))
		for k, i := range in {
			names[k] = m.tenants[i].Name
		}
		return fmt.Sprintf("The marked actions are in %d tenants (%s): a bulk cancel goes to one tenant at a time. Show one tenant with %s tenant:NAME (marks left out of view are not sent), or clear the marks with %s.",
			len(in), strings.Join(names, ", "), keys.Name(m.ctx.Keys.Filter), keys.Name(m.ctx.Keys.ClearMarks))
	}
	if len(in) == 1 && m.multi() && m.tenants[in[0]].ReadOnly {
		return "Profile " + m.tenants[in[0]].Name + " is read-only: nothing is cancelled in its tenant from here."
	}
	return ""
}

// tenantName is the name of the action's tenant, "" with one tenant.
func (m Model) tenantName(id string) string {
	if i, ok := m.owner(id); ok && m.multi() {
		return m.tenants[i].Name
	}
	return ""
}

// rebuild makes the rows from every tenant's last list, the index that
// serves the search, and the view.
func (m *Model) rebuild() {
	n := 0
	for _, t := range m.tenants {
		n += len(t.actions)
	}
	// A refresh writes the new rows and index over the old ones: the
	// Model that Bubble Tea holds while Update runs shares their memory,
	// so new ones would keep both in memory at the peak (at 100,000
	// actions, 30 MB more). Nothing reads the old rows from here on.
	follow := m.table.SelectedID()
	if !m.placed {
		follow = "" // nobody has looked at a row yet: the top one stays under the cursor
	}
	rows := m.table.Rows()
	if cap(rows) < n {
		rows = make([]actiontable.Row, 0, n)
	}
	rows = rows[:0]

	var from map[string]int // in the all-profiles view: the tenant each id is shown under
	if m.multi() {
		from = make(map[string]int, n)
	}
	for ti := range m.tenants {
		t := &m.tenants[ti]
		t.dups, t.dupOf = 0, -1
		for _, a := range t.actions {
			if from != nil {
				// Two profiles can reach one tenant (another app, or
				// the tenant by domain and by id): an action is shown
				// once, under the first, where its cancel goes.
				if first, seen := from[a.ID]; seen {
					t.dups++
					t.dupOf = first
					continue
				}
				from[a.ID] = ti
			}
			r := actiontable.NewRowOf(a) // no copy of the action
			if k, ok := m.known[a.ID]; ok {
				if k.LastUpdateDateTimeUtc.After(a.LastUpdateDateTimeUtc.Time) {
					r = actiontable.NewRow(k) // the list is older than what the cancel returned
				} else {
					delete(m.known, a.ID)
				}
			}
			r.Queued = m.queued[a.ID]
			r.Busy = m.inFlight[a.ID] && !r.Queued
			r.Marked = m.marked[a.ID]
			if m.multi() {
				// Where the row says it is from is where its cancel goes.
				r.Tenant, r.Src = t.Name, ti
				m.owners[a.ID] = ti
			}
			rows = append(rows, r)
		}
	}
	// The index orders the rows (oldest first unless sorted otherwise) and
	// makes the search and the filter cheap; built once per arrival, in
	// the old one's memory.
	if m.ix == nil {
		m.ix = filter.NewIndexOrdered(rows, m.order)
	} else {
		m.ix.Renew(rows, m.order)
	}
	m.idx = m.ix.Search(m.query, m.spec, m.opts.Now(), m.idx)
	m.table.SetRowsView(rows, m.idx, follow)
	m.recount()
	if m.view == viewDetail {
		m.refreshDetail(rows)
	}
}

// tenantLine is the all-profiles view's line under the header: each
// tenant's state in words (colour only repeats them).
func (m Model) tenantLine() string {
	st := m.ctx.Styles
	open := make([]int, len(m.tenants))
	for _, r := range m.table.Rows() {
		if r.Action.Status.Open() {
			open[r.Src]++
		}
	}
	// The failing tenants first, counted: on a narrow line the end is cut.
	var failed, others []string
	for i, t := range m.tenants {
		switch {
		case t.err != "" && t.at.IsZero():
			failed = append(failed, t.Name)
		case t.err != "":
			failed = append(failed, fmt.Sprintf("%s (%d open as of %s)", t.Name, open[i], t.at.Local().Format("15:04:05")))
		case t.loading && t.at.IsZero():
			others = append(others, t.Name+" loading…")
		case t.loading:
			others = append(others, fmt.Sprintf("%s %d open, reloading…", t.Name, open[i]))
		case t.dups > 0 && t.dups == len(t.actions):
			others = append(others, t.Name+" same tenant as "+m.tenants[t.dupOf].Name)
		case t.dups > 0:
			others = append(others, fmt.Sprintf("%s %d open (%d more shown under %s)", t.Name, open[i], t.dups, m.tenants[t.dupOf].Name))
		default:
			others = append(others, fmt.Sprintf("%s %d open", t.Name, open[i]))
		}
	}
	line := "Tenants: "
	if len(failed) > 0 {
		line += st.Error.Render(fmt.Sprintf("%d FAILED: %s", len(failed), strings.Join(failed, ", ")))
		if len(others) > 0 {
			line += " · "
		}
	}
	return line + strings.Join(others, " · ")
}

// tenantCount says how many tenants the view shows: a profile that only
// reaches another's tenant is not one more.
func (m Model) tenantCount() string {
	n := 0
	for _, t := range m.tenants {
		if t.dups == 0 || t.dups < len(t.actions) {
			n++
		}
	}
	if n == 1 {
		return "1 tenant"
	}
	return fmt.Sprintf("%d tenants", n)
}

// failedTenants says which tenants' newest load failed and why.
func (m Model) failedTenants() []string {
	var out []string
	for _, t := range m.tenants {
		if t.err != "" {
			out = append(out, t.Name+": "+t.err)
		}
	}
	return out
}

// Switching profile.

type (
	// openedMsg brings the tenants of the profile the user picked.
	openedMsg struct {
		name    string
		tenants []Tenant
		err     error
	}
)

// pickerState is the profile picker while it is open.
type pickerState struct {
	names  []string // the choices: every profile, then all of them
	cursor int
}

func (p pickerState) label(i int) string {
	if p.names[i] == AllProfiles {
		return "All profiles (every tenant at once)"
	}
	return p.names[i]
}

func (m Model) openPicker() (tea.Model, tea.Cmd) {
	if m.opts.Profiles == nil {
		return m, nil
	}
	names := m.opts.Profiles.Names()
	if len(names) == 0 {
		m.msg = footerMsg{footInfo, "No profiles are configured: see \"Profiles\" in the README (config.toml)."}
		return m, nil
	}
	switch {
	case m.bulk.running() && m.bulk.paused:
		m.msg = footerMsg{footInfo, "A bulk cancel is paused: resume it (" + keys.Name(m.ctx.Keys.PauseBulk) + ") or stop it (" +
			keys.Name(m.ctx.Keys.StopBulk) + "), then switch profile."}
		return m, nil
	case len(m.inFlight) > 0 || m.bulk.running():
		m.msg = footerMsg{footInfo, "Cancels are under way: switch profile when they have been answered."}
		return m, nil
	}
	p := pickerState{names: append(append([]string{}, names...), AllProfiles)}
	for i, n := range p.names {
		if n == m.profile {
			p.cursor = i
		}
	}
	m.picker = &p
	m.msg = footerMsg{}
	return m, nil
}

func (m Model) pickerKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	k := m.ctx.Keys
	p := m.picker
	switch {
	case keyIs(msg, k.Back, k.Profile):
		m.picker = nil
	case keyIs(msg, k.Up):
		p.cursor = max(p.cursor-1, 0)
	case keyIs(msg, k.Down):
		p.cursor = min(p.cursor+1, len(p.names)-1)
	case keyIs(msg, k.Top):
		p.cursor = 0
	case keyIs(msg, k.Bottom):
		p.cursor = len(p.names) - 1
	case keyIs(msg, k.Open):
		name := p.names[p.cursor]
		m.picker = nil
		m.msg = footerMsg{footInfo, "Opening " + p.label(p.cursor) + "…"}
		prof, timeout := m.opts.Profiles, m.opts.Timeout
		return m, func() tea.Msg {
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			ts, err := prof.Open(ctx, name)
			return openedMsg{name: name, tenants: ts, err: err}
		}
	}
	return m, nil
}

func (m Model) pickerView(height int) string {
	st := m.ctx.Styles
	p := m.picker
	lines := []string{st.DialogTitle.Render("Switch profile"), ""}
	for i := range p.names {
		mark := "  "
		if i == p.cursor {
			mark = "> "
		}
		cur := ""
		if p.names[i] == m.profile {
			cur = "  (shown now)"
		}
		line := mark + p.label(i) + cur
		if i == p.cursor {
			line = st.Cursor.Render(line)
		}
		lines = append(lines, line)
	}
	lines = append(lines, "", st.Muted.Render(keys.Name(m.ctx.Keys.Open)+": open · "+keys.Name(m.ctx.Keys.Back)+": back"))
	return fitLines(strings.Join(lines, "\n"), height)
}

// onOpened shows the profile picked: a new set of tenants, a fresh list.
func (m Model) onOpened(msg openedMsg) (tea.Model, tea.Cmd) {
	if msg.err != nil {
		m.msg = footerMsg{footErr, "Could not open " + profileLabel(msg.name) + ": " + explain(opList, msg.err, m.opts.ExplainToken, m.ctx.Keys)}
		return m, nil
	}
	if len(msg.tenants) == 0 {
		m.msg = footerMsg{footErr, "No profile to open."}
		return m, nil
	}
	m.setTenants(msg.name, msg.tenants)
	m.applyKeys()
	m.gen++ // an answer still on its way is of the tenants before
	m.msg = footerMsg{footInfo, "Showing " + profileLabel(msg.name) + "."}
	if t := m.spec.Tenant; t != "" && !m.multi() {
		// One profile is one tenant: a tenant filter would hide it all.
		m.spec.Tenant = ""
		m.msg.text += " The filter tenant:" + textsafe.Clean(t) + " was dropped: this list is one tenant's."
	}
	if m.signIn != nil {
		return m, m.readyCmd(m.signGen)
	}
	m.loading = true
	return m, m.loadCmd(m.gen)
}

// applyKeys makes the keys and the read-only state those of what is shown
// now: one profile's own bindings and read_only, or, for every profile at
// once, the bindings the program started with, read-only only if every
// profile is (a read-only one among others is refused per action).
func (m *Model) applyKeys() {
	km := keys.Default()
	switch {
	case !m.multi() && m.tenants[0].Keys != nil:
		km = *m.tenants[0].Keys
	case m.multi() && m.opts.Keys != nil:
		km = *m.opts.Keys
	}
	ro := true
	for _, t := range m.tenants {
		ro = ro && t.ReadOnly
	}
	if ro {
		km.ReadOnly()
	}
	if m.opts.Profiles == nil {
		km.Profile.Unbind()
	}
	m.ctx.Keys, m.opts.ReadOnly = km, ro
}

func profileLabel(name string) string {
	if name == AllProfiles {
		return "all profiles"
	}
	return "profile " + textsafe.Clean(name)
}

// setTenants replaces what the UI lists: rows, marks and the last bulk
// report belong to the tenants they came from.
func (m *Model) setTenants(profile string, ts []Tenant) {
	m.profile = profile
	m.tenants = make([]tenantState, len(ts))
	for i, t := range ts {
		m.tenants[i] = tenantState{Tenant: t}
	}
	m.owners = map[string]int{}
	m.placed = false
	m.marked = map[string]bool{}
	m.known = map[string]mde.MachineAction{}
	m.failures = map[string]string{}
	m.bulk = nil
	m.ix, m.idx = nil, nil
	m.table.SetRows(nil)
	m.table.SetTenantWidth(0)
	m.everLoaded, m.loaded, m.loadErr = false, time.Time{}, ""
	m.counts = map[mde.ActionStatus]int{}
	m.view = viewList
	m.signIn = nil
	first := ts[0]
	m.opts.Service, m.opts.Bulk = first.Service, first.Bulk
	m.opts.SignIn, m.opts.SignInAbout = nil, ""
	m.opts.Endpoint = first.Endpoint
	if m.multi() {
		w := 0
		for _, t := range ts {
			w = max(w, len([]rune(t.Name)))
		}
		m.table.SetTenantWidth(max(w, len("TENANT")))
		m.opts.Endpoint = fmt.Sprintf("%d tenants", len(ts))
		return
	}
	if first.SignIn != nil {
		m.opts.SignIn, m.opts.SignInAbout = first.SignIn, first.SignInAbout
		v := newSignInModel(m.ctx, first.SignInAbout)
		m.signIn = &v
		m.newTry()
	}
}
