package mde

import (
	"encoding/json"
	"slices"
	"testing"
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
