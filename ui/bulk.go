package ui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/mde/bulk"
	"github.com/mdeactions/mdeactions/mde/textsafe"
	"github.com/mdeactions/mdeactions/ui/actiontable"
	"github.com/mdeactions/mdeactions/ui/format"
	"github.com/mdeactions/mdeactions/ui/keys"
)

// BulkCanceller starts paced bulk cancels (main wires it to mde/bulk with
// the API client and the process's cancel budget).
type BulkCanceller interface {
	// known is every action the list shows: what the job compares each
	// device's re-read with, to report collateral changes.
	Start(ctx context.Context, actions, known []mde.MachineAction, comment string) BulkJob
}

// BulkJob is a running bulk cancel.
type BulkJob interface {
	Events() <-chan bulk.Event
	Pause()
	Resume()
	Abort()
}

// bulkState is what the UI shows of a running or finished bulk cancel.
type bulkState struct {
	job       BulkJob
	total     int
	done      int
	outcomes  map[bulk.Outcome]int
	until     time.Time // the next call waits until then
	throttled bool      // because of a 429 (else our own pacing)
	paused    bool
	sending   bool // a cancel is out, its answer not in
	aborting  bool
	finished  bool
	notes     []string // collateral changes and races, in words
	problems  []string // each action that failed or stayed unknown, and why
}

type (
	bulkStartedMsg struct{ job BulkJob }
	bulkEventMsg   struct{ ev bulk.Event }
	bulkEndMsg     struct{}
	bulkTickMsg    struct{}
)

func startBulkCmd(bc BulkCanceller, actions, known []mde.MachineAction, comment string) tea.Cmd {
	return func() tea.Msg {
		return bulkStartedMsg{bc.Start(context.Background(), actions, known, comment)}
	}
}

// nextEventCmd waits for the job's next event.
func nextEventCmd(job BulkJob) tea.Cmd {
	return func() tea.Msg {
		ev, ok := <-job.Events()
		if !ok {
			return bulkEndMsg{}
		}
		return bulkEventMsg{ev}
	}
}

// startBulk turns a confirmed form into a running job.
func (m Model) startBulk(actions []mde.MachineAction, comment string) (tea.Model, tea.Cmd) {
	if why := m.tenantRefuses(actions); why != "" {
		m.msg = footerMsg{footErr, why}
		return m, nil
	}
	ti, _ := m.owner(actions[0].ID)
	bc := m.tenants[ti].Bulk
	if bc == nil {
		m.msg = footerMsg{footErr, "Bulk cancel is not available here."}
		return m, nil
	}
	m.bulk = &bulkState{total: len(actions), outcomes: map[bulk.Outcome]int{}}
	for _, a := range actions {
		m.inFlight[a.ID] = true
		m.setQueued(a.ID, true) // Cancelling once its turn comes
	}
	m.msg = footerMsg{footInfo, fmt.Sprintf("Cancelling %d actions, paced within the API's limits…", len(actions))}
	known := make([]mde.MachineAction, 0, m.table.Len())
	for _, r := range m.table.Rows() {
		if r.Src == ti {
			known = append(known, *r.Action)
		}
	}
	return m, startBulkCmd(bc, actions, known, comment)
}

func (m Model) onBulk(msg tea.Msg) (tea.Model, tea.Cmd) {
	if m.bulk == nil {
		return m, nil
	}
	b := *m.bulk
	m.bulk = &b
	switch msg := msg.(type) {
	case bulkStartedMsg:
		b.job = msg.job
		return m, nextEventCmd(b.job)
	case bulkEndMsg:
		b.finished = true
		for id := range m.inFlight {
			if m.marked[id] {
				delete(m.inFlight, id)
				m.setBusy(id, false)
				m.setQueued(id, false)
			}
		}
		m.msg = footerMsg{footOK, b.summary(m.ctx.Keys)}
		if b.outcomes[bulk.Failed]+b.outcomes[bulk.Unknown] > 0 || len(b.notes) > 0 {
			m.msg.kind = footErr
		}
		if b.outcomes[bulk.Failed]+b.outcomes[bulk.Unknown]+b.outcomes[bulk.Aborted] == 0 {
			delete(m.drafts, bulkDraft) // nothing left to retry: the next bulk gets its own comment
		}
		return m, nil
	case bulkTickMsg:
		if b.finished {
			return m, nil
		}
		now := m.opts.Now()
		if !m.quitArm { // the quit warning stays until answered
			m.msg = footerMsg{footInfo, b.progress(now, m.ctx.Keys)}
		}
		if !b.until.IsZero() && now.Before(b.until) {
			return m, bulkTick() // the countdown moves once a second while it waits
		}
		return m, nil
	case bulkEventMsg:
		cmd := m.applyBulkEvent(&b, msg.ev)
		return m, tea.Batch(nextEventCmd(b.job), cmd)
	}
	return m, nil
}

func bulkTick() tea.Cmd {
	return tea.Tick(time.Second, func(time.Time) tea.Msg { return bulkTickMsg{} })
}

func (m *Model) applyBulkEvent(b *bulkState, ev bulk.Event) tea.Cmd {
	b.done = ev.Done
	var cmd tea.Cmd
	switch ev.Kind {
	case bulk.Waiting:
		b.until, b.throttled = ev.Until, ev.Err != nil
		cmd = bulkTick()
	case bulk.Started:
		b.until, b.sending = time.Time{}, true
		m.setQueued(ev.ID, false)
		m.setBusy(ev.ID, true)
	case bulk.Paused:
		b.paused = true
	case bulk.Resumed:
		b.paused = false
	case bulk.Done:
		b.sending = false
		b.outcomes[ev.Outcome]++
		delete(m.inFlight, ev.ID)
		m.setBusy(ev.ID, false)
		m.setQueued(ev.ID, false)
		if ev.Action.ID == ev.ID {
			m.known[ev.ID] = ev.Action
			a := ev.Action
			m.updateRow(ev.ID, func(r *actiontable.Row) {
				r.SetAction(a)
				r.Marked = r.Marked && ev.Outcome != bulk.Cancelled
			})
			if m.view == viewDetail && m.detail.ID() == ev.ID {
				m.detail.SetAction(a, false)
			}
		}
		if ev.Outcome == bulk.Cancelled {
			m.setMark(ev.ID, false)
		}
		if ev.Err != nil {
			m.failures[ev.ID] = explain(opCancel, ev.Err, m.opts.ExplainToken, m.ctx.Keys)
		}
		if ev.Outcome == bulk.Failed || ev.Outcome == bulk.Unknown {
			b.problems = append(b.problems, bulkProblem(ev, m.failures[ev.ID]))
		}
		if ev.CompletedBeforeCancel {
			b.notes = append(b.notes, fmt.Sprintf("%s on %s: Cancelled, but a command had already completed.",
				format.TypeName(ev.Action), format.Device(ev.Action)))
		}
		m.recount()
	case bulk.Finished:
		if ev.Err != nil { // the job stopped early (a bug): say so in the report
			b.notes = append(b.notes, textsafe.Clean(ev.Err.Error()))
		}
	case bulk.Verified:
		for _, c := range ev.Changes {
			if m.inFlight[c.After.ID] || m.marked[c.After.ID] {
				continue // part of this job: not a side effect
			}
			b.notes = append(b.notes, fmt.Sprintf("Also changed on %s: %s %s → %s.", format.Device(c.After),
				format.TypeName(c.After), format.Status(c.Before.Status), format.Status(c.After.Status)))
			a := c.After
			m.updateRow(a.ID, func(r *actiontable.Row) { r.SetAction(a) })
		}
		m.recount()
	}
	if !m.quitArm { // the quit warning stays until answered
		m.msg = footerMsg{footInfo, b.progress(m.opts.Now(), m.ctx.Keys)}
	}
	return cmd
}

// progress is the one-line progress of a running job.
func (b bulkState) progress(now time.Time, k keys.KeyMap) string {
	const width = 20
	filled := 0
	if b.total > 0 {
		filled = b.done * width / b.total
	}
	bar := "[" + strings.Repeat("#", filled) + strings.Repeat("-", width-filled) + "]"
	s := fmt.Sprintf("Cancelling %d/%d %s %s", b.done, b.total, bar, b.counts())
	switch {
	case b.paused:
		s += " · PAUSED (" + keys.Name(k.PauseBulk) + " resumes)"
	case !b.until.IsZero() && now.Before(b.until) && b.throttled:
		s += fmt.Sprintf(" · throttled by the API (429): resuming in %ds", int(b.until.Sub(now).Seconds()+0.999))
	case !b.until.IsZero() && now.Before(b.until):
		s += fmt.Sprintf(" · pacing within the API's limits: next in %ds", int(b.until.Sub(now).Seconds()+0.999))
	}
	if b.paused {
		return s + " · " + keys.Name(k.StopBulk) + " stop the rest"
	}
	return s + " · " + keys.Name(k.PauseBulk) + " pause · " + keys.Name(k.StopBulk) + " stop the rest"
}

// underWay is what a stop or a quit still waits for, in words.
func (b bulkState) underWay() string {
	if b.sending {
		return "; the cancel under way finishes"
	}
	return ""
}

func (b bulkState) counts() string {
	var parts []string
	for _, o := range []struct {
		o    bulk.Outcome
		name string
	}{{bulk.Cancelled, "cancelled"}, {bulk.SkippedFinal, "already finished"}, {bulk.Failed, "failed"},
		{bulk.Unknown, "unknown"}, {bulk.Aborted, "not sent"}, {bulk.Duplicate, "duplicate"}} {
		if n := b.outcomes[o.o]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, o.name))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return strings.Join(parts, ", ")
}

func (b bulkState) summary(k keys.KeyMap) string {
	s := fmt.Sprintf("Bulk cancel finished: %s.", b.counts())
	more := "more things"
	if len(b.notes) == 1 {
		more = "more thing"
	}
	if n := b.outcomes[bulk.Failed] + b.outcomes[bulk.Unknown]; n > 0 {
		s += " Failed rows keep their mark: " + keys.Name(k.Open) + " shows why, " + keys.Name(k.Report) + " lists them; " + keys.Name(k.Cancel) + " retries them."
	}
	if len(b.notes) > 0 {
		s += fmt.Sprintf(" %d %s to know: %s shows the report.", len(b.notes), more, keys.Name(k.Report))
	}
	return s
}

// Report is the bulk cancel's report, for the report view and for after the
// program exits.
func (b bulkState) Report() []string {
	lines := []string{fmt.Sprintf("Bulk cancel of %d actions: %s.", b.total, b.counts())}
	if !b.finished {
		lines[0] = fmt.Sprintf("Bulk cancel of %d actions, stopped by quitting: %s; %d not sent.", b.total, b.counts(), b.total-b.done)
	}
	for _, p := range b.problems {
		lines = append(lines, "- "+p)
	}
	for _, n := range b.notes {
		lines = append(lines, "- "+textsafe.Clean(n))
	}
	return lines
}

// bulkProblem is one report line for an action that did not end Cancelled.
func bulkProblem(ev bulk.Event, why string) string {
	a := ev.Action
	what := format.TypeName(a) + " on " + format.Device(a) + " (" + textsafe.Clean(ev.ID) + "): "
	switch {
	case ev.Outcome == bulk.Unknown && ev.Reread && !a.Status.Final():
		return what + "UNKNOWN: the cancel's answer was lost and a re-read shows it still " + format.Status(a.Status) +
			" (not applied so far). Look at it before cancelling again."
	case ev.Outcome == bulk.Unknown:
		return what + "UNKNOWN: the cancel's answer was lost and the action could not be read again. Look at it before cancelling again."
	case why == "":
		return what + "FAILED."
	}
	return what + "FAILED: " + why
}

// running reports a bulk cancel that has not ended.
func (b *bulkState) running() bool { return b != nil && !b.finished }

// bulkKey handles the keys that steer a running job.
func (m Model) bulkKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd, bool) {
	if m.bulk == nil || m.bulk.finished || m.bulk.job == nil {
		return m, nil, false
	}
	b := *m.bulk
	m.bulk = &b
	switch {
	case key.Matches(msg, m.ctx.Keys.PauseBulk):
		if b.paused {
			b.job.Resume()
		} else {
			b.job.Pause()
		}
		return m, nil, true
	case key.Matches(msg, m.ctx.Keys.StopBulk):
		if !b.aborting {
			b.aborting = true
			b.job.Abort()
			m.msg = footerMsg{footInfo, "Stopping: no new cancel is sent" + b.underWay() + "."}
		}
		return m, nil, true
	}
	return m, nil, false
}
