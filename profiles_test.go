package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/mde/audit"
	"github.com/mdeactions/mdeactions/mde/mdesim"
	"github.com/mdeactions/mdeactions/ui"
)

// driver runs a ui.Model the way the program does: every command in a
// goroutine, every message it returns fed back (timers and the cursor's
// blinking are dropped).
type driver struct {
	t *testing.T
	m tea.Model
}

func (d *driver) send(msg tea.Msg) {
	d.t.Helper()
	var cmd tea.Cmd
	d.m, cmd = d.m.Update(msg)
	d.run(cmd)
}

func (d *driver) run(cmd tea.Cmd) {
	d.t.Helper()
	if cmd == nil {
		return
	}
	ch := make(chan tea.Msg, 1)
	go func() { ch <- cmd() }()
	var msg tea.Msg
	select {
	case msg = <-ch:
	case <-time.After(2 * time.Second):
		return // a timer
	}
	switch msg := msg.(type) {
	case nil:
	case tea.BatchMsg:
		for _, c := range msg {
			d.run(c)
		}
	default:
		if strings.Contains(fmt.Sprintf("%T", msg), "cursor.") {
			return
		}
		d.send(msg)
	}
}

func (d *driver) keys(s ...string) {
	for _, k := range s {
		switch k {
		case "enter":
			d.send(tea.KeyPressMsg{Code: tea.KeyEnter})
		default:
			for _, r := range k {
				d.send(tea.KeyPressMsg{Code: r, Text: string(r)})
			}
		}
	}
}

func (d *driver) screen() string { return ansi.Strip(d.m.View().Content) }

// TestAllProfilesAgainstTwoSimulators opens every profile of a
// configuration file, the way --all-profiles and the P key do: two tenants
// on two simulators (one refuses every call), and a third profile of the
// same app and tenant as the first. The working tenant's rows show beside
// the failing one; a cancel goes to the tenant its action came from and is
// audited under its profile; profiles of one app and tenant share budgets.
func TestAllProfilesAgainstTwoSimulators(t *testing.T) {
	good, err := mdesim.Start(mdesim.Options{Seed: 5, Actions: 30, NoLimits: true})
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	bad, err := mdesim.Start(mdesim.Options{Seed: 6, Actions: 30, NoLimits: true,
		Authorize: func(*http.Request) (string, error) {
			return "", fmt.Errorf("%w: the app has no Machine.Read.All in this tenant", mdesim.ErrForbidden)
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()

	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.toml")
	conf := fmt.Sprintf(`default = "alpha"
[profiles.alpha]
api_url = %q
token_env = "TOKEN_A"
tenant = "alpha.example"
[profiles.beta]
api_url = %q
token_env = "TOKEN_B"
tenant = "beta.example"
[profiles.alpha-ro]
api_url = %q
token_env = "TOKEN_A"
tenant = "alpha.example"
read_only = true
`, good.URL, bad.URL, good.URL)
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TOKEN_A", "token-a")
	t.Setenv("TOKEN_B", "token-b")
	t.Setenv("XDG_STATE_HOME", filepath.Join(dir, "state"))
	auditPath := filepath.Join(dir, "state", "audit", "audit.jsonl")

	cmd, f := newRoot()
	args := []string{"--config", cfg, "--audit-file", auditPath, "--all-profiles", "--refresh", "0"}
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatal(err)
	}
	if err := applyProfile(cmd, f); err != nil {
		t.Fatal(err)
	}
	e, err := setup(cmd, *f, true)
	if err != nil {
		t.Fatal(err)
	}
	defer e.close()
	op := newTenantOpener(cmd, *f, e)
	defer op.close()
	tenants, err := op.Open(context.Background(), ui.AllProfiles)
	if err != nil || len(tenants) != 3 {
		t.Fatalf("Open(all): %d tenants, %v", len(tenants), err)
	}
	for _, tn := range tenants {
		if u, ok := tn.Service.(unusable); ok {
			t.Fatalf("profile %s could not be opened: %v", tn.Name, u.err)
		}
	}
	if len(op.pool.m) != 2 {
		t.Fatalf("%d budget sets for 3 profiles of 2 app-and-tenant pairs, want 2", len(op.pool.m))
	}

	d := &driver{t: t, m: ui.New(ui.Options{Tenants: tenants, Profile: ui.AllProfiles, Profiles: op, Mono: true, Timeout: 10 * time.Second})}
	d.send(tea.WindowSizeMsg{Width: 140, Height: 30})
	d.run(d.m.Init())
	open := 0
	for _, a := range good.Sim.Actions() {
		if a.Status.Open() {
			open++
		}
	}
	scr := d.screen()
	// alpha-ro reaches alpha's tenant: its actions show once, under alpha.
	for _, w := range []string{fmt.Sprintf("alpha %d open", open), "1 FAILED: beta", "alpha-ro same tenant as alpha", "(403)", "TENANT"} {
		if !strings.Contains(scr, w) {
			t.Fatalf("screen lacks %q:\n%s", w, scr)
		}
	}

	// The cursor's row: cancel it, and see where the call went.
	var row string
	for _, l := range strings.Split(d.screen(), "\n") {
		if strings.HasPrefix(l, ">") {
			row = l
		}
	}
	if !strings.HasPrefix(strings.TrimSpace(row[1:]), "alpha ") {
		t.Fatalf("the cursor is not on an alpha row: %q\n%s", row, d.screen())
	}
	d.keys("c")
	if !strings.Contains(d.screen(), "in tenant alpha") {
		t.Fatalf("the form does not name the tenant:\n%s", d.screen())
	}
	d.keys("wrong tenant check", "enter", "y")
	if n := good.Sim.Requests(mdesim.EndpointCancel); n != 1 {
		t.Fatalf("%d cancels reached alpha's API, want 1\n%s", n, d.screen())
	}
	if n := bad.Sim.Requests(mdesim.EndpointCancel); n != 0 {
		t.Fatalf("%d cancels reached beta's API", n)
	}
	recs, _, err := audit.ReadAll(auditPath)
	if err != nil || len(recs) != 2 {
		t.Fatalf("audit: %d records, %v", len(recs), err)
	}
	for _, r := range recs {
		if r.Profile != "alpha" || r.Tenant != "alpha.example" {
			t.Fatalf("audit record under profile %q tenant %q, want alpha", r.Profile, r.Tenant)
		}
	}
	var cancelled mde.MachineAction
	for _, a := range good.Sim.Actions() {
		if a.Status == mde.StatusCancelled && a.CancellationComment() == "wrong tenant check" {
			cancelled = a
		}
	}
	if cancelled.ID == "" || !strings.Contains(d.screen(), "Cancelled") {
		t.Fatalf("no action was cancelled with the comment:\n%s", d.screen())
	}

}
