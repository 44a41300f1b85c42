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
	"unicode"
)

// EnvToken reads a bearer token from an environment variable each time a
// token is needed, so a token refreshed in the environment of a long-running
// wrapper is picked up. The token itself never appears in errors.
type EnvToken struct {
	Var    string
	Lookup func(string) (string, bool) // nil => os.LookupEnv
	// Resource is the API the token is for, shown in the az command of
	// the error for a variable that holds JSON; "" => the commercial one.
	Resource string
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
		return "", fmt.Errorf("the environment variable %s is empty or unset: put a token for the Defender API in it, or try mdeactions --demo", e.Var)
	}
	if problem := tokenShapeProblem(v); problem != "" {
		resource := e.Resource
		if resource == "" {
			resource = trimScopeDefault(clouds[0].Scope)
		}
		return "", &EnvTokenError{Var: e.Var, Problem: problem, Resource: resource}
	}
	return v, nil
}

// EnvTokenError: the variable holds something that is not a bare bearer
// token, such as the JSON az account get-access-token prints without
// --query accessToken -o tsv. It never quotes the value.
type EnvTokenError struct {
	Var      string
	Problem  string // "holds JSON (…)"
	Resource string // for the az command
}

// Error names the fix: the az command with --query accessToken -o tsv.
func (e *EnvTokenError) Error() string {
	return "the environment variable " + e.Var + " " + e.Problem + ", not a bare access token; set it with: " +
		"export " + e.Var + "=\"$(az account get-access-token --resource " + e.Resource + " --query accessToken -o tsv)\""
}

// tokenShapeProblem says what is wrong with a value that cannot be a
// bearer token, without quoting it: "" if it looks like one.
func tokenShapeProblem(v string) string {
	switch {
	case strings.HasPrefix(v, "{") || strings.HasPrefix(v, "["):
		return "holds JSON (what az account get-access-token prints by itself)"
	case strings.HasPrefix(v, `"`) || strings.HasPrefix(v, "'"):
		return "holds a quoted string (what az prints with -o json)"
	case strings.ContainsFunc(v, unicode.IsSpace):
		return "has spaces or line breaks inside (more than the token was captured)"
	}
	return ""
}
