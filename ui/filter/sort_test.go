package filter

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/mdeactions/mdeactions/ui/actiontable"
)

// sortRows has a distinct value per column in a known order, plus one row
// missing every value (s-none) and one whose status is unknown.
func sortRows() []actiontable.Row {
	return buildRows(
		row{id: "s-b", typ: "RunAntiVirusScan", status: "InProgress", dns: "beta", requestor: "Bob", comment: "bravo", age: 2 * time.Hour},        // AV scan
		row{id: "s-none", typ: "", status: "", dns: "", machine: "", requestor: "", comment: "", age: 0},                                          // nothing
		row{id: "s-d", typ: "Unisolate", status: "Cancelled", dns: "Delta", requestor: "dave", comment: "Delta", age: 30 * time.Minute},           // Unisolate
		row{id: "s-a", typ: "Isolate", status: "Pending", dns: "alpha", requestor: "alice", comment: "alpha", age: 4 * time.Hour},                 // Isolate
		row{id: "s-q", typ: "Offboard", status: "Queued", dns: "charlie", requestor: "Carol", comment: "charlie", age: time.Hour},                 // Offboard, unknown status
		row{id: "s-c", typ: "CollectInvestigationPackage", status: "Failed", dns: "CHARLIE2", requestor: "cy", comment: "c2", age: 3 * time.Hour}, // Collect pkg
	)
}

func TestSortEachColumnBothWays(t *testing.T) {
	tests := []struct {
		order Order
		want  []string
	}{
		{Order{}, []string{"s-a", "s-c", "s-b", "s-q", "s-d", "s-none"}},
		{Order{Column: ColAge}, []string{"s-a", "s-c", "s-b", "s-q", "s-d", "s-none"}},
		{Order{Column: ColAge, Desc: true}, []string{"s-d", "s-q", "s-b", "s-c", "s-a", "s-none"}},
		// Labels: AV scan, Collect pkg, Isolate, Offboard, Unisolate.
		{Order{Column: ColType}, []string{"s-b", "s-c", "s-a", "s-q", "s-d", "s-none"}},
		{Order{Column: ColType, Desc: true}, []string{"s-d", "s-q", "s-a", "s-c", "s-b", "s-none"}},
		// Lifecycle: Pending, InProgress, Failed, Cancelled, then unknown.
		{Order{Column: ColStatus}, []string{"s-a", "s-b", "s-c", "s-d", "s-q", "s-none"}},
		{Order{Column: ColStatus, Desc: true}, []string{"s-q", "s-d", "s-c", "s-b", "s-a", "s-none"}},
		// Case-insensitive: alpha, beta, charlie, CHARLIE2, Delta.
		{Order{Column: ColDevice}, []string{"s-a", "s-b", "s-q", "s-c", "s-d", "s-none"}},
		{Order{Column: ColDevice, Desc: true}, []string{"s-d", "s-c", "s-q", "s-b", "s-a", "s-none"}},
		// alice, Bob, Carol, cy, dave.
		{Order{Column: ColRequestor}, []string{"s-a", "s-b", "s-q", "s-c", "s-d", "s-none"}},
		{Order{Column: ColRequestor, Desc: true}, []string{"s-d", "s-c", "s-q", "s-b", "s-a", "s-none"}},
		// alpha, bravo, c2, charlie, Delta.
		{Order{Column: ColComment}, []string{"s-a", "s-b", "s-c", "s-q", "s-d", "s-none"}},
		{Order{Column: ColComment, Desc: true}, []string{"s-d", "s-q", "s-c", "s-b", "s-a", "s-none"}},
	}
	rows := sortRows()
	for _, tt := range tests {
		t.Run(tt.order.String(), func(t *testing.T) {
			idx := []int{0, 1, 2, 3, 4, 5}
			Sort(rows, idx, tt.order)
			if got := ids(rows, idx); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Sort = %v, want %v", got, tt.want)
			}
			// Sort does not move the rows.
			if rows[0].Action.ID != "s-b" {
				t.Fatal("Sort moved the rows")
			}
			// The index orders the same way.
			ix := NewIndex(rows)
			ix.SetOrder(tt.order)
			if got := ids(rows, ix.Search("", Spec{AllStatuses: true}, now, nil)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Index order = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSortStableAndTies(t *testing.T) {
	rows := buildRows(
		row{id: "t0", typ: "Isolate", status: "Pending", dns: "same", age: time.Hour},
		row{id: "t1", typ: "Isolate", status: "Pending", dns: "SAME", age: time.Hour},
		row{id: "t2", typ: "Isolate", status: "Pending", dns: "same", age: 3 * time.Hour},
		row{id: "t3", typ: "Isolate", status: "Pending", dns: "same", age: time.Hour},
	)
	// Equal device: ties by creation time, oldest first (t2), then the
	// given order, whichever it is.
	for _, in := range [][]int{{0, 1, 2, 3}, {3, 1, 0, 2}} {
		idx := slices.Clone(in)
		Sort(rows, idx, Order{Column: ColDevice})
		want := []int{2}
		for _, i := range in {
			if i != 2 {
				want = append(want, i)
			}
		}
		if !slices.Equal(idx, want) {
			t.Errorf("Sort(%v) = %v, want %v", in, idx, want)
		}
		// Desc reverses the column only; ties stay oldest first and stable.
		idx = slices.Clone(in)
		Sort(rows, idx, Order{Column: ColDevice, Desc: true})
		if !slices.Equal(idx, want) {
			t.Errorf("Sort desc(%v) = %v, want %v", in, idx, want)
		}
	}
	// Equal ages keep their order in both directions.
	idx := []int{3, 0, 1}
	Sort(rows, idx, Order{Column: ColAge, Desc: true})
	if !slices.Equal(idx, []int{3, 0, 1}) {
		t.Errorf("equal ages moved: %v", idx)
	}
}

func TestSortUnknownTimesLast(t *testing.T) {
	rows := buildRows(
		row{id: "none1", typ: "Isolate", status: "Pending"},
		row{id: "old", typ: "Isolate", status: "Pending", age: 48 * time.Hour},
		row{id: "none2", typ: "Isolate", status: "Pending"},
		row{id: "new", typ: "Isolate", status: "Pending", age: time.Minute},
	)
	for _, o := range []Order{{}, {Desc: true}} {
		idx := []int{0, 1, 2, 3}
		Sort(rows, idx, o)
		got := ids(rows, idx)
		if got[2] != "none1" || got[3] != "none2" {
			t.Errorf("%v: %v, want the unknown times last, in their order", o, got)
		}
		if first := map[bool]string{false: "old", true: "new"}[o.Desc]; got[0] != first {
			t.Errorf("%v: first %s, want %s", o, got[0], first)
		}
	}
}

func TestSortSubsetAndBadIndexes(t *testing.T) {
	rows := sortRows()
	idx := []int{2, 9, 0, -1}
	Sort(rows, idx, Order{})
	if !slices.Equal(idx[:2], []int{0, 2}) { // s-b (2h) before s-d (30m)
		t.Errorf("subset sorted to %v", idx)
	}
	if !slices.Equal(idx[2:], []int{9, -1}) {
		t.Errorf("bad indexes = %v, want them kept at the end", idx[2:])
	}
	Sort(rows, nil, Order{}) // no panic
}

func TestIndexOrderMatchesSortOnRandomRows(t *testing.T) {
	rows := makeRows(2000, 11)
	ix := NewIndex(rows)
	for _, col := range displayOrder {
		for _, desc := range []bool{false, true} {
			o := Order{Column: col, Desc: desc}
			ix.SetOrder(o)
			got := ix.Search("", Spec{AllStatuses: true}, now, nil)
			want := make([]int, len(rows))
			for i := range want {
				want[i] = i
			}
			Sort(rows, want, o)
			if !slices.Equal(got, want) {
				t.Errorf("%v: the index order differs from Sort", o)
			}
			if ix.Order() != o {
				t.Errorf("Order() = %v, want %v", ix.Order(), o)
			}
			if got := NewIndexOrdered(rows, o).Search("", Spec{AllStatuses: true}, now, nil); !slices.Equal(got, want) {
				t.Errorf("%v: NewIndexOrdered differs from Sort", o)
			}
		}
	}
}

func TestOrderNextAndReverse(t *testing.T) {
	if (Order{}) != (Order{Column: ColAge}) {
		t.Fatal("the zero Order is not age, oldest first")
	}
	o := Order{Column: ColType, Desc: true}
	var seen []Column
	for range 6 {
		o = o.Next()
		if o.Desc {
			t.Errorf("Next kept Desc: %v", o)
		}
		seen = append(seen, o.Column)
	}
	want := []Column{ColStatus, ColDevice, ColRequestor, ColAge, ColComment, ColType}
	if !slices.Equal(seen, want) {
		t.Errorf("Next cycles %v, want %v", seen, want)
	}
	if r := (Order{Column: ColDevice}).Reverse(); r != (Order{Column: ColDevice, Desc: true}) {
		t.Errorf("Reverse = %v", r)
	}
	if r := (Order{Column: ColDevice, Desc: true}).Reverse(); r.Desc {
		t.Errorf("Reverse twice = %v", r)
	}
	for o, s := range map[Order]string{
		{}:                               "age, oldest first",
		{Desc: true}:                     "age, newest first",
		{Column: ColDevice}:              "device, A→Z",
		{Column: ColComment, Desc: true}: "comment, Z→A",
		{Column: ColStatus}:              "status, Pending first",
	} {
		if o.String() != s {
			t.Errorf("%#v.String() = %q, want %q", o, o.String(), s)
		}
	}
	if Column(42).String() != "unknown" {
		t.Error("an unknown column has a name")
	}
}
