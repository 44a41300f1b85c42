package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mdeactions/mdeactions/mde/mdesim"
	"github.com/mdeactions/mdeactions/mde/reliability"
)

// jwtShape is any JSON Web Token: the demo's tokens are minted in the
// process, so the test looks for the shape of every one of them.
var jwtShape = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*`)

// checkNoSecret fails if text holds one of the secrets or a JWT.
func checkNoSecret(t *testing.T, where, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Fatalf("%s holds the secret %q…", where, s[:6])
		}
	}
	if m := jwtShape.FindString(text); m != "" {
		t.Fatalf("%s holds a token (%s…)", where, m[:12])
	}
}

// checkTree reads every file under dir (skipping skip) for the secrets and
// checks the modes: files 0600, directories 0700. It returns how many
// files it read.
func checkTree(t *testing.T, dir string, secrets ...string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != dir && info.Mode().Perm() != 0o700 {
				t.Errorf("directory %s has mode %v, want 0700", path, info.Mode().Perm())
			}
			return nil
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("file %s has mode %v, want 0600", path, info.Mode().Perm())
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		checkNoSecret(t, path, string(b), secrets...)
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSecretsNeverWritten runs the commands as a user would — the demo
// signed in with a client secret, and a bearer token from the environment
// against a simulator whose faults echo the Authorization header, expire
// the token and fail — with --debug logging, and searches every output and
// every file the tool wrote (log, audit trail; the token cache is
// excluded) for the secret and the tokens.
func TestSecretsNeverWritten(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state")
	t.Setenv("XDG_STATE_HOME", state)
	secret := "Zq8~client-secret-for-the-leak-test-7f3a9c"
	t.Setenv("AZURE_CLIENT_SECRET", secret)
	token := "eyJhbGciOiJub25lIn0.eyJsZWFrLXRlc3QiOnRydWV9.bGVhay10ZXN0LXNpZ25hdHVyZQ"
	t.Setenv("MDE_TOKEN_FOR_TEST", token)

	srv, err := mdesim.Start(mdesim.Options{Seed: 3, Actions: 20, NoLimits: true, Faults: []mdesim.Fault{
		{Kind: mdesim.FaultEchoAuth, Endpoint: mdesim.EndpointCancel, Times: 1},
		{Kind: mdesim.FaultStatus, Status: 503, Endpoint: mdesim.EndpointList, Times: 1},
		{Kind: mdesim.FaultExpire, Endpoint: mdesim.EndpointGet},
		{Kind: mdesim.FaultMalformed, Endpoint: mdesim.EndpointCancel, Times: 1},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	var open []string
	for _, a := range srv.Sim.Actions() {
		if !a.Status.Final() {
			open = append(open, a.ID)
		}
	}
	if len(open) < 3 {
		t.Fatalf("the simulated tenant has %d open actions", len(open))
	}
	auditFile := filepath.Join(state, "mdeactions", "audit.jsonl")
	env := []string{"--api-url", srv.URL, "--token-env", "MDE_TOKEN_FOR_TEST", "--debug"}
	runs := [][]string{
		{"--demo", "--auth", "secret", "--debug", "list"},
		{"--demo", "--auth", "secret", "--debug", "--audit-file", auditFile, "cancel", open[0], "--comment", "leak test"},
		{"--demo", "--auth", "secret", "info"},
		append([]string{"list", "-o", "json"}, env...),
		append([]string{"cancel", open[0], open[1], open[2], "--comment", "leak test"}, env...),
		{"audit", "--json"},
		{"info", "--token-env", "MDE_TOKEN_FOR_TEST"},
	}
	for _, args := range runs {
		out, _ := runCmdArgs(t, args...) // some fail on purpose (echoed header, expired token)
		checkNoSecret(t, "output of "+strings.Join(args, " "), out, secret, token)
	}
	if srv.Sim.Injected(mdesim.FaultEchoAuth) != 1 {
		t.Fatal("the echo fault did not run: the test proves nothing")
	}
	files := checkTree(t, state, secret, token)
	if files < 2 {
		t.Fatalf("only %d files written under %s: the log and the audit trail should be there", files, state)
	}
	reliability.Record(t, reliability.Row{Area: "secrets", Fault: "demo signed in with a client secret, and a bearer token against an API that echoes the Authorization header, expires the token, fails and garbles answers; --debug logging",
		Outcome: "neither the secret nor any token in stdout, stderr, the log or the audit trail; every file 0600, every directory 0700"})
}
