// Package filter decides which machine actions the list shows and in what
// order: a filter Spec (status, type, device, requestor, age) with its
// server-side part as a typed mde.Query and its client-side check; an Index
// that makes the incremental "/" search and the filter cheap at 100,000 rows;
// sorting by any column; and Bar, the one-line input for "/" and "f".
//
// Nothing here does I/O.
package filter

import (
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/mde/textsafe"
	"github.com/mdeactions/mdeactions/ui/actiontable"
)

// Spec is what the user asked to see. The zero value is the default view:
// every Pending or InProgress action.
type Spec struct {
	// Statuses to show; empty means Pending and InProgress (the default
	// view). Final statuses are shown only when asked for.
	Statuses []mde.ActionStatus
	// AllStatuses shows every status, unknown ones included; Statuses is
	// then ignored ("status:all").
	AllStatuses bool
	// Types to show; empty means every type.
	Types []mde.ActionType
	// Device is a case-insensitive substring of the device name, checked
	// client-side. An exact 40-hex machine id is sent to the server
	// (machineId eq) and then matches that machine only.
	Device string
	// Requestor is an exact UPN or app name: sent to the server, and
	// matched case-insensitively client-side as well.
	Requestor string
	// Tenant is the name of one profile's tenant, in the all-profiles view;
	// exact, case-insensitive, checked client-side only.
	Tenant string
	// OlderThan keeps the actions created more than this long ago; sent as
	// creationDateTimeUtc lt now-OlderThan. An action whose creation time
	// is unknown never matches an age filter. Zero: no age filter.
	OlderThan time.Duration
}

// MaxAge is the longest OlderThan that Parse accepts.
const MaxAge = 3650 * 24 * time.Hour

// statusOrder lists the documented statuses in lifecycle order. Their
// position (plus one) is the status code used by the index and by sorting.
var statusOrder = []mde.ActionStatus{
	mde.StatusPending, mde.StatusInProgress, mde.StatusSucceeded,
	mde.StatusFailed, mde.StatusTimeOut, mde.StatusCancelled,
}

const (
	maskOpen  = 1<<1 | 1<<2               // Pending, InProgress
	maskFinal = 1<<3 | 1<<4 | 1<<5 | 1<<6 // Succeeded, Failed, TimeOut, Cancelled
)

// statusCode is 1..6 for a documented status (any case), 0 otherwise.
func statusCode(s mde.ActionStatus) uint8 {
	for i, v := range statusOrder {
		if s == v {
			return uint8(i + 1)
		}
	}
	for i, v := range statusOrder {
		if strings.EqualFold(string(s), string(v)) {
			return uint8(i + 1)
		}
	}
	return 0
}

// typeCode is 1..9 for a documented type (any case), 0 otherwise.
func typeCode(t mde.ActionType) uint8 {
	for i, v := range mde.ActionTypes {
		if t == v {
			return uint8(i + 1)
		}
	}
	for i, v := range mde.ActionTypes {
		if strings.EqualFold(string(t), string(v)) {
			return uint8(i + 1)
		}
	}
	return 0
}

// isMachineID reports whether s is a machine id: exactly 40 hex digits.
func isMachineID(s string) bool {
	if len(s) != 40 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// serverStatuses is the status set the server is asked for, in lifecycle
// order without duplicates; nil when every status is wanted.
func (s Spec) serverStatuses() []mde.ActionStatus {
	if s.AllStatuses {
		return nil
	}
	if len(s.Statuses) == 0 {
		return []mde.ActionStatus{mde.StatusPending, mde.StatusInProgress}
	}
	return dedupeStatuses(s.Statuses)
}

func dedupeStatuses(in []mde.ActionStatus) []mde.ActionStatus {
	var mask uint16
	var other []mde.ActionStatus
	for _, st := range in {
		if c := statusCode(st); c != 0 {
			mask |= 1 << c
		} else if st != "" && !containsFold(other, st) {
			other = append(other, st)
		}
	}
	out := make([]mde.ActionStatus, 0, len(in))
	for i, v := range statusOrder {
		if mask&(1<<(i+1)) != 0 {
			out = append(out, v)
		}
	}
	return append(out, other...)
}

func dedupeTypes(in []mde.ActionType) []mde.ActionType {
	if len(in) == 0 {
		return nil
	}
	var mask uint16
	var other []mde.ActionType
	for _, t := range in {
		if c := typeCode(t); c != 0 {
			mask |= 1 << c
		} else if t != "" && !containsFold(other, t) {
			other = append(other, t)
		}
	}
	out := make([]mde.ActionType, 0, len(in))
	for i, v := range mde.ActionTypes {
		if mask&(1<<(i+1)) != 0 {
			out = append(out, v)
		}
	}
	return append(out, other...)
}

func containsFold[T ~string](list []T, v T) bool {
	for _, x := range list {
		if strings.EqualFold(string(x), string(v)) {
			return true
		}
	}
	return false
}

// Query returns the server-side part of the spec as a typed query: the
// statuses (Pending and InProgress by default, none for status:all), the
// types, the machine id when Device is one, the requestor, and the age as
// creationDateTimeUtc lt now-OlderThan, rounded up to the whole second so
// the server never leaves out a row the client would show. PageSize is 0
// (the client's default).
func (s Spec) Query(now time.Time) mde.Query {
	q := mde.Query{
		Statuses: s.serverStatuses(),
		Types:    dedupeTypes(s.Types),
	}
	if d := strings.TrimSpace(s.Device); isMachineID(d) {
		q.MachineIDs = []string{strings.ToLower(d)}
	}
	if r := strings.TrimSpace(s.Requestor); r != "" {
		q.Requestors = []string{r}
	}
	if s.OlderThan > 0 {
		q.CreatedBefore = ceilSecond(now.Add(-s.OlderThan)).UTC()
	}
	return q
}

func ceilSecond(t time.Time) time.Time {
	if r := t.Truncate(time.Second); !r.Equal(t) {
		return r.Add(time.Second)
	}
	return t
}

// Covers reports whether the rows loaded with s hold every row next can
// show, so that applying next needs no reload: next's server-side part
// asks for a subset of what s asked for. Narrowing a filter (one status
// fewer, a type added, a longer age) is done client-side; widening it
// means a reload.
func (s Spec) Covers(next Spec) bool {
	// Statuses.
	if !s.AllStatuses {
		if next.AllStatuses {
			return false
		}
		have := s.serverStatuses()
		for _, st := range next.serverStatuses() {
			if !containsFold(have, st) {
				return false
			}
		}
	}
	// Types.
	if have := dedupeTypes(s.Types); len(have) > 0 {
		want := dedupeTypes(next.Types)
		if len(want) == 0 {
			return false
		}
		for _, t := range want {
			if !containsFold(have, t) {
				return false
			}
		}
	}
	// Machine id.
	if d := strings.TrimSpace(s.Device); isMachineID(d) {
		if !strings.EqualFold(d, strings.TrimSpace(next.Device)) {
			return false
		}
	}
	// Requestor: the server's matching rules are not documented, so any
	// change of the text is a reload.
	if r := strings.TrimSpace(s.Requestor); r != "" && r != strings.TrimSpace(next.Requestor) {
		return false
	}
	// Age.
	if s.OlderThan > 0 && next.OlderThan < s.OlderThan {
		return false
	}
	return true
}

// NeedsReload reports whether going from the spec the rows were loaded
// with to next needs a new request to the API.
func NeedsReload(loaded, next Spec) bool { return !loaded.Covers(next) }

// IsDefault reports whether the spec shows what the zero Spec shows.
func (s Spec) IsDefault() bool { return s.String() == "" }

// Match is the full client-side check of one row, the server-side parts
// included, so that rows gone stale (an action cancelled since the load)
// disappear. An unknown status matches only when it is asked for by name
// or with status:all; an unknown type only when asked for by name or when
// no type is asked for. A row with no creation time never matches an age
// filter.
func (s Spec) Match(r *actiontable.Row, now time.Time) bool {
	m := s.compile(now)
	e := newEntry(r, 0)
	return m.match(&e)
}

// matcher is a Spec compiled for one search: lower-cased texts, bit masks
// of the documented statuses and types, and the age cut-off.
type matcher struct {
	anyStatus   bool
	statusMask  uint16
	statusOther []mde.ActionStatus
	anyType     bool
	typeMask    uint16
	typeOther   []mde.ActionType
	device      string // lower-cased substring; "" none
	machineID   string // the device filter is a machine id
	requestor   string // lower-cased; "" none
	tenant      string // lower-cased; "" none
	cutoff      int64  // UnixNano; rows must be created before it
	hasCutoff   bool
	cold        bool // some check needs more than a row's hot bytes
}

func (s Spec) compile(now time.Time) matcher {
	var m matcher
	switch {
	case s.AllStatuses:
		m.anyStatus = true
	case len(s.Statuses) == 0:
		m.statusMask = maskOpen
	default:
		for _, st := range s.Statuses {
			if c := statusCode(st); c != 0 {
				m.statusMask |= 1 << c
			} else {
				m.statusOther = append(m.statusOther, st)
			}
		}
	}
	if len(s.Types) == 0 {
		m.anyType = true
	}
	for _, t := range s.Types {
		if c := typeCode(t); c != 0 {
			m.typeMask |= 1 << c
		} else {
			m.typeOther = append(m.typeOther, t)
		}
	}
	if d := strings.TrimSpace(textsafe.Clean(s.Device)); isMachineID(d) {
		m.machineID = d
	} else {
		m.device = lower(d)
	}
	m.requestor = lower(strings.TrimSpace(textsafe.Clean(s.Requestor)))
	m.tenant = lower(strings.TrimSpace(textsafe.Clean(s.Tenant)))
	if s.OlderThan > 0 {
		// Kept to the second (ages are shown in minutes), so that the
		// keystrokes of one second share a cut-off and the search cache.
		m.hasCutoff = true
		m.cutoff = now.Add(-s.OlderThan).Truncate(time.Second).UnixNano()
	}
	m.cold = len(m.statusOther) > 0 || len(m.typeOther) > 0 || m.machineID != "" || m.device != "" || m.requestor != "" || m.tenant != ""
	return m
}

// same reports whether two compiled specs select the same rows.
func (m *matcher) same(o *matcher) bool {
	return m.anyStatus == o.anyStatus && m.statusMask == o.statusMask &&
		slices.Equal(m.statusOther, o.statusOther) && m.anyType == o.anyType &&
		m.typeMask == o.typeMask && slices.Equal(m.typeOther, o.typeOther) &&
		m.device == o.device && m.machineID == o.machineID && m.requestor == o.requestor && m.tenant == o.tenant &&
		m.hasCutoff == o.hasCutoff && m.cutoff == o.cutoff
}

// match is the whole check of one entry.
func (m *matcher) match(e *entry) bool {
	return m.matchHot(&e.hot) && (!m.cold || m.matchCold(e))
}

// matchHot checks what the few hot bytes of a row decide: a documented
// status or type, and the age. A row it passes needs matchCold too when
// m.cold is set.
func (m *matcher) matchHot(h *hot) bool {
	if !m.anyStatus {
		if h.status != 0 {
			if m.statusMask&(1<<h.status) == 0 {
				return false
			}
		} else if len(m.statusOther) == 0 {
			return false
		}
	}
	if !m.anyType {
		if h.typ != 0 {
			if m.typeMask&(1<<h.typ) == 0 {
				return false
			}
		} else if len(m.typeOther) == 0 {
			return false
		}
	}
	if m.hasCutoff && (h.created == unknownTime || h.created >= m.cutoff) {
		return false
	}
	return true
}

// matchCold checks the rest: unknown statuses and types by name, the
// device and the requestor.
func (m *matcher) matchCold(e *entry) bool {
	return m.matchRest(&e.hot, e.statusRaw, e.typeRaw, e.machineID, e.field(fieldDevice), e.field(fieldRequestor), e.field(fieldTenant))
}

// needsRaw reports whether matchRest reads the raw status, type or
// machine id.
func (m *matcher) needsRaw() bool {
	return len(m.statusOther) > 0 && !m.anyStatus || len(m.typeOther) > 0 && !m.anyType || m.machineID != ""
}

// matchRest is matchCold with the lower-cased device, requestor and tenant
// given; it reads e only for an unknown status or type, or a machine id.
func (m *matcher) matchRest(e *hot, statusRaw mde.ActionStatus, typeRaw mde.ActionType, machineID, device, requestor, tenant string) bool {
	if m.device != "" && !strings.Contains(device, m.device) {
		return false
	}
	if m.tenant != "" && tenant != m.tenant {
		return false
	}
	if m.requestor != "" && requestor != m.requestor {
		return false
	}
	if len(m.statusOther) > 0 && !m.anyStatus && e.status == 0 && !containsFold(m.statusOther, statusRaw) {
		return false
	}
	if len(m.typeOther) > 0 && !m.anyType && e.typ == 0 && !containsFold(m.typeOther, typeRaw) {
		return false
	}
	if m.machineID != "" && !strings.EqualFold(machineID, m.machineID) {
		return false
	}
	return true
}

// String is the spec in the syntax Parse reads, compact enough for the
// header: "status:Pending type:Isolate device:ws-fin age>2h". The default
// view is "".
func (s Spec) String() string {
	var parts []string
	if st := s.statusText(); st != "" {
		parts = append(parts, "status:"+st)
	}
	if ts := dedupeTypes(s.Types); len(ts) > 0 {
		names := make([]string, len(ts))
		for i, t := range ts {
			names[i] = quoteValue(string(t))
		}
		parts = append(parts, "type:"+strings.Join(names, ","))
	}
	if d := strings.TrimSpace(s.Device); d != "" {
		parts = append(parts, "device:"+quoteValue(d))
	}
	if r := strings.TrimSpace(s.Requestor); r != "" {
		parts = append(parts, "requestor:"+quoteValue(r))
	}
	if t := strings.TrimSpace(s.Tenant); t != "" {
		parts = append(parts, "tenant:"+quoteValue(t))
	}
	if s.OlderThan > 0 {
		parts = append(parts, "age>"+formatAge(s.OlderThan))
	}
	return strings.Join(parts, " ")
}

func (s Spec) statusText() string {
	if s.AllStatuses {
		return "all"
	}
	sts := dedupeStatuses(s.Statuses)
	var mask uint16
	for _, st := range sts {
		mask |= 1 << statusCode(st)
	}
	if mask == maskOpen && len(sts) == 2 || len(sts) == 0 {
		return "" // the default
	}
	var names []string
	final := mask&maskFinal == maskFinal
	for _, st := range sts {
		if final && statusCode(st) != 0 && st.Final() {
			continue
		}
		names = append(names, quoteValue(string(st)))
	}
	if final {
		names = append(names, "final")
	}
	return strings.Join(names, ",")
}

// quoteValue puts a value in double quotes when Parse would otherwise
// split it or misread it.
func quoteValue(v string) string {
	need := v == ""
	for _, r := range v {
		if unicode.IsSpace(r) || r == '"' || r == ',' {
			need = true
			break
		}
	}
	if !need {
		return v
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range v {
		if r == '"' || r == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}

// formatAge writes a duration with d, h, m and s units: 2h, 1d12h, 1h30m.
func formatAge(d time.Duration) string {
	d = d.Truncate(time.Second)
	if d <= 0 {
		return "0s"
	}
	var b strings.Builder
	for _, u := range []struct {
		unit time.Duration
		name string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if n := d / u.unit; n > 0 {
			b.WriteString(strconv.FormatInt(int64(n), 10))
			b.WriteString(u.name)
			d -= n * u.unit
		}
	}
	return b.String()
}
