package mdesim

import (
	"cmp"
	"net/url"
	"strconv"
	"strings"

	"github.com/mdeactions/mdeactions/mde"
)

// maxTop is the documented maximum page size of the list API.
const maxTop = 10000

// listQuery is a parsed list request.
type listQuery struct {
	filter  predicate // nil: every action
	top     int       // -1: no $top
	skip    int
	orderBy []orderKey // nil: newest first
	count   bool
	// rest holds the raw query parts other than $skip, in request order,
	// for building @odata.nextLink.
	rest []string
}

// orderKey is one $orderby item.
type orderKey struct {
	compare func(a, b *mde.MachineAction) int
	desc    bool
}

// orderProps are the $orderby properties, keyed by lower-case name.
var orderProps = map[string]func(a, b *mde.MachineAction) int{
	"creationdatetimeutc": func(a, b *mde.MachineAction) int {
		return a.CreationDateTimeUtc.Time.Compare(b.CreationDateTimeUtc.Time)
	},
	"lastupdatedatetimeutc": func(a, b *mde.MachineAction) int {
		return a.LastUpdateDateTimeUtc.Time.Compare(b.LastUpdateDateTimeUtc.Time)
	},
	"status":          func(a, b *mde.MachineAction) int { return compareFold(string(a.Status), string(b.Status)) },
	"type":            func(a, b *mde.MachineAction) int { return compareFold(string(a.Type), string(b.Type)) },
	"computerdnsname": func(a, b *mde.MachineAction) int { return compareFold(a.ComputerDNSName, b.ComputerDNSName) },
	"requestor":       func(a, b *mde.MachineAction) int { return compareFold(a.Requestor, b.Requestor) },
	"machineid":       func(a, b *mde.MachineAction) int { return compareFold(a.MachineID, b.MachineID) },
	"id":              func(a, b *mde.MachineAction) int { return compareFold(a.ID, b.ID) },
}

func compareFold(a, b string) int { return cmp.Compare(strings.ToLower(a), strings.ToLower(b)) }

// parseListQuery reads the query string of a list request. Keys that do
// not start with '$' are ignored, as the API does; '+' and %20 both decode
// to a space.
func parseListQuery(raw string) (listQuery, *apiError) {
	q := listQuery{top: -1}
	seen := map[string]bool{}
	for _, part := range strings.Split(raw, "&") {
		if part == "" {
			continue
		}
		rawKey, rawValue, _ := strings.Cut(part, "=")
		key, err1 := url.QueryUnescape(rawKey)
		value, err2 := url.QueryUnescape(rawValue)
		if err1 != nil || err2 != nil {
			return q, odataError("malformed query string near '%s'", part)
		}
		name := strings.ToLower(key)
		if name != "$skip" {
			q.rest = append(q.rest, part)
		}
		if !strings.HasPrefix(key, "$") {
			continue
		}
		switch name {
		case "$filter", "$top", "$skip", "$orderby", "$count":
		default:
			return q, queryLayerError("Custom query option '%s' that starts with '$' is not supported.", key)
		}
		if seen[name] {
			return q, queryLayerError("Query option '%s' was specified more than once, but it must be specified at most once.", key)
		}
		seen[name] = true

		var e *apiError
		switch name {
		case "$filter":
			if strings.TrimSpace(value) == "" {
				return q, odataError("$filter is empty")
			}
			f, err := parseFilter(value)
			if err != nil {
				return q, odataError("%s", err)
			}
			q.filter = f
		case "$top":
			q.top, e = parseCount(key, value)
			if e == nil && q.top > maxTop {
				e = queryLayerError("The limit of '%d' for Top query has been exceeded. The value from the incoming request is '%d'.", maxTop, q.top)
			}
		case "$skip":
			q.skip, e = parseCount(key, value)
		case "$orderby":
			q.orderBy, e = parseOrderBy(value)
		case "$count":
			switch strings.ToLower(value) {
			case "true":
				q.count = true
			case "false":
				q.count = false
			default:
				e = queryLayerError("Invalid value '%s' for $count query option found. Valid values are 'true, false'.", value)
			}
		}
		if e != nil {
			return q, e
		}
	}
	return q, nil
}

// parseCount reads the non-negative integer of $top or $skip.
func parseCount(key, value string) (int, *apiError) {
	n, err := strconv.Atoi(value)
	if err != nil || n < 0 {
		return 0, queryLayerError("Invalid value '%s' for %s query option found. The %s query option requires a non-negative integer value.", value, key, key)
	}
	return n, nil
}

// parseOrderBy reads "<prop> [asc|desc] {, <prop> [asc|desc]}".
func parseOrderBy(value string) ([]orderKey, *apiError) {
	if strings.TrimSpace(value) == "" {
		return nil, odataError("$orderby is empty")
	}
	var keys []orderKey
	for _, item := range strings.Split(value, ",") {
		fields := strings.Fields(item)
		if len(fields) == 0 || len(fields) > 2 {
			return nil, odataError("invalid $orderby item '%s'", strings.TrimSpace(item))
		}
		compare, ok := orderProps[strings.ToLower(fields[0])]
		if !ok {
			return nil, odataError("property '%s' is not supported in $orderby", fields[0])
		}
		key := orderKey{compare: compare}
		if len(fields) == 2 {
			switch strings.ToLower(fields[1]) {
			case "asc":
			case "desc":
				key.desc = true
			default:
				return nil, odataError("invalid $orderby direction '%s'", fields[1])
			}
		}
		keys = append(keys, key)
	}
	return keys, nil
}

// compareActions orders by the $orderby keys, then by id for stable ties.
func compareActions(keys []orderKey, a, b *mde.MachineAction) int {
	for _, k := range keys {
		c := k.compare(a, b)
		if k.desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return cmp.Compare(a.ID, b.ID)
}
