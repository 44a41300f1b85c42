// Command mdeactions lists the Microsoft Defender for Endpoint machine
// actions that are still Pending or InProgress and cancels the wrong or stuck
// ones, from a terminal.
package main

import (
	"bufio"
	"cmp"
	"context"
	"crypto/rsa"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/charmbracelet/x/ansi"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/spf13/cobra"

	"github.com/mdeactions/mdeactions/auth"
	"github.com/mdeactions/mdeactions/auth/fakeentra"
	"github.com/mdeactions/mdeactions/auth/profile"
	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/mde/audit"
	"github.com/mdeactions/mdeactions/mde/bulk"
	"github.com/mdeactions/mdeactions/mde/mdesim"
	"github.com/mdeactions/mdeactions/mde/pace"
	"github.com/mdeactions/mdeactions/mde/textsafe"
	"github.com/mdeactions/mdeactions/ui"
	"github.com/mdeactions/mdeactions/ui/actiontable"
	"github.com/mdeactions/mdeactions/ui/filter"
	"github.com/mdeactions/mdeactions/ui/format"
	"github.com/mdeactions/mdeactions/ui/keys"
	"github.com/mdeactions/mdeactions/ui/signin"
	"github.com/mdeactions/mdeactions/ui/term"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// demoUser is who the demo's own token is for.
const demoUser = "responder@contoso.com"

// demoClientID is the client id of the demo's pretend app registration.
const demoClientID = "0d5c3a57-8e1f-4b6a-9c2d-3e4f5a6b7c8d"

type flags struct {
	demo          bool
	demoSeed      int64
	apiURL        string
	apiURLFrom    string // where apiURL was given, for its errors: "--api-url" unless a profile's api_url
	region        string
	cloud         string
	authorityHost string
	scope         string
	auth          string
	tenant        string
	clientID      string
	secretFile    string
	certificate   string
	miClientID    string
	tokenEnv      string
	noCache       bool
	readOnly      bool
	noColor       bool
	timeout       time.Duration
	refresh       time.Duration
	rateLimits    string
	auditFile     string
	logFile       string
	debug         bool
	config        string
	profileName   string
	allProfiles   bool
	keys          map[string][]string // key bindings from the profile
	// file is the configuration file read (nil: none), and base the flags
	// as given, before a profile was merged in: other profiles start
	// from them.
	file *profile.File
	base *flags
	// demoTenant is a demo profile's tenant ("" for the plain demo);
	// demoDenied gives the demo token no permission (a tenant that fails).
	demoTenant string
	demoDenied bool
}

// gcPercent is the default GOGC (the GOGC variable overrides it): the heap
// may grow a quarter past what is live before a collection, not double,
// which keeps a tenant of 100,000 open actions under 150 MB on a shared
// jump host (BENCHMARKS.md) for a little more collecting while a list
// loads. Nothing is collected while the screen is idle.
const gcPercent = 25

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	// SIGTERM, SIGHUP and SIGINT stop the run cleanly: terminal restored,
	// temporary files removed, cancels in flight settled in the audit trail.
	ctx, stop := term.SignalContext(context.Background())
	err := term.Explain(ctx, newRootCmd().ExecuteContext(ctx))
	stop()
	if err != nil {
		var setup *auth.SetupError
		if errors.As(err, &setup) && len(setup.Missing) > 0 {
			fmt.Fprintln(os.Stderr, err) // the first-run text speaks for itself
		} else {
			fmt.Fprintln(os.Stderr, "mdeactions:", err)
		}
		os.Exit(1)
	}
}

func newRootCmd() *cobra.Command {
	root, _ := newRoot()
	return root
}

// newRoot is the root command and the flags it fills in.
func newRoot() (*cobra.Command, *flags) {
	var f flags
	root := &cobra.Command{
		Use:   "mdeactions",
		Short: "See and cancel pending Defender for Endpoint machine actions",
		Long: "mdeactions lists the Microsoft Defender for Endpoint machine actions that are still\n" +
			"Pending or InProgress, and cancels the wrong or stuck ones with a comment.\n\n" +
			"Try it without a tenant: mdeactions --demo",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runTUI(cmd, f)
		},
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return applyProfile(cmd, &f)
		},
	}
	pf := root.PersistentFlags()
	pf.BoolVar(&f.demo, "demo", false, "run against a built-in simulator of the Defender API and a fake sign-in service (no tenant needed)")
	pf.Int64Var(&f.demoSeed, "demo-seed", 1, "seed of the demo tenant")
	pf.StringVar(&f.auth, "auth", "", "how to sign in: devicecode (default), secret, certificate, managed-identity, token-env")
	pf.StringVar(&f.cloud, "cloud", "commercial", "Defender cloud: commercial, gcc, gcchigh, dod")
	pf.StringVar(&f.region, "region", "", "commercial API region: us, eu, uk, au, swa, ina, aea, or legacy (api.securitycenter.microsoft.com)")
	pf.StringVar(&f.apiURL, "api-url", "", "base URL of the API (overrides --cloud and --region)")
	pf.StringVar(&f.authorityHost, "authority-host", "", "sign-in host (overrides the cloud's, e.g. https://login.microsoftonline.us)")
	pf.StringVar(&f.scope, "scope", "", "token scope (overrides the cloud's, e.g. https://api.securitycenter.microsoft.com/.default)")
	pf.StringVar(&f.tenant, "tenant", "", "Entra tenant id or domain (or AZURE_TENANT_ID)")
	pf.StringVar(&f.clientID, "client-id", "", "app registration's client id (or AZURE_CLIENT_ID)")
	pf.StringVar(&f.secretFile, "client-secret-file", "", "secret mode: file holding the client secret, when AZURE_CLIENT_SECRET is not set")
	pf.StringVar(&f.certificate, "certificate", "", "certificate mode: PEM with certificate and RSA key (or AZURE_CLIENT_CERTIFICATE_PATH)")
	pf.StringVar(&f.miClientID, "managed-identity-client-id", "", "managed-identity mode: client id of a user-assigned identity")
	pf.StringVar(&f.tokenEnv, "token-env", "", "environment variable holding a bearer token (implies --auth token-env)")
	pf.BoolVar(&f.noCache, "no-cache", false, "device code: keep tokens in memory only, write no cache file")
	pf.BoolVar(&f.readOnly, "read-only", false, "look only: the cancel key is not bound and the client refuses to POST")
	pf.BoolVar(&f.noColor, "no-color", false, "no colour (also: any non-empty NO_COLOR)")
	pf.DurationVar(&f.timeout, "timeout", 30*time.Second, "timeout of each API request")
	pf.StringVar(&f.rateLimits, "rate-limits", "100/1m,1500/1h", "the API's limits per endpoint, paced on our side (the demo's simulator enforces the same)")
	pf.StringVar(&f.auditFile, "audit-file", "", "append-only record of every cancel attempt (default $XDG_STATE_HOME/mdeactions/audit.jsonl; the demo uses a temporary one)")
	pf.StringVar(&f.config, "config", "", "configuration file with profiles (default $MDEACTIONS_CONFIG, else $XDG_CONFIG_HOME/mdeactions/config.toml)")
	pf.StringVar(&f.profileName, "profile", "", "the profile to use (default: the file's default, or its only profile)")
	_ = root.RegisterFlagCompletionFunc("profile", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return profileNames(f.config, f.demo), cobra.ShellCompDirectiveNoFileComp
	})
	for name, values := range map[string][]string{
		"auth": {"devicecode", "secret", "certificate", "managed-identity", "token-env"}, "cloud": {"commercial", "gcc", "gcchigh", "dod"},
		"region": {"us", "eu", "uk", "au", "swa", "ina", "aea", "legacy"},
	} {
		_ = root.RegisterFlagCompletionFunc(name, cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp))
	}
	root.Flags().BoolVar(&f.allProfiles, "all-profiles", false, "start with every profile's tenant in one list (P switches inside the TUI)")
	pf.StringVar(&f.logFile, "log-file", "", "where the log goes (default $XDG_STATE_HOME/mdeactions/mdeactions.log); nothing is logged to the terminal")
	pf.BoolVar(&f.debug, "debug", false, "log every API request, not only the failed ones")
	pf.DurationVar(&f.refresh, "refresh", 30*time.Second, "reload the list this often (at least 10s; 0 turns it off)")

	root.AddCommand(&cobra.Command{
		Use:   "login",
		Short: "Sign in (device code) and save the sign-in, then exit",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runLogin(cmd, f)
		},
	}, &cobra.Command{
		Use:   "logout",
		Short: "Forget the saved sign-in: remove the account and the token cache file",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runLogout(cmd, f)
		},
	}, &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), "mdeactions", version)
		},
	}, newAuditCmd(&f), newSimCmd(), newListCmd(&f), newCancelCmd(&f), newInfoCmd(&f))
	return root, &f
}

// newInfoCmd prints every path the tool uses and the effective settings,
// secrets masked.
func newInfoCmd(f *flags) *cobra.Command {
	return &cobra.Command{
		Use:   "info",
		Short: "Show the paths the tool uses and the effective settings (secrets masked)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
			row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
			row("version", version)
			switch {
			case f.demo:
				row("configuration", "(none: the demo reads no file)")
			case f.file != nil:
				row("configuration", f.file.Path)
			}
			row("profile", orDefault(f.profileName, "(none: flags and environment only)"))
			if names := f.file.Names(); len(names) > 0 {
				row("profiles", strings.Join(names, ", "))
			}
			cloud, err := auth.LookupCloud(f.cloud)
			if err != nil {
				return err
			}
			apiBase, err := apiBaseOf(*f, cloud)
			if err != nil {
				return err
			}
			row("cloud", cloud.Name)
			row("sign-in host", orDefault(f.authorityHost, cloud.AuthorityHost))
			row("token scope", orDefault(f.scope, cloud.Scope))
			mode := orDefault(cfgMode(*f), "devicecode")
			if f.demo {
				apiBase = "the built-in simulator (a loopback port, while it runs)"
				if cfgMode(*f) == "" {
					mode = "none: the demo mints a token for " + demoUser
				} else {
					mode += " (against the demo's fake sign-in service)"
				}
			}
			row("API", apiBase)
			row("auth mode", mode)
			if f.demo && cfgMode(*f) == "" {
				row("tenant", f.demoTenant+" (simulated)")
			} else {
				row("tenant", orEnv(f.tenant, "AZURE_TENANT_ID"))
			}
			row("client id", orEnv(f.clientID, "AZURE_CLIENT_ID"))
			secret := "(not set)"
			if os.Getenv("AZURE_CLIENT_SECRET") != "" {
				secret = "set in AZURE_CLIENT_SECRET (hidden)"
				if mode != string(auth.ModeSecret) {
					secret += "; not used: the auth mode is " + mode
				}
			}
			if f.secretFile != "" {
				secret = "in " + f.secretFile + " (hidden)"
			}
			row("client secret", secret)
			row("certificate", orEnv(f.certificate, "AZURE_CLIENT_CERTIFICATE_PATH"))
			if cfgMode(*f) == string(auth.ModeTokenEnv) {
				row("token variable", orDefault(f.tokenEnv, auth.DefaultTokenEnv)+" (value hidden)")
			}
			dir, err := stateDir()
			if err != nil {
				dir = "(unknown: " + err.Error() + ")"
			}
			row("token cache dir", dir)
			if p, err := logPath(*f); err == nil {
				row("log file", p)
			}
			auditPath := f.auditFile
			switch {
			case auditPath == "" && f.demo:
				auditPath = "a temporary file of the demo's own (named when it exits)"
			case auditPath == "":
				auditPath, _ = audit.DefaultPath()
			}
			row("audit trail", auditPath)
			row("rate limits", f.rateLimits)
			row("refresh", f.refresh.String())
			row("read-only", strconv.FormatBool(f.readOnly))
			return tw.Flush()
		},
	}
}

// newListCmd lists actions without the TUI.
func newListCmd(f *flags) *cobra.Command {
	var output, filterText string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List machine actions (Pending and InProgress unless --filter says otherwise)",
		Example: `  mdeactions list --filter "type:isolate age>2h"
  mdeactions list --output json --filter status:all`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			spec, err := filter.Parse(filterText)
			if err != nil {
				return fmt.Errorf("--filter: %w", err)
			}
			if spec.Tenant != "" {
				return errors.New("--filter: tenant: is for the TUI's all-profiles view; list reads one profile's tenant: pick it with --profile NAME")
			}
			if output != "table" && output != "json" && output != "csv" {
				return fmt.Errorf("--output %q: use table, json or csv", output)
			}
			e, client, _, err := commandClient(cmd, *f)
			if err != nil {
				return err
			}
			defer e.close()
			now := time.Now()
			actions, err := client.List(cmd.Context(), spec.Query(now))
			if err != nil {
				return err
			}
			// The client-side part of the filter, as in the TUI.
			kept := actions[:0]
			for _, a := range actions {
				if r := actiontable.NewRow(a); spec.Match(&r, now) {
					kept = append(kept, a)
				}
			}
			// Oldest first, as the TUI lists them: the stuck ones on top.
			slices.SortStableFunc(kept, func(a, b mde.MachineAction) int {
				at, bt := a.CreationDateTimeUtc.Time, b.CreationDateTimeUtc.Time
				if az, bz := at.IsZero(), bt.IsZero(); az || bz { // unknown times last
					return cmp.Compare(boolInt(az), boolInt(bz))
				}
				return at.Compare(bt)
			})
			return writeActions(cmd.OutOrStdout(), output, kept, now)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table, json (the API's fields) or csv")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"table", "json", "csv"}, cobra.ShellCompDirectiveNoFileComp))
	cmd.Flags().StringVar(&filterText, "filter", "", "the TUI's filter syntax, e.g. \"status:pending type:isolate device:ws-fin age>2h\"")
	return cmd
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func writeActions(w io.Writer, output string, actions []mde.MachineAction, now time.Time) error {
	switch output {
	case "json":
		if actions == nil {
			actions = []mde.MachineAction{}
		}
		b, err := json.MarshalIndent(actions, "", "  ")
		if err != nil {
			return err
		}
		_, err = w.Write(append(textsafe.JSON(b), '\n')) // C1 and bidi controls escaped, data unchanged
		return err
	case "csv":
		cw := csv.NewWriter(w)
		_ = cw.Write([]string{"id", "type", "scope", "status", "computerDnsName", "machineId", "requestor", "requestorComment", "creationDateTimeUtc", "lastUpdateDateTimeUtc"})
		for _, a := range actions {
			row := []string{a.ID, string(a.Type), string(a.Scope), string(a.Status), a.ComputerDNSName, a.MachineID, a.Requestor, a.RequestorComment,
				stamp(a.CreationDateTimeUtc), stamp(a.LastUpdateDateTimeUtc)}
			for i := range row {
				row[i] = csvSafe(textsafe.Clean(row[i])) // a spreadsheet or a terminal reads it
			}
			_ = cw.Write(row)
		}
		cw.Flush()
		return cw.Error()
	}
	rows := [][]string{{"ID", "TYPE", "STATUS", "DEVICE", "REQUESTOR", "AGE", "COMMENT"}}
	for _, a := range actions {
		rows = append(rows, []string{textsafe.Clean(a.ID), format.TypeName(a), format.Status(a.Status), format.Device(a),
			textsafe.Clean(a.Requestor), format.Age(now, a.CreationDateTimeUtc), textsafe.Clean(a.RequestorComment)})
	}
	return writeColumns(w, rows)
}

// writeColumns writes rows as columns two spaces apart, measured in
// terminal cells (tabwriter counts runes, so a CJK or emoji device name
// would push the rest of its line out of line).
func writeColumns(w io.Writer, rows [][]string) error {
	var widths []int
	for _, r := range rows {
		for i, c := range r {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], ansi.StringWidth(c))
		}
	}
	var b strings.Builder
	for _, r := range rows {
		b.Reset()
		for i, c := range r {
			b.WriteString(c)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-ansi.StringWidth(c)+2))
			}
		}
		b.WriteByte('\n')
		if _, err := io.WriteString(w, b.String()); err != nil {
			return err
		}
	}
	return nil
}

// csvSafe keeps a spreadsheet from reading a cell as a formula: a value
// that starts with =, +, -, @, a tab or a carriage return gets a leading
// apostrophe (the OWASP advice for CSV injection). Device names and
// comments come from hosts that may be compromised.
func csvSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

func stamp(t mde.Timestamp) string {
	if t.IsZero() {
		return ""
	}
	return t.Time.UTC().Format(mde.TimeLayout)
}

// newCancelCmd cancels actions without the TUI, with the same pacing,
// verification and audit trail.
func newCancelCmd(f *flags) *cobra.Command {
	var comment string
	cmd := &cobra.Command{
		Use:   "cancel ID... --comment TEXT",
		Short: "Cancel machine actions by id (ids also from stdin, one per line, with -); exit 0 only if every one ends Cancelled",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			comment = strings.TrimSpace(textsafe.Clean(comment))
			if comment == "" {
				return errors.New("--comment is required: say why these actions are cancelled (it goes into each action's record)")
			}
			ids, err := readIDs(cmd.InOrStdin(), args)
			if err != nil {
				return err
			}
			if f.readOnly {
				return errors.New("cancel refused: read-only (--read-only, or read_only = true in the profile)")
			}
			ids = uniqueIDs(cmd.ErrOrStderr(), ids)
			e, client, budgets, err := commandClient(cmd, *f)
			if err != nil {
				return err
			}
			defer e.close()
			svc := newService(*f, e, client, openAudit(cmd, *f, e))
			// What is known of each action (type, device, state), for the
			// audit trail and to skip what is already final.
			known, err := svc.List(cmd.Context(), mde.Query{IDs: ids})
			if err != nil {
				return err
			}
			byID := map[string]mde.MachineAction{}
			for _, a := range known {
				byID[strings.ToLower(a.ID)] = a
			}
			actions := make([]mde.MachineAction, len(ids))
			for i, id := range ids {
				a, ok := byID[strings.ToLower(id)]
				if !ok {
					a = mde.MachineAction{ID: id}
				}
				actions[i] = a
			}
			job := bulk.Start(cmd.Context(), svc, actions, comment, budgets.bulkOptions(known))
			out, failed := cmd.OutOrStdout(), 0
			for ev := range job.Events() {
				switch ev.Kind {
				case bulk.Done:
					line := fmt.Sprintf("%s\t%s\t%s", textsafe.Clean(ev.ID), outcomeWord(ev.Outcome), format.Status(ev.Action.Status))
					if ev.Err != nil {
						line += "\t" + textsafe.Clean(ev.Err.Error())
					}
					fmt.Fprintln(out, line)
					// What counts is how the action ended: one already
					// Cancelled (a second run of the same list) is fine.
					if ev.Action.Status != mde.StatusCancelled {
						failed++
					}
				case bulk.Waiting:
					if ev.Err != nil {
						fmt.Fprintf(cmd.ErrOrStderr(), "mdeactions: throttled by the API; resuming at %s\n", ev.Until.Local().Format("15:04:05"))
					}
				case bulk.Finished:
					if ev.Err != nil {
						fmt.Fprintln(cmd.ErrOrStderr(), "mdeactions:", textsafe.Clean(ev.Err.Error()))
						failed++
					}
				case bulk.Verified:
					for _, c := range ev.Changes {
						fmt.Fprintf(cmd.ErrOrStderr(), "mdeactions: also changed on %s: %s %s -> %s\n", format.Device(c.After),
							format.TypeName(c.After), format.Status(c.Before.Status), format.Status(c.After.Status))
					}
				}
			}
			if failed > 0 {
				return fmt.Errorf("%d of %d actions did not end Cancelled", failed, len(ids))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&comment, "comment", "", "why (required; goes into each action's record)")
	return cmd
}

func outcomeWord(o bulk.Outcome) string {
	switch o {
	case bulk.Cancelled:
		return "cancelled"
	case bulk.SkippedFinal:
		return "already-final"
	case bulk.Duplicate:
		return "duplicate"
	case bulk.Aborted:
		return "not-sent"
	case bulk.Unknown:
		return "unknown"
	}
	return "failed"
}

// uniqueIDs drops an id given again (in any case), saying so on w: each
// action gets one line and one cancel.
func uniqueIDs(w io.Writer, ids []string) []string {
	seen := map[string]bool{}
	out := ids[:0:0]
	for _, id := range ids {
		k := strings.ToLower(id)
		if seen[k] {
			fmt.Fprintf(w, "mdeactions: %s is given more than once: it is cancelled once\n", textsafe.Clean(id))
			continue
		}
		seen[k] = true
		out = append(out, id)
	}
	return out
}

// readIDs takes the ids from the arguments; "-" reads more from r, one
// per line (blank lines and # comments skipped).
func readIDs(r io.Reader, args []string) ([]string, error) {
	var ids []string
	for _, a := range args {
		if a != "-" {
			ids = append(ids, strings.TrimSpace(a))
			continue
		}
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line != "" && !strings.HasPrefix(line, "#") {
				ids = append(ids, line)
			}
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("reading ids from stdin: %w", err)
		}
	}
	if len(ids) == 0 {
		return nil, errors.New("no action ids given")
	}
	return ids, nil
}

// newAuditCmd shows the audit trail.
func newAuditCmd(f *flags) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Show the audit trail of cancel attempts (a table, or --json)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path := f.auditFile
			if path == "" {
				p, err := audit.DefaultPath()
				if err != nil {
					return err
				}
				path = p
			}
			records, skipped, err := audit.ReadAll(path)
			if errors.Is(err, fs.ErrNotExist) {
				fmt.Fprintf(cmd.OutOrStdout(), "No audit trail yet at %s: no cancel was attempted.\n", path)
				return nil
			}
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				for _, r := range records {
					b, err := json.Marshal(r)
					if err != nil {
						return err
					}
					fmt.Fprintf(out, "%s\n", textsafe.JSON(b))
				}
			} else {
				rows := [][]string{{"TIME (UTC)", "EVENT", "PROFILE", "TENANT", "ACTION", "TYPE", "DEVICE", "ACTOR", "RESULT", "STATUS", "REQUEST ID", "COMMENT"}}
				for _, r := range records {
					rows = append(rows, []string{r.Time.UTC().Format("2006-01-02 15:04:05"), r.Event,
						orDefault(textsafe.Clean(r.Profile), "-"), orDefault(textsafe.Clean(r.Tenant), "-"), textsafe.Clean(r.ActionID),
						textsafe.Clean(r.Type), textsafe.Clean(r.Device), textsafe.Clean(r.Actor), r.Result, textsafe.Clean(r.Status),
						textsafe.Clean(r.RequestID), textsafe.Clean(r.Comment)})
				}
				if err := writeColumns(out, rows); err != nil {
					return err
				}
			}
			if skipped > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "mdeactions: %d unreadable lines of %s were skipped\n", skipped, path)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON record per line")
	return cmd
}

// newSimCmd runs the simulator alone, for scripts and other tools.
func newSimCmd() *cobra.Command {
	var (
		listen   string
		seed     int64
		size     int
		limits   string
		noLimits bool
		faults   []string
		speed    float64
	)
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Serve the simulator of the machine-actions API on a loopback address (any bearer token is accepted)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			host, _, err := net.SplitHostPort(listen)
			if err != nil {
				return fmt.Errorf("--listen: %w", err)
			}
			if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
				return fmt.Errorf("--listen %s: the simulator serves loopback addresses only (127.0.0.1, ::1)", listen)
			}
			opts := mdesim.Options{Seed: seed, Actions: size, NoLimits: noLimits}
			switch {
			case speed < 0:
				return fmt.Errorf("--clock-speed %g: use 0 (stopped), 1 (real time) or more", speed)
			case speed != 1:
				opts.Clock = mdesim.NewScaledClock(speed)
			}
			for _, spec := range faults {
				fault, err := mdesim.ParseFault(spec)
				if err != nil {
					return fmt.Errorf("--fault: %w", err)
				}
				opts.Faults = append(opts.Faults, fault)
			}
			if !noLimits {
				parsed, err := pace.ParseLimits(limits)
				if err != nil {
					return fmt.Errorf("--limits: %w", err)
				}
				for _, l := range parsed {
					opts.Limits = append(opts.Limits, mdesim.Limit{Count: l.Count, Window: l.Window})
				}
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Simulator listening on http://%s (seed %d); try: MDE_TOKEN=x mdeactions --api-url http://%s --token-env MDE_TOKEN\n", ln.Addr(), seed, ln.Addr())
			srv := &http.Server{Handler: mdesim.New(opts), ReadHeaderTimeout: 10 * time.Second}
			go func() {
				<-cmd.Context().Done()
				_ = srv.Close()
			}()
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&listen, "listen", "127.0.0.1:8080", "loopback address and port")
	fl.Int64Var(&seed, "seed", 1, "tenant seed")
	fl.IntVar(&size, "size", 0, "number of actions (0: 400)")
	fl.StringVar(&limits, "limits", "100/1m,1500/1h", "rate limits per endpoint")
	fl.BoolVar(&noLimits, "no-limits", false, "no rate limits")
	fl.Float64Var(&speed, "clock-speed", 1, "how fast the simulated clock runs (lifecycle and rate-limit windows): 0 stops it, 60 makes a minute a second")
	fl.StringArrayVar(&faults, "fault", nil, "inject a fault, repeatable: KIND[=ARG][,on=list|get|cancel][,times=N][,after=N]; KIND is latency=D, reset, hang, 500, 502, 503, 429=D, 429-date=D, malformed, truncated, expire-token, lost-answer, echo-auth")
	cmd.MarkFlagsMutuallyExclusive("limits", "no-limits")
	return cmd
}

// applyProfile fills the flags the user did not set from the environment
// and then from the selected profile of the configuration file: flags
// override the environment, which overrides the file.
func applyProfile(cmd *cobra.Command, f *flags) error {
	if f.demo {
		return demoProfile(f)
	}
	path := f.config
	explicit := path != "" || os.Getenv("MDEACTIONS_CONFIG") != ""
	if path == "" {
		p, err := profile.DefaultPath(os.Getenv)
		if err != nil {
			return nil // no home directory: no file, flags and environment only
		}
		path = p
	}
	if explicit {
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("configuration file: %w", err)
		}
	}
	file, err := profile.Load(path)
	if err != nil {
		return err
	}
	chosen, err := file.Select(f.profileName)
	if err != nil {
		return fmt.Errorf("--profile: %w", err)
	}
	base := *f
	f.file, f.base = file, &base
	if f.profileName == "" {
		f.profileName = file.Default
		if f.profileName == "" && len(file.Profiles) == 1 {
			f.profileName = file.Names()[0]
		}
	}
	for _, w := range mergeProfile(cmd, f, chosen, false) {
		fmt.Fprintln(cmd.ErrOrStderr(), "mdeactions: note:", w)
	}
	return nil
}

// profileNames are the profiles a shell completes for --profile.
func profileNames(config string, demo bool) []string {
	if demo {
		return demoProfiles
	}
	if config == "" {
		p, err := profile.DefaultPath(os.Getenv)
		if err != nil {
			return nil
		}
		config = p
	}
	file, err := profile.Load(config)
	if err != nil {
		return nil
	}
	return file.Names()
}

// demoProfile picks one of the demo's own profiles: the demo reads no
// configuration file (its tenants are simulated, whatever the file says).
func demoProfile(f *flags) error {
	if f.profileName == "" {
		f.profileName = demoProfiles[0]
	}
	i := slices.Index(demoProfiles, f.profileName)
	if i < 0 {
		return fmt.Errorf("--profile %q: the demo reads no configuration file; its profiles are %s", f.profileName, strings.Join(demoProfiles, ", "))
	}
	base := *f
	f.base = &base
	f.demoTenant, f.demoSeed, f.demoDenied = f.profileName, f.demoSeed+int64(i), f.profileName == "northwind"
	return nil
}

// mergeProfile puts the profile under the flags given and the environment,
// and returns the notes on environment variables that override it.
// With own, the profile is opened beside others: what it sets wins
// (profile.MergeOwn).
func mergeProfile(cmd *cobra.Command, f *flags, chosen profile.Profile, own bool) []string {
	fl := cmd.Flags()
	set := func(name string) bool { return fl.Changed(name) }
	given := profile.Profile{Tenant: f.tenant, ClientID: f.clientID, Cloud: f.cloud, Region: f.region, APIURL: f.apiURL,
		Auth: f.auth, Certificate: f.certificate, SecretFile: f.secretFile, TokenEnv: f.tokenEnv}
	if fl.Changed("read-only") {
		given.ReadOnly = &f.readOnly
	}
	if fl.Changed("refresh") {
		given.Refresh = &profile.Duration{Duration: f.refresh}
	}
	var notes []string
	var p profile.Profile
	if own {
		p = profile.MergeOwn(chosen, os.Getenv, given, set)
	} else {
		notes = profile.EnvOverrides(chosen, os.Getenv, given, set)
		p = profile.Merge(chosen, os.Getenv, given, set)
	}
	if p.APIURL != "" && p.APIURL == chosen.APIURL && !(set("api-url") && f.apiURL == p.APIURL) {
		f.apiURLFrom = fmt.Sprintf("api_url of profile %q", chosen.Name)
	}
	f.tenant, f.clientID, f.region, f.apiURL = p.Tenant, p.ClientID, p.Region, p.APIURL
	f.auth, f.certificate, f.secretFile, f.tokenEnv = p.Auth, p.Certificate, p.SecretFile, p.TokenEnv
	if p.Cloud != "" {
		f.cloud = p.Cloud
	}
	if p.ReadOnly != nil {
		f.readOnly = *p.ReadOnly
	}
	if p.Refresh != nil {
		f.refresh = p.Refresh.Duration
	}
	f.keys = p.Keys
	return notes
}

// env is what a run has set up: the token source, the API base, and what
// to close at the end.
type env struct {
	log      *slog.Logger // nil: no log file could be opened
	cfg      auth.Config
	limits   []pace.Limit
	source   auth.Source // nil in the demo without --auth
	tokens   mde.TokenSource
	apiBase  string
	about    string // for the sign-in screen: cloud, tenant, client id
	hc       *http.Client
	warnings *warnings
	closers  []func()
}

func (e *env) close() {
	for i := len(e.closers) - 1; i >= 0; i-- {
		e.closers[i]()
	}
}

// warnings collects what the auth layer warns about while the TUI owns the
// terminal; they are printed after it exits.
type warnings struct {
	mu   sync.Mutex
	list []string
	out  io.Writer
	hold bool
	ui   chan string // while held, warnings also go to the TUI's footer
}

func (w *warnings) add(s string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.hold {
		w.list = append(w.list, s)
		select {
		case w.ui <- s:
		default: // the footer is behind; the list still has it
		}
		return
	}
	fmt.Fprintln(w.out, "mdeactions: warning:", s)
}

func (w *warnings) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, s := range w.list {
		fmt.Fprintln(w.out, "mdeactions: warning:", s)
	}
	w.list, w.hold = nil, false
}

// apiBaseOf is the API's base URL: the cloud's, its region's (commercial
// only), or --api-url.
func apiBaseOf(f flags, cloud auth.Cloud) (string, error) {
	base := cloud.APIBase
	if f.region != "" {
		if cloud.Name != "commercial" {
			return "", fmt.Errorf("--region is for the commercial cloud; %s has one API host (%s)", cloud.Name, cloud.APIBase)
		}
		var err error
		if base, err = auth.RegionalAPIBase(f.region); err != nil {
			return "", fmt.Errorf("--region: %w", err)
		}
	}
	if f.apiURL != "" {
		base = f.apiURL
	}
	return base, nil
}

// setup turns the flags into a token source and an API base URL.
// With source false it stops before building the token source (logout
// needs only the configuration: it must work even on a cache New refuses).
func setup(cmd *cobra.Command, f flags, source bool) (*env, error) {
	return setupWith(cmd, f, source, &warnings{out: cmd.ErrOrStderr(), ui: make(chan string, 16)})
}

// setupWith is setup with the warnings of a run already under way (another
// profile opened inside the TUI warns in the same footer).
func setupWith(cmd *cobra.Command, f flags, source bool, w *warnings) (*env, error) {
	e := &env{warnings: w}
	limits, err := pace.ParseLimits(f.rateLimits)
	if err != nil {
		return nil, fmt.Errorf("--rate-limits: %w", err)
	}
	e.limits = limits
	e.log = openLog(f, e)
	transport := http.DefaultTransport.(*http.Transport).Clone() // keeps HTTPS_PROXY
	e.hc = &http.Client{Transport: transport, Timeout: f.timeout + 5*time.Second}

	mode := cfgMode(f)
	cloud, err := auth.LookupCloud(f.cloud)
	if err != nil {
		return nil, fmt.Errorf("--cloud: %w", err)
	}
	discoveryOff := false
	if f.authorityHost != "" {
		cloud.AuthorityHost = f.authorityHost
		// MSAL validates an unknown sign-in host with Microsoft's instance
		// discovery (on login.microsoftonline.com): for a host of one's own
		// that would both fail and leave the network the user chose.
		discoveryOff = !knownLoginHost(f.authorityHost)
	}
	if f.scope != "" {
		cloud.Scope = f.scope
	}
	if e.apiBase, err = apiBaseOf(f, cloud); err != nil {
		return nil, err
	}
	cfg := auth.Config{
		Mode:                    auth.Mode(mode),
		Cloud:                   cloud,
		TenantID:                f.tenant,
		ClientID:                f.clientID,
		SecretFile:              f.secretFile,
		CertificatePath:         f.certificate,
		ManagedIdentityClientID: f.miClientID,
		TokenEnv:                f.tokenEnv,
		NoCache:                 f.noCache,
		// A timeout of its own: MSAL's 30 s applies only to requests whose
		// context has no deadline, and device-code polling has one.
		HTTPClient:               &http.Client{Transport: transport, Timeout: 60 * time.Second},
		DisableInstanceDiscovery: discoveryOff,
		Warn:                     e.warnings.add,
	}

	if f.demo {
		if err := setupDemo(e, f, &cfg, mode); err != nil {
			e.close()
			return nil, err
		}
		if mode == "" {
			return e, nil
		}
	}
	e.cfg = cfg
	if !source {
		return e, nil
	}
	src, err := auth.New(cfg)
	if err != nil {
		e.close()
		var se *auth.SetupError
		if names := f.file.Names(); errors.As(err, &se) && f.profileName == "" && len(names) > 1 {
			every := "" // only the TUI shows every tenant at once
			if cmd == cmd.Root() {
				every = ", or see every tenant with --all-profiles"
			}
			return nil, fmt.Errorf("%w\n\n%s has %d profiles (%s) and no default: pick one with --profile NAME or put default = \"NAME\" in the file%s",
				err, f.file.Path, len(names), strings.Join(names, ", "), every)
		}
		return nil, err
	}
	e.source, e.tokens = src, src
	if auth.Mode(mode) == auth.ModeTokenEnv {
		// Reading the variable costs nothing: say now, not after the TUI
		// started, that it is empty.
		if _, err := src.Token(cmd.Context()); err != nil {
			e.close()
			return nil, fmt.Errorf("%s\nThe token needs Machine.Read.All (or Machine.ReadWrite.All) to list, and a Machine.* action permission (Machine.Isolate, Machine.Scan, …) to cancel", auth.Explain(err))
		}
	}
	if e.about == "" {
		e.about = fmt.Sprintf("%s cloud · tenant %s · client id %s", cloud.Name, orEnv(f.tenant, "AZURE_TENANT_ID"), orEnv(f.clientID, "AZURE_CLIENT_ID"))
	}
	return e, nil
}

// setupDemo starts the fake sign-in service and the API simulator in this
// process. The simulator checks every token the way the real API does,
// against the fake's signing key. Without --auth the demo mints a token for
// a responder; with --auth devicecode (or another mode) the real MSAL code
// signs in against the fake.
func setupDemo(e *env, f flags, cfg *auth.Config, mode string) error {
	entra, err := fakeentra.Start(fakeentra.Options{AutoApprove: true, PendingPolls: 4})
	if err != nil {
		return fmt.Errorf("starting the demo sign-in service: %w", err)
	}
	e.closers = append(e.closers, entra.Close)
	checker := mdesim.TokenChecker{Issuers: map[string]*rsa.PublicKey{entra.Issuer(): entra.PublicKey()}}
	simLimits := make([]mdesim.Limit, len(e.limits))
	for i, l := range e.limits {
		simLimits[i] = mdesim.Limit{Count: l.Count, Window: l.Window}
	}
	sim, err := mdesim.Start(mdesim.Options{Seed: f.demoSeed, Authorize: checker.Authorize, Limits: simLimits})
	if err != nil {
		return fmt.Errorf("starting the demo simulator: %w", err)
	}
	e.closers = append(e.closers, func() { _ = sim.Close() })
	e.apiBase = sim.URL
	if mode == "" {
		claims := fakeentra.Claims{UPN: demoUser, Scp: fakeentra.DefaultScopes}
		if f.demoDenied {
			claims.Scp = []string{"User.Read"} // signed in, but not allowed to read machine actions
		}
		tok, err := entra.Mint(claims)
		if err != nil {
			return err
		}
		e.tokens = mde.StaticToken(tok)
		return nil
	}
	dir, err := os.MkdirTemp("", "mdeactions-demo-")
	if err != nil {
		return err
	}
	e.closers = append(e.closers, func() { _ = os.RemoveAll(dir) })
	cfg.Cloud.AuthorityHost = entra.URL()
	cfg.Cloud.Scope = mdesim.DefaultAudience + "/.default"
	cfg.TenantID = entra.TenantID()
	cfg.ClientID = demoClientID
	cfg.HTTPClient = entra.Client()
	cfg.DisableInstanceDiscovery = true
	cfg.CacheDir = dir
	switch auth.Mode(mode) {
	case auth.ModeSecret:
		// The fake takes any secret: the demo brings one.
		getenv := cfg.Getenv
		cfg.Getenv = func(k string) string {
			if k == "AZURE_CLIENT_SECRET" && f.secretFile == "" {
				return "demo-secret"
			}
			if getenv != nil {
				return getenv(k)
			}
			return os.Getenv(k)
		}
	case auth.ModeManagedIdentity:
		// MSAL finds a managed identity through the environment; point it
		// at the fake, never at the real metadata service.
		os.Setenv("IDENTITY_ENDPOINT", entra.ManagedIdentityEndpoint())
		os.Setenv("IDENTITY_HEADER", entra.ManagedIdentityHeader())
		cfg.TenantID, cfg.ClientID = "", ""
	}
	e.about = "demo sign-in service at " + hostOf(entra.URL()) + " · it approves the code by itself after a few seconds"
	return nil
}

func runTUI(cmd *cobra.Command, f flags) error {
	if f.refresh != 0 && f.refresh < ui.MinRefresh {
		return fmt.Errorf("--refresh %s: at least %s (the list API allows 100 calls a minute for the whole app), or 0 to turn it off", f.refresh, ui.MinRefresh)
	}
	// With every profile, the run's own setup only serves the warnings,
	// the log and the audit trail: each profile signs in on its own.
	e, err := setup(cmd, f, !f.allProfiles)
	if err != nil {
		return err
	}
	defer e.close()
	op := newTenantOpener(cmd, f, e)
	defer op.close()
	mono := monochrome(f.noColor, os.Getenv)
	uopts := ui.Options{
		Demo:     f.demo,
		ReadOnly: f.readOnly,
		Mono:     mono,
		Timeout:  f.timeout,
		Profile:  f.profileName,

		RefreshEvery: f.refresh,
	}
	if len(op.names) > 0 {
		uopts.Profiles = op
	}
	if f.allProfiles {
		if len(op.names) == 0 {
			return errors.New("--all-profiles: the configuration file has no profiles (see \"Profiles\" in the README)")
		}
		uopts.Profile = ui.AllProfiles
		uopts.Tenants, _ = op.Open(cmd.Context(), ui.AllProfiles)
	} else {
		t, err := op.adopt(f, e)
		if err != nil {
			return err
		}
		uopts.Tenants, uopts.Profile = []ui.Tenant{t}, t.Name
	}
	if uopts.Keys, err = profileKeys(f); err != nil {
		return err
	}
	uopts.ExplainToken = auth.Explain
	uopts.Warnings = e.warnings.ui
	popts := []tea.ProgramOption{tea.WithOutput(cmd.OutOrStdout()), tea.WithContext(cmd.Context())}
	if mono {
		popts = append(popts, tea.WithColorProfile(colorprofile.Ascii))
	}
	e.warnings.hold = true
	final, err := tea.NewProgram(ui.New(uopts), popts...).Run()
	e.warnings.flush()
	if m, ok := final.(ui.Model); ok {
		// What a bulk cancel did stays readable after the screen is gone.
		for _, line := range m.Report() {
			fmt.Fprintln(cmd.ErrOrStderr(), "mdeactions:", line)
		}
	}
	if errors.Is(err, tea.ErrInterrupted) {
		return nil
	}
	return err
}

// demoProfiles are the demo's own profiles when no configuration file has
// any: two tenants with actions, and one whose app lacks the permission to
// read them (to see how a failing tenant looks).
var demoProfiles = []string{"contoso", "fabrikam", "northwind"}

// tenantOpener opens profiles for the TUI (ui.Profiles): each with its own
// sign-in, client and audit context; clients of the same app and tenant
// share their rate-limit budgets. What it opened stays open until the
// program ends, so that switching back costs nothing.
type tenantOpener struct {
	cmd   *cobra.Command
	f     flags // the flags as given, before any profile
	file  *profile.File
	names []string
	first *env // the run's own env: its warnings and audit trail serve all
	audit *trail
	pool  budgetPool
	mu    sync.Mutex
	open  map[string]ui.Tenant
	envs  []*env
}

func newTenantOpener(cmd *cobra.Command, f flags, e *env) *tenantOpener {
	o := &tenantOpener{cmd: cmd, f: f, file: f.file, first: e, open: map[string]ui.Tenant{}}
	if f.base != nil {
		o.f = *f.base
	}
	o.names = f.file.Names()
	if f.demo {
		o.names = demoProfiles
	}
	// The profile the run started with comes first: where a tenant is
	// reached by two profiles, its actions show under that one.
	if i := slices.Index(o.names, f.profileName); i > 0 {
		o.names = slices.Concat([]string{f.profileName}, o.names[:i], o.names[i+1:])
	}
	o.audit = openAudit(cmd, f, e)
	return o
}

// Names are the profiles the picker offers.
func (o *tenantOpener) Names() []string { return o.names }

// Open opens one profile, or every one. A profile that cannot even be set
// up (a missing secret file, say) is, among all profiles, a tenant that
// fails with the reason, beside the others.
func (o *tenantOpener) Open(_ context.Context, name string) ([]ui.Tenant, error) {
	if name != ui.AllProfiles {
		t, err := o.one(name)
		if err != nil {
			return nil, err
		}
		return []ui.Tenant{t}, nil
	}
	ts := make([]ui.Tenant, len(o.names))
	for i, n := range o.names {
		t, err := o.one(n)
		if err != nil {
			t = ui.Tenant{Name: n, Service: unusable{err}}
		}
		ts[i] = t
	}
	return ts, nil
}

// adopt makes the run's own profile (already set up) the first one open.
func (o *tenantOpener) adopt(f flags, e *env) (ui.Tenant, error) {
	t, err := o.tenant(f, e)
	if err != nil {
		return ui.Tenant{}, err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if f.profileName != "" {
		o.open[f.profileName] = t
	}
	return t, nil
}

func (o *tenantOpener) one(name string) (ui.Tenant, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if t, ok := o.open[name]; ok {
		return t, nil
	}
	g, err := o.flagsFor(name)
	if err != nil {
		return ui.Tenant{}, err
	}
	e, err := setupWith(o.cmd, g, true, o.first.warnings)
	if err != nil {
		return ui.Tenant{}, err
	}
	o.envs = append(o.envs, e)
	t, err := o.tenant(g, e)
	if err != nil {
		return ui.Tenant{}, err
	}
	o.open[name] = t
	return t, nil
}

// flagsFor merges the profile named into the flags as given.
func (o *tenantOpener) flagsFor(name string) (flags, error) {
	g := o.f
	g.profileName = name
	if g.demo {
		err := demoProfile(&g)
		return g, err
	}
	chosen, err := o.file.Select(name)
	if err != nil {
		return g, err
	}
	mergeProfile(o.cmd, &g, chosen, true)
	return g, nil
}

// profileKeys is the keymap a profile's bindings make; nil: the defaults.
func profileKeys(f flags) (*keys.KeyMap, error) {
	if len(f.keys) == 0 {
		return nil, nil
	}
	km := keys.Default()
	if err := profile.ApplyKeys(&km, f.keys); err != nil {
		return nil, fmt.Errorf("key bindings: %w", err)
	}
	return &km, nil
}

// tenant builds a profile's client, audited service and bulk runner.
func (o *tenantOpener) tenant(f flags, e *env) (ui.Tenant, error) {
	b := o.pool.of(e)
	client, err := newClient(f, e, b)
	if err != nil {
		return ui.Tenant{}, err
	}
	svc := newService(f, e, client, o.audit)
	t := ui.Tenant{Name: f.profileName, Service: svc, ReadOnly: f.readOnly, Endpoint: hostOf(e.apiBase)}
	if t.Keys, err = profileKeys(f); err != nil {
		return ui.Tenant{}, err
	}
	if !f.readOnly {
		t.Bulk = bulkRunner{svc: svc, budgets: b}
	}
	if dc, ok := e.source.(*auth.DeviceCodeSource); ok {
		t.SignIn = &deviceSignIn{src: dc, open: map[*auth.SignIn]bool{}}
		t.SignInAbout = e.about
	}
	return t, nil
}

func (o *tenantOpener) close() {
	o.mu.Lock()
	defer o.mu.Unlock()
	for i := len(o.envs) - 1; i >= 0; i-- {
		o.envs[i].close()
	}
}

// unusable is the service of a profile that could not be set up: listing
// says why; nothing is ever sent.
type unusable struct{ err error }

func (u unusable) List(context.Context, mde.Query) ([]mde.MachineAction, error) { return nil, u.err }
func (u unusable) Cancel(context.Context, string, string) (mde.MachineAction, error) {
	return mde.MachineAction{}, u.err
}

func runLogin(cmd *cobra.Command, f flags) error {
	e, err := setup(cmd, f, true)
	if err != nil {
		return err
	}
	defer e.close()
	ctx, stop := context.WithCancel(cmd.Context())
	defer stop()
	if e.source == nil {
		return errors.New("login: the demo without --auth needs no sign-in; try mdeactions --demo --auth devicecode login")
	}
	if auth.Mode(cfgMode(f)) == auth.ModeTokenEnv {
		fmt.Fprintf(cmd.OutOrStdout(), "Nothing to sign in with --auth token-env: the token in %s is sent as it is (it is checked by the API at the first call).\n", orDefault(f.tokenEnv, auth.DefaultTokenEnv))
		return nil
	}
	dc, ok := e.source.(*auth.DeviceCodeSource)
	if !ok {
		// App modes: getting one token proves the configuration.
		if _, err := e.source.Token(ctx); err != nil {
			return errors.New(auth.Explain(err))
		}
		fmt.Fprintf(cmd.OutOrStdout(), "Signed in as %s (app tokens are not saved; nothing else to do).\n", e.source.Identity())
		return nil
	}
	account, err := dc.Login(ctx, func(c auth.DeviceCode) {
		fmt.Fprintf(cmd.ErrOrStderr(), "To sign in, open %s and enter the code %s (it expires at %s).\n",
			c.VerificationURL, c.UserCode, c.ExpiresOn.Local().Format("15:04:05"))
	})
	if err != nil {
		return errors.New(auth.Explain(err))
	}
	where := dc.CachePath()
	if where == "" {
		where = "memory only (--no-cache)"
	}
	fmt.Fprintf(cmd.OutOrStdout(), "Signed in as %s. Saved sign-in: %s\n", account, where)
	return nil
}

func runLogout(cmd *cobra.Command, f flags) error {
	e, err := setup(cmd, f, false)
	if err != nil {
		return err
	}
	defer e.close()
	if f.demo && cfgMode(f) == "" {
		fmt.Fprintln(cmd.OutOrStdout(), "The demo saves no sign-in: nothing to remove.")
		return nil
	}
	path, removed, err := auth.SignOut(cmd.Context(), e.cfg)
	if err != nil {
		return errors.New(auth.Explain(err))
	}
	fmt.Fprintln(cmd.OutOrStdout(), auth.LogoutMessage(path, removed))
	return nil
}

// budgets are one app's budgets in one tenant, one per endpoint: refreshes
// never spend what cancels need, and the other way round. The API counts
// calls per app and tenant, so every client of the same app and tenant
// in this process shares them.
type budgets struct {
	clock             pace.Clock
	list, get, cancel *pace.Budget
}

// bulkOptions makes a bulk cancel wait on these budgets in view: Pause and
// Abort work during the waits before cancels and before device re-reads.
func (b *budgets) bulkOptions(known []mde.MachineAction) bulk.Options {
	return bulk.Options{Clock: b.clock, Budget: b.cancel, ListBudget: b.list, Verify: true, Known: known}
}

func newBudgets(limits []pace.Limit) *budgets {
	clock := pace.RealClock()
	return &budgets{clock: clock, list: pace.NewBudget(clock, limits...),
		get: pace.NewBudget(clock, limits...), cancel: pace.NewBudget(clock, limits...)}
}

// budgetPool hands out the budgets of each app and tenant.
type budgetPool struct {
	mu sync.Mutex
	m  map[string]*budgets
}

func (p *budgetPool) of(e *env) *budgets {
	p.mu.Lock()
	defer p.mu.Unlock()
	key := strings.ToLower(hostOf(e.apiBase) + "|" + e.cfg.TenantID + "|" + e.cfg.ClientID)
	if p.m == nil {
		p.m = map[string]*budgets{}
	}
	if b, ok := p.m[key]; ok {
		return b
	}
	b := newBudgets(e.limits)
	p.m[key] = b
	return b
}

// newClient builds the API client on the budgets given.
func newClient(f flags, e *env, b *budgets) (*mde.Client, error) {
	opts := []mde.Option{
		mde.WithUserAgent("mdeactions/" + version),
		mde.WithBudgets(b.list, b.get, b.cancel),
		mde.WithRetry(mde.DefaultRetryPolicy), mde.WithRequestTimeout(f.timeout),
	}
	if e.log != nil {
		opts = append(opts, mde.WithLogger(e.log))
	}
	if f.readOnly {
		opts = append(opts, mde.WithReadOnly())
	}
	client, err := mde.NewClient(e.apiBase, e.hc, e.tokens, opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cmp.Or(f.apiURLFrom, "--api-url"), err)
	}
	return client, nil
}

// newService puts every cancel through the audit trail: an intent line
// before the call (no line, no call) and an outcome line after it.
func newService(f flags, e *env, client *mde.Client, t *trail) *auditedService {
	return newAuditedService(client, t, func() audit.Context {
		tenant := e.cfg.TenantID
		if f.demo {
			tenant = cmp.Or(f.demoTenant, "demo")
		}
		actor := ""
		switch {
		case e.source != nil:
			actor = e.source.Identity()
		case f.demo:
			actor = demoUser // the demo's own token is minted for this user
		}
		return audit.Context{Profile: f.profileName, Tenant: tenant, Actor: actor}
	})
}

// commandClient sets up a command outside the TUI: the token source (signed
// in), and the paced client. The caller closes the env.
func commandClient(cmd *cobra.Command, f flags) (*env, *mde.Client, *budgets, error) {
	e, err := setup(cmd, f, true)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := signInForCommand(cmd, e); err != nil {
		e.close()
		return nil, nil, nil, err
	}
	b := newBudgets(e.limits)
	client, err := newClient(f, e, b)
	if err != nil {
		e.close()
		return nil, nil, nil, err
	}
	return e, client, b, nil
}

// signInForCommand makes sure a command outside the TUI has a token: a
// device-code source signs in (silently from the cache, else with the code
// on stderr).
func signInForCommand(cmd *cobra.Command, e *env) error {
	dc, ok := e.source.(*auth.DeviceCodeSource)
	if !ok {
		return nil
	}
	_, err := dc.Login(cmd.Context(), func(c auth.DeviceCode) {
		fmt.Fprintf(cmd.ErrOrStderr(), "To sign in, open %s and enter the code %s (it expires at %s).\n",
			c.VerificationURL, c.UserCode, c.ExpiresOn.Local().Format("15:04:05"))
	})
	if err != nil {
		return errors.New(auth.Explain(err))
	}
	return nil
}

// stateDir is $XDG_STATE_HOME/mdeactions, or ~/.local/state/mdeactions.
func stateDir() (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "mdeactions"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".local", "state", "mdeactions"), nil
}

// logPath is where the log goes.
func logPath(f flags) (string, error) {
	if f.logFile != "" {
		return f.logFile, nil
	}
	dir, err := stateDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "mdeactions.log"), nil
}

// openLog opens the log file (0600 in a 0700 directory). Without one the
// tool runs on, with a warning: a log is a help, not a condition.
func openLog(f flags, e *env) *slog.Logger {
	path, err := logPath(f)
	if err == nil {
		err = os.MkdirAll(filepath.Dir(path), 0o700)
	}
	var file *os.File
	if err == nil {
		file, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	}
	if err != nil {
		e.warnings.add("no log file: " + err.Error())
		return nil
	}
	e.closers = append(e.closers, func() { _ = file.Close() })
	level := slog.LevelInfo
	if f.debug {
		level = slog.LevelDebug
	}
	l := slog.New(slog.NewTextHandler(file, &slog.HandlerOptions{Level: level}))
	l.Info("start", "version", version, "pid", os.Getpid(), "demo", f.demo, "auth", cfgMode(f))
	return l
}

// openAudit opens the audit trail. A trail that cannot be opened is not
// fatal for looking (listing still works) but every cancel is then refused,
// and the user is told why at once.
func openAudit(cmd *cobra.Command, f flags, e *env) *trail {
	t := &trail{path: f.auditFile}
	if t.path == "" && f.demo {
		dir, err := os.MkdirTemp("", "mdeactions-demo-audit-")
		if err == nil {
			t.path = filepath.Join(dir, audit.FileName)
			e.closers = append(e.closers, func() {
				fmt.Fprintln(cmd.ErrOrStderr(), "mdeactions: the demo's audit trail is in", t.path)
			})
		}
	}
	if t.path == "" {
		p, err := audit.DefaultPath()
		if err != nil {
			t.why = "there is no place for it (" + err.Error() + "): name one with --audit-file"
			e.warnings.add("no audit trail (" + err.Error() + "): cancels are refused until --audit-file names one")
		}
		t.path = p
	}
	e.closers = append(e.closers, func() {
		// Whatever trail is open at the end: cancels still in flight are
		// settled in it.
		if l := t.opened(); l != nil {
			audit.Shutdown(l, min(f.timeout, 5*time.Second), shutdownHurry(cmd.Context()), cmd.ErrOrStderr())
			_ = l.Close()
		}
	})
	if _, err := t.get(); err != nil {
		e.warnings.add("the audit trail cannot be opened, so cancels are refused until it can: " + t.why)
	}
	return t
}

// trail is the run's audit trail: opened at the start, and tried again at
// each cancel while it could not be (the user may have fixed its
// directory meanwhile, as the footer told them to).
type trail struct {
	mu   sync.Mutex
	log  *audit.Log
	path string // "": there is no place for it
	why  string // why it is not open
}

// get returns the open trail, opening it if it is not yet; the error says
// why it cannot be, for the footer.
func (t *trail) get() (*audit.Log, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.log != nil {
		return t.log, nil
	}
	if t.path != "" {
		l, err := audit.Open(t.path)
		if err == nil {
			t.log, t.why = l, ""
			return l, nil
		}
		t.why = err.Error()
	}
	return nil, fmt.Errorf("%w: %s", audit.ErrAuditUnavailable, cmp.Or(t.why, "no audit log is open"))
}

func (t *trail) opened() *audit.Log {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.log
}

// shutdownHurry is what cuts the wait for answers at exit short: a second
// signal when a first one stopped the run; any signal when the user quit
// (the first ctrl+c was then a key, and the prompt says to press it again).
func shutdownHurry(ctx context.Context) <-chan struct{} {
	if ctx == nil || ctx.Err() != nil {
		return term.Hurry()
	}
	c := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-term.Hurry():
		}
		close(c)
	}()
	return c
}

// The UI refreshes through Relist, keeping what did not change.
var _ ui.Relister = (*auditedService)(nil)

// auditedService is the API client with every cancel recorded in the
// audit trail. It remembers the actions it listed, so that a record names
// the action's type and device.
type auditedService struct {
	*mde.Client
	trail   *trail
	context func() audit.Context
	mu      sync.Mutex
	// The audit record names an action's type and device: they are looked
	// up in the newest whole list and the newest narrower one (a device's
	// re-read), which the UI holds anyway; nothing is copied.
	full   []*mde.MachineAction
	recent []mde.MachineAction
}

func newAuditedService(c *mde.Client, t *trail, ctx func() audit.Context) *auditedService {
	if t == nil {
		t = &trail{}
	}
	return &auditedService{Client: c, trail: t, context: ctx}
}

func (s *auditedService) List(ctx context.Context, q mde.Query) ([]mde.MachineAction, error) {
	actions, err := s.Client.List(ctx, q)
	if err == nil {
		s.mu.Lock()
		if len(q.IDs) == 0 && len(q.MachineIDs) == 0 {
			s.full = make([]*mde.MachineAction, len(actions))
			for i := range actions {
				s.full[i] = &actions[i]
			}
		} else {
			s.recent = actions
		}
		s.mu.Unlock()
	}
	return actions, err
}

// Relist is the UI's refresh (mde.Client.Relist), remembered as the whole list.
func (s *auditedService) Relist(ctx context.Context, q mde.Query, prev []*mde.MachineAction) ([]*mde.MachineAction, error) {
	actions, err := s.Client.Relist(ctx, q, prev)
	if err == nil {
		s.mu.Lock()
		s.full = actions
		s.mu.Unlock()
	}
	return actions, err
}

// lookup finds what the lists said of the action id.
func (s *auditedService) lookup(id string) mde.MachineAction {
	s.mu.Lock()
	defer s.mu.Unlock()
	found := func(a *mde.MachineAction) mde.MachineAction {
		return mde.MachineAction{ID: id, Type: a.Type, ComputerDNSName: a.ComputerDNSName, MachineID: a.MachineID}
	}
	for i := range s.recent {
		if strings.EqualFold(s.recent[i].ID, id) {
			return found(&s.recent[i])
		}
	}
	for _, a := range s.full {
		if strings.EqualFold(a.ID, id) {
			return found(a)
		}
	}
	return mde.MachineAction{ID: id}
}

func (s *auditedService) Cancel(ctx context.Context, id, comment string) (mde.MachineAction, error) {
	l, err := s.trail.get()
	if err != nil {
		// Fail closed, saying why where the user looks (the footer): the
		// warning went to stderr before the screen was taken.
		return mde.MachineAction{}, err
	}
	return audit.Wrap(s.Client, l, s.context(), s.lookup).Cancel(ctx, id, comment)
}

// bulkRunner starts paced bulk cancels for the UI.
type bulkRunner struct {
	svc     bulk.Service
	budgets *budgets
}

func (b bulkRunner) Start(ctx context.Context, actions, known []mde.MachineAction, comment string) ui.BulkJob {
	return bulk.Start(ctx, b.svc, actions, comment, b.budgets.bulkOptions(known))
}

// deviceSignIn adapts the device-code source to the UI's SignIn. It keeps
// every sign-in it started until it ends, so that Abort can let go of all of
// them (each holds the token cache's lock).
type deviceSignIn struct {
	src  *auth.DeviceCodeSource
	mu   sync.Mutex
	cur  *auth.SignIn
	open map[*auth.SignIn]bool
}

func (d *deviceSignIn) Ready(ctx context.Context) (string, bool, error) {
	if _, err := d.src.Token(ctx); err != nil {
		if errors.Is(err, auth.ErrSignInRequired) {
			return "", false, nil
		}
		return "", false, errors.New(auth.Explain(err))
	}
	return d.src.Identity(), true, nil
}

func (d *deviceSignIn) Start(ctx context.Context) (signin.Prompt, error) {
	si, err := d.src.StartSignIn(ctx)
	if err != nil {
		return signin.Prompt{}, errors.New(auth.Explain(err))
	}
	d.mu.Lock()
	d.cur = si
	d.open[si] = true
	d.mu.Unlock()
	if si.AlreadySignedIn {
		// Another terminal signed in while this one waited for the lock:
		// no code to show; Wait returns the account at once.
		return signin.Prompt{}, nil
	}
	return signin.Prompt{URL: si.Code.VerificationURL, Code: si.Code.UserCode, Message: si.Code.Message, ExpiresOn: si.Code.ExpiresOn}, nil
}

func (d *deviceSignIn) Wait(ctx context.Context) (string, error) {
	d.mu.Lock()
	si := d.cur
	d.mu.Unlock()
	if si == nil {
		return "", errors.New("no sign-in was started")
	}
	account, err := si.Wait(ctx)
	d.mu.Lock()
	delete(d.open, si)
	d.mu.Unlock()
	if err != nil {
		return "", errors.New(auth.Explain(err))
	}
	return account, nil
}

func (d *deviceSignIn) Abort() {
	d.mu.Lock()
	open := d.open
	d.cur, d.open = nil, map[*auth.SignIn]bool{}
	d.mu.Unlock()
	for si := range open {
		si.Abort()
	}
}

// monochrome reports whether to drop colour: --no-color, or NO_COLOR set to
// any non-empty value (no-color.org), which colorprofile alone does not honour
// for values such as "yes".
func monochrome(flag bool, getenv func(string) string) bool {
	return flag || getenv("NO_COLOR") != ""
}

// knownLoginHost reports whether h is one of Microsoft's sign-in hosts,
// which MSAL's instance discovery knows.
func knownLoginHost(h string) bool {
	switch strings.ToLower(hostOf(h)) {
	case "login.microsoftonline.com", "login.microsoft.com", "login.windows.net",
		"login.microsoftonline.us", "login.usgovcloudapi.net", "login-us.microsoftonline.com":
		return true
	}
	return false
}

// cfgMode is the auth mode the flags ask for.
func cfgMode(f flags) string {
	if f.auth == "" && f.tokenEnv != "" {
		return string(auth.ModeTokenEnv)
	}
	return f.auth
}

func orDefault(v, d string) string {
	if v != "" {
		return v
	}
	return d
}

func orEnv(v, name string) string {
	if v != "" {
		return v
	}
	if s := os.Getenv(name); s != "" {
		return s
	}
	return "(not set)"
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return raw
	}
	return u.Host
}
