package filter

import (
	"cmp"
	"slices"
	"strings"

	"github.com/mdeactions/mdeactions/ui/actiontable"
)

// Column is a column of the table to sort by. The zero value is ColAge, so
// that the zero Order is the default: oldest first, since stuck actions
// matter most.
type Column int

// The columns, ColAge first so that it is the zero value.
const (
	ColAge Column = iota
	ColType
	ColStatus
	ColDevice
	ColRequestor
	ColComment
	numColumns
)

// displayOrder is the table's left-to-right order, which Next follows.
var displayOrder = []Column{ColType, ColStatus, ColDevice, ColRequestor, ColAge, ColComment}

var columnNames = [numColumns]string{
	ColAge: "age", ColType: "type", ColStatus: "status",
	ColDevice: "device", ColRequestor: "requestor", ColComment: "comment",
}

// String is the column's name as the table titles it, lower-cased.
func (c Column) String() string {
	if c >= 0 && c < numColumns {
		return columnNames[c]
	}
	return "unknown"
}

// Order is a sort order. Each column has a natural direction: age oldest
// first, status in lifecycle order (Pending, InProgress, Succeeded, Failed,
// TimeOut, Cancelled, then unknown ones), text A to Z by the text shown,
// case-insensitively. Desc reverses it. Rows with no value in the column
// (no creation time, no comment…) come last in both directions; ties are
// broken by creation time, oldest first, then kept in their given order.
type Order struct {
	Column Column
	Desc   bool
}

// Next moves to the next column, left to right, in its natural direction;
// after the last column it comes back to the first. For a "sort" key.
func (o Order) Next() Order {
	i := slices.Index(displayOrder, o.Column)
	return Order{Column: displayOrder[(i+1)%len(displayOrder)]}
}

// Reverse flips the direction. For a "reverse sort" key.
func (o Order) Reverse() Order { return Order{Column: o.Column, Desc: !o.Desc} }

// String says the order in words for the header: "age, oldest first".
func (o Order) String() string {
	var dir string
	switch o.Column {
	case ColAge:
		dir = "oldest first"
		if o.Desc {
			dir = "newest first"
		}
	case ColStatus:
		dir = "Pending first"
		if o.Desc {
			dir = "Cancelled first"
		}
	default:
		dir = "A→Z"
		if o.Desc {
			dir = "Z→A"
		}
	}
	return o.Column.String() + ", " + dir
}

// Sort sorts idx, a list of indexes into rows, in the order o. It is
// stable: rows equal in the column and in creation time keep their order
// in idx. The rows are not moved. An index outside rows is left at the end.
func Sort(rows []actiontable.Row, idx []int, o Order) {
	// Build the same keys the Index sorts on, once per row, so that the
	// two orders are the same and no comparison lower-cases anything.
	n := 0
	for _, i := range idx {
		if i >= 0 && i < len(rows) {
			n++
		}
	}
	es := make([]entry, 0, n)
	var buf []byte
	starts := make([]int, 0, n+1)
	var bad []int
	for _, i := range idx {
		if i < 0 || i >= len(rows) {
			bad = append(bad, i)
			continue
		}
		starts = append(starts, len(buf))
		es = append(es, entry{row: int32(i)})
		buf = appendEntry(buf, &rows[i], &es[len(es)-1], len(buf))
	}
	starts = append(starts, len(buf))
	all := freeze(buf)
	for k := range es {
		es[k].hay = all[starts[k]:starts[k+1]]
	}
	perm := make([]int, len(es))
	for k := range perm {
		perm[k] = k
	}
	slices.SortStableFunc(perm, func(a, b int) int { return compareEntries(&es[a], &es[b], o) })
	for k, p := range perm {
		idx[k] = int(es[p].row)
	}
	copy(idx[len(perm):], bad)
}

// compareEntries compares two rows in the order o, creation time breaking
// ties; 0 means equal in both.
func compareEntries(a, b *entry, o Order) int {
	bit := uint8(1) << o.Column
	ma, mb := a.missing&bit != 0, b.missing&bit != 0
	switch {
	case ma && !mb:
		return 1
	case mb && !ma:
		return -1
	case !ma:
		c := comparePrimary(a, b, o.Column)
		if o.Desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	if o.Column == ColAge {
		return 0
	}
	return compareCreated(a, b)
}

func comparePrimary(a, b *entry, col Column) int {
	switch col {
	case ColAge:
		return compareCreated(a, b)
	case ColStatus:
		ra, rb := statusRank(a), statusRank(b)
		if c := cmp.Compare(ra, rb); c != 0 {
			return c
		}
		return strings.Compare(a.field(fieldStatus), b.field(fieldStatus))
	case ColType:
		return strings.Compare(a.field(fieldType), b.field(fieldType))
	case ColDevice:
		// Two machines of one name (or one name in two tenants) are two
		// devices: each is kept together, apart from the other.
		if c := strings.Compare(a.field(fieldDevice), b.field(fieldDevice)); c != 0 {
			return c
		}
		if c := strings.Compare(a.field(fieldTenant), b.field(fieldTenant)); c != 0 {
			return c
		}
		return strings.Compare(a.machineID, b.machineID)
	case ColRequestor:
		return strings.Compare(a.field(fieldRequestor), b.field(fieldRequestor))
	case ColComment:
		return strings.Compare(a.field(fieldComment), b.field(fieldComment))
	}
	return 0
}

// statusRank is the lifecycle position; unknown statuses after the six.
func statusRank(e *entry) uint8 {
	if e.status != 0 {
		return e.status
	}
	return uint8(len(statusOrder) + 1)
}

// compareCreated is oldest first, unknown times last.
func compareCreated(a, b *entry) int {
	switch {
	case a.created == b.created:
		return 0
	case a.created == unknownTime:
		return 1
	case b.created == unknownTime:
		return -1
	}
	return cmp.Compare(a.created, b.created)
}
