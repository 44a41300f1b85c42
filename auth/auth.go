// Package auth turns configuration into a token source for the mde client.
//
// New(Config) builds a Source for the mode chosen with --auth:
//
//   - devicecode (default for a person): MSAL public client; silent from a
//     per-(cloud, tenant, client id) cache file first, else a device code
//     the person enters on another device (DeviceCodeSource.StartSignIn +
//     SignIn.Wait for the TUI, Login for `mdeactions login`).
//   - secret, certificate: MSAL confidential client, app-only tokens.
//   - managed-identity: the host's managed identity; opt-in only.
//   - token-env: a bearer token the user already holds (EnvToken).
//
// The national clouds are one table (Clouds). Errors come back in plain
// words (Explain adds a hint), without secrets, tokens or MSAL internals.
// Notes on MSAL Go's surprises cite /work/shared/reference/msal.md.
//
// Package fakeentra is a fake Entra ID for tests and the demo.
package auth

import (
	"context"
	"fmt"
	"os"
	"strings"
)

// EnvToken reads a bearer token from an environment variable each time a
// token is needed, so a token refreshed in the environment of a long-running
// wrapper is picked up. The token itself never appears in errors.
type EnvToken struct {
	Var    string
	Lookup func(string) (string, bool) // nil => os.LookupEnv
}

// Token returns the token in the variable.
func (e EnvToken) Token(context.Context) (string, error) {
	lookup := e.Lookup
	if lookup == nil {
		lookup = os.LookupEnv
	}
	v, ok := lookup(e.Var)
	v = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), "Bearer "))
	if !ok || v == "" {
		return "", fmt.Errorf("no bearer token: the environment variable %s is empty or unset; put a token for the Defender API in it, or try mdeactions --demo", e.Var)
	}
	return v, nil
}
