package profile

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"charm.land/bubbles/v2/key"

	"github.com/mdeactions/mdeactions/ui/keys"
)

// action is one key.Binding field of keys.KeyMap.
type action struct {
	name  string // the field's name in lower case: "up", "pagedown", "copymachine"
	index int    // the field's index
}

// actions are read from keys.KeyMap itself, so a binding added there can be
// rebound here without a change.
var actions = func() []action {
	var out []action
	t := reflect.TypeFor[keys.KeyMap]()
	bt := reflect.TypeFor[key.Binding]()
	for i := range t.NumField() {
		f := t.Field(i)
		if f.IsExported() && f.Type == bt {
			out = append(out, action{name: strings.ToLower(f.Name), index: i})
		}
	}
	return out
}()

// Actions returns the names of the actions that can be rebound, in the
// keymap's order: "up", "down", …, "cancel", …, "forcequit".
func Actions() []string {
	names := make([]string, len(actions))
	for i, a := range actions {
		names[i] = a.name
	}
	return names
}

// lookupAction finds an action by name, ignoring case, "_" and "-"
// ("page_down" is "pagedown").
func lookupAction(name string) (action, error) {
	n := normalize(name)
	for _, a := range actions {
		if a.name == n {
			return a, nil
		}
	}
	msg := fmt.Sprintf("unknown action %q", name)
	if s := suggest(name, Actions()); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	return action{}, fmt.Errorf("%s: the actions are %s", msg, strings.Join(Actions(), ", "))
}

func (a action) binding(km *keys.KeyMap) *key.Binding {
	return reflect.ValueOf(km).Elem().Field(a.index).Addr().Interface().(*key.Binding)
}

// cleanKeys checks one action's keys and drops repeats.
func cleanKeys(ks []string) ([]string, error) {
	if len(ks) == 0 {
		return nil, errors.New("no keys: give at least one, such as [\"C\"] (read_only = true is the way to take the destructive keys away)")
	}
	var out []string
	for _, k := range ks {
		switch {
		case k == "":
			return nil, errors.New("an empty key name")
		case k == " ":
			return nil, errors.New(`" " is not a key name: the space bar is "space"`)
		case strings.ContainsFunc(k, unicode.IsSpace):
			return nil, fmt.Errorf("%q is not a key name: write keys as the terminal names them, such as \"C\", \"ctrl+k\", \"enter\" or \"space\"", k)
		case !sendable(k) && sendable(strings.ToLower(k)):
			return nil, fmt.Errorf("%q never comes from the keyboard: write %q (names are lower case; a capital letter alone is shift and that letter)", k, strings.ToLower(k))
		case !sendable(k):
			return nil, fmt.Errorf("%q is not a key the terminal sends: use a character, or a name such as f5, pgup, pgdown, home, end, enter, esc, tab, backspace, delete, space or up, after ctrl+, alt+ or shift+ if you like", k)
		}
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out, nil
}

// namedKeys are the keys Bubble Tea names (as ultraviolet's Key.Keystroke
// writes them); any other key is its character.
var namedKeys = func() map[string]bool {
	m := map[string]bool{}
	for _, n := range strings.Fields(`enter tab backspace esc space up down left right begin find insert
		delete select pgup pgdown home end capslock scrolllock numlock printscreen pause menu`) {
		m[n] = true
	}
	for i := 1; i <= 63; i++ {
		m[fmt.Sprintf("f%d", i)] = true
	}
	return m
}()

// modifiers are the modifier prefixes, in the order a key's name has them.
var modifiers = []string{"ctrl", "alt", "shift", "meta", "hyper", "super"}

// sendable reports whether a key press can have the name k: one character,
// or a named key, after modifiers in their order ("ctrl+alt+x", "shift+tab").
// "F5" or "ctrl+R" can never match: a binding to them would be dead.
func sendable(k string) bool {
	if utf8.RuneCountInString(k) == 1 {
		return true
	}
	parts := strings.Split(k, "+")
	base := parts[len(parts)-1]
	if strings.HasSuffix(k, "++") || k == "+" { // the plus key itself, modified
		base, parts = "+", append(parts[:len(parts)-2:len(parts)-2], "+")
	}
	last := -1
	for _, m := range parts[:len(parts)-1] {
		i := slices.Index(modifiers, m)
		if i <= last {
			return false // unknown, repeated or out of order
		}
		last = i
	}
	if utf8.RuneCountInString(base) == 1 {
		r, _ := utf8.DecodeRuneInString(base)
		return len(parts) == 1 || !unicode.IsUpper(r) // with modifiers the letter is the lower case one
	}
	return namedKeys[base]
}

// helpKey is the key column of the help for a rebound action, in the
// style of the defaults ("↑/k").
func helpKey(ks []string) string {
	pretty := map[string]string{"up": "↑", "down": "↓", "left": "←", "right": "→", "pgdown": "pgdn"}
	s := make([]string, len(ks))
	for i, k := range ks {
		if p, ok := pretty[k]; ok {
			k = p
		}
		s[i] = k
	}
	return strings.Join(s, "/")
}

// ApplyKeys rebinds the actions named in bindings (action name, as the
// lower-case field name of keys.KeyMap, -> keys) and updates their help.
// An unknown action name is an error listing the valid ones; a key that
// ends up bound to two actions is an error naming both. On error km is
// left as it was.
//
// A binding that is already unbound stays unbound: call ApplyKeys before
// KeyMap.ReadOnly, and a profile can never give back the keys read-only
// mode took away.
func ApplyKeys(km *keys.KeyMap, bindings map[string][]string) error {
	if len(bindings) == 0 {
		return nil
	}
	next := *km
	var errs []error
	seen := map[string]string{} // action -> the name it was given as
	names := make([]string, 0, len(bindings))
	for n := range bindings {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		a, err := lookupAction(n)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if prev, ok := seen[a.name]; ok {
			errs = append(errs, fmt.Errorf("action %s is given twice (as %q and %q)", a.name, prev, n))
			continue
		}
		seen[a.name] = n
		ks, err := cleanKeys(bindings[n])
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", a.name, err))
			continue
		}
		b := a.binding(&next)
		if len(b.Keys()) == 0 {
			continue // unbound (read-only): stays so
		}
		b.SetKeys(ks...)
		b.SetHelp(helpKey(ks), b.Help().Desc)
	}
	if len(errs) == 0 {
		errs = conflicts(&next)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	*km = next
	return nil
}

// conflicts finds the keys bound to more than one action.
func conflicts(km *keys.KeyMap) []error {
	var errs []error
	owner := map[string]string{}
	for _, a := range actions {
		for _, k := range a.binding(km).Keys() {
			if prev, ok := owner[k]; ok {
				errs = append(errs, fmt.Errorf("key %q is bound to both %s and %s", k, prev, a.name))
				continue
			}
			owner[k] = a.name
		}
	}
	return errs
}
