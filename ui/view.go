package ui

import (
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"

	"charm.land/bubbles/v2/key"
	"charm.land/lipgloss/v2"
	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/ui/format"
	"github.com/mdeactions/mdeactions/ui/keys"
	"github.com/mdeactions/mdeactions/ui/signin"
)

// Drawing the screen.

// topLines is what goes under the header in the list: the search or filter
// input while it is open, else a line saying what narrows the list.
func (m Model) topLines() []string {
	if m.signIn != nil || m.view != viewList {
		return nil
	}
	var lines []string
	if m.multi() {
		lines = append(lines, format.Fit(m.tenantLine(), m.ctx.Width))
	}
	if m.bar.Active() {
		return append(lines, m.bar.View(m.ctx.Width))
	}
	if l := m.filterLine(); l != "" {
		return append(lines, l)
	}
	return lines
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
		return fmt.Sprintf("Terminal too small: %dx%d.\nmdeactions needs at least %dx%d.\nEnlarge the window, or press %s to quit.", w, h, MinWidth, MinHeight, keys.Name(m.ctx.Keys.Quit))
	}
	st := m.ctx.Styles
	parts := append([]string{m.header()}, m.topLines()...)
	body := m.bodyHeight()
	switch {
	case m.signIn != nil:
		parts = append(parts, m.signIn.View(body))
	case m.picker != nil:
		parts = append(parts, m.pickerView(body))
	case m.view == viewReport && m.bulk != nil:
		report := strings.Join(m.bulk.Report(), "\n")
		parts = append(parts, fitLines(lipgloss.NewStyle().Width(w).Render(report)+"\n\n"+st.Muted.Render(keys.Name(m.ctx.Keys.Back)+": back"), body))
	case m.view == viewHelp:
		legend := "Marker column: > cursor · * marked · D duplicate (same type open twice on the device) · L live response that blocks new ones on the device"
		if m.opts.ReadOnly {
			legend = "Marker column: > cursor · D duplicate (same type open twice on the device) · L live response that blocks new ones on the device"
		}
		tail := "\n\n" + lipgloss.NewStyle().Width(w).Render(legend) + "\n\n" + st.Muted.Render(keys.Name(m.ctx.Keys.Help)+" or "+keys.Name(m.ctx.Keys.Back)+": close help")
		help := m.fullHelp()
		if strings.Count(help+tail, "\n")+1 > body {
			help = m.compactHelp() // long key names: every key still shows
		}
		parts = append(parts, fitLines(help+tail, body))
	case m.view == viewDetail:
		parts = append(parts, m.detail.View())
	case m.loading && m.table.Len() == 0:
		parts = append(parts, fitLines("Loading machine actions from "+m.opts.Endpoint+"…", body))
	case m.loadErr != "" && m.table.Len() == 0:
		parts = append(parts, fitLines(st.Error.Render(lipgloss.NewStyle().Width(w).Render(m.loadErr)), body))
	case m.table.Len() == 0 && (m.query != "" || !m.spec.IsDefault()):
		parts = append(parts, fitLines(lipgloss.NewStyle().Width(w).Render("No action matches the filter or the search. "+keys.Name(m.ctx.Keys.Back)+" clears the search; "+keys.Name(m.ctx.Keys.Filter)+" changes the filter."), body))
	case m.table.Len() == 0:
		parts = append(parts, fitLines(lipgloss.NewStyle().Width(w).Render("No Pending or InProgress machine actions. Press "+keys.Name(m.ctx.Keys.Refresh)+" to refresh."), body))
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
	if m.profile != "" {
		left += " [" + strings.TrimRight(format.Fit(strings.TrimPrefix(profileLabel(m.profile), "profile "), 20), " ") + "]"
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
	if m.multi() {
		endpoint = " · " + m.tenantCount()
	}
	var rights []string
	switch {
	case m.signIn != nil && (m.signIn.Stage == signin.Failed || m.signIn.Stage == signin.Aborted):
		rights = []string{"not signed in", ""}
	case m.signIn != nil:
		rights = []string{"signing in", ""}
	case m.loading && !(m.quietLoad && m.everLoaded):
		rights = []string{"loading…", ""}
	case !m.loaded.IsZero() && m.opts.RefreshEvery > 0:
		ago := refreshedAgo(max(m.opts.Now().Sub(m.loaded), 0))
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
		return m.ctx.Styles.Muted.Render(format.Fit(keys.Name(k.ForceQuit)+": quit", m.ctx.Width))
	case m.signIn != nil:
		help := keys.Name(k.Back) + ": abort sign-in · " + keys.Name(k.Quit) + ": quit"
		if st := m.signIn.Stage; st == signin.Failed || st == signin.Aborted {
			help = keys.Name(k.Refresh) + ": sign in again · " + keys.Name(k.Quit) + ": quit"
		}
		return m.ctx.Styles.Muted.Render(format.Fit(help, m.ctx.Width))
	case m.picker != nil:
		return m.ctx.Styles.Muted.Render(format.Fit(keys.Name(k.Down)+", "+keys.Name(k.Up)+": move · "+keys.Name(k.Open)+": open · "+
			keys.Name(k.Back)+": back · "+keys.Name(k.Quit)+": quit", m.ctx.Width))
	case m.view == viewDetail:
		b = k.DetailHelp()
		if m.detail.Action().Status.Final() {
			b = b[1:] // nothing to cancel: the key is not offered
		}
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
	h := m.help
	h.SetWidth(0) // measured whole here: the help cuts what is wider than its width with "…"
	for _, g := range m.ctx.Keys.FullHelp() {
		try := append(append([][]key.Binding{}, row...), g)
		if len(row) > 0 && lipgloss.Width(h.FullHelpView(try)) > m.ctx.Width {
			blocks = append(blocks, h.FullHelpView(row))
			row = [][]key.Binding{g}
			continue
		}
		row = try
	}
	if len(row) > 0 {
		blocks = append(blocks, h.FullHelpView(row))
	}
	return strings.Join(blocks, "\n\n")
}

// compactHelp is every key on running lines, for when the columns of
// fullHelp do not fit (keys rebound to long names, a small terminal).
func (m Model) compactHelp() string {
	var items []string
	for _, g := range m.ctx.Keys.FullHelp() {
		for _, b := range g {
			if b.Enabled() && b.Help().Key != "" {
				items = append(items, b.Help().Key+" "+b.Help().Desc)
			}
		}
	}
	return lipgloss.NewStyle().Width(m.ctx.Width).Render(strings.Join(items, " · "))
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
