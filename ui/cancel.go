package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"
	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/mde/audit"
	"github.com/mdeactions/mdeactions/mde/textsafe"
	"github.com/mdeactions/mdeactions/ui/actiontable"
	"github.com/mdeactions/mdeactions/ui/cancelform"
	"github.com/mdeactions/mdeactions/ui/format"
	"github.com/mdeactions/mdeactions/ui/keys"
)

// Cancelling one action: the target, the form, the call, its result and
// the re-read of the device.

func (m Model) cancelCmd(id, comment string) tea.Cmd {
	svc, timeout := m.serviceFor(id), m.opts.Timeout
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		a, err := svc.Cancel(ctx, id, comment)
		return cancelledMsg{id: id, comment: comment, action: a, err: err}
	}
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
				actions = append(actions, *r.Action)
			}
		}
		if len(actions) == 0 {
			m.msg = footerMsg{footInfo, "Every marked action is already finished: nothing to cancel. u clears the marks."}
			return m, nil
		}
		if why := m.tenantRefuses(actions); why != "" {
			m.msg = footerMsg{footErr, why}
			return m, nil
		}
		f, cmd := cancelform.New(m.ctx, actions, m.drafts[bulkDraft])
		f.SetHidden(m.hiddenMarks())
		f.SetTenant(m.tenantName(actions[0].ID))
		m.form = &f
		m.msg = footerMsg{}
		return m, cmd
	}
	r, ok := m.target()
	if !ok {
		m.msg = footerMsg{footInfo, "Nothing selected: there is no action to cancel."}
		return m, nil
	}
	a := *r.Action
	if why := m.tenantRefuses([]mde.MachineAction{a}); why != "" {
		m.msg = footerMsg{footErr, why}
		return m, nil
	}
	if m.inFlight[a.ID] {
		m.msg = footerMsg{footInfo, "A cancel of this action is already waiting for the API's answer."}
		return m, nil
	}
	if a.Status.Final() {
		m.msg = footerMsg{footInfo, fmt.Sprintf("This action is already %s: there is nothing to cancel.", format.Status(a.Status))}
		return m, nil
	}
	f, cmd := cancelform.New(m.ctx, []mde.MachineAction{a}, m.drafts[a.ID])
	f.SetTenant(m.tenantName(a.ID))
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

// setQueued marks an action waiting its turn in a bulk cancel (its row
// says Queued; Cancelling once its call goes out).
func (m *Model) setQueued(id string, queued bool) {
	if queued {
		m.queued[id] = true
	} else {
		delete(m.queued, id)
	}
	m.table.UpdateRow(id, func(r *actiontable.Row) { r.Queued = queued })
}

func (m *Model) setBusy(id string, busy bool) {
	m.table.UpdateRow(id, func(r *actiontable.Row) { r.Busy = busy })
	if m.view == viewDetail && m.detail.ID() == id {
		m.detail.SetAction(m.detail.Action(), busy)
	}
}

func (m Model) onCancelled(msg cancelledMsg) (Model, tea.Cmd) {
	m.quitArm = false
	if msg.err != nil && outcomeUnknown(msg.err) && !errors.Is(msg.err, audit.ErrOutcomeUnrecorded) {
		// Still in flight until the re-read says what happened.
		m.msg = footerMsg{footInfo, "No sure answer to the cancel: re-reading the action to see whether it went through…"}
		return m, m.rereadCmd(msg.id, msg.comment, msg.err)
	}
	if refusedAsFinal(msg.err) {
		// Usually it finished, or someone cancelled it, after the list was
		// read: read it again so the row and the footer say which.
		m.msg = footerMsg{footInfo, "The API refused the cancel (400): reading the action again to see why…"}
		return m, m.rereadCmd(msg.id, msg.comment, msg.err)
	}
	delete(m.inFlight, msg.id)
	m.setBusy(msg.id, false)
	auditLost := ""
	if msg.err != nil && errors.Is(msg.err, audit.ErrOutcomeUnrecorded) && msg.action.ID != "" {
		// The cancel went through; only its outcome line is missing.
		auditLost = " The audit trail could not record the outcome: " + textsafe.Clean(msg.err.Error())
		msg.err = nil
	}
	if msg.err != nil {
		retry := " Your comment is kept (press " + keys.Name(m.ctx.Keys.Cancel) + " to retry)."
		if errors.Is(msg.err, mde.ErrReadOnly) || keys.Name(m.ctx.Keys.Cancel) == "" {
			retry = "" // nothing to retry here
		}
		m.failures[msg.id] = explain(opCancel, msg.err, m.opts.ExplainToken, m.ctx.Keys)
		m.msg = footerMsg{footErr, m.failures[msg.id] + retry}
		return m, nil
	}
	delete(m.drafts, msg.id)
	a := msg.action
	if a.ID == "" {
		a.ID = msg.id
	}
	if a.ID != msg.id {
		m.msg = footerMsg{footErr, "The API answered the cancel of " + textsafe.Clean(msg.id) + " with another action (" +
			textsafe.Clean(a.ID) + "). Press " + keys.Name(m.ctx.Keys.Refresh) + " to see the real state."}
		return m, nil
	}
	m.applyAnswer(msg.id, a)
	if a.Status == mde.StatusCancelled {
		m.msg = footerMsg{footOK, "Cancelled " + format.TypeName(a) + " on " + format.Device(a) + cancelledBy(a) + "."}
		if a.CompletedBeforeCancel() {
			m.msg = footerMsg{footErr, m.msg.text + " But a command had already completed before the cancel: check its result."}
		}
	} else {
		m.msg = footerMsg{footErr, "Cancel sent, but the API says the action is now " + format.Status(a.Status) + ". Press " + keys.Name(m.ctx.Keys.Refresh) + " to refresh."}
	}
	if auditLost != "" {
		m.msg = footerMsg{footErr, m.msg.text + auditLost}
	}
	return m, m.verifyCmd(a)
}

// applyAnswer puts the entity that a cancel of id (or the re-read after
// it) returned into its row and the detail view: it is the newest state of
// the action, and no list read before it may put an older one back.
func (m *Model) applyAnswer(id string, a mde.MachineAction) {
	delete(m.failures, id) // its last cancel is this one now
	m.known[a.ID] = a
	m.updateRow(id, func(r *actiontable.Row) {
		r.SetAction(a)
		r.Busy, r.Marked = false, false
	})
	if m.view == viewDetail && m.detail.ID() == id {
		m.detail.SetAction(a, false)
	}
	m.recount()
}

// cancelledBy is " by WHO" when the entity names who cancelled it.
func cancelledBy(a mde.MachineAction) string {
	if a.CancellationRequestor() == "" {
		return ""
	}
	return " by " + textsafe.Clean(a.CancellationRequestor())
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
	ti, _ := m.owner(a.ID)
	for _, r := range m.table.Rows() {
		if r.Action.MachineID == a.MachineID && r.Action.ID != a.ID && r.Src == ti {
			before[r.Action.ID] = *r.Action
		}
	}
	if len(before) == 0 {
		return nil
	}
	svc, timeout, machine, device := m.serviceFor(a.ID), m.opts.Timeout, a.MachineID, format.Device(a)
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
			m.updateRow(a.ID, func(r *actiontable.Row) { r.SetAction(a) })
		}
	}
	if len(changes) > 0 {
		m.recount()
		m.msg = footerMsg{footErr, m.msg.text + " Also changed on " + msg.device + ": " + strings.Join(changes, ", ") + "."}
	}
	return m
}
