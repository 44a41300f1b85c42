package mde

import (
	"fmt"
	"testing"
)

// earlier finds every action of the earlier list, whatever came or went
// or moved, and none that was not in it.
func TestEarlierFindsByIDInAnyOrder(t *testing.T) {
	prev := make([]*MachineAction, 100)
	for i := range prev {
		prev[i] = &MachineAction{ID: fmt.Sprint("id-", i)}
	}
	prev[50] = nil
	var ids []string
	ids = append(ids, "new-1", "new-2") // came, at the top
	for i := 0; i < 30; i++ {           // in order
		ids = append(ids, prev[i].ID)
	}
	for i := 70; i < 100; i++ { // 40 went (more than the window)
		ids = append(ids, prev[i].ID)
	}
	ids = append(ids, prev[35].ID, prev[31].ID) // moved back
	find := earlier(prev)
	for _, id := range ids {
		got := find(id)
		switch {
		case id[:3] == "new" && got != nil:
			t.Errorf("%s: found %v, it was not listed before", id, got.ID)
		case id[:3] != "new" && (got == nil || got.ID != id):
			t.Errorf("%s: found %v", id, got)
		}
	}
	if find("id-50") != nil {
		t.Error("a nil entry was found")
	}
	if earlier(nil)("id-1") != nil {
		t.Error("found an action in an empty list")
	}
}
