// Package fakeentra is a small fake of Microsoft Entra ID (Azure AD) that
// MSAL Go v1.10.1 accepts: OpenID configuration, instance discovery, the
// device code flow, client credentials (secret or client assertion), refresh
// tokens and an App Service style managed-identity endpoint. It serves HTTPS
// on 127.0.0.1 only and signs its access tokens with its own RSA key, so a
// simulator of the Defender API can check them.
//
// It is not a test-only package: the demo runs it in-process.
//
// Requests may arrive for any host name: a test transport can rewrite
// login.microsoftonline.com or login.microsoftonline.us to this server and
// keep the original Host header. The OpenID configuration then names that
// host, as MSAL checks the issuer against the authority host
// (/work/shared/reference/msal.md §5.1, §6.2).
package fakeentra

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Options configure a Server. The zero value is usable.
type Options struct {
	TenantID string // "" => a fixed GUID

	// PendingPolls is how many device_code polls are answered
	// authorization_pending before a token can be issued (default 2; a
	// negative value means none).
	PendingPolls int

	// AutoApprove approves every device code as if the user had signed in.
	// When false, a code is approved only by Approve(userCode).
	AutoApprove bool

	User    string // UPN for delegated tokens, default "responder@contoso.com"
	AppName string // app display name for app tokens, default "mdeactions automation"

	Scopes []string // scp of delegated tokens
	Roles  []string // roles of app tokens

	TokenLifetime time.Duration // default 1h
	Audience      string        // default "https://api.securitycenter.microsoft.com"

	// DeviceCodeLifetime is how long a device code is valid (default 15
	// minutes, as in Entra ID); whole seconds go into "expires_in".
	DeviceCodeLifetime time.Duration

	// ClientSecret, if set, is the only client_secret accepted; anything
	// else is answered AADSTS7000215 like Entra ID does. Empty accepts any
	// non-empty secret.
	ClientSecret string
}

// DefaultTenantID is the tenant of a Server started without one.
const DefaultTenantID = "8f0d2c4e-6a1b-4c3d-9e5f-7a8b9c0d1e2f"

// Default claims of the tokens the server issues.
var (
	DefaultScopes = []string{"Machine.Read", "Machine.ReadWrite", "Machine.Isolate", "Machine.Scan",
		"Machine.CollectForensics", "Machine.RestrictExecution", "Machine.StopAndQuarantine",
		"Machine.LiveResponse", "Machine.Offboard"}
	DefaultRoles = []string{"Machine.Read.All", "Machine.ReadWrite.All", "Machine.Isolate",
		"Machine.Scan", "Machine.CollectForensics", "Machine.RestrictExecution",
		"Machine.StopAndQuarantine", "Machine.LiveResponse", "Machine.Offboard"}
)

// DefaultAudience is the "aud" of access tokens unless Options.Audience says otherwise.
const DefaultAudience = "https://api.securitycenter.microsoft.com"

// Failure is an error answer injected with Server.Fail. It is served, once,
// to the next token, devicecode or managed-identity request.
type Failure struct {
	Status      int    // HTTP status; 0 => 400
	Error       string // OAuth "error", e.g. "invalid_grant", "expired_token"
	Description string // "error_description"; prefixed "AADSTS<n>: " when AADSTS is set and it has no prefix yet
	AADSTS      int    // Entra ID error code, sent in "error_codes" as well
}

// Hit is one request the server saw.
type Hit struct {
	Method     string
	Host       string // the Host header as sent (the original host when a transport rewrote the URL)
	Path       string
	GrantType  string // token requests
	ClientID   string // form client_id (or the user-assigned client_id of a managed-identity request)
	Scope      string // form scope, or the managed-identity resource
	Credential string // "secret", "assertion" or "" (the values themselves are not kept)
	Claims     string // form claims, if any
}

// Claims are the claims of a token minted with Server.Mint. Delegated tokens
// have Scp (and UPN), app tokens have Roles (and AppID).
type Claims struct {
	Subject  string
	UPN      string
	AppID    string
	AppName  string
	TenantID string
	Scp      []string
	Roles    []string
	Audience string        // "" => the server's audience
	Lifetime time.Duration // 0 => the server's token lifetime
}

// Server is a running fake authority.
type Server struct {
	srv      *httptest.Server
	opts     Options
	key      *rsa.PrivateKey
	kid      string
	miHeader string

	mu       sync.Mutex
	codes    map[string]*deviceCode // by device_code
	users    map[string]*deviceCode // by user_code
	refresh  map[string]grant       // refresh token => who it was issued to
	failures []Failure
	hits     []Hit
}

type deviceCode struct {
	device, user string
	clientID     string
	scope        string
	expires      time.Time
	polls        int
	approved     bool
	declined     bool
}

type grant struct{ clientID string }

const systemAssignedClientID = "5c1d3f8e-2b7a-4e69-9d0c-1a2b3c4d5e6f"

// Start starts a server on 127.0.0.1 with a fresh RSA key.
func Start(opts Options) (*Server, error) {
	if opts.TenantID == "" {
		opts.TenantID = DefaultTenantID
	}
	if opts.PendingPolls == 0 {
		opts.PendingPolls = 2
	}
	if opts.User == "" {
		opts.User = "responder@contoso.com"
	}
	if opts.AppName == "" {
		opts.AppName = "mdeactions automation"
	}
	if opts.Scopes == nil {
		opts.Scopes = DefaultScopes
	}
	if opts.Roles == nil {
		opts.Roles = DefaultRoles
	}
	if opts.TokenLifetime <= 0 {
		opts.TokenLifetime = time.Hour
	}
	if opts.Audience == "" {
		opts.Audience = DefaultAudience
	}
	if opts.DeviceCodeLifetime < time.Second {
		opts.DeviceCodeLifetime = 15 * time.Minute
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("fakeentra: generating the signing key: %w", err)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fakeentra: %w", err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	sum := sha256.Sum256(der)
	s := &Server{
		opts:     opts,
		key:      key,
		kid:      base64.RawURLEncoding.EncodeToString(sum[:12]),
		miHeader: randomString(24),
		codes:    map[string]*deviceCode{},
		users:    map[string]*deviceCode{},
		refresh:  map[string]grant{},
	}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.srv.Listener.Close()
	s.srv.Listener = ln
	s.srv.StartTLS()
	return s, nil
}

// URL is the base URL, https://127.0.0.1:port.
func (s *Server) URL() string { return s.srv.URL }

// Authority is URL + "/" + tenant, the authority to give MSAL.
func (s *Server) Authority() string { return s.srv.URL + "/" + s.opts.TenantID }

// TenantID is the server's tenant.
func (s *Server) TenantID() string { return s.opts.TenantID }

// Client returns an HTTP client that trusts the server's certificate.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Certificate is the server's TLS certificate, for clients in other
// processes (add it to a x509.CertPool).
func (s *Server) Certificate() *x509.Certificate { return s.srv.Certificate() }

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// ManagedIdentityEndpoint and ManagedIdentityHeader are the values for
// IDENTITY_ENDPOINT and IDENTITY_HEADER that make MSAL's managed-identity
// client use this server as its App Service source (msal.md §3).
func (s *Server) ManagedIdentityEndpoint() string { return s.srv.URL + "/msi/identity" }

// ManagedIdentityHeader: see ManagedIdentityEndpoint.
func (s *Server) ManagedIdentityHeader() string { return s.miHeader }

// Approve marks the device code with this user code as signed in. It
// reports whether the code exists.
func (s *Server) Approve(userCode string) bool { return s.decide(userCode, true) }

// Decline marks the device code as declined by the user.
func (s *Server) Decline(userCode string) bool { return s.decide(userCode, false) }

func (s *Server) decide(userCode string, approve bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	dc, ok := s.users[normalizeUserCode(userCode)]
	if !ok {
		return false
	}
	dc.approved, dc.declined = approve, !approve
	return true
}

// Fail queues error answers for the next token, devicecode and
// managed-identity requests, one per request, in order.
func (s *Server) Fail(next ...Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, next...)
}

// Hits returns every request seen so far.
func (s *Server) Hits() []Hit {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Hit(nil), s.hits...)
}

// ResetHits forgets the requests seen so far.
func (s *Server) ResetHits() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hits = nil
}

// PublicKey is the key that verifies the server's tokens.
func (s *Server) PublicKey() *rsa.PublicKey { return &s.key.PublicKey }

// Issuer is the "iss" of the server's access tokens. It does not depend on
// the host name a request used.
func (s *Server) Issuer() string { return s.srv.URL + "/" + s.opts.TenantID + "/" }

// Mint signs an access token with the given claims.
func (s *Server) Mint(c Claims) (string, error) {
	if c.TenantID == "" {
		c.TenantID = s.opts.TenantID
	}
	if c.Audience == "" {
		c.Audience = s.opts.Audience
	}
	if c.Lifetime <= 0 {
		c.Lifetime = s.opts.TokenLifetime
	}
	if c.Subject == "" {
		c.Subject = stableGUID(c.UPN + "|" + c.AppID)
	}
	now := time.Now()
	m := jwt.MapClaims{
		"aud": c.Audience,
		"iss": s.Issuer(),
		"iat": now.Unix(),
		"nbf": now.Add(-5 * time.Minute).Unix(),
		"exp": now.Add(c.Lifetime).Unix(),
		"tid": c.TenantID,
		"oid": c.Subject,
		"sub": c.Subject,
		"ver": "1.0",
		"uti": randomString(16), // unique per token, as Entra ID's
	}
	if c.UPN != "" {
		m["upn"] = c.UPN
		m["preferred_username"] = c.UPN
		m["unique_name"] = c.UPN
	}
	if len(c.Scp) > 0 {
		m["scp"] = strings.Join(c.Scp, " ")
	}
	if len(c.Roles) > 0 {
		m["roles"] = c.Roles
	}
	if c.AppID != "" {
		m["appid"] = c.AppID
	}
	if c.AppName != "" {
		m["app_displayname"] = c.AppName
	}
	return s.sign(m)
}

func (s *Server) sign(m jwt.MapClaims) (string, error) {
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, m)
	t.Header["kid"] = s.kid
	return t.SignedString(s.key)
}

// ---------------------------------------------------------------------------
// HTTP

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	hit := Hit{Method: r.Method, Host: r.Host, Path: r.URL.Path}
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		if err := r.ParseForm(); err != nil {
			s.record(hit)
			oauthError(w, 400, "invalid_request", 900144, "The request body could not be parsed.")
			return
		}
		hit.GrantType = r.PostForm.Get("grant_type")
		hit.ClientID = r.PostForm.Get("client_id")
		hit.Scope = r.PostForm.Get("scope")
		hit.Claims = r.PostForm.Get("claims")
		switch {
		case r.PostForm.Get("client_secret") != "":
			hit.Credential = "secret"
		case r.PostForm.Get("client_assertion") != "":
			hit.Credential = "assertion"
		}
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/msi/identity":
		hit.ClientID = r.URL.Query().Get("client_id")
		hit.Scope = r.URL.Query().Get("resource")
		s.record(hit)
		s.managedIdentity(w, r)
	case r.Method == http.MethodGet && r.URL.Path == "/common/discovery/instance":
		s.record(hit)
		s.instanceDiscovery(w, r)
	case r.Method == http.MethodGet && len(parts) == 4 && parts[1] == "v2.0" && parts[2] == ".well-known" && parts[3] == "openid-configuration":
		s.record(hit)
		s.openIDConfiguration(w, r, parts[0])
	case r.Method == http.MethodGet && len(parts) == 4 && parts[1] == "discovery" && parts[3] == "keys":
		s.record(hit)
		s.keys(w)
	case r.Method == http.MethodPost && len(parts) == 4 && parts[1] == "oauth2" && parts[2] == "v2.0" && parts[3] == "devicecode":
		s.record(hit)
		if s.injected(w) || !s.tenantOK(w, parts[0]) {
			return
		}
		s.deviceCode(w, r)
	case r.Method == http.MethodPost && len(parts) == 4 && parts[1] == "oauth2" && parts[2] == "v2.0" && parts[3] == "token":
		s.record(hit)
		if s.injected(w) || !s.tenantOK(w, parts[0]) {
			return
		}
		s.token(w, r, parts[0])
	case r.URL.Path == "/devicelogin":
		s.record(hit)
		s.deviceLogin(w, r)
	default:
		s.record(hit)
		http.NotFound(w, r)
	}
}

func (s *Server) record(h Hit) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hits = append(s.hits, h)
}

// injected serves the next queued Failure, if any.
func (s *Server) injected(w http.ResponseWriter) bool {
	s.mu.Lock()
	if len(s.failures) == 0 {
		s.mu.Unlock()
		return false
	}
	f := s.failures[0]
	s.failures = s.failures[1:]
	s.mu.Unlock()
	status := f.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	desc := f.Description
	if f.AADSTS != 0 && !strings.HasPrefix(desc, "AADSTS") {
		desc = fmt.Sprintf("AADSTS%d: %s", f.AADSTS, desc)
	}
	oauthError(w, status, f.Error, f.AADSTS, desc)
	return true
}

// tenantOK answers AADSTS90002 for a tenant the server does not know.
// "organizations" and "common" are accepted as Entra ID does.
func (s *Server) tenantOK(w http.ResponseWriter, tenant string) bool {
	switch strings.ToLower(tenant) {
	case strings.ToLower(s.opts.TenantID), "organizations", "common":
		return true
	}
	oauthError(w, 400, "invalid_request", 90002,
		fmt.Sprintf("AADSTS90002: Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant))
	return false
}

func (s *Server) openIDConfiguration(w http.ResponseWriter, r *http.Request, tenant string) {
	switch strings.ToLower(tenant) {
	case strings.ToLower(s.opts.TenantID), "organizations", "common":
	default:
		oauthError(w, 400, "invalid_tenant", 90002,
			fmt.Sprintf("AADSTS90002: Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant))
		return
	}
	// Every URL is on the host the request named: MSAL checks that the issuer
	// matches the authority host. The token endpoint must not contain "token"
	// anywhere but its last segment: MSAL derives the devicecode endpoint with
	// strings.ReplaceAll(token_endpoint, "token", "devicecode") (msal.md §6.2).
	base := "https://" + r.Host + "/" + tenant
	writeJSON(w, 200, map[string]any{
		"issuer":                                base + "/v2.0",
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"device_authorization_endpoint":         base + "/oauth2/v2.0/devicecode",
		"jwks_uri":                              base + "/discovery/v2.0/keys",
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"tenant_region_scope":                   "NA",
	})
}

func (s *Server) instanceDiscovery(w http.ResponseWriter, r *http.Request) {
	ae, err := url.Parse(r.URL.Query().Get("authorization_endpoint"))
	if err != nil || ae.Host == "" {
		oauthError(w, 400, "invalid_instance", 50049, "AADSTS50049: Unknown or invalid instance.")
		return
	}
	tenant, _, _ := strings.Cut(strings.TrimPrefix(ae.Path, "/"), "/")
	writeJSON(w, 200, map[string]any{
		"tenant_discovery_endpoint": "https://" + ae.Host + "/" + tenant + "/v2.0/.well-known/openid-configuration",
		"api-version":               "1.1",
		"metadata": []map[string]any{{
			"preferred_network": ae.Host,
			"preferred_cache":   ae.Host,
			"aliases":           []string{ae.Host},
		}},
	})
}

func (s *Server) keys(w http.ResponseWriter) {
	pub := s.key.PublicKey
	writeJSON(w, 200, map[string]any{"keys": []map[string]any{{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": s.kid,
		"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}})
}

func (s *Server) deviceCode(w http.ResponseWriter, r *http.Request) {
	clientID := r.PostForm.Get("client_id")
	if clientID == "" {
		oauthError(w, 400, "invalid_request", 900144, "AADSTS900144: The request body must contain the following parameter: 'client_id'.")
		return
	}
	dc := &deviceCode{
		device:   randomString(48),
		user:     userCode(),
		clientID: clientID,
		scope:    r.PostForm.Get("scope"),
		expires:  time.Now().Add(s.opts.DeviceCodeLifetime),
		approved: s.opts.AutoApprove,
	}
	s.mu.Lock()
	s.codes[dc.device] = dc
	s.users[dc.user] = dc
	s.mu.Unlock()
	verify := s.srv.URL + "/devicelogin"
	writeJSON(w, 200, map[string]any{
		"device_code":      dc.device,
		"user_code":        dc.user,
		"verification_uri": verify,
		"expires_in":       int(s.opts.DeviceCodeLifetime / time.Second),
		"interval":         5,
		"message":          fmt.Sprintf("To sign in, use a web browser to open the page %s and enter the code %s to authenticate.", verify, dc.user),
	})
}

// deviceLogin is a stand-in for the sign-in page: POST user_code=… approves.
func (s *Server) deviceLogin(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && s.Approve(r.PostForm.Get("user_code")) {
		_, _ = fmt.Fprintln(w, "fakeentra: signed in; you can close this window.")
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = fmt.Fprintln(w, "fakeentra: this is a fake sign-in page; POST user_code=<code> to approve.")
}

func (s *Server) token(w http.ResponseWriter, r *http.Request, tenant string) {
	f := r.PostForm
	clientID := f.Get("client_id")
	if clientID == "" {
		oauthError(w, 400, "invalid_request", 900144, "AADSTS900144: The request body must contain the following parameter: 'client_id'.")
		return
	}
	switch f.Get("grant_type") {
	case "client_credentials":
		s.clientCredentials(w, r, tenant)
	case "device_code", "urn:ietf:params:oauth:grant-type:device_code":
		s.deviceCodeGrant(w, r)
	case "refresh_token":
		s.refreshGrant(w, r)
	default:
		oauthError(w, 400, "unsupported_grant_type", 70003, "AADSTS70003: The app requested an unsupported grant type '"+f.Get("grant_type")+"'.")
	}
}

func (s *Server) clientCredentials(w http.ResponseWriter, r *http.Request, tenant string) {
	f := r.PostForm
	clientID := f.Get("client_id")
	switch {
	case f.Get("client_secret") != "":
		if s.opts.ClientSecret != "" && f.Get("client_secret") != s.opts.ClientSecret {
			oauthError(w, 401, "invalid_client", 7000215,
				fmt.Sprintf("AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", clientID))
			return
		}
	case f.Get("client_assertion") != "":
		if f.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
			oauthError(w, 400, "invalid_request", 50027, "AADSTS50027: JWT token is invalid or malformed: unexpected client_assertion_type.")
			return
		}
		// The signature is not verified (the fake does not know the
		// registered certificate), but the assertion must be a JWT that
		// names this client, as Entra ID requires.
		if err := checkAssertion(f.Get("client_assertion"), clientID); err != nil {
			oauthError(w, 401, "invalid_client", 700027, "AADSTS700027: Client assertion failed signature validation or is malformed: "+err.Error())
			return
		}
	default:
		oauthError(w, 401, "invalid_client", 7000218, "AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return
	}
	at, err := s.Mint(Claims{AppID: clientID, AppName: s.opts.AppName, Roles: s.opts.Roles, Subject: stableGUID("app|" + clientID)})
	if err != nil {
		oauthError(w, 500, "server_error", 0, err.Error())
		return
	}
	writeJSON(w, 200, map[string]any{
		"token_type":     "Bearer",
		"expires_in":     int(s.opts.TokenLifetime.Seconds()),
		"ext_expires_in": int(s.opts.TokenLifetime.Seconds()),
		"access_token":   at,
	})
}

func checkAssertion(a, clientID string) error {
	parts := strings.Split(a, ".")
	if len(parts) != 3 || parts[2] == "" {
		return errors.New("not a signed JWT")
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	var body struct {
		Iss string `json:"iss"`
		Sub string `json:"sub"`
		Aud any    `json:"aud"`
		Exp int64  `json:"exp"`
	}
	if err := decodeSegment(parts[0], &hdr); err != nil || hdr.Alg == "" || hdr.Alg == "none" {
		return errors.New("bad JWT header")
	}
	if err := decodeSegment(parts[1], &body); err != nil {
		return errors.New("bad JWT payload")
	}
	if body.Iss != clientID || body.Sub != clientID {
		return errors.New("iss and sub must be the client id")
	}
	if body.Exp != 0 && time.Unix(body.Exp, 0).Before(time.Now()) {
		return errors.New("the assertion has expired")
	}
	return nil
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(seg, "="))
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func (s *Server) deviceCodeGrant(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	code := f.Get("device_code")
	if code == "" {
		code = f.Get("code")
	}
	s.mu.Lock()
	dc, ok := s.codes[code]
	var status string
	if ok {
		dc.polls++
		switch {
		case dc.clientID != f.Get("client_id"):
			status = "wrong_client"
		case time.Now().After(dc.expires):
			status = "expired"
		case dc.declined:
			status = "declined"
		case dc.polls <= s.opts.PendingPolls || !dc.approved:
			status = "pending"
		default:
			status = "ok"
			delete(s.codes, dc.device) // a device code is redeemed once
			delete(s.users, dc.user)
		}
	}
	s.mu.Unlock()
	switch {
	case !ok:
		oauthError(w, 400, "invalid_grant", 70000, "AADSTS70000: The provided value for the 'device_code' is not valid. The code may have been used already.")
	case status == "wrong_client":
		oauthError(w, 400, "invalid_grant", 70000, "AADSTS70000: The device code was issued to another client.")
	case status == "expired":
		oauthError(w, 400, "expired_token", 70020, "AADSTS70020: The provided value for the input parameter 'device_code' is not valid. This device code has expired.")
	case status == "declined":
		oauthError(w, 400, "authorization_declined", 70000, "AADSTS70000: The user declined the sign-in request.")
	case status == "pending":
		oauthError(w, 400, "authorization_pending", 70016, "AADSTS70016: OAuth 2.0 device flow error. Authorization is pending. Continue polling.")
	default:
		s.userTokens(w, r, dc.clientID, f.Get("scope"))
	}
}

func (s *Server) refreshGrant(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	s.mu.Lock()
	g, ok := s.refresh[f.Get("refresh_token")]
	s.mu.Unlock()
	if !ok || g.clientID != f.Get("client_id") {
		oauthError(w, 400, "invalid_grant", 9002313, "AADSTS9002313: Invalid request. Request is malformed or invalid.")
		return
	}
	// The old refresh token stays valid, as in Entra ID: two processes may
	// redeem the same one.
	s.userTokens(w, r, g.clientID, f.Get("scope"))
}

// userTokens answers a delegated token: access, refresh and ID token plus
// client_info, which MSAL needs to cache an account (msal.md §6.2).
func (s *Server) userTokens(w http.ResponseWriter, r *http.Request, clientID, scope string) {
	oid := stableGUID("user|" + strings.ToLower(s.opts.User))
	at, err := s.Mint(Claims{Subject: oid, UPN: s.opts.User, Scp: s.opts.Scopes})
	if err != nil {
		oauthError(w, 500, "server_error", 0, err.Error())
		return
	}
	now := time.Now()
	idt, err := s.sign(jwt.MapClaims{
		"aud":                clientID,
		"iss":                "https://" + r.Host + "/" + s.opts.TenantID + "/v2.0",
		"iat":                now.Unix(),
		"nbf":                now.Unix(),
		"exp":                now.Add(time.Hour).Unix(),
		"oid":                oid,
		"sub":                stableGUID("sub|" + oid + "|" + clientID),
		"tid":                s.opts.TenantID,
		"preferred_username": s.opts.User,
		"name":               displayName(s.opts.User),
		"ver":                "2.0",
	})
	if err != nil {
		oauthError(w, 500, "server_error", 0, err.Error())
		return
	}
	rt := randomString(64)
	s.mu.Lock()
	s.refresh[rt] = grant{clientID: clientID}
	s.mu.Unlock()
	ci, _ := json.Marshal(map[string]string{"uid": oid, "utid": s.opts.TenantID})
	writeJSON(w, 200, map[string]any{
		"token_type":     "Bearer",
		"scope":          scope,
		"expires_in":     int(s.opts.TokenLifetime.Seconds()),
		"ext_expires_in": int(s.opts.TokenLifetime.Seconds()),
		"access_token":   at,
		"refresh_token":  rt,
		"id_token":       idt,
		"client_info":    base64.RawURLEncoding.EncodeToString(ci),
	})
}

// managedIdentity answers like App Service's identity endpoint
// (api-version 2019-08-01), which MSAL picks when IDENTITY_ENDPOINT and
// IDENTITY_HEADER are set.
func (s *Server) managedIdentity(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-IDENTITY-HEADER") != s.miHeader {
		writeJSON(w, 401, map[string]any{"statusCode": 401, "message": "Unauthorized: the X-IDENTITY-HEADER is missing or wrong."})
		return
	}
	if s.injected(w) {
		return
	}
	q := r.URL.Query()
	if q.Get("resource") == "" {
		writeJSON(w, 400, map[string]any{"statusCode": 400, "message": "The resource parameter is required."})
		return
	}
	clientID := q.Get("client_id")
	if clientID == "" {
		clientID = systemAssignedClientID
	}
	at, err := s.Mint(Claims{AppID: clientID, AppName: s.opts.AppName, Roles: s.opts.Roles, Subject: stableGUID("mi|" + clientID)})
	if err != nil {
		writeJSON(w, 500, map[string]any{"statusCode": 500, "message": err.Error()})
		return
	}
	writeJSON(w, 200, map[string]any{
		"access_token": at,
		"expires_on":   strconv.FormatInt(time.Now().Add(s.opts.TokenLifetime).Unix(), 10),
		"resource":     q.Get("resource"),
		"token_type":   "Bearer",
		"client_id":    clientID,
	})
}

// ---------------------------------------------------------------------------
// helpers

func oauthError(w http.ResponseWriter, status int, code string, aadsts int, desc string) {
	body := map[string]any{
		"error_description": desc,
		"timestamp":         time.Now().UTC().Format("2006-01-02 15:04:05Z"),
		"trace_id":          stableGUID(randomString(8)),
		"correlation_id":    stableGUID(randomString(8)),
	}
	if code != "" {
		body["error"] = code
	}
	if aadsts != 0 {
		body["error_codes"] = []int{aadsts}
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func randomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}

// userCode is an Entra-style code: 9 characters without look-alikes.
func userCode() string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 9)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func normalizeUserCode(c string) string {
	return strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(c), "-", ""))
}

// stableGUID derives a GUID-shaped id from a string.
func stableGUID(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	h := hex.EncodeToString(sum[:16])
	return h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:32]
}

func displayName(upn string) string {
	name, _, _ := strings.Cut(upn, "@")
	parts := strings.FieldsFunc(name, func(r rune) bool { return r == '.' || r == '_' || r == '-' })
	for i, p := range parts {
		parts[i] = strings.ToUpper(p[:1]) + p[1:]
	}
	return strings.Join(parts, " ")
}
