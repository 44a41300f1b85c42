package mde

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

// exampleEntity has the real single-entity shape of §1.2: every key, explicit
// nulls, 7- and 6-digit timestamps.
const exampleEntity = `{"@odata.context":"https://api.security.microsoft.com/api/$metadata#MachineActions/$entity",
 "id":"5382f7ea-7557-4ab7-9782-d50480024a4e","type":"Isolate","title":null,"requestor":"Customer App","requestorComment":"isolate for triage",
 "status":"Pending","machineId":"1e5bc9d7e413ddd7902c2932e418702b84d0cc07","computerDnsName":"desktop-7.contoso.com",
 "creationDateTimeUtc":"2024-01-02T13:39:46.7738206Z","lastUpdateDateTimeUtc":"2024-01-02T13:39:46.773821Z",
 "cancellationRequestor":null,"cancellationComment":null,"cancellationDateTimeUtc":null,
 "errorHResult":0,"scope":"Full","externalId":null,"requestSource":"PublicApi",
 "relatedFileInfo":null,"commands":[],"troubleshootInfo":null}`

// liveResponseEntity follows the run-live-response example of §1.5, with a
// finished first command.
const liveResponseEntity = `{
    "@odata.context": "https://api.securitycenter.microsoft.com/api/$metadata#MachineActions/$entity",
    "id": "b9f3a4d2-1c1e-4f5a-9d2b-0c6f1e7a8b90",
    "type": "LiveResponse",
    "requestor": "analyst@contoso.com",
    "requestorComment": "Testing Live Response API",
    "status": "InProgress",
    "machineId": "1e5bc9d7e413ddd7902c2932e418702b84d0cc07",
    "computerDnsName": "hostname",
    "creationDateTimeUtc": "2021-02-04T15:36:52.7788848Z",
    "lastUpdateDateTimeUtc": "2021-02-04T15:37:10.12Z",
    "errorHResult": 0,
    "commands": [
        {"index": 0, "startTime": "2021-02-04T15:36:58.1Z", "endTime": "2021-02-04T15:37:10Z",
         "commandStatus": "Completed", "errors": [],
         "command": {"type": "RunScript", "params": [{"key": "ScriptName", "value": "minidump.ps1"}, {"key": "Args", "value": "OfficeClickToRun"}]}},
        {"index": 1, "startTime": null, "endTime": null, "commandStatus": "Created", "errors": ["File not found"],
         "command": {"type": "GetFile", "params": [{"key": "Path", "value": "C:\\windows\\TEMP\\OfficeClickToRun.dmp.zip"}]}}
    ]
}`

func utc(y int, mo time.Month, d, h, mi, s, ns int) Timestamp {
	return Timestamp{Time: time.Date(y, mo, d, h, mi, s, ns, time.UTC)}
}

func TestGetDecodesRealShape(t *testing.T) {
	srv := entityServer(t, 200, exampleEntity)
	got, err := newTestClient(t, srv.URL).Get(context.Background(), "5382f7ea-7557-4ab7-9782-d50480024a4e")
	if err != nil {
		t.Fatal(err)
	}
	want := MachineAction{
		ID:                    "5382f7ea-7557-4ab7-9782-d50480024a4e",
		Type:                  TypeIsolate,
		Requestor:             "Customer App",
		RequestorComment:      "isolate for triage",
		Status:                StatusPending,
		MachineID:             "1e5bc9d7e413ddd7902c2932e418702b84d0cc07",
		ComputerDNSName:       "desktop-7.contoso.com",
		CreationDateTimeUtc:   utc(2024, 1, 2, 13, 39, 46, 773820600),
		LastUpdateDateTimeUtc: utc(2024, 1, 2, 13, 39, 46, 773821000),
		Scope:                 "Full",
		RequestSource:         "PublicApi",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded\n%+v\nwant\n%+v", got, want)
	}
	h := srv.Hits()
	if len(h) != 1 || h[0].Method != "GET" || h[0].Path != "/api/machineactions/5382f7ea-7557-4ab7-9782-d50480024a4e" || h[0].RawQuery != "" {
		t.Fatalf("requests: %+v", h)
	}
	for k, v := range map[string]string{"Authorization": "Bearer " + testToken, "Accept": "application/json", "User-Agent": "mdeactions"} {
		if g := h[0].Header.Get(k); g != v {
			t.Errorf("%s = %q, want %q", k, g, v)
		}
	}
	if g := h[0].Header.Get("Content-Type"); g != "" {
		t.Errorf("GET has Content-Type %q", g)
	}
}

func TestGetDecodesLiveResponseCommands(t *testing.T) {
	srv := entityServer(t, 200, liveResponseEntity)
	got, err := newTestClient(t, srv.URL).Get(context.Background(), "b9f3a4d2-1c1e-4f5a-9d2b-0c6f1e7a8b90")
	if err != nil {
		t.Fatal(err)
	}
	want := []LiveResponseCommand{
		{
			Index: 0, StartTime: utc(2021, 2, 4, 15, 36, 58, 100000000), EndTime: utc(2021, 2, 4, 15, 37, 10, 0),
			CommandStatus: "Completed", Errors: []string{},
			Command: Command{Type: "RunScript", Params: []CommandParam{{"ScriptName", "minidump.ps1"}, {"Args", "OfficeClickToRun"}}},
		},
		{
			Index: 1, CommandStatus: "Created", Errors: []string{"File not found"},
			Command: Command{Type: "GetFile", Params: []CommandParam{{"Path", `C:\windows\TEMP\OfficeClickToRun.dmp.zip`}}},
		},
	}
	if got.Type != TypeLiveResponse || got.Status != StatusInProgress || !reflect.DeepEqual(got.Commands(), want) {
		t.Errorf("decoded %+v\ncommands %+v\nwant %+v", got, got.Commands(), want)
	}
	if got.Scope != "" || got.Title != "" || got.CancellationDateTimeUtc().IsZero() == false {
		t.Errorf("absent keys should decode to zero values: %+v", got)
	}
}

func TestGetDecodesDocsSpellings(t *testing.T) {
	// The docs write "externalID" and the non-existent "lastUpdateTimeUtc".
	srv := entityServer(t, 200, `{"id":"x","type":"Offboard","status":"Succeeded","externalID":"ext-42",
		"lastUpdateTimeUtc":"2021-01-26T20:33:59.2Z","creationDateTimeUtc":"2021-01-26T20:33:58Z"}`)
	got, err := newTestClient(t, srv.URL).Get(context.Background(), "x")
	if err != nil {
		t.Fatal(err)
	}
	if got.ExternalID() != "ext-42" {
		t.Errorf("ExternalID = %q", got.ExternalID())
	}
	if want := utc(2021, 1, 26, 20, 33, 59, 200000000); got.LastUpdateDateTimeUtc != want {
		t.Errorf("LastUpdateDateTimeUtc = %v, want %v", got.LastUpdateDateTimeUtc, want)
	}
}

func TestGetIsLenient(t *testing.T) {
	// Unknown keys, unknown enum values, missing keys, nulls everywhere.
	srv := entityServer(t, 200, `{"id":"x","type":"ContainDevice","status":"Queued","brandNew":{"a":[1,2,{"b":null}]},
		"scope":null,"commands":null,"errorHResult":-2147024891,"relatedFileInfo":{"fileIdentifier":"abc","fileIdentifierType":"Sha1","more":1},
		"troubleshootInfo":{"x":1},"requestor":null}`)
	got, err := newTestClient(t, srv.URL).Get(context.Background(), "x")
	if err != nil {
		t.Fatal(err)
	}
	want := MachineAction{
		ID: "x", Type: "ContainDevice", Status: "Queued", Rare: &RareFields{ErrorHResult: -2147024891,
			RelatedFileInfo:  &RelatedFileInfo{FileIdentifier: "abc", FileIdentifierType: "Sha1"},
			TroubleshootInfo: json.RawMessage(`{"x":1}`)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded\n%+v\nwant\n%+v", got, want)
	}
}

func TestGetRejectsNonObjectEntity(t *testing.T) {
	// (An object with a wrongly typed field, {"id":5}, is decoded with that
	// field noted in Unreadable: see TestOneBadFieldDoesNotLoseTheAction.)
	for _, body := range []string{`[]`, `"x"`, `null`, `42`, ``, `{"id":`} {
		srv := entityServer(t, 200, body)
		_, err := newTestClient(t, srv.URL).Get(context.Background(), "x")
		if err == nil {
			t.Errorf("body %q: no error", body)
			continue
		}
		if !strings.HasPrefix(err.Error(), "mde: GET /api/machineactions/x: ") || !errors.Is(err, ErrBadAnswer) {
			t.Errorf("body %q: error %q does not name the request or is not ErrBadAnswer", body, err)
		}
	}
}

func TestGetChecksContentType(t *testing.T) {
	for ct, ok := range map[string]bool{
		"": true, "application/json": true, "Application/JSON; charset=utf-8": true,
		"application/json; odata.metadata=minimal; odata.streaming=true": true,
		"text/html": false, "text/plain; charset=utf-8": false,
	} {
		srv := newStub(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header()["Content-Type"] = []string{ct}
			if ct == "" {
				w.Header()["Content-Type"] = nil // no header, and no sniffing
			}
			_, _ = w.Write([]byte(`{"id":"x"}`))
		})
		_, err := newTestClient(t, srv.URL).Get(context.Background(), "x")
		if (err == nil) != ok {
			t.Errorf("content type %q: err %v, want ok=%v", ct, err, ok)
		}
	}
}

func TestCancelRequest(t *testing.T) {
	srv := newStub(t, func(w http.ResponseWriter, r *http.Request) {
		respond(w, 200, `{"id":"a/b c?d","type":"Isolate","status":"Cancelled","cancellationRequestor":"Customer App",
			"cancellationComment":"not needed: \"dup\"","cancellationDateTimeUtc":"2024-03-01T10:00:00.5Z"}`)
	})
	c := newTestClient(t, srv.URL, WithUserAgent("mdeactions/1.2 (test)"))
	got, err := c.Cancel(context.Background(), "a/b c?d", `not needed: "dup"`)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "a/b c?d" || got.Status != StatusCancelled || got.CancellationComment() != `not needed: "dup"` ||
		got.CancellationDateTimeUtc() != utc(2024, 3, 1, 10, 0, 0, 500000000) {
		t.Errorf("decoded %+v", got)
	}
	h := srv.Hits()
	if len(h) != 1 {
		t.Fatalf("%d requests", len(h))
	}
	r := h[0]
	if r.Method != "POST" || r.Path != "/api/machineactions/a%2Fb%20c%3Fd/cancel" || r.RawQuery != "" {
		t.Errorf("request %s %s?%s", r.Method, r.Path, r.RawQuery)
	}
	if want := `{"Comment":"not needed: \"dup\""}`; r.Body != want {
		t.Errorf("body %s, want %s", r.Body, want)
	}
	for k, v := range map[string]string{
		"Authorization": "Bearer " + testToken, "Content-Type": "application/json",
		"Accept": "application/json", "User-Agent": "mdeactions/1.2 (test)",
	} {
		if g := r.Header.Get(k); g != v {
			t.Errorf("%s = %q, want %q", k, g, v)
		}
	}
}

func TestCancelSendsEmptyComment(t *testing.T) {
	// The server decides whether an empty comment is acceptable.
	srv := entityServer(t, 200, `{"id":"x"}`)
	if _, err := newTestClient(t, srv.URL).Cancel(context.Background(), "x", ""); err != nil {
		t.Fatal(err)
	}
	if b := srv.Hits()[0].Body; b != `{"Comment":""}` {
		t.Errorf("body %s", b)
	}
}

func TestInvalidIDMakesNoRequest(t *testing.T) {
	srv := entityServer(t, 200, `{"id":"x"}`)
	c := newTestClient(t, srv.URL)
	for _, id := range []string{"", ".", ".."} {
		if _, err := c.Get(context.Background(), id); err == nil {
			t.Errorf("Get(%q): no error", id)
		}
		if _, err := c.Cancel(context.Background(), id, "c"); err == nil {
			t.Errorf("Cancel(%q): no error", id)
		}
	}
	if n := len(srv.Hits()); n != 0 {
		t.Errorf("%d requests reached the server", n)
	}
}

func TestReadOnlyRefusesCancelWithoutIO(t *testing.T) {
	srv := entityServer(t, 200, `{"id":"x"}`)
	ts := &countingTokens{token: testToken}
	c, err := NewClient(srv.URL, nil, ts, WithReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Cancel(context.Background(), "x", "comment")
	if !errors.Is(err, ErrReadOnly) {
		t.Fatalf("err = %v, want ErrReadOnly", err)
	}
	if n := len(srv.Hits()); n != 0 || ts.Calls() != 0 {
		t.Errorf("%d requests and %d token calls, want none", n, ts.Calls())
	}
	if _, err := c.Get(context.Background(), "x"); err != nil {
		t.Errorf("Get in read-only mode: %v", err)
	}
	if _, err := c.List(context.Background(), Query{}); err == nil || errors.Is(err, ErrReadOnly) {
		// The stub answers an entity, not a list: List must fail, but not for being read-only.
		t.Errorf("List in read-only mode: %v", err)
	}
}

func TestTokenSourceErrorIsWrapped(t *testing.T) {
	srv := entityServer(t, 200, `{"id":"x"}`)
	boom := errors.New("device code expired")
	c, err := NewClient(srv.URL, nil, &countingTokens{err: boom})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Get(context.Background(), "x")
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "GET /api/machineactions/x") {
		t.Errorf("err = %v", err)
	}
	if n := len(srv.Hits()); n != 0 {
		t.Errorf("%d requests without a token", n)
	}
}

func TestEmptyTokenSendsNoAuthorization(t *testing.T) {
	srv := entityServer(t, 200, `{"id":"x"}`)
	c, err := NewClient(srv.URL, nil, StaticToken(""))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(context.Background(), "x"); err != nil {
		t.Fatal(err)
	}
	if v, ok := srv.Hits()[0].Header["Authorization"]; ok {
		t.Errorf("Authorization %q sent", v)
	}
}

func TestContextIsPassed(t *testing.T) {
	srv := entityServer(t, 200, `{"id":"x"}`)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := newTestClient(t, srv.URL).Get(ctx, "x")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestTransportErrorNamesRequest(t *testing.T) {
	srv := entityServer(t, 200, `{"value":[]}`)
	c := newTestClient(t, srv.URL)
	srv.Close()
	_, err := c.List(context.Background(), Query{Statuses: []ActionStatus{StatusPending}})
	if err == nil {
		t.Fatal("no error from a closed server")
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "mde: GET "+srv.URL+"/api/machineactions: ") || strings.Contains(msg, "filter") || strings.Contains(msg, "?") {
		t.Errorf("error %q", msg)
	}
}

func TestEntityBodyIsCapped(t *testing.T) {
	srv := entityServer(t, 200, `{"id":"x","title":"`+strings.Repeat("a", 200)+`"}`)
	c := newTestClient(t, srv.URL)
	c.maxEntityBody = 100
	_, err := c.Get(context.Background(), "x")
	if err == nil || !strings.Contains(err.Error(), "larger than the 100-byte limit") {
		t.Errorf("err = %v", err)
	}
	c.maxEntityBody = int64(len(`{"id":"x","title":"`) + 200 + 2) // exactly the body
	if _, err := c.Get(context.Background(), "x"); err != nil {
		t.Errorf("a body of exactly the limit: %v", err)
	}
}

func TestNewClient(t *testing.T) {
	for _, bad := range []string{"", "api.security.microsoft.com", "/api", "ftp://host", "https://", "https://u:p@host",
		"https://host?x=1", "https://host#f", "://x",
		// Plain http would send the token in clear text off this machine.
		"http://api.security.microsoft.com", "http://192.0.2.2:18091", "http://127.example.com"} {
		if _, err := NewClient(bad, nil, StaticToken("t")); err == nil {
			t.Errorf("NewClient(%q): no error", bad)
		}
	}
	if _, err := NewClient("https://host", nil, nil); err == nil {
		t.Error("nil token source accepted")
	}
	for in, want := range map[string]string{
		"https://api.security.microsoft.com":          "https://api.security.microsoft.com",
		"https://api.security.microsoft.com/":         "https://api.security.microsoft.com",
		"HTTP://127.0.0.1:8080/prefix/":               "http://127.0.0.1:8080/prefix",
		"http://localhost:9":                          "http://localhost:9",
		"http://[::1]:9":                              "http://[::1]:9",
		"https://api-gcc.securitycenter.microsoft.us": "https://api-gcc.securitycenter.microsoft.us",
	} {
		c, err := NewClient(in, nil, StaticToken("t"))
		if err != nil {
			t.Errorf("NewClient(%q): %v", in, err)
			continue
		}
		if c.BaseURL() != want {
			t.Errorf("BaseURL() = %q, want %q", c.BaseURL(), want)
		}
		if c.hc.Timeout != 30*time.Second {
			t.Errorf("default timeout %v", c.hc.Timeout)
		}
	}
	hc := &http.Client{}
	c, _ := NewClient("https://host", hc, StaticToken("t"))
	if c.hc != hc {
		t.Error("the given http.Client is not used")
	}
}

func TestPathPrefixIsKept(t *testing.T) {
	srv := entityServer(t, 200, `{"id":"x"}`)
	if _, err := newTestClient(t, srv.URL+"/proxy/").Get(context.Background(), "x"); err != nil {
		t.Fatal(err)
	}
	if p := srv.Hits()[0].Path; p != "/proxy/api/machineactions/x" {
		t.Errorf("path %q", p)
	}
}
