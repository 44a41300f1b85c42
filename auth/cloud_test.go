package auth

import (
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/mdeactions/mdeactions/auth/fakeentra"
)

func TestCloudTable(t *testing.T) {
	want := []Cloud{
		{"commercial", "https://login.microsoftonline.com", "https://api.securitycenter.microsoft.com/.default", "https://api.security.microsoft.com"},
		{"gcc", "https://login.microsoftonline.com", "https://api-gcc.securitycenter.microsoft.us/.default", "https://api-gcc.securitycenter.microsoft.us"},
		{"gcchigh", "https://login.microsoftonline.us", "https://api-gov.securitycenter.microsoft.us/.default", "https://api-gov.securitycenter.microsoft.us"},
		{"dod", "https://login.microsoftonline.us", "https://api-gov.securitycenter.microsoft.us/.default", "https://api-gov.securitycenter.microsoft.us"},
	}
	if got := Clouds(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Clouds() = %+v\nwant %+v", got, want)
	}
	Clouds()[0].Scope = "changed" // a copy
	if Clouds()[0].Scope != want[0].Scope {
		t.Fatal("Clouds() exposes the table itself")
	}
	for in, name := range map[string]string{"": "commercial", "Commercial": "commercial", "gcc": "gcc", "GCC-High": "gcchigh",
		"gcc_high": "gcchigh", "gcchigh": "gcchigh", " dod ": "dod"} {
		c, err := LookupCloud(in)
		if err != nil || c.Name != name {
			t.Errorf("LookupCloud(%q) = %q, %v; want %s", in, c.Name, err, name)
		}
	}
	_, err := LookupCloud("china")
	if err == nil || !strings.Contains(err.Error(), "commercial, gcc, gcchigh, dod") {
		t.Fatalf("LookupCloud(china) = %v, want the valid names", err)
	}

	for in, want := range map[string]string{
		"": "https://api.security.microsoft.com", "global": "https://api.security.microsoft.com",
		"us": "https://us.api.security.microsoft.com", "EU": "https://eu.api.security.microsoft.com",
		"uk": "https://uk.api.security.microsoft.com", "au": "https://au.api.security.microsoft.com",
		"swa": "https://swa.api.security.microsoft.com", "ina": "https://ina.api.security.microsoft.com",
		"aea": "https://aea.api.security.microsoft.com", "legacy": "https://api.securitycenter.microsoft.com",
	} {
		if got, err := RegionalAPIBase(in); err != nil || got != want {
			t.Errorf("RegionalAPIBase(%q) = %q, %v; want %s", in, got, err, want)
		}
	}
	if _, err := RegionalAPIBase("mars"); err == nil || !strings.Contains(err.Error(), "aea, au, eu, ina, legacy, swa, uk, us") {
		t.Fatalf("RegionalAPIBase(mars) = %v", err)
	}
}

// TestCloudTableAgainstTheFake keeps the production authority URLs, with
// instance discovery on, and rewrites the login hosts to the fake: every
// request must go to the cloud's own login host, for the cloud's scope.
func TestCloudTableAgainstTheFake(t *testing.T) {
	srv := startFake(t, fakeentra.Options{AutoApprove: true, PendingPolls: -1})
	ctx := ctxT(t)
	wantHost := map[string]string{"commercial": "login.microsoftonline.com", "gcc": "login.microsoftonline.com",
		"gcchigh": "login.microsoftonline.us", "dod": "login.microsoftonline.us"}
	for _, cloud := range Clouds() {
		for _, mode := range []Mode{ModeSecret, ModeDeviceCode} {
			t.Run(cloud.Name+"/"+string(mode), func(t *testing.T) {
				cfg, _, _ := fakeConfig(t, srv, mode)
				cfg.Cloud = Cloud{Name: cloud.Name} // the rest from the table
				cfg.DisableInstanceDiscovery = false
				cfg.Getenv = env("AZURE_CLIENT_SECRET", "abc-secret-value")
				srv.ResetHits()
				src, err := New(cfg)
				if err != nil {
					t.Fatal(err)
				}
				if dc, ok := src.(*DeviceCodeSource); ok {
					if _, err := dc.Login(ctx, nil); err != nil {
						t.Fatal(err)
					}
					if !strings.Contains(dc.CachePath(), "msal_cache-"+cloud.Name+"-") {
						t.Errorf("cache file %s does not name the cloud", dc.CachePath())
					}
				}
				if _, err := src.Token(ctx); err != nil {
					t.Fatal(err)
				}
				host := wantHost[cloud.Name]
				var sawToken, sawOIDC bool
				for _, h := range srv.Hits() {
					if h.Host != host {
						t.Errorf("%s %s went to %s, want %s", h.Method, h.Path, h.Host, host)
					}
					if strings.HasSuffix(h.Path, "/openid-configuration") {
						sawOIDC = true
						if !strings.HasPrefix(h.Path, "/"+srv.TenantID()+"/") {
							t.Errorf("OIDC configuration for %s, want the tenant", h.Path)
						}
					}
					if strings.HasSuffix(h.Path, "/token") && h.GrantType != "refresh_token" {
						sawToken = true
						if !strings.Contains(" "+h.Scope+" ", " "+cloud.Scope+" ") {
							t.Errorf("token request scope %q, want %s", h.Scope, cloud.Scope)
						}
					}
				}
				if !sawOIDC || !sawToken {
					t.Fatalf("hits %+v lack the OIDC configuration or the token request", srv.Hits())
				}
			})
		}
	}
}

func TestOverridesAndValidation(t *testing.T) {
	// Overrides win; the rest comes from the table.
	c, err := Config{Mode: ModeSecret, TenantID: "contoso.onmicrosoft.com", ClientID: testClientID,
		Cloud:  Cloud{Name: "gcchigh", Scope: "https://other/.default", AuthorityHost: "login.microsoftonline.us/"},
		Getenv: env("AZURE_CLIENT_SECRET", "x")}.resolve()
	if err != nil {
		t.Fatal(err)
	}
	if c.Cloud.AuthorityHost != "https://login.microsoftonline.us" || c.Cloud.Scope != "https://other/.default" ||
		c.Cloud.APIBase != "https://api-gov.securitycenter.microsoft.us" {
		t.Fatalf("resolved cloud %+v", c.Cloud)
	}
	// Tenant and client id from the environment.
	c, err = Config{Getenv: env("AZURE_TENANT_ID", "contoso.com", "AZURE_CLIENT_ID", strings.ToUpper(testClientID))}.resolve()
	if err != nil || c.TenantID != "contoso.com" || c.ClientID != testClientID || c.Mode != ModeDeviceCode || c.Cloud.Name != "commercial" {
		t.Fatalf("from the environment: %+v, %v", c, err)
	}

	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Mode: "kerberos"}, "unknown auth mode"},
		{Config{Cloud: Cloud{Name: "mars"}, TenantID: "t.com", ClientID: testClientID}, "unknown cloud"},
		{Config{Cloud: Cloud{Name: "commercial", AuthorityHost: "http://login.microsoftonline.com"}, TenantID: "t.com", ClientID: testClientID}, "not valid"},
		{Config{TenantID: "contoso", ClientID: testClientID}, "neither a GUID nor a domain"},
		{Config{TenantID: "t.com/../x", ClientID: testClientID}, "neither a GUID nor a domain"},
		{Config{TenantID: "t.com", ClientID: "mdeactions"}, "not a GUID"},
		{Config{Mode: ModeCertificate, TenantID: "t.com", ClientID: testClientID}, "AZURE_CLIENT_CERTIFICATE_PATH"},
		{Config{Mode: ModeManagedIdentity, ManagedIdentityClientID: "x"}, "not a GUID"},
	} {
		err := tc.cfg.Validate()
		var se *SetupError
		if !errors.As(err, &se) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%+v) = %v, want a *SetupError with %q", tc.cfg, err, tc.want)
		}
	}
	// Modes that need no tenant.
	for _, m := range []Mode{ModeTokenEnv, ModeManagedIdentity} {
		if err := (Config{Mode: m, Getenv: env()}).Validate(); err != nil {
			t.Errorf("%s without tenant: %v", m, err)
		}
	}
}

func TestFirstRunText(t *testing.T) {
	for _, mode := range []Mode{ModeDeviceCode, ModeSecret, ModeCertificate} {
		_, err := New(Config{Mode: mode, Getenv: env()})
		var se *SetupError
		if !errors.As(err, &se) {
			t.Fatalf("%s: New without tenant = %v, want a *SetupError", mode, err)
		}
		text := Explain(err)
		for _, w := range []string{"tenant id", "client id", "auth mode", "--tenant", "--client-id", "--auth",
			"AZURE_TENANT_ID", "AZURE_CLIENT_ID", "devicecode", "mdeactions --demo"} {
			if !strings.Contains(text, w) {
				t.Errorf("%s: first-run text lacks %q:\n%s", mode, w, text)
			}
		}
		if n := strings.Count(text, "\n") + 1; n > 8 {
			t.Errorf("first-run text has %d lines, want a few:\n%s", n, text)
		}
		for _, line := range strings.Split(text, "\n") {
			if len([]rune(line)) > 80 {
				t.Errorf("first-run line wider than 80 columns: %q", line)
			}
		}
	}
	// Only the client id missing: it says so.
	err := Config{TenantID: "contoso.com", Getenv: env()}.Validate()
	if err == nil || !strings.Contains(err.Error(), "missing: client id") {
		t.Fatalf("client id missing: %v", err)
	}
}

func TestParseMode(t *testing.T) {
	for in, want := range map[string]Mode{"": ModeDeviceCode, "devicecode": ModeDeviceCode, "device-code": ModeDeviceCode,
		"secret": ModeSecret, "certificate": ModeCertificate, "cert": ModeCertificate, "managed-identity": ModeManagedIdentity,
		"msi": ModeManagedIdentity, "token-env": ModeTokenEnv, "TOKEN-ENV": ModeTokenEnv} {
		if got, err := ParseMode(in); err != nil || got != want {
			t.Errorf("ParseMode(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseMode("password"); err == nil || !strings.Contains(err.Error(), "devicecode, secret, certificate, managed-identity, token-env") {
		t.Fatalf("ParseMode(password) = %v", err)
	}
}

func TestDefaultHTTPClientKeepsTheProxy(t *testing.T) {
	c := Config{}.httpClient()
	tr, ok := c.Transport.(*http.Transport)
	if !ok || tr == http.DefaultTransport || tr.Proxy == nil || c.Timeout <= 0 {
		t.Fatalf("default client %+v: want a clone of http.DefaultTransport with its Proxy func and a timeout", c)
	}
	injected := &http.Client{}
	if (Config{HTTPClient: injected}).httpClient() != injected {
		t.Fatal("an injected client is not used")
	}
	// The managed-identity client never proxies the metadata address.
	mt := Config{}.managedIdentityHTTPClient().Transport.(*http.Transport)
	u, _ := url.Parse("http://169.254.169.254/metadata/identity/oauth2/token")
	if p, err := mt.Proxy(&http.Request{URL: u}); p != nil || err != nil {
		t.Fatalf("IMDS through a proxy: %v, %v", p, err)
	}
}

func TestTokenEnv(t *testing.T) {
	vars := map[string]string{"MY_TOKEN": "Bearer eyJhbGciOiJub25lIn0.eyJ1cG4iOiJhbGljZUBjb250b3NvLmNvbSJ9."}
	src, err := New(Config{Mode: ModeTokenEnv, TokenEnv: "MY_TOKEN", Getenv: func(k string) string { return vars[k] }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	tok, err := src.Token(ctx)
	if err != nil || !strings.HasPrefix(tok, "eyJ") {
		t.Fatalf("Token = %q, %v", tok, err)
	}
	if src.Identity() != "alice@contoso.com" {
		t.Fatalf("Identity = %q", src.Identity())
	}
	// The same token again is no refresh.
	if _, err := src.Refresh(ctx); !errors.Is(err, ErrTokenRejected) || !strings.Contains(err.Error(), "MY_TOKEN") || strings.Contains(err.Error(), "eyJ") {
		t.Fatalf("Refresh with an unchanged variable: %v", err)
	}
	vars["MY_TOKEN"] = "eyJhbGciOiJub25lIn0.eyJ1cG4iOiJib2JAY29udG9zby5jb20ifQ."
	if fresh, err := src.Refresh(ctx); err != nil || fresh == tok {
		t.Fatalf("Refresh after the variable changed: %v", err)
	}
	// Unset: the EnvToken message, which names the variable and --demo.
	delete(vars, "MY_TOKEN")
	if _, err := src.Token(ctx); err == nil || !strings.Contains(err.Error(), "MY_TOKEN") || !strings.Contains(err.Error(), "--demo") {
		t.Fatalf("unset: %v", err)
	}
	// The default variable is MDE_TOKEN.
	src, _ = New(Config{Mode: ModeTokenEnv, Getenv: env("MDE_TOKEN", "abc")})
	if tok, err := src.Token(ctx); err != nil || tok != "abc" {
		t.Fatalf("MDE_TOKEN: %q, %v", tok, err)
	}
}
