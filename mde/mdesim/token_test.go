package mdesim

import (
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestTokenChecker(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	const iss = "https://127.0.0.1:1/tenant/v2.0"
	checker := TokenChecker{Issuers: map[string]*rsa.PublicKey{iss: &key.PublicKey}, Now: func() time.Time { return now }}

	mint := func(signer *rsa.PrivateKey, edit func(jwt.MapClaims)) string {
		c := jwt.MapClaims{"iss": iss, "aud": DefaultAudience, "exp": now.Add(time.Hour).Unix(), "nbf": now.Add(-time.Minute).Unix(),
			"scp": "Machine.Read Machine.Isolate", "upn": "alex@contoso.com"}
		if edit != nil {
			edit(c)
		}
		s, err := jwt.NewWithClaims(jwt.SigningMethodRS256, c).SignedString(signer)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	app := func(roles ...string) func(jwt.MapClaims) {
		return func(c jwt.MapClaims) {
			delete(c, "scp")
			delete(c, "upn")
			c["roles"] = roles
			c["app_displayname"] = "Contoso automation"
		}
	}
	hs256, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": iss, "aud": DefaultAudience, "exp": now.Add(time.Hour).Unix(), "roles": []string{"Machine.Read.All"}}).SignedString([]byte("k"))

	sim := New(Options{Seed: 1, Actions: 5, NoLimits: true, Authorize: checker.Authorize, Clock: NewManualClock(now)})
	id := sim.Actions()[0].ID
	for _, a := range sim.Actions() {
		if a.Status.Open() {
			id = a.ID
			break
		}
	}
	for _, tc := range []struct {
		name, method, path, token string
		want                      int
		body                      string
	}{
		{"delegated list", "GET", "/api/machineactions", mint(key, nil), 200, ""},
		{"app list", "GET", "/api/machineactions", mint(key, app("Machine.Read.All")), 200, ""},
		{"no header", "GET", "/api/machineactions", "", 401, ""},
		{"other signer", "GET", "/api/machineactions", mint(other, nil), 401, ""},
		{"untrusted issuer", "GET", "/api/machineactions", mint(key, func(c jwt.MapClaims) { c["iss"] = "https://evil/" }), 401, ""},
		{"wrong audience", "GET", "/api/machineactions", mint(key, func(c jwt.MapClaims) { c["aud"] = "https://graph.microsoft.com" }), 401, ""},
		{"expired", "GET", "/api/machineactions", mint(key, func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Minute).Unix() }), 401, ""},
		{"hs256", "GET", "/api/machineactions", hs256, 401, ""},
		{"garbage", "GET", "/api/machineactions", "not-a-jwt", 401, ""},
		{"list without read permission", "GET", "/api/machineactions", mint(key, func(c jwt.MapClaims) { c["scp"] = "Machine.Isolate" }), 403, ""},
		{"app cancel without action permission", "POST", "/api/machineactions/" + id + "/cancel", mint(key, app("Machine.Read.All")), 403, `{"Comment":"x"}`},
		{"app cancel", "POST", "/api/machineactions/" + id + "/cancel", mint(key, app("Machine.Read.All", "Machine.Scan")), 200, `{"Comment":"x"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			rec := httptest.NewRecorder()
			sim.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.want, rec.Body)
			}
			if tc.want == 403 && !strings.Contains(rec.Body.String(), `"code":"Forbidden"`) {
				t.Fatalf("403 body: %s", rec.Body)
			}
		})
	}
	a, _ := sim.Action(id)
	if a.CancellationRequestor() != "Contoso automation" {
		t.Fatalf("cancellationRequestor = %q, want the app's name", a.CancellationRequestor())
	}

	// A delegated cancel records the user's UPN.
	var id2 string
	for _, a := range sim.Actions() {
		if a.Status.Open() && a.ID != id {
			id2 = a.ID
			break
		}
	}
	req := httptest.NewRequest(http.MethodPost, "/api/machineactions/"+id2+"/cancel", strings.NewReader(`{"Comment":"x"}`))
	req.Header.Set("Authorization", "Bearer "+mint(key, nil))
	rec := httptest.NewRecorder()
	sim.ServeHTTP(rec, req)
	if a, _ := sim.Action(id2); rec.Code != 200 || a.CancellationRequestor() != "alex@contoso.com" {
		t.Fatalf("delegated cancel: %d, requestor %q", rec.Code, a.CancellationRequestor())
	}
}
