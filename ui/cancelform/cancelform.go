// Package cancelform is the two steps before a cancel is sent: a required
// comment, then a confirmation that names what will be cancelled and
// defaults to No. For more than TypedConfirmFrom actions the confirmation
// asks for their number to be typed.
package cancelform

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/mde/textsafe"
	"github.com/mdeactions/mdeactions/ui/common"
	"github.com/mdeactions/mdeactions/ui/format"
)

// MaxComment is the longest comment accepted, in characters.
const MaxComment = 1000

// TypedConfirmFrom is the number of actions from which the confirmation
// asks for the count to be typed rather than a single y.
const TypedConfirmFrom = 11

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
	Confirmed                // the user confirmed; Comment() is the trimmed comment
)

// Model is the form.
type Model struct {
	ctx     *common.Context
	actions []mde.MachineAction
	stage   Stage
	input   textinput.Model // the comment
	count   textinput.Model // the typed count, for many actions
	hint    string
	hidden  int
	tenant  string
}

// New opens the form for one or more actions, with a draft comment kept
// from an earlier try.
func New(ctx *common.Context, actions []mde.MachineAction, draft string) (Model, tea.Cmd) {
	m := Model{ctx: ctx, actions: actions, input: newInput(MaxComment), count: newInput(7)}
	m.input.Placeholder = "why you cancel (goes into each action's record)"
	m.SetWidth(ctx.Width) // before the value, so a long draft scrolls right
	m.input.SetValue(draft)
	m.input.CursorEnd()
	return m, m.input.Focus()
}

func newInput(limit int) textinput.Model {
	in := textinput.New()
	in.Prompt = "> "
	in.CharLimit = limit
	styles := in.Styles()
	styles.Cursor.Blink = false // no idle redraws over SSH
	in.SetStyles(styles)
	return in
}

// Stage is the current stage.
func (m Model) Stage() Stage { return m.stage }

// Actions are the actions the form is about.
func (m Model) Actions() []mde.MachineAction { return m.actions }

// Comment is the comment typed so far, trimmed and cleaned of control
// characters and bidi overrides (it goes into the action's record and is
// shown back to others).
func (m Model) Comment() string { return strings.TrimSpace(textsafe.Clean(m.input.Value())) }

// SetWidth fits the inputs to the dialog.
func (m *Model) SetWidth(w int) {
	m.input.SetWidth(max(w-8, 10))
	m.count.SetWidth(10)
}

func (m Model) typed() bool { return len(m.actions) >= TypedConfirmFrom }

// Update handles a key or a paste.
func (m Model) Update(msg tea.Msg) (Model, Outcome, tea.Cmd) {
	k, isKey := msg.(tea.KeyPressMsg)
	switch m.stage {
	case StageComment:
		if isKey {
			switch k.String() {
			case "esc":
				return m, Aborted, nil
			case "enter":
				if m.Comment() == "" {
					m.hint = "A comment is required: say why this is cancelled."
					return m, Continue, nil
				}
				m.hint = ""
				m.stage = StageConfirm
				m.input.Blur()
				if m.typed() {
					m.count.SetValue("")
					return m, Continue, m.count.Focus()
				}
				return m, Continue, nil
			}
		}
		if p, ok := msg.(tea.PasteMsg); ok {
			// A paste is cleaned before it reaches the input (escape
			// sequences, control characters, bidi controls; line breaks
			// become spaces) and cut to what the input can hold, so a
			// 100 KB paste costs nothing.
			p.Content = textsafe.Cap(textsafe.Clean(p.Content), MaxComment)
			msg = p
		}
		var cmd tea.Cmd
		m.input, cmd = m.input.Update(msg)
		if v := m.input.Value(); textsafe.Clean(v) != v {
			// Typed (not pasted) controls: drop them too.
			m.input.SetValue(textsafe.Clean(v))
			m.input.CursorEnd()
		}
		if m.Comment() != "" {
			m.hint = ""
		}
		return m, Continue, cmd
	case StageConfirm:
		if isKey && k.String() == "esc" {
			// One step back: edit the comment again.
			m.stage, m.hint = StageComment, ""
			m.count.Blur()
			return m, Continue, m.input.Focus()
		}
		if m.typed() {
			if isKey && k.String() == "enter" {
				if strings.TrimSpace(m.count.Value()) == strconv.Itoa(len(m.actions)) {
					return m, Confirmed, nil
				}
				m.hint = fmt.Sprintf("Type %d, the number of actions, to cancel them; esc goes back.", len(m.actions))
				return m, Continue, nil
			}
			var cmd tea.Cmd
			m.count, cmd = m.count.Update(msg)
			return m, Continue, cmd
		}
		if !isKey {
			return m, Continue, nil
		}
		switch k.String() {
		case "y", "Y":
			return m, Confirmed, nil
		default:
			// No is the default: enter, n and any other key abort.
			return m, Aborted, nil
		}
	}
	return m, Continue, nil
}

// Hidden is how many marked actions a filter hides; the form says they are
// not included.
func (m *Model) SetHidden(n int) { m.hidden = n }

// SetTenant names the tenant the cancel goes to (the all-profiles view): the
// title and the question say it.
func (m *Model) SetTenant(name string) { m.tenant = name }

// Height is how many lines View takes.
func (m Model) Height() int { return strings.Count(m.View(), "\n") + 1 }

// View draws the dialog.
func (m Model) View() string {
	st := m.ctx.Styles
	inner := max(m.ctx.Width-4, 20)
	fit := func(s string) string { return format.Fit(s, inner) }
	title, about, question := m.describe()
	if m.tenant != "" {
		in := " in tenant " + m.tenant
		title += in
		question = strings.TrimSuffix(question, "?") + in + "?"
	}
	lines := []string{st.DialogTitle.Render(fit(title))}
	// The types of many actions wrap rather than lose the rarest (often
	// the riskiest, such as an Offboard) at the end of a cut line.
	if len(m.actions) == 1 {
		lines = append(lines, fit(about))
	} else {
		for _, l := range strings.Split(lipgloss.NewStyle().Width(inner).Render(about), "\n") {
			lines = append(lines, fit(strings.TrimRight(l, " ")))
		}
	}
	if m.hidden > 0 {
		hidden := fmt.Sprintf("%d more marked actions are hidden by the filter or search: not included.", m.hidden)
		if m.hidden == 1 {
			hidden = "1 more marked action is hidden by the filter or search: not included."
		}
		lines = append(lines, st.Error.Render(fit(hidden)))
	}
	switch m.stage {
	case StageComment:
		label := "Comment (required, up to 1000 characters):"
		if n := len([]rune(m.input.Value())); n >= MaxComment {
			label = "Comment (required; cut at the 1000-character limit):"
		}
		lines = append(lines, fit(label), m.input.View())
		if m.hint != "" {
			lines = append(lines, st.Error.Render(fit(m.hint)))
		} else {
			lines = append(lines, st.Muted.Render(fit("enter: next · esc: back without cancelling")))
		}
	case StageConfirm:
		lines = append(lines, fit("Comment: "+m.Comment()))
		if m.typed() {
			for _, l := range strings.Split(lipgloss.NewStyle().Width(inner).Render(question), "\n") {
				lines = append(lines, st.Error.Render(fit(strings.TrimRight(l, " "))))
			}
			input := "Type " + strconv.Itoa(len(m.actions)) + " and press enter " + m.count.View()
			if m.hint != "" {
				input += "  " + st.Error.Render(m.hint)
			} else {
				input += "  " + st.Muted.Render("esc: edit comment")
			}
			lines = append(lines, format.Fit(input, inner))
		} else {
			for _, l := range strings.Split(lipgloss.NewStyle().Width(inner).Render(question+" [y/N]"), "\n") {
				lines = append(lines, st.Error.Render(fit(strings.TrimRight(l, " "))))
			}
			lines = append(lines, st.Muted.Render(fit("y: yes, cancel · any other key: no · esc: edit comment")))
		}
	}
	return st.Dialog.Width(inner + 4).Render(strings.Join(lines, "\n"))
}

// describe returns the title, the line about the action(s), and the
// question, naming the action and device for one, counts and types for many.
func (m Model) describe() (title, about, question string) {
	if len(m.actions) == 1 {
		a := m.actions[0]
		device := format.Device(a)
		requestor := textsafe.Clean(a.Requestor)
		if requestor == "" {
			requestor = "(unknown)"
		}
		age := format.Age(m.ctx.Now(), a.CreationDateTimeUtc) + " ago"
		if a.CreationDateTimeUtc.IsZero() {
			age = "at an unknown time"
		}
		return "Cancel " + format.TypeName(a) + " on " + device,
			"id " + textsafe.Clean(a.ID) + " · " + format.Status(a.Status) + " · requested by " + requestor + ", " + age,
			"Cancel " + format.TypeName(a) + " on " + device + "?"
	}
	types := map[string]int{}
	devices := map[string]bool{}
	for _, a := range m.actions {
		types[format.TypeLabel(a.Type)]++
		devices[format.Device(a)] = true
	}
	names := make([]string, 0, len(types))
	for t := range types {
		names = append(names, t)
	}
	sort.Slice(names, func(i, j int) bool {
		if types[names[i]] != types[names[j]] {
			return types[names[i]] > types[names[j]]
		}
		return names[i] < names[j]
	})
	parts := make([]string, len(names))
	for i, t := range names {
		parts[i] = fmt.Sprintf("%d %s", types[t], t)
	}
	n := len(m.actions)
	devs := "devices"
	if len(devices) == 1 {
		devs = "device"
	}
	return fmt.Sprintf("Cancel %d actions on %d %s", n, len(devices), devs),
		strings.Join(parts, ", "),
		fmt.Sprintf("Cancel these %d actions?", n)
}
