package mdesim

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mdeactions/mdeactions/mde"
)

func TestFilterForms(t *testing.T) {
	s, _ := newTestSim(t, Options{Seed: 20})
	s.Put(mde.MachineAction{
		ID: "0b1e2c3d-0000-4000-8000-00000000beef", Type: mde.TypeIsolate, Status: mde.StatusPending,
		Requestor: "o'brien@contoso.com", MachineID: strings.Repeat("1f", 20),
		CreationDateTimeUtc: mde.Timestamp{Time: time.Date(2025, 3, 12, 0, 0, 0, 0, time.UTC)},
	})
	all := s.Actions()
	a0, a1 := all[5], all[60]
	dev := a0.MachineID
	day := time.Date(2025, 3, 12, 0, 0, 0, 0, time.UTC)
	cut := time.Date(2025, 3, 13, 6, 0, 0, 0, time.UTC)
	fold := strings.EqualFold

	cases := []struct {
		filter string
		want   func(a mde.MachineAction) bool
	}{
		{"status eq 'Pending'", func(a mde.MachineAction) bool { return a.Status == "Pending" }},
		{"status eq 'pending'", func(a mde.MachineAction) bool { return a.Status == "Pending" }},
		{"Status EQ 'InProgress'", func(a mde.MachineAction) bool { return a.Status == "InProgress" }},
		{"status ne 'Succeeded'", func(a mde.MachineAction) bool { return a.Status != "Succeeded" }},
		{"id eq '" + a0.ID + "'", func(a mde.MachineAction) bool { return a.ID == a0.ID }},
		{"id eq '" + strings.ToUpper(a0.ID) + "'", func(a mde.MachineAction) bool { return a.ID == a0.ID }},
		{"id in ('" + a0.ID + "','" + a1.ID + "')", func(a mde.MachineAction) bool { return a.ID == a0.ID || a.ID == a1.ID }},
		{"id IN ( '" + a0.ID + "' , '" + a1.ID + "' )", func(a mde.MachineAction) bool { return a.ID == a0.ID || a.ID == a1.ID }},
		{"type in ('Isolate','Unisolate')", func(a mde.MachineAction) bool { return a.Type == "Isolate" || a.Type == "Unisolate" }},
		{"MachineId eq '" + dev + "'", func(a mde.MachineAction) bool { return a.MachineID == dev }},
		{"requestor eq 'Analyst@contoso.com' and type eq 'RunAntiVirusScan'", func(a mde.MachineAction) bool {
			return fold(a.Requestor, "analyst@contoso.com") && a.Type == "RunAntiVirusScan"
		}},
		{"requestor eq 'alex.morgan@contoso.com' and type eq 'RunAntiVirusScan'", func(a mde.MachineAction) bool {
			return a.Requestor == "alex.morgan@contoso.com" && a.Type == "RunAntiVirusScan"
		}},
		{"requestor eq 'Contoso SOAR' AND status eq 'Pending'", func(a mde.MachineAction) bool {
			return a.Requestor == "Contoso SOAR" && a.Status == "Pending"
		}},
		{"type eq 'Isolate' or type eq 'Offboard'", func(a mde.MachineAction) bool { return a.Type == "Isolate" || a.Type == "Offboard" }},
		{"machineId eq '" + dev + "' and (type eq 'Isolate' or type eq 'Unisolate')", func(a mde.MachineAction) bool {
			return a.MachineID == dev && (a.Type == "Isolate" || a.Type == "Unisolate")
		}},
		// and binds tighter than or.
		{"type eq 'Offboard' or type eq 'Isolate' and status eq 'Pending'", func(a mde.MachineAction) bool {
			return a.Type == "Offboard" || (a.Type == "Isolate" && a.Status == "Pending")
		}},
		{"(type eq 'Offboard' or type eq 'Isolate') and status eq 'Pending'", func(a mde.MachineAction) bool {
			return (a.Type == "Offboard" || a.Type == "Isolate") && a.Status == "Pending"
		}},
		{"((status eq 'Failed'))", func(a mde.MachineAction) bool { return a.Status == "Failed" }},
		{"not status in ('Pending','InProgress')", func(a mde.MachineAction) bool { return !a.Status.Open() }},
		{"not (type eq 'Isolate' or status eq 'Pending')", func(a mde.MachineAction) bool { return a.Type != "Isolate" && a.Status != "Pending" }},
		{"creationDateTimeUtc ge 2025-03-12T00:00:00Z", func(a mde.MachineAction) bool { return !a.CreationDateTimeUtc.Before(day) }},
		{"creationDateTimeUtc gt 2025-03-12T00:00:00Z", func(a mde.MachineAction) bool { return a.CreationDateTimeUtc.After(day) }},
		{"CreationDateTimeUtc lt 2025-03-12T00:00:00.0000000Z", func(a mde.MachineAction) bool { return a.CreationDateTimeUtc.Before(day) }},
		{"creationDateTimeUtc le '2025-03-12T00:00:00Z'", func(a mde.MachineAction) bool { return !a.CreationDateTimeUtc.After(day) }},
		{"creationDateTimeUtc eq 2025-03-12Z", func(a mde.MachineAction) bool { return a.CreationDateTimeUtc.Equal(day) }},
		{"creationDateTimeUtc ge 2025-03-12T00:00:00Z and creationDateTimeUtc lt 2025-03-13T06:00:00Z", func(a mde.MachineAction) bool {
			return !a.CreationDateTimeUtc.Before(day) && a.CreationDateTimeUtc.Before(cut)
		}},
		{"creationDateTimeUtc ge 2025-03-13T07:00:00+01:00", func(a mde.MachineAction) bool { return !a.CreationDateTimeUtc.Before(cut) }},
		{"creationDateTimeUtc lt " + a0.CreationDateTimeUtc.Format(mde.TimeLayout), func(a mde.MachineAction) bool {
			return a.CreationDateTimeUtc.Before(a0.CreationDateTimeUtc.Time)
		}},
		{"requestor eq 'o''brien@contoso.com'", func(a mde.MachineAction) bool { return a.Requestor == "o'brien@contoso.com" }},
		{"requestor in ('O''Brien@contoso.com', 'x')", func(a mde.MachineAction) bool { return a.Requestor == "o'brien@contoso.com" }},
	}
	for _, c := range cases {
		var want []string
		for _, a := range all {
			if c.want(a) {
				want = append(want, a.ID)
			}
		}
		b := list(t, s, "/api/machineactions?$filter="+url.QueryEscape(c.filter))
		if got := ids(b.Value); !slices.Equal(got, want) {
			t.Errorf("$filter=%s: %d rows, want %d", c.filter, len(got), len(want))
		}
	}
}

// TestFilterCasesAreNotVacuous guards the table above: its interesting
// filters must match some rows and not all of them.
func TestFilterCasesAreNotVacuous(t *testing.T) {
	s, _ := newTestSim(t, Options{Seed: 20})
	for _, f := range []string{
		"status eq 'Pending'", "type in ('Isolate','Unisolate')",
		"creationDateTimeUtc ge 2025-03-12T00:00:00Z and creationDateTimeUtc lt 2025-03-13T06:00:00Z",
		"requestor eq 'alex.morgan@contoso.com' and type eq 'RunAntiVirusScan'",
		"type eq 'Offboard' or type eq 'Isolate' and status eq 'Pending'",
	} {
		n := len(list(t, s, "/api/machineactions?$filter="+url.QueryEscape(f)).Value)
		if n == 0 || n == 400 {
			t.Errorf("%s matches %d of 400", f, n)
		}
	}
}

func TestKibanaPollingPattern(t *testing.T) {
	s, _ := newTestSim(t, Options{Seed: 21})
	all := s.Actions()
	q := "$count=true&$top=1000&$filter=" + url.QueryEscape("id in ('"+all[1].ID+"','"+all[2].ID+"')")
	b := list(t, s, "/api/machineactions?"+q)
	if *b.Count != 2 || len(b.Value) != 2 || b.Value[0].ID != all[1].ID {
		t.Errorf("count %d rows %v", *b.Count, ids(b.Value))
	}
}

func TestMalformedFilters(t *testing.T) {
	s, _ := newTestSim(t, Options{Seed: 22})
	for _, f := range []string{
		"",
		"status",
		"status eq",
		"status eq Pending",
		"status eq 'Pending",
		"status = 'Pending'",
		"status eq 'Pending' and",
		"(status eq 'Pending'",
		"status eq 'Pending')",
		"title eq 'x'",
		"computerDnsName eq 'x'",
		"status gt 'Pending'",
		"status startswith 'P'",
		"id in 'a'",
		"id in ('a' 'b')",
		"id in ()",
		"creationDateTimeUtc ge 'yesterday'",
		"creationDateTimeUtc ge 2025-13-45",
		"status eq 'Pending' or or status eq 'Failed'",
		"status eq 'Pending' status eq 'Failed'",
	} {
		rec := do(t, s, http.MethodGet, "/api/machineactions?$filter="+url.QueryEscape(f), "")
		b := wantError(t, rec, http.StatusBadRequest, "ODataError", "")
		if !strings.HasPrefix(b.Error.Message, "Invalid OData URI query: ") {
			t.Errorf("%q: message %q", f, b.Error.Message)
		}
	}
}

func TestTokenizer(t *testing.T) {
	toks, err := tokenize("(Status eq 'it''s')and creationDateTimeUtc ge 2024-01-01T00:00:00.5Z,")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tk := range toks {
		got = append(got, tk.text)
	}
	want := []string{"(", "Status", "eq", "it's", ")", "and", "creationDateTimeUtc", "ge", "2024-01-01T00:00:00.5Z", ",", ""}
	if !slices.Equal(got, want) {
		t.Errorf("tokens %q, want %q", got, want)
	}
	if toks[3].kind != tokString || toks[8].kind != tokLiteral || toks[10].kind != tokEOF {
		t.Error("wrong token kinds")
	}
	for _, bad := range []string{"'open", "a & b", "x = 'y'"} {
		if _, err := tokenize(bad); err == nil {
			t.Errorf("tokenize(%q) succeeded", bad)
		}
	}
}
