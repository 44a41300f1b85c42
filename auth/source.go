package auth

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Source supplies bearer tokens for the Defender API. Every mode
// implements it; the mde client calls Token before each request and
// Refresh once after a 401.
type Source interface {
	// Token returns a valid token, from the cache when possible.
	Token(ctx context.Context) (string, error)
	// Refresh returns a freshly acquired token, never the cached one, and
	// caches it for the following Token calls.
	Refresh(ctx context.Context) (string, error)
	// Identity is who the tokens are for, once known ("user@contoso.com",
	// an app's display name or client id); "" before.
	Identity() string
}

// New validates cfg (problems are a *SetupError) and builds the source
// for cfg.Mode. It does not sign in or touch the network; for devicecode
// it returns a *DeviceCodeSource. Managed identity is used only when
// cfg.Mode asks for it: no other mode probes for it.
func New(cfg Config) (Source, error) {
	c, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	switch c.Mode {
	case ModeDeviceCode:
		return newDeviceCodeSource(c)
	case ModeSecret:
		return newSecretSource(c)
	case ModeCertificate:
		return newCertificateSource(c)
	case ModeManagedIdentity:
		return newManagedIdentitySource(c)
	case ModeTokenEnv:
		return newTokenEnvSource(c), nil
	}
	return nil, &SetupError{Mode: c.Mode, Problem: "unknown auth mode " + strconv.Quote(string(c.Mode))}
}

// freshClaims is the claims request that makes MSAL skip its access-token
// cache. In v1.10.1, AcquireTokenSilent with WithClaims ignores cached
// access tokens and redeems the refresh token ("ignore cached access tokens
// when given claims", internal/base/base.go); AcquireTokenByCredential with
// WithClaims skips its cache lookup (confidential.go); managed identity's
// AcquireToken does the same. The value is the shape of a Continuous Access
// Evaluation claims challenge, asking for a token not valid before now: a
// real challenge Entra ID understands, and true of any new token.
func freshClaims(now time.Time) string {
	return `{"access_token":{"nbf":{"essential":true,"value":"` + strconv.FormatInt(now.Unix(), 10) + `"}}}`
}

// tokenClaims are the few access-token claims used to name an identity.
type tokenClaims struct {
	UPN               string `json:"upn"`
	PreferredUsername string `json:"preferred_username"`
	AppDisplayName    string `json:"app_displayname"`
	AppID             string `json:"appid"`
	jwt.RegisteredClaims
}

// identityFromToken reads the name in a JWT without verifying it (it is
// only a label; the API verifies the token). "" if it is not a JWT.
func identityFromToken(tok string) string {
	var c tokenClaims
	if _, _, err := jwt.NewParser().ParseUnverified(tok, &c); err != nil {
		return ""
	}
	for _, s := range []string{c.UPN, c.PreferredUsername, c.AppDisplayName, c.AppID} {
		if s != "" {
			return cleanText(s)
		}
	}
	return ""
}

// label is a mutex-guarded identity string.
type label struct {
	mu sync.Mutex
	s  string
}

func (l *label) get() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s
}

func (l *label) clear() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.s = ""
}

func (l *label) set(s string) {
	if s == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.s = s
}

// ---------------------------------------------------------------------------
// token-env

// tokenEnvSource is EnvToken behind the Source interface.
type tokenEnvSource struct {
	env  EnvToken
	id   label
	mu   sync.Mutex
	last string
}

func newTokenEnvSource(c Config) *tokenEnvSource {
	getenv := c.Getenv
	return &tokenEnvSource{env: EnvToken{Var: c.TokenEnv, Resource: trimScopeDefault(c.Cloud.Scope), Lookup: func(k string) (string, bool) {
		v := getenv(k)
		return v, v != ""
	}}}
}

func (s *tokenEnvSource) Token(ctx context.Context) (string, error) {
	tok, err := s.env.Token(ctx)
	if err != nil {
		return "", &Error{Op: "token from the environment", Err: err}
	}
	s.mu.Lock()
	s.last = tok
	s.mu.Unlock()
	s.id.set(identityFromToken(tok))
	return tok, nil
}

// Refresh reads the variable again (a wrapper may have put a new token in
// it); the token the API just refused is not returned again.
func (s *tokenEnvSource) Refresh(ctx context.Context) (string, error) {
	s.mu.Lock()
	last := s.last
	s.mu.Unlock()
	tok, err := s.Token(ctx)
	if err != nil {
		return "", err
	}
	if tok == last {
		return "", &Error{Op: "token from the environment", Err: &sentinelError{
			msg:      s.env.Var + " still holds the token the API refused, and there is no newer one",
			sentinel: ErrTokenRejected,
		}}
	}
	return tok, nil
}

// Identity is the name in the token, if it is a JWT.
func (s *tokenEnvSource) Identity() string { return s.id.get() }

// memo is the last token a source handed out, so that Token does not take
// the cross-process lock while the token is good. It is considered stale
// five minutes before expiry, as MSAL does (msal.md §1.3), or at RefreshOn.
type memo struct {
	mu        sync.Mutex
	token     string
	expires   time.Time
	refreshOn time.Time
}

const expiryMargin = 5 * time.Minute

func (m *memo) get(now time.Time) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.token == "" || !now.Before(m.expires.Add(-expiryMargin)) {
		return "", false
	}
	if !m.refreshOn.IsZero() && !now.Before(m.refreshOn) {
		return "", false
	}
	return m.token, true
}

func (m *memo) set(tok string, expires, refreshOn time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.token, m.expires, m.refreshOn = tok, expires, refreshOn
}

func (m *memo) clear() { m.set("", time.Time{}, time.Time{}) }

func trimScopeDefault(scope string) string { return strings.TrimSuffix(scope, "/.default") }
