package filter

import (
	"errors"
	"strings"
	"unicode/utf8"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mdeactions/mdeactions/mde/textsafe"
	"github.com/mdeactions/mdeactions/ui/common"
)

// MaxInput is the longest text the bar accepts, in characters; a longer
// paste is cut.
const MaxInput = 256

// Mode is what the bar is being used for.
type Mode int

// The bar's modes.
const (
	ModeOff    Mode = iota // closed
	ModeSearch             // "/": incremental text search
	ModeSpec               // "f": a filter spec, applied on enter
)

// ResultKind says what a message did to the bar.
type ResultKind int

// The results of Bar.Update.
const (
	// None: nothing for the caller to do.
	None ResultKind = iota
	// Typing: the search text changed (Result.Text); run the search again.
	Typing
	// SearchDone: enter; keep the search (Result.Text) and leave the bar.
	// An empty search is reported as SearchCleared.
	SearchDone
	// SearchCleared: esc; drop the search and leave the bar.
	SearchCleared
	// SpecApplied: enter on a valid spec (Result.Spec); the bar is closed.
	// Result.Reload is set when the rows loaded with the spec the bar was
	// opened with cannot hold every row of the new one.
	SpecApplied
	// Closed: esc in spec mode; nothing changes.
	Closed
)

// Result is what the caller must act on after Update.
type Result struct {
	Kind   ResultKind
	Text   string // Typing, SearchDone: the cleaned search text
	Spec   Spec   // SpecApplied
	Reload bool   // SpecApplied: the server-side part widened; load again
}

// Bar is the one-line input for "/" (search) and "f" (filter spec). It
// never does I/O: ctrl+v does not read a clipboard (a terminal paste
// arrives as tea.PasteMsg and works).
type Bar struct {
	ctx   *common.Context
	mode  Mode
	input textinput.Model
	base  Spec   // the spec when the bar was opened in spec mode
	last  string // the search text last reported
	err   string // the parse error
	// errShort is the error as the bar shows it, without the token
	errShort string
	fitW     int // the context width the input was sized for
}

// NewBar returns a closed bar.
func NewBar(ctx *common.Context) Bar {
	in := textinput.New()
	in.CharLimit = MaxInput
	in.KeyMap.Paste.Unbind() // no clipboard reads: terminal paste only
	in.KeyMap.AcceptSuggestion.Unbind()
	in.KeyMap.NextSuggestion.Unbind()
	in.KeyMap.PrevSuggestion.Unbind()
	st := in.Styles()
	st.Cursor.Blink = false // no idle redraws over SSH
	st.Focused.Prompt = ctx.Styles.Info
	st.Focused.Placeholder = ctx.Styles.Muted
	st.Focused.Text = lipgloss.NewStyle()
	in.SetStyles(st)
	return Bar{ctx: ctx, input: in}
}

// Mode is the bar's current mode.
func (b Bar) Mode() Mode { return b.mode }

// Active reports whether the bar is open and takes every key.
func (b Bar) Active() bool { return b.mode != ModeOff }

// Err is the parse error, naming the bad token; "" if none. The bar shows
// it without the token, which is on screen in the input.
func (b Bar) Err() string { return b.err }

// Value is the text in the bar, cleaned.
func (b Bar) Value() string { return cleanInput(b.input.Value()) }

// OpenSearch opens the bar for "/" with the current search text.
func (b *Bar) OpenSearch(current string) tea.Cmd {
	b.mode = ModeSearch
	b.err = ""
	b.input.Prompt = "/ "
	b.input.Placeholder = "search type, status, device, requestor, comment, id"
	b.setText(current)
	b.last = b.Value()
	return b.input.Focus()
}

// OpenSpec opens the bar for "f" with the current spec written out.
func (b *Bar) OpenSpec(current Spec) tea.Cmd {
	b.mode = ModeSpec
	b.err = ""
	b.base = current
	b.input.Prompt = "filter: "
	b.input.Placeholder = "e.g. status:final type:isolate device:ws-fin requestor:alex@contoso.com tenant:contoso age>2h"
	text := current.String()
	if text != "" {
		text += " "
	}
	b.setText(text)
	return b.input.Focus()
}

func (b *Bar) setText(s string) {
	b.input.Reset()
	b.fit()
	b.input.SetValue(capInput(cleanInput(s), MaxInput))
	b.input.CursorEnd()
}

func (b *Bar) close() {
	b.mode = ModeOff
	b.err = ""
	b.input.Blur()
	b.input.Reset()
}

// Update handles a key or a paste while the bar is open; closed, it does
// nothing. The caller should send every key here while Active.
func (b Bar) Update(msg tea.Msg) (Bar, Result, tea.Cmd) {
	if b.mode == ModeOff {
		return b, Result{}, nil
	}
	if b.ctx.Width != b.fitW {
		b.fit() // the terminal was resized
	}
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		switch msg.String() {
		case "esc", "ctrl+c":
			if b.mode == ModeSearch {
				b.close()
				b.last = ""
				return b, Result{Kind: SearchCleared}, nil
			}
			b.close()
			return b, Result{Kind: Closed}, nil
		case "enter":
			return b.enter()
		}
	case tea.PasteMsg:
		// Cut a huge paste before the input turns it into runes.
		room := MaxInput - utf8.RuneCountInString(b.input.Value())
		msg.Content = capInput(cleanInput(capBytes(msg.Content, 4*MaxInput)), max(room, 0))
		if msg.Content == "" {
			return b, Result{}, nil
		}
		return b.edit(msg)
	}
	return b.edit(msg)
}

func (b Bar) edit(msg tea.Msg) (Bar, Result, tea.Cmd) {
	before := b.input.Value()
	var cmd tea.Cmd
	b.input, cmd = b.input.Update(msg)
	if b.input.Value() == before {
		return b, Result{}, cmd
	}
	if b.mode == ModeSpec {
		if b.err != "" {
			b.err = ""
			b.fit()
		}
		return b, Result{}, cmd
	}
	text := b.Value()
	if text == b.last {
		return b, Result{}, cmd
	}
	b.last = text
	return b, Result{Kind: Typing, Text: text}, cmd
}

func (b Bar) enter() (Bar, Result, tea.Cmd) {
	if b.mode == ModeSearch {
		text := strings.TrimSpace(b.Value())
		b.close()
		b.last = text
		if text == "" {
			return b, Result{Kind: SearchCleared}, nil
		}
		return b, Result{Kind: SearchDone, Text: text}, nil
	}
	spec, err := Parse(b.Value())
	if err != nil {
		b.err = err.Error()
		var pe *ParseError
		if errors.As(err, &pe) && pe.Token != "" {
			b.errShort = pe.Reason // the token is in the input already
		} else {
			b.errShort = b.err
		}
		b.fit()
		return b, Result{}, nil
	}
	reload := !b.base.Covers(spec)
	b.close()
	return b, Result{Kind: SpecApplied, Spec: spec, Reload: reload}, nil
}

// fit sizes the input for the context's width, leaving room for an error.
func (b *Bar) fit() {
	b.fitW = b.ctx.Width
	avail := max(b.ctx.Width-lipgloss.Width(b.input.Prompt)-1, 1)
	w := avail
	if b.err != "" {
		w = max(min(lipgloss.Width(b.input.Value())+1, avail/2), min(avail, 10))
	} else if h := b.hint(); h != "" && avail >= 60 {
		w = avail - lipgloss.Width(h) - 2
	}
	b.input.SetWidth(w)
	b.input.SetValue(b.input.Value()) // recompute the visible part
}

func (b Bar) hint() string {
	switch b.mode {
	case ModeSearch:
		return "enter keep · esc clear"
	case ModeSpec:
		return "enter apply · esc cancel"
	}
	return ""
}

// View draws the bar on one line at most width cells wide: the prompt, the
// text with its cursor, and a parse error (or a key hint). Closed, it is "".
func (b Bar) View(width int) string {
	if b.mode == ModeOff || width <= 0 {
		return ""
	}
	st := b.ctx.Styles
	line := b.input.View()
	switch {
	case b.err != "":
		line += " " + st.Error.Render("✗ "+b.errShort)
	case b.ctx.Width-lipgloss.Width(b.input.Prompt)-1 >= 60:
		line += "  " + st.Muted.Render(b.hint())
	}
	if ansi.StringWidth(line) > width {
		line = ansi.Truncate(line, width, "…")
	}
	return line
}

// cleanInput drops control characters and escape sequences from typed or
// pasted text.
func cleanInput(s string) string { return textsafe.Clean(s) }

// capInput keeps the first n characters of s.
func capInput(s string, n int) string { return textsafe.Cap(s, n) }

// capBytes keeps at most n bytes of s, cut at a character boundary.
func capBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
