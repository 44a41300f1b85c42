// Package cancelform is the two steps before a cancel is sent: a required
// comment, then a confirmation that names the action and the device and
// defaults to No.
package cancelform

import (
	"strings"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/ui/common"
	"github.com/mdeactions/mdeactions/ui/format"
	"github.com/mdeactions/mdeactions/ui/textsafe"
)

// MaxComment is the longest comment accepted, in characters.
const MaxComment = 1000

// Stage is where the form is.
type Stage int

// The two stages.
const (
	StageComment Stage = iota
	StageConfirm
)

// Outcome is what a key did to the form.
type Outcome int

// Outcomes of Update.
const (
	Continue  Outcome = iota // still open
	Aborted                  // closed without cancelling; Comment() is the draft
	Confirmed                // the user pressed y; Comment() is the trimmed comment
)

// Model is the form.
type Model struct {
	ctx    *common.Context
	action mde.MachineAction
	stage  Stage
	input  textinput.Model
	hint   string
}

// New opens the form for a, with a draft comment kept from an earlier try.
func New(ctx *common.Context, a mde.MachineAction, draft string) (Model, tea.Cmd) {
	in := textinput.New()
	in.Prompt = "> "
	in.Placeholder = "why you cancel it (goes into the action's record)"
	in.CharLimit = MaxComment
	styles := in.Styles()
	styles.Cursor.Blink = false // no idle redraws over SSH
	in.SetStyles(styles)
	m := Model{ctx: ctx, action: a, input: in}
	m.SetWidth(ctx.Width) // before the value, so a long draft scrolls right
	m.input.SetValue(draft)
	m.input.CursorEnd()
	return m, m.input.Focus()
}

// Stage is the current stage.
func (m Model) Stage() Stage { return m.stage }

// Action is the action the form is about.
func (m Model) Action() mde.MachineAction { return m.action }

// Comment is the comment typed so far, trimmed and cleaned of control
// characters and bidi overrides (it goes into the action's record and is
// shown back to others).
func (m Model) Comment() string { return strings.TrimSpace(textsafe.Clean(m.input.Value())) }

// SetWidth fits the input to the dialog.
func (m *Model) SetWidth(w int) {
	m.input.SetWidth(max(w-8, 10))
}

// Update handles a key or a paste.
func (m Model) Update(msg tea.Msg) (Model, Outcome, tea.Cmd) {
	switch m.stage {
	case StageComment:
		if k, ok := msg.(tea.KeyPressMsg); ok {
			switch k.String() {
			case "esc", "ctrl+c":
				return m, Aborted, nil
			case "enter":
				if m.Comment() == "" {
					m.hint = "A comment is required: say why this action is cancelled."
					return m, Continue, nil
				}
				m.hint = ""
				m.stage = StageConfirm
				m.input.Blur()
				return m, Continue, nil
			}
		}
		var cmd tea.Cmd
		m.input, cmd = m.input.Update(msg)
		if m.Comment() != "" {
			m.hint = ""
		}
		return m, Continue, cmd
	case StageConfirm:
		k, ok := msg.(tea.KeyPressMsg)
		if !ok {
			return m, Continue, nil
		}
		switch k.String() {
		case "y", "Y":
			return m, Confirmed, nil
		case "esc":
			// One step back: edit the comment again.
			m.stage = StageComment
			return m, Continue, m.input.Focus()
		default:
			// No is the default: enter, n and any other key abort.
			return m, Aborted, nil
		}
	}
	return m, Continue, nil
}

// View draws the dialog, width cells wide.
func (m Model) View() string {
	st := m.ctx.Styles
	a := m.action
	inner := max(m.ctx.Width-4, 20)
	fit := func(s string) string { return format.Fit(s, inner) }
	device := format.Device(a)
	name := format.TypeName(a)
	var lines []string
	lines = append(lines, st.DialogTitle.Render(fit("Cancel "+name+" on "+device)))
	requestor := textsafe.Clean(a.Requestor)
	if requestor == "" {
		requestor = "(unknown)"
	}
	age := format.Age(m.ctx.Now(), a.CreationDateTimeUtc) + " ago"
	if a.CreationDateTimeUtc.IsZero() {
		age = "at an unknown time"
	}
	lines = append(lines, fit("id "+textsafe.Clean(a.ID)+" · "+format.Status(a.Status)+" · requested by "+requestor+", "+age))
	switch m.stage {
	case StageComment:
		label := "Comment (required, up to 1000 characters):"
		if n := len([]rune(m.input.Value())); n >= MaxComment {
			label = "Comment (required; cut at the 1000-character limit):"
		}
		lines = append(lines, fit(label))
		lines = append(lines, m.input.View())
		if m.hint != "" {
			lines = append(lines, st.Error.Render(fit(m.hint)))
		} else {
			lines = append(lines, st.Muted.Render(fit("enter: next · esc: back without cancelling")))
		}
	case StageConfirm:
		lines = append(lines, fit("Comment: "+m.Comment()))
		lines = append(lines, st.Error.Render(fit("Cancel "+format.TypeName(a)+" on "+device+"? [y/N]")))
		lines = append(lines, st.Muted.Render(fit("y: yes, cancel it · any other key: no · esc: edit comment")))
	}
	return st.Dialog.Width(inner + 4).Render(strings.Join(lines, "\n"))
}
