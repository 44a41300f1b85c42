package term

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/mdeactions/mdeactions/mde/reliability"
)

// panicky is a model whose first command panics in its goroutine.
type panicky struct{}

func (panicky) Init() tea.Cmd {
	return func() tea.Msg {
		time.Sleep(300 * time.Millisecond) // after the first frame
		panic("bug in a command")
	}
}
func (m panicky) Update(tea.Msg) (tea.Model, tea.Cmd) { return m, nil }
func (panicky) View() tea.View {
	v := tea.NewView("list")
	v.AltScreen = true
	return v
}

// TestPanicInCommandRestoresTheTerminal: a panic in a command's goroutine
// ends the program with ErrProgramPanic instead of the process, and the
// program leaves the alternate screen and shows the cursor again.
func TestPanicInCommandRestoresTheTerminal(t *testing.T) {
	var out bytes.Buffer
	p := tea.NewProgram(panicky{}, tea.WithInput(strings.NewReader("")), tea.WithOutput(&out))
	done := make(chan error, 1)
	go func() { _, err := p.Run(); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, tea.ErrProgramPanic) {
			t.Fatalf("Run = %v, want ErrProgramPanic", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the program did not end after a panic")
	}
	s := out.String()
	enter, leave := strings.LastIndex(s, "\x1b[?1049h"), strings.LastIndex(s, "\x1b[?1049l")
	if enter < 0 {
		t.Fatalf("the program never took the screen, so the test proves nothing: %q", s)
	}
	if leave < enter {
		t.Fatalf("the alternate screen was not left: %q", s)
	}
	for _, pair := range [][2]string{{"\x1b[?25l", "\x1b[?25h"}, {"\x1b[?2004h", "\x1b[?2004l"}, {"\x1b[>1u", "\x1b[<1u"}} {
		if on, off := strings.LastIndex(s, pair[0]), strings.LastIndex(s, pair[1]); on >= 0 && off < on {
			t.Fatalf("%q was not undone: %q", pair[0], s)
		}
	}
	reliability.Record(t, reliability.Row{Area: "process", Fault: "a panic in a command's goroutine (Bubble Tea program)",
		Outcome: "the program ends with an error instead of the process dying; alternate screen left, cursor shown, bracketed paste and keyboard modes undone", Terminal: "clean"})
}

func TestSignalContext(t *testing.T) {
	ctx, stop := SignalContext(context.Background())
	defer stop()
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("SIGHUP did not cancel the context")
	}
	// A terminal that goes away sends a second SIGHUP: it must not end the
	// process before the clean-up (this test would die here).
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	err := Explain(ctx, errors.New("program was killed"))
	if err == nil || !strings.Contains(err.Error(), "stopped by SIGHUP") || Stopped(ctx) == nil {
		t.Fatalf("Explain = %v", err)
	}
	if Explain(context.Background(), nil) != nil {
		t.Fatal("no signal, no error")
	}
}
