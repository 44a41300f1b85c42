package mde

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestFilter(t *testing.T) {
	jan := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		q    Query
		want string
	}{
		{"empty", Query{OrderBy: "creationDateTimeUtc desc", PageSize: 5, Max: 9}, ""},
		{"one id", Query{IDs: []string{"a"}}, "id eq 'a'"},
		{"ids", Query{IDs: []string{"a", "b", "c"}}, "id in ('a','b','c')"},
		{"status", Query{Statuses: []ActionStatus{StatusPending}}, "status eq 'Pending'"},
		{"statuses", Query{Statuses: []ActionStatus{StatusPending, StatusInProgress}}, "status in ('Pending','InProgress')"},
		{"type", Query{Types: []ActionType{TypeIsolate}}, "type eq 'Isolate'"},
		{"types", Query{Types: []ActionType{TypeIsolate, "Future Type"}}, "type in ('Isolate','Future Type')"},
		{"machine", Query{MachineIDs: []string{"1e5bc9d7e413ddd7902c2932e418702b84d0cc07"}}, "machineId eq '1e5bc9d7e413ddd7902c2932e418702b84d0cc07'"},
		{"machines", Query{MachineIDs: []string{"m1", "m2"}}, "machineId in ('m1','m2')"},
		{"requestor", Query{Requestors: []string{"Analyst@contoso.com"}}, "requestor eq 'Analyst@contoso.com'"},
		{"quotes", Query{Requestors: []string{"O'Brien", "'", "a''b"}}, "requestor in ('O''Brien','''','a''''b')"},
		{"from", Query{CreatedFrom: jan}, "creationDateTimeUtc ge 2024-01-01T00:00:00Z"},
		{"before", Query{CreatedBefore: jan.AddDate(0, 1, 0)}, "creationDateTimeUtc lt 2024-02-01T00:00:00Z"},
		{"zone", Query{CreatedFrom: time.Date(2024, 1, 1, 2, 30, 0, 0, time.FixedZone("CEST", 2*3600))}, "creationDateTimeUtc ge 2024-01-01T00:30:00Z"},
		{"fraction", Query{CreatedFrom: jan.Add(500 * time.Millisecond)}, "creationDateTimeUtc ge 2024-01-01T00:00:00.5Z"},
		{"100ns", Query{CreatedBefore: jan.Add(123456789)}, "creationDateTimeUtc lt 2024-01-01T00:00:00.1234567Z"},
		{"all", Query{
			IDs: []string{"i"}, Statuses: []ActionStatus{StatusPending, StatusInProgress}, Types: []ActionType{TypeIsolate},
			MachineIDs: []string{"m"}, Requestors: []string{"r1", "r2"}, CreatedFrom: jan, CreatedBefore: jan.Add(time.Hour),
		}, "id eq 'i' and status in ('Pending','InProgress') and type eq 'Isolate' and machineId eq 'm' and " +
			"requestor in ('r1','r2') and creationDateTimeUtc ge 2024-01-01T00:00:00Z and creationDateTimeUtc lt 2024-01-01T01:00:00Z"},
	} {
		if got := tc.q.Filter(); got != tc.want {
			t.Errorf("%s: Filter() = %q\nwant %q", tc.name, got, tc.want)
		}
	}
}

func TestValues(t *testing.T) {
	v := Query{}.Values(0)
	if want := (url.Values{"$top": {"10000"}, "$skip": {"0"}, "$count": {"true"}}); !reflect.DeepEqual(v, want) {
		t.Errorf("empty query: %v", v)
	}
	q := Query{Statuses: []ActionStatus{StatusPending}, Requestors: []string{"O'Brien"}, OrderBy: "creationDateTimeUtc desc", PageSize: 50}
	v = q.Values(100)
	want := url.Values{
		"$top": {"50"}, "$skip": {"100"}, "$count": {"true"}, "$orderby": {"creationDateTimeUtc desc"},
		"$filter": {"status eq 'Pending' and requestor eq 'O''Brien'"},
	}
	if !reflect.DeepEqual(v, want) {
		t.Errorf("Values = %v\nwant %v", v, want)
	}
	enc := encodeQuery(v)
	if enc != "$count=true&$filter=status%20eq%20%27Pending%27%20and%20requestor%20eq%20%27O%27%27Brien%27&$orderby=creationDateTimeUtc%20desc&$skip=100&$top=50" {
		t.Errorf("encoded %s", enc)
	}
	if back, err := url.ParseQuery(enc); err != nil || !reflect.DeepEqual(back, v) {
		t.Errorf("the encoding does not decode back: %v %v", back, err)
	}
	if enc := encodeQuery(url.Values{"$filter": {"a+b $c %24"}}); enc != "$filter=a%2Bb%20$c%20%2524" {
		t.Errorf("literal +, $ and %%24: %s", enc)
	}
}

// row is a minimal list element.
func row(i int) string { return fmt.Sprintf(`{"id":"a%05d","type":"Isolate","status":"Pending"}`, i) }

// listServer holds n actions and honours $top and $skip.
func listServer(t *testing.T, n int) *stub { return countingListServer(t, n, false) }

// countingListServer is listServer, answering @odata.count when withCount.
func countingListServer(t *testing.T, n int, withCount bool) *stub {
	return newStub(t, func(w http.ResponseWriter, r *http.Request) {
		top, _ := strconv.Atoi(r.URL.Query().Get("$top"))
		skip, _ := strconv.Atoi(r.URL.Query().Get("$skip"))
		var rows []string
		for i := skip; i < n && i < skip+top; i++ {
			rows = append(rows, row(i))
		}
		count := ""
		if withCount {
			count = `,"@odata.count":` + strconv.Itoa(n)
		}
		respond(w, 200, `{"@odata.context":"https://api-us3.securitycenter.microsoft.com/api/$metadata#MachineActions"`+count+`,"value":[`+strings.Join(rows, ",")+`]}`)
	})
}

func ids(actions []MachineAction) []string {
	out := make([]string, len(actions))
	for i, a := range actions {
		out[i] = a.ID
	}
	return out
}

func wantIDs(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("a%05d", i))
	}
	return out
}

// pages lists the $top/$skip of each request.
func pages(h []hit) []string {
	var out []string
	for _, r := range h {
		out = append(out, r.Query.Get("$top")+"/"+r.Query.Get("$skip"))
	}
	return out
}

func TestListPaging(t *testing.T) {
	for _, tc := range []struct {
		name      string
		rows      int
		count     bool // the server answers @odata.count
		q         Query
		wantPages []string
		wantRows  int
	}{
		{"short last page", 5, false, Query{PageSize: 2}, []string{"2/0", "2/2", "2/4"}, 5},
		{"exact multiple", 4, false, Query{PageSize: 2}, []string{"2/0", "2/2", "2/4"}, 4},
		{"exact multiple, count", 4, true, Query{PageSize: 2}, []string{"2/0", "2/2"}, 4},
		{"short last page, count", 5, true, Query{PageSize: 2}, []string{"2/0", "2/2", "2/4"}, 5},
		{"one page", 3, false, Query{}, []string{"10000/0"}, 3},
		{"empty", 0, false, Query{}, []string{"10000/0"}, 0},
		{"max", 10, false, Query{PageSize: 4, Max: 6}, []string{"4/0", "2/4"}, 6},
		{"max below page", 10, false, Query{Max: 3}, []string{"3/0"}, 3},
		{"max above total", 3, false, Query{PageSize: 2, Max: 50}, []string{"2/0", "2/2"}, 3},
	} {
		srv := countingListServer(t, tc.rows, tc.count)
		got, err := newTestClient(t, srv.URL).List(context.Background(), tc.q)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if p := pages(srv.Hits()); !reflect.DeepEqual(p, tc.wantPages) {
			t.Errorf("%s: pages %v, want %v", tc.name, p, tc.wantPages)
		}
		if g, w := ids(got), wantIDs(0, tc.wantRows); !reflect.DeepEqual(g, w) && len(g)+len(w) > 0 {
			t.Errorf("%s: ids %v, want %v", tc.name, g, w)
		}
	}
}

func TestListMaxWhenServerIgnoresTop(t *testing.T) {
	srv := newStub(t, func(w http.ResponseWriter, r *http.Request) {
		respond(w, 200, `{"value":[`+row(0)+","+row(1)+","+row(2)+","+row(3)+`]}`)
	})
	got, err := newTestClient(t, srv.URL).List(context.Background(), Query{Max: 2})
	if err != nil || !reflect.DeepEqual(ids(got), wantIDs(0, 2)) || len(srv.Hits()) != 1 {
		t.Errorf("got %v, %v after %d requests", ids(got), err, len(srv.Hits()))
	}
}

func TestListSendsQuery(t *testing.T) {
	srv := listServer(t, 0)
	q := Query{Types: []ActionType{TypeIsolate, TypeUnisolate}, OrderBy: "creationDateTimeUtc desc"}
	if _, err := newTestClient(t, srv.URL).List(context.Background(), q); err != nil {
		t.Fatal(err)
	}
	h := srv.Hits()[0]
	if h.Method != "GET" || h.Path != "/api/machineactions" || h.Query.Get("$filter") != q.Filter() ||
		h.Query.Get("$orderby") != q.OrderBy || h.Header.Get("Authorization") != "Bearer "+testToken {
		t.Errorf("request %+v", h)
	}
	if !strings.HasPrefix(h.RawQuery, "$count=true&$filter=type%20in%20%28%27Isolate%27%2C%27Unisolate%27%29&") {
		t.Errorf("raw query %s", h.RawQuery)
	}
}

func TestListRejectsBadSizes(t *testing.T) {
	srv := listServer(t, 1)
	c := newTestClient(t, srv.URL)
	for _, q := range []Query{{PageSize: -1}, {PageSize: 10001}, {Max: -1}} {
		if _, err := c.List(context.Background(), q); err == nil {
			t.Errorf("%+v: no error", q)
		}
	}
	if n := len(srv.Hits()); n != 0 {
		t.Errorf("%d requests", n)
	}
}

func TestListBadAnswers(t *testing.T) {
	for _, body := range []string{
		`[]`, `null`, `{"value":"x"}`, `{"value":[` + row(0) + `,5]}`, `{"value":[` + row(0) + `,null]}`,
		`{"value":[` + row(0), `{"@odata.nextLink":5,"value":[]}`, `{"id":"x"}`, `{}`,
	} {
		srv := entityServer(t, 200, body)
		_, err := newTestClient(t, srv.URL).List(context.Background(), Query{})
		if err == nil || !errors.Is(err, ErrBadAnswer) || !strings.HasPrefix(err.Error(), "mde: GET /api/machineactions: unreadable answer: reading the list: ") {
			t.Errorf("body %s: err %v", body, err)
		}
	}
}

func TestListToleratesExtraKeys(t *testing.T) {
	srv := entityServer(t, 200, `{"@odata.context":"x","@odata.count":2,"extra":{"a":[1,{"b":2}]},"value":[`+row(0)+","+row(1)+`],"@odata.nextLink":null,"tail":[]}`)
	got, err := newTestClient(t, srv.URL).List(context.Background(), Query{})
	if err != nil || !reflect.DeepEqual(ids(got), wantIDs(0, 2)) {
		t.Errorf("got %v, %v", ids(got), err)
	}
	if srv2 := entityServer(t, 200, `{"value":null}`); true {
		if got, err := newTestClient(t, srv2.URL).List(context.Background(), Query{}); err != nil || len(got) != 0 {
			t.Errorf("value null: %v, %v", got, err)
		}
	}
}

func TestListBodyIsCapped(t *testing.T) {
	srv := listServer(t, 100)
	c := newTestClient(t, srv.URL)
	c.maxListBody = 1000
	_, err := c.List(context.Background(), Query{})
	if err == nil || !strings.Contains(err.Error(), "larger than the 1000-byte limit") {
		t.Errorf("err = %v", err)
	}
}

// linkServer answers each request from a script keyed by the raw query; the
// special key "" is the first request.
func linkServer(t *testing.T, script func(base string, r *http.Request) string) *stub {
	var s *stub
	s = newStub(t, func(w http.ResponseWriter, r *http.Request) { respond(w, 200, script(s.URL, r)) })
	return s
}

func TestListFollowsSameHostNextLink(t *testing.T) {
	for _, absolute := range []bool{true, false} {
		srv := linkServer(t, func(base string, r *http.Request) string {
			link := "/api/machineactions?$skiptoken=p2"
			if absolute {
				link = base + link
			}
			switch r.URL.Query().Get("$skiptoken") {
			case "":
				return `{"value":[` + row(0) + "," + row(1) + `],"@odata.nextLink":"` + link + `"}`
			case "p2":
				return `{"value":[` + row(2) + `]}`
			}
			t.Errorf("unexpected request %s", r.URL)
			return `{"value":[]}`
		})
		got, err := newTestClient(t, srv.URL).List(context.Background(), Query{PageSize: 10})
		if err != nil || !reflect.DeepEqual(ids(got), wantIDs(0, 3)) {
			t.Fatalf("absolute %v: got %v, %v", absolute, ids(got), err)
		}
		h := srv.Hits()
		if len(h) != 2 || h[1].RawQuery != "$skiptoken=p2" || h[1].Header.Get("Authorization") != "Bearer "+testToken {
			t.Errorf("absolute %v: requests %+v", absolute, h)
		}
	}
}

func TestListResumesSkipAfterNextLinks(t *testing.T) {
	// The server pages by 2 with nextLinks but stops at the client's $top
	// (4): the client must go on with $skip=4 itself.
	srv := linkServer(t, func(base string, r *http.Request) string {
		q := r.URL.Query()
		switch {
		case q.Get("$top") == "4" && q.Get("$skip") == "0":
			return `{"value":[` + row(0) + "," + row(1) + `],"@odata.nextLink":"` + base + `/api/machineactions?$top=2&$skip=2"}`
		case q.Get("$top") == "2" && q.Get("$skip") == "2":
			return `{"value":[` + row(2) + "," + row(3) + `]}`
		case q.Get("$top") == "4" && q.Get("$skip") == "4":
			return `{"value":[` + row(4) + `]}`
		}
		t.Errorf("unexpected request %s", r.URL)
		return `{"value":[]}`
	})
	got, err := newTestClient(t, srv.URL).List(context.Background(), Query{PageSize: 4})
	if err != nil || !reflect.DeepEqual(ids(got), wantIDs(0, 5)) {
		t.Fatalf("got %v, %v", ids(got), err)
	}
	if p := pages(srv.Hits()); !reflect.DeepEqual(p, []string{"4/0", "2/2", "4/4"}) {
		t.Errorf("pages %v", p)
	}
}

func TestListRefusesForeignNextLink(t *testing.T) {
	other := listServer(t, 5)
	for _, link := range []string{
		other.URL + "/api/machineactions?$skip=1&$skiptoken=secret",
		"https://" + strings.TrimPrefix(other.URL, "http://") + "/api/machineactions", // scheme change
		"//evil.example/api/machineactions",
	} {
		srv := linkServer(t, func(base string, r *http.Request) string {
			return `{"value":[` + row(0) + `],"@odata.nextLink":"` + link + `"}`
		})
		_, err := newTestClient(t, srv.URL).List(context.Background(), Query{})
		if err == nil || !strings.Contains(err.Error(), "not sending the token there") || strings.Contains(err.Error(), "secret") {
			t.Errorf("link %s: err %v", link, err)
		}
		if n := len(srv.Hits()); n != 1 {
			t.Errorf("link %s: %d requests to the base host", link, n)
		}
	}
	if n := len(other.Hits()); n != 0 {
		t.Errorf("the other host got %d requests", n)
	}
}

func TestListDetectsNextLinkLoop(t *testing.T) {
	srv := linkServer(t, func(base string, r *http.Request) string {
		return `{"value":[` + row(0) + `],"@odata.nextLink":"/api/machineactions?page=2"}`
	})
	_, err := newTestClient(t, srv.URL).List(context.Background(), Query{})
	if err == nil || !strings.Contains(err.Error(), "repeats an earlier page") {
		t.Errorf("err = %v", err)
	}
	if n := len(srv.Hits()); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

func TestListStopsOnEmptyPageWithNextLink(t *testing.T) {
	srv := linkServer(t, func(base string, r *http.Request) string {
		return `{"value":[],"@odata.nextLink":"/api/machineactions?page=` + r.URL.Query().Get("page") + `x"}`
	})
	got, err := newTestClient(t, srv.URL).List(context.Background(), Query{})
	if err != nil || len(got) != 0 || len(srv.Hits()) != 1 {
		t.Errorf("got %v, %v after %d requests", got, err, len(srv.Hits()))
	}
}

func TestSameOrigin(t *testing.T) {
	base, _ := url.Parse("https://api.security.microsoft.com")
	for link, want := range map[string]bool{
		"https://api.security.microsoft.com/api/machineactions?$skip=1": true,
		"https://API.Security.Microsoft.com:443/x":                      true,
		"http://api.security.microsoft.com/x":                           false,
		"https://api.security.microsoft.com:8443/x":                     false,
		"https://api.security.microsoft.com.evil.example/x":             false,
		"https://api-us.security.microsoft.com/x":                       false,
	} {
		u, _ := url.Parse(link)
		if got := sameOrigin(u, base); got != want {
			t.Errorf("sameOrigin(%s) = %v", link, got)
		}
	}
}
