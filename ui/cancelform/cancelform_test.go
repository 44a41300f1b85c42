package cancelform

import (
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	tea "charm.land/bubbletea/v2"

	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/mde/reliability"
	"github.com/mdeactions/mdeactions/mde/textsafe"
	"github.com/mdeactions/mdeactions/ui/common"
	"github.com/mdeactions/mdeactions/ui/keys"
)

var sgr = regexp.MustCompile(`\x1b\[[0-9;:]*m`)

func newForm(t testing.TB) Model {
	ctx := &common.Context{Width: 80, Height: 24, Styles: common.NewStyles(true), Keys: keys.Default(), Now: time.Now}
	a := mde.MachineAction{ID: "a1", Type: mde.TypeIsolate, Status: mde.StatusPending, ComputerDNSName: "ws-1"}
	f, _ := New(ctx, []mde.MachineAction{a}, "")
	return f
}

// checkForm: the comment is clean and within the limit, and the view has
// nothing but text and colour.
func checkForm(t testing.TB, f Model) {
	t.Helper()
	c := f.Comment()
	if n := utf8.RuneCountInString(c); n > MaxComment {
		t.Fatalf("comment of %d characters, limit %d", n, MaxComment)
	}
	if textsafe.Clean(c) != c {
		t.Fatalf("controls in the comment: %q", c)
	}
	if v := sgr.ReplaceAllString(f.View(), ""); textsafe.Clean(strings.ReplaceAll(v, "\n", "")) != strings.ReplaceAll(v, "\n", "") {
		t.Fatalf("controls on the screen: %q", f.View())
	}
}

func TestCommentPaste100KB(t *testing.T) {
	f := newForm(t)
	chunk := "IR-2291 wrong device\x1b]52;c;AAAA\x07\u202e\r\n\t\x00"
	paste := strings.Repeat(chunk, 100<<10/len(chunk)+1)
	f, _, _ = f.Update(tea.PasteMsg{Content: paste})
	checkForm(t, f)
	if n := utf8.RuneCountInString(f.Comment()); n < MaxComment-1 || !strings.HasPrefix(f.Comment(), "IR-2291 wrong device IR-2291") {
		t.Fatalf("the paste should fill the comment up to the limit, cleaned: %d characters, %q…", n, f.Comment()[:40])
	}
	f, out, _ := f.Update(tea.KeyPressMsg{Code: tea.KeyEnter})
	if out != Continue || f.Stage() != StageConfirm {
		t.Fatal("a long pasted comment should go on to the confirmation")
	}
	reliability.Record(t, reliability.Row{Area: "hostile input", Fault: "a 100 KB paste with escape sequences, bidi overrides, CR/LF, tabs and NUL into the comment prompt",
		Outcome: "cleaned and cut to the 1,000-character limit; the form goes on to the confirmation", Terminal: "clean"})
}

func FuzzCommentPrompt(f *testing.F) {
	f.Add("why", "typed")
	f.Add("\x1b]52;c;Zm9v\x07", "\x1b[2J")
	f.Add("\u202eexe.gpj", "a\rb")
	f.Add(strings.Repeat("x", 2000), "\x00\x7f\u009b1m")
	f.Add("line1\nline2\r\n", "\t")
	f.Fuzz(func(t *testing.T, paste, typed string) {
		form := newForm(t)
		form, _, _ = form.Update(tea.PasteMsg{Content: paste})
		for _, r := range typed {
			if r == '\r' || r == '\n' || r == 0x1b {
				continue // enter and esc are keys of their own
			}
			form, _, _ = form.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
		}
		checkForm(t, form)
	})
}
