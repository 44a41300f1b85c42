package ui

import (
	"strings"

	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/mde/textsafe"
	"github.com/mdeactions/mdeactions/ui/actiontable"
	"github.com/mdeactions/mdeactions/ui/format"
)

// Marks, counts and the triage flags of the rows.

func (m *Model) setMark(id string, on bool) {
	if on {
		m.marked[id] = true
	} else {
		delete(m.marked, id)
	}
	m.table.UpdateRow(id, func(r *actiontable.Row) { r.Marked = on })
}

// hiddenMarks is how many marked actions the filter or search hides.
func (m Model) hiddenMarks() int {
	if len(m.marked) == 0 {
		return 0 // the header asks on every frame: no walk over every row
	}
	n := 0
	for _, r := range m.table.Rows() {
		if r.Marked {
			n++
		}
	}
	return n - m.markedCount()
}

// markedCount is how many marked actions are shown now (a bulk cancel
// takes only those).
func (m Model) markedCount() int {
	if len(m.marked) == 0 {
		return 0
	}
	n := 0
	for i := 0; i < m.table.Len(); i++ {
		if m.table.Shown(i).Marked {
			n++
		}
	}
	return n
}

func (m *Model) recount() {
	clear(m.counts)
	for _, r := range m.table.Rows() {
		m.counts[r.Action.Status]++
	}
	m.flag()
}

// flag sets the triage flags: duplicates (the same type open twice on one
// device) and live responses that block new ones on their device.
func (m *Model) flag() {
	type key struct {
		src    int // the tenant: machine ids are only unique within one
		device string
		typ    mde.ActionType
	}
	open := map[key]int{}
	for _, r := range m.table.Rows() {
		if r.Action.Status.Open() {
			open[key{r.Src, deviceKey(*r.Action), r.Action.Type}]++
		}
	}
	m.table.Each(func(r *actiontable.Row) {
		a := r.Action
		r.Flag = ' '
		switch {
		case !a.Status.Open():
		case open[key{r.Src, deviceKey(*a), a.Type}] > 1:
			r.Flag = 'D'
		case a.Type == mde.TypeLiveResponse:
			r.Flag = 'L'
		}
	})
}

// flagText says in words what a row's triage flag means.
func flagText(r actiontable.Row) string {
	switch r.Flag {
	case 'D':
		return "D: another open " + textsafe.Clean(string(r.Action.Type)) + " is on " + format.Device(*r.Action) + " (a duplicate)."
	case 'L':
		return "L: this open live response blocks new live response sessions on " + format.Device(*r.Action) + "."
	}
	return ""
}

func deviceKey(a mde.MachineAction) string {
	if a.MachineID != "" {
		return strings.ToLower(a.MachineID)
	}
	return strings.ToLower(a.ComputerDNSName)
}
