package filter

import (
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/ui/common"
	"github.com/mdeactions/mdeactions/ui/keys"
)

func testCtx(width int) *common.Context {
	return &common.Context{Width: width, Height: 24, Styles: common.NewStyles(true), Keys: keys.Default(),
		Now: func() time.Time { return now }}
}

func press(s string) tea.KeyPressMsg {
	switch s {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "backspace":
		return tea.KeyPressMsg{Code: tea.KeyBackspace}
	case "left":
		return tea.KeyPressMsg{Code: tea.KeyLeft}
	case "ctrl+v":
		return tea.KeyPressMsg{Code: 'v', Mod: tea.ModCtrl}
	}
	r, _ := utf8.DecodeRuneInString(s)
	return tea.KeyPressMsg{Code: r, Text: s}
}

// typeText sends each character and returns the results.
func typeText(t *testing.T, b Bar, text string) (Bar, []Result) {
	t.Helper()
	var out []Result
	for _, r := range text {
		var res Result
		b, res, _ = b.Update(press(string(r)))
		out = append(out, res)
	}
	return b, out
}

func TestBarSearchIsIncremental(t *testing.T) {
	b := NewBar(testCtx(80))
	if b.Active() {
		t.Fatal("a new bar is open")
	}
	b.OpenSearch("")
	if !b.Active() || b.Mode() != ModeSearch {
		t.Fatal("OpenSearch did not open the bar in search mode")
	}
	b, results := typeText(t, b, "ws F")
	want := []Result{{Kind: Typing, Text: "w"}, {Kind: Typing, Text: "ws"}, {Kind: Typing, Text: "ws "}, {Kind: Typing, Text: "ws F"}}
	if !reflect.DeepEqual(results, want) {
		t.Fatalf("typing gave %+v, want %+v", results, want)
	}
	var res Result
	b, res, _ = b.Update(press("backspace"))
	if !reflect.DeepEqual(res, Result{Kind: Typing, Text: "ws "}) {
		t.Errorf("backspace gave %+v", res)
	}
	b, res, _ = b.Update(press("left"))
	if res.Kind != None {
		t.Errorf("moving the cursor gave %+v, want nothing to do", res)
	}
	if v := ansi.Strip(b.View(80)); !strings.HasPrefix(v, "/ ws") {
		t.Errorf("View = %q, want it to start with the prompt and the text", v)
	}
	b, res, _ = b.Update(press("enter"))
	if !reflect.DeepEqual(res, Result{Kind: SearchDone, Text: "ws"}) {
		t.Errorf("enter gave %+v, want SearchDone ws", res)
	}
	if b.Active() || b.View(80) != "" {
		t.Error("enter left the bar open")
	}
	// Closed, the bar ignores keys.
	if _, res, _ = b.Update(press("x")); res.Kind != None {
		t.Errorf("a closed bar reacted: %+v", res)
	}
}

func TestBarSearchEscClears(t *testing.T) {
	b := NewBar(testCtx(80))
	b.OpenSearch("ws-fin")
	if b.Value() != "ws-fin" {
		t.Fatalf("OpenSearch kept %q, want the current search", b.Value())
	}
	b, res, _ := b.Update(press("esc"))
	if res.Kind != SearchCleared || b.Active() {
		t.Errorf("esc gave %+v, active %v; want SearchCleared and closed", res, b.Active())
	}
	// Enter on an empty search is a clear, too.
	b.OpenSearch("")
	b, res, _ = b.Update(press("enter"))
	if res.Kind != SearchCleared || b.Active() {
		t.Errorf("enter on nothing gave %+v", res)
	}
	// Reopening starts from what the caller says, not from old text.
	b.OpenSearch("")
	if b.Value() != "" {
		t.Errorf("reopened with %q", b.Value())
	}
}

func TestBarSpecAppliesOnEnter(t *testing.T) {
	b := NewBar(testCtx(100))
	b.OpenSpec(Spec{})
	b, results := typeText(t, b, "type:isolate device:fin")
	for _, r := range results {
		if r.Kind != None {
			t.Fatalf("typing a spec gave %+v; a spec applies on enter only", r)
		}
	}
	b, res, _ := b.Update(press("enter"))
	want := Spec{Types: []mde.ActionType{mde.TypeIsolate}, Device: "fin"}
	if res.Kind != SpecApplied || !reflect.DeepEqual(res.Spec, want) {
		t.Fatalf("enter gave %+v, want SpecApplied %+v", res, want)
	}
	if res.Reload {
		t.Error("narrowing the default view asked for a reload")
	}
	if b.Active() {
		t.Error("the bar stayed open after applying")
	}

	// Widening: final statuses are not loaded.
	b.OpenSpec(res.Spec)
	if b.Value() != "type:Isolate device:fin " {
		t.Errorf("OpenSpec shows %q, want the current spec and a space", b.Value())
	}
	b, _ = typeText(t, b, "status:final")
	b, res, _ = b.Update(press("enter"))
	if res.Kind != SpecApplied || !res.Reload {
		t.Errorf("widening to final statuses gave %+v, want a reload", res)
	}
}

func TestBarSpecErrorShowsAndAppliesNothing(t *testing.T) {
	b := NewBar(testCtx(120))
	b.OpenSpec(Spec{})
	b, _ = typeText(t, b, "status:bogus")
	b, res, _ := b.Update(press("enter"))
	if res.Kind != None {
		t.Fatalf("a bad spec gave %+v, want nothing applied", res)
	}
	if !b.Active() {
		t.Fatal("a bad spec closed the bar")
	}
	if !strings.Contains(b.Err(), `unknown status "bogus"`) {
		t.Errorf("Err = %q", b.Err())
	}
	view := ansi.Strip(b.View(120))
	if !strings.Contains(view, "filter: status:bogus") || !strings.Contains(view, `unknown status "bogus"`) {
		t.Errorf("View = %q, want the text and the error on one line", view)
	}
	if strings.Contains(view, "\n") || ansi.StringWidth(b.View(120)) > 120 {
		t.Errorf("View is not one line of at most 120 cells: %q", view)
	}
	// Editing clears the error.
	b, _, _ = b.Update(press("backspace"))
	if b.Err() != "" {
		t.Errorf("the error stayed after an edit: %q", b.Err())
	}
	// Esc cancels: nothing applied.
	b, res, _ = b.Update(press("esc"))
	if res.Kind != Closed || b.Active() {
		t.Errorf("esc gave %+v", res)
	}
}

func TestBarPasteIsCappedAndCleaned(t *testing.T) {
	b := NewBar(testCtx(80))
	b.OpenSearch("")
	huge := strings.Repeat("x", 100*1024)
	b, res, _ := b.Update(tea.PasteMsg{Content: huge})
	if n := utf8.RuneCountInString(b.Value()); n != MaxInput {
		t.Errorf("a 100 KB paste left %d characters, want %d", n, MaxInput)
	}
	if res.Kind != Typing || len(res.Text) != MaxInput {
		t.Errorf("paste gave %v with %d bytes", res.Kind, len(res.Text))
	}
	// Full: another paste adds nothing.
	if _, res, _ = b.Update(tea.PasteMsg{Content: "more"}); res.Kind != None {
		t.Errorf("a paste into a full bar gave %+v", res)
	}

	b.OpenSearch("")
	b, res, _ = b.Update(tea.PasteMsg{Content: "ws\x1b[31m-fin\x1b]0;title\x07\n\u202eevil"})
	if b.Value() != "ws-fin evil" || res.Text != "ws-fin evil" {
		t.Errorf("paste kept %q (result %q), want control characters gone", b.Value(), res.Text)
	}

	// A multi-byte paste is cut on a character boundary.
	b.OpenSearch("")
	b, _, _ = b.Update(tea.PasteMsg{Content: strings.Repeat("東", 100*1024)})
	if v := b.Value(); !utf8.ValidString(v) || utf8.RuneCountInString(v) != MaxInput {
		t.Errorf("CJK paste: %d characters, valid %v", utf8.RuneCountInString(v), utf8.ValidString(v))
	}

	// ctrl+v does not read a clipboard (no I/O from the bar).
	b.OpenSearch("")
	if _, _, cmd := b.Update(press("ctrl+v")); cmd != nil {
		if msg := cmd(); msg != nil {
			t.Errorf("ctrl+v ran a command that returned %T", msg)
		}
	}
}

func TestBarTypedControlCharactersAreDropped(t *testing.T) {
	b := NewBar(testCtx(80))
	b.OpenSearch("")
	b, _, _ = b.Update(tea.KeyPressMsg{Code: 'a', Text: "a\u202e"})
	if b.Value() != "a" {
		t.Errorf("Value = %q, want the bidi override dropped", b.Value())
	}
	b.OpenSearch("x\x1b[2Jy")
	if b.Value() != "xy" {
		t.Errorf("OpenSearch kept %q", b.Value())
	}
}

func TestBarViewFitsNarrowWidths(t *testing.T) {
	for _, w := range []int{20, 40, 60, 80, 200} {
		ctx := testCtx(w)
		b := NewBar(ctx)
		b.OpenSpec(Spec{})
		b, _ = typeText(t, b, "status:pendng type:isolate device:a-very-long-device-name-indeed")
		b, _, _ = b.Update(press("enter"))
		for _, v := range []string{b.View(w)} {
			if got := ansi.StringWidth(v); got > w || strings.Contains(v, "\n") {
				t.Errorf("width %d: View is %d cells: %q", w, got, ansi.Strip(v))
			}
		}
		if b.View(0) != "" {
			t.Error("View(0) drew something")
		}
	}
	// The cursor stays visible after a resize.
	ctx := testCtx(120)
	b := NewBar(ctx)
	b.OpenSearch(strings.Repeat("a", 100) + "END")
	ctx.Width = 40
	b, _, _ = b.Update(press("!"))
	if v := ansi.Strip(b.View(40)); !strings.Contains(v, "END!") {
		t.Errorf("after a resize the end of the text is not shown: %q", v)
	}
}
