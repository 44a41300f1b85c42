package profile

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/BurntSushi/toml"

	"github.com/mdeactions/mdeactions/auth"
	"github.com/mdeactions/mdeactions/ui/keys"
)

// Error is one problem in the file, at a line, with a key.
type Error struct {
	Path string
	Line int    // from 1; 0 when unknown
	Key  string // the dotted TOML key, such as profiles.acme.refresh; "" when none
	Msg  string // names the key in words: `profile "acme": refresh: "5x" is not a duration …`
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.Path, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.Path, e.Msg)
}

// Load reads the file at path. A missing file (or path "") is an empty
// File and no error. Every problem in the file is reported, each as an
// *Error naming the file, the line and the key; several come joined
// (errors.Join), in the order of their lines.
func Load(path string) (*File, error) {
	empty := &File{Path: path, Profiles: map[string]Profile{}}
	if path == "" {
		return empty, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return empty, nil
	}
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err) // *PathError: names the file
	}
	return parse(path, data)
}

// The keys of a profile, from Profile's tags.
var profileKeys = func() []string {
	var out []string
	t := reflect.TypeFor[Profile]()
	for i := range t.NumField() {
		if tag := t.Field(i).Tag.Get("toml"); tag != "" && tag != "-" {
			out = append(out, tag)
		}
	}
	return out
}()

var topKeys = []string{"default", "profiles"}

// aliases are names people type for the keys, beyond what normalize and
// the edit distance catch.
var aliases = map[string]string{
	"tenantid":         "tenant",
	"directoryid":      "tenant",
	"appid":            "client_id",
	"applicationid":    "client_id",
	"environment":      "cloud",
	"apibase":          "api_url",
	"baseurl":          "api_url",
	"url":              "api_url",
	"mode":             "auth",
	"authmode":         "auth",
	"cert":             "certificate",
	"certpath":         "certificate",
	"certificatepath":  "certificate",
	"secretfile":       "client_secret_file",
	"clientsecretpath": "client_secret_file",
	"token":            "token_env",
	"readonly":         "read_only",
	"interval":         "refresh",
	"refreshinterval":  "refresh",
	"bindings":         "keys",
	"keybindings":      "keys",
	"keymap":           "keys",
}

type loader struct {
	path string
	dir  string // relative paths in the file are relative to this
	md   toml.MetaData
	top  map[string]toml.Primitive
	errs []*Error
}

func parse(path string, data []byte) (*File, error) {
	l := &loader{path: path, dir: filepath.Dir(path)}
	md, err := toml.Decode(string(data), &l.top)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			msg := "TOML syntax: " + pe.Message
			if pe.LastKey != "" {
				msg += fmt.Sprintf(" (last key %s)", pe.LastKey)
			}
			return nil, &Error{Path: path, Line: pe.Position.Line, Key: pe.LastKey, Msg: msg}
		}
		return nil, &Error{Path: path, Msg: err.Error()}
	}
	l.md = md

	f := &File{Path: path, Profiles: map[string]Profile{}}
	declared := map[string]bool{} // profile tables, valid or not
	defaultSet := false
	for _, name := range slices.Sorted(maps.Keys(l.top)) {
		k := []string{name}
		switch name {
		case "default":
			if s, ok := l.str(k, "default", l.top[name]); ok {
				f.Default, defaultSet = strings.TrimSpace(s), true
			}
		case "profiles":
			tbl, ok := l.table(k, "profiles", l.top[name])
			if !ok {
				continue
			}
			for _, pn := range slices.Sorted(maps.Keys(tbl)) {
				declared[pn] = true
				if p, ok := l.profile(pn, tbl[pn]); ok {
					f.Profiles[pn] = p
				}
			}
		default:
			l.unknownTop(name)
		}
	}
	if defaultSet && f.Default != "" && !declared[f.Default] {
		names := slices.Sorted(maps.Keys(declared))
		msg := fmt.Sprintf("default: there is no profile %q", f.Default)
		if s := suggest(f.Default, names); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		if len(names) > 0 {
			msg += "; the profiles are " + quoteList(names)
		} else {
			msg += "; add a [profiles." + f.Default + "] table"
		}
		l.errorf([]string{"default"}, "%s", msg)
	}
	if len(l.errs) > 0 {
		return nil, l.err()
	}
	return f, nil
}

func (l *loader) err() error {
	slices.SortStableFunc(l.errs, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Key, b.Key))
	})
	if len(l.errs) == 1 {
		return l.errs[0]
	}
	errs := make([]error, len(l.errs))
	for i, e := range l.errs {
		errs[i] = e
	}
	return errors.Join(errs...)
}

func (l *loader) errorf(k []string, format string, args ...any) {
	l.errs = append(l.errs, &Error{
		Path: l.path,
		Line: l.line(k),
		Key:  toml.Key(k).String(),
		Msg:  fmt.Sprintf(format, args...),
	})
}

// probe finds where a key is: the TOML package puts the key's position in
// the error an Unmarshaler returns, and has no other way to tell it.
type probe struct{}

var errProbe = errors.New("probe")

func (*probe) UnmarshalTOML(any) error { return errProbe }

// line is the line of key k. A table made only implicitly (by the header
// [profile.acme], say) has no line of its own: it gets the line of the
// first key under it. Failing both, the deepest table above it, or 0.
func (l *loader) line(k []string) int {
	if n := l.keyLine(k); n > 0 {
		return n
	}
	for _, key := range l.md.Keys() {
		if len(key) > len(k) && slices.Equal(key[:len(k)], k) {
			if n := l.keyLine(key); n > 0 {
				return n
			}
		}
	}
	for i := len(k) - 1; i > 0; i-- {
		if n := l.keyLine(k[:i]); n > 0 {
			return n
		}
	}
	return 0
}

// keyLine is the line the TOML parser recorded for key k, or 0.
func (l *loader) keyLine(k []string) int {
	if len(k) == 0 {
		return 0
	}
	prim, ok := l.top[k[0]]
	for i := 1; ok && i < len(k); i++ {
		var tbl map[string]toml.Primitive
		if err := l.md.PrimitiveDecode(prim, &tbl); err != nil {
			return 0
		}
		prim, ok = tbl[k[i]]
	}
	if !ok {
		return 0
	}
	var pe toml.ParseError
	if err := l.md.PrimitiveDecode(prim, &probe{}); errors.As(err, &pe) {
		return pe.Position.Line
	}
	return 0
}

// value is a primitive as a plain Go value: string, int64, float64, bool,
// time.Time, []any, map[string]any, …
func (l *loader) value(p toml.Primitive) any {
	var v any
	if err := l.md.PrimitiveDecode(p, &v); err != nil {
		return nil
	}
	return v
}

func typeName(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "a number"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	case time.Time:
		return "a date"
	case []any, []map[string]any:
		return "an array"
	case map[string]any:
		return "a table"
	}
	return fmt.Sprintf("a %T", v)
}

// str reads a string; what names the key in messages ("profile \"acme\": tenant").
func (l *loader) str(k []string, what string, p toml.Primitive) (string, bool) {
	v := l.value(p)
	s, ok := v.(string)
	if !ok {
		l.errorf(k, "%s: want a string, not %s", what, typeName(v))
	}
	return s, ok
}

func (l *loader) table(k []string, what string, p toml.Primitive) (map[string]toml.Primitive, bool) {
	v := l.value(p)
	if _, ok := v.(map[string]any); !ok {
		l.errorf(k, "%s: want a table, not %s", what, typeName(v))
		return nil, false
	}
	var tbl map[string]toml.Primitive
	if err := l.md.PrimitiveDecode(p, &tbl); err != nil {
		l.errorf(k, "%s: %v", what, err)
		return nil, false
	}
	return tbl, true
}

func (l *loader) unknownTop(name string) {
	k := []string{name}
	n := normalize(name)
	switch {
	case slices.Contains(profileKeys, name) || slices.Contains(profileKeys, aliases[n]):
		l.errorf(k, "unknown key %q at the top level: profile settings go in a table such as [profiles.work]", name)
	case n == "profile":
		l.errorf(k, "unknown key %q (did you mean \"profiles\"?): a profile is a table such as [profiles.work]", name)
	default:
		if s := suggest(name, topKeys); s != "" {
			l.errorf(k, "unknown key %q (did you mean %q?)", name, s)
			return
		}
		if _, isTable := l.value(l.top[name]).(map[string]any); isTable {
			l.errorf(k, "unknown table [%s]: a profile is a table named [profiles.%s]", name, name)
			return
		}
		l.errorf(k, "unknown key %q: the top level has only \"default\" and [profiles.NAME] tables", name)
	}
}

func (l *loader) unknownInProfile(k []string, prof, name string) {
	n := normalize(name)
	switch n {
	case "clientsecret", "secret", "password", "clientsecretvalue":
		l.errorf(k, "profile %q: %q: a secret is never kept in the config file; put it in AZURE_CLIENT_SECRET, or in a file (mode 600) named by client_secret_file", prof, name)
		return
	}
	msg := fmt.Sprintf("profile %q: unknown key %q", prof, name)
	s := aliases[n]
	if s == "" {
		s = suggest(name, profileKeys)
	}
	if s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	} else {
		msg += "; the keys are " + strings.Join(profileKeys, ", ")
	}
	l.errorf(k, "%s", msg)
}

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// profile reads one [profiles.NAME] table.
func (l *loader) profile(name string, prim toml.Primitive) (Profile, bool) {
	base := []string{"profiles", name}
	tbl, ok := l.table(base, fmt.Sprintf("profile %q", name), prim)
	if !ok {
		return Profile{}, false
	}
	nerr := len(l.errs)
	if strings.TrimSpace(name) == "" {
		l.errorf(base, "a profile needs a name: [profiles.NAME]")
	} else if !validName(name) {
		l.errorf(base, "profile name %q: use letters, digits, '.', '_', '-' and '@' (at most %d characters; it is shown in the TUI and written to the audit trail)", name, MaxNameLen)
	}
	p := Profile{Name: name}
	at := map[string][]string{} // key -> its full key, for checks across keys
	for _, key := range slices.Sorted(maps.Keys(tbl)) {
		k := append(slices.Clip(base), key)
		at[key] = k
		what := fmt.Sprintf("profile %q: %s", name, key)
		errorf := func(format string, args ...any) {
			l.errorf(k, "%s: %s", what, fmt.Sprintf(format, args...))
		}
		str := func() (string, bool) { return l.str(k, what, tbl[key]) }
		switch key {
		case "tenant", "client_id":
			s, ok := str()
			if !ok {
				continue
			}
			if key == "tenant" {
				p.Tenant = strings.TrimSpace(s)
			} else {
				p.ClientID = strings.TrimSpace(s)
			}
		case "cloud":
			s, ok := str()
			if !ok || strings.TrimSpace(s) == "" {
				continue
			}
			c, err := auth.LookupCloud(s)
			if err != nil {
				errorf("%v", err)
				continue
			}
			p.Cloud = c.Name
		case "region":
			s, ok := str()
			if !ok || strings.TrimSpace(s) == "" {
				continue
			}
			if _, err := auth.RegionalAPIBase(s); err != nil {
				errorf("%v", err)
				continue
			}
			p.Region = strings.ToLower(strings.TrimSpace(s))
		case "api_url":
			s, ok := str()
			if !ok || strings.TrimSpace(s) == "" {
				continue
			}
			s = strings.TrimSpace(s)
			u, err := url.Parse(s)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
				errorf("%q is not a base URL: want http(s)://host[/path], such as https://api.security.microsoft.com", s)
				continue
			}
			p.APIURL = s
		case "auth":
			s, ok := str()
			if !ok || strings.TrimSpace(s) == "" {
				continue
			}
			m, err := auth.ParseMode(s)
			if err != nil {
				errorf("%v", err)
				continue
			}
			p.Auth = string(m)
		case "certificate", "client_secret_file":
			s, ok := str()
			if !ok || s == "" {
				continue
			}
			path, err := l.resolvePath(s)
			if err != nil {
				errorf("%v", err)
				continue
			}
			if key == "certificate" {
				p.Certificate = path
			} else {
				p.SecretFile = path
			}
		case "token_env":
			s, ok := str()
			if !ok || strings.TrimSpace(s) == "" {
				continue
			}
			s = strings.TrimSpace(s)
			if !envNameRE.MatchString(s) {
				// The value is not echoed: it may be the token itself.
				errorf("not a variable name: token_env names the environment variable that holds the token (such as MDE_TOKEN); it is not the token")
				continue
			}
			p.TokenEnv = s
		case "read_only":
			v := l.value(tbl[key])
			b, ok := v.(bool)
			if !ok {
				errorf("want true or false, not %s", typeName(v))
				continue
			}
			p.ReadOnly = &b
		case "refresh":
			var d time.Duration
			switch v := l.value(tbl[key]).(type) {
			case string:
				var err error
				if d, err = parseRefresh(v); err != nil {
					errorf("%v", err)
					continue
				}
			case int64:
				if v != 0 {
					errorf("want a duration string such as \"%ds\", not the number %d", v, v)
					continue
				}
			default:
				errorf("want a duration string such as \"30s\", not %s", typeName(v))
				continue
			}
			p.Refresh = &Duration{d}
		case "keys":
			if b, ok := l.keys(k, name, tbl[key]); ok {
				p.Keys = b
			}
		default:
			l.unknownInProfile(k, name, key)
		}
	}
	if p.Region != "" && p.Cloud != "" && p.Cloud != "commercial" {
		c, _ := auth.LookupCloud(p.Cloud)
		l.errorf(at["region"], "profile %q: region: %q is for the commercial cloud; %s has one API host (%s)", name, p.Region, p.Cloud, c.APIBase)
	}
	return p, len(l.errs) == nerr
}

// keys reads a [profiles.NAME.keys] table: action = ["key", …] (or one
// "key"), and checks the result against the default keymap for conflicts.
func (l *loader) keys(k []string, prof string, prim toml.Primitive) (map[string][]string, bool) {
	what := fmt.Sprintf("profile %q: keys", prof)
	tbl, ok := l.table(k, what, prim)
	if !ok {
		return nil, false
	}
	nerr := len(l.errs)
	out := map[string][]string{}
	given := map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(tbl)) {
		ak := append(slices.Clip(k), name)
		a, err := lookupAction(name)
		if err != nil {
			l.errorf(ak, "%s: %v", what, err)
			continue
		}
		if prev, ok := given[a.name]; ok {
			l.errorf(ak, "%s: action %s is given twice (as %q and %q)", what, a.name, prev, name)
			continue
		}
		given[a.name] = name
		var ks []string
		switch v := l.value(tbl[name]).(type) {
		case string:
			ks = []string{v}
		case []any:
			bad := false
			for _, e := range v {
				s, ok := e.(string)
				if !ok {
					bad = true
					l.errorf(ak, "%s: %s: want key names (strings), not %s", what, name, typeName(e))
					break
				}
				ks = append(ks, s)
			}
			if bad {
				continue
			}
		default:
			l.errorf(ak, "%s: %s: want a list of keys such as [\"C\"], not %s", what, name, typeName(v))
			continue
		}
		ks, err = cleanKeys(ks)
		if err != nil {
			l.errorf(ak, "%s: %s: %v", what, name, err)
			continue
		}
		out[a.name] = ks
	}
	if len(l.errs) > nerr {
		return nil, false
	}
	km := keys.Default()
	if err := ApplyKeys(&km, out); err != nil {
		var msgs []string
		for _, e := range conflictsOf(err) {
			msgs = append(msgs, e.Error())
		}
		l.errorf(k, "%s: %s", what, strings.Join(msgs, "; "))
		return nil, false
	}
	return out, true
}

// conflictsOf unwraps ApplyKeys' joined errors.
func conflictsOf(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// resolvePath expands "~/" and makes a relative path relative to the file's
// directory.
func (l *loader) resolvePath(p string) (string, error) {
	if p == "~" || strings.HasPrefix(p, "~/") || strings.HasPrefix(p, `~\`) {
		home, err := os.UserHomeDir()
		if err != nil || home == "" {
			return "", fmt.Errorf("%q: no home directory to expand ~ with; give the full path", p)
		}
		return filepath.Join(home, p[1:]), nil
	}
	if filepath.IsAbs(p) {
		return filepath.Clean(p), nil
	}
	return filepath.Join(l.dir, p), nil
}

// parseRefresh parses the refresh interval: a Go duration of at least
// MinRefresh, or 0 (off).
func parseRefresh(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	d, err := time.ParseDuration(t)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration: write it like \"30s\" or \"5m\" (\"0\" turns refreshing off)", s)
	}
	if d != 0 && d < MinRefresh {
		return 0, fmt.Errorf("%q is too often: at least %s (the list API allows 100 calls a minute for the whole app), or \"0\" to turn refreshing off", s, MinRefresh)
	}
	return d, nil
}

// normalize folds case and drops "_", "-" and spaces, for comparing names.
func normalize(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '_', '-', ' ':
			return -1
		}
		return r
	}, strings.ToLower(strings.TrimSpace(s)))
}

// suggest returns the candidate closest to s, if close enough to be a typo.
func suggest(s string, candidates []string) string {
	n := normalize(s)
	if n == "" {
		return ""
	}
	best, bestD := "", -1
	for _, c := range candidates {
		cn := normalize(c)
		if cn == n {
			return c
		}
		if d := distance(n, cn); bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	limit := 1
	if len(n) >= 7 {
		limit = 2
	}
	if bestD >= 0 && bestD <= limit {
		return best
	}
	return ""
}

// distance is the optimal string alignment distance: edits, with a swap of
// two neighbours counted as one ("defualt").
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			c := 1
			if ra[i-1] == rb[j-1] {
				c = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+c)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// MaxNameLen is the longest profile name.
const MaxNameLen = 40

// validName reports whether a profile name can be shown as it is: letters
// and digits (any script) and a few marks, starting with a letter or digit.
// Nothing invisible (zero-width, bidi overrides, controls) gets in, so two
// profiles never look alike while being different.
func validName(name string) bool {
	if utf8.RuneCountInString(name) > MaxNameLen {
		return false
	}
	for i, r := range name {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
		case i > 0 && strings.ContainsRune("._-@", r):
		default:
			return false
		}
	}
	return true
}
