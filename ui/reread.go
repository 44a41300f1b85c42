package ui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	tea "charm.land/bubbletea/v2"
	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/mde/audit"
	"github.com/mdeactions/mdeactions/ui/actiontable"
	"github.com/mdeactions/mdeactions/ui/format"
	"github.com/mdeactions/mdeactions/ui/keys"
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
		msg.action, msg.found, msg.err = readAction(ctx, svc, id)
		return msg
	}
}

// readAction reads one action by id; found is false when the API does not
// list it.
func readAction(ctx context.Context, svc ActionService, id string) (a mde.MachineAction, found bool, err error) {
	got, err := svc.List(ctx, mde.Query{IDs: []string{id}})
	for _, g := range got {
		if strings.EqualFold(g.ID, id) {
			a, found = g, true
		}
	}
	return a, found, err
}

// lostReason says in a few words why a cancel got no sure answer.
func lostReason(err error) string {
	var netErr net.Error
	switch e, isAPI := mde.AsAPIError(err); {
	case isAPI && e.StatusCode >= 500:
		return fmt.Sprintf("the Defender API had an error (%d)", e.StatusCode)
	case isAPI:
		return fmt.Sprintf("the API answered %d", e.StatusCode)
	case errors.Is(err, mde.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return "timed out: no answer in time"
	case errors.Is(err, mde.ErrBadAnswer):
		return "the answer could not be read"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the connection was cut"
	case errors.As(err, &netErr):
		return "network error"
	}
	return "no readable answer"
}

// refusedAsFinal reports a cancel the API refused with 400, which it does
// for an action already in a final state.
func refusedAsFinal(err error) bool {
	e, ok := mde.AsAPIError(err)
	return ok && e.StatusCode == 400
}

func (m Model) onReread(msg rereadMsg) (Model, tea.Cmd) {
	delete(m.inFlight, msg.id)
	m.setBusy(msg.id, false)
	if refusedAsFinal(msg.cause) {
		return m.onRefusedReread(msg), nil
	}
	lost := "the cancel's answer was lost (" + lostReason(msg.cause) + ")"
	switch {
	case msg.err != nil || !msg.found:
		why := "the API does not list it"
		if msg.err != nil {
			why = lostReason(msg.err)
		}
		m.msg = footerMsg{footErr, "Unknown: " + lost + " and re-reading the action failed (" + why + "). Press " + keys.Name(m.ctx.Keys.Refresh) + " and look before pressing " + keys.Name(m.ctx.Keys.Cancel) + " again; your comment is kept."}
		return m, nil
	case msg.action.Status == mde.StatusCancelled:
		delete(m.drafts, msg.id)
		a := msg.action
		m.applyAnswer(msg.id, a)
		m.msg = footerMsg{footOK, "Cancelled " + format.TypeName(a) + " on " + format.Device(a) + cancelledBy(a) + ": " + lost + ", a re-read shows it went through."}
		return m, m.verifyCmd(a)
	default:
		a := msg.action
		m.updateRow(msg.id, func(r *actiontable.Row) {
			r.SetAction(a)
			r.Busy = false
		})
		m.recount()
		m.msg = footerMsg{footErr, "Not cancelled: " + lost + " and a re-read shows " + format.TypeName(a) + " on " + format.Device(a) + " still " + format.Status(a.Status) + ". Your comment is kept: press " + keys.Name(m.ctx.Keys.Cancel) + " to try again."}
		return m, nil
	}
}

// onRefusedReread says what a re-read after a 400 found: the action as it
// is now goes into its row, and the footer says why the cancel was refused.
func (m Model) onRefusedReread(msg rereadMsg) Model {
	refused := explain(opCancel, msg.cause, m.opts.ExplainToken, m.ctx.Keys)
	a := msg.action
	if msg.err == nil && msg.found { // the re-read has answered what refreshing would
		refused = strings.TrimSuffix(refused, " Press "+keys.Name(m.ctx.Keys.Refresh)+" to refresh: it may have finished already.")
	}
	switch {
	case msg.err != nil || !msg.found:
		m.msg = footerMsg{footErr, refused + " Your comment is kept."}
	case a.Status.Final():
		delete(m.drafts, msg.id)
		m.applyAnswer(msg.id, a)
		by := ""
		if a.Status == mde.StatusCancelled {
			by = cancelledBy(a)
		}
		m.msg = footerMsg{footInfo, "Nothing to cancel: " + format.TypeName(a) + " on " + format.Device(a) + " is already " +
			format.Status(a.Status) + by + " (the API refused the cancel with 400)."}
	default:
		m.applyAnswer(msg.id, a)
		m.msg = footerMsg{footErr, refused + " A re-read shows it still " + format.Status(a.Status) + ". Your comment is kept: press " +
			keys.Name(m.ctx.Keys.Cancel) + " to try again."}
	}
	return m
}
