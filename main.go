// Command mdeactions lists the Microsoft Defender for Endpoint machine
// actions that are still Pending or InProgress and cancels the wrong or stuck
// ones, from a terminal.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/spf13/cobra"

	"github.com/mdeactions/mdeactions/auth"
	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/mde/mdesim"
	"github.com/mdeactions/mdeactions/ui"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const defaultAPIURL = "https://api.security.microsoft.com"

type flags struct {
	demo     bool
	demoSeed int64
	apiURL   string
	tokenEnv string
	readOnly bool
	noColor  bool
	timeout  time.Duration
}

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "mdeactions:", err)
		os.Exit(1)
	}
}

func newRootCmd() *cobra.Command {
	var f flags
	cmd := &cobra.Command{
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
			return run(f, cmd.OutOrStdout())
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.demo, "demo", false, "run against a built-in simulator of the Defender API (no tenant needed)")
	fl.Int64Var(&f.demoSeed, "demo-seed", 1, "seed of the demo tenant")
	fl.StringVar(&f.apiURL, "api-url", defaultAPIURL, "base URL of the Defender for Endpoint API")
	fl.StringVar(&f.tokenEnv, "token-env", "MDE_TOKEN", "environment variable that holds a bearer token for the API")
	fl.BoolVar(&f.readOnly, "read-only", false, "look only: the cancel key is not bound and the client refuses to POST")
	fl.BoolVar(&f.noColor, "no-color", false, "no colour (also: any non-empty NO_COLOR)")
	fl.DurationVar(&f.timeout, "timeout", 30*time.Second, "timeout of each API request")
	return cmd
}

func run(f flags, stdout io.Writer) error {
	var (
		baseURL  = f.apiURL
		tokens   mde.TokenSource
		endpoint string
	)
	if f.demo {
		sim, err := mdesim.Start(mdesim.Options{Seed: f.demoSeed})
		if err != nil {
			return fmt.Errorf("starting the demo simulator: %w", err)
		}
		defer sim.Close()
		baseURL = sim.URL
		tokens = mde.StaticToken("demo-token")
		endpoint = hostOf(sim.URL)
	} else {
		src := auth.EnvToken{Var: f.tokenEnv}
		if _, err := src.Token(context.Background()); err != nil {
			return firstRunHelp(f.tokenEnv)
		}
		tokens = src
		endpoint = hostOf(baseURL)
	}

	transport := http.DefaultTransport.(*http.Transport).Clone() // keeps HTTPS_PROXY
	hc := &http.Client{Transport: transport, Timeout: f.timeout + 5*time.Second}
	opts := []mde.Option{mde.WithUserAgent("mdeactions/" + version)}
	if f.readOnly {
		opts = append(opts, mde.WithReadOnly())
	}
	client, err := mde.NewClient(baseURL, hc, tokens, opts...)
	if err != nil {
		return fmt.Errorf("--api-url: %w", err)
	}

	mono := monochrome(f.noColor, os.Getenv)
	model := ui.New(ui.Options{
		Service:  client,
		Endpoint: endpoint,
		Demo:     f.demo,
		ReadOnly: f.readOnly,
		Mono:     mono,
		Timeout:  f.timeout,
	})
	popts := []tea.ProgramOption{tea.WithOutput(stdout)}
	if mono {
		popts = append(popts, tea.WithColorProfile(colorprofile.Ascii))
	}
	_, err = tea.NewProgram(model, popts...).Run()
	if errors.Is(err, tea.ErrInterrupted) {
		return nil
	}
	return err
}

func firstRunHelp(tokenEnv string) error {
	return fmt.Errorf(`no bearer token for the Defender API.

  mdeactions reads a token from the environment variable %s (change it with --token-env).
  The token needs Machine.Read.All to list, and a Machine.* action permission to cancel.
  Sign-in with your account or an app registration is coming; until then, export a token.

  To see the tool without a tenant:  mdeactions --demo`, tokenEnv)
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return raw
	}
	return u.Host
}

// monochrome reports whether to drop colour: --no-color, or NO_COLOR set to
// any non-empty value (no-color.org), which colorprofile alone does not honour
// for values such as "yes".
func monochrome(flag bool, getenv func(string) string) bool {
	return flag || getenv("NO_COLOR") != ""
}
