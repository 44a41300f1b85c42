package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/mde/mdesim"
	"github.com/mdeactions/mdeactions/mde/reliability"
)

// terminalUnsafe reports the first rune of s that could act on a terminal
// or reorder what is read.
func terminalUnsafe(s string) (rune, bool) {
	for _, r := range s {
		if r == 0x1b || r == 0x07 || r == 0x08 || r == '\r' || r == 0x7f || (r < 0x20 && r != '\n' && r != '\t') || (r >= 0x80 && r <= 0x9f) ||
			(r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0x200e || r == 0x200f {
			return r, true
		}
	}
	return 0, false
}

// TestCLIOutputsAreTerminalSafe: list (table, csv, json), cancel and audit
// print actions whose every text field carries escape sequences, C1 and
// bidi controls; nothing of it reaches stdout raw, and JSON keeps the data.
func TestCLIOutputsAreTerminalSafe(t *testing.T) {
	hostile := "\x1b]52;c;ZXZpbA==\x07\x1b]8;;https://evil.example\x1b\\\u009b2J\u202e\x1bPq\x1b\\"
	srv, err := mdesim.Start(mdesim.Options{Actions: -1, NoLimits: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	a := mde.MachineAction{ID: "a-1", Type: mde.ActionType("Isolate" + hostile), Status: mde.StatusPending, MachineID: "m" + hostile,
		ComputerDNSName: "ws" + hostile, Requestor: "soc" + hostile, RequestorComment: "why" + hostile}
	srv.Sim.Put(a)
	t.Setenv("MDE_TOKEN_FOR_TEST", "cli-hostile-token")
	dir := filepath.Join(t.TempDir(), "s")
	common := []string{"--api-url", srv.URL, "--token-env", "MDE_TOKEN_FOR_TEST", "--audit-file", filepath.Join(dir, "audit.jsonl")}
	for _, args := range [][]string{
		{"list"}, {"list", "-o", "csv"}, {"list", "-o", "json"},
		{"cancel", "a-1", "--comment", "IR-1" + hostile}, {"audit", "--audit-file", filepath.Join(dir, "audit.jsonl")},
		{"audit", "--json", "--audit-file", filepath.Join(dir, "audit.jsonl")},
	} {
		full := args
		if args[0] != "audit" {
			full = append(append([]string{}, args...), common...)
		}
		out, err := runCmdArgs(t, full...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		if r, bad := terminalUnsafe(out); bad {
			t.Fatalf("%v: %U reached the output:\n%q", args, r, out)
		}
		if !strings.Contains(out, "a-1") {
			t.Fatalf("%v: the action is missing:\n%s", args, out)
		}
		if len(args) == 3 && args[2] == "json" {
			var got []mde.MachineAction
			if err := json.Unmarshal([]byte(out), &got); err != nil || len(got) != 1 || got[0].ComputerDNSName != a.ComputerDNSName {
				t.Fatalf("JSON must keep the API's data exactly (escaped): %v %+v", err, got)
			}
		}
	}
	reliability.Record(t, reliability.Row{Area: "hostile input", Fault: "OSC 52, OSC 8, 8-bit CSI, DCS and bidi in every field, printed by `list` (table, csv, json), `cancel` and `audit` (table, json)",
		Outcome: "table and csv cleaned; JSON escapes C1 and bidi as \\uXXXX, so the data is exact and the terminal untouched", Terminal: "clean"})
}

func TestSimFaultFlag(t *testing.T) {
	_, err := runCmdArgs(t, "sim", "--listen", "127.0.0.1:0", "--fault", "lost-answer,on=cancel", "--fault", "boom")
	if err == nil || !strings.Contains(err.Error(), "--fault") || !strings.Contains(err.Error(), `unknown kind "boom"`) {
		t.Fatalf("a bad --fault must be refused in plain words before serving: %v", err)
	}
}
