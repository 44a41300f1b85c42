package ui

import (
	"context"
	"errors"
	"strings"

	tea "charm.land/bubbletea/v2"
	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/mde/audit"
	"github.com/mdeactions/mdeactions/mde/textsafe"
	"github.com/mdeactions/mdeactions/ui/actiontable"
	"github.com/mdeactions/mdeactions/ui/format"
)

// A cancel whose answer was lost (a reset, a time-out, an unreadable
// answer, a gateway's 5xx) may have been applied. It is never sent again
// blindly: the action is re-read, and the footer says what really
// happened. Until the re-read answers, the action counts as in flight, so
// that c cannot send it a second time.

// rereadMsg is the re-read of an action after a cancel with no sure answer.
type rereadMsg struct {
	id, comment string
	cause       error // the cancel's error
	action      mde.MachineAction
	found       bool
	err         error
}

// outcomeUnknown reports whether a cancel's error leaves its outcome open.
func outcomeUnknown(err error) bool {
	return !errors.Is(err, audit.ErrAuditUnavailable) && mde.OutcomeUnknown(err)
}

func (m Model) rereadCmd(id, comment string, cause error) tea.Cmd {
	svc, timeout := m.serviceFor(id), m.opts.Timeout
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		msg := rereadMsg{id: id, comment: comment, cause: cause}
		got, err := svc.List(ctx, mde.Query{IDs: []string{id}})
		msg.err = err
		for _, a := range got {
			if strings.EqualFold(a.ID, id) {
				msg.action, msg.found = a, true
			}
		}
		return msg
	}
}

func (m Model) onReread(msg rereadMsg) (Model, tea.Cmd) {
	delete(m.inFlight, msg.id)
	m.setBusy(msg.id, false)
	lost := "The cancel's answer was lost (" + explain(opCancel, msg.cause, m.opts.ExplainToken) + ")"
	switch {
	case msg.err != nil || !msg.found:
		why := "the API does not list it"
		if msg.err != nil {
			why = explain(opList, msg.err, m.opts.ExplainToken)
		}
		m.msg = footerMsg{footErr, lost + " and re-reading the action failed: " + why + " It may or may not be cancelled: press r and look before pressing c again. Your comment is kept."}
		return m, nil
	case msg.action.Status == mde.StatusCancelled:
		delete(m.drafts, msg.id)
		a := msg.action
		m.known[a.ID] = a
		m.updateRow(msg.id, func(r *actiontable.Row) {
			r.SetAction(a)
			r.Busy, r.Marked = false, false
		})
		if m.view == viewDetail && m.detail.ID() == msg.id {
			m.detail.SetAction(a, false)
		}
		m.recount()
		who := ""
		if a.CancellationRequestor != "" {
			who = " by " + textsafe.Clean(a.CancellationRequestor)
		}
		m.msg = footerMsg{footOK, lost + ", but re-reading shows it went through: " + format.TypeName(a) + " on " + format.Device(a) + " is Cancelled" + who + "."}
		return m, m.verifyCmd(a)
	default:
		a := msg.action
		m.updateRow(msg.id, func(r *actiontable.Row) {
			r.SetAction(a)
			r.Busy = false
		})
		m.recount()
		m.msg = footerMsg{footErr, lost + ". Re-reading shows it is " + format.Status(a.Status) + ": the cancel was not applied. Your comment is kept: press c to try again."}
		return m, nil
	}
}
