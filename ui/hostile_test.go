package ui

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/mde/reliability"
)

// hostilePayloads are what a compromised host or script may put in a
// device name, a comment or a requestor, to take over the responder's
// terminal.
var hostilePayloads = []struct{ name, s string }{
	{"OSC 52 clipboard write (BEL)", "\x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\x07"},
	{"OSC 52 clipboard write (ST)", "\x1b]52;c;Y3VybA==\x1b\\"},
	{"OSC 8 hyperlink", "\x1b]8;;https://evil.example/\x1b\\click me\x1b]8;;\x1b\\"},
	{"OSC 0 window title", "\x1b]0;sudo rm -rf /\x07"},
	{"DCS (XTGETTCAP / sixel)", "\x1bP+q544e\x1b\\\x1bPq#0;2;0;0;0#0~~\x1b\\"},
	{"APC / PM / SOS", "\x1b_Gf=100;AAAA\x1b\\\x1b^pm\x1b\\\x1bXsos\x1b\\"},
	{"CSI cursor moves, erase, alternate screen off", "\x1b[2J\x1b[H\x1b[10;10H\x1b[?1049l\x1b[?25l"},
	{"8-bit C1 CSI and OSC", "\u009b2J\u009d0;title\u009c"},
	{"bidi overrides and isolates", "\u202eexe.gpj\u202c\u2066x\u2069\u200f"},
	{"C0 controls: BEL, BS, CR, NUL, DEL, ESC c", "a\x07b\x08c\rd\x00e\x7ff\x1bc"},
	{"unterminated OSC", "\x1b]52;c;never ends"},
}

var sgrOnly = regexp.MustCompile(`\x1b\[[0-9;:]*m`)

// checkScreen fails if anything but plain text and colour (SGR) reached
// the view: no control string, no cursor move, no C1, no bidi control.
func checkScreen(t *testing.T, where, content string) {
	t.Helper()
	rest := sgrOnly.ReplaceAllString(content, "")
	for _, r := range rest {
		switch {
		case r == 0x1b || r == 0x07 || r == 0x08 || r == 0x7f || r == 0 || (r >= 0x80 && r <= 0x9f):
			t.Fatalf("%s: control %U reached the screen:\n%q", where, r, content)
		case (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0x200e || r == 0x200f || r == 0x061c:
			t.Fatalf("%s: bidi control %U reached the screen:\n%q", where, r, content)
		case r == '\r':
			t.Fatalf("%s: carriage return reached the screen", where)
		}
	}
}

// hostileAction puts p in every string field of an action.
func hostileAction(id, p string) mde.MachineAction {
	return mde.MachineAction{
		ID: id, Type: mde.ActionType("Isolate" + p), Title: "title" + p, Requestor: "soc" + p + "@contoso.com",
		RequestorComment: "why" + p, Status: mde.StatusPending, MachineID: "m" + p, ComputerDNSName: "ws" + p + "host",
		CreationDateTimeUtc:   mde.Timestamp{Time: testNow.Add(-time.Hour)},
		LastUpdateDateTimeUtc: mde.Timestamp{Raw: "not a date" + p},
		Scope:                 mde.Scope("Full" + p), RequestSource: mde.RequestSource("Api" + p),
		Rare: &mde.RareFields{
			CancellationRequestor: "x" + p, CancellationComment: "cc" + p, ExternalID: "ext" + p,
			RelatedFileInfo:  &mde.RelatedFileInfo{FileIdentifier: "f" + p, FileIdentifierType: "Sha1" + p},
			Commands:         []mde.LiveResponseCommand{{CommandStatus: "Completed" + p, Errors: []string{"e" + p}, Command: mde.Command{Type: "RunScript" + p, Params: []mde.CommandParam{{Key: "k" + p, Value: "v" + p}}}}},
			TroubleshootInfo: mustJSON(map[string]string{"note": "t" + p}),
		},
	}
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

// TestHostileTextNeverReachesTheScreen puts each payload in every string
// field and walks the views: list, search bar, detail, comment prompt,
// confirmation, and the footer after a failed cancel whose error echoes it.
func TestHostileTextNeverReachesTheScreen(t *testing.T) {
	for i, p := range hostilePayloads {
		t.Run(p.name, func(t *testing.T) {
			a := hostileAction(fmt.Sprintf("id-%d", i), p.s)
			svc := &fakeService{actions: []mde.MachineAction{a}, cancelErr: &mde.APIError{StatusCode: 400, Message: "refused" + p.s, Target: "req" + p.s}}
			h := newHarness(t, svc, nil)
			checkScreen(t, "list", h.m.View().Content)
			if !strings.Contains(ansi.Strip(h.m.View().Content), "ws") {
				t.Fatalf("the row is not shown:\n%s", h.screen())
			}
			h.press("enter")
			checkScreen(t, "detail", h.m.View().Content)
			h.press("c")
			checkScreen(t, "comment prompt", h.m.View().Content)
			h.typeText("ok")
			h.run(h.send(tea.PasteMsg{Content: "pasted" + p.s}))
			checkScreen(t, "comment prompt after a hostile paste", h.m.View().Content)
			h.press("enter")
			checkScreen(t, "confirmation", h.m.View().Content)
			h.press("y")
			checkScreen(t, "footer after a refused cancel", h.m.View().Content)
			if len(svc.cancels) != 1 || strings.ContainsAny(svc.cancels[0].comment, "\x1b\x07\u009b\u202e") {
				t.Fatalf("the comment sent must be clean: %q", svc.cancels)
			}
			reliability.Record(t, reliability.Row{Area: "hostile input", Fault: p.name + " in every string field of an action (device, comments, requestor, type, timestamps, commands…) and in a pasted comment",
				Outcome: "stripped from the list, detail, comment prompt, confirmation, footer and the comment sent; the text around it kept", Terminal: "clean"})
		})
	}
}

// TestAnEscapeInOnePieceKeepsTheNext: an unterminated escape in one part of
// a joined detail value (a file's type, a parameter's key, an unreadable
// field's name) is removed alone; the next part is still shown.
func TestAnEscapeInOnePieceKeepsTheNext(t *testing.T) {
	const osc = "\x1b]52;c;never ends"
	a := hostileAction("id-1", "")
	a.Rare.RelatedFileInfo = &mde.RelatedFileInfo{FileIdentifierType: "Sha1" + osc, FileIdentifier: "4e1f00aa"}
	a.Rare.Commands[0].Command.Params = []mde.CommandParam{{Key: "ScriptName" + osc, Value: "collect.ps1"}}
	a.Rare.Unreadable = []string{"title" + osc, "scope"}
	h := newHarness(t, &fakeService{actions: []mde.MachineAction{a}}, nil)
	h.send(tea.WindowSizeMsg{Width: 120, Height: 40})
	h.press("enter")
	s := h.screen()
	checkScreen(t, "detail", h.m.View().Content)
	for _, want := range []string{"Sha1 4e1f00aa", "ScriptName=collect.ps1", "title, scope (wrong type"} {
		if !strings.Contains(s, want) {
			t.Errorf("the detail lost the text after an escape: no %q in\n%s", want, s)
		}
	}
}
