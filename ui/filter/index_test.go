package filter

import (
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/ui/actiontable"
)

func searchRows() []actiontable.Row {
	return buildRows(
		row{id: "id-1", typ: "Isolate", status: "Pending", dns: "WS-FIN-0042.contoso.com", requestor: "alex@contoso.com", comment: "IR case 117", age: 5 * time.Hour},
		row{id: "id-2", typ: "RunAntiVirusScan", status: "InProgress", dns: "ws-hr-7.contoso.com", requestor: "Sam@Contoso.com", comment: "routine", age: 4 * time.Hour},
		row{id: "id-3", typ: "Isolate", status: "Pending", dns: "東京-営業-PC01", requestor: "Customer App", comment: "調査のため隔離", age: 3 * time.Hour},
		row{id: "id-4", typ: "CollectInvestigationPackage", status: "Pending", dns: "MÜNCHEN-LAB", requestor: "ZOË@contoso.com", comment: "ÉQUIPE rouge", age: 2 * time.Hour},
		row{id: "id-5", typ: "Isolate", status: "Cancelled", dns: "ws-fin-0001", requestor: "alex@contoso.com", comment: "done", age: 1 * time.Hour},
	)
}

func TestSearch(t *testing.T) {
	rows := searchRows()
	ix := NewIndex(rows)
	tests := []struct {
		name  string
		query string
		spec  Spec
		want  []string
	}{
		{"empty query: the spec alone, oldest first", "", Spec{}, []string{"id-1", "id-2", "id-3", "id-4"}},
		{"blank query", "  \t ", Spec{}, []string{"id-1", "id-2", "id-3", "id-4"}},
		{"one term", "isolate", Spec{}, []string{"id-1", "id-3"}},
		{"several terms, every one must match", "isolate fin", Spec{}, []string{"id-1"}},
		{"term order does not matter", "fin isolate", Spec{}, []string{"id-1"}},
		{"terms across columns", "alex 117 pending", Spec{}, []string{"id-1"}},
		{"a term matching nothing", "isolate nowhere", Spec{}, nil},
		{"case-insensitive query", "WS-FIN", Spec{}, []string{"id-1"}},
		{"case-insensitive text", "sam@contoso", Spec{}, []string{"id-2"}},
		{"status text", "inprogress", Spec{}, []string{"id-2"}},
		{"type label", "av scan", Spec{}, []string{"id-2"}},
		{"id", "id-3", Spec{}, []string{"id-3"}},
		{"CJK device", "東京", Spec{}, []string{"id-3"}},
		{"CJK comment and device", "隔離 営業", Spec{}, []string{"id-3"}},
		{"CJK no match", "大阪", Spec{}, nil},
		{"non-ASCII lower-cased", "münchen équipe zoë", Spec{}, []string{"id-4"}},
		{"non-ASCII upper-case query", "MÜNCHEN ÉQUIPE", Spec{}, []string{"id-4"}},
		{"no match across two columns", "pendingws", Spec{}, nil},
		{"control characters cleaned from the query", "ws\x1b[31m-fin", Spec{}, []string{"id-1"}},
		{"spec and query", "alex", Spec{AllStatuses: true}, []string{"id-1", "id-5"}},
		{"spec narrows", "alex", Spec{Statuses: []mde.ActionStatus{mde.StatusCancelled}}, []string{"id-5"}},
		{"spec device", "", Spec{Device: "fin", AllStatuses: true}, []string{"id-1", "id-5"}},
		{"spec age", "", Spec{OlderThan: 150 * time.Minute}, []string{"id-1", "id-2", "id-3"}},
		{"repeated term", "fin fin", Spec{}, []string{"id-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ids(rows, ix.Search(tt.query, tt.spec, now, nil))
			if len(got) == 0 {
				got = nil
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Search(%q) = %v, want %v", tt.query, got, tt.want)
			}
		})
	}
}

func TestSearchReusesDst(t *testing.T) {
	rows := searchRows()
	ix := NewIndex(rows)
	dst := []int{99, 98, 97, 96, 95, 94, 93, 92}
	got := ix.Search("isolate", Spec{}, now, dst)
	if want := []string{"id-1", "id-3"}; !reflect.DeepEqual(ids(rows, got), want) {
		t.Fatalf("Search = %v, want %v", ids(rows, got), want)
	}
	if &got[0] != &dst[0] {
		t.Error("Search did not reuse dst's array")
	}
}

func TestRefreshAfterARowChanges(t *testing.T) {
	rows := searchRows()
	ix := NewIndex(rows)
	rows[0].Action.Status = mde.StatusCancelled // a cancel went through
	if got := ids(rows, ix.Search("fin", Spec{}, now, nil)); !reflect.DeepEqual(got, []string{"id-1"}) {
		t.Fatalf("before Refresh the index is a snapshot: got %v", got)
	}
	ix.Refresh(0)
	if got := ix.Search("fin", Spec{}, now, nil); len(got) != 0 {
		t.Errorf("a cancelled row still matches the default view: %v", ids(rows, got))
	}
	if got := ids(rows, ix.Search("cancelled fin", Spec{AllStatuses: true}, now, nil)); !reflect.DeepEqual(got, []string{"id-1", "id-5"}) {
		t.Errorf("search by the new status = %v", got)
	}
	ix.Refresh(-1)
	ix.Refresh(len(rows)) // out of range: ignored
}

// TestSearchAgreesWithMatch checks Search against Spec.Match row by row on
// random rows and specs.
func TestSearchAgreesWithMatch(t *testing.T) {
	rows := makeRows(1500, 7)
	ix := NewIndex(rows)
	specs := []string{"", "status:all", "status:final", "status:pending type:isolate", "type:scan,collect status:all",
		"device:fin", "device:東京 status:all", "requestor:alex@contoso.com", "requestor:customer app status:all",
		"age>7d", "age>20d status:final type:live", "status:open device:ws-ops age>1d"}
	queries := []string{"", "ws", "fin 00", "isolate", "調査", "PENDING", "contoso app", "zoë", "queued"}
	var dst []int
	for _, text := range specs {
		spec, err := Parse(text)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range queries {
			dst = ix.Search(q, spec, now, dst)
			var want []int
			terms, _ := splitTerms(q, nil)
			for i := range rows {
				if !spec.Match(&rows[i], now) {
					continue
				}
				e := newEntry(&rows[i], i)
				ok := true
				for _, term := range terms {
					if !containsString(e.hay, term) {
						ok = false
					}
				}
				if ok {
					want = append(want, i)
				}
			}
			got := slices.Clone(dst)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("spec %q query %q: Search found %d rows, Match %d", text, q, len(got), len(want))
			}
		}
	}
}

func containsString(hay, term string) bool {
	for i := 0; i+len(term) <= len(hay); i++ {
		if hay[i:i+len(term)] == term {
			return true
		}
	}
	return false
}

func TestNewIndexEmpty(t *testing.T) {
	ix := NewIndex(nil)
	if got := ix.Search("x", Spec{}, now, nil); len(got) != 0 {
		t.Errorf("Search on no rows = %v", got)
	}
	if ix.Len() != 0 || ix.Order() != (Order{}) {
		t.Errorf("Len %d, Order %v", ix.Len(), ix.Order())
	}
}

// bruteForce is what Search must return: Match and a plain substring test,
// in the index's order.
func bruteForce(ix *Index, query string, spec Spec) []int {
	terms, _ := splitTerms(query, nil)
	var out []int
	for _, row := range ix.rowOf {
		i := int(row)
		r := &ix.rows[i]
		if !spec.Match(r, now) {
			continue
		}
		e := newEntry(r, i)
		ok := true
		for _, t := range terms {
			if !containsString(e.hay, t) {
				ok = false
			}
		}
		if ok {
			out = append(out, i)
		}
	}
	return out
}

// TestSearchHistoryAgreesWithBruteForce types, deletes, pastes and changes
// the spec at random, and checks every answer, so that the search history
// (narrowing from past searches) never changes a result.
func TestSearchHistoryAgreesWithBruteForce(t *testing.T) {
	rows := makeRows(500, 5)
	ix := NewIndex(rows)
	rnd := rand.New(rand.NewPCG(9, 9))
	specs := []string{"", "status:all", "type:isolate,scan status:all", "device:fin", "age>10d"}
	pieces := []string{"w", "s", "-", "f", "i", "n", " ", "0", "c", "o", "t", "e", "東", "隔", "a", "l", "x", "@", "q", "ö"}
	pastes := []string{"contoso alex", "ws-fin-00 isolat", "  ", "queued ws", "zoë münchen", "調査 ws"}
	query := ""
	spec := Spec{}
	var dst []int
	for step := range 2000 {
		switch op := rnd.IntN(20); {
		case op < 12:
			query += pieces[rnd.IntN(len(pieces))]
		case op < 16:
			if r := []rune(query); len(r) > 0 {
				query = string(r[:len(r)-1])
			}
		case op < 17:
			query = pastes[rnd.IntN(len(pastes))]
		case op < 18:
			query = ""
		case op < 19:
			var err error
			if spec, err = Parse(specs[rnd.IntN(len(specs))]); err != nil {
				t.Fatal(err)
			}
		default:
			i := rnd.IntN(len(rows))
			rows[i].Action.Status = []mde.ActionStatus{mde.StatusCancelled, mde.StatusPending, "Queued"}[rnd.IntN(3)]
			ix.Refresh(i)
		}
		dst = ix.Search(query, spec, now, dst)
		want := bruteForce(ix, query, spec)
		if !slices.Equal(dst, want) && !(len(dst) == 0 && len(want) == 0) {
			t.Fatalf("step %d: query %q spec %q: Search found %d rows, brute force %d", step, query, spec, len(dst), len(want))
		}
		if rnd.IntN(200) == 0 {
			ix.SetOrder(Order{Column: displayOrder[rnd.IntN(len(displayOrder))], Desc: rnd.IntN(2) == 0})
		}
	}
}

// Renew indexes new rows as NewIndexOrdered would, in every order and
// whether the list grew or shrank, and a refresh of as many rows writes
// over the old text instead of allocating a second one.
func TestRenewIsNewIndexInTheSameMemory(t *testing.T) {
	spec := Spec{AllStatuses: true}
	for _, o := range []Order{{}, {Desc: true}, {Column: ColDevice}} {
		ix := NewIndexOrdered(makeRows(3000, 1), o)
		_ = ix.Search("contoso", spec, now, nil) // a search to forget
		for _, rows := range [][]actiontable.Row{makeRows(3000, 2), makeRows(5000, 3), makeRows(100, 4)} {
			ix.Renew(rows, o)
			fresh := NewIndexOrdered(rows, o)
			for _, q := range []string{"", "contoso", "ws-fin", "pending 42"} {
				if got, want := ix.Search(q, spec, now, nil), fresh.Search(q, spec, now, nil); !slices.Equal(got, want) {
					t.Fatalf("%v, %d rows, %q: renewed %v, new %v", o, len(rows), q, got, want)
				}
			}
			if ix.Len() != len(rows) || ix.Order() != o {
				t.Fatalf("renewed: %d rows in %v", ix.Len(), ix.Order())
			}
		}
	}

	rows := makeRows(20_000, 5)
	ix := NewIndex(rows)
	text := len(ix.text)
	again := makeRows(20_000, 6)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	ix.Renew(again, Order{})
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > uint64(text)/2 {
		t.Errorf("a refresh of as many rows allocated %d bytes; the text alone is %d", grew, text)
	}
}
