package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mdeactions/mdeactions/mde/reliability"

	"github.com/charmbracelet/x/ansi"

	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/mde/audit"
	"github.com/mdeactions/mdeactions/mde/mdesim"
)

func TestMonochrome(t *testing.T) {
	env := func(v string) func(string) string { return func(string) string { return v } }
	for _, c := range []struct {
		flag bool
		env  string
		want bool
	}{{false, "", false}, {true, "", true}, {false, "1", true}, {false, "yes", true}, {false, "0", true}} {
		if got := monochrome(c.flag, env(c.env)); got != c.want {
			t.Fatalf("monochrome(%v, NO_COLOR=%q) = %v, want %v", c.flag, c.env, got, c.want)
		}
	}
}

func TestNoTokenExplainsWhatToDo(t *testing.T) {
	t.Setenv("MDE_TOKEN_FOR_TEST", "")
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"--token-env", "MDE_TOKEN_FOR_TEST"})
	err := cmd.Execute()
	if err == nil {
		t.Fatal("started without a token")
	}
	for _, w := range []string{"MDE_TOKEN_FOR_TEST", "mdeactions --demo", "Machine.Read.All"} {
		if !strings.Contains(err.Error(), w) {
			t.Fatalf("first-run message lacks %q:\n%v", w, err)
		}
	}
	if out.Len() != 0 {
		t.Fatalf("wrote to the terminal: %q", out.String())
	}
}

func TestBadAPIURLIsRefused(t *testing.T) {
	t.Setenv("MDE_TOKEN_FOR_TEST", "x")
	cmd := newRootCmd()
	cmd.SetArgs([]string{"--token-env", "MDE_TOKEN_FOR_TEST", "--api-url", "not a url"})
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "--api-url") {
		t.Fatalf("bad --api-url gave %v", err)
	}
}

func TestCancelsAreAuditedAndFailClosed(t *testing.T) {
	srv, err := mdesim.Start(mdesim.Options{Seed: 3, Actions: 30, NoLimits: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	client, err := mde.NewClient(srv.URL, nil, mde.StaticToken("t"))
	if err != nil {
		t.Fatal(err)
	}
	var open []mde.MachineAction
	for _, a := range srv.Sim.Actions() {
		if a.Status.Open() {
			open = append(open, a)
		}
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state", "audit.jsonl")
	l, err := audit.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	svc := newAuditedService(client, &trail{log: l}, func() audit.Context { return audit.Context{Tenant: "t1", Actor: "responder@contoso.com"} })
	if _, err := svc.List(ctx, mde.Query{}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Cancel(ctx, open[0].ID, "wrong device"); err != nil {
		t.Fatal(err)
	}
	records, skipped, err := audit.ReadAll(path)
	if err != nil || skipped != 0 || len(records) != 2 {
		t.Fatalf("audit trail: %d records, %d skipped, %v", len(records), skipped, err)
	}
	intent, outcome := records[0], records[1]
	if intent.Event != "intent" || outcome.Event != "outcome" || intent.Attempt != outcome.Attempt ||
		intent.Device != open[0].ComputerDNSName || intent.Type != string(open[0].Type) || intent.Actor != "responder@contoso.com" ||
		outcome.Status != "Cancelled" || outcome.Result != "cancelled" || outcome.HTTPStatus != 200 {
		t.Fatalf("records: %+v", records)
	}

	// No audit trail: the cancel is refused before anything is sent.
	before := srv.Sim.Requests(mdesim.EndpointCancel)
	closed := newAuditedService(client, nil, func() audit.Context { return audit.Context{} })
	_, err = closed.Cancel(ctx, open[1].ID, "x")
	if !errors.Is(err, audit.ErrAuditUnavailable) || srv.Sim.Requests(mdesim.EndpointCancel) != before {
		t.Fatalf("without an audit trail: %v, %d cancel requests sent", err, srv.Sim.Requests(mdesim.EndpointCancel)-before)
	}
	if a, _ := srv.Sim.Action(open[1].ID); a.Status == mde.StatusCancelled {
		t.Fatal("the action was cancelled without an audit record")
	}
	// The refusal says why the trail cannot be opened (the footer shows
	// it), and a fixed directory is used at the next cancel, no restart.
	dir := filepath.Join(t.TempDir(), "open")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	tr := &trail{path: filepath.Join(dir, "audit.jsonl")}
	fixable := newAuditedService(client, tr, func() audit.Context { return audit.Context{} })
	if _, err := fixable.Cancel(ctx, open[1].ID, "x"); !errors.Is(err, audit.ErrAuditUnavailable) || !strings.Contains(err.Error(), "chmod 700") ||
		srv.Sim.Requests(mdesim.EndpointCancel) != before {
		t.Fatalf("a 0755 directory: %v", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if a, err := fixable.Cancel(ctx, open[1].ID, "after the chmod"); err != nil || a.Status != mde.StatusCancelled {
		t.Fatalf("after the fix: %v, %v", a.Status, err)
	}
	_ = tr.opened().Close()
}

func runCmdArgs(t *testing.T, args ...string) (string, error) {
	t.Helper()
	if os.Getenv("XDG_STATE_HOME") == "" || !strings.HasPrefix(os.Getenv("XDG_STATE_HOME"), os.TempDir()) {
		t.Setenv("XDG_STATE_HOME", t.TempDir()) // logs and caches of the test stay in the test
	}
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

func TestVersionAuditAndSimCommands(t *testing.T) {
	if out, err := runCmdArgs(t, "version"); err != nil || !strings.HasPrefix(out, "mdeactions ") {
		t.Fatalf("version: %q, %v", out, err)
	}

	path := filepath.Join(t.TempDir(), "a", "audit.jsonl")
	if out, err := runCmdArgs(t, "audit", "--audit-file", path); err != nil || !strings.Contains(out, "No audit trail yet") {
		t.Fatalf("audit without a file: %q, %v", out, err)
	}
	l, err := audit.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	a := mde.MachineAction{ID: "a-1", Type: mde.TypeIsolate, ComputerDNSName: "ws-1\x1b]0;x\x07"}
	attempt, err := l.Intent(audit.Context{Actor: "alex@contoso.com"}, a, "why")
	if err != nil {
		t.Fatal(err)
	}
	done := a
	done.Status = mde.StatusCancelled
	if err := l.Outcome(audit.Context{Actor: "alex@contoso.com"}, attempt, a, done, nil); err != nil {
		t.Fatal(err)
	}
	l.Close()
	out, err := runCmdArgs(t, "audit", "--audit-file", path)
	if err != nil || strings.Count(out, "a-1") != 2 || !strings.Contains(out, "cancelled") || strings.Contains(out, "\x1b") {
		t.Fatalf("audit table:\n%s %v", out, err)
	}
	out, err = runCmdArgs(t, "audit", "--json", "--audit-file", path)
	if err != nil {
		t.Fatal(err)
	}
	recs, _, _ := audit.Parse(strings.NewReader(out))
	if len(recs) != 2 || recs[0].Event != "intent" || recs[1].Status != "Cancelled" {
		t.Fatalf("audit --json: %+v", recs)
	}

	if _, err := runCmdArgs(t, "sim", "--listen", "0.0.0.0:0"); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("sim on a public address: %v", err)
	}
	for shell, want := range map[string]string{"bash": "bash completion", "zsh": "#compdef mdeactions", "fish": "complete -c mdeactions"} {
		if out, err := runCmdArgs(t, "completion", shell); err != nil || !strings.Contains(out, want) {
			t.Fatalf("completion %s: %v\n%.200s", shell, err, out)
		}
	}
}

func TestLoginAndLogoutCommands(t *testing.T) {
	// An app mode signs in against the demo's fake Entra ID and says who.
	out, err := runCmdArgs(t, "--demo", "--auth", "secret", "login")
	if err != nil || !strings.Contains(out, "Signed in as") {
		t.Fatalf("login (secret): %v\n%s", err, out)
	}
	if out, err := runCmdArgs(t, "--demo", "logout"); err != nil || !strings.Contains(out, "saves no sign-in") {
		t.Fatalf("logout (demo): %v\n%s", err, out)
	}
	// Logout with nothing saved says so and succeeds.
	out, err = runCmdArgs(t, "--tenant", "contoso.onmicrosoft.com", "--client-id", "11111111-2222-3333-4444-555555555555", "logout")
	if err != nil || !strings.Contains(out, "Already signed out") {
		t.Fatalf("logout with nothing saved: %v\n%s", err, out)
	}
}

func TestListAndCancelCommands(t *testing.T) {
	out, err := runCmdArgs(t, "--demo", "--audit-file", filepath.Join(t.TempDir(), "state", "audit.jsonl"), "list", "-o", "json", "--filter", "type:isolate")
	if err != nil {
		t.Fatal(err)
	}
	// The JSON is the API's own shape: every key, explicit nulls, and it
	// decodes and encodes back to the same bytes.
	var got []mde.MachineAction
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got) == 0 {
		t.Fatalf("list -o json: %v\n%s", err, out)
	}
	var raw []map[string]json.RawMessage
	_ = json.Unmarshal([]byte(out), &raw)
	for _, key := range []string{"id", "type", "title", "requestor", "requestorComment", "status", "machineId", "computerDnsName",
		"creationDateTimeUtc", "lastUpdateDateTimeUtc", "cancellationRequestor", "cancellationComment", "cancellationDateTimeUtc",
		"errorHResult", "scope", "externalId", "requestSource", "relatedFileInfo", "commands", "troubleshootInfo"} {
		if _, ok := raw[0][key]; !ok {
			t.Fatalf("list -o json lacks %q", key)
		}
	}
	again, _ := json.MarshalIndent(got, "", "  ")
	if strings.TrimSpace(out) != string(again) {
		t.Fatal("list -o json does not round-trip")
	}
	for _, a := range got {
		if a.Type != mde.TypeIsolate || !a.Status.Open() {
			t.Fatalf("the filter let through %s %s", a.Type, a.Status)
		}
	}

	// cancel: ids from the arguments and from stdin; exit status says
	// whether every one ended Cancelled.
	cmd := newRootCmd()
	var buf bytes.Buffer
	cmd.SetOut(&buf)
	cmd.SetErr(&buf)
	cmd.SetIn(strings.NewReader(got[1].ID + "\n# a comment\n\n"))
	auditPath := filepath.Join(t.TempDir(), "state", "audit.jsonl") // Open makes "state" 0700
	cmd.SetArgs([]string{"--demo", "--audit-file", auditPath, "cancel", got[0].ID, "-", "--comment", "cli"})
	if err := cmd.Execute(); err != nil {
		t.Fatalf("cancel: %v\n%s", err, buf.String())
	}
	for _, id := range []string{got[0].ID, got[1].ID} {
		if !strings.Contains(buf.String(), id+"\tcancelled\tCancelled") {
			t.Fatalf("no result line for %s:\n%s", id, buf.String())
		}
	}
	if recs, _, _ := audit.ReadAll(auditPath); len(recs) != 4 {
		t.Fatalf("%d audit records for 2 cancels, want 4", len(recs))
	}
	// The same id twice against one API: the second run finds it already
	// Cancelled, which is what was asked (exit 0), and sends nothing.
	srv, err := mdesim.Start(mdesim.Options{Seed: 4, Actions: 20, NoLimits: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var openID string
	for _, a := range srv.Sim.Actions() {
		if a.Status.Open() {
			openID = a.ID
		}
	}
	t.Setenv("SIM_TOKEN", "any")
	for i, want := range []string{"\tcancelled\tCancelled", "\talready-final\tCancelled"} {
		out, err := runCmdArgs(t, "--api-url", srv.URL, "--token-env", "SIM_TOKEN", "--audit-file", auditPath, "cancel", openID, "--comment", "twice")
		if err != nil || !strings.Contains(out, openID+want) {
			t.Fatalf("cancel run %d: %v\n%s", i+1, err, out)
		}
	}
	if n := srv.Sim.Requests(mdesim.EndpointCancel); n != 1 {
		t.Fatalf("%d cancel requests for two runs, want 1", n)
	}
	if _, err := runCmdArgs(t, "--demo", "--audit-file", auditPath, "cancel", "no-such-id", "--comment", "x"); err == nil {
		t.Fatal("a failed cancel exited 0")
	}
	if _, err := runCmdArgs(t, "--demo", "cancel", got[2].ID); err == nil || !strings.Contains(err.Error(), "--comment is required") {
		t.Fatalf("cancel without a comment: %v", err)
	}
}

func TestInfoMasksSecretsAndLogsStayOffTheTerminal(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state")
	t.Setenv("XDG_STATE_HOME", state)
	t.Setenv("AZURE_CLIENT_SECRET", "SECRET-CANARY-42")
	out, err := runCmdArgs(t, "info")
	if err != nil || strings.Contains(out, "SECRET-CANARY-42") || !strings.Contains(out, "(hidden)") ||
		!strings.Contains(out, filepath.Join(state, "mdeactions", "mdeactions.log")) || !strings.Contains(out, "audit trail") {
		t.Fatalf("info:\n%s %v", out, err)
	}
	out, err = runCmdArgs(t, "--demo", "--debug", "list", "-o", "json")
	if err != nil || !strings.HasPrefix(strings.TrimSpace(out), "[") {
		t.Fatalf("list wrote more than its JSON to the terminal:\n%.300s %v", out, err)
	}
	path := filepath.Join(state, "mdeactions", "mdeactions.log")
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("log file: %v %v", fi, err)
	}
	if di, _ := os.Stat(filepath.Dir(path)); di.Mode().Perm() != 0o700 {
		t.Fatalf("log dir mode %v", di.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), "api request") || strings.Contains(string(b), "eyJ") || strings.Contains(string(b), "SECRET-CANARY") {
		t.Fatalf("log content:\n%s", b)
	}
}

func TestProfilesFromTheConfigurationFile(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfg, []byte(`default = "acme"
[profiles.acme]
tenant = "acme.onmicrosoft.com"
client_id = "11111111-2222-3333-4444-555555555555"
region = "eu"
[profiles.gov]
tenant = "gov.onmicrosoft.us"
cloud = "gcchigh"
read_only = true
`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AZURE_TENANT_ID", "")
	out, err := runCmdArgs(t, "--config", cfg, "info")
	if err != nil || !strings.Contains(out, "acme.onmicrosoft.com") || !strings.Contains(out, "https://eu.api.security.microsoft.com") {
		t.Fatalf("default profile:\n%s %v", out, err)
	}
	// Flags beat the environment, which beats the file.
	t.Setenv("AZURE_TENANT_ID", "from-env.example")
	out, _ = runCmdArgs(t, "--config", cfg, "--profile", "gov", "info")
	if !strings.Contains(out, "from-env.example") || !strings.Contains(out, "gcchigh") || !regexp.MustCompile(`read-only\s+true`).MatchString(out) {
		t.Fatalf("env over file:\n%s", out)
	}
	out, _ = runCmdArgs(t, "--config", cfg, "--profile", "gov", "--tenant", "flag.example", "info")
	if !strings.Contains(out, "flag.example") {
		t.Fatalf("flag over env:\n%s", out)
	}
	if _, err := runCmdArgs(t, "--config", cfg, "--profile", "nope", "info"); err == nil || !strings.Contains(err.Error(), `"acme", "gov"`) {
		t.Fatalf("unknown profile: %v", err)
	}
	bad := filepath.Join(dir, "bad.toml")
	_ = os.WriteFile(bad, []byte("[profiles.x]\ntenat = \"a\"\n"), 0o600)
	if _, err := runCmdArgs(t, "--config", bad, "info"); err == nil || !strings.Contains(err.Error(), "bad.toml:2") || !strings.Contains(err.Error(), `"tenat"`) {
		t.Fatalf("bad file: %v", err)
	}
}

func TestCSVCellsAreNotFormulas(t *testing.T) {
	for in, want := range map[string]string{"=HYPERLINK(\"x\")": "'=HYPERLINK(\"x\")", "+1": "'+1", "-cmd": "'-cmd", "@SUM(A1)": "'@SUM(A1)",
		"\tx": "'\tx", "ws-fin-01": "ws-fin-01", "": ""} {
		if got := csvSafe(in); got != want {
			t.Errorf("csvSafe(%q) = %q, want %q", in, got, want)
		}
	}
	reliability.Record(t, reliability.Row{Area: "hostile input", Fault: "a comment or device name starting with =, +, -, @ in list -o csv (formula injection)",
		Outcome: "the cell starts with an apostrophe: a spreadsheet shows text, never runs a formula"})
}

func TestColumnsLineUpAfterWideNames(t *testing.T) {
	var b bytes.Buffer
	if err := writeColumns(&b, [][]string{{"DEVICE", "REQUESTOR"}, {"会議室-pc01", "alex"}, {"📦-kiosk-03", "sam"}, {"ws-1", "li"}}); err != nil {
		t.Fatal(err)
	}
	var at []int
	for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		i := strings.LastIndex(l, "  ")
		at = append(at, ansi.StringWidth(l[:i+2]))
	}
	for _, c := range at {
		if c != at[0] {
			t.Fatalf("the second column starts at cells %v:\n%s", at, b.String())
		}
	}
}

// An API URL refused from the configuration file is named as the file
// names it, not as the flag the user never gave.
func TestRefusedAPIURLIsNamedWhereItWasGiven(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(cfg, []byte("[profiles.lab]\ntenant = \"lab.example\"\napi_url = \"http://api.lab.example\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MDE_TOKEN", "token-for-the-test")
	_, err := runCmdArgs(t, "--config", cfg, "--token-env", "MDE_TOKEN", "list")
	if err == nil || !strings.Contains(err.Error(), `api_url of profile "lab"`) || strings.Contains(err.Error(), "--api-url") {
		t.Fatalf("from the file: %v", err)
	}
	_, err = runCmdArgs(t, "--config", cfg, "--token-env", "MDE_TOKEN", "--api-url", "http://other.example", "list")
	if err == nil || !strings.HasPrefix(err.Error(), "--api-url:") {
		t.Fatalf("from the flag: %v", err)
	}
}

func TestListRefusesTheTenantFilter(t *testing.T) {
	_, err := runCmdArgs(t, "--demo", "list", "--filter", "tenant:contoso")
	if err == nil || !strings.Contains(err.Error(), "--profile NAME") {
		t.Fatalf("list --filter tenant: gave %v, want a pointer to --profile", err)
	}
}

func TestNoDefaultProfileAdvice(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(cfg, []byte("[profiles.a]\ntenant = \"a.example\"\n[profiles.b]\ntenant = \"b.example\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH"} {
		t.Setenv(k, "")
	}
	_, err := runCmdArgs(t, "--config", cfg, "list")
	if err == nil || !strings.Contains(err.Error(), "2 profiles (a, b) and no default") || !strings.Contains(err.Error(), "configuration file") {
		t.Fatalf("list with two profiles and no default: %v", err)
	}
	if strings.Contains(err.Error(), "--all-profiles") {
		t.Fatalf("list is offered --all-profiles, a flag it does not take: %v", err)
	}
}

// demoActions is what list -o json gives in the demo (at least two).
func demoActions(t *testing.T) []mde.MachineAction {
	t.Helper()
	out, err := runCmdArgs(t, "--demo", "list", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var got []mde.MachineAction
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got) < 2 {
		t.Fatalf("%d actions, %v", len(got), err)
	}
	return got
}

func TestListIsOldestFirstAsTheTUI(t *testing.T) {
	got := demoActions(t)
	for i := 1; i < len(got); i++ {
		if got[i].CreationDateTimeUtc.Time.Before(got[i-1].CreationDateTimeUtc.Time) {
			t.Fatalf("row %d (%s) is older than row %d (%s): not oldest first", i, got[i].CreationDateTimeUtc.Time, i-1, got[i-1].CreationDateTimeUtc.Time)
		}
	}
}

func TestInfoRefusesWhatListRefuses(t *testing.T) {
	for _, cmd := range []string{"info", "list"} {
		_, err := runCmdArgs(t, "--cloud", "gcchigh", "--region", "eu", "--token-env", "MDE_TOKEN", cmd)
		if err == nil || !strings.Contains(err.Error(), "--region is for the commercial cloud") {
			t.Errorf("%s with a region in GCC High: %v", cmd, err)
		}
	}
}

func TestSimRefusesLimitsWithNoLimits(t *testing.T) {
	_, err := runCmdArgs(t, "sim", "--limits", "5/1s", "--no-limits")
	if err == nil || !strings.Contains(err.Error(), "no-limits") {
		t.Fatalf("sim --limits with --no-limits: %v", err)
	}
}

func TestCancelOfAnIDGivenTwiceIsOneLineAndSucceeds(t *testing.T) {
	id := demoActions(t)[0].ID
	out, err := runCmdArgs(t, "--demo", "--audit-file", filepath.Join(t.TempDir(), "st", "audit.jsonl"), "cancel", id, strings.ToUpper(id), "--comment", "wrong host")
	if err != nil {
		t.Fatalf("cancel of one id given twice: %v\n%s", err, out)
	}
	if n := strings.Count(out, "\tcancelled\tCancelled"); n != 1 || strings.Contains(out, "duplicate") || !strings.Contains(out, "given more than once") {
		t.Fatalf("output:\n%s", out)
	}
}

func TestListCSVHasTheScope(t *testing.T) {
	out, err := runCmdArgs(t, "--demo", "list", "-o", "csv", "--filter", "type:scan")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("%d rows, %v", len(rows), err)
	}
	if rows[0][2] != "scope" {
		t.Fatalf("header %v", rows[0])
	}
	for _, r := range rows[1:] {
		if r[1] != "RunAntiVirusScan" || (r[2] != "Quick" && r[2] != "Full") {
			t.Fatalf("row %v: an AV scan without its scope", r)
		}
	}
}
