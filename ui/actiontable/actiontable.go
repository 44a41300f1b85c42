// Package actiontable draws the list of machine actions: a cursor, a scroll
// window and columns that share the width. It renders only the rows on screen
// and keeps each row's cleaned text, built once when the data arrives, so a
// keystroke costs the same with ten rows or a hundred thousand.
package actiontable

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/mde/textsafe"
	"github.com/mdeactions/mdeactions/ui/common"
	"github.com/mdeactions/mdeactions/ui/format"
)

// Row is one action as the table shows it. Its text comes cleaned from
// the methods below, made when asked (only the rows on screen are drawn;
// at 100,000 rows, keeping the four strings would be 6 MB more).
type Row struct {
	// Action points at the action (into the list it came from: a tenant
	// of 100,000 actions is not held twice). Never nil in a row made by
	// NewRow or NewRowOf; nothing writes through it.
	Action *mde.MachineAction
	// Tenant is the profile the action was read through (the all-profiles
	// view); Src is that tenant's index in the caller's list.
	Tenant string
	Src    int
	// Busy is set while a cancel for this action is in flight.
	Busy bool
	// Queued is set while the action waits its turn in a bulk cancel.
	Queued bool
	// Marked is set when the user marked the row for a bulk cancel.
	Marked bool
	// Flag is a triage hint in the marker column: 'D' another open action
	// of the same type is on the same device, 'L' an open live response
	// that blocks new ones on its device; ' ' none.
	Flag rune
}

// NewRow builds a row from (a copy of) an action.
func NewRow(a mde.MachineAction) Row { return NewRowOf(&a) }

// NewRowOf builds a row that points at the action. The caller does not
// change *a afterwards.
func NewRowOf(a *mde.MachineAction) Row { return Row{Action: a} }

// SetAction puts a newer state of the row's action in; what the UI set on
// the row (busy, mark, flag, tenant) stays.
func (r *Row) SetAction(a mde.MachineAction) { r.Action = &a }

// TypeLabel is the action's type as the table names it.
func (r Row) TypeLabel() string { return format.TypeLabel(r.Action.Type) }

// Device is the device's name (or id), cleaned.
func (r Row) Device() string { return format.Device(*r.Action) }

// sameDevice reports whether two rows are about one device: one machine in
// one tenant, not just one name.
func sameDevice(a, b *Row) bool {
	return a.Src == b.Src && a.Tenant == b.Tenant && a.Action.MachineID == b.Action.MachineID && a.Device() == b.Device()
}

// Requestor is who asked for the action, cleaned.
func (r Row) Requestor() string { return textsafe.Clean(r.Action.Requestor) }

// Comment is the requestor's comment, cleaned.
func (r Row) Comment() string { return textsafe.Clean(r.Action.RequestorComment) }

// Model is the table.
type Model struct {
	ctx      *common.Context
	rows     []Row
	view     []int // the indexes of the rows shown, when filtered
	filtered bool
	grouped  bool // rows come sorted by device: name each device once
	tenantW  int  // width of the tenant column; 0: hidden (one tenant)
	cursor   int
	offset   int
	width    int
	height   int // rows of data, without the column titles
}

// New returns an empty table.
func New(ctx *common.Context) Model { return Model{ctx: ctx} }

// SetSize sets the size of the table, column titles included.
func (m *Model) SetSize(width, height int) {
	m.width = width
	m.height = max(height-1, 1)
	m.clamp()
}

// SetRows replaces the rows, all shown, and keeps the cursor on the same
// action when it is still there.
func (m *Model) SetRows(rows []Row) {
	id := m.selectedID()
	m.rows, m.view, m.filtered = rows, nil, false
	m.follow(id)
}

// SetRowsView replaces the rows and shows those at idx, in that order (a
// search result; the slice is kept, not copied), and puts the cursor on
// the action with the id follow when it is shown. Take follow from
// SelectedID before computing idx: idx may reuse the old view's memory.
func (m *Model) SetRowsView(rows []Row, idx []int, follow string) {
	m.rows, m.view, m.filtered = rows, idx, true
	m.follow(follow)
}

// SetView is SetRowsView with the same rows.
func (m *Model) SetView(idx []int, follow string) {
	m.view, m.filtered = idx, true
	m.follow(follow)
}

// SetGrouped names each device once, on its first row, when the rows come
// sorted by device.
func (m *Model) SetGrouped(on bool) { m.grouped = on }

// SetTenantWidth shows a TENANT column that wide (0 hides it); the
// all-profiles view shows it, at most MaxTenantWidth cells.
func (m *Model) SetTenantWidth(w int) { m.tenantW = min(max(w, 0), MaxTenantWidth) }

// MaxTenantWidth is the widest the tenant column gets; longer names are cut.
const MaxTenantWidth = 14

// SelectedID is the id of the action under the cursor, "" if none.
func (m Model) SelectedID() string { return m.selectedID() }

func (m Model) selectedID() string {
	if r, ok := m.Selected(); ok {
		return r.Action.ID
	}
	return ""
}

// follow puts the cursor on the action with that id, if shown.
func (m *Model) follow(id string) {
	if id != "" {
		for i := 0; i < m.Len(); i++ {
			if m.rows[m.at(i)].Action.ID == id {
				m.cursor = i
				break
			}
		}
	}
	m.clamp()
}

// at is the index in rows of the i-th row shown.
func (m Model) at(i int) int {
	if m.filtered {
		return m.view[i]
	}
	return i
}

// UpdateRow applies fn to every row of the action with that id (the API
// should not send an id twice, but if it does, all its rows change) and
// reports whether there was one.
func (m *Model) UpdateRow(id string, fn func(*Row)) bool {
	found := false
	for i := range m.rows {
		if m.rows[i].Action.ID == id {
			fn(&m.rows[i])
			found = true
		}
	}
	return found
}

// Each calls fn on every row, to change them in place.
func (m *Model) Each(fn func(*Row)) {
	for i := range m.rows {
		fn(&m.rows[i])
	}
}

// Len is the number of rows shown.
func (m Model) Len() int {
	if m.filtered {
		return len(m.view)
	}
	return len(m.rows)
}

// Total is the number of rows, shown or not.
func (m Model) Total() int { return len(m.rows) }

// Rows returns every row, shown or not (read-only).
func (m Model) Rows() []Row { return m.rows }

// Shown returns the i-th row shown.
func (m Model) Shown(i int) Row { return m.rows[m.at(i)] }

// Cursor is the index of the selected row.
func (m Model) Cursor() int { return m.cursor }

// Selected returns the row under the cursor.
func (m Model) Selected() (Row, bool) {
	if m.cursor < 0 || m.cursor >= m.Len() {
		return Row{}, false
	}
	return m.rows[m.at(m.cursor)], true
}

// Update moves the cursor for the navigation keys of the keymap.
func (m Model) Update(msg tea.KeyPressMsg) (Model, bool) {
	k := m.ctx.Keys
	switch {
	case key.Matches(msg, k.Up):
		m.move(-1)
	case key.Matches(msg, k.Down):
		m.move(1)
	case key.Matches(msg, k.PageUp):
		m.move(-m.height)
	case key.Matches(msg, k.PageDown):
		m.move(m.height)
	case key.Matches(msg, k.HalfUp):
		m.move(-max(m.height/2, 1))
	case key.Matches(msg, k.HalfDown):
		m.move(max(m.height/2, 1))
	case key.Matches(msg, k.Top):
		m.cursor = 0
		m.clamp()
	case key.Matches(msg, k.Bottom):
		m.cursor = m.Len() - 1
		m.clamp()
	default:
		return m, false
	}
	return m, true
}

func (m *Model) move(n int) {
	m.cursor += n
	m.clamp()
}

func (m *Model) clamp() {
	if m.cursor >= m.Len() {
		m.cursor = m.Len() - 1
	}
	if m.cursor < 0 {
		m.cursor = 0
	}
	if m.cursor < m.offset {
		m.offset = m.cursor
	}
	if m.cursor >= m.offset+m.height {
		m.offset = m.cursor - m.height + 1
	}
	if maxOff := max(m.Len()-m.height, 0); m.offset > maxOff {
		m.offset = maxOff
	}
	if m.offset < 0 {
		m.offset = 0
	}
}

// MinWidth is the narrowest table that still shows its essential columns.
const MinWidth = 60

// layout is the width of each column; 0 means the column is hidden.
type layout struct{ tenant, typ, status, device, requestor, age, comment int }

const (
	markerW = 4
	typeW   = 11
	statusW = 10
	ageW    = 6
)

// Below these widths the lowest-priority columns give way: the comment
// first, then the requestor. Type, status, device and age always stay.
const (
	commentFrom   = 80
	requestorFrom = 70
)

func computeLayout(width, tenantW int) layout {
	if tenantW > 0 {
		// The tenant comes out of the space the other columns share; on a
		// narrow screen only its first 8 cells stay.
		if width < commentFrom {
			tenantW = min(tenantW, 8)
		}
		l := computeLayout(width-tenantW-1, 0)
		l.tenant = tenantW
		return l
	}
	l := layout{typ: typeW, status: statusW, age: ageW}
	fixed := markerW + typeW + 1 + statusW + ageW // marker, type, gap, status, age
	switch {
	case width >= commentFrom:
		// device, requestor and comment share what is left after 4 gaps.
		rest := width - fixed - 4
		l.device = min(rest*4/10, 40)
		l.requestor = min(rest*3/10, 32)
		l.comment = rest - l.device - l.requestor
	case width >= requestorFrom:
		rest := width - fixed - 3
		l.device = rest * 6 / 10
		l.requestor = rest - l.device
	default:
		// The root shows a "terminal too small" screen below MinWidth.
		l.device = max(width-fixed-2, 1)
	}
	return l
}

// head is the tenant cell and its gap ("" with the column hidden).
func (l layout) head(tenant string) string {
	if l.tenant == 0 {
		return ""
	}
	return format.Fit(tenant, l.tenant) + " "
}

// tail joins the visible columns after the status; with the marker, type
// and status they add up to the width exactly.
func (l layout) tail(device, requestor, age, comment string) string {
	var b strings.Builder
	b.WriteString(" ")
	b.WriteString(format.Fit(device, l.device))
	if l.requestor > 0 {
		b.WriteString(" ")
		b.WriteString(format.Fit(requestor, l.requestor))
	}
	b.WriteString(" ")
	b.WriteString(format.FitRight(age, l.age))
	if l.comment > 0 {
		b.WriteString(" ")
		b.WriteString(format.Fit(comment, l.comment))
	}
	return b.String()
}

// View draws the column titles and the visible rows, exactly width wide and
// height tall.
func (m Model) View() string {
	st := m.ctx.Styles
	l := computeLayout(m.width, m.tenantW)
	var b strings.Builder
	title := "    " + l.head("TENANT") + format.Fit("TYPE", l.typ) + " " + format.Fit("STATUS", l.status) +
		l.tail("DEVICE", "REQUESTOR", "AGE", "COMMENT")
	b.WriteString(st.ColumnTitle.Render(format.Fit(title, m.width)))
	now := m.ctx.Now()
	end := min(m.offset+m.height, m.Len())
	for i := m.offset; i < end; i++ {
		r := &m.rows[m.at(i)]
		b.WriteByte('\n')
		// The marker column says, without colour, which row is under the
		// cursor (>), which are marked (*), and triage flags (D, L).
		c0, c1, c2 := byte(' '), byte(' '), byte(' ')
		if i == m.cursor {
			c0 = '>'
		}
		if r.Marked {
			c1 = '*'
		}
		if r.Flag == 'D' || r.Flag == 'L' {
			c2 = byte(r.Flag)
		}
		marker := string([]byte{c0, c1, c2, ' '})
		status := format.Status(r.Action.Status)
		if r.Queued {
			status = "Queued"
		}
		if r.Busy {
			status = "Cancelling"
		}
		left := marker + l.head(r.Tenant) + format.Fit(r.TypeLabel(), l.typ) + " "
		statusCell := format.Fit(status, l.status)
		device := r.Device()
		if m.grouped && i > m.offset && sameDevice(&m.rows[m.at(i-1)], r) {
			device = "  ·" // the same device as the row above
		}
		right := l.tail(device, r.Requestor(), format.Age(now, r.Action.CreationDateTimeUtc), r.Comment())
		if i == m.cursor {
			b.WriteString(st.Cursor.Render(left + statusCell + right))
			continue
		}
		b.WriteString(left)
		b.WriteString(st.StatusStyle(r.Action.Status).Render(statusCell))
		b.WriteString(right)
	}
	for i := end - m.offset; i < m.height; i++ {
		b.WriteByte('\n')
	}
	return b.String()
}
