package mdesim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/mdeactions/mdeactions/mde"
)

func TestListDefault(t *testing.T) {
	s, _ := newTestSim(t, Options{Seed: 1})
	rec := do(t, s, http.MethodGet, "/api/machineactions", "")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	wantHeaders(t, rec)
	const prefix = `{"@odata.context":"https://api.security.microsoft.com/api/$metadata#MachineActions","value":[{"id":`
	if !strings.HasPrefix(rec.Body.String(), prefix) {
		t.Errorf("body starts %q, want %q", rec.Body.String()[:120], prefix)
	}
	var b listBody
	if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
		t.Fatal(err)
	}
	if len(b.Value) != 400 || b.Count != nil || b.NextLink != "" {
		t.Fatalf("got %d rows, count %v, nextLink %q; want 400 rows and neither", len(b.Value), b.Count, b.NextLink)
	}
	for i := 1; i < len(b.Value); i++ {
		if b.Value[i].CreationDateTimeUtc.After(b.Value[i-1].CreationDateTimeUtc.Time) {
			t.Fatalf("row %d is newer than row %d: default order must be newest first", i, i-1)
		}
	}
	if got, want := ids(b.Value), ids(s.Actions()); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Error("list order differs from Actions()")
	}
}

func TestListAliasesAndContextBase(t *testing.T) {
	s, _ := newTestSim(t, Options{Seed: 1, ContextBase: "https://api-us3.securitycenter.microsoft.com/"})
	for _, path := range []string{"/api/v1.0/machineactions", "/api/MachineActions", "/api/machineactions/"} {
		b := list(t, s, path+"?$top=1")
		if b.Context != "https://api-us3.securitycenter.microsoft.com/api/$metadata#MachineActions" {
			t.Errorf("%s: context %q", path, b.Context)
		}
		if len(b.Value) != 1 {
			t.Errorf("%s: %d rows", path, len(b.Value))
		}
	}
	id := s.Actions()[0].ID
	rec := do(t, s, http.MethodGet, "/api/v1.0/machineactions/"+id, "")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"@odata.context":"https://api-us3.securitycenter.microsoft.com/api/$metadata#MachineActions/$entity"`) {
		t.Errorf("v1.0 get: %d %s", rec.Code, rec.Body)
	}
}

func TestGetByID(t *testing.T) {
	s, _ := newTestSim(t, Options{Seed: 2})
	a := s.Actions()[17]
	rec := do(t, s, http.MethodGet, "/api/machineactions/"+a.ID, "")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	wantHeaders(t, rec)
	want := a.MarshalEntity("https://api.security.microsoft.com/api/$metadata#MachineActions/$entity")
	if rec.Body.String() != string(want) {
		t.Errorf("body\n%s\nwant\n%s", rec.Body, want)
	}
	// Ids are matched case-insensitively.
	if rec := do(t, s, http.MethodGet, "/api/machineactions/"+strings.ToUpper(a.ID), ""); rec.Code != http.StatusOK {
		t.Errorf("upper-case id: status %d", rec.Code)
	}
}

func TestGetUnknownID(t *testing.T) {
	s, _ := newTestSim(t, Options{Seed: 2})
	for _, id := range []string{"00000000-0000-4000-8000-000000000000", "not-a-guid"} {
		rec := do(t, s, http.MethodGet, "/api/machineactions/"+id, "")
		wantError(t, rec, http.StatusNotFound, "ResourceNotFound", "MachineAction "+id+" was not found")
	}
}

func TestExplicitNulls(t *testing.T) {
	s, _ := newTestSim(t, Options{Seed: 3})
	a := firstWhere(t, s, "an open Offboard", func(a mde.MachineAction) bool {
		return a.Status.Open() && a.Type == mde.TypeOffboard && a.ExternalID() == ""
	})
	rec := do(t, s, http.MethodGet, "/api/machineactions/"+a.ID, "")
	body := rec.Body.String()
	for _, want := range []string{
		`"title":null`, `"cancellationRequestor":null`, `"cancellationComment":null`,
		`"cancellationDateTimeUtc":null`, `"errorHResult":0`, `"scope":null`, `"externalId":null`,
		`"relatedFileInfo":null`, `"commands":[]`, `"troubleshootInfo":null`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %s: %s", want, body)
		}
	}
	// The list body carries the same explicit nulls.
	lrec := do(t, s, http.MethodGet, "/api/machineactions?$filter=id+eq+'"+a.ID+"'", "")
	if !strings.Contains(lrec.Body.String(), `"title":null,`) || !strings.Contains(lrec.Body.String(), `"troubleshootInfo":null}`) {
		t.Errorf("list body lacks explicit nulls: %s", lrec.Body)
	}
}

func TestUnauthorized(t *testing.T) {
	s, _ := newTestSim(t, Options{Seed: 1})
	for _, auth := range []string{"", "Bearer", "Bearer ", "Bearer    ", "Basic dXNlcjpwYXNz", "token"} {
		for _, target := range []string{"/api/machineactions", "/api/machineactions/x", "/api/nothing"} {
			req := httptest.NewRequest(http.MethodGet, target, nil)
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			wantError(t, rec, http.StatusUnauthorized, "Unauthorized", "")
		}
	}
	// Requests are counted before authentication.
	if got := s.Requests(EndpointList); got != 6 {
		t.Errorf("Requests(list) = %d, want 6", got)
	}
	if got := s.Requests(EndpointGet); got != 6 {
		t.Errorf("Requests(get) = %d, want 6", got)
	}
	// The scheme is case-insensitive.
	req := httptest.NewRequest(http.MethodGet, "/api/machineactions?$top=1", nil)
	req.Header.Set("Authorization", "bearer abc")
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Errorf("lower-case scheme: status %d", rec.Code)
	}
}

func TestAuthorizeHook(t *testing.T) {
	s, _ := newTestSim(t, Options{Seed: 1, Authorize: func(r *http.Request) (string, error) {
		switch r.Header.Get("Authorization") {
		case "Bearer alice":
			return "alice@contoso.com", nil
		case "Bearer app":
			return "", nil // falls back to Options.Principal
		}
		return "", errors.New("token expired")
	}, Principal: "default@contoso.com"})

	req := httptest.NewRequest(http.MethodGet, "/api/machineactions", nil)
	req.Header.Set("Authorization", "Bearer bob")
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	wantError(t, rec, http.StatusUnauthorized, "Unauthorized", "token expired")

	open := func() string {
		return firstWhere(t, s, "open", func(a mde.MachineAction) bool { return a.Status.Open() }).ID
	}
	for token, want := range map[string]string{"alice": "alice@contoso.com", "app": "default@contoso.com"} {
		req := httptest.NewRequest(http.MethodPost, "/api/machineactions/"+open()+"/cancel", strings.NewReader(`{"Comment":"x"}`))
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		var a mde.MachineAction
		if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil || rec.Code != http.StatusOK {
			t.Fatalf("cancel: %d %s", rec.Code, rec.Body)
		}
		if a.CancellationRequestor() != want {
			t.Errorf("token %s: cancellationRequestor %q, want %q", token, a.CancellationRequestor(), want)
		}
	}
}

func TestUnknownPathAndWrongMethod(t *testing.T) {
	s, _ := newTestSim(t, Options{Seed: 1})
	id := s.Actions()[0].ID
	for _, target := range []string{"/api/machines", "/", "/api/machineactionsX", "/api/machineactions/" + id + "/undo", "/api/machineactions/" + id + "/cancel/x"} {
		wantError(t, do(t, s, http.MethodGet, target, ""), http.StatusNotFound, "NotFound", "")
	}
	for _, c := range []struct{ method, target, allow string }{
		{http.MethodPost, "/api/machineactions", "GET"},
		{http.MethodDelete, "/api/machineactions/" + id, "GET"},
		{http.MethodGet, "/api/machineactions/" + id + "/cancel", "POST"},
		{http.MethodPut, "/api/machineactions/" + id + "/cancel", "POST"},
	} {
		rec := do(t, s, c.method, c.target, "")
		wantError(t, rec, http.StatusMethodNotAllowed, "BadRequest", "")
		if got := rec.Header().Get("Allow"); got != c.allow {
			t.Errorf("%s %s: Allow %q, want %q", c.method, c.target, got, c.allow)
		}
	}
	if a, _ := s.Action(id); a.Status == mde.StatusCancelled {
		t.Error("a GET on /cancel cancelled the action")
	}
}

func TestCancelHappyPath(t *testing.T) {
	s, clock := newTestSim(t, Options{Seed: 4, Principal: "responder@contoso.com"})
	before := firstWhere(t, s, "a Pending Isolate", func(a mde.MachineAction) bool {
		return a.Status == mde.StatusPending && a.Type == mde.TypeIsolate
	})
	clock.Advance(30_000_123_456) // 30.000123456 s: the stored time is cut to 100 ns
	now := toTick(clock.Now())

	rec := do(t, s, http.MethodPost, "/api/machineactions/"+before.ID+"/cancel", `{"Comment":"Wrong device selected"}`)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	wantHeaders(t, rec)
	if !strings.HasPrefix(rec.Body.String(), `{"@odata.context":"https://api.security.microsoft.com/api/$metadata#MachineActions/$entity","id":"`+before.ID+`"`) {
		t.Errorf("body starts %s", rec.Body.String()[:140])
	}
	var got mde.MachineAction
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.ID != before.ID || got.Status != mde.StatusCancelled {
		t.Errorf("id %s status %s, want same id, Cancelled", got.ID, got.Status)
	}
	if got.CancellationRequestor() != "responder@contoso.com" || got.CancellationComment() != "Wrong device selected" {
		t.Errorf("cancellation requestor %q comment %q", got.CancellationRequestor(), got.CancellationComment())
	}
	if !got.CancellationDateTimeUtc().Equal(now) || !got.LastUpdateDateTimeUtc.Equal(now) {
		t.Errorf("cancelled at %v, last update %v, want both %v", got.CancellationDateTimeUtc(), got.LastUpdateDateTimeUtc, now)
	}
	if !got.LastUpdateDateTimeUtc.After(before.LastUpdateDateTimeUtc.Time) {
		t.Error("lastUpdateDateTimeUtc did not move")
	}
	if !strings.Contains(rec.Body.String(), `"cancellationDateTimeUtc":"2025-03-14T09:30:30.0001234Z"`) {
		t.Errorf("cancellation time not written with 7 digits: %s", rec.Body)
	}
	// The change is in place: get and list see it, the rest is unchanged.
	stored, _ := s.Action(before.ID)
	if stored.Status != mde.StatusCancelled || stored.Type != before.Type || stored.MachineID != before.MachineID ||
		!stored.CreationDateTimeUtc.Equal(before.CreationDateTimeUtc.Time) || stored.RequestorComment != before.RequestorComment {
		t.Errorf("stored action %+v", stored)
	}
	if n := len(s.Actions()); n != 400 {
		t.Errorf("cancel created or removed actions: %d", n)
	}
	// A second cancel fails: the action is final now.
	wantError(t, do(t, s, http.MethodPost, "/api/machineactions/"+before.ID+"/cancel", `{"Comment":"again"}`),
		http.StatusBadRequest, "BadRequest", "Action "+before.ID+" is already in a final state (Cancelled) and cannot be cancelled")
	// A cancelled generated action no longer follows its schedule.
	clock.Advance(80 * 3600e9)
	if a, _ := s.Action(before.ID); a.Status != mde.StatusCancelled {
		t.Errorf("after 80h the cancelled action is %s", a.Status)
	}
}

func TestCancelBodyErrors(t *testing.T) {
	s, _ := newTestSim(t, Options{Seed: 4})
	id := firstWhere(t, s, "open", func(a mde.MachineAction) bool { return a.Status.Open() }).ID
	cases := []struct {
		body, code string
	}{
		{``, "InvalidRequestBody"},
		{`not json`, "InvalidRequestBody"},
		{`[]`, "InvalidRequestBody"},
		{`null`, "InvalidRequestBody"},
		{`{"Comment": 5}`, "InvalidRequestBody"},
		{`{}`, "MissingRequiredParameter"},
		{`{"Comment": null}`, "MissingRequiredParameter"},
		{`{"Comment": ""}`, "MissingRequiredParameter"},
		{`{"Comment": " \t\n "}`, "MissingRequiredParameter"},
		{`{"comment": "lower-case key"}`, "MissingRequiredParameter"},
		{`{"Comment": "` + strings.Repeat("x", 1001) + `"}`, "InvalidInput"},
	}
	for _, c := range cases {
		rec := do(t, s, http.MethodPost, "/api/machineactions/"+id+"/cancel", c.body)
		b := wantError(t, rec, http.StatusBadRequest, c.code, "")
		if c.code == "MissingRequiredParameter" && b.Error.Message != "Comment is required" {
			t.Errorf("%s: message %q", c.body, b.Error.Message)
		}
	}
	if a, _ := s.Action(id); a.Status == mde.StatusCancelled {
		t.Error("a rejected cancel changed the action")
	}
	// 1000 characters (CJK counts one each) are accepted.
	rec := do(t, s, http.MethodPost, "/api/machineactions/"+id+"/cancel", `{"Comment":"`+strings.Repeat("取", 1000)+`"}`)
	if rec.Code != http.StatusOK {
		t.Errorf("1000-character comment: %d %s", rec.Code, rec.Body)
	}
}

func TestCancelUnknownID(t *testing.T) {
	s, _ := newTestSim(t, Options{Seed: 4})
	id := "11111111-2222-4333-8444-555555555555"
	wantError(t, do(t, s, http.MethodPost, "/api/machineactions/"+id+"/cancel", `{"Comment":"x"}`),
		http.StatusNotFound, "ResourceNotFound", "MachineAction "+id+" was not found")
}

func TestCancelFinalStates(t *testing.T) {
	s, _ := newTestSim(t, Options{Seed: 5})
	for _, status := range []mde.ActionStatus{mde.StatusSucceeded, mde.StatusFailed, mde.StatusTimeOut, mde.StatusCancelled} {
		a := firstWhere(t, s, string(status), func(a mde.MachineAction) bool { return a.Status == status })
		rec := do(t, s, http.MethodPost, "/api/machineactions/"+a.ID+"/cancel", `{"Comment":"too late"}`)
		wantError(t, rec, http.StatusBadRequest, "BadRequest",
			fmt.Sprintf("Action %s is already in a final state (%s) and cannot be cancelled", a.ID, status))
		after, _ := s.Action(a.ID)
		if b1, _ := json.Marshal(after); string(b1) != string(mustJSON(t, a)) {
			t.Errorf("%s action changed by a rejected cancel", status)
		}
	}
}

func TestCancelLiveResponseKeepsCommands(t *testing.T) {
	s, _ := newTestSim(t, Options{Seed: 5})
	lr := mde.MachineAction{
		ID: "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee", Type: mde.TypeLiveResponse, Status: mde.StatusInProgress,
		MachineID: strings.Repeat("ab", 20), ComputerDNSName: "ws-test-0001.contoso.local",
		CreationDateTimeUtc: mde.Timestamp{Time: testStart.Add(-3600e9)}, RequestSource: "PublicApi",
		Rare: &mde.RareFields{Commands: []mde.LiveResponseCommand{
			{Index: 0, CommandStatus: "Completed", Errors: []string{}, StartTime: mde.Timestamp{Time: testStart.Add(-600e9)}, EndTime: mde.Timestamp{Time: testStart.Add(-300e9)}},
			{Index: 1, CommandStatus: "Executing", Errors: []string{}, StartTime: mde.Timestamp{Time: testStart.Add(-300e9)}},
		}},
	}
	s.Put(lr)
	rec := do(t, s, http.MethodPost, "/api/machineactions/"+lr.ID+"/cancel", `{"Comment":"stop"}`)
	var got mde.MachineAction
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != http.StatusOK {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if got.Commands()[0].CommandStatus != "Completed" || got.Commands()[1].CommandStatus != "Executing" {
		t.Errorf("commands changed: %+v", got.Commands())
	}
	if !got.CompletedBeforeCancel() {
		t.Error("want the Cancelled-with-a-Completed-command race")
	}
}

func TestPutAndSnapshots(t *testing.T) {
	s, clock := newTestSim(t, Options{Seed: 6})
	a := mde.MachineAction{
		ID: "ABCDEF00-0000-4000-8000-000000000001", Type: mde.TypeIsolate, Status: mde.StatusPending,
		Requestor: "o'brien@contoso.com", MachineID: strings.Repeat("0", 40),
		CreationDateTimeUtc: mde.Timestamp{Time: testStart.Add(1e9)}, Rare: &mde.RareFields{Commands: []mde.LiveResponseCommand{{Index: 0}}},
	}
	s.Put(a)
	if got := s.Actions(); got[0].ID != a.ID || len(got) != 401 {
		t.Fatalf("Put action not first (newest): %s, %d actions", got[0].ID, len(got))
	}
	// Snapshots are copies.
	snap, _ := s.Action(strings.ToLower(a.ID))
	snap.Commands()[0].CommandStatus = "mutated"
	if again, _ := s.Action(a.ID); again.Commands()[0].CommandStatus == "mutated" {
		t.Error("Action returned shared state")
	}
	// Put actions do not move by themselves.
	clock.Advance(5 * 24 * 3600e9)
	if got, _ := s.Action(a.ID); got.Status != mde.StatusPending {
		t.Errorf("Put action moved to %s", got.Status)
	}
	// Replace.
	a.Status = mde.StatusSucceeded
	s.Put(a)
	if got, _ := s.Action(a.ID); got.Status != mde.StatusSucceeded || len(s.Actions()) != 401 {
		t.Errorf("replace: status %s, %d actions", got.Status, len(s.Actions()))
	}
}

func TestPutReplacesScheduledAction(t *testing.T) {
	s, clock := newTestSim(t, Options{Seed: 6})
	p := plans(s, func(sc *schedule) bool { return sc.pickedUp() })[0]
	g, _ := s.Action(p.id)
	s.Put(g)
	clock.Set(p.sched.finishAt.Add(1e9))
	if got, _ := s.Action(p.id); got.Status != g.Status {
		t.Errorf("replaced generated action moved from %s to %s", g.Status, got.Status)
	}
	// Without the Put it would have moved.
	s2, clock2 := newTestSim(t, Options{Seed: 6})
	clock2.Set(p.sched.finishAt.Add(1e9))
	if got, _ := s2.Action(p.id); got.Status == g.Status {
		t.Errorf("generated action did not move from %s", g.Status)
	}
}

func TestStartServesOnLoopback(t *testing.T) {
	srv, err := Start(Options{Seed: 7, Clock: NewManualClock(testStart)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Errorf("URL %s is not loopback", srv.URL)
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/machineactions?$top=5&$count=true", nil)
	req.Header.Set("Authorization", "Bearer x")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b listBody
	if err := json.NewDecoder(resp.Body).Decode(&b); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%d %v", resp.StatusCode, err)
	}
	if len(b.Value) != 5 || b.Count == nil || *b.Count != 400 {
		t.Errorf("%d rows, count %v", len(b.Value), b.Count)
	}
	if srv.Sim.Requests(EndpointList) != 1 {
		t.Errorf("Requests(list) = %d", srv.Sim.Requests(EndpointList))
	}
	if err := srv.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Error("server still answers after Close")
	}
}

// TestConcurrentUse hammers every endpoint from many goroutines while the
// clock moves; run with -race.
func TestConcurrentUse(t *testing.T) {
	clock := NewManualClock(testStart)
	srv, err := Start(Options{Seed: 8, Clock: clock, NoLimits: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	open := []string{}
	for _, a := range srv.Sim.Actions() {
		if a.Status.Open() {
			open = append(open, a.ID)
		}
	}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 15 {
				id := open[(w*15+i)%len(open)]
				for _, r := range []struct{ method, path, body string }{
					{http.MethodGet, "/api/machineactions?$top=20&$filter=status+in+('Pending','InProgress')", ""},
					{http.MethodGet, "/api/machineactions/" + id, ""},
					{http.MethodPost, "/api/machineactions/" + id + "/cancel", `{"Comment":"load"}`},
				} {
					req, _ := http.NewRequest(r.method, srv.URL+r.path, strings.NewReader(r.body))
					req.Header.Set("Authorization", "Bearer x")
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 && resp.StatusCode != 400 {
						t.Errorf("%s %s: %d", r.method, r.path, resp.StatusCode)
					}
				}
				clock.Advance(60e9)
				srv.Sim.Actions()
			}
		}()
	}
	wg.Wait()
	for _, ep := range []string{EndpointList, EndpointGet, EndpointCancel} {
		if got := srv.Sim.Requests(ep); got != 120 {
			t.Errorf("Requests(%s) = %d, want 120", ep, got)
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
