// Package detail shows every field of one machine action, scrollable.
package detail

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/mde/textsafe"
	"github.com/mdeactions/mdeactions/ui/common"
	"github.com/mdeactions/mdeactions/ui/format"
)

// Model is the detail view of one action.
type Model struct {
	ctx    *common.Context
	action mde.MachineAction
	busy   bool
	note   string // why what is shown may be out of date, in words
	offset int
	width  int
	height int
	// lines is the wrapped text, built when the action or the width
	// changes, never per keystroke.
	lines []string
}

// New returns the detail view of a.
func New(ctx *common.Context, a mde.MachineAction) Model {
	m := Model{ctx: ctx, action: a}
	m.build()
	return m
}

// ID is the id of the action shown.
func (m Model) ID() string { return m.action.ID }

// Action is the action shown.
func (m Model) Action() mde.MachineAction { return m.action }

// SetAction replaces the action shown (after a cancel or a refresh).
func (m *Model) SetAction(a mde.MachineAction, busy bool) {
	m.action = a
	m.busy = busy
	m.build()
	m.clamp()
}

// SetNote puts a line above the fields, e.g. that the action is no longer
// listed; "" removes it.
func (m *Model) SetNote(note string) {
	m.note = note
	m.build()
	m.clamp()
}

// Note is the line above the fields.
func (m Model) Note() string { return m.note }

// SetSize sets the size of the view.
func (m *Model) SetSize(width, height int) {
	if width != m.width {
		m.width = width
		m.build()
	}
	m.height = height
	m.clamp()
}

// Update scrolls.
func (m Model) Update(msg tea.KeyPressMsg) (Model, bool) {
	k := m.ctx.Keys
	switch {
	case key.Matches(msg, k.Up):
		m.offset--
	case key.Matches(msg, k.Down):
		m.offset++
	case key.Matches(msg, k.PageUp, k.HalfUp):
		m.offset -= max(m.height-1, 1)
	case key.Matches(msg, k.PageDown, k.HalfDown):
		m.offset += max(m.height-1, 1)
	case key.Matches(msg, k.Top):
		m.offset = 0
	case key.Matches(msg, k.Bottom):
		m.offset = len(m.lines)
	default:
		return m, false
	}
	m.clamp()
	return m, true
}

func (m *Model) clamp() {
	m.offset = min(m.offset, max(len(m.lines)-m.height, 0))
	m.offset = max(m.offset, 0)
}

type field struct{ name, value string }

func (m Model) fields() []field {
	a := m.action
	now := m.ctx.Now()
	opt := func(s string) string {
		if s == "" {
			return "(none)"
		}
		return textsafe.Clean(s)
	}
	status := format.Status(a.Status)
	if m.busy {
		status += "  (cancel in flight)"
	}
	if a.CompletedBeforeCancel() {
		status += "  (a command completed before the cancel)"
	}
	fileInfo := "(none)"
	if a.RelatedFileInfo() != nil {
		fileInfo = textsafe.Clean(a.RelatedFileInfo().FileIdentifierType) + " " + textsafe.Clean(a.RelatedFileInfo().FileIdentifier)
	}
	troubleshoot := "(none)"
	if len(a.TroubleshootInfo()) > 0 {
		troubleshoot = textsafe.Clean(string(a.TroubleshootInfo()))
	}
	fs := []field{
		{"id", opt(a.ID)},
		{"type", opt(string(a.Type))},
		{"scope", opt(string(a.Scope))},
		{"status", status},
		{"title", opt(a.Title)},
		{"computerDnsName", opt(a.ComputerDNSName)},
		{"machineId", opt(a.MachineID)},
		{"requestor", opt(a.Requestor)},
		{"requestorComment", opt(a.RequestorComment)},
		{"requestSource", opt(string(a.RequestSource))},
		{"creationDateTimeUtc", format.Time(now, a.CreationDateTimeUtc)},
		{"lastUpdateDateTimeUtc", format.Time(now, a.LastUpdateDateTimeUtc)},
		{"cancellationRequestor", opt(a.CancellationRequestor())},
		{"cancellationComment", opt(a.CancellationComment())},
		{"cancellationDateTimeUtc", format.Time(now, a.CancellationDateTimeUtc())},
		{"errorHResult", fmt.Sprintf("%d", a.ErrorHResult())},
		{"externalId", opt(a.ExternalID())},
		{"relatedFileInfo", fileInfo},
		{"troubleshootInfo", troubleshoot},
		{"commands", fmt.Sprintf("%d", len(a.Commands()))},
	}
	if len(a.Unreadable()) > 0 {
		names := make([]string, len(a.Unreadable()))
		for i, n := range a.Unreadable() {
			names[i] = textsafe.Clean(n) // each alone: an escape in one must not swallow the next
		}
		fs = append(fs, field{"unreadable fields", strings.Join(names, ", ") + " (wrong type in the API's answer)"})
	}
	return fs
}

const labelW = 25

// maxField is the most of one field the view shows; a longer value (a
// hostile or broken API can send megabytes) is cut with a note.
const maxField = 4000

// maxCommands is the most live response commands the view lists.
const maxCommands = 100

func capField(s string) string {
	if len(s) <= maxField {
		return s
	}
	r := []rune(s)
	if len(r) <= maxField {
		return s
	}
	return string(r[:maxField]) + fmt.Sprintf(" … (%d more characters not shown)", len(r)-maxField)
}

func (m *Model) build() {
	if m.ctx == nil || m.width <= 0 {
		m.lines = nil
		return
	}
	m.lines = m.render()
}

// render returns the view's lines before scrolling, wrapped to the width.
func (m Model) render() []string {
	st := m.ctx.Styles
	valueW := max(m.width-labelW-1, 10)
	var out []string
	if m.note != "" {
		for _, l := range wrap(m.note, max(m.width, 10)) {
			out = append(out, st.Error.Render(l))
		}
		out = append(out, "")
	}
	for _, f := range m.fields() {
		wrapped := wrap(capField(f.value), valueW)
		for i, w := range wrapped {
			label := ""
			if i == 0 {
				label = f.name
			}
			out = append(out, st.Label.Render(format.Fit(label, labelW))+" "+w)
		}
	}
	now := m.ctx.Now()
	cmds := m.action.Commands()
	if len(cmds) > maxCommands {
		cmds = cmds[:maxCommands]
	}
	for _, c := range cmds {
		var params []string
		for _, p := range c.Command.Params {
			params = append(params, textsafe.Clean(p.Key)+"="+textsafe.Clean(p.Value))
		}
		head := fmt.Sprintf("[%d] %s %s: %s", c.Index, textsafe.Clean(c.Command.Type),
			strings.Join(params, " "), opt(textsafe.Clean(c.CommandStatus)))
		out = append(out, wrapIndent(capField(head), m.width, "  ")...)
		out = append(out, wrapIndent("started "+format.Time(now, c.StartTime)+", ended "+format.Time(now, c.EndTime), m.width, "      ")...)
		for _, e := range c.Errors {
			out = append(out, wrapIndent(capField("error: "+textsafe.Clean(e)), m.width, "      ")...)
		}
	}
	if n := len(m.action.Commands()) - len(cmds); n > 0 {
		out = append(out, fmt.Sprintf("  … %d more commands not shown", n))
	}
	return out
}

func opt(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func wrapIndent(s string, width int, indent string) []string {
	lines := wrap(s, max(width-lipgloss.Width(indent), 10))
	for i := range lines {
		lines[i] = indent + lines[i]
	}
	return lines
}

// wrap breaks s into lines of at most w cells, at spaces where it can.
func wrap(s string, w int) []string {
	if s == "" {
		return []string{""}
	}
	wrapped := lipgloss.NewStyle().Width(w).Render(s)
	lines := strings.Split(wrapped, "\n")
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], " ")
	}
	return lines
}

// View draws the visible part, exactly height lines.
func (m Model) View() string {
	all := m.lines
	end := min(m.offset+m.height, len(all))
	visible := all[m.offset:end]
	if below := len(all) - end; below > 0 && len(visible) > 0 {
		// The last line says there is more, so no field goes unseen.
		visible = append(visible[:len(visible)-1:len(visible)-1],
			m.ctx.Styles.Muted.Render(fmt.Sprintf("… %d more lines below (j, pgdn)", below+1)))
	}
	var b strings.Builder
	for i := 0; i < m.height; i++ {
		if i > 0 {
			b.WriteByte('\n')
		}
		if i < len(visible) {
			b.WriteString(visible[i])
		}
	}
	return b.String()
}
