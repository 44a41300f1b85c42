package fakeentra

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func start(t *testing.T, o Options) *Server {
	t.Helper()
	s, err := Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func getJSON(t *testing.T, s *Server, path string, v any) int {
	t.Helper()
	resp, err := s.Client().Get(s.URL() + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode
}

func postForm(t *testing.T, s *Server, path string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := s.Client().PostForm(s.URL()+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func TestServerBasics(t *testing.T) {
	s := start(t, Options{})
	if !strings.HasPrefix(s.URL(), "https://127.0.0.1:") || s.Authority() != s.URL()+"/"+DefaultTenantID || s.TenantID() != DefaultTenantID {
		t.Fatalf("URL %s, Authority %s", s.URL(), s.Authority())
	}
	var oidc map[string]any
	if code := getJSON(t, s, "/"+DefaultTenantID+"/v2.0/.well-known/openid-configuration", &oidc); code != 200 {
		t.Fatalf("OIDC configuration: HTTP %d", code)
	}
	te := oidc["token_endpoint"].(string)
	// MSAL finds the devicecode endpoint by replacing every "token" in it.
	if strings.Count(te, "token") != 1 || !strings.HasSuffix(te, "/oauth2/v2.0/token") {
		t.Fatalf("token_endpoint %q must contain 'token' only at its end", te)
	}
	if !strings.HasPrefix(oidc["issuer"].(string), s.URL()) {
		t.Fatalf("issuer %v is not on the server's host", oidc["issuer"])
	}
	var bad map[string]any
	if code := getJSON(t, s, "/00000000-0000-0000-0000-000000000000/v2.0/.well-known/openid-configuration", &bad); code != 400 ||
		!strings.Contains(bad["error_description"].(string), "AADSTS90002") {
		t.Fatalf("unknown tenant: HTTP %d %v", code, bad)
	}
	if s.Approve("NOPE") || s.Decline("NOPE") {
		t.Fatal("an unknown user code was approved")
	}
}

func TestMintAndAppTokens(t *testing.T) {
	s := start(t, Options{TokenLifetime: 10 * time.Minute})
	tok, err := s.Mint(Claims{UPN: "a@b.c", Scp: []string{"Machine.Read"}})
	if err != nil {
		t.Fatal(err)
	}
	claims := jwt.MapClaims{}
	_, err = jwt.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return s.PublicKey(), nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer(s.Issuer()), jwt.WithAudience(DefaultAudience), jwt.WithExpirationRequired())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"tid", "oid", "sub", "nbf", "iat", "exp", "upn", "preferred_username", "scp"} {
		if claims[k] == nil {
			t.Errorf("delegated token lacks %s", k)
		}
	}

	code, m := postForm(t, s, "/"+DefaultTenantID+"/oauth2/v2.0/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {"c1"}, "scope": {"https://api.securitycenter.microsoft.com/.default"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion":      {"not-a-jwt"},
	})
	if code != 401 || !strings.Contains(m["error_description"].(string), "AADSTS700027") {
		t.Fatalf("a malformed assertion: HTTP %d %v", code, m)
	}
	code, m = postForm(t, s, "/"+DefaultTenantID+"/oauth2/v2.0/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {"c1"}, "scope": {"x/.default"}})
	if code != 401 || !strings.Contains(m["error_description"].(string), "AADSTS7000218") {
		t.Fatalf("no credential: HTTP %d %v", code, m)
	}
	code, m = postForm(t, s, "/"+DefaultTenantID+"/oauth2/v2.0/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {"c1"}, "scope": {"x/.default"}, "client_secret": {"s"}})
	if code != 200 {
		t.Fatalf("secret: HTTP %d %v", code, m)
	}
	claims = jwt.MapClaims{}
	if _, err := jwt.ParseWithClaims(m["access_token"].(string), claims, func(*jwt.Token) (any, error) { return s.PublicKey(), nil }); err != nil {
		t.Fatal(err)
	}
	if claims["appid"] != "c1" || claims["app_displayname"] != "mdeactions automation" || claims["roles"] == nil || claims["scp"] != nil {
		t.Fatalf("app token claims %v", claims)
	}
}

func TestDeviceFlowAndInjection(t *testing.T) {
	s := start(t, Options{PendingPolls: 1})
	tenant := "/" + DefaultTenantID
	code, dc := postForm(t, s, tenant+"/oauth2/v2.0/devicecode", url.Values{"client_id": {"c1"}, "scope": {"x/.default openid"}})
	if code != 200 || dc["user_code"] == "" || !strings.Contains(dc["message"].(string), dc["user_code"].(string)) {
		t.Fatalf("devicecode: HTTP %d %v", code, dc)
	}
	poll := func() (int, map[string]any) {
		return postForm(t, s, tenant+"/oauth2/v2.0/token", url.Values{"grant_type": {"device_code"}, "client_id": {"c1"},
			"device_code": {dc["device_code"].(string)}, "scope": {"x/.default openid"}})
	}
	for i := 0; i < 3; i++ { // one pending poll, then pending until approved
		if code, m := poll(); code != 400 || m["error"] != "authorization_pending" {
			t.Fatalf("poll %d: HTTP %d %v", i, code, m)
		}
	}
	// Approval through the stand-in sign-in page.
	resp, err := s.Client().PostForm(s.URL()+"/devicelogin", url.Values{"user_code": {dc["user_code"].(string)}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	s.Fail(Failure{Status: 500, Error: "server_error", Description: "boom", AADSTS: 90033})
	if code, m := poll(); code != 500 || m["error_description"] != "AADSTS90033: boom" {
		t.Fatalf("injected failure: HTTP %d %v", code, m)
	}
	code, m := poll()
	if code != 200 || m["id_token"] == nil || m["client_info"] == nil || m["refresh_token"] == nil || m["scope"] != "x/.default openid" {
		t.Fatalf("after approval: HTTP %d %v", code, m)
	}
	// Redeemed once only.
	if code, m := poll(); code != 400 || m["error"] != "invalid_grant" {
		t.Fatalf("second redemption: HTTP %d %v", code, m)
	}
	// The refresh token works and gives a different access token.
	code, r := postForm(t, s, tenant+"/oauth2/v2.0/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {"c1"},
		"refresh_token": {m["refresh_token"].(string)}, "scope": {"x/.default"}})
	if code != 200 || r["access_token"] == m["access_token"] {
		t.Fatalf("refresh: HTTP %d", code)
	}
	hits := s.Hits()
	last := hits[len(hits)-1]
	if last.GrantType != "refresh_token" || last.ClientID != "c1" || last.Host != strings.TrimPrefix(s.URL(), "https://") {
		t.Fatalf("last hit %+v", last)
	}
}

func TestManagedIdentityEndpoint(t *testing.T) {
	s := start(t, Options{})
	req, _ := http.NewRequest(http.MethodGet, s.ManagedIdentityEndpoint()+"?api-version=2019-08-01&resource=https://api.securitycenter.microsoft.com", nil)
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("without X-IDENTITY-HEADER: HTTP %d", resp.StatusCode)
	}
	req.Header.Set("X-IDENTITY-HEADER", s.ManagedIdentityHeader())
	resp, err = s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	if resp.StatusCode != 200 || m["access_token"] == nil || m["expires_on"] == nil {
		t.Fatalf("HTTP %d %v", resp.StatusCode, m)
	}
}
