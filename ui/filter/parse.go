package filter

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/mde/textsafe"
	"github.com/mdeactions/mdeactions/ui/format"
)

// ParseError is a Parse failure; Token is the part of the text at fault.
type ParseError struct {
	Token  string
	Reason string
}

func (e *ParseError) Error() string {
	if e.Token == "" {
		return e.Reason
	}
	return strconv.Quote(e.Token) + ": " + e.Reason
}

const keysHelp = "keys: status:, type:, device:, requestor:, tenant:, age>"

var statusHelp = "valid: pending, inprogress, succeeded, failed, timeout, cancelled, open, final, all"

var typeHelp = func() string {
	var labels []string
	for _, t := range mde.ActionTypes {
		labels = append(labels, strings.ToLower(format.TypeLabel(t)))
	}
	return "valid: " + strings.Join(labels, ", ") + ", or the API name (RunAntiVirusScan…)"
}()

// statusWord is what a status word of the syntax stands for.
type statusWord struct {
	mask uint16
	all  bool
}

var statusWords = map[string]statusWord{
	"pending":    {mask: 1 << 1},
	"inprogress": {mask: 1 << 2},
	"succeeded":  {mask: 1 << 3},
	"success":    {mask: 1 << 3},
	"failed":     {mask: 1 << 4},
	"timeout":    {mask: 1 << 5},
	"timedout":   {mask: 1 << 5},
	"cancelled":  {mask: 1 << 6},
	"canceled":   {mask: 1 << 6},
	"open":       {mask: maskOpen},
	"final":      {mask: maskFinal},
	"closed":     {mask: maskFinal},
	"all":        {all: true},
	"any":        {all: true},
}

var typeWords = func() map[string]mde.ActionType {
	m := map[string]mde.ActionType{}
	for _, t := range mde.ActionTypes {
		m[norm(string(t))] = t
		m[norm(format.TypeLabel(t))] = t
	}
	for w, t := range map[string]mde.ActionType{
		"isolation": mde.TypeIsolate,
		"release":   mde.TypeUnisolate,
		"scan":      mde.TypeRunAntiVirusScan, "av": mde.TypeRunAntiVirusScan,
		"antivirus": mde.TypeRunAntiVirusScan, "antivirusscan": mde.TypeRunAntiVirusScan,
		"collect": mde.TypeCollectInvestigationPackage, "package": mde.TypeCollectInvestigationPackage,
		"investigationpackage": mde.TypeCollectInvestigationPackage,
		"stopandquarantine":    mde.TypeStopAndQuarantineFile,
		"live":                 mde.TypeLiveResponse, "lr": mde.TypeLiveResponse,
	} {
		m[w] = t
	}
	return m
}()

// norm lower-cases a word and drops spaces, dots, dashes and underscores:
// "AV scan", "av-scan" and "AvScan" are all "avscan".
func norm(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case unicode.IsSpace(r), r == '.', r == '-', r == '_':
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// lookup finds a word in a table: exactly, else as the prefix of words
// that all stand for the same value.
func lookup[V comparable](table map[string]V, word string) (V, []string, bool) {
	var zero V
	w := norm(word)
	if w == "" {
		return zero, nil, false
	}
	if v, ok := table[w]; ok {
		return v, nil, true
	}
	var found []V
	var names []string
	for k, v := range table {
		if strings.HasPrefix(k, w) {
			names = append(names, k)
			dup := false
			for _, f := range found {
				if f == v {
					dup = true
				}
			}
			if !dup {
				found = append(found, v)
			}
		}
	}
	if len(found) == 1 {
		return found[0], nil, true
	}
	slices.Sort(names)
	return zero, names, false
}

// clause is one key with its value, as typed.
type clause struct {
	key   string // lower-cased
	op    byte   // ':' or '>'
	value string
	text  string // the clause as typed, for errors
}

// once sets a key that takes one value: dst gets the clause's value, and at
// the clause that gave it, for the error when the key comes twice.
func (c clause) once(dst, at *string, value, one string) error {
	v := strings.TrimSpace(c.value)
	if v == "" {
		return &ParseError{c.text, c.key + " needs a value: " + value}
	}
	if *at != "" {
		return &ParseError{c.text, c.key + " is already given (" + strconv.Quote(*at) + "): " + one}
	}
	*dst, *at = v, c.text
	return nil
}

// Parse reads the syntax String writes, case-insensitively:
//
//	status:pending,inprogress  (also succeeded, failed, timeout, cancelled;
//	                            open, final, all; a unique prefix will do)
//	type:isolate,"av scan"     (the API name, the table's label, or a
//	                            short name: scan, collect, live…)
//	device:ws-fin              (a substring of the name, or a machine id)
//	requestor:alex@contoso.com (exact; app names with spaces may follow
//	                            unquoted: requestor:Customer App)
//	tenant:contoso             (a profile's name, exact, in the all-profiles
//	                            view)
//	age>2h                     (older than; units s, m, h, d, w: 1d12h)
//
// Clauses are separated by spaces; a word without a key continues the
// previous clause's value, and double quotes keep a value together. Several
// status or type clauses add up; status:all shows every status. The empty
// text is the default view.
func Parse(text string) (Spec, error) {
	clauses, err := splitClauses(textsafe.Clean(text))
	if err != nil {
		return Spec{}, err
	}
	var (
		s          Spec
		statusMask uint16
		typeSeen   = map[mde.ActionType]bool{}
		deviceAt   string
		reqAt      string
		tenantAt   string
		ageAt      string
	)
	for _, c := range clauses {
		if c.op == '>' && c.key != "age" {
			return Spec{}, &ParseError{c.text, "only age takes '>'; write " + c.key + ":VALUE"}
		}
		v := strings.TrimSpace(c.value)
		switch c.key {
		case "status":
			if v == "" {
				return Spec{}, &ParseError{c.text, "status needs a value (" + statusHelp + ")"}
			}
			for _, item := range strings.Split(v, ",") {
				item = strings.TrimSpace(item)
				if item == "" {
					continue
				}
				w, near, ok := lookup(statusWords, item)
				if !ok {
					return Spec{}, &ParseError{c.text, unknownWord("status", item, near, statusHelp)}
				}
				s.AllStatuses = s.AllStatuses || w.all
				statusMask |= w.mask
			}
		case "type":
			if v == "" {
				return Spec{}, &ParseError{c.text, "type needs a value (" + typeHelp + ")"}
			}
			for _, item := range strings.Split(v, ",") {
				item = strings.TrimSpace(item)
				if item == "" {
					continue
				}
				t, near, ok := lookup(typeWords, item)
				if !ok {
					return Spec{}, &ParseError{c.text, unknownWord("type", item, near, typeHelp)}
				}
				typeSeen[t] = true
			}
		case "device":
			if err := c.once(&s.Device, &deviceAt, "part of a device name, or a 40-hex machine id", "one device filter at a time"); err != nil {
				return Spec{}, err
			}
		case "requestor":
			if err := c.once(&s.Requestor, &reqAt, "a UPN (alex@contoso.com) or an app name", "one requestor at a time"); err != nil {
				return Spec{}, err
			}
		case "tenant":
			if err := c.once(&s.Tenant, &tenantAt, "a profile's name, as the TENANT column shows it", "one tenant at a time"); err != nil {
				return Spec{}, err
			}
		case "age":
			if c.op == ':' {
				if !strings.HasPrefix(v, ">") {
					return Spec{}, &ParseError{c.text, "write age>DURATION, e.g. age>2h for actions older than two hours"}
				}
				v = strings.TrimSpace(v[1:])
			}
			if ageAt != "" {
				return Spec{}, &ParseError{c.text, "age is already given (" + strconv.Quote(ageAt) + ")"}
			}
			d, err := parseAge(v)
			if err != nil {
				return Spec{}, &ParseError{c.text, err.Error()}
			}
			s.OlderThan, ageAt = d, c.text
		default:
			return Spec{}, &ParseError{c.text, "unknown key " + strconv.Quote(c.key) + " (" + keysHelp + "; double quotes keep a value with spaces or colons together)"}
		}
	}
	if s.AllStatuses {
		statusMask = 0
	}
	if statusMask != maskOpen { // exactly the default set stays nil
		for i, st := range statusOrder {
			if statusMask&(1<<(i+1)) != 0 {
				s.Statuses = append(s.Statuses, st)
			}
		}
	}
	for _, t := range mde.ActionTypes {
		if typeSeen[t] {
			s.Types = append(s.Types, t)
		}
	}
	return s, nil
}

func unknownWord(what, item string, near []string, help string) string {
	if len(near) > 1 {
		return what + " " + strconv.Quote(item) + " is ambiguous: " + strings.Join(near, ", ")
	}
	return "unknown " + what + " " + strconv.Quote(item) + " (" + help + ")"
}

// splitClauses cuts the text into words (double quotes keep spaces inside
// a word; a backslash escapes a quote or a backslash there), then groups
// each keyed word with the bare words that follow it.
func splitClauses(text string) ([]clause, error) {
	var out []clause
	rs := []rune(text)
	for i := 0; i < len(rs); {
		if unicode.IsSpace(rs[i]) {
			i++
			continue
		}
		start := i
		// The key: ASCII letters up to ':' or '>', before any quote.
		k := i
		for k < len(rs) && (rs[k] >= 'a' && rs[k] <= 'z' || rs[k] >= 'A' && rs[k] <= 'Z') {
			k++
		}
		keyed := k > i && k < len(rs) && (rs[k] == ':' || rs[k] == '>' || rs[k] == '<' || rs[k] == '=')
		valStart := i
		if keyed {
			valStart = k + 1
		}
		var val strings.Builder
		j := valStart
		for j < len(rs) && !unicode.IsSpace(rs[j]) {
			if rs[j] != '"' {
				val.WriteRune(rs[j])
				j++
				continue
			}
			j++ // opening quote
			closed := false
			for j < len(rs) {
				if rs[j] == '\\' && j+1 < len(rs) && (rs[j+1] == '"' || rs[j+1] == '\\') {
					val.WriteRune(rs[j+1])
					j += 2
					continue
				}
				if rs[j] == '"' {
					closed = true
					j++
					break
				}
				val.WriteRune(rs[j])
				j++
			}
			if !closed {
				return nil, &ParseError{string(rs[start:]), "the double quote is not closed"}
			}
		}
		word := string(rs[start:j])
		i = j
		if !keyed {
			if len(out) == 0 {
				return nil, &ParseError{word, "not a filter: filters are key:value (" + keysHelp + "); to search text, use / instead"}
			}
			last := &out[len(out)-1]
			if last.value == "" {
				last.value = val.String()
			} else {
				last.value += " " + val.String()
			}
			last.text += " " + word
			continue
		}
		key := strings.ToLower(string(rs[start:k]))
		switch rs[k] {
		case '<', '=':
			if key == "age" {
				return nil, &ParseError{word, "only age>DURATION is supported: it keeps the actions older than DURATION"}
			}
			return nil, &ParseError{word, "write " + key + ":VALUE"}
		}
		out = append(out, clause{key: key, op: byte(rs[k]), value: val.String(), text: word})
	}
	return out, nil
}

var ageUnits = map[string]time.Duration{
	"s": time.Second, "m": time.Minute, "h": time.Hour,
	"d": 24 * time.Hour, "w": 7 * 24 * time.Hour,
}

// parseAge reads a duration such as 2h, 90m, 1d12h or 1.5d. It is kept to
// the second.
func parseAge(s string) (time.Duration, error) {
	s = strings.ToLower(strings.Join(strings.Fields(s), ""))
	if s == "" {
		return 0, errors.New("age needs a duration, e.g. age>2h (units s, m, h, d, w)")
	}
	var secs float64
	for rest := s; rest != ""; {
		n := 0
		for n < len(rest) && (rest[n] >= '0' && rest[n] <= '9' || rest[n] == '.') {
			n++
		}
		if n == 0 {
			return 0, fmt.Errorf("age %q: expected a number, e.g. age>2h (units s, m, h, d, w)", s)
		}
		num, err := strconv.ParseFloat(rest[:n], 64)
		if err != nil {
			return 0, fmt.Errorf("age %q: %q is not a number", s, rest[:n])
		}
		rest = rest[n:]
		u := 0
		for u < len(rest) && rest[u] >= 'a' && rest[u] <= 'z' {
			u++
		}
		unit, ok := ageUnits[rest[:u]]
		if !ok {
			if u == 0 {
				return 0, fmt.Errorf("age %q: the number needs a unit: s, m, h, d or w (e.g. age>2h)", s)
			}
			return 0, fmt.Errorf("age %q: unknown unit %q (units: s, m, h, d, w)", s, rest[:u])
		}
		rest = rest[u:]
		secs += num * unit.Seconds()
		if secs > MaxAge.Seconds() || math.IsInf(secs, 0) {
			return 0, fmt.Errorf("age %q: too long (at most %s)", s, formatAge(MaxAge))
		}
	}
	d := time.Duration(math.Round(secs)) * time.Second
	if d <= 0 {
		return 0, fmt.Errorf("age %q: give at least one second, e.g. age>2h", s)
	}
	return d, nil
}
