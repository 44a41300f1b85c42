package mde

import (
	"encoding/json"
	"slices"
	"testing"
	"unsafe"
)

func TestOneBadFieldDoesNotLoseTheAction(t *testing.T) {
	var a MachineAction
	err := json.Unmarshal([]byte(`{"id":"a1","type":"Isolate","status":"Pending","errorHResult":"0x80004005","computerDnsName":12345,"requestor":"alex@contoso.com","commands":{"not":"a list"}}`), &a)
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != "a1" || a.Status != StatusPending || a.Requestor != "alex@contoso.com" {
		t.Fatalf("readable fields lost: %+v", a)
	}
	if !slices.Equal(a.Unreadable(), []string{"commands", "computerDnsName", "errorHResult"}) {
		t.Fatalf("Unreadable = %v", a.Unreadable())
	}
	if err := json.Unmarshal([]byte(`[1,2]`), &a); err == nil {
		t.Fatal("an array decoded as an action")
	}
}

// A tenant of 100,000 open actions is held in memory (BENCHMARKS.md, item
// 5): an action must stay within the allocator's 256-byte class, which is
// why the rarely set keys sit behind MachineAction.Rare. A key added to
// the action itself that crosses it costs 3 MB or more per 100,000.
func TestMachineActionFitsIn256Bytes(t *testing.T) {
	if n := unsafe.Sizeof(MachineAction{}); n > 256 {
		t.Errorf("MachineAction is %d bytes, over 256: put the new key in RareFields", n)
	}
	// An open action as the API sends it holds no rare field.
	var a MachineAction
	open := `{"id":"a1","type":"Isolate","status":"Pending","cancellationRequestor":null,"cancellationComment":null,` +
		`"cancellationDateTimeUtc":null,"errorHResult":0,"externalId":null,"relatedFileInfo":null,"commands":[],"troubleshootInfo":null}`
	if err := json.Unmarshal([]byte(open), &a); err != nil {
		t.Fatal(err)
	}
	if a.Rare != nil {
		t.Errorf("an open action with every rare key null holds them anyway: %+v", *a.Rare)
	}
}
