package keys

import "testing"

func TestNoKeyIsBoundTwice(t *testing.T) {
	seen := map[string]string{}
	for _, b := range Default().All() {
		for _, k := range b.Keys() {
			if prev, ok := seen[k]; ok {
				t.Fatalf("key %q bound to both %q and %q", k, prev, b.Help().Desc)
			}
			seen[k] = b.Help().Desc
		}
	}
}

func TestReadOnlyUnbindsCancelAndHidesItFromHelp(t *testing.T) {
	k := Default()
	k.ReadOnly()
	if k.Cancel.Enabled() || len(k.Cancel.Keys()) != 0 {
		t.Fatal("cancel is still bound in read-only mode")
	}
	for _, group := range k.FullHelp() {
		for _, b := range group {
			if b.Enabled() && b.Help().Desc == "cancel" {
				t.Fatal("cancel still shown in help")
			}
		}
	}
}

func TestHelpListsEveryEnabledBinding(t *testing.T) {
	k := Default()
	inHelp := map[string]bool{}
	for _, group := range k.FullHelp() {
		for _, b := range group {
			inHelp[b.Help().Desc] = true
		}
	}
	for _, b := range k.All() {
		if b.Enabled() && !inHelp[b.Help().Desc] {
			t.Fatalf("binding %q is not in the full help", b.Help().Desc)
		}
	}
}
