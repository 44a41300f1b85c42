package mde

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MaxPageSize is the largest $top the API accepts.
const MaxPageSize = 10000

// maxPages bounds one listing, in case a server keeps answering.
const maxPages = 10000

// Query selects machine actions. Every non-empty field narrows the list;
// several values in one field mean any of them.
type Query struct {
	IDs           []string
	Statuses      []ActionStatus
	Types         []ActionType
	MachineIDs    []string
	Requestors    []string
	CreatedFrom   time.Time // creationDateTimeUtc ge (zero: none)
	CreatedBefore time.Time // creationDateTimeUtc lt (zero: none)
	OrderBy       string    // sent as $orderby when set
	PageSize      int       // $top per request, 1..MaxPageSize; 0 means MaxPageSize
	Max           int       // stop after this many actions in total; 0 means all
}

// Filter returns the OData $filter text, "" for an empty query. Times are
// written in UTC to the API's 100 ns precision.
func (q Query) Filter() string {
	var parts []string
	add := func(s string) {
		if s != "" {
			parts = append(parts, s)
		}
	}
	add(clause("id", q.IDs))
	add(clause("status", q.Statuses))
	add(clause("type", q.Types))
	add(clause("machineId", q.MachineIDs))
	add(clause("requestor", q.Requestors))
	if !q.CreatedFrom.IsZero() {
		add("creationDateTimeUtc ge " + q.CreatedFrom.UTC().Format(TimeLayout))
	}
	if !q.CreatedBefore.IsZero() {
		add("creationDateTimeUtc lt " + q.CreatedBefore.UTC().Format(TimeLayout))
	}
	return strings.Join(parts, " and ")
}

// clause is "prop eq 'v'" for one value, "prop in ('a','b')" for several.
func clause[T ~string](prop string, vals []T) string {
	switch len(vals) {
	case 0:
		return ""
	case 1:
		return prop + " eq " + quote(string(vals[0]))
	}
	quoted := make([]string, len(vals))
	for i, v := range vals {
		quoted[i] = quote(string(v))
	}
	return prop + " in (" + strings.Join(quoted, ",") + ")"
}

// quote writes an OData string literal: single quotes, inner ones doubled.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// Values returns the query string for the page that starts at skip. It asks
// for @odata.count too, so that List can stop after a last full page
// without one more request.
func (q Query) Values(skip int) url.Values {
	top := q.PageSize
	if top == 0 {
		top = MaxPageSize
	}
	v := url.Values{}
	v.Set("$top", strconv.Itoa(top))
	v.Set("$skip", strconv.Itoa(skip))
	v.Set("$count", "true")
	if f := q.Filter(); f != "" {
		v.Set("$filter", f)
	}
	if q.OrderBy != "" {
		v.Set("$orderby", q.OrderBy)
	}
	return v
}

// encodeQuery is url.Values.Encode with "$" left literal and spaces as %20,
// the form the API's own examples use; the two encodings mean the same.
func encodeQuery(v url.Values) string {
	return strings.NewReplacer("%24", "$", "+", "%20").Replace(v.Encode())
}

// List returns the machine actions the query selects, in the API's order.
// It pages with $top/$skip and follows @odata.nextLink when the API sends
// one, but only to the base URL's own scheme and host. It stops at a short
// or empty page, at Max, or when it has as many rows as @odata.count.
func (c *Client) List(ctx context.Context, q Query) ([]MachineAction, error) {
	in := interner{}
	return listAs(ctx, c, q, func(a *MachineAction) MachineAction {
		in.action(a)
		return *a
	})
}

// Relist is List for a caller that holds an earlier list (prev) and keeps
// what it is given: an action that did not change (every field the same)
// is prev's own, and only the others are new. A refresh of 100,000 actions
// then costs their pointers and what changed, not a second copy of all.
// prev is only read.
func (c *Client) Relist(ctx context.Context, q Query, prev []*MachineAction) ([]*MachineAction, error) {
	in := interner{}
	find := earlier(prev)
	return listAs(ctx, c, q, func(a *MachineAction) *MachineAction {
		p := find(a.ID)
		if p != nil && p.Same(a) {
			return p
		}
		in.action(a)
		if p != nil {
			a.shareText(p)
		}
		n := new(MachineAction)
		*n = *a
		return n
	})
}

// earlier finds an action of prev by id. A refresh comes in prev's order,
// give or take the actions that came or went, so it looks where that order
// says first, and indexes prev (a map of 100,000 ids is 4 MB) only when an
// id is not there.
func earlier(prev []*MachineAction) func(id string) *MachineAction {
	const window = 16
	next := 0 // where prev's order says the next id is
	var byID map[string]*MachineAction
	return func(id string) *MachineAction {
		for k := next; k < min(next+window, len(prev)); k++ {
			if prev[k] != nil && prev[k].ID == id {
				next = k + 1
				return prev[k]
			}
		}
		if byID == nil {
			byID = make(map[string]*MachineAction, len(prev))
			for _, a := range prev {
				if a != nil {
					byID[a.ID] = a
				}
			}
		}
		return byID[id]
	}
}

// listAs pages through the list (see List), keeping what keep makes of
// each action; a is only valid during the call.
func listAs[T any](ctx context.Context, c *Client, q Query, keep func(a *MachineAction) T) ([]T, error) {
	top := q.PageSize
	if top == 0 {
		top = MaxPageSize
	}
	if top < 0 || top > MaxPageSize {
		return nil, fmt.Errorf("mde: page size %d: want 1..%d", q.PageSize, MaxPageSize)
	}
	if q.Max < 0 {
		return nil, fmt.Errorf("mde: max %d: want 0 (all) or more", q.Max)
	}
	listURL, err := c.apiURL("/machineactions")
	if err != nil {
		return nil, err
	}

	var (
		out   []T
		skip  int      // rows received so far: the next $skip
		asked int      // $top of the last request built here
		got   int      // rows received since that request, nextLinks included
		next  *url.URL // the nextLink to follow, if any
		seen  = map[string]bool{}
	)
	var pageFirst, lastFirst string // id of the first row of this and the previous page
	// One page's rows as keep made them, added to out only once the page
	// is whole (a page cut short can be tried again); reused by every page.
	var pageRows []T
	// The first page's @odata.count sizes the list once: a tenant of
	// 100,000 actions is not copied through ever larger arrays.
	grow := func(count int) {
		if q.Max > 0 {
			count = min(count, q.Max)
		}
		if count > cap(out) && count <= maxPrealloc {
			out = slices.Grow(out, count-len(out))
		}
	}
	for pages := 0; ; pages++ {
		if pages == maxPages {
			return nil, fmt.Errorf("mde: listing machine actions: more than %d pages", maxPages)
		}
		u := next
		if u == nil {
			asked = top
			if q.Max > 0 {
				asked = min(top, q.Max-len(out))
			}
			pq := q
			pq.PageSize = asked
			page := *listURL
			page.RawQuery = encodeQuery(pq.Values(skip))
			u, got = &page, 0
		}
		ours := next == nil // a page we asked for with $top/$skip
		lastFirst = pageFirst
		var p pageInfo
		err := c.idempotent(ctx, "GET "+u.EscapedPath(), func(ctx context.Context) (err error) {
			pageRows, pageFirst = pageRows[:0], ""
			p, err = c.page(ctx, u, func(a *MachineAction) {
				if pageFirst == "" {
					pageFirst = a.ID
				}
				pageRows = append(pageRows, keep(a))
			})
			return err
		})
		if err != nil {
			return nil, err
		}
		if p.count > 0 {
			grow(p.count)
		}
		for _, r := range pageRows {
			if q.Max > 0 && len(out) >= q.Max {
				break
			}
			out = append(out, r)
		}
		clear(pageRows) // what they point at is out's now, or garbage
		if ours && p.rows > asked {
			// The server ignores $top and sent everything at once.
			return out, nil
		}
		if ours && skip > 0 && p.rows > 0 && pageFirst == lastFirst {
			return nil, fmt.Errorf("mde: listing machine actions: the API ignores $skip (it sent the same page twice), so the list would never end")
		}
		skip += p.rows
		got += p.rows
		if p.rows == 0 || (q.Max > 0 && len(out) >= q.Max) {
			return out, nil
		}
		next = nil
		if p.nextLink != "" {
			if next, err = c.nextLink(u, p.nextLink, seen); err != nil {
				return nil, err
			}
			continue
		}
		if got < asked || (p.count >= 0 && skip >= p.count) {
			return out, nil
		}
	}
}

// nextLink checks an @odata.nextLink before it is followed: it must stay on
// the base URL's scheme and host (it gets the bearer token) and must not
// have been seen before.
func (c *Client) nextLink(from *url.URL, link string, seen map[string]bool) (*url.URL, error) {
	path := from.EscapedPath()
	u, err := from.Parse(link)
	if err != nil {
		return nil, fmt.Errorf("mde: GET %s: invalid @odata.nextLink: %w", path, err)
	}
	if !sameOrigin(u, c.base) {
		return nil, fmt.Errorf("mde: GET %s: @odata.nextLink leads to %s://%s, not to %s; not sending the token there",
			path, u.Scheme, cleanText(u.Host), c.base.Host)
	}
	if seen[u.String()] {
		return nil, fmt.Errorf("mde: GET %s: @odata.nextLink repeats an earlier page", path)
	}
	seen[u.String()] = true
	return u, nil
}

func sameOrigin(a, b *url.URL) bool {
	return a.Scheme == b.Scheme && strings.EqualFold(a.Hostname(), b.Hostname()) && port(a) == port(b)
}

func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if u.Scheme == "https" {
		return "443"
	}
	return "80"
}

// pageInfo is what List needs to know about one list answer.
type pageInfo struct {
	rows     int    // elements of "value"
	nextLink string // @odata.nextLink, "" if none
	count    int    // @odata.count, -1 if none
}

// page fetches one list answer, handing each action to each as it is
// decoded (a is only valid during the call).
func (c *Client) page(ctx context.Context, u *url.URL, each func(a *MachineAction)) (pageInfo, error) {
	resp, err := c.send(ctx, http.MethodGet, u, nil)
	if err != nil {
		return pageInfo{}, err
	}
	defer closeBody(resp)
	p, err := readPage(newCapReader(resp.Body, c.maxListBody), each)
	if err != nil {
		return pageInfo{}, fmt.Errorf("mde: GET %s: %w: reading the list: %w", u.EscapedPath(), ErrBadAnswer, err)
	}
	return p, nil
}

// maxPrealloc bounds what an @odata.count may make List set aside at once.
const maxPrealloc = 1_000_000

// interner keeps one copy of the strings that repeat across a list (types,
// statuses, requestors, devices): a tenant of 100,000 actions holds each
// device's name once, not once per action.
type interner map[string]string

func (in interner) str(s *string) {
	if *s == "" {
		return
	}
	if v, ok := in[*s]; ok {
		*s = v
		return
	}
	in[*s] = *s
}

func (in interner) action(a *MachineAction) {
	for _, s := range []*string{(*string)(&a.Type), (*string)(&a.Status), (*string)(&a.Scope), (*string)(&a.RequestSource),
		&a.Requestor, &a.MachineID, &a.ComputerDNSName} {
		in.str(s)
	}
	if r := a.Rare; r != nil {
		in.str(&r.CancellationRequestor)
		// A live response's steps name the same few commands, statuses
		// and parameters over and over.
		for i := range r.Commands {
			c := &r.Commands[i]
			in.str(&c.CommandStatus)
			in.str(&c.Command.Type)
			for j := range c.Command.Params {
				in.str(&c.Command.Params[j].Key)
				in.str(&c.Command.Params[j].Value)
			}
		}
	}
}

// readPage streams a list answer, {"value":[...], "@odata.nextLink": ...},
// decoding the elements of "value" one at a time so that a large page is
// never held twice in memory.
func readPage(r io.Reader, add func(*MachineAction)) (pageInfo, error) {
	p := pageInfo{count: -1}
	dec := json.NewDecoder(r)
	if tok, err := dec.Token(); err != nil {
		return p, err
	} else if tok != json.Delim('{') {
		return p, errors.New("the answer is not a JSON object")
	}
	hasValue := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return p, err
		}
		switch tok {
		case "value":
			hasValue = true
			p.rows, err = readValues(dec, add)
		case "@odata.nextLink":
			var s *string
			err = dec.Decode(&s)
			if s != nil {
				p.nextLink = *s
			}
		case "@odata.count":
			var n *int
			err = dec.Decode(&n)
			if n != nil {
				p.count = *n
			}
		default:
			var skip json.RawMessage
			err = dec.Decode(&skip)
		}
		if err != nil {
			return p, err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return p, err
	}
	if !hasValue {
		return p, errors.New(`the answer has no "value" array`)
	}
	return p, nil
}

// readValues reads the "value" array; null counts as empty.
func readValues(dec *json.Decoder, add func(*MachineAction)) (int, error) {
	tok, err := dec.Token()
	if err != nil || tok == nil {
		return 0, err
	}
	if tok != json.Delim('[') {
		return 0, errors.New(`"value" is not an array`)
	}
	n := 0
	var ( // reused for every element: what add keeps, it copies
		raw json.RawMessage
		a   MachineAction
	)
	for dec.More() {
		raw = raw[:0]
		if err := dec.Decode(&raw); err != nil {
			return n, err
		}
		if a, err = decodeEntity(raw); err != nil {
			return n, fmt.Errorf("value[%d]: %w", n, err)
		}
		add(&a)
		n++
	}
	_, err = dec.Token() // the closing bracket
	return n, err
}
