package mde_test

// Contract tests: the client against the simulator, over real HTTP.

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/mde/mdesim"
)

const contractToken = "contract-test-token-0123456789"

var t0 = time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)

// startSim starts a simulator on a stopped clock (so nothing moves between
// a snapshot and a request) with no rate limits unless opts has some.
func startSim(t *testing.T, opts mdesim.Options) *mdesim.Server {
	t.Helper()
	if opts.Clock == nil {
		opts.Clock = mdesim.NewManualClock(t0)
	}
	if opts.Limits == nil {
		opts.NoLimits = true
	}
	srv, err := mdesim.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

func newClient(t *testing.T, baseURL string, opts ...mde.Option) *mde.Client {
	t.Helper()
	c, err := mde.NewClient(baseURL, nil, mde.StaticToken(contractToken), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// asJSON is the wire form, which is how two actions are compared (it
// ignores nil-versus-empty slices).
func asJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func idsOf(actions []mde.MachineAction) []string {
	out := make([]string, len(actions))
	for i, a := range actions {
		out[i] = a.ID
	}
	return out
}

func apiError(t *testing.T, err error, status int, code string) *mde.APIError {
	t.Helper()
	e, ok := mde.AsAPIError(err)
	if !ok {
		t.Fatalf("err = %v, want an *APIError %d %s", err, status, code)
	}
	if e.StatusCode != status || e.Code != code || e.Message == "" {
		t.Errorf("got %d %q %q, want %d %s", e.StatusCode, e.Code, e.Message, status, code)
	}
	if strings.Contains(e.Error(), contractToken) {
		t.Errorf("the token is in %q", e.Error())
	}
	return e
}

func TestContractListAll(t *testing.T) {
	t.Parallel()
	srv := startSim(t, mdesim.Options{Seed: 7})
	got, err := newClient(t, srv.URL).List(context.Background(), mde.Query{})
	if err != nil {
		t.Fatal(err)
	}
	want := srv.Sim.Actions()
	if len(want) == 0 || asJSON(t, got) != asJSON(t, want) {
		t.Errorf("List returned %d actions that differ from the simulator's %d", len(got), len(want))
	}
	if n := srv.Sim.Requests(mdesim.EndpointList); n != 1 {
		t.Errorf("%d list calls, want 1", n)
	}
}

func TestContractGet(t *testing.T) {
	t.Parallel()
	srv := startSim(t, mdesim.Options{Seed: 7})
	c := newClient(t, srv.URL)
	// One of each type and each status, commands and cancellations included.
	picked := map[string]mde.MachineAction{}
	for _, a := range srv.Sim.Actions() {
		for _, k := range []string{"t:" + string(a.Type), "s:" + string(a.Status)} {
			if _, ok := picked[k]; !ok {
				picked[k] = a
			}
		}
	}
	if len(picked) < 12 {
		t.Fatalf("the tenant has only %d type/status kinds", len(picked))
	}
	for k, want := range picked {
		got, err := c.Get(context.Background(), want.ID)
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		if asJSON(t, got) != asJSON(t, want) {
			t.Errorf("%s: Get\n%s\nwant\n%s", k, asJSON(t, got), asJSON(t, want))
		}
	}
	if n := srv.Sim.Requests(mdesim.EndpointGet); n != len(picked) {
		t.Errorf("%d get calls, want %d", n, len(picked))
	}
}

func TestContractGetNotFound(t *testing.T) {
	t.Parallel()
	srv := startSim(t, mdesim.Options{Seed: 7})
	const id = "00000000-0000-4000-8000-000000000000"
	_, err := newClient(t, srv.URL).Get(context.Background(), id)
	e := apiError(t, err, 404, "ResourceNotFound")
	if !mde.IsNotFound(err) || e.Target == "" || !strings.Contains(e.Message, id) ||
		e.Method != "GET" || e.Path != "/api/machineactions/"+id {
		t.Errorf("got %+v", *e)
	}
}

func strs[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

// matches is the query's meaning, written in Go over the simulator's
// snapshot. String comparisons ignore case as the API's do.
func matches(q mde.Query, a mde.MachineAction) bool {
	in := func(v string, set []string) bool {
		return len(set) == 0 || slices.ContainsFunc(set, func(s string) bool { return strings.EqualFold(s, v) })
	}
	c := a.CreationDateTimeUtc.Time
	return in(a.ID, q.IDs) && in(string(a.Status), strs(q.Statuses)) && in(string(a.Type), strs(q.Types)) &&
		in(a.MachineID, q.MachineIDs) && in(a.Requestor, q.Requestors) &&
		(q.CreatedFrom.IsZero() || !c.Before(q.CreatedFrom)) &&
		(q.CreatedBefore.IsZero() || c.Before(q.CreatedBefore))
}

func TestContractFilters(t *testing.T) {
	t.Parallel()
	srv := startSim(t, mdesim.Options{Seed: 11, Actions: 600})
	srv.Sim.Put(mde.MachineAction{
		ID: "0f0e0d0c-0b0a-4908-8706-050403020100", Type: mde.TypeIsolate, Status: mde.StatusPending,
		Requestor: "O'Brien", RequestorComment: "quote test", MachineID: "ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12",
		ComputerDNSName: "pc-quote", CreationDateTimeUtc: mde.Timestamp{Time: t0.Add(-time.Hour)},
		LastUpdateDateTimeUtc: mde.Timestamp{Time: t0.Add(-time.Hour)}, RequestSource: "PublicApi",
	})
	all := srv.Sim.Actions()
	first := func(pred func(mde.MachineAction) bool) mde.MachineAction {
		for _, a := range all {
			if pred(a) {
				return a
			}
		}
		t.Fatal("no action fits")
		return mde.MachineAction{}
	}
	a := all[3]
	other := first(func(x mde.MachineAction) bool {
		return x.MachineID != a.MachineID && x.Requestor != a.Requestor && x.Type != a.Type
	})
	mid := all[len(all)/2].CreationDateTimeUtc.Time
	recent := all[len(all)/5].CreationDateTimeUtc.Time

	cases := []struct {
		name string
		q    mde.Query
	}{
		{"one id", mde.Query{IDs: []string{all[10].ID}}},
		{"ids", mde.Query{IDs: []string{all[1].ID, all[100].ID, all[len(all)-1].ID, "ffffffff-0000-4000-8000-000000000000"}}},
		{"upper-case id", mde.Query{IDs: []string{strings.ToUpper(all[20].ID)}}},
		{"status", mde.Query{Statuses: []mde.ActionStatus{mde.StatusPending}}},
		{"statuses", mde.Query{Statuses: []mde.ActionStatus{mde.StatusPending, mde.StatusInProgress}}},
		{"type", mde.Query{Types: []mde.ActionType{mde.TypeLiveResponse}}},
		{"types", mde.Query{Types: []mde.ActionType{mde.TypeIsolate, mde.TypeUnisolate}}},
		{"machine", mde.Query{MachineIDs: []string{a.MachineID}}},
		{"machines", mde.Query{MachineIDs: []string{a.MachineID, other.MachineID}}},
		{"requestor", mde.Query{Requestors: []string{a.Requestor}}},
		{"requestors", mde.Query{Requestors: []string{a.Requestor, other.Requestor}}},
		{"quote", mde.Query{Requestors: []string{"O'Brien"}}},
		{"from", mde.Query{CreatedFrom: mid}},
		{"before", mde.Query{CreatedBefore: mid}},
		{"from and before", mde.Query{CreatedFrom: mid, CreatedBefore: recent}},
		{"open isolations", mde.Query{
			Statuses:    []mde.ActionStatus{mde.StatusPending, mde.StatusInProgress},
			Types:       []mde.ActionType{mde.TypeIsolate, mde.TypeRunAntiVirusScan, mde.TypeLiveResponse},
			CreatedFrom: mid,
		}},
		{"every field", mde.Query{
			IDs: []string{a.ID, other.ID}, Statuses: []mde.ActionStatus{a.Status}, Types: []mde.ActionType{a.Type},
			MachineIDs: []string{a.MachineID}, Requestors: []string{a.Requestor},
			CreatedFrom: a.CreationDateTimeUtc.Time, CreatedBefore: a.CreationDateTimeUtc.Add(100 * time.Nanosecond),
		}},
		{"nothing fits", mde.Query{IDs: []string{a.ID}, Types: []mde.ActionType{other.Type}}},
	}
	c := newClient(t, srv.URL)
	for _, tc := range cases {
		var want []mde.MachineAction
		for _, x := range all {
			if matches(tc.q, x) {
				want = append(want, x)
			}
		}
		if tc.name != "nothing fits" && (len(want) == 0 || len(want) == len(all)) {
			t.Fatalf("%s: a weak case: %d of %d actions fit", tc.name, len(want), len(all))
		}
		got, err := c.List(context.Background(), tc.q)
		if err != nil {
			t.Errorf("%s: %v (filter %s)", tc.name, err, tc.q.Filter())
			continue
		}
		if !slices.Equal(idsOf(got), idsOf(want)) {
			t.Errorf("%s: filter %s\ngot  %d %v\nwant %d %v", tc.name, tc.q.Filter(), len(got), idsOf(got), len(want), idsOf(want))
		}
	}
	if n := srv.Sim.Requests(mdesim.EndpointList); n != len(cases) {
		t.Errorf("%d list calls, want %d", n, len(cases))
	}
}

func TestContractOrderBy(t *testing.T) {
	t.Parallel()
	srv := startSim(t, mdesim.Options{Seed: 3})
	got, err := newClient(t, srv.URL).List(context.Background(), mde.Query{OrderBy: "creationDateTimeUtc asc"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.IsSortedFunc(got, func(a, b mde.MachineAction) int {
		return a.CreationDateTimeUtc.Compare(b.CreationDateTimeUtc.Time)
	}) || len(got) != len(srv.Sim.Actions()) {
		t.Errorf("%d actions, not oldest first", len(got))
	}

	_, err = newClient(t, srv.URL).List(context.Background(), mde.Query{OrderBy: "nosuchfield desc"})
	apiError(t, err, 400, "ODataError")
}

func TestContractPagingPast10000(t *testing.T) {
	t.Parallel()
	srv := startSim(t, mdesim.Options{Seed: 5, Actions: 25000})
	want := srv.Sim.Actions()
	c := newClient(t, srv.URL)
	calls := 0
	for _, tc := range []struct {
		q     mde.Query
		calls int
		rows  int
	}{
		{mde.Query{}, 3, 25000},
		{mde.Query{PageSize: 1000}, 25, 25000}, // @odata.count ends it after the last full page
		{mde.Query{Max: 12345}, 2, 12345},
	} {
		got, err := c.List(context.Background(), tc.q)
		if err != nil {
			t.Fatalf("%+v: %v", tc.q, err)
		}
		wantRows := want[:tc.rows]
		seen := map[string]bool{}
		for _, a := range got {
			if seen[a.ID] {
				t.Fatalf("%+v: %s listed twice", tc.q, a.ID)
			}
			seen[a.ID] = true
		}
		if !slices.Equal(idsOf(got), idsOf(wantRows)) {
			t.Errorf("%+v: %d actions, want %d", tc.q, len(got), len(wantRows))
		}
		n := srv.Sim.Requests(mdesim.EndpointList) - calls
		calls += n
		if n != tc.calls {
			t.Errorf("%+v: %d list calls, want %d", tc.q, n, tc.calls)
		}
	}
}

// TestContractFollowsNextLink puts the simulator behind a shim that drops
// the client's $top: the simulator then pages by itself (PageSize) and
// sends @odata.nextLink, which the client must follow to the end.
func TestContractFollowsNextLink(t *testing.T) {
	t.Parallel()
	clock := mdesim.NewManualClock(t0)
	sim := mdesim.New(mdesim.Options{Seed: 9, Actions: 2500, PageSize: 1000, Clock: clock, NoLimits: true})
	var (
		mu      sync.Mutex
		queries []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		q.Del("$top")
		r.URL.RawQuery = q.Encode()
		mu.Lock()
		queries = append(queries, r.URL.RawQuery)
		mu.Unlock()
		sim.ServeHTTP(w, r)
	}))
	defer srv.Close()

	got, err := newClient(t, srv.URL).List(context.Background(), mde.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if want := sim.Actions(); asJSON(t, got) != asJSON(t, want) {
		t.Errorf("%d actions differ from the simulator's %d", len(got), len(want))
	}
	want := []string{"%24count=true&%24skip=0", "%24count=true&%24skip=1000", "%24count=true&%24skip=2000"}
	if !slices.Equal(queries, want) {
		t.Errorf("queries %q\nwant %q", queries, want)
	}
}

func TestContractCancel(t *testing.T) {
	t.Parallel()
	clock := mdesim.NewManualClock(t0)
	srv := startSim(t, mdesim.Options{
		Seed: 7, Clock: clock,
		Authorize: func(r *http.Request) (string, error) {
			if r.Header.Get("Authorization") != "Bearer "+contractToken {
				return "", errors.New("wrong token")
			}
			return "contract-app", nil
		},
	})
	var open mde.MachineAction
	for _, a := range srv.Sim.Actions() {
		if a.Status.Open() {
			open = a
			break
		}
	}
	if open.ID == "" {
		t.Fatal("no open action")
	}
	clock.Advance(time.Second) // quiet period: nothing scheduled moves
	c := newClient(t, srv.URL)
	got, err := c.Cancel(context.Background(), open.ID, "contract test: no longer needed")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != open.ID || got.Status != mde.StatusCancelled || got.CancellationRequestor() != "contract-app" ||
		got.CancellationComment() != "contract test: no longer needed" ||
		!got.CancellationDateTimeUtc().Equal(t0.Add(time.Second)) || got.Type != open.Type || got.MachineID != open.MachineID {
		t.Errorf("Cancel returned %s", asJSON(t, got))
	}
	again, err := c.Get(context.Background(), open.ID)
	if err != nil {
		t.Fatal(err)
	}
	if asJSON(t, again) != asJSON(t, got) {
		t.Errorf("Get after Cancel\n%s\nCancel returned\n%s", asJSON(t, again), asJSON(t, got))
	}
	if n := srv.Sim.Requests(mdesim.EndpointCancel); n != 1 {
		t.Errorf("%d cancel calls", n)
	}

	// A second cancel fails: the action is final now.
	_, err = c.Cancel(context.Background(), open.ID, "again")
	apiError(t, err, 400, "BadRequest")
}

func TestContractCancelErrors(t *testing.T) {
	t.Parallel()
	srv := startSim(t, mdesim.Options{Seed: 7})
	var open, final mde.MachineAction
	for _, a := range srv.Sim.Actions() {
		if open.ID == "" && a.Status.Open() {
			open = a
		}
		if final.ID == "" && a.Status == mde.StatusSucceeded {
			final = a
		}
	}
	c := newClient(t, srv.URL)

	_, err := c.Cancel(context.Background(), open.ID, "")
	apiError(t, err, 400, "MissingRequiredParameter")
	_, err = c.Cancel(context.Background(), open.ID, "   ")
	apiError(t, err, 400, "MissingRequiredParameter")
	if a, _ := srv.Sim.Action(open.ID); a.Status != open.Status {
		t.Errorf("a refused cancel changed the action to %s", a.Status)
	}

	_, err = c.Cancel(context.Background(), final.ID, "too late")
	e := apiError(t, err, 400, "BadRequest")
	if e.Target == "" || e.Path != "/api/machineactions/"+final.ID+"/cancel" || e.Method != "POST" {
		t.Errorf("got %+v", *e)
	}

	_, err = c.Cancel(context.Background(), "00000000-0000-4000-8000-000000000000", "gone")
	apiError(t, err, 404, "ResourceNotFound")
}

func TestContractUnauthorized(t *testing.T) {
	t.Parallel()
	srv := startSim(t, mdesim.Options{Seed: 7})
	c, err := mde.NewClient(srv.URL, nil, mde.StaticToken(""))
	if err != nil {
		t.Fatal(err)
	}
	open := srv.Sim.Actions()[0]
	_, err = c.List(context.Background(), mde.Query{})
	apiError(t, err, 401, "Unauthorized")
	_, err = c.Get(context.Background(), open.ID)
	apiError(t, err, 401, "Unauthorized")
	_, err = c.Cancel(context.Background(), open.ID, "no token")
	apiError(t, err, 401, "Unauthorized")
	if a, _ := srv.Sim.Action(open.ID); asJSON(t, a) != asJSON(t, open) {
		t.Error("an unauthorised cancel changed the action")
	}
}

func TestContractThrottling(t *testing.T) {
	t.Parallel()
	clock := mdesim.NewManualClock(t0)
	srv := startSim(t, mdesim.Options{Seed: 7, Clock: clock, Limits: []mdesim.Limit{{Count: 3, Window: time.Minute}}})
	c := newClient(t, srv.URL)
	id := srv.Sim.Actions()[0].ID
	for i := range 3 {
		if _, err := c.Get(context.Background(), id); err != nil {
			t.Fatalf("call %d: %v", i+1, err)
		}
		clock.Advance(time.Second)
	}
	_, err := c.Get(context.Background(), id)
	apiError(t, err, 429, "TooManyRequests")
	wait, ok := mde.RetryAfter(err)
	if !ok || wait <= 0 || wait > time.Minute {
		t.Fatalf("RetryAfter = %v, %v", wait, ok)
	}
	if n := srv.Sim.Throttled(mdesim.EndpointGet); n != 1 {
		t.Errorf("%d throttled", n)
	}
	// Budgets are per endpoint: listing still works.
	if _, err := c.List(context.Background(), mde.Query{Max: 1}); err != nil {
		t.Errorf("List while Get is throttled: %v", err)
	}
	clock.Advance(wait)
	if _, err := c.Get(context.Background(), id); err != nil {
		t.Errorf("after waiting %v: %v", wait, err)
	}
}

func TestContractReadOnly(t *testing.T) {
	t.Parallel()
	srv := startSim(t, mdesim.Options{Seed: 7})
	c := newClient(t, srv.URL, mde.WithReadOnly())
	id := srv.Sim.Actions()[0].ID
	if _, err := c.Cancel(context.Background(), id, "x"); !errors.Is(err, mde.ErrReadOnly) {
		t.Errorf("err = %v", err)
	}
	if n := srv.Sim.Requests(mdesim.EndpointCancel); n != 0 {
		t.Errorf("%d cancel calls reached the simulator", n)
	}
	if _, err := c.Get(context.Background(), id); err != nil {
		t.Error(err)
	}
}
