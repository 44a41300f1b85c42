// Package format turns API values into the short words the UI shows.
package format

import (
	"fmt"
	"time"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/mde/textsafe"
)

var typeLabels = map[mde.ActionType]string{
	mde.TypeIsolate:                     "Isolate",
	mde.TypeUnisolate:                   "Unisolate",
	mde.TypeRunAntiVirusScan:            "AV scan",
	mde.TypeCollectInvestigationPackage: "Collect pkg",
	mde.TypeRestrictCodeExecution:       "Restrict",
	mde.TypeUnrestrictCodeExecution:     "Unrestrict",
	mde.TypeStopAndQuarantineFile:       "Quarantine",
	mde.TypeOffboard:                    "Offboard",
	mde.TypeLiveResponse:                "Live resp.",
}

// TypeLabel is the short label of a type for the table; an unknown type is
// shown as the API sent it (cleaned).
func TypeLabel(t mde.ActionType) string {
	if l, ok := typeLabels[t]; ok {
		return l
	}
	if t == "" {
		return "(no type)"
	}
	return textsafe.Clean(string(t))
}

// TypeName is the type as the API names it, with the scope when there is one:
// "Isolate (Full)".
func TypeName(a mde.MachineAction) string {
	name := textsafe.Clean(string(a.Type))
	if name == "" {
		name = "(no type)"
	}
	if a.Scope != "" {
		name += " (" + textsafe.Clean(string(a.Scope)) + ")"
	}
	return name
}

// Status is the status word; an empty one says so.
func Status(s mde.ActionStatus) string {
	if s == "" {
		return "(none)"
	}
	return textsafe.Clean(string(s))
}

// Device is the device's name, or its id when the name is missing.
func Device(a mde.MachineAction) string {
	if a.ComputerDNSName != "" {
		return textsafe.Clean(a.ComputerDNSName)
	}
	if a.MachineID != "" {
		return textsafe.Clean(a.MachineID)
	}
	return "(unknown device)"
}

// Age is a compact duration: 45s, 12m, 3h05m, 2d04h. Unknown times give "?".
func Age(now time.Time, t mde.Timestamp) string {
	if t.IsZero() {
		return "?"
	}
	d := now.Sub(t.Time)
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	default:
		return fmt.Sprintf("%dd%02dh", int(d.Hours())/24, int(d.Hours())%24)
	}
}

// Time is a timestamp for the detail view, with its age; null says "(none)".
func Time(now time.Time, t mde.Timestamp) string {
	if t.IsZero() {
		if t.Raw != "" {
			return textsafe.Clean(t.Raw) + " (unreadable time)"
		}
		return "(none)"
	}
	when := t.Time.UTC().Format("2006-01-02 15:04:05 UTC")
	if t.Time.After(now.Add(time.Minute)) {
		return when + " (in the future: a clock is wrong)"
	}
	return when + " (" + Age(now, t) + " ago)"
}

// Fit truncates s to w cells with an ellipsis and pads it with spaces to
// exactly w cells. Wide (CJK, emoji) characters are measured as the terminal
// draws them.
func Fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if ansi.StringWidth(s) > w {
		s = ansi.Truncate(s, w, "…")
	}
	if pad := w - lipgloss.Width(s); pad > 0 {
		s += spaces(pad)
	}
	return s
}

// FitRight is Fit with the text aligned right.
func FitRight(s string, w int) string {
	if ansi.StringWidth(s) > w {
		s = ansi.Truncate(s, w, "…")
	}
	if pad := w - lipgloss.Width(s); pad > 0 {
		s = spaces(pad) + s
	}
	return s
}

const blanks = "                                                                                                                                "

func spaces(n int) string {
	if n <= len(blanks) {
		return blanks[:n]
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = ' '
	}
	return string(b)
}
