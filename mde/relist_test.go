package mde_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/mde/mdesim"
)

// Every field of a machine action counts for Same, the rare ones too: a
// field added to the type and forgotten there would let a refresh keep a
// stale action.
func TestSameComparesEveryField(t *testing.T) {
	base := mde.MachineAction{
		ID: "a", Type: mde.TypeIsolate, Status: mde.StatusPending,
		CreationDateTimeUtc: mde.Timestamp{Time: t0},
		Rare: &mde.RareFields{
			Commands:         []mde.LiveResponseCommand{{Index: 1, Errors: []string{"e"}, Command: mde.Command{Type: "RunScript", Params: []mde.CommandParam{{Key: "k", Value: "v"}}}}},
			RelatedFileInfo:  &mde.RelatedFileInfo{FileIdentifier: "f"},
			TroubleshootInfo: json.RawMessage(`{"x":1}`),
			Unreadable:       []string{"title"},
		},
	}
	same := base
	if !base.Same(&same) {
		t.Fatal("an action is not the Same as its copy")
	}
	later := base
	later.CreationDateTimeUtc = mde.Timestamp{Time: t0.In(time.FixedZone("CET", 3600))}
	if !base.Same(&later) {
		t.Error("the same instant in another zone is not the Same")
	}
	none, zero := mde.MachineAction{ID: "b"}, mde.MachineAction{ID: "b", Rare: &mde.RareFields{}}
	if !none.Same(&zero) || !zero.Same(&none) {
		t.Error("no rare fields and unset rare fields are not the Same")
	}
	// change sets field i of v (a struct) to another value.
	change := func(v reflect.Value, i int) {
		f, name := v.Field(i), v.Type().Field(i).Name
		switch f.Kind() {
		case reflect.String:
			f.SetString(f.String() + "x")
		case reflect.Int64:
			f.SetInt(f.Int() + 1)
		case reflect.Struct: // Timestamp
			f.Set(reflect.ValueOf(mde.Timestamp{Time: t0.Add(time.Second)}))
		case reflect.Slice:
			switch name {
			case "Commands":
				c := []mde.LiveResponseCommand{base.Rare.Commands[0]}
				c[0].Command.Params = []mde.CommandParam{{Key: "k", Value: "w"}}
				f.Set(reflect.ValueOf(c))
			case "TroubleshootInfo":
				f.Set(reflect.ValueOf(json.RawMessage(`{"x":2}`)))
			default:
				f.Set(reflect.ValueOf([]string{"other"}))
			}
		case reflect.Pointer:
			f.Set(reflect.ValueOf(&mde.RelatedFileInfo{FileIdentifier: "g"}))
		default:
			t.Fatalf("field %s: kind %s not covered by this test", name, f.Kind())
		}
	}
	typ := reflect.TypeOf(base)
	for i := range typ.NumField() {
		if typ.Field(i).Name == "Rare" {
			continue
		}
		other := base
		change(reflect.ValueOf(&other).Elem(), i)
		if base.Same(&other) {
			t.Errorf("a different %s is still the Same", typ.Field(i).Name)
		}
	}
	rt := reflect.TypeOf(*base.Rare)
	for i := range rt.NumField() {
		other, rare := base, *base.Rare
		other.Rare = &rare
		change(reflect.ValueOf(&rare).Elem(), i)
		if base.Same(&other) || other.Same(&base) {
			t.Errorf("a different %s is still the Same", rt.Field(i).Name)
		}
	}
}

// Relist keeps every action that did not change (the earlier list's own
// value, not a copy), brings the changed and new ones, drops the ones no
// longer listed, and pages exactly like List.
func TestRelistKeepsWhatDidNotChange(t *testing.T) {
	srv := startSim(t, mdesim.Options{Seed: 3, Actions: 300})
	c := newClient(t, srv.URL)
	q := mde.Query{Statuses: []mde.ActionStatus{mde.StatusPending, mde.StatusInProgress}, PageSize: 40}
	ctx := context.Background()

	first, err := c.Relist(ctx, q, nil)
	if err != nil {
		t.Fatal(err)
	}
	values, err := c.List(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != len(values) || len(first) < 3 {
		t.Fatalf("Relist %d actions, List %d", len(first), len(values))
	}
	for i := range values {
		if asJSON(t, *first[i]) != asJSON(t, values[i]) {
			t.Fatalf("action %d: Relist and List disagree", i)
		}
	}

	changed, gone := *first[1], *first[2]
	changed.RequestorComment = "changed since"
	srv.Sim.Put(changed)
	gone.Status = mde.StatusSucceeded
	srv.Sim.Put(gone)
	added := mde.MachineAction{ID: "00000000-0000-0000-0000-00000000abcd", Type: mde.TypeIsolate, Status: mde.StatusPending,
		MachineID: first[0].MachineID, ComputerDNSName: first[0].ComputerDNSName,
		CreationDateTimeUtc: mde.Timestamp{Time: t0}, LastUpdateDateTimeUtc: mde.Timestamp{Time: t0}}
	srv.Sim.Put(added)

	calls := srv.Sim.Requests(mdesim.EndpointList)
	again, err := c.Relist(ctx, q, first)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := srv.Sim.Requests(mdesim.EndpointList)-calls, (len(first)+40)/40; got != want {
		t.Errorf("%d list calls for %d actions in pages of 40, want %d", got, len(again), want)
	}
	prev := map[string]*mde.MachineAction{}
	for _, a := range first {
		prev[a.ID] = a
	}
	seen := map[string]bool{}
	for _, a := range again {
		seen[a.ID] = true
		switch a.ID {
		case changed.ID:
			if a == prev[a.ID] || a.RequestorComment != "changed since" {
				t.Errorf("the changed action: kept the earlier value (%v) or the old comment %q", a == prev[a.ID], a.RequestorComment)
			}
		case added.ID:
			if a.Status != mde.StatusPending {
				t.Errorf("the new action: %+v", a)
			}
		default:
			if a != prev[a.ID] {
				t.Errorf("action %s did not change but is a new copy", a.ID)
			}
		}
	}
	if seen[gone.ID] || !seen[added.ID] || !seen[changed.ID] || len(again) != len(first) {
		t.Errorf("listed again: gone %v, added %v, changed %v, %d actions (was %d)", seen[gone.ID], seen[added.ID], seen[changed.ID], len(again), len(first))
	}
	// The earlier list was only read.
	if first[1].RequestorComment == "changed since" || first[2].Status == mde.StatusSucceeded {
		t.Error("Relist wrote to the earlier list")
	}
}
