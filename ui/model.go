// Package ui is the terminal interface: a list of the machine actions that
// are still Pending or InProgress, a detail view, and the cancel flow. It
// never does I/O itself: it calls an ActionService inside tea.Cmds and reacts
// to the typed messages they return.
package ui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/mde/textsafe"
	"github.com/mdeactions/mdeactions/ui/actiontable"
	"github.com/mdeactions/mdeactions/ui/cancelform"
	"github.com/mdeactions/mdeactions/ui/common"
	"github.com/mdeactions/mdeactions/ui/detail"
	"github.com/mdeactions/mdeactions/ui/filter"
	"github.com/mdeactions/mdeactions/ui/keys"
	"github.com/mdeactions/mdeactions/ui/signin"
)

// ActionService is what the UI needs from the API client.
type ActionService interface {
	List(ctx context.Context, q mde.Query) ([]mde.MachineAction, error)
	Cancel(ctx context.Context, id, comment string) (mde.MachineAction, error)
}

// Relister is an ActionService that can list again keeping what did not
// change (mde.Client.Relist): a refresh of a large tenant then holds one
// copy of its actions, not two. The UI uses it when the service has it.
type Relister interface {
	Relist(ctx context.Context, q mde.Query, prev []*mde.MachineAction) ([]*mde.MachineAction, error)
}

// SignIn is an interactive sign-in (device code) the UI runs before the
// list when no saved sign-in can be used.
type SignIn interface {
	// Ready reports, without the person, whether a token can be had (from
	// a saved sign-in). ok false means the person must sign in.
	Ready(ctx context.Context) (account string, ok bool, err error)
	// Start asks for a device code and returns what to show.
	Start(ctx context.Context) (signin.Prompt, error)
	// Wait blocks until the person signed in, the code expired or was
	// declined, or ctx is done.
	Wait(ctx context.Context) (account string, err error)
	// Abort gives up a started sign-in.
	Abort()
}

// Options configure the UI.
type Options struct {
	Service ActionService
	SignIn  SignIn // nil: no sign-in step (a token is already at hand)
	// SignInAbout says what the sign-in is for (cloud, tenant, client id).
	SignInAbout string
	Endpoint    string // shown in the header, e.g. "api.security.microsoft.com"
	Demo        bool   // shows a DEMO badge
	ReadOnly    bool   // cancel is not bound at all
	Mono        bool   // no colour (NO_COLOR or --no-color)
	Timeout     time.Duration
	Now         func() time.Time
	// RefreshEvery reloads the list on its own (0: never). It pauses while
	// a prompt is open and never runs two loads at once.
	RefreshEvery time.Duration
	// ExplainToken puts a token source's errors in plain words (auth.Explain).
	ExplainToken func(error) string
	// Warnings brings warnings of the layers below (a corrupt token cache
	// moved aside, a wait for another sign-in) to the footer while the UI
	// owns the terminal.
	Warnings <-chan string
	// Keys is the keymap (rebound from a profile); nil: the defaults.
	Keys *keys.KeyMap
	// Bulk runs paced bulk cancels of the marked actions (nil: only one
	// action at a time).
	Bulk BulkCanceller
	// Tenants, when set, are what the UI lists, in place of Service, Bulk
	// and SignIn (several: the all-profiles view).
	Tenants []Tenant
	// Profile is the name of the profile shown ("" none; AllProfiles).
	Profile string
	// Profiles lets the user switch profile (nil: P is not bound).
	Profiles Profiles
}

// MinRefresh is the shortest automatic refresh interval: the list API
// allows 100 calls a minute for the whole app.
const MinRefresh = 10 * time.Second

// Minimum terminal size; below it the UI says so instead of drawing.
const (
	MinWidth  = actiontable.MinWidth
	MinHeight = 15
)

type view int

const (
	viewList view = iota
	viewDetail
	viewHelp
	viewReport
)

// Model is the root model.
type Model struct {
	opts    Options
	ctx     *common.Context
	table   actiontable.Model
	detail  detail.Model
	form    *cancelform.Model
	help    help.Model
	view    view
	back    view // where help returns to
	loading bool
	loadErr string
	gen     int // generation of the newest list request
	loaded  time.Time
	// placed is set once a key reached the list: until then the cursor
	// stays on the top row while the tenants' lists arrive, rather than
	// following whichever row happened to come first.
	placed bool
	// detailLost is the id of the detail view's action when a refresh no
	// longer listed it: it is read again once the refresh is in.
	detailLost string
	// everLoaded is set once a list arrived: before, counts are unknown.
	everLoaded bool
	counts     map[mde.ActionStatus]int
	msg        footerMsg
	// inFlight holds the ids of actions whose cancel has been sent and not
	// answered; drafts keeps comments of cancels that did not go through.
	inFlight map[string]bool
	queued   map[string]bool // in a running bulk cancel, its call not sent yet
	drafts   map[string]string
	// known holds the entities cancels returned, so that a list read before
	// the cancel was answered does not put back an older state.
	known map[string]mde.MachineAction
	// marked holds the ids marked for a bulk cancel; marks outlive refreshes.
	marked map[string]bool
	// bulk is the running (or last) bulk cancel; failures keeps, by id, why
	// an action's last cancel failed.
	bulk *bulkState
	// The filter, the search and the order, and the index that serves them.
	spec       filter.Spec // what the user asked to see
	loadedSpec filter.Spec // what the rows were read with
	query      string
	order      filter.Order
	ix         *filter.Index
	idx        []int
	bar        filter.Bar
	failures   map[string]string
	quitArm    bool
	tickSeq    int
	// ageArmed is set while the timer of the header's age is armed;
	// quietLoad while an automatic reload runs (it shows no "loading…").
	ageArmed  bool
	quietLoad bool
	// signIn is the sign-in screen while it is shown; signGen tags its
	// requests so that a reply to an aborted try is dropped.
	signIn   *signin.Model
	signGen  int
	stopWait context.CancelFunc
	tryCtx   context.Context
	account  string
	// tenants are the profiles listed (one, or several in the all-profiles
	// view); owners maps each action id read to its tenant's index, so that
	// a cancel goes where the action came from. profile is the name shown.
	tenants []tenantState
	owners  map[string]int
	profile string
	picker  *pickerState
}

type footerKind int

const (
	footInfo footerKind = iota
	footOK
	footErr
)

type footerMsg struct {
	kind footerKind
	text string
}

// New returns the root model.
func New(opts Options) Model {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Timeout == 0 {
		opts.Timeout = 30 * time.Second
	}
	km := keys.Default()
	if opts.Keys != nil {
		km = *opts.Keys
	}
	if opts.ReadOnly {
		km.ReadOnly()
	}
	if opts.Profiles == nil {
		km.Profile.Unbind()
	}
	ctx := &common.Context{Styles: common.NewStyles(opts.Mono), Keys: km, Now: opts.Now}
	h := help.New()
	if opts.Mono {
		h.Styles = help.Styles{}
	}
	m := Model{
		opts:     opts,
		ctx:      ctx,
		table:    actiontable.New(ctx),
		bar:      filter.NewBar(ctx),
		detail:   detail.New(ctx, mde.MachineAction{}),
		help:     h,
		loading:  true,
		inFlight: map[string]bool{},
		queued:   map[string]bool{},
		drafts:   map[string]string{},
		known:    map[string]mde.MachineAction{},
		marked:   map[string]bool{},
		failures: map[string]string{},
		counts:   map[mde.ActionStatus]int{},
	}
	ts := opts.Tenants
	if len(ts) == 0 {
		ts = []Tenant{{Name: opts.Profile, Service: opts.Service, Bulk: opts.Bulk, ReadOnly: opts.ReadOnly,
			SignIn: opts.SignIn, SignInAbout: opts.SignInAbout, Endpoint: opts.Endpoint}}
	}
	m.setTenants(opts.Profile, ts)
	return m
}

func newSignInModel(ctx *common.Context, about string) signin.Model { return signin.New(ctx, about) }

func keyIs(msg tea.KeyPressMsg, b ...key.Binding) bool { return key.Matches(msg, b...) }

// Messages the commands send back.
type (
	loadedMsg struct {
		gen     int
		tenant  int                  // index in the model's tenants
		spec    filter.Spec          // the filter the list was read with
		actions []*mde.MachineAction // never written to
		err     error
		at      time.Time
	}
	cancelledMsg struct {
		id      string
		comment string
		action  mde.MachineAction
		err     error
	}
)

// bulkDraft keys the draft comment of a bulk cancel.
const bulkDraft = "\x00bulk"

// Init signs in if needed, else starts the first load.
func (m Model) Init() tea.Cmd {
	warn := m.waitWarning()
	if m.signIn != nil {
		return tea.Batch(m.readyCmd(m.signGen), warn)
	}
	return tea.Batch(m.loadCmd(m.gen), warn)
}

// Update routes a message: resize to every child; keys to the open form
// first, then the global keys, then the active view; results to their owner.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	nm, cmd := m.update(msg)
	next := nm.(Model)
	next.layout() // the footer may have grown or shrunk
	return next, cmd
}

func (m Model) update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.ctx.Width, m.ctx.Height = msg.Width, msg.Height
		m.layout()
		return m, nil
	case loadedMsg:
		if msg.gen != m.gen {
			return m, nil // a reply older than the newest request
		}
		m = m.onLoaded(msg)
		read := m.readLostDetail()
		if m.loading {
			return m, read // the last tenant's answer arms the next timers
		}
		cmd := tea.Batch(m.scheduleRefresh(), m.ageTick(), read) // before m is copied out
		return m, cmd
	case openedMsg:
		return m.onOpened(msg)
	case tickMsg:
		return m.onTick(msg)
	case ageTickMsg:
		return m.onAgeTick()
	case warningMsg:
		m.msg = footerMsg{footErr, "Warning: " + textsafe.Clean(string(msg))}
		return m, m.waitWarning()
	case bulkStartedMsg, bulkEventMsg, bulkEndMsg, bulkTickMsg:
		return m.onBulk(msg)
	case cancelledMsg:
		return m.onCancelled(msg)
	case verifiedMsg:
		return m.onVerified(msg), nil
	case rereadMsg:
		return m.onReread(msg)
	case detailReadMsg:
		return m.onDetailRead(msg), nil
	case readyMsg, startedMsg, signedInMsg:
		return m.onSignIn(msg)
	case tea.PasteMsg:
		if m.bar.Active() && !m.tooSmall() {
			return m.updateBar(msg)
		}
		if m.form != nil && !m.tooSmall() {
			return m.updateForm(msg)
		}
		return m, nil
	case tea.KeyPressMsg:
		return m.onKey(msg)
	}
	if m.form != nil {
		return m.updateForm(msg)
	}
	return m, nil
}

func (m Model) onKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	k := m.ctx.Keys
	if key.Matches(msg, k.ForceQuit) {
		return m, tea.Quit
	}
	if m.tooSmall() {
		// Nothing on screen to act on: only quitting works (and asks first
		// while cancels are under way, as at any size).
		if key.Matches(msg, k.Quit) {
			return m.quit()
		}
		return m, nil
	}
	if m.form != nil {
		return m.updateForm(msg)
	}
	if m.bar.Active() {
		return m.updateBar(msg)
	}
	if m.signIn != nil {
		return m.signInKey(msg)
	}
	if m.picker != nil {
		if key.Matches(msg, k.Quit) {
			return m.quit()
		}
		return m.pickerKey(msg)
	}
	if key.Matches(msg, k.Quit) {
		return m.quit()
	}
	m.quitArm = false
	if m.view == viewList {
		m.placed = true // from now on the cursor stays on its action across reloads
	}
	if nm, cmd, ok := m.bulkKey(msg); ok {
		return nm, cmd
	}
	if m.view == viewHelp || m.view == viewReport {
		if key.Matches(msg, k.Help, k.Back, k.Report) {
			m.view = m.back
		}
		return m, nil
	}
	switch {
	case key.Matches(msg, k.Help):
		m.back, m.view = m.view, viewHelp
		return m, nil
	case key.Matches(msg, k.Refresh):
		return m.refresh()
	case key.Matches(msg, k.Profile):
		return m.openPicker()
	case key.Matches(msg, k.Report) && m.bulk != nil:
		m.back, m.view = m.view, viewReport
		return m, nil
	case key.Matches(msg, k.Cancel):
		return m.startCancel()
	case key.Matches(msg, k.CopyID, k.CopyMachine):
		return m.copy(key.Matches(msg, k.CopyMachine))
	}
	switch m.view {
	case viewDetail:
		if key.Matches(msg, k.Back) {
			m.view = viewList
			return m, nil
		}
		m.detail, _ = m.detail.Update(msg)
	case viewList:
		if key.Matches(msg, k.Mark, k.MarkAll, k.ClearMarks) && m.bulk.running() {
			m.msg = footerMsg{footInfo, "A bulk cancel is running: its actions are fixed until it ends (" + keys.Name(m.ctx.Keys.StopBulk) + " stops the rest)."}
			return m, nil
		}
		switch {
		case key.Matches(msg, k.Search):
			return m, m.bar.OpenSearch(m.query)
		case key.Matches(msg, k.Filter):
			return m, m.bar.OpenSpec(m.spec)
		case key.Matches(msg, k.Sort, k.Reverse, k.Group):
			switch {
			case key.Matches(msg, k.Group) && m.order.Column == filter.ColDevice:
				m.order = filter.Order{} // back to oldest first
			case key.Matches(msg, k.Group):
				m.order = filter.Order{Column: filter.ColDevice}
			case key.Matches(msg, k.Sort):
				m.order = m.order.Next()
			default:
				m.order = m.order.Reverse()
			}
			m.table.SetGrouped(m.order.Column == filter.ColDevice)
			if m.ix != nil {
				m.ix.SetOrder(m.order)
				m.research()
			}
			m.msg = footerMsg{footInfo, "Sorted by " + m.order.String() + "."}
			return m, nil
		case key.Matches(msg, k.Back) && m.query != "":
			m.query = ""
			m.research()
			m.msg = footerMsg{footInfo, "Search cleared."}
			return m, nil
		case key.Matches(msg, k.Mark):
			if r, ok := m.table.Selected(); ok {
				m.setMark(r.Action.ID, !m.marked[r.Action.ID])
				m.table, _ = m.table.Update(tea.KeyPressMsg{Code: tea.KeyDown})
			}
			return m, nil
		case key.Matches(msg, k.MarkAll):
			for i := 0; i < m.table.Len(); i++ {
				if r := m.table.Shown(i); !r.Action.Status.Final() {
					m.setMark(r.Action.ID, true)
				}
			}
			m.msg = footerMsg{footInfo, fmt.Sprintf("%d marked (actions already finished are not marked).", m.markedCount())}
			return m, nil
		case key.Matches(msg, k.ClearMarks):
			for id := range m.marked {
				m.setMark(id, false)
			}
			m.msg = footerMsg{footInfo, "Marks cleared."}
			return m, nil
		}
		if key.Matches(msg, k.Open) {
			if r, ok := m.table.Selected(); ok {
				m.msg = footerMsg{}
				if why, failed := m.failures[r.Action.ID]; failed {
					m.msg = footerMsg{footErr, "Last cancel: " + why}
				} else if t := flagText(r); t != "" {
					m.msg = footerMsg{footInfo, t}
				}
				m.detail = detail.New(m.ctx, *r.Action)
				m.detail.SetAction(*r.Action, r.Busy)
				m.view = viewDetail
				m.layout()
			}
			return m, nil
		}
		if m.opts.ReadOnly && msg.String() == "c" { // the usual cancel key, unbound here: say why
			m.msg = footerMsg{footInfo, "Read-only: nothing is cancelled from here (--read-only, or read_only = true in the profile)."}
			return m, nil
		}
		m.table, _ = m.table.Update(msg)
	}
	return m, nil
}

// quit asks once more while cancels are under way, then quits; a running
// bulk job is stopped so that nothing new is sent.
func (m Model) quit() (tea.Model, tea.Cmd) {
	if len(m.inFlight) > 0 && !m.quitArm {
		m.quitArm = true
		if m.bulk.running() {
			m.msg = footerMsg{footErr, fmt.Sprintf("A bulk cancel is running (%d of %d done, %d not sent yet): press %s again to stop it and quit%s.",
				m.bulk.done, m.bulk.total, m.bulk.total-m.bulk.done, keys.Name(m.ctx.Keys.Quit), m.bulk.underWay())}
		} else {
			m.msg = footerMsg{footErr, fmt.Sprintf("%d cancel(s) still waiting for the API's answer: press %s again to quit anyway.", len(m.inFlight), keys.Name(m.ctx.Keys.Quit))}
		}
		return m, nil
	}
	if m.bulk.running() && m.bulk.job != nil {
		m.bulk.job.Abort()
	}
	return m, tea.Quit
}

// Report is what a caller prints after the program ends: the last bulk
// cancel's report, if there was one; nil otherwise.
func (m Model) Report() []string {
	if m.bulk == nil {
		return nil
	}
	return m.bulk.Report()
}

// copy puts the action's (or its machine's) id on the local clipboard with
// OSC 52, which works over SSH when the terminal allows it.
func (m Model) copy(machine bool) (tea.Model, tea.Cmd) {
	r, ok := m.target()
	if !ok {
		return m, nil
	}
	what, v := "action id", r.Action.ID
	if machine {
		what, v = "machine id", r.Action.MachineID
	}
	v = textsafe.Clean(v)
	if v == "" {
		m.msg = footerMsg{footInfo, "This action has no " + what + " to copy."}
		return m, nil
	}
	m.msg = footerMsg{footOK, "Copied the " + what + " " + v + " (OSC 52: your terminal must allow clipboard writes)."}
	return m, tea.SetClipboard(v)
}

func (m Model) refresh() (tea.Model, tea.Cmd) {
	if m.loading {
		m.msg = footerMsg{footInfo, "Already refreshing…"}
		return m, nil
	}
	m.gen++
	m.loading = true
	m.msg = footerMsg{footInfo, "Refreshing…"}
	return m, m.loadCmd(m.gen)
}

func (m Model) onLoaded(msg loadedMsg) Model {
	if msg.gen != m.gen || msg.tenant >= len(m.tenants) {
		return m // a reply older than the newest request
	}
	t := &m.tenants[msg.tenant]
	t.loading = false
	m.loading = m.anyLoading()
	quiet := m.quietLoad // an automatic refresh, not asked for
	m.quietLoad = m.quietLoad && m.loading
	if msg.err != nil {
		before := t.errKind
		t.err = explain(opList, msg.err, m.opts.ExplainToken, m.ctx.Keys)
		t.errKind = failureKind(msg.err, t.err)
		if !m.multi() {
			m.loadErr = t.err
			m.msg = footerMsg{}
			if m.table.Len() > 0 { // else the body shows it
				m.msg = footerMsg{footErr, m.loadErr}
			}
			return m
		}
		// One tenant failing holds no other back: its state shows on the
		// tenants line, why in the footer, and its older rows stay.
		failed := m.failedTenants()
		if len(failed) == len(m.tenants) {
			m.loadErr = "Every tenant failed to load:\n" + strings.Join(failed, "\n")
		}
		if m.form != nil || m.quitArm || (quiet && t.errKind == before) {
			// The same failure again, unasked, or a prompt is open: the
			// tenants line says it; the footer keeps what it says.
			return m
		}
		m.msg = footerMsg{footErr, "Tenant " + failed[0]}
		if len(failed) > 1 {
			m.msg = footerMsg{footErr, fmt.Sprintf("%d tenants failed. %s", len(failed), strings.Join(failed, " · "))}
		}
		return m
	}
	t.err, t.errKind = "", ""
	t.at = msg.at
	t.actions = msg.actions
	m.loadErr = ""
	m.loaded = msg.at
	m.everLoaded = true
	m.loadedSpec = msg.spec
	m.rebuild()
	if m.loading {
		return m
	}
	if strings.HasPrefix(m.msg.text, "Loading with the filter") {
		m.msg = footerMsg{footInfo, fmt.Sprintf("Filter applied: %d shown.", m.table.Len())}
	}
	if m.msg.text == "Refreshing…" {
		open := m.counts[mde.StatusPending] + m.counts[mde.StatusInProgress]
		text := fmt.Sprintf("Refreshed: %d open actions.", open)
		if open != m.table.Total() { // the filter lists finished ones too
			text = fmt.Sprintf("Refreshed: %d actions, %d of them open.", m.table.Total(), open)
		}
		m.msg = footerMsg{footInfo, text}
	}
	return m
}
