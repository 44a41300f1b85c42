package ui

import (
	"time"

	tea "charm.land/bubbletea/v2"
)

// Automatic refresh and the timers that serve it.

// ageTickMsg redraws the header's "refreshed N s ago". It ticks only while
// automatic refresh is on (the data changes then anyway); with it off,
// nothing ticks and an idle screen sends nothing.
type ageTickMsg struct{}

const ageEvery = 10 * time.Second

func (m Model) ageTick() tea.Cmd {
	if m.opts.RefreshEvery <= 0 {
		return nil
	}
	return tea.Tick(ageEvery, func(time.Time) tea.Msg { return ageTickMsg{} })
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
		return m, m.scheduleRefresh()
	}
	m.gen++
	m.loading = true
	return m, m.loadCmd(m.gen)
}
