package mdesim

import (
	"strings"
	"testing"

	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/mde/reliability"
)

// injections are values that try to break out of the OData string literal
// the filter builder puts them in.
var injections = []string{
	"'", "''", "' or id ne '", "x') or (id ne 'y", "' or 1 eq 1 or id eq '", "%27 or true", "a&$top=1", "a+b c",
	"会議室-pc01", "\u202eexe.gpj", "\x00\x1b]52;c;AA==\x07", "\\'", "a,b", "(id eq 'a')", "a#frag", "ẞ-ß-Σ-σ",
}

// FuzzQueryFilter builds a filter from two arbitrary values with the
// client's Query, sends it through the URL encoding, and parses it with
// the simulator's OData parser: it must parse, and mean exactly "id is a,
// requestor is a or b, machineId is b", whatever quotes, unicode or
// operators the values hold.
func FuzzQueryFilter(f *testing.F) {
	for i, s := range injections {
		f.Add(s, injections[(i+1)%len(injections)])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		q := mde.Query{IDs: []string{a}, Requestors: []string{a, b}, MachineIDs: []string{b}}
		lq, err := parseListQuery(q.Values(0).Encode())
		if err != nil {
			t.Fatalf("filter for %q, %q does not parse: %v", a, b, err)
		}
		if lq.filter == nil {
			t.Fatalf("no filter parsed from %q", q.Filter())
		}
		match := func(id, req, machine string) bool {
			return lq.filter.match(&mde.MachineAction{ID: id, Requestor: req, MachineID: machine})
		}
		if !match(a, b, b) || !match(a, a, b) {
			t.Fatalf("filter %q does not match its own values", q.Filter())
		}
		if match(a+"x", b, b) || match(a, b, b+"x") || match("x"+a, a, b) {
			t.Fatalf("filter %q matches other values: the literal was broken out of", q.Filter())
		}
		if !strings.EqualFold(b+"x", a) && !strings.EqualFold(b+"x", b) && match(a, b+"x", b) {
			t.Fatalf("filter %q matches another requestor", q.Filter())
		}
	})
}

func TestQueryInjectionsRecorded(t *testing.T) {
	for _, s := range injections {
		q := mde.Query{IDs: []string{s}}
		lq, err := parseListQuery(q.Values(0).Encode())
		if err != nil || !lq.filter.match(&mde.MachineAction{ID: s}) || lq.filter.match(&mde.MachineAction{ID: s + "'"}) {
			t.Fatalf("%q: %v", s, err)
		}
	}
	reliability.Record(t, reliability.Row{Area: "hostile input", Fault: "OData filter values with quotes, `' or 1 eq 1`, parentheses, `&$top=`, `%27`, NUL, escapes, bidi and unicode (plus the fuzz corpus)",
		Outcome: "each stays one string literal: the simulator's OData parser reads back exactly the value, nothing more"})
}
