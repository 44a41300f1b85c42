package mdesim

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// ErrForbidden is wrapped by an Authorize error that should give 403
// (a valid token without the permission) rather than 401.
var ErrForbidden = errors.New("forbidden")

// DefaultAudience is the audience of Defender for Endpoint API tokens in the
// commercial cloud, whichever API host is called.
const DefaultAudience = "https://api.securitycenter.microsoft.com"

// Permissions the real API asks for (mde-api.md §2, §3.2, §5.4). Application
// permissions arrive in the token's "roles", delegated ones in "scp".
var (
	readPermissions = []string{"Machine.Read.All", "Machine.ReadWrite.All", "Machine.Read", "Machine.ReadWrite"}
	// Cancel takes any one of the action permissions, for apps and users alike.
	cancelPermissions = []string{"Machine.CollectForensics", "Machine.Isolate", "Machine.RestrictExecution",
		"Machine.Scan", "Machine.Offboard", "Machine.StopAndQuarantine", "Machine.LiveResponse"}
)

// TokenChecker checks bearer tokens the way the real API does: an RS256 JWT
// signed by a known issuer, for the API's audience, not expired, carrying
// the permission the endpoint needs. Use its Authorize method as
// Options.Authorize. The principal it returns (recorded as
// cancellationRequestor) is the user's UPN for delegated tokens and the
// app's display name (or app id) for application tokens.
type TokenChecker struct {
	// Issuers maps each trusted "iss" to the key that signs its tokens.
	Issuers map[string]*rsa.PublicKey
	// Audiences accepted; empty means DefaultAudience.
	Audiences []string
	// Now is the clock for exp/nbf; nil means time.Now.
	Now func() time.Time
}

type apiClaims struct {
	jwt.RegisteredClaims
	Scp               string   `json:"scp"`
	Roles             []string `json:"roles"`
	UPN               string   `json:"upn"`
	PreferredUsername string   `json:"preferred_username"`
	AppID             string   `json:"appid"`
	AppDisplayName    string   `json:"app_displayname"`
}

// Authorize checks the request's bearer token.
func (c TokenChecker) Authorize(r *http.Request) (string, error) {
	scheme, raw, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	raw = strings.TrimSpace(raw)
	if !strings.EqualFold(scheme, "Bearer") || raw == "" {
		return "", errors.New("Authorization has been denied for this request.")
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	auds := c.Audiences
	if len(auds) == 0 {
		auds = []string{DefaultAudience}
	}
	var claims apiClaims
	_, err := jwt.ParseWithClaims(raw, &claims, func(t *jwt.Token) (any, error) {
		iss, _ := t.Claims.GetIssuer()
		key, ok := c.Issuers[iss]
		if !ok {
			return nil, fmt.Errorf("issuer %q is not trusted", iss)
		}
		return key, nil
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithTimeFunc(now), jwt.WithExpirationRequired())
	if err != nil {
		return "", fmt.Errorf("Authorization has been denied for this request: invalid token (%v)", err)
	}
	if !slices.ContainsFunc(auds, func(a string) bool { return slices.Contains(claims.Audience, a) }) {
		return "", fmt.Errorf("Authorization has been denied for this request: the token's audience %v is not %s", []string(claims.Audience), auds[0])
	}
	granted := claims.Roles
	principal := claims.AppDisplayName
	if principal == "" {
		principal = claims.AppID
	}
	if claims.Scp != "" {
		granted = strings.Fields(claims.Scp)
		principal = claims.UPN
		if principal == "" {
			principal = claims.PreferredUsername
		}
	}
	if len(granted) == 0 {
		return "", fmt.Errorf("%w: the token carries neither roles nor scp", ErrForbidden)
	}
	need := readPermissions
	if endpoint, _ := route(r.URL.Path); endpoint == EndpointCancel {
		need = cancelPermissions
	}
	if !slices.ContainsFunc(granted, func(g string) bool { return slices.Contains(need, g) }) {
		return "", fmt.Errorf("%w: the token has none of the permissions %s", ErrForbidden, strings.Join(need, ", "))
	}
	return principal, nil
}
