package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// tmuxSession drives a real terminal: tmux on a private socket, 80x24.
type tmuxSession struct {
	t      *testing.T
	socket string
	name   string
}

func newTmux(t *testing.T) *tmuxSession {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("tmux is not installed; .ci/run installs it")
		}
		t.Skip("tmux is not installed")
	}
	s := &tmuxSession{t: t, socket: filepath.Join(t.TempDir(), "tmux.sock"), name: "mdeactions-e2e"}
	// A plain shell with a known prompt, so that what is left after quitting
	// can be checked.
	s.run("-f", "/dev/null", "new-session", "-d", "-s", s.name, "-x", "80", "-y", "24",
		"env", "-i", "PATH="+os.Getenv("PATH"), "HOME="+t.TempDir(), "TERM=screen-256color", "PS1=PROMPT$ ", "HISTFILE=/dev/null",
		"bash", "--norc", "--noprofile")
	t.Cleanup(func() {
		_ = exec.Command("tmux", "-S", s.socket, "kill-server").Run()
		time.Sleep(200 * time.Millisecond) // let the shell go before its HOME is removed
	})
	s.waitFor("shell prompt", 10*time.Second, func(screen string) bool { return strings.Contains(screen, "PROMPT$") })
	return s
}

func (s *tmuxSession) run(args ...string) string {
	s.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", s.socket}, args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func (s *tmuxSession) keys(keys ...string) {
	s.run(append([]string{"send-keys", "-t", s.name}, keys...)...)
}

func (s *tmuxSession) text(text string) { s.run("send-keys", "-t", s.name, "-l", text) }

func (s *tmuxSession) screen() string { return s.run("capture-pane", "-t", s.name, "-p") }

// waitFor polls the screen until cond holds; it fails the test with the last
// screen after timeout.
func (s *tmuxSession) waitFor(what string, timeout time.Duration, cond func(string) bool) string {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		screen := s.screen()
		if cond(screen) {
			return screen
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("timed out waiting for %s; screen:\n%s", what, screen)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func buildBinary(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "mdeactions")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// cancelUnderCursor cancels the action under the cursor through the keys:
// c, the comment, enter, y.
func (s *tmuxSession) cancelUnderCursor(comment string) {
	s.t.Helper()
	s.keys("c")
	s.waitFor("the comment prompt", 5*time.Second, func(sc string) bool { return strings.Contains(sc, "Comment (required") })
	s.text(comment)
	s.keys("Enter")
	s.waitFor("the confirmation", 5*time.Second, func(sc string) bool { return strings.Contains(sc, "[y/N]") })
	s.keys("y")
}

// cursorLine returns the table row under the cursor.
func cursorLine(screen string) string {
	for _, l := range strings.Split(screen, "\n") {
		if strings.HasPrefix(l, "> ") {
			return l
		}
	}
	return ""
}

// TestTmuxCancelFirstPending is the user's main path in a real terminal:
// start the demo at 80x24, cancel the first Pending action with a comment
// through the keys, see the row say Cancelled, quit, and find the shell
// prompt clean.
func TestTmuxCancelFirstPending(t *testing.T) {
	if testing.Short() {
		t.Skip("real-terminal test")
	}
	bin := buildBinary(t)
	s := newTmux(t)
	s.text(bin + " --demo")
	s.keys("Enter")
	screen := s.waitFor("the list", 20*time.Second, func(sc string) bool {
		return strings.Contains(sc, "actions:") && cursorLine(sc) != ""
	})

	// Move the cursor down to the first Pending row.
	lines := strings.Split(screen, "\n")
	first, target := -1, -1
	for i, l := range lines {
		if first < 0 && strings.HasPrefix(l, "> ") {
			first = i
		}
		if first >= 0 && target < 0 && regexp.MustCompile(`^[> ][ *][ DL] \S.{10} Pending `).MatchString(l) {
			target = i
		}
	}
	if target < 0 {
		t.Fatalf("no Pending row on the first screen:\n%s", screen)
	}
	for i := first; i < target; i++ {
		s.keys("j")
	}
	row := s.waitFor("the cursor on the first Pending row", 5*time.Second, func(sc string) bool {
		return strings.Contains(cursorLine(sc), " Pending ")
	})
	picked := cursorLine(row)
	device := strings.Fields(picked[4+12+11:])[0] // the DEVICE column

	comment := "tmux e2e: wrong device"
	s.cancelUnderCursor(comment)
	s.waitFor("the row to say Cancelled", 15*time.Second, func(sc string) bool {
		l := cursorLine(sc)
		return strings.Contains(l, " Cancelled ") && strings.Contains(l, device)
	})

	// The detail view shows the returned entity's cancellation fields.
	s.keys("Enter")
	s.waitFor("the detail view", 5*time.Second, func(sc string) bool {
		return strings.Contains(sc, "cancellationComment") && strings.Contains(sc, comment) &&
			strings.Contains(sc, "responder@contoso.com")
	})
	s.keys("Escape")
	// Wait for the list before q: an ESC followed at once by q reads as alt+q.
	s.waitFor("the list again", 5*time.Second, func(sc string) bool { return cursorLine(sc) != "" })
	s.keys("q")
	final := s.waitFor("the shell prompt after quitting", 10*time.Second, func(sc string) bool {
		trimmed := strings.TrimRight(sc, "\n ")
		return strings.HasSuffix(trimmed, "PROMPT$")
	})
	for _, junk := range []string{"\x1b", "^[", "$y", "[?", "2026", "mdeactions 0 actions"} {
		if strings.Contains(final, junk) {
			t.Fatalf("terminal not clean after quit (found %q):\n%s", junk, final)
		}
	}
	// After the command: only the demo's note of where its audit trail is,
	// then the prompt.
	after := final[strings.Index(final, bin+" --demo")+len(bin+" --demo"):]
	after = strings.TrimSpace(strings.TrimSuffix(strings.TrimRight(after, "\n "), "PROMPT$"))
	if after != "" && !strings.HasPrefix(after, "mdeactions: the demo's audit trail is in") {
		t.Fatalf("shell screen after quit is not just the command and a prompt:\n%s", final)
	}
}

// TestTmuxDeviceCodeSignIn signs in with the real MSAL device-code flow
// against the demo's fake Entra ID, inside the TUI: the code screen shows a
// URL and a code, the fake approves it, and the list follows with the
// signed-in user's token (the simulator checks it).
func TestTmuxDeviceCodeSignIn(t *testing.T) {
	if testing.Short() {
		t.Skip("real-terminal test")
	}
	bin := buildBinary(t)
	s := newTmux(t)
	s.text(bin + " --demo --auth devicecode")
	s.keys("Enter")
	screen := s.waitFor("the device code screen", 20*time.Second, func(sc string) bool {
		return strings.Contains(sc, "Enter this code:") && strings.Contains(sc, "/devicelogin")
	})
	if !regexp.MustCompile(`(?m)^\s+[A-Z0-9]{6,}\s*$`).MatchString(screen) {
		t.Fatalf("no user code on the sign-in screen:\n%s", screen)
	}
	s.waitFor("the list after signing in", 30*time.Second, func(sc string) bool {
		return strings.Contains(sc, "Signed in as responder@contoso.com") && cursorLine(sc) != ""
	})
	s.keys("q")
	s.waitFor("the shell prompt after quitting", 10*time.Second, func(sc string) bool {
		return strings.HasSuffix(strings.TrimRight(sc, "\n "), "PROMPT$")
	})
}

// TestTmuxAllProfiles opens the demo's three profiles at once, then one of
// them alone with P, as a responder would.
func TestTmuxAllProfiles(t *testing.T) {
	if testing.Short() {
		t.Skip("real-terminal test")
	}
	bin := buildBinary(t)
	s := newTmux(t)
	s.text(bin + " --demo --all-profiles")
	s.keys("Enter")
	s.waitFor("every tenant's state", 20*time.Second, func(sc string) bool {
		return regexp.MustCompile(`Tenants: 1 FAILED: northwind · contoso \d+ open · fabrikam \d+ open`).MatchString(sc) &&
			strings.Contains(sc, "TENANT") && strings.Contains(sc, "Tenant northwind:") && cursorLine(sc) != ""
	})
	s.keys("P")
	s.waitFor("the profile picker", 5*time.Second, func(sc string) bool {
		return strings.Contains(sc, "Switch profile") && strings.Contains(sc, "> All profiles")
	})
	s.keys("k", "k", "Enter") // fabrikam
	s.waitFor("fabrikam alone", 10*time.Second, func(sc string) bool {
		return strings.Contains(sc, "[fabrikam]") && !strings.Contains(sc, "TENANT") && cursorLine(sc) != ""
	})
	s.keys("q")
	s.waitFor("the shell prompt after quitting", 10*time.Second, func(sc string) bool {
		return strings.HasSuffix(strings.TrimRight(sc, "\n "), "PROMPT$")
	})
}
