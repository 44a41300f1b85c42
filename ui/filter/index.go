package filter

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/mde/textsafe"
	"github.com/mdeactions/mdeactions/ui/actiontable"
	"github.com/mdeactions/mdeactions/ui/format"
)

// The fields of a row's haystack, in order.
const (
	fieldType = iota
	fieldStatus
	fieldDevice
	fieldRequestor
	fieldComment
	fieldID
	fieldTenant // the profile's name, in the all-profiles view
	numFields
)

// unknownTime stands for a missing or unreadable creation time.
const unknownTime = math.MinInt64

// entry is what the index keeps of one row: everything a keystroke needs,
// so that a search never touches the (large) rows themselves.
type entry struct {
	hot
	// hay is the lower-cased text of the visible columns, NUL-separated so
	// that a term never matches across two columns: type label, status,
	// device, requestor, comment, id.
	hay       string
	ends      [numFields - 1]uint32 // end of each field but the last in hay
	row       int32
	missing   uint8 // bit per Column: the row has no value there
	statusRaw mde.ActionStatus
	typeRaw   mde.ActionType
	machineID string
}

// hot is the part of an entry most filters need, kept apart in the index
// so that a search reads 16 bytes per row, not a whole entry.
type hot struct {
	created int64 // UnixNano, or unknownTime
	status  uint8 // statusCode; 0: statusRaw is unknown (or empty)
	typ     uint8 // typeCode; 0: typeRaw is unknown (or empty)
}

// field returns one lower-cased column of the entry.
func (e *entry) field(f int) string {
	start := 0
	if f > 0 {
		start = int(e.ends[f-1]) + 1
	}
	end := len(e.hay)
	if f < numFields-1 {
		end = int(e.ends[f])
	}
	return e.hay[start:end]
}

// newEntry builds the entry of one row, with its own haystack string.
func newEntry(r *actiontable.Row, i int) entry {
	var e entry
	buf := appendEntry(nil, r, &e, 0)
	e.hay = string(buf)
	e.row = int32(i)
	return e
}

// appendEntry appends the row's haystack to buf, fills e (but hay and row)
// with offsets relative to base, and returns buf.
func appendEntry(buf []byte, r *actiontable.Row, e *entry, base int) []byte {
	a := r.Action
	fields := [numFields]string{
		r.TypeLabel(), format.Status(a.Status), r.Device(), r.Requestor(), r.Comment(), textsafe.Clean(a.ID), r.Tenant,
	}
	for f, s := range fields {
		if f > 0 {
			buf = append(buf, 0)
		}
		buf = appendLower(buf, s)
		if f < numFields-1 {
			e.ends[f] = uint32(len(buf) - base)
		}
	}
	e.status = statusCode(a.Status)
	e.typ = typeCode(a.Type)
	e.statusRaw = a.Status
	e.typeRaw = a.Type
	e.machineID = a.MachineID
	e.created = unknownTime
	if !a.CreationDateTimeUtc.IsZero() {
		e.created = a.CreationDateTimeUtc.UnixNano()
	}
	e.missing = 0
	if a.Type == "" {
		e.missing |= 1 << ColType
	}
	if a.Status == "" {
		e.missing |= 1 << ColStatus
	}
	if a.ComputerDNSName == "" && a.MachineID == "" {
		e.missing |= 1 << ColDevice
	}
	if fields[fieldRequestor] == "" {
		e.missing |= 1 << ColRequestor
	}
	if e.created == unknownTime {
		e.missing |= 1 << ColAge
	}
	if fields[fieldComment] == "" {
		e.missing |= 1 << ColComment
	}
	return buf
}

// appendLower appends s lower-cased, as strings.ToLower would write it.
func appendLower(buf []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			buf = append(buf, c)
			i++
			continue
		}
		r, w := utf8.DecodeRuneInString(s[i:])
		buf = utf8.AppendRune(buf, unicode.ToLower(r))
		i += w
	}
	return buf
}

// lower is strings.ToLower with the same rules as the haystacks; it
// returns s itself when there is nothing to change.
func lower(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf || 'A' <= c && c <= 'Z' {
			return string(appendLower(make([]byte, 0, len(s)), s))
		}
	}
	return s
}

// Index makes search, filtering and sorting cheap at 100,000 rows. It is
// built once per data arrival and keeps, per row, the lower-cased text of
// the visible columns and the few values the filter checks. It keeps the
// rows in an order (oldest first unless SetOrder says otherwise), so that
// Search returns them sorted without sorting on every keystroke.
//
// What keeps a keystroke cheap:
//   - the texts sit in one string in that order, and what a row's checks
//     need sits in small arrays beside it, so a search reads memory front
//     to back;
//   - each row has a 64-bit signature of the bytes its text holds, so most
//     rows that cannot contain the terms are skipped without reading them,
//     and a term is looked for by its rarest byte;
//   - the rows the spec matches are kept, and so are the last few
//     searches: a keystroke that narrows one of them (a character typed at
//     the end, a term added, a backspace back to an earlier query) looks at
//     that search's hits only, checks only the terms it did not have, and
//     goes on from where the growing term was found.
//
// The index is a snapshot: after changing rows[i] (a cancel, a refreshed
// row), call Refresh(i). It is not safe for concurrent use, Search
// included (it keeps its history).
type Index struct {
	rows []actiontable.Row
	// entries exist only while the index is sorted: the compact arrays
	// below are all a search reads, so they are dropped after (at 100,000
	// rows they would be 13 MB kept for nothing).
	entries []entry
	pos     []int32 // pos[row] is the row's place in the order

	// What a keystroke reads, front to back, in the current order.
	text  string                  // every entry's hay, each followed by '\n'
	buf   []byte                  // the memory behind text, written over by the next layout
	off   []uint32                // entry k's hay is text[off[k]:off[k+1]-1]
	sigs  []uint64                // the byte signature of each hay
	hots  []hot                   // a copy of each entry's hot part
	ends  [][numFields - 1]uint32 // a copy of each entry's field ends
	rowOf []int32                 // each entry's row

	freq [256]uint32 // how often each byte occurs in text (a sample)

	dirty   bool // an entry changed since the layout (Refresh)
	order   Order
	history [historySize]pastSearch
	// bySpec is the rows the last spec matched, with no query: every
	// search with that spec refines it, so a keystroke never checks the
	// spec again, even when its history has nothing closer.
	bySpec pastSearch
	tick   uint64
}

// historySize is how many searches the index remembers.
const historySize = 8

// pastSearch is a search the index remembers.
type pastSearch struct {
	valid bool
	used  uint64 // for least-recently-used replacement
	m     matcher
	terms []string
	tail  string   // the query's last term, the one being typed
	hits  []int32  // places in entries, in order
	pos   []uint32 // pos[h]: where tail first occurs in hits[h]'s text
}

// NewIndex indexes rows (kept, not copied) and orders them oldest first.
func NewIndex(rows []actiontable.Row) *Index { return NewIndexOrdered(rows, Order{}) }

// NewIndexOrdered is NewIndex in the order o, sorting once.
func NewIndexOrdered(rows []actiontable.Row, o Order) *Index { return build(rows, o, Index{}) }

// Renew indexes rows in the order o (NewIndexOrdered) in the memory of ix:
// a refresh writes the new text and arrays over the old ones where they
// are large enough, so that the two are never in memory at once (at
// 100,000 rows they are 20 MB). Whoever still points at ix sees the new
// index; nothing it held before is valid.
func (ix *Index) Renew(rows []actiontable.Row, o Order) {
	*ix = *build(rows, o, Index{buf: ix.buf, off: ix.off, sigs: ix.sigs, hots: ix.hots, ends: ix.ends, rowOf: ix.rowOf, pos: ix.pos})
}

// build indexes rows in the order o, reusing the arrays of mem.
func build(rows []actiontable.Row, o Order, mem Index) *Index {
	ix := &mem
	ix.rows, ix.pos = rows, resize(ix.pos, len(rows))
	if o.Column == ColAge {
		ix.sortByAge(o)
		ix.layoutFrom(false)
		return ix
	}
	ix.entries = make([]entry, len(rows))
	buf := make([]byte, 0, textSize(rows))
	starts := make([]int, len(rows)+1)
	for i := range rows {
		starts[i] = len(buf)
		buf = appendEntry(buf, &rows[i], &ix.entries[i], len(buf))
		ix.entries[i].row = int32(i)
	}
	starts[len(rows)] = len(buf)
	all := freeze(buf)
	for i := range ix.entries {
		ix.entries[i].hay = all[starts[i]:starts[i+1]]
	}
	ix.sortEntries(o)
	ix.layoutFrom(true) // the entries hold their text: copy it
	ix.entries = nil
	return ix
}

// sortByAge orders the rows by creation time (the default order) with the
// rules of compareEntries: a missing time last either way, ties by row.
// Only the times are sorted, 12 bytes a row, and the text is then written
// once in its final order: at 100,000 rows whole entries, or a second copy
// of the text, would be 11 or 15 MB more at the peak of every load.
func (ix *Index) sortByAge(o Order) {
	ix.order = o
	type key struct {
		created int64 // UnixNano, or unknownTime
		row     int32
	}
	keys := make([]key, len(ix.rows))
	for i := range ix.rows {
		keys[i] = key{unknownTime, int32(i)}
		if c := ix.rows[i].Action.CreationDateTimeUtc; !c.IsZero() {
			keys[i].created = c.UnixNano()
		}
	}
	slices.SortFunc(keys, func(a, b key) int {
		am, bm := a.created == unknownTime, b.created == unknownTime
		switch {
		case am != bm:
			return cmp.Compare(boolInt(am), boolInt(bm))
		case !am && a.created != b.created:
			if o.Desc {
				return cmp.Compare(b.created, a.created)
			}
			return cmp.Compare(a.created, b.created)
		}
		return cmp.Compare(a.row, b.row)
	})
	ix.rowOf = resize(ix.rowOf, len(keys))
	for k, key := range keys {
		ix.pos[key.row] = int32(k)
		ix.rowOf[k] = key.row
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// resize returns s with length n, reusing its memory when it is large
// enough; the caller writes every element.
func resize[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]T, n)
}

// freeze makes the text of buf a string without copying it (as
// strings.Builder does): at 100,000 rows a copy is 15 MB more at the peak
// of every load. buf must not be written to while the string is in use:
// the index writes its buf again only in its next layout, which replaces
// the text and forgets every search made on it.
func freeze(buf []byte) string { return unsafe.String(unsafe.SliceData(buf), len(buf)) }

// textSize guesses the bytes of all haystacks (lower-casing rarely changes
// a length), for one allocation.
func textSize(rows []actiontable.Row) int {
	size := 0
	for i := range rows {
		r := &rows[i]
		size += len(format.TypeLabel(r.Action.Type)) + len(r.Action.ComputerDNSName) + len(r.Action.Requestor) + len(r.Action.RequestorComment) +
			len(r.Action.ID) + len(r.Action.Status) + len(r.Tenant) + numFields + 8
	}
	return size
}

// Len is the number of rows indexed.
func (ix *Index) Len() int { return len(ix.rows) }

// Rows returns the indexed rows (not a copy).
func (ix *Index) Rows() []actiontable.Row { return ix.rows }

// Order is the order Search returns rows in.
func (ix *Index) Order() Order { return ix.order }

// SetOrder sorts the index (once; not per keystroke) in the order o, with
// the same rules as Sort: ties by creation time (oldest first), then by row
// number.
func (ix *Index) SetOrder(o Order) { ix.Renew(ix.rows, o) }

// sortEntries puts the entries in the order o, in place (a second array of
// 100,000 entries would only raise the peak memory of every load).
func (ix *Index) sortEntries(o Order) {
	ix.order = o
	es := ix.entries
	perm := make([]int32, len(es)) // sorting indexes moves 4 bytes, not an entry
	for k := range perm {
		perm[k] = int32(k)
	}
	slices.SortFunc(perm, func(a, b int32) int {
		ea, eb := &es[a], &es[b]
		if c := compareEntries(ea, eb, o); c != 0 {
			return c
		}
		return int(ea.row) - int(eb.row)
	})
	// Apply the permutation in place, cycle by cycle: entry perm[k] goes
	// to place k.
	for k := range perm {
		if perm[k] < 0 {
			continue
		}
		tmp, dst := es[k], k
		for {
			src := int(perm[dst])
			perm[dst] = -1
			if src == k {
				es[dst] = tmp
				break
			}
			es[dst] = es[src]
			dst = src
		}
	}
	ix.rowOf = resize(ix.rowOf, len(es))
	for k := range es {
		ix.pos[es[k].row] = int32(k)
		ix.rowOf[k] = es[k].row
	}
}

// layout writes the arrays a keystroke reads, in the current order
// (rowOf), from the rows: after a sort, or after rows changed in place. It
// forgets the past searches, whose places may be stale.
func (ix *Index) layout() { ix.layoutFrom(false) }

// layoutFrom is layout; with fromEntries, the sorted entries give their
// text (a copy, not made anew from each row).
func (ix *Index) layoutFrom(fromEntries bool) {
	n := len(ix.rowOf)
	buf := ix.buf[:0] // the old text is not read from here on
	if need := textSize(ix.rows) + n; cap(buf) < need {
		buf = make([]byte, 0, need)
	}
	ix.off, ix.sigs = resize(ix.off, n+1), resize(ix.sigs, n)
	ix.hots, ix.ends = resize(ix.hots, n), resize(ix.ends, n)
	var e entry
	for k, r := range ix.rowOf {
		ix.off[k] = uint32(len(buf))
		if fromEntries {
			e = ix.entries[k]
			buf = append(buf, e.hay...)
		} else {
			buf = appendEntry(buf, &ix.rows[r], &e, len(buf))
		}
		buf = append(buf, '\n')
		ix.hots[k] = e.hot
		ix.ends[k] = e.ends
	}
	ix.off[n] = uint32(len(buf))
	ix.buf, ix.text = buf, freeze(buf)
	ix.freq = [256]uint32{}
	step := max(len(ix.text)/(1<<20), 1) // a 1 MB sample is enough
	for i := 0; i < len(ix.text); i += step {
		ix.freq[ix.text[i]]++
	}
	for k := range n {
		ix.sigs[k] = signature(ix.hay(k))
	}
	ix.dirty = false
	ix.forget()
}

// forget drops the past searches.
func (ix *Index) forget() {
	for i := range ix.history {
		ix.history[i].valid = false
	}
	ix.bySpec.valid = false
}

// hay is the text of entry k.
func (ix *Index) hay(k int) string { return ix.text[ix.off[k] : ix.off[k+1]-1] }

// field is one lower-cased column of entry k, read from the compact arrays.
func (ix *Index) field(k, f int) string {
	base := ix.off[k]
	start, end := base, ix.off[k+1]-1
	if f > 0 {
		start = base + ix.ends[k][f-1] + 1
	}
	if f < numFields-1 {
		end = base + ix.ends[k][f]
	}
	return ix.text[start:end]
}

// Refresh re-reads row i after it changed in place (its status after a
// cancel, say). The row keeps its place in the order until the next
// SetOrder, so it does not jump under the cursor. The next Search lays the
// text out again, once for any number of refreshes.
func (ix *Index) Refresh(i int) {
	if i < 0 || i >= len(ix.rows) {
		return
	}
	ix.dirty = true // the next Search lays the text out again from the rows
}

// Search appends to dst[:0] the indexes (into the indexed rows) of the rows
// that match spec and contain every whitespace-separated term of query,
// case-insensitively, in the index's order. The query is cleaned of
// control characters first. With a reused dst it allocates nothing that
// grows with the number of rows, once its history has warmed up.
func (ix *Index) Search(query string, spec Spec, now time.Time, dst []int) []int {
	dst = dst[:0]
	if ix.dirty {
		ix.layout()
	}
	m := spec.compile(now)
	var buf [8]string
	terms, tail := splitTerms(query, buf[:0])
	ix.tick++

	// The narrowest past search this one refines, if any.
	var base *pastSearch
	if ix.bySpec.valid && m.same(&ix.bySpec.m) {
		base = &ix.bySpec
	}
	for i := range ix.history {
		h := &ix.history[i]
		if !h.valid || !m.same(&h.m) {
			continue
		}
		if sameTerms(terms, h.terms) {
			base = h // the same search again
			break
		}
		if refines(terms, h.terms) && (base == nil || len(h.hits) <= len(base.hits)) {
			base = h
		}
	}
	if base == nil && len(terms) == 0 {
		ix.scanSpec(&m, nil, "", nil, nil)
		base = &ix.bySpec
	}
	if base != nil && sameTerms(terms, base.terms) {
		base.used = ix.tick
		return ix.rowsOf(base.hits, dst)
	}

	// The slot to fill: a free one, else the least recently used; never
	// the one being read.
	var slot *pastSearch
	for i := range ix.history {
		h := &ix.history[i]
		if h == base {
			continue
		}
		if slot == nil || !h.valid && slot.valid || h.valid == slot.valid && h.used < slot.used {
			slot = h
		}
	}
	if n := len(ix.rowOf); cap(slot.hits) < n {
		// Room for every row, once per slot: a keystroke never grows it.
		slot.hits, slot.pos = make([]int32, 0, n), make([]uint32, 0, n)
	}
	var hits []int32
	var pos []uint32
	if base == nil {
		// One pass for the spec (kept for the keystrokes to come) and the
		// query.
		hits, pos = ix.scanSpec(&m, terms, tail, slot.hits[:0], slot.pos[:0])
	} else {
		hits, pos = ix.narrow(base, terms, tail, slot.hits[:0], slot.pos[:0])
	}
	*slot = pastSearch{valid: true, used: ix.tick, m: m, terms: append(slot.terms[:0], terms...),
		tail: tail, hits: hits, pos: pos}
	return ix.rowsOf(hits, dst)
}

// matchRest is the matcher's cold part for place k, read from its row.
func (ix *Index) matchRest(m *matcher, k int) bool {
	var (
		status mde.ActionStatus
		typ    mde.ActionType
		mid    string
	)
	if m.needsRaw() { // else the row (another memory access per row) is not read
		a := ix.rows[ix.rowOf[k]].Action
		status, typ, mid = a.Status, a.Type, a.MachineID
	}
	return m.matchRest(&ix.hots[k], status, typ, mid, ix.field(k, fieldDevice), ix.field(k, fieldRequestor), ix.field(k, fieldTenant))
}

// scanSpec looks at every row, keeps the ones m matches in bySpec, and
// appends to hits (and pos) the ones that also hold every term.
func (ix *Index) scanSpec(m *matcher, terms []string, tail string, hits []int32, pos []uint32) ([]int32, []uint32) {
	s := &ix.bySpec
	if n := len(ix.rowOf); cap(s.hits) < n {
		s.hits = make([]int32, 0, n)
	}
	all := s.hits[:0]
	var nb [8]needle
	ns := ix.needles(terms, nb[:0])
	mask := termsSignature(terms)
	text, off := ix.text, ix.off
	for k := range ix.hots {
		if !m.matchHot(&ix.hots[k]) ||
			m.cold && !ix.matchRest(m, k) {
			continue
		}
		all = append(all, int32(k))
		if len(terms) == 0 || ix.sigs[k]&mask != mask {
			continue
		}
		if p, ok := find(text[off[k]:off[k+1]-1], ns, tail); ok {
			hits = append(hits, int32(k))
			pos = append(pos, p)
		}
	}
	*s = pastSearch{valid: true, used: ix.tick, m: *m, hits: all}
	return hits, pos
}

// narrow computes a search from a past one it refines: only the terms the
// past search did not have are checked, and when the last term only grew
// (a character typed at its end), it is checked where it was found before.
func (ix *Index) narrow(base *pastSearch, terms []string, tail string, hits []int32, pos []uint32) ([]int32, []uint32) {
	var fb, ob [8]string
	fresh, others := fb[:0], ob[:0]
	for _, t := range terms {
		if !slices.Contains(base.terms, t) {
			fresh = append(fresh, t)
			if t != tail {
				others = append(others, t)
			}
		}
	}
	var nb, onb [8]needle
	freshN, othersN := ix.needles(fresh, nb[:0]), ix.needles(others, onb[:0])
	tailN := ix.needle(tail)
	mask := termsSignature(fresh)
	text, off := ix.text, ix.off
	tailFresh := slices.Contains(fresh, tail)
	grown := tailFresh && base.tail != "" && strings.HasPrefix(tail, base.tail)
	for h, k := range base.hits {
		if ix.sigs[k]&mask != mask {
			continue
		}
		hay := text[off[k] : off[k+1]-1]
		var p uint32
		switch {
		case grown:
			// tail starts with base.tail, so it cannot occur before
			// base.tail first does.
			p = base.pos[h]
			if !strings.HasPrefix(hay[p:], tail) {
				j := tailN.index(hay[p+1:])
				if j < 0 {
					continue
				}
				p += 1 + uint32(j)
			}
			if !containsAll(hay, othersN) {
				continue
			}
		default:
			var ok bool
			if p, ok = find(hay, freshN, tail); !ok {
				continue
			}
			if !tailFresh {
				switch {
				case tail != "" && tail == base.tail:
					p = base.pos[h]
				case tail != "":
					p = uint32(tailN.index(hay))
				}
			}
		}
		hits = append(hits, k)
		pos = append(pos, p)
	}
	return hits, pos
}

// needle is a term with the byte to look for first: its rarest.
type needle struct {
	s string
	a int  // the anchor's offset in s
	c byte // s[a]
}

func (ix *Index) needle(t string) needle {
	n := needle{s: t}
	for i := 0; i < len(t); i++ {
		if ix.freq[t[i]] < ix.freq[t[n.a]] {
			n.a = i
		}
	}
	if t != "" {
		n.c = t[n.a]
	}
	return n
}

func (ix *Index) needles(terms []string, dst []needle) []needle {
	for _, t := range terms {
		dst = append(dst, ix.needle(t))
	}
	return dst
}

// index is strings.Index(hay, n.s): the first occurrence, found by looking
// for the rarest byte of the term.
func (n *needle) index(hay string) int {
	if len(n.s) <= 1 {
		if n.s == "" {
			return 0
		}
		return strings.IndexByte(hay, n.c)
	}
	for from := n.a; from < len(hay); {
		j := strings.IndexByte(hay[from:], n.c)
		if j < 0 {
			return -1
		}
		i := from + j - n.a
		if i+len(n.s) <= len(hay) && hay[i:i+len(n.s)] == n.s {
			return i
		}
		from += j + 1
	}
	return -1
}

// find reports whether hay holds every term, and where tail first occurs
// (0 when tail is not among terms).
func find(hay string, ns []needle, tail string) (uint32, bool) {
	var p uint32
	for i := range ns {
		j := ns[i].index(hay)
		if j < 0 {
			return 0, false
		}
		if ns[i].s == tail {
			p = uint32(j)
		}
	}
	return p, true
}

// rowsOf appends the row numbers of the entries at places ks.
func (ix *Index) rowsOf(ks []int32, dst []int) []int {
	for _, k := range ks {
		dst = append(dst, int(ix.rowOf[k]))
	}
	return dst
}

// refines reports whether every row containing all of terms also contains
// all of old: each old term is part of a new one.
func refines(terms, old []string) bool {
	for _, o := range old {
		found := false
		for _, t := range terms {
			if strings.Contains(t, o) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// sameTerms reports whether two term lists hold the same terms.
func sameTerms(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, t := range a {
		if !slices.Contains(b, t) {
			return false
		}
	}
	return true
}

func containsAll(hay string, ns []needle) bool {
	for i := range ns {
		if ns[i].index(hay) < 0 {
			return false
		}
	}
	return true
}

// byteBit maps a byte of lower-cased text to one of 64 signature bits:
// letters, digits and the common punctuation have their own bit, the rest
// share some.
var byteBit = func() (t [256]uint64) {
	for c := 0; c < 256; c++ {
		var b int
		switch {
		case c >= 'a' && c <= 'z':
			b = c - 'a' // 0..25
		case c >= '0' && c <= '9':
			b = 26 + c - '0' // 26..35
		case c == '-':
			b = 36
		case c == '.':
			b = 37
		case c == '@':
			b = 38
		case c == '_':
			b = 39
		case c == ' ':
			b = 40
		case c == ':':
			b = 41
		case c == '/':
			b = 42
		case c == '\\':
			b = 43
		case c < 0x80:
			b = 44 + c%8 // 44..51
		default:
			b = 52 + c%12 // 52..63: the bytes of other characters
		}
		t[c] = 1 << b
	}
	t[0], t['\n'] = 0, 0 // separators: never in a term
	return t
}()

// signature is the set of byte bits of s.
func signature(s string) uint64 {
	var sig uint64
	for i := 0; i < len(s); i++ {
		sig |= byteBit[s[i]]
	}
	return sig
}

// termsSignature is the set of byte bits every matching row must have.
func termsSignature(terms []string) uint64 {
	var sig uint64
	for _, t := range terms {
		sig |= signature(t)
	}
	return sig
}

// splitTerms cleans and lower-cases the query and appends its terms to
// dst, the longest (most selective) first, without duplicates. tail is the
// query's last term, the one being typed ("" for a blank query).
func splitTerms(query string, dst []string) (terms []string, tail string) {
	q := lower(textsafe.Clean(query))
	for t := range strings.FieldsSeq(q) {
		tail = t
		if !slices.Contains(dst, t) {
			dst = append(dst, t)
		}
	}
	slices.SortStableFunc(dst, func(a, b string) int { return len(b) - len(a) })
	return dst, tail
}
