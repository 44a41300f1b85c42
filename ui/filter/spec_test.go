package filter

import (
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/ui/actiontable"
	"github.com/mdeactions/mdeactions/ui/format"
)

var open = []mde.ActionStatus{mde.StatusPending, mde.StatusInProgress}

func TestQueryEachField(t *testing.T) {
	halfSecond := now.Add(500 * time.Millisecond)
	tests := []struct {
		name   string
		spec   Spec
		now    time.Time
		want   mde.Query
		filter string
	}{
		{"default", Spec{}, now,
			mde.Query{Statuses: open},
			"status in ('Pending','InProgress')"},
		{"one status", Spec{Statuses: []mde.ActionStatus{mde.StatusFailed}}, now,
			mde.Query{Statuses: []mde.ActionStatus{mde.StatusFailed}},
			"status eq 'Failed'"},
		{"statuses deduplicated in lifecycle order, API casing", Spec{Statuses: []mde.ActionStatus{"cancelled", mde.StatusPending, mde.StatusCancelled}}, now,
			mde.Query{Statuses: []mde.ActionStatus{mde.StatusPending, mde.StatusCancelled}},
			"status in ('Pending','Cancelled')"},
		{"all statuses sends none", Spec{AllStatuses: true, Statuses: []mde.ActionStatus{mde.StatusFailed}}, now,
			mde.Query{},
			""},
		{"types", Spec{AllStatuses: true, Types: []mde.ActionType{mde.TypeRunAntiVirusScan, mde.TypeIsolate, "isolate"}}, now,
			mde.Query{Types: []mde.ActionType{mde.TypeIsolate, mde.TypeRunAntiVirusScan}},
			"type in ('Isolate','RunAntiVirusScan')"},
		{"device substring stays client-side", Spec{AllStatuses: true, Device: "ws-fin"}, now,
			mde.Query{},
			""},
		{"device machine id goes server-side, lower-cased", Spec{AllStatuses: true, Device: " " + strings.ToUpper(machineA) + " "}, now,
			mde.Query{MachineIDs: []string{machineA}},
			"machineId eq '" + machineA + "'"},
		{"39 hex digits are a name", Spec{AllStatuses: true, Device: machineA[:39]}, now,
			mde.Query{},
			""},
		{"requestor as typed, quote escaped", Spec{AllStatuses: true, Requestor: "O'Brien@contoso.com"}, now,
			mde.Query{Requestors: []string{"O'Brien@contoso.com"}},
			"requestor eq 'O''Brien@contoso.com'"},
		{"age", Spec{AllStatuses: true, OlderThan: 2 * time.Hour}, now,
			mde.Query{CreatedBefore: now.Add(-2 * time.Hour)},
			"creationDateTimeUtc lt 2026-05-01T10:00:00Z"},
		{"age rounded up to the second", Spec{AllStatuses: true, OlderThan: 2 * time.Hour}, halfSecond,
			mde.Query{CreatedBefore: now.Add(-2*time.Hour + time.Second)},
			"creationDateTimeUtc lt 2026-05-01T10:00:01Z"},
		{"everything", Spec{Statuses: []mde.ActionStatus{mde.StatusPending}, Types: []mde.ActionType{mde.TypeIsolate},
			Device: machineB, Requestor: "alex@contoso.com", OlderThan: 24 * time.Hour}, now,
			mde.Query{Statuses: []mde.ActionStatus{mde.StatusPending}, Types: []mde.ActionType{mde.TypeIsolate},
				MachineIDs: []string{machineB}, Requestors: []string{"alex@contoso.com"}, CreatedBefore: now.Add(-24 * time.Hour)},
			"status eq 'Pending' and type eq 'Isolate' and machineId eq '" + machineB + "' and requestor eq 'alex@contoso.com' and creationDateTimeUtc lt 2026-04-30T12:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.spec.Query(tt.now)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Query = %#v\nwant    %#v", got, tt.want)
			}
			if f := got.Filter(); f != tt.filter {
				t.Errorf("Filter = %q\nwant     %q", f, tt.filter)
			}
			if got.PageSize != 0 {
				t.Errorf("PageSize = %d, want 0 (the client's default)", got.PageSize)
			}
		})
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		text string
		want Spec
	}{
		{"", Spec{}},
		{"   ", Spec{}},
		{"status:pending,inprogress", Spec{}},
		{"status:open", Spec{}},
		{"STATUS:Pending", Spec{Statuses: []mde.ActionStatus{mde.StatusPending}}},
		{"status:in", Spec{Statuses: []mde.ActionStatus{mde.StatusInProgress}}},
		{"status:pending, failed", Spec{Statuses: []mde.ActionStatus{mde.StatusPending, mde.StatusFailed}}},
		{"status:final", Spec{Statuses: []mde.ActionStatus{mde.StatusSucceeded, mde.StatusFailed, mde.StatusTimeOut, mde.StatusCancelled}}},
		{"status:canceled status:TIMEOUT", Spec{Statuses: []mde.ActionStatus{mde.StatusTimeOut, mde.StatusCancelled}}},
		{"status:all status:final", Spec{AllStatuses: true}},
		{"type:isolate", Spec{Types: []mde.ActionType{mde.TypeIsolate}}},
		{"type:av scan", Spec{Types: []mde.ActionType{mde.TypeRunAntiVirusScan}}},
		{`type:"AV scan"`, Spec{Types: []mde.ActionType{mde.TypeRunAntiVirusScan}}},
		{"type:RunAntiVirusScan", Spec{Types: []mde.ActionType{mde.TypeRunAntiVirusScan}}},
		{"type:scan", Spec{Types: []mde.ActionType{mde.TypeRunAntiVirusScan}}},
		{"type:av-scan,isolate type:Live resp.", Spec{Types: []mde.ActionType{mde.TypeIsolate, mde.TypeRunAntiVirusScan, mde.TypeLiveResponse}}},
		{"type:collect pkg", Spec{Types: []mde.ActionType{mde.TypeCollectInvestigationPackage}}},
		{"type:unrestrictcodeexecution", Spec{Types: []mde.ActionType{mde.TypeUnrestrictCodeExecution}}},
		{"device:WS-FIN", Spec{Device: "WS-FIN"}},
		{"device:" + machineA, Spec{Device: machineA}},
		{"requestor:Customer App", Spec{Requestor: "Customer App"}},
		{`requestor:"a \"b\" c\\d"`, Spec{Requestor: `a "b" c\d`}},
		{`requestor:CONTOSO\alex`, Spec{Requestor: `CONTOSO\alex`}},
		{"tenant:Contoso-EU", Spec{Tenant: "Contoso-EU"}},
		{`tenant:"contoso eu"`, Spec{Tenant: "contoso eu"}},
		{"age>2h", Spec{OlderThan: 2 * time.Hour}},
		{"AGE>1d12h", Spec{OlderThan: 36 * time.Hour}},
		{"age:>90m", Spec{OlderThan: 90 * time.Minute}},
		{"age>1w", Spec{OlderThan: 7 * 24 * time.Hour}},
		{"age>1.5h", Spec{OlderThan: 90 * time.Minute}},
		{"age>2h 30m", Spec{OlderThan: 150 * time.Minute}},
		{"status:pending,inprogress type:isolate device:ws-fin requestor:alex@contoso.com age>2h status:all status:final",
			Spec{AllStatuses: true, Types: []mde.ActionType{mde.TypeIsolate}, Device: "ws-fin", Requestor: "alex@contoso.com", OlderThan: 2 * time.Hour}},
		{"\tstatus:pending\x1b[31m\n type:isolate", Spec{Statuses: []mde.ActionStatus{mde.StatusPending}, Types: []mde.ActionType{mde.TypeIsolate}}},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			got, err := Parse(tt.text)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.text, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Parse(%q) = %#v\nwant %#v", tt.text, got, tt.want)
			}
			// And back.
			again, err := Parse(got.String())
			if err != nil {
				t.Fatalf("Parse(String() = %q): %v", got.String(), err)
			}
			if !reflect.DeepEqual(again, got) {
				t.Fatalf("Parse(%q) = %#v, want %#v", got.String(), again, got)
			}
		})
	}
}

func TestStringIsCompactAndRoundTrips(t *testing.T) {
	tests := []struct {
		spec Spec
		text string
	}{
		{Spec{}, ""},
		{Spec{Statuses: open}, ""},
		{Spec{Statuses: []mde.ActionStatus{mde.StatusPending}, Types: []mde.ActionType{mde.TypeIsolate}, Device: "ws-fin", OlderThan: 2 * time.Hour},
			"status:Pending type:Isolate device:ws-fin age>2h"},
		{Spec{AllStatuses: true}, "status:all"},
		{Spec{Statuses: []mde.ActionStatus{mde.StatusSucceeded, mde.StatusFailed, mde.StatusTimeOut, mde.StatusCancelled}}, "status:final"},
		{Spec{Statuses: []mde.ActionStatus{mde.StatusPending, mde.StatusSucceeded, mde.StatusFailed, mde.StatusTimeOut, mde.StatusCancelled}}, "status:Pending,final"},
		{Spec{Types: []mde.ActionType{mde.TypeRunAntiVirusScan, mde.TypeLiveResponse}}, "type:RunAntiVirusScan,LiveResponse"},
		{Spec{Requestor: "Customer App"}, `requestor:"Customer App"`},
		{Spec{Device: `say "hi", ok`}, `device:"say \"hi\", ok"`},
		{Spec{Requestor: `CONTOSO\alex x`}, `requestor:"CONTOSO\\alex x"`},
		{Spec{OlderThan: 36*time.Hour + 90*time.Second}, "age>1d12h1m30s"},
		{Spec{OlderThan: 7 * 24 * time.Hour}, "age>7d"},
		{Spec{Device: "東京-営業"}, "device:東京-営業"},
		{Spec{Device: "ws", Tenant: "contoso-eu", OlderThan: time.Hour}, "device:ws tenant:contoso-eu age>1h"},
	}
	for _, tt := range tests {
		if got := tt.spec.String(); got != tt.text {
			t.Errorf("String() = %q, want %q", got, tt.text)
		}
		back, err := Parse(tt.text)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.text, err)
			continue
		}
		if back.String() != tt.text {
			t.Errorf("Parse(%q).String() = %q", tt.text, back.String())
		}
		if (tt.spec.Statuses == nil || tt.text != "") && !reflect.DeepEqual(back, tt.spec) {
			t.Errorf("Parse(%q) = %#v, want %#v", tt.text, back, tt.spec)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		text  string
		token string
		want  []string // in the message
	}{
		{"status:pendng", "status:pendng", []string{`unknown status "pendng"`, "valid: pending, inprogress", "final", "all"}},
		{"status:", "status:", []string{"needs a value", "pending"}},
		{"status:c", "status:c", []string{"ambiguous", "cancelled", "closed"}},
		{"type:nuke", "type:nuke", []string{`unknown type "nuke"`, "isolate", "av scan", "RunAntiVirusScan"}},
		{"type:un", "type:un", []string{"ambiguous", "unisolate", "unrestrict"}},
		{"foo:bar", "foo:bar", []string{`unknown key "foo"`, "status:", "age>"}},
		{"ws-fin", "ws-fin", []string{"not a filter", "use / "}},
		{"device:a device:b", "device:b", []string{"already given", `"device:a"`}},
		{"requestor:", "requestor:", []string{"needs a value"}},
		{"requestor:a requestor:b", "requestor:b", []string{"already given"}},
		{"tenant:", "tenant:", []string{"needs a value", "TENANT column"}},
		{"tenant:a tenant:b", "tenant:b", []string{"already given", "one tenant at a time"}},
		{`device:"ws fin`, `device:"ws fin`, []string{"not closed"}},
		{"status>pending", "status>pending", []string{"only age takes '>'"}},
		{"age>2", "age>2", []string{"needs a unit", "s, m, h, d or w"}},
		{"age>2y", "age>2y", []string{`unknown unit "y"`}},
		{"age>0s", "age>0s", []string{"at least one second"}},
		{"age>", "age>", []string{"needs a duration"}},
		{"age>99999d", "age>99999d", []string{"too long"}},
		{"age>h", "age>h", []string{"expected a number"}},
		{"age<2h", "age<2h", []string{"only age>DURATION"}},
		{"age:2h", "age:2h", []string{"write age>DURATION"}},
		{"age>1h age>2h", "age>2h", []string{"already given"}},
		{"type=isolate", "type=isolate", []string{"write type:VALUE"}},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			s, err := Parse(tt.text)
			if err == nil {
				t.Fatalf("Parse(%q) = %#v, want an error", tt.text, s)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T, want *ParseError", err)
			}
			if pe.Token != tt.token {
				t.Errorf("Token = %q, want %q", pe.Token, tt.token)
			}
			msg := err.Error()
			if !strings.Contains(msg, strconv.Quote(tt.token)) {
				// The message names the token, quoted.
				t.Errorf("error %q does not name %q", msg, tt.token)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
			if !reflect.DeepEqual(s, Spec{}) {
				t.Errorf("a failed Parse returned %#v, want the zero Spec", s)
			}
		})
	}
}

func TestEveryTypeLabelAndNameParses(t *testing.T) {
	for _, typ := range mde.ActionTypes {
		for _, text := range []string{string(typ), format.TypeLabel(typ), strings.ToUpper(format.TypeLabel(typ))} {
			s, err := Parse("type:" + quoteValue(text))
			if err != nil {
				t.Errorf("type:%s: %v", text, err)
				continue
			}
			if len(s.Types) != 1 || s.Types[0] != typ {
				t.Errorf("type:%s = %v, want %v", text, s.Types, typ)
			}
		}
	}
}

func TestMatch(t *testing.T) {
	base := row{id: "a1", typ: "Isolate", status: "Pending", dns: "ws-fin-0042.contoso.com", machine: machineA,
		requestor: "Alex@Contoso.com", comment: "IR case 117", age: 3 * time.Hour}
	with := func(f func(*row)) row { r := base; f(&r); return r }
	tests := []struct {
		name string
		spec Spec
		row  row
		want bool
	}{
		// Statuses.
		{"default: pending", Spec{}, base, true},
		{"default: in progress", Spec{}, with(func(r *row) { r.status = "InProgress" }), true},
		{"default: lower-case pending", Spec{}, with(func(r *row) { r.status = "pending" }), true},
		{"default: succeeded", Spec{}, with(func(r *row) { r.status = "Succeeded" }), false},
		{"default: cancelled", Spec{}, with(func(r *row) { r.status = "Cancelled" }), false},
		{"default: unknown status", Spec{}, with(func(r *row) { r.status = "Queued" }), false},
		{"default: no status", Spec{}, with(func(r *row) { r.status = "" }), false},
		{"final: cancelled", Spec{Statuses: []mde.ActionStatus{mde.StatusCancelled}}, with(func(r *row) { r.status = "Cancelled" }), true},
		{"final: pending", Spec{Statuses: []mde.ActionStatus{mde.StatusCancelled}}, base, false},
		{"all: unknown status", Spec{AllStatuses: true}, with(func(r *row) { r.status = "Queued" }), true},
		{"all: no status", Spec{AllStatuses: true}, with(func(r *row) { r.status = "" }), true},
		{"unknown status by name", Spec{Statuses: []mde.ActionStatus{"queued"}}, with(func(r *row) { r.status = "Queued" }), true},
		{"unknown status by name: pending", Spec{Statuses: []mde.ActionStatus{"Queued"}}, base, false},
		// Types.
		{"type isolate", Spec{Types: []mde.ActionType{mde.TypeIsolate}}, base, true},
		{"type scan vs isolate", Spec{Types: []mde.ActionType{mde.TypeRunAntiVirusScan}}, base, false},
		{"type isolate vs unknown type", Spec{Types: []mde.ActionType{mde.TypeIsolate}}, with(func(r *row) { r.typ = "RemoveAppRestriction" }), false},
		{"type isolate vs no type", Spec{Types: []mde.ActionType{mde.TypeIsolate}}, with(func(r *row) { r.typ = "" }), false},
		{"no type filter: unknown type", Spec{}, with(func(r *row) { r.typ = "RemoveAppRestriction" }), true},
		{"no type filter: no type", Spec{}, with(func(r *row) { r.typ = "" }), true},
		{"unknown type by name", Spec{Types: []mde.ActionType{"removeapprestriction"}}, with(func(r *row) { r.typ = "RemoveAppRestriction" }), true},
		// Device.
		{"device substring, other case", Spec{Device: "WS-FIN"}, base, true},
		{"device elsewhere in the name", Spec{Device: "contoso"}, base, true},
		{"device no match", Spec{Device: "ws-hr"}, base, false},
		{"device: no name, id shown", Spec{Device: "1e5c0f"}, with(func(r *row) { r.dns = "" }), true},
		{"device: no name and no id", Spec{Device: "ws"}, with(func(r *row) { r.dns, r.machine = "", "" }), false},
		{"device matches the comment only", Spec{Device: "117"}, base, false},
		{"machine id, other case", Spec{Device: strings.ToUpper(machineA)}, base, true},
		{"machine id of another machine", Spec{Device: machineB}, base, false},
		{"machine id: row without id", Spec{Device: machineA}, with(func(r *row) { r.machine = "" }), false},
		// Requestor.
		{"requestor exact, other case", Spec{Requestor: "alex@contoso.com"}, base, true},
		{"requestor is not a substring match", Spec{Requestor: "alex"}, base, false},
		{"requestor longer", Spec{Requestor: "alex@contoso.com.evil"}, base, false},
		{"requestor missing", Spec{Requestor: "alex@contoso.com"}, with(func(r *row) { r.requestor = "" }), false},
		// Tenant.
		{"tenant exact, other case", Spec{Tenant: "Contoso-EU"}, with(func(r *row) { r.tenant = "contoso-eu" }), true},
		{"tenant is not a prefix match", Spec{Tenant: "contoso"}, with(func(r *row) { r.tenant = "contoso-eu" }), false},
		{"tenant: a row of one profile", Spec{Tenant: "contoso"}, base, false},
		// Age.
		{"older than 2h: 3h", Spec{OlderThan: 2 * time.Hour}, base, true},
		{"older than 2h: 1h", Spec{OlderThan: 2 * time.Hour}, with(func(r *row) { r.age = time.Hour }), false},
		{"older than 2h: exactly 2h", Spec{OlderThan: 2 * time.Hour}, with(func(r *row) { r.age = 2 * time.Hour }), false},
		{"older than 2h: no time", Spec{OlderThan: 2 * time.Hour}, with(func(r *row) { r.age = 0 }), false},
		{"no age filter: no time", Spec{}, with(func(r *row) { r.age = 0 }), true},
		// Everything at once.
		{"all fields", Spec{Statuses: []mde.ActionStatus{mde.StatusPending}, Types: []mde.ActionType{mde.TypeIsolate},
			Device: "fin", Requestor: "ALEX@contoso.com", OlderThan: time.Hour}, base, true},
		{"all fields but one", Spec{Statuses: []mde.ActionStatus{mde.StatusPending}, Types: []mde.ActionType{mde.TypeIsolate},
			Device: "fin", Requestor: "ALEX@contoso.com", OlderThan: 4 * time.Hour}, base, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.row.build()
			if got := tt.spec.Match(&r, now); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
			// The index must agree.
			if got := NewIndex([]actiontable.Row{r}).Search("", tt.spec, now, nil); (len(got) == 1) != tt.want {
				t.Errorf("Index.Search found %d rows, want the row: %v", len(got), tt.want)
			}
		})
	}
}

func TestMatchUnreadableTimeIsUnknown(t *testing.T) {
	r := actiontable.NewRow(mde.MachineAction{ID: "x", Type: mde.TypeIsolate, Status: mde.StatusPending,
		CreationDateTimeUtc: mde.Timestamp{Raw: "yesterday"}})
	if (Spec{OlderThan: time.Second}).Match(&r, now) {
		t.Error("a row with an unreadable creation time matched an age filter")
	}
	if !(Spec{}).Match(&r, now) {
		t.Error("a row with an unreadable creation time is hidden without an age filter")
	}
}

func TestCovers(t *testing.T) {
	must := func(text string) Spec {
		s, err := Parse(text)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tests := []struct {
		loaded, next string
		covers       bool
	}{
		{"", "", true},
		{"", "status:pending", true},
		{"", "status:final", false},
		{"", "status:all", false},
		{"status:all", "status:final", true},
		{"status:pending", "", false},
		{"", "type:isolate device:ws-fin", true},
		{"type:isolate", "", false},
		{"type:isolate,scan", "type:scan", true},
		{"type:isolate", "type:scan", false},
		{"", "device:" + machineA, true},
		{"device:" + machineA, "device:" + strings.ToUpper(machineA), true},
		{"device:" + machineA, "device:ws-fin", false},
		{"device:ws-fin", "device:ws-hr", true},
		{"requestor:alex@contoso.com", "", false},
		{"requestor:alex@contoso.com", "requestor:alex@contoso.com type:isolate", true},
		{"requestor:alex@contoso.com", "requestor:Alex@contoso.com", false},
		{"", "requestor:alex@contoso.com", true},
		{"age>2h", "age>3h", true},
		{"age>2h", "age>1h", false},
		{"age>2h", "", false},
		{"", "age>1h", true},
		{"", "tenant:contoso", true},
		{"tenant:contoso", "tenant:fabrikam", true},
	}
	for _, tt := range tests {
		if got := must(tt.loaded).Covers(must(tt.next)); got != tt.covers {
			t.Errorf("(%q).Covers(%q) = %v, want %v", tt.loaded, tt.next, got, tt.covers)
		}
		if got := NeedsReload(must(tt.loaded), must(tt.next)); got == tt.covers {
			t.Errorf("NeedsReload(%q, %q) = %v", tt.loaded, tt.next, got)
		}
	}
}
