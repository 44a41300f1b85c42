package auth

import (
	"context"
	"time"

	mi "github.com/AzureAD/microsoft-authentication-library-for-go/apps/managedidentity"
)

// miSource gets app tokens from the host's managed identity. It exists only
// when --auth managed-identity was chosen: on hosts that are not in Azure
// the default source (the instance metadata service at 169.254.169.254,
// with retries) only burns time (msal.md §3).
//
// MSAL picks the source from the process environment (IDENTITY_ENDPOINT +
// IDENTITY_HEADER: App Service; MSI_ENDPOINT: Cloud Shell/Azure ML; Arc
// agent files; else IMDS) with os.Getenv, not Config.Getenv, and keeps
// managed-identity tokens in a process-wide cache.
type miSource struct {
	client   mi.Client
	resource string
	source   mi.Source
	clientID string
	id       label
}

func newManagedIdentitySource(c Config) (*miSource, error) {
	id := mi.SystemAssigned()
	if c.ManagedIdentityClientID != "" {
		id = mi.UserAssignedClientID(c.ManagedIdentityClientID)
	}
	client, err := mi.New(id, mi.WithHTTPClient(c.managedIdentityHTTPClient()))
	if err != nil {
		return nil, &SetupError{Mode: c.Mode, Problem: "managed identity cannot be used here: " + cleanText(err.Error())}
	}
	src, _ := mi.GetSource()
	// The resource is the scope without "/.default"; MSAL strips it too.
	return &miSource{client: client, resource: trimScopeDefault(c.Cloud.Scope), source: src, clientID: c.ManagedIdentityClientID}, nil
}

func (s *miSource) op() string { return "managed identity (" + string(s.source) + ")" }

func (s *miSource) Token(ctx context.Context) (string, error) {
	res, err := s.client.AcquireToken(ctx, s.resource)
	if err != nil {
		return "", fail(s.op(), err)
	}
	s.id.set(identityFromToken(res.AccessToken))
	return res.AccessToken, nil
}

// Refresh: with claims, AcquireToken skips the cache ("ignore cached
// access tokens when given claims", managedidentity.go) and the new token
// replaces the cached one.
func (s *miSource) Refresh(ctx context.Context) (string, error) {
	res, err := s.client.AcquireToken(ctx, s.resource, mi.WithClaims(freshClaims(time.Now())))
	if err != nil {
		return "", fail(s.op(), err)
	}
	s.id.set(identityFromToken(res.AccessToken))
	return res.AccessToken, nil
}

func (s *miSource) Identity() string {
	if id := s.id.get(); id != "" {
		return id
	}
	if s.clientID != "" {
		return "managed identity " + s.clientID
	}
	return ""
}
