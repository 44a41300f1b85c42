// Package common holds what every part of the UI shares: the screen size,
// the styles, the keymap and the clock. The root model owns one Context and
// hands children a pointer; children read it and never change it.
package common

import (
	"time"

	"charm.land/lipgloss/v2"

	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/ui/keys"
)

// Context is the shared, read-mostly state of the UI.
type Context struct {
	Width, Height int
	Styles        Styles
	Keys          keys.KeyMap
	Now           func() time.Time
}

// Styles are the few styles the UI uses. Colour only ever repeats what a
// word or glyph already says, so the monochrome set loses no meaning.
type Styles struct {
	Header      lipgloss.Style
	Badge       lipgloss.Style
	ColumnTitle lipgloss.Style
	Cursor      lipgloss.Style
	Muted       lipgloss.Style
	Error       lipgloss.Style
	Success     lipgloss.Style
	Info        lipgloss.Style
	Dialog      lipgloss.Style
	DialogTitle lipgloss.Style
	Label       lipgloss.Style
	Status      map[mde.ActionStatus]lipgloss.Style
}

// NewStyles returns the styles; mono drops every colour and keeps bold,
// reverse video and the words.
func NewStyles(mono bool) Styles {
	c := func(s lipgloss.Style, colour string) lipgloss.Style {
		if mono {
			return s
		}
		return s.Foreground(lipgloss.Color(colour))
	}
	base := lipgloss.NewStyle()
	s := Styles{
		Header:      c(base.Bold(true), "#7AA2F7"),
		Badge:       base.Bold(true).Reverse(true),
		ColumnTitle: c(base.Bold(true), "#A9B1D6"),
		Cursor:      base.Reverse(true),
		Muted:       c(base, "#787C99"),
		Error:       c(base.Bold(true), "#F7768E"),
		Success:     c(base.Bold(true), "#9ECE6A"),
		Info:        c(base, "#7DCFFF"),
		Dialog:      c(base.Border(lipgloss.RoundedBorder()).Padding(0, 1), "#E0AF68"),
		DialogTitle: c(base.Bold(true), "#E0AF68"),
		Label:       c(base, "#787C99"),
		// The statuses, on every row, take the terminal's own 16 colours:
		// they follow the user's theme (light or dark) and cost 5 bytes a
		// row over SSH instead of 11.
		Status: map[mde.ActionStatus]lipgloss.Style{
			mde.StatusPending:    c(base, "3"),
			mde.StatusInProgress: c(base, "6"),
			mde.StatusSucceeded:  c(base, "2"),
			mde.StatusFailed:     c(base, "1"),
			mde.StatusTimeOut:    c(base, "1"),
			mde.StatusCancelled:  c(base.Bold(true), "5"),
		},
	}
	if mono {
		s.Dialog = base.Border(lipgloss.RoundedBorder()).Padding(0, 1)
	}
	return s
}

// StatusStyle returns the style for a status; an unknown one is plain.
func (s Styles) StatusStyle(st mde.ActionStatus) lipgloss.Style {
	if v, ok := s.Status[st]; ok {
		return v
	}
	return lipgloss.NewStyle()
}
