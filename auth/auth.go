// Package auth turns configuration into a token source for the mde client.
//
// Today it has one source: a bearer token that the user already holds, read
// from an environment variable. Interactive and app sign-in with MSAL are
// built on the same interface.
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
