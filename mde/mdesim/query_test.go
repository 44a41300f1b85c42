package mdesim

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/mdeactions/mdeactions/mde"
)

func TestTopSkipCount(t *testing.T) {
	s, _ := newTestSim(t, Options{Seed: 10})
	all := ids(s.Actions())
	cases := []struct {
		query     string
		from, to  int
		wantCount bool
	}{
		{"$top=10", 0, 10, false},
		{"$top=0", 0, 0, false},
		{"$top=0&$count=true", 0, 0, true},
		{"$skip=395", 395, 400, false},
		{"$skip=5000", 400, 400, false},
		{"$top=7&$skip=20&$count=true", 20, 27, true},
		{"$top=10000&$count=false", 0, 400, false},
		{"$COUNT=TRUE&$Top=3", 0, 3, true},
	}
	for _, c := range cases {
		b := list(t, s, "/api/machineactions?"+c.query)
		if got := ids(b.Value); !slices.Equal(got, all[c.from:c.to]) {
			t.Errorf("%s: got %d rows, want rows %d..%d", c.query, len(got), c.from, c.to)
		}
		if c.wantCount {
			if b.Count == nil || *b.Count != 400 {
				t.Errorf("%s: @odata.count = %v, want 400", c.query, b.Count)
			}
		} else if b.Count != nil {
			t.Errorf("%s: unexpected @odata.count", c.query)
		}
		if b.NextLink != "" {
			t.Errorf("%s: nextLink %q with the default page size", c.query, b.NextLink)
		}
	}
}

func TestCountIsBeforePagingAndPlacedAfterContext(t *testing.T) {
	s, _ := newTestSim(t, Options{Seed: 10})
	pending := 0
	for _, a := range s.Actions() {
		if a.Status == mde.StatusPending {
			pending++
		}
	}
	rec := do(t, s, http.MethodGet, "/api/machineactions?$filter=status+eq+'Pending'&$top=2&$count=true", "")
	if !strings.HasPrefix(rec.Body.String(), `{"@odata.context":"https://api.security.microsoft.com/api/$metadata#MachineActions","@odata.count":`) {
		t.Errorf("count is not right after the context: %.150s", rec.Body)
	}
	b := list(t, s, "/api/machineactions?$filter=status+eq+'Pending'&$top=2&$count=true")
	if *b.Count != pending || len(b.Value) != 2 {
		t.Errorf("count %d rows %d, want %d and 2", *b.Count, len(b.Value), pending)
	}
}

func TestOrderBy(t *testing.T) {
	s, _ := newTestSim(t, Options{Seed: 11})
	all := s.Actions()
	cases := []struct {
		orderby string
		cmp     func(a, b mde.MachineAction) int
	}{
		{"creationDateTimeUtc asc", func(a, b mde.MachineAction) int {
			return a.CreationDateTimeUtc.Compare(b.CreationDateTimeUtc.Time)
		}},
		{"CreationDateTimeUtc desc", func(a, b mde.MachineAction) int {
			return b.CreationDateTimeUtc.Compare(a.CreationDateTimeUtc.Time)
		}},
		{"lastUpdateDateTimeUtc desc", func(a, b mde.MachineAction) int {
			return b.LastUpdateDateTimeUtc.Compare(a.LastUpdateDateTimeUtc.Time)
		}},
		{"status", func(a, b mde.MachineAction) int {
			return strings.Compare(strings.ToLower(string(a.Status)), strings.ToLower(string(b.Status)))
		}},
		{"type desc,computerDnsName asc", func(a, b mde.MachineAction) int {
			if c := strings.Compare(strings.ToLower(string(b.Type)), strings.ToLower(string(a.Type))); c != 0 {
				return c
			}
			return strings.Compare(strings.ToLower(a.ComputerDNSName), strings.ToLower(b.ComputerDNSName))
		}},
		{"requestor asc, machineId desc", func(a, b mde.MachineAction) int {
			if c := strings.Compare(strings.ToLower(a.Requestor), strings.ToLower(b.Requestor)); c != 0 {
				return c
			}
			return strings.Compare(b.MachineID, a.MachineID)
		}},
		{"id desc", func(a, b mde.MachineAction) int { return strings.Compare(b.ID, a.ID) }},
	}
	for _, c := range cases {
		want := slices.Clone(all)
		slices.SortStableFunc(want, func(a, b mde.MachineAction) int {
			if r := c.cmp(a, b); r != 0 {
				return r
			}
			return strings.Compare(a.ID, b.ID) // ties by id
		})
		got := list(t, s, "/api/machineactions?$orderby="+url.QueryEscape(c.orderby))
		if !slices.Equal(ids(got.Value), ids(want)) {
			t.Errorf("$orderby=%s: wrong order", c.orderby)
		}
	}
	// $orderby with $skip/$top pages through the sorted list.
	full := list(t, s, "/api/machineactions?$orderby=status,id")
	page := list(t, s, "/api/machineactions?$orderby=status,id&$skip=100&$top=50")
	if !slices.Equal(ids(page.Value), ids(full.Value[100:150])) {
		t.Error("$orderby page differs from the slice of the full order")
	}
	for _, bad := range []string{"title", "status sideways", "status asc extra", "status,,id", " "} {
		rec := do(t, s, http.MethodGet, "/api/machineactions?$orderby="+url.QueryEscape(bad), "")
		wantError(t, rec, http.StatusBadRequest, "ODataError", "")
	}
}

func TestNextLinkPaging(t *testing.T) {
	s, _ := newTestSim(t, Options{Seed: 12, PageSize: 150})
	var got []string
	target := "/api/machineactions"
	pages := 0
	for target != "" {
		b := list(t, s, target)
		got = append(got, ids(b.Value)...)
		pages++
		target = ""
		if b.NextLink != "" {
			u, err := url.Parse(b.NextLink)
			if err != nil || u.Scheme != "http" || u.Host != "example.com" {
				t.Fatalf("nextLink %q is not an absolute link to the host called", b.NextLink)
			}
			target = u.RequestURI()
		}
		if pages > 10 {
			t.Fatal("nextLink never ends")
		}
	}
	if pages != 3 || !slices.Equal(got, ids(s.Actions())) {
		t.Errorf("%d pages, %d rows; want 3 pages covering all 400 in order", pages, len(got))
	}

	// The link keeps the other options and replaces $skip.
	b := list(t, s, "/api/machineactions?$filter=status+ne+'Pending'&$skip=10&$count=true&foo=bar")
	if !strings.HasSuffix(b.NextLink, "/api/machineactions?$filter=status+ne+'Pending'&$count=true&foo=bar&$skip=160") {
		t.Errorf("nextLink %q", b.NextLink)
	}
	// With $top there is never a nextLink, even when more rows remain.
	if b := list(t, s, "/api/machineactions?$top=200"); b.NextLink != "" || len(b.Value) != 200 {
		t.Errorf("$top=200: %d rows, nextLink %q", len(b.Value), b.NextLink)
	}
	// The default page size (10,000) leaves the default tenant in one page.
	s2, _ := newTestSim(t, Options{Seed: 12})
	if b := list(t, s2, "/api/machineactions"); b.NextLink != "" || len(b.Value) != 400 {
		t.Errorf("default page size: %d rows, nextLink %q", len(b.Value), b.NextLink)
	}
}

func TestQueryLayerErrorsExactBodies(t *testing.T) {
	s, _ := newTestSim(t, Options{Seed: 13})
	cases := []struct{ query, body string }{
		{"$stop=10", `{"error":{"code":"","message":"The query specified in the URI is not valid. Custom query option '$stop' that starts with '$' is not supported.","details":[]}}`},
		{"$select=id", `{"error":{"code":"","message":"The query specified in the URI is not valid. Custom query option '$select' that starts with '$' is not supported.","details":[]}}`},
		{"$top=10001", `{"error":{"code":"","message":"The query specified in the URI is not valid. The limit of '10000' for Top query has been exceeded. The value from the incoming request is '10001'.","details":[]}}`},
		{"$top=abc", `{"error":{"code":"","message":"The query specified in the URI is not valid. Invalid value 'abc' for $top query option found. The $top query option requires a non-negative integer value.","details":[]}}`},
		{"$top=-1", `{"error":{"code":"","message":"The query specified in the URI is not valid. Invalid value '-1' for $top query option found. The $top query option requires a non-negative integer value.","details":[]}}`},
		{"$skip=x", `{"error":{"code":"","message":"The query specified in the URI is not valid. Invalid value 'x' for $skip query option found. The $skip query option requires a non-negative integer value.","details":[]}}`},
		{"$count=yes", `{"error":{"code":"","message":"The query specified in the URI is not valid. Invalid value 'yes' for $count query option found. Valid values are 'true, false'.","details":[]}}`},
		{"$top=1&$top=2", `{"error":{"code":"","message":"The query specified in the URI is not valid. Query option '$top' was specified more than once, but it must be specified at most once.","details":[]}}`},
	}
	for _, c := range cases {
		rec := do(t, s, http.MethodGet, "/api/machineactions?"+c.query, "")
		if rec.Code != http.StatusBadRequest || rec.Body.String() != c.body {
			t.Errorf("%s: %d %s\nwant 400 %s", c.query, rec.Code, rec.Body, c.body)
		}
		wantHeaders(t, rec)
	}
	// The largest page is fine.
	if rec := do(t, s, http.MethodGet, "/api/machineactions?$top=10000", ""); rec.Code != http.StatusOK {
		t.Errorf("$top=10000: %d", rec.Code)
	}
}

func TestNonDollarKeysIgnoredAndSpaces(t *testing.T) {
	s, _ := newTestSim(t, Options{Seed: 14})
	a := s.Actions()[3]
	for _, q := range []string{
		"api-version=1.0&top=5&$filter=id+eq+'" + a.ID + "'",
		"$filter=id%20eq%20'" + a.ID + "'",
		"$filter=id%20eq+'" + a.ID + "'&&",
	} {
		b := list(t, s, "/api/machineactions?"+q)
		if len(b.Value) != 1 || b.Value[0].ID != a.ID {
			t.Errorf("%s: got %v", q, ids(b.Value))
		}
	}
}
