package ui

import (
	"context"

	tea "charm.land/bubbletea/v2"

	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/ui/actiontable"
	"github.com/mdeactions/mdeactions/ui/format"
)

// The detail view stays open across refreshes. When a refresh no longer
// lists its action (it finished, was cancelled elsewhere, or the filter
// now leaves it out), the view says so and the action is read again by
// id, so what it shows, and what c would act on, is not a stale Pending.

// detailReadMsg is the answer to reading the detail view's action again.
type detailReadMsg struct {
	id     string
	action mde.MachineAction
	found  bool
	err    error
}

// refreshDetail puts the detail view's action from the new rows in the
// view, or notes that it is no longer listed.
func (m *Model) refreshDetail(rows []actiontable.Row) {
	id := m.detail.ID()
	for _, r := range rows {
		if r.Action.ID == id {
			m.detail.SetAction(*r.Action, r.Busy)
			m.detail.SetNote("")
			return
		}
	}
	if m.detail.Action().Status.Final() {
		return // nothing more will change: it was read after it finished
	}
	m.detailLost = id
	m.detail.SetNote("No longer in the list as of " + m.opts.Now().Local().Format("15:04:05") + ": reading it again…")
}

// readLostDetail reads the detail view's action again if the last refresh
// lost it.
func (m *Model) readLostDetail() tea.Cmd {
	id := m.detailLost
	if id == "" {
		return nil
	}
	m.detailLost = ""
	svc, timeout := m.serviceFor(id), m.opts.Timeout
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		msg := detailReadMsg{id: id}
		msg.action, msg.found, msg.err = readAction(ctx, svc, id)
		return msg
	}
}

func (m Model) onDetailRead(msg detailReadMsg) Model {
	if m.view != viewDetail || m.detail.ID() != msg.id {
		return m // the user has moved on
	}
	at := m.opts.Now().Local().Format("15:04:05")
	switch {
	case msg.err != nil:
		m.detail.SetNote("No longer in the list. " + explain(opRead, msg.err, m.opts.ExplainToken, m.ctx.Keys) +
			" What is shown below is from when it was last listed.")
	case !msg.found:
		m.detail.SetNote("No longer in the list, and the API no longer returns it (read at " + at + "). What is shown below is from when it was last listed.")
	case msg.action.Status.Final():
		m.detail.SetAction(msg.action, m.inFlight[msg.id])
		m.detail.SetNote("No longer in the list: read again at " + at + ", it is now " + format.Status(msg.action.Status) + ". There is nothing to cancel.")
	default:
		m.detail.SetAction(msg.action, m.inFlight[msg.id])
		m.detail.SetNote("Not in the list with the current filter: read again at " + at + ", it is still " + format.Status(msg.action.Status) + ".")
	}
	return m
}
