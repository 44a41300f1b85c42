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
	"charm.land/lipgloss/v2"

	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/ui/actiontable"
	"github.com/mdeactions/mdeactions/ui/cancelform"
	"github.com/mdeactions/mdeactions/ui/common"
	"github.com/mdeactions/mdeactions/ui/detail"
	"github.com/mdeactions/mdeactions/ui/filter"
	"github.com/mdeactions/mdeactions/ui/format"
	"github.com/mdeactions/mdeactions/ui/keys"
	"github.com/mdeactions/mdeactions/ui/signin"
	"github.com/mdeactions/mdeactions/ui/textsafe"
)

// ActionService is what the UI needs from the API client.
type ActionService interface {
	List(ctx context.Context, q mde.Query) ([]mde.MachineAction, error)
	Cancel(ctx context.Context, id, comment string) (mde.MachineAction, error)
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
	// Bulk runs paced bulk cancels of the marked actions (nil: only one
	// action at a time).
	Bulk BulkCanceller
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
	// everLoaded is set once a list arrived: before, counts are unknown.
	everLoaded bool
	counts     map[mde.ActionStatus]int
	msg        footerMsg
	// inFlight holds the ids of actions whose cancel has been sent and not
	// answered; drafts keeps comments of cancels that did not go through.
	inFlight map[string]bool
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
	// signIn is the sign-in screen while it is shown; signGen tags its
	// requests so that a reply to an aborted try is dropped.
	signIn   *signin.Model
	signGen  int
	stopWait context.CancelFunc
	tryCtx   context.Context
	account  string
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
	if opts.ReadOnly {
		km.ReadOnly()
	}
	ctx := &common.Context{Styles: common.NewStyles(opts.Mono), Keys: km, Now: opts.Now}
	h := help.New()
	if opts.Mono {
		h.Styles = help.Styles{}
	}
	var si *signin.Model
	if opts.SignIn != nil {
		v := signin.New(ctx, opts.SignInAbout)
		si = &v
	}
	m := Model{
		signIn:   si,
		opts:     opts,
		ctx:      ctx,
		table:    actiontable.New(ctx),
		bar:      filter.NewBar(ctx),
		detail:   detail.New(ctx, mde.MachineAction{}),
		help:     h,
		loading:  true,
		inFlight: map[string]bool{},
		drafts:   map[string]string{},
		known:    map[string]mde.MachineAction{},
		marked:   map[string]bool{},
		failures: map[string]string{},
		counts:   map[mde.ActionStatus]int{},
	}
	if m.signIn != nil {
		m.newTry()
	}
	return m
}

// Messages the commands send back.
type (
	loadedMsg struct {
		gen     int
		spec    filter.Spec // the filter the list was read with
		actions []mde.MachineAction
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
		return tea.Batch(m.readyCmd(m.signGen), warn, m.ageTick())
	}
	return tea.Batch(m.loadCmd(m.gen), warn, m.ageTick())
}

// ageTickMsg redraws the header's "refreshed N s ago". It ticks only while
// automatic refresh is on (the data changes then anyway); with it off,
// nothing ticks and an idle screen sends nothing.
type ageTickMsg struct{}

const ageEvery = 10 * time.Second

func (m Model) ageTick() tea.Cmd {
	if m.opts.RefreshEvery <= 0 {
		return nil
	}
	return tea.Tick(ageEvery, func(time.Time) tea.Msg { return ageTickMsg{} })
}

// warningMsg is a warning from the layers below, for the footer.
type warningMsg string

func (m Model) waitWarning() tea.Cmd {
	ch := m.opts.Warnings
	if ch == nil {
		return nil
	}
	return func() tea.Msg {
		w, ok := <-ch
		if !ok {
			return nil
		}
		return warningMsg(w)
	}
}

// tickMsg is the automatic refresh's timer; seq drops timers of an older
// schedule.
type tickMsg struct{ seq int }

// scheduleRefresh arms the next automatic refresh, counted from the end of
// the last load.
func (m *Model) scheduleRefresh() tea.Cmd {
	if m.opts.RefreshEvery <= 0 {
		return nil
	}
	m.tickSeq++
	seq := m.tickSeq
	return tea.Tick(m.opts.RefreshEvery, func(time.Time) tea.Msg { return tickMsg{seq} })
}

func (m Model) onTick(msg tickMsg) (tea.Model, tea.Cmd) {
	if msg.seq != m.tickSeq {
		return m, nil
	}
	if m.loading || m.signIn != nil {
		return m, nil // a load is running: its end arms the next timer
	}
	if m.form != nil || m.view == viewHelp {
		// Paused while a prompt is open: try again one interval later.
		return m, m.scheduleRefresh()
	}
	m.gen++
	m.loading = true
	return m, m.loadCmd(m.gen)
}

func (m Model) loadCmd(gen int) tea.Cmd {
	svc, timeout, now, spec := m.opts.Service, m.opts.Timeout, m.opts.Now, m.spec
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		actions, err := svc.List(ctx, spec.Query(now()))
		return loadedMsg{gen: gen, spec: spec, actions: actions, err: err, at: now()}
	}
}

func (m Model) cancelCmd(id, comment string) tea.Cmd {
	svc, timeout := m.opts.Service, m.opts.Timeout
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		a, err := svc.Cancel(ctx, id, comment)
		return cancelledMsg{id: id, comment: comment, action: a, err: err}
	}
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
		return m, m.scheduleRefresh()
	case tickMsg:
		return m.onTick(msg)
	case ageTickMsg:
		return m, m.ageTick()
	case warningMsg:
		m.msg = footerMsg{footErr, "Warning: " + textsafe.Clean(string(msg))}
		return m, m.waitWarning()
	case bulkStartedMsg, bulkEventMsg, bulkEndMsg, bulkTickMsg:
		return m.onBulk(msg)
	case cancelledMsg:
		return m.onCancelled(msg)
	case verifiedMsg:
		return m.onVerified(msg), nil
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
	if key.Matches(msg, k.Quit) {
		return m.quit()
	}
	m.quitArm = false
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
			m.msg = footerMsg{footInfo, "A bulk cancel is running: its actions are fixed until it ends (x stops the rest)."}
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
				m.detail = detail.New(m.ctx, r.Action)
				m.detail.SetAction(r.Action, r.Busy)
				m.view = viewDetail
				m.layout()
			}
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
			m.msg = footerMsg{footErr, fmt.Sprintf("A bulk cancel is running (%d of %d done, %d not sent yet): press q again to stop it and quit; the cancel under way finishes.",
				m.bulk.done, m.bulk.total, m.bulk.total-m.bulk.done)}
		} else {
			m.msg = footerMsg{footErr, fmt.Sprintf("%d cancel(s) still waiting for the API's answer: press q again to quit anyway.", len(m.inFlight))}
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

// target is the action a cancel would apply to: the one in the detail view,
// else the row under the cursor.
func (m Model) target() (actiontable.Row, bool) {
	if m.view == viewDetail {
		for _, r := range m.table.Rows() {
			if r.Action.ID == m.detail.ID() {
				return r, true
			}
		}
		return actiontable.NewRow(m.detail.Action()), true
	}
	return m.table.Selected()
}

func (m Model) startCancel() (tea.Model, tea.Cmd) {
	if m.bulk != nil && !m.bulk.finished {
		m.msg = footerMsg{footInfo, "A bulk cancel is running: wait for it, or stop it with x."}
		return m, nil
	}
	if m.view == viewList && m.markedCount() > 0 {
		var actions []mde.MachineAction
		for i := 0; i < m.table.Len(); i++ {
			if r := m.table.Shown(i); r.Marked && !r.Action.Status.Final() && !m.inFlight[r.Action.ID] {
				actions = append(actions, r.Action)
			}
		}
		if len(actions) == 0 {
			m.msg = footerMsg{footInfo, "Every marked action is already finished: nothing to cancel. u clears the marks."}
			return m, nil
		}
		f, cmd := cancelform.New(m.ctx, actions, m.drafts[bulkDraft])
		f.SetHidden(m.hiddenMarks())
		m.form = &f
		m.msg = footerMsg{}
		return m, cmd
	}
	r, ok := m.target()
	if !ok {
		m.msg = footerMsg{footInfo, "Nothing selected: there is no action to cancel."}
		return m, nil
	}
	a := r.Action
	if m.inFlight[a.ID] {
		m.msg = footerMsg{footInfo, "A cancel of this action is already waiting for the API's answer."}
		return m, nil
	}
	if a.Status.Final() {
		m.msg = footerMsg{footInfo, fmt.Sprintf("This action is already %s: there is nothing to cancel.", format.Status(a.Status))}
		return m, nil
	}
	f, cmd := cancelform.New(m.ctx, []mde.MachineAction{a}, m.drafts[a.ID])
	m.form = &f
	m.msg = footerMsg{}
	m.layout()
	return m, cmd
}

func (m Model) updateForm(msg tea.Msg) (tea.Model, tea.Cmd) {
	f, outcome, cmd := m.form.Update(msg)
	m.form = &f
	actions := f.Actions()
	a := actions[0]
	draftKey := a.ID
	if len(actions) > 1 {
		draftKey = bulkDraft
	}
	switch outcome {
	case cancelform.Aborted:
		if c := f.Comment(); c != "" {
			m.drafts[draftKey] = c
		}
		m.form = nil
		m.msg = footerMsg{footInfo, "Not cancelled. The comment is kept if you try again."}
		m.layout()
		return m, nil
	case cancelform.Confirmed:
		comment := f.Comment()
		m.drafts[draftKey] = comment
		m.form = nil
		if len(actions) > 1 {
			return m.startBulk(actions, comment)
		}
		m.inFlight[a.ID] = true
		m.setBusy(a.ID, true)
		m.msg = footerMsg{footInfo, "Cancelling " + format.TypeName(a) + " on " + format.Device(a) + "…"}
		m.layout()
		return m, m.cancelCmd(a.ID, comment)
	}
	return m, cmd
}

func (m *Model) setBusy(id string, busy bool) {
	m.table.UpdateRow(id, func(r *actiontable.Row) { r.Busy = busy })
	if m.view == viewDetail && m.detail.ID() == id {
		m.detail.SetAction(m.detail.Action(), busy)
	}
}

func (m Model) onLoaded(msg loadedMsg) Model {
	if msg.gen != m.gen {
		return m // a reply older than the newest request
	}
	m.loading = false
	if msg.err != nil {
		m.loadErr = explain(opList, msg.err, m.opts.ExplainToken)
		m.msg = footerMsg{}
		if m.table.Len() > 0 { // else the body shows it
			m.msg = footerMsg{footErr, m.loadErr}
		}
		return m
	}
	m.loadErr = ""
	m.loaded = msg.at
	m.everLoaded = true
	actions := msg.actions
	rows := make([]actiontable.Row, len(actions))
	for i, a := range actions {
		if k, ok := m.known[a.ID]; ok {
			if k.LastUpdateDateTimeUtc.After(a.LastUpdateDateTimeUtc.Time) {
				a = k // the list is older than what the cancel returned
			} else {
				delete(m.known, a.ID)
			}
		}
		rows[i] = actiontable.NewRow(a)
		rows[i].Busy = m.inFlight[a.ID]
		rows[i].Marked = m.marked[a.ID]
	}
	// The index orders the rows (oldest first unless sorted otherwise) and
	// makes the search and the filter cheap; built once per arrival.
	m.loadedSpec = msg.spec
	m.ix = filter.NewIndexOrdered(rows, m.order)
	follow := m.table.SelectedID() // before Search reuses the view's memory
	m.idx = m.ix.Search(m.query, m.spec, m.opts.Now(), m.idx)
	m.table.SetRowsView(rows, m.idx, follow)
	m.recount()
	if m.view == viewDetail {
		for _, r := range rows {
			if r.Action.ID == m.detail.ID() {
				m.detail.SetAction(r.Action, r.Busy)
			}
		}
	}
	if strings.HasPrefix(m.msg.text, "Loading with the filter") {
		m.msg = footerMsg{footInfo, fmt.Sprintf("Filter applied: %d shown.", m.table.Len())}
	}
	if m.msg.text == "Refreshing…" {
		m.msg = footerMsg{footInfo, fmt.Sprintf("Refreshed: %d open actions.", len(rows))}
	}
	return m
}

func (m Model) onCancelled(msg cancelledMsg) (Model, tea.Cmd) {
	delete(m.inFlight, msg.id)
	m.quitArm = false
	m.setBusy(msg.id, false)
	if msg.err != nil {
		m.msg = footerMsg{footErr, explain(opCancel, msg.err, m.opts.ExplainToken) + " Your comment is kept (press c to retry)."}
		return m, nil
	}
	delete(m.drafts, msg.id)
	a := msg.action
	if a.ID == "" {
		a.ID = msg.id
	}
	if a.ID != msg.id {
		m.msg = footerMsg{footErr, "The API answered the cancel of " + textsafe.Clean(msg.id) + " with another action (" +
			textsafe.Clean(a.ID) + "). Press r to see the real state."}
		return m, nil
	}
	m.known[a.ID] = a
	m.updateRow(msg.id, func(r *actiontable.Row) { *r = actiontable.NewRow(a) })
	if m.view == viewDetail && m.detail.ID() == msg.id {
		m.detail.SetAction(a, false)
	}
	m.recount()
	if a.Status == mde.StatusCancelled {
		who := ""
		if a.CancellationRequestor != "" {
			who = " by " + textsafe.Clean(a.CancellationRequestor)
		}
		m.msg = footerMsg{footOK, "Cancelled " + format.TypeName(a) + " on " + format.Device(a) + who + "."}
		if a.CompletedBeforeCancel() {
			m.msg = footerMsg{footErr, m.msg.text + " But a command had already completed before the cancel: check its result."}
		}
	} else {
		m.msg = footerMsg{footErr, "Cancel sent, but the API says the action is now " + format.Status(a.Status) + ". Press r to refresh."}
	}
	return m, m.verifyCmd(a)
}

// verifiedMsg is the re-read of a device after a cancel on it.
type verifiedMsg struct {
	device  string
	before  map[string]mde.MachineAction
	actions []mde.MachineAction
	err     error
}

// verifyCmd re-reads the other actions on the cancelled action's device
// (one list call, on the list budget) to report collateral changes.
func (m Model) verifyCmd(a mde.MachineAction) tea.Cmd {
	if a.MachineID == "" {
		return nil
	}
	before := map[string]mde.MachineAction{}
	for _, r := range m.table.Rows() {
		if r.Action.MachineID == a.MachineID && r.Action.ID != a.ID {
			before[r.Action.ID] = r.Action
		}
	}
	if len(before) == 0 {
		return nil
	}
	svc, timeout, machine, device := m.opts.Service, m.opts.Timeout, a.MachineID, format.Device(a)
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		actions, err := svc.List(ctx, mde.Query{MachineIDs: []string{machine}})
		return verifiedMsg{device, before, actions, err}
	}
}

func (m Model) onVerified(msg verifiedMsg) Model {
	if msg.err != nil {
		return m // the cancel itself is reported; a failed re-read adds nothing sure
	}
	var changes []string
	for _, a := range msg.actions {
		if _, mine := m.known[a.ID]; mine || m.inFlight[a.ID] {
			continue // cancelled from here meanwhile: not a side effect
		}
		if b, ok := msg.before[a.ID]; ok && b.Status != a.Status {
			changes = append(changes, fmt.Sprintf("%s %s → %s", format.TypeName(a), format.Status(b.Status), format.Status(a.Status)))
			m.updateRow(a.ID, func(r *actiontable.Row) {
				marked, busy := r.Marked, r.Busy
				*r = actiontable.NewRow(a)
				r.Marked, r.Busy = marked, busy
			})
		}
	}
	if len(changes) > 0 {
		m.recount()
		m.msg = footerMsg{footErr, m.msg.text + " Also changed on " + msg.device + ": " + strings.Join(changes, ", ") + "."}
	}
	return m
}

func (m *Model) setMark(id string, on bool) {
	if on {
		m.marked[id] = true
	} else {
		delete(m.marked, id)
	}
	m.table.UpdateRow(id, func(r *actiontable.Row) { r.Marked = on })
}

// hiddenMarks is how many marked actions the filter or search hides.
func (m Model) hiddenMarks() int {
	n := 0
	for _, r := range m.table.Rows() {
		if r.Marked {
			n++
		}
	}
	return n - m.markedCount()
}

// markedCount is how many marked actions are shown now (a bulk cancel
// takes only those).
func (m Model) markedCount() int {
	n := 0
	for i := 0; i < m.table.Len(); i++ {
		if m.table.Shown(i).Marked {
			n++
		}
	}
	return n
}

func (m *Model) recount() {
	clear(m.counts)
	for _, r := range m.table.Rows() {
		m.counts[r.Action.Status]++
	}
	m.flag()
}

// flag sets the triage flags: duplicates (the same type open twice on one
// device) and live responses that block new ones on their device.
func (m *Model) flag() {
	type key struct {
		device string
		typ    mde.ActionType
	}
	open := map[key]int{}
	for _, r := range m.table.Rows() {
		if r.Action.Status.Open() {
			open[key{deviceKey(r.Action), r.Action.Type}]++
		}
	}
	m.table.Each(func(r *actiontable.Row) {
		a := r.Action
		r.Flag = ' '
		switch {
		case !a.Status.Open():
		case open[key{deviceKey(a), a.Type}] > 1:
			r.Flag = 'D'
		case a.Type == mde.TypeLiveResponse:
			r.Flag = 'L'
		}
	})
}

// flagText says in words what a row's triage flag means.
func flagText(r actiontable.Row) string {
	switch r.Flag {
	case 'D':
		return "D: another open " + textsafe.Clean(string(r.Action.Type)) + " is on " + format.Device(r.Action) + " (a duplicate)."
	case 'L':
		return "L: this open live response blocks new live response sessions on " + format.Device(r.Action) + "."
	}
	return ""
}

func deviceKey(a mde.MachineAction) string {
	if a.MachineID != "" {
		return strings.ToLower(a.MachineID)
	}
	return strings.ToLower(a.ComputerDNSName)
}

// topLines is what goes under the header in the list: the search or filter
// input while it is open, else a line saying what narrows the list.
func (m Model) topLines() []string {
	if m.signIn != nil || m.view != viewList {
		return nil
	}
	if m.bar.Active() {
		return []string{m.bar.View(m.ctx.Width)}
	}
	if l := m.filterLine(); l != "" {
		return []string{l}
	}
	return nil
}

// maxFooterLines is how many lines a long message may take.
const maxFooterLines = 4

// footerLines is the message wrapped to the width, at most maxFooterLines.
func (m Model) footerLines() []string {
	if m.msg.text == "" || m.ctx.Width <= 0 {
		return []string{""}
	}
	lines := strings.Split(lipgloss.NewStyle().Width(m.ctx.Width).Render(m.msg.text), "\n")
	if len(lines) > maxFooterLines {
		lines = lines[:maxFooterLines]
		lines[maxFooterLines-1] = format.Fit(strings.TrimRight(lines[maxFooterLines-1], " ")+" …", m.ctx.Width)
	}
	return lines
}

// bodyHeight is what is left between the header and the footer.
func (m Model) bodyHeight() int {
	body := max(m.ctx.Height-2-len(m.footerLines())-len(m.topLines()), 1)
	if m.form != nil {
		body = max(body-m.form.Height(), 2)
	}
	return body
}

// layout gives every child its size.
func (m *Model) layout() {
	w := m.ctx.Width
	body := m.bodyHeight()
	if m.form != nil {
		m.form.SetWidth(w)
	}
	m.table.SetSize(w, body)
	m.detail.SetSize(w, body)
	m.help.SetWidth(w)
}

func (m Model) tooSmall() bool {
	return m.ctx.Width < MinWidth || m.ctx.Height < MinHeight
}

// View draws the screen.
func (m Model) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	return v
}

func (m Model) render() string {
	w, h := m.ctx.Width, m.ctx.Height
	if w == 0 || h == 0 {
		return ""
	}
	if m.tooSmall() {
		return fmt.Sprintf("Terminal too small: %dx%d.\nmdeactions needs at least %dx%d.\nEnlarge the window, or press q to quit.", w, h, MinWidth, MinHeight)
	}
	st := m.ctx.Styles
	parts := append([]string{m.header()}, m.topLines()...)
	body := m.bodyHeight()
	switch {
	case m.signIn != nil:
		parts = append(parts, m.signIn.View(body))
	case m.view == viewReport && m.bulk != nil:
		report := strings.Join(m.bulk.Report(), "\n")
		parts = append(parts, fitLines(lipgloss.NewStyle().Width(w).Render(report)+"\n\n"+st.Muted.Render("esc: back"), body))
	case m.view == viewReport && m.bulk != nil:
		report := strings.Join(m.bulk.Report(), "\n")
		parts = append(parts, fitLines(lipgloss.NewStyle().Width(w).Render(report)+"\n\n"+st.Muted.Render("esc: back"), body))
	case m.view == viewHelp:
		legend := "Marker column: > cursor · * marked · D duplicate (same type open twice on the device) · L live response that blocks new ones on the device"
		if m.opts.ReadOnly {
			legend = "Marker column: > cursor · D duplicate (same type open twice on the device) · L live response that blocks new ones on the device"
		}
		parts = append(parts, fitLines(m.fullHelp()+"\n\n"+lipgloss.NewStyle().Width(w).Render(legend)+"\n\n"+st.Muted.Render("? or esc: close help"), body))
	case m.view == viewDetail:
		parts = append(parts, m.detail.View())
	case m.loading && m.table.Len() == 0:
		parts = append(parts, fitLines("Loading machine actions from "+m.opts.Endpoint+"…", body))
	case m.loadErr != "" && m.table.Len() == 0:
		parts = append(parts, fitLines(st.Error.Render(lipgloss.NewStyle().Width(w).Render(m.loadErr)), body))
	case m.table.Len() == 0 && (m.query != "" || !m.spec.IsDefault()):
		parts = append(parts, fitLines("No action matches the filter or the search. esc clears the search; f changes the filter.", body))
	case m.table.Len() == 0:
		parts = append(parts, fitLines("No Pending or InProgress machine actions. Press r to refresh.", body))
	default:
		parts = append(parts, m.table.View())
	}
	if m.form != nil {
		parts = append(parts, m.form.View())
	}
	parts = append(parts, m.footer(), m.shortHelp())
	return strings.Join(parts, "\n")
}

func (m Model) header() string {
	st := m.ctx.Styles
	left := st.Header.Render("mdeactions")
	if m.opts.Demo {
		left += " " + st.Badge.Render(" DEMO ")
	}
	if m.opts.ReadOnly {
		left += " " + st.Badge.Render(" RO ")
	}
	if m.everLoaded {
		// With a filter, part of it may have run on the server: the count
		// is of what was loaded, and "shown" of what the filter keeps.
		noun := "actions"
		if !m.loadedSpec.IsDefault() {
			noun = "loaded"
		}
		left += " " + fmt.Sprintf("%d %s: %d Pending, %d InProgress",
			m.table.Total(), noun, m.counts[mde.StatusPending], m.counts[mde.StatusInProgress])
	}
	final, other := 0, 0
	for st, n := range m.counts {
		switch {
		case st.Open():
		case st.Final():
			final += n
		default:
			other += n
		}
	}
	if final > 0 {
		left += fmt.Sprintf(", %d finished", final)
	}
	if other > 0 {
		left += fmt.Sprintf(", %d other", other)
	}
	if m.everLoaded && m.table.Len() != m.table.Total() {
		left += fmt.Sprintf(" · %d shown", m.table.Len())
	}
	if n := m.markedCount(); n > 0 || m.hiddenMarks() > 0 {
		left += fmt.Sprintf(" · %d marked", n)
		if h := m.hiddenMarks(); h > 0 {
			left += fmt.Sprintf(" (+%d hidden)", h)
		}
	}
	// What gives way when the line is short: first the word "updated",
	// then the time, then the endpoint's tail (which tenant you act on
	// matters more than when the list was read). The counts always stay.
	endpoint := " · " + m.opts.Endpoint
	var rights []string
	switch {
	case m.signIn != nil && (m.signIn.Stage == signin.Failed || m.signIn.Stage == signin.Aborted):
		rights = []string{"not signed in", ""}
	case m.signIn != nil:
		rights = []string{"signing in", ""}
	case m.loading:
		rights = []string{"loading…", ""}
	case !m.loaded.IsZero() && m.opts.RefreshEvery > 0:
		ago := fmt.Sprintf("%ds ago", int(m.opts.Now().Sub(m.loaded).Seconds()))
		rights = []string{"refreshed " + ago, ago, ""}
	case !m.loaded.IsZero():
		at := m.loaded.Local().Format("15:04:05")
		rights = []string{"updated " + at, at, ""}
	default:
		rights = []string{""}
	}
	room := m.ctx.Width - lipgloss.Width(left)
	const minEndpoint = 11 // " · " and 8 cells of host
	right := ""
	for _, r := range rights {
		right = r
		if room-lipgloss.Width(r)-1 >= lipgloss.Width(endpoint) {
			break
		}
	}
	if avail := room - lipgloss.Width(right) - 1; lipgloss.Width(endpoint) > avail {
		endpoint = format.Fit(endpoint, max(avail, 0))
		if avail < minEndpoint {
			endpoint = ""
		}
	}
	line := left + st.Muted.Render(endpoint)
	pad := max(m.ctx.Width-lipgloss.Width(line)-lipgloss.Width(right), 1)
	return format.Fit(line+strings.Repeat(" ", pad)+st.Muted.Render(right), m.ctx.Width)
}

func (m Model) footer() string {
	st := m.ctx.Styles
	style := st.Info
	switch m.msg.kind {
	case footErr:
		style = st.Error
	case footOK:
		style = st.Success
	}
	lines := m.footerLines()
	for i, l := range lines {
		lines[i] = style.Render(format.Fit(l, m.ctx.Width))
	}
	return strings.Join(lines, "\n")
}

func (m Model) shortHelp() string {
	k := m.ctx.Keys
	var b []key.Binding
	switch {
	case m.form != nil:
		return m.ctx.Styles.Muted.Render(format.Fit("ctrl+c: quit", m.ctx.Width))
	case m.signIn != nil:
		help := "esc: abort sign-in · q: quit"
		if st := m.signIn.Stage; st == signin.Failed || st == signin.Aborted {
			help = "r: sign in again · q: quit"
		}
		return m.ctx.Styles.Muted.Render(format.Fit(help, m.ctx.Width))
	case m.view == viewDetail:
		b = k.DetailHelp()
	case m.view == viewReport:
		b = []key.Binding{k.Back, k.Quit}
	case m.view == viewHelp:
		b = []key.Binding{k.Help, k.Quit}
	default:
		b = k.ShortHelp()
	}
	return format.Fit(m.help.ShortHelpView(b), m.ctx.Width)
}

// fullHelp lays the keymap's groups out in as many blocks of columns as
// the width needs.
func (m Model) fullHelp() string {
	var blocks []string
	var row [][]key.Binding
	for _, g := range m.ctx.Keys.FullHelp() {
		try := append(append([][]key.Binding{}, row...), g)
		if len(row) > 0 && lipgloss.Width(m.help.FullHelpView(try)) > m.ctx.Width {
			blocks = append(blocks, m.help.FullHelpView(row))
			row = [][]key.Binding{g}
			continue
		}
		row = try
	}
	if len(row) > 0 {
		blocks = append(blocks, m.help.FullHelpView(row))
	}
	return strings.Join(blocks, "\n\n")
}

// fitLines pads or cuts s to exactly n lines.
func fitLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[:n]
	}
	for len(lines) < n {
		lines = append(lines, "")
	}
	return strings.Join(lines, "\n")
}
