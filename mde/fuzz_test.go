package mde

import (
	"bytes"
	"encoding/json"
	"testing"
)

var decodeSeeds = []string{
	`{"id":"a","type":"Isolate","status":"Pending","computerDnsName":"ws\u001b]52;c;AA==\u0007","creationDateTimeUtc":"2025-01-01T00:00:00Z"}`,
	`{"id":null,"status":5,"errorHResult":"x","commands":[{"command":{"type":"RunScript","params":[{"key":"k","value":"v"}]}}]}`,
	`{"lastUpdateTimeUtc":"2025-01-01T00:00:00.1234567","relatedFileInfo":{"fileIdentifier":"x"},"troubleshootInfo":{"a":[1,2]}}`,
	`{"id":"\ud800","title":"\u202e"}`, `[]`, `null`, `{`, `{"id":"a"`, `{"id":"a"}garbage`, `{"creationDateTimeUtc":"not a date"}`,
}

// FuzzDecodeEntity: any body either fails to decode with an error or gives
// an action that encodes to valid JSON and survives a round trip.
func FuzzDecodeEntity(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := decodeEntity(data)
		if err != nil {
			return
		}
		b, err := a.MarshalJSON()
		if err != nil || !json.Valid(b) {
			t.Fatalf("decoded %q, encoded invalid JSON %q (%v)", data, b, err)
		}
		a2, err := decodeEntity(b)
		if err != nil {
			t.Fatalf("own encoding %q does not decode: %v", b, err)
		}
		b2, _ := a2.MarshalJSON()
		if !bytes.Equal(b, b2) {
			t.Fatalf("round trip changed the action:\n%s\n%s", b, b2)
		}
	})
}

// FuzzReadPage: any list body is read without panicking, and a failed
// read hands out no action twice.
func FuzzReadPage(f *testing.F) {
	f.Add([]byte(`{"value":[` + decodeSeeds[0] + `,` + decodeSeeds[1] + `],"@odata.nextLink":"http://x/api/machineactions?$skip=2","@odata.count":2}`))
	f.Add([]byte(`{"value":null}`))
	f.Add([]byte(`{"value":[{"id":"a"},{"id":`))
	f.Add([]byte(`{"value":[1,2]}`))
	f.Add([]byte(`<html>503</html>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		n := 0
		p, err := readPage(bytes.NewReader(data), func(*MachineAction) { n++ })
		if err == nil && p.rows != n {
			t.Fatalf("%d rows counted, %d handed out", p.rows, n)
		}
	})
}
