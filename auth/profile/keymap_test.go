package profile

import (
	"reflect"
	"strings"
	"testing"

	"github.com/mdeactions/mdeactions/ui/keys"
)

func TestActionsAreTheKeyMapFields(t *testing.T) {
	got := Actions()
	if len(got) != reflect.TypeFor[keys.KeyMap]().NumField() {
		t.Fatalf("%d actions for %d fields: %v", len(got), reflect.TypeFor[keys.KeyMap]().NumField(), got)
	}
	for _, w := range []string{"up", "down", "cancel", "search", "pagedown", "copymachine", "forcequit"} {
		if !strings.Contains(" "+strings.Join(got, " ")+" ", " "+w+" ") {
			t.Errorf("no action %q in %v", w, got)
		}
	}
}

func TestApplyKeysRebinds(t *testing.T) {
	km := keys.Default()
	err := ApplyKeys(&km, map[string][]string{
		"cancel":    {"C"},
		"Page_Down": {"pgdown", "J"},
		"up":        {"up", "k", "up"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := km.Cancel.Keys(); !reflect.DeepEqual(got, []string{"C"}) {
		t.Errorf("cancel keys %v", got)
	}
	if h := km.Cancel.Help(); h.Key != "C" || h.Desc != "cancel" {
		t.Errorf("cancel help %+v", h)
	}
	if got := km.PageDown.Keys(); !reflect.DeepEqual(got, []string{"pgdown", "J"}) {
		t.Errorf("pagedown keys %v", got)
	}
	if h := km.PageDown.Help(); h.Key != "pgdn/J" {
		t.Errorf("pagedown help %+v", h)
	}
	if got := km.Up.Keys(); !reflect.DeepEqual(got, []string{"up", "k"}) {
		t.Errorf("up keys %v (repeats dropped)", got)
	}
	if got := km.Refresh.Keys(); !reflect.DeepEqual(got, []string{"r"}) {
		t.Errorf("refresh, not named, changed: %v", got)
	}
	if err := ApplyKeys(&km, nil); err != nil {
		t.Fatal(err)
	}
}

func TestApplyKeysSwap(t *testing.T) {
	// Two actions trading keys is no conflict: it is checked after rebinding.
	km := keys.Default()
	if err := ApplyKeys(&km, map[string][]string{"cancel": {"r"}, "refresh": {"c"}}); err != nil {
		t.Fatal(err)
	}
	if km.Cancel.Keys()[0] != "r" || km.Refresh.Keys()[0] != "c" {
		t.Fatalf("%v %v", km.Cancel.Keys(), km.Refresh.Keys())
	}
}

func TestApplyKeysUnknownAction(t *testing.T) {
	km := keys.Default()
	err := ApplyKeys(&km, map[string][]string{"cancle": {"C"}})
	if err == nil {
		t.Fatal("no error")
	}
	for _, w := range []string{`unknown action "cancle"`, `did you mean "cancel"?`, "up, down, top, bottom", "forcequit"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%q lacks %q", err, w)
		}
	}
	if !reflect.DeepEqual(km, keys.Default()) {
		t.Error("the keymap changed on error")
	}
}

func TestApplyKeysConflict(t *testing.T) {
	km := keys.Default()
	err := ApplyKeys(&km, map[string][]string{"cancel": {"C", "q"}})
	if err == nil {
		t.Fatal("no error")
	}
	if !strings.Contains(err.Error(), `key "q" is bound to both cancel and quit`) {
		t.Errorf("%q", err)
	}
	if !reflect.DeepEqual(km, keys.Default()) {
		t.Error("the keymap changed on error")
	}
}

func TestApplyKeysBadKeys(t *testing.T) {
	for _, ks := range [][]string{nil, {""}, {" "}, {"ctrl c"}, {"F5"}, {"ctrl+R"}, {"PgUp"}, {"alt+ctrl+x"}, {"hello"}} {
		km := keys.Default()
		if err := ApplyKeys(&km, map[string][]string{"cancel": ks}); err == nil {
			t.Errorf("%q accepted", ks)
		}
	}
	// A key the terminal names otherwise is refused with the name it sends.
	km0 := keys.Default()
	if err := ApplyKeys(&km0, map[string][]string{"refresh": {"F5"}}); err == nil || !strings.Contains(err.Error(), `write "f5"`) {
		t.Errorf("F5: %v", err)
	}
	for _, ok := range []string{"C", "f5", "ctrl+t", "shift+tab", "ctrl+alt+x", "insert", "é"} {
		km := keys.Default()
		if err := ApplyKeys(&km, map[string][]string{"refresh": {ok}}); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	km := keys.Default()
	if err := ApplyKeys(&km, map[string][]string{"cancel": {"C"}, "Cancel": {"X"}}); err == nil || !strings.Contains(err.Error(), "given twice") {
		t.Errorf("err = %v", err)
	}
}

// Read-only mode's unbinding survives a profile that rebinds cancel.
func TestApplyKeysKeepsReadOnly(t *testing.T) {
	km := keys.Default()
	km.ReadOnly()
	if err := ApplyKeys(&km, map[string][]string{"cancel": {"C"}, "markall": {"A"}, "up": {"w"}}); err != nil {
		t.Fatal(err)
	}
	if km.Cancel.Enabled() || len(km.Cancel.Keys()) != 0 || len(km.MarkAll.Keys()) != 0 {
		t.Fatalf("read-only undone: cancel %v markall %v", km.Cancel.Keys(), km.MarkAll.Keys())
	}
	if got := km.Up.Keys(); len(got) != 1 || got[0] != "w" {
		t.Fatalf("up %v", got)
	}
}

// A file's bindings load and apply.
func TestLoadedKeysApply(t *testing.T) {
	f, err := Load(write(t, full))
	if err != nil {
		t.Fatal(err)
	}
	km := keys.Default()
	if err := ApplyKeys(&km, f.Profiles["acme"].Keys); err != nil {
		t.Fatal(err)
	}
	if km.Search.Keys()[0] != "ctrl+s" || km.Cancel.Keys()[0] != "C" {
		t.Fatalf("%v %v", km.Search.Keys(), km.Cancel.Keys())
	}
}
