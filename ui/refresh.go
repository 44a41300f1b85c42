package ui

import (
	"fmt"
	"time"

	tea "charm.land/bubbletea/v2"
)

// Automatic refresh and the timers that serve it.

// ageTickMsg redraws the header's "refreshed … ago". The age is shown at a
// coarse grain (just now, minutes, hours, days) and the timer fires only
// when that text changes: an idle screen whose list reloads on time sends
// nothing to the terminal, and a list whose reloads stall or fail still
// says how old it is.
type ageTickMsg struct{}

// refreshedAgo is the age of the list as the header shows it.
func refreshedAgo(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d/time.Minute))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh ago", int(d/time.Hour))
	default:
		return fmt.Sprintf("%dd ago", int(d/(24*time.Hour)))
	}
}

// untilAgoChanges is how long refreshedAgo(d) keeps its text.
func untilAgoChanges(d time.Duration) time.Duration {
	unit := time.Minute
	switch {
	case d >= 24*time.Hour:
		unit = 24 * time.Hour
	case d >= time.Hour:
		unit = time.Hour
	}
	return unit - d%unit
}

// ageTick arms the timer for the next change of the header's age, if the
// header shows one and no timer is armed yet.
func (m *Model) ageTick() tea.Cmd {
	if m.opts.RefreshEvery <= 0 || m.loaded.IsZero() || m.ageArmed {
		return nil
	}
	m.ageArmed = true
	wait := untilAgoChanges(max(m.opts.Now().Sub(m.loaded), 0))
	return tea.Tick(wait, func(time.Time) tea.Msg { return ageTickMsg{} })
}

func (m Model) onAgeTick() (tea.Model, tea.Cmd) {
	m.ageArmed = false
	cmd := m.ageTick() // before m is copied out
	return m, cmd
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
		cmd := m.scheduleRefresh() // before m is copied out
		return m, cmd
	}
	m.gen++
	m.loading = true
	m.quietLoad = true // the header keeps the list's age, not "loading…"
	return m, m.loadCmd(m.gen)
}
