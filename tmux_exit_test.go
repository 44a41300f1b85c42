package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mdeactions/mdeactions/mde/audit"
	"github.com/mdeactions/mdeactions/mde/mdesim"
	"github.com/mdeactions/mdeactions/mde/reliability"
)

// programPID is the pid of the program the pane's shell runs in the
// foreground (the shell's only child).
func (s *tmuxSession) programPID() int {
	s.t.Helper()
	shell := strings.TrimSpace(s.run("list-panes", "-t", s.name, "-F", "#{pane_pid}"))
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, _ := os.ReadFile(filepath.Join("/proc", shell, "task", shell, "children"))
		if f := strings.Fields(string(b)); len(f) == 1 {
			pid, err := strconv.Atoi(f[0])
			if err == nil {
				return pid
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("no single child of the shell %s: %q", shell, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitPrompt waits for the shell prompt at the bottom of what is written,
// then checks that nothing but the command line, the tool's own stderr
// lines (each starting "mdeactions:", possibly wrapped) and the prompt is on
// the screen: no escape sequence, no terminal answer, no TUI left over.
func (s *tmuxSession) waitPrompt(cmdline string) string {
	s.t.Helper()
	s.waitFor("the shell prompt after exit", 20*time.Second, func(sc string) bool {
		return strings.HasSuffix(strings.TrimRight(sc, "\n "), "PROMPT$")
	})
	final := s.run("capture-pane", "-t", s.name, "-p", "-J") // wrapped lines joined
	for _, junk := range []string{"\x1b", "^[", "$y", "[?", "2026", "Pending", "TYPE ", ";rgb:"} {
		if strings.Contains(final, junk) {
			s.t.Fatalf("terminal not clean after exit (found %q):\n%s", junk, final)
		}
	}
	i := strings.LastIndex(final, cmdline)
	if i < 0 {
		s.t.Fatalf("the command line is gone from the screen:\n%s", final)
	}
	after := strings.TrimSpace(strings.TrimSuffix(strings.TrimRight(final[i+len(cmdline):], "\n "), "PROMPT$"))
	if after != "" && !strings.HasPrefix(after, "mdeactions:") {
		s.t.Fatalf("after the command, only the tool's own messages and the prompt may show:\n%s", final)
	}
	return after
}

// TestTmuxExitLeavesTerminalClean quits the demo (signed in with a client
// secret, so that it has a temporary token cache) four ways: q, ctrl+c,
// SIGTERM and SIGHUP (a dropped SSH connection). Each time the shell prompt
// comes back clean and the temporary directory is gone.
func TestTmuxExitLeavesTerminalClean(t *testing.T) {
	if testing.Short() {
		t.Skip("real-terminal test")
	}
	bin := buildBinary(t)
	s := newTmux(t)
	for _, how := range []string{"q", "ctrl+c", "SIGTERM", "SIGHUP"} {
		tmp := t.TempDir()
		cmdline := "TMPDIR=" + tmp + " " + bin + " --demo --auth secret"
		s.run("clear-history", "-t", s.name)
		s.keys("clear", "Enter")
		s.waitFor("a cleared screen", 5*time.Second, func(sc string) bool { return strings.TrimSpace(sc) == "PROMPT$" })
		s.text(cmdline)
		s.keys("Enter")
		s.waitFor("the list ("+how+")", 20*time.Second, func(sc string) bool {
			return strings.Contains(sc, "actions:") && cursorLine(sc) != ""
		})
		switch how {
		case "q":
			s.keys("q")
		case "ctrl+c":
			s.keys("C-c")
		case "SIGTERM":
			_ = syscall.Kill(s.programPID(), syscall.SIGTERM)
		case "SIGHUP":
			_ = syscall.Kill(s.programPID(), syscall.SIGHUP)
		}
		after := s.waitPrompt(cmdline)
		if strings.HasPrefix(how, "SIG") && !strings.Contains(after, "stopped by "+how) {
			t.Fatalf("%s: the tool should say why it stopped:\n%s", how, after)
		}
		left, _ := filepath.Glob(filepath.Join(tmp, "mdeactions-demo-*"))
		for _, d := range left {
			if !strings.Contains(d, "mdeactions-demo-audit-") { // the demo's audit trail stays, and says where
				t.Fatalf("%s: the demo's temporary directory %s was left behind", how, d)
			}
		}
		reliability.Record(t, reliability.Row{Area: "terminal", Fault: "exit by " + how + " (demo with a temporary token cache)",
			Outcome: "shell prompt back, no escape sequence or terminal answer on it; the temporary token cache removed", Terminal: "clean"})
	}
}

// TestTmuxSIGTERMWithCancelInFlight stops the TUI with SIGTERM while a
// cancel waits for an answer that never comes: the terminal is restored
// and the audit trail has the cancel's intent and an outcome "unknown"
// with its comment.
func TestTmuxSIGTERMWithCancelInFlight(t *testing.T) {
	if testing.Short() {
		t.Skip("real-terminal test")
	}
	srv, err := mdesim.Start(mdesim.Options{Seed: 1, NoLimits: true, Faults: []mdesim.Fault{{Kind: mdesim.FaultHang, Endpoint: mdesim.EndpointCancel}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	bin := buildBinary(t)
	dir := filepath.Join(t.TempDir(), "state") // 0700, as the audit trail requires
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	auditFile := filepath.Join(dir, "audit.jsonl")
	s := newTmux(t)
	cmdline := "MDE_TOKEN=tmux-test-token " + bin + " --api-url " + srv.URL + " --token-env MDE_TOKEN --timeout 20s --audit-file " + auditFile + " --log-file " + filepath.Join(dir, "log")
	s.text(cmdline)
	s.keys("Enter")
	s.waitFor("the list", 20*time.Second, func(sc string) bool { return strings.Contains(sc, "actions:") && cursorLine(sc) != "" })
	comment := "tmux sigterm in flight"
	s.cancelUnderCursor(comment)
	s.waitFor("the cancel in flight", 5*time.Second, func(sc string) bool { return strings.Contains(sc, "Cancelling") })
	_ = syscall.Kill(s.programPID(), syscall.SIGTERM)
	after := s.waitPrompt(cmdline)
	if !strings.Contains(after, "recorded as unknown") {
		t.Fatalf("the tool should say the cancel in flight was recorded as unknown:\n%s", after)
	}
	records, _, err := audit.ReadAll(auditFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != 2 || records[0].Event != audit.EventIntent || records[1].Event != audit.EventOutcome ||
		records[1].Result != audit.ResultUnknown || records[1].Comment != comment || records[1].Attempt != records[0].Attempt {
		t.Fatalf("want the intent and an unknown outcome with the comment, got %+v", records)
	}
	sent := srv.Sim.Requests(mdesim.EndpointCancel)
	if sent != 1 {
		t.Fatalf("the cancel reached the API %d times", sent)
	}
	reliability.Record(t, reliability.Row{Area: "process", Fault: "SIGTERM while a cancel waits for an answer that never comes (hang)",
		Outcome: "terminal restored; the tool waits 5 s, then writes the outcome `unknown` with the comment and says so on stderr; sent once", Terminal: "clean",
		SentTwice: sent - 1})
}

// TestTmuxDroppedConnectionWithCancelInFlight closes the terminal itself
// (the pty goes away, as when an SSH connection drops) while a cancel waits
// for an answer that never comes: the process still ends on its own, and
// the audit trail has the cancel's outcome as unknown.
func TestTmuxDroppedConnectionWithCancelInFlight(t *testing.T) {
	if testing.Short() {
		t.Skip("real-terminal test")
	}
	srv, err := mdesim.Start(mdesim.Options{Seed: 1, NoLimits: true, Faults: []mdesim.Fault{{Kind: mdesim.FaultHang, Endpoint: mdesim.EndpointCancel}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	bin := buildBinary(t)
	dir := filepath.Join(t.TempDir(), "state")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	auditFile := filepath.Join(dir, "audit.jsonl")
	s := newTmux(t)
	s.text("MDE_TOKEN=tmux-test-token " + bin + " --api-url " + srv.URL + " --token-env MDE_TOKEN --timeout 20s --audit-file " + auditFile + " --log-file " + filepath.Join(dir, "log"))
	s.keys("Enter")
	s.waitFor("the list", 20*time.Second, func(sc string) bool { return strings.Contains(sc, "actions:") && cursorLine(sc) != "" })
	s.cancelUnderCursor("dropped connection in flight")
	s.waitFor("the cancel in flight", 5*time.Second, func(sc string) bool { return strings.Contains(sc, "Cancelling") })
	pid := s.programPID()
	s.run("kill-pane", "-t", s.name) // the terminal goes away: SIGHUP, and the pty is gone
	deadline := time.Now().Add(15 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatal("the process did not end after its terminal went away")
		}
		time.Sleep(100 * time.Millisecond)
	}
	records, _, err := audit.ReadAll(auditFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != 2 || records[1].Event != audit.EventOutcome || records[1].Result != audit.ResultUnknown || records[1].Comment != "dropped connection in flight" {
		t.Fatalf("want the intent and an unknown outcome, got %+v", records)
	}
	sent := srv.Sim.Requests(mdesim.EndpointCancel)
	reliability.Record(t, reliability.Row{Area: "process", Fault: "the terminal closes (dropped SSH: SIGHUP and no pty) while a cancel waits for an answer that never comes",
		Outcome: "the process ends by itself within 15 s; the audit trail has the intent and an outcome `unknown` with the comment", SentTwice: sent - 1})
}
