package auth

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mdeactions/mdeactions/auth/fakeentra"
)

// TestExplainEntraErrors injects Entra ID's error answers into real MSAL
// flows and checks that Explain shows the AADSTS text verbatim plus a hint.
func TestExplainEntraErrors(t *testing.T) {
	traceLines := "\r\nTrace ID: 6c3e0a27-0f4c-4e8a-9c2b-1d0e5f6a7b8c\r\nCorrelation ID: 0d9b7e42-3f1a-4c6d-8e2f-9a0b1c2d3e4f\r\nTimestamp: 2026-01-02 03:04:05Z"
	for _, tc := range []struct {
		name    string
		mode    Mode
		failure fakeentra.Failure
		wantMsg string // verbatim in the message
		hint    string // in the hint
		signIn  bool   // errors.Is(err, ErrSignInRequired)
	}{
		{"conditional access blocks device code", ModeDeviceCode,
			fakeentra.Failure{Error: "access_denied", AADSTS: 53003, Description: "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance."},
			"AADSTS53003: Access has been blocked by Conditional Access policies.", "Conditional Access", false},
		{"public client flows off", ModeDeviceCode,
			fakeentra.Failure{Status: 401, Error: "invalid_client", AADSTS: 7000218, Description: "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."},
			"AADSTS7000218: The request body must contain the following parameter", "Allow public client flows", false},
		{"consent missing", ModeDeviceCode,
			fakeentra.Failure{Error: "invalid_grant", AADSTS: 65001, Description: "The user or administrator has not consented to use the application with ID '" + testClientID + "' named 'mdeactions'."},
			"AADSTS65001: The user or administrator has not consented", "Grant admin consent", false},
		{"app not in tenant", ModeSecret,
			fakeentra.Failure{Error: "unauthorized_client", AADSTS: 700016, Description: "Application with identifier '" + testClientID + "' was not found in the directory 'Contoso'."},
			"AADSTS700016: Application with identifier", "--client-id", false},
		{"tenant not found", ModeSecret,
			fakeentra.Failure{Error: "invalid_request", AADSTS: 90002, Description: "Tenant 'contoso.onmicrosft.com' not found."},
			"AADSTS90002: Tenant 'contoso.onmicrosft.com' not found.", "--tenant", false},
		{"invalid client secret", ModeSecret,
			fakeentra.Failure{Status: 401, Error: "invalid_client", AADSTS: 7000215, Description: "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID."},
			"AADSTS7000215: Invalid client secret provided.", "Value (not its Secret ID)", false},
		{"certificate not registered", ModeCertificate,
			fakeentra.Failure{Status: 401, Error: "invalid_client", AADSTS: 700027, Description: "The certificate with identifier used to sign the client assertion is not registered on application."},
			"AADSTS700027: The certificate with identifier", "upload the certificate", false},
		{"expired device code", ModeDeviceCode,
			fakeentra.Failure{Error: "expired_token", AADSTS: 70020, Description: "The provided value for the input parameter 'device_code' is not valid. This device code has expired."},
			"AADSTS70020: The provided value", "start the sign-in again", false},
		{"declined", ModeDeviceCode,
			fakeentra.Failure{Error: "authorization_declined", Description: "The user declined the sign-in."},
			"authorization_declined", "declined on the other device", false},
		{"invalid grant", ModeDeviceCode,
			fakeentra.Failure{Error: "invalid_grant", AADSTS: 70000, Description: "The provided value for the 'device_code' is not valid."},
			"AADSTS70000: The provided value", "sign in again", false},
		{"server error", ModeSecret,
			fakeentra.Failure{Status: 503, Error: "temporarily_unavailable", AADSTS: 90033, Description: "A transient error has occurred. Please try again."},
			"AADSTS90033: A transient error has occurred.", "try again", false},
		{"bare 500", ModeSecret, fakeentra.Failure{Status: 500}, "HTTP 500", "server error", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startFake(t, fakeentra.Options{AutoApprove: true, PendingPolls: -1})
			cfg, _, _ := fakeConfig(t, srv, tc.mode)
			cfg.Getenv = env("AZURE_CLIENT_SECRET", "abc-secret-value")
			cfg.CertificatePath = rsaPEM(t, false)
			src, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			f := tc.failure
			f.Description += traceLines
			ctx := ctxT(t)
			if dc, ok := src.(*DeviceCodeSource); ok {
				si, err := dc.StartSignIn(ctx)
				if err != nil {
					t.Fatal(err)
				}
				srv.Fail(f) // the first poll gets it
				_, err = si.Wait(ctx)
				checkExplained(t, err, tc.wantMsg, tc.hint)
				// The same answer to the device code request itself.
				srv.Fail(f)
				_, err = dc.StartSignIn(ctx)
				checkExplained(t, err, tc.wantMsg, tc.hint)
				return
			}
			srv.Fail(f)
			_, err = src.Token(ctx)
			checkExplained(t, err, tc.wantMsg, tc.hint)
		})
	}
}

func checkExplained(t *testing.T, err error, wantMsg, hint string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Errorf("%T is not an *auth.Error", err)
	}
	ex := Explain(err)
	if !strings.Contains(ex, wantMsg) {
		t.Errorf("Explain lacks %q:\n%s", wantMsg, ex)
	}
	if !strings.Contains(ex, "Trace ID: 6c3e0a27") && strings.Contains(wantMsg, "AADSTS") {
		t.Errorf("Explain dropped the trace id:\n%s", ex)
	}
	if !strings.Contains(ex, "\nHint: ") || !strings.Contains(ex[strings.Index(ex, "\nHint: "):], hint) {
		t.Errorf("Explain has no hint with %q:\n%s", hint, ex)
	}
	for _, bad := range []string{"http call(", "goroutine ", ".go:", "\r", "CallErr", "Verbose"} {
		if strings.Contains(ex, bad) {
			t.Errorf("Explain shows %q (MSAL internals):\n%s", bad, ex)
		}
	}
}

func TestExplainOtherErrors(t *testing.T) {
	srv := startFake(t, fakeentra.Options{})
	cfg, _, _ := fakeConfig(t, srv, ModeSecret)
	cfg.Getenv = env("AZURE_CLIENT_SECRET", "abc-secret-value")
	src, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv.Close() // nobody answers
	_, err = src.Token(ctxT(t))
	var ne *NetworkError
	if !errors.As(err, &ne) || !strings.Contains(Explain(err), "HTTPS_PROXY") || !strings.Contains(err.Error(), "cannot reach 127.0.0.1") {
		t.Fatalf("unreachable: %v\n%s", err, Explain(err))
	}

	// Not signed in.
	ex := Explain(&Error{Op: "silent sign-in", Err: ErrSignInRequired})
	if !strings.Contains(ex, "mdeactions login") {
		t.Fatalf("sign-in required: %s", ex)
	}
	// Someone else's error: cleaned, no hint, no token.
	ex = Explain(errors.New("boom \x1b[31mred\x1b[0m eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"))
	if strings.ContainsRune(ex, 0x1b) || strings.Contains(ex, "eyJ") || strings.Contains(ex, "Hint") {
		t.Fatalf("foreign error: %q", ex)
	}
	if Explain(nil) != "" {
		t.Fatal("Explain(nil) is not empty")
	}
	if !strings.Contains(Explain(context.DeadlineExceeded), "took too long") {
		t.Fatalf("deadline: %s", Explain(context.DeadlineExceeded))
	}
}

// TestNoSecretOrTokenInErrors makes the fake echo the secret, the client
// assertion and the access token in its error descriptions (a worst case:
// a proxy or a buggy server reflecting the request) and checks that no
// error string or explanation carries them.
func TestNoSecretOrTokenInErrors(t *testing.T) {
	const secret = "Zx8Q~verySecretValue.1234567890abcdef"
	srv := startFake(t, fakeentra.Options{AutoApprove: true, PendingPolls: -1})
	ctx := ctxT(t)
	var texts []string
	collect := func(err error) {
		if err == nil {
			t.Fatal("expected an error")
		}
		texts = append(texts, err.Error(), Explain(err))
	}

	// Secret: echoed back in the description.
	cfg, _, _ := fakeConfig(t, srv, ModeSecret)
	cfg.Getenv = env("AZURE_CLIENT_SECRET", secret)
	src, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := src.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	srv.Fail(fakeentra.Failure{Status: 401, Error: "invalid_client", AADSTS: 7000215, Description: "Invalid client secret '" + secret + "' for token " + tok})
	_, err = src.Refresh(ctx)
	collect(err)

	// Certificate: the assertion echoed back.
	cfg, g, _ := fakeConfig(t, srv, ModeCertificate)
	cfg.CertificatePath = rsaPEM(t, false)
	src, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Token(ctx); err != nil {
		t.Fatal(err)
	}
	assertion := g.formValues("client_assertion")[0]
	srv.Fail(fakeentra.Failure{Status: 401, Error: "invalid_client", AADSTS: 700027, Description: "Bad assertion " + assertion})
	_, err = src.Refresh(ctx)
	collect(err)
	if as := g.formValues("client_assertion"); len(as) == 2 {
		assertion2 := as[1]
		for _, s := range texts {
			if strings.Contains(s, assertion2) {
				t.Errorf("the client assertion is in an error:\n%s", s)
			}
		}
	}

	// Device code: the access and refresh tokens echoed back.
	cfg, _, _ = fakeConfig(t, srv, ModeDeviceCode)
	dc := newDeviceCode(t, cfg)
	if _, err := dc.Login(ctx, nil); err != nil {
		t.Fatal(err)
	}
	at, _ := dc.Token(ctx)
	srv.Fail(fakeentra.Failure{Error: "invalid_grant", AADSTS: 50173, Description: "Refresh failed for " + at})
	_, err = dc.Refresh(ctx)
	collect(err)

	for _, s := range texts {
		for name, v := range map[string]string{"secret": secret, "app token": tok, "assertion": assertion, "user token": at} {
			if strings.Contains(s, v) {
				t.Errorf("the %s is in an error:\n%s", name, s)
			}
			if len(v) > 40 && strings.Contains(s, v[:40]) {
				t.Errorf("a prefix of the %s is in an error:\n%s", name, s)
			}
		}
		if !strings.Contains(s, "[redacted]") && !strings.Contains(s, "[token]") {
			t.Errorf("nothing was redacted, so the test did not test anything:\n%s", s)
		}
	}
}

// TestExplainSaysItOnce: for the common failures, Explain reads as one
// message plus at most one hint: no developer prefix twice (the operation,
// "dial tcp <host>", "x509:", Go's context texts), and nothing said twice.
func TestExplainSaysItOnce(t *testing.T) {
	ctx := ctxT(t)
	srv := startFake(t, fakeentra.Options{AutoApprove: true, PendingPolls: -1})
	secretCfg := func(edit func(*Config)) Source {
		cfg, _, _ := fakeConfig(t, srv, ModeSecret)
		cfg.Getenv = env("AZURE_CLIENT_SECRET", "abc-secret-value")
		if edit != nil {
			edit(&cfg)
		}
		src, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return src
	}
	errs := map[string]error{}

	// Nobody listens.
	dead := startFake(t, fakeentra.Options{})
	src := secretCfg(func(c *Config) {
		c.Cloud.AuthorityHost, c.TenantID, c.HTTPClient = dead.URL(), dead.TenantID(), dead.Client()
	})
	dead.Close()
	_, errs["connection refused"] = src.Token(ctx)

	// The name does not resolve.
	src = secretCfg(func(c *Config) {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.DialContext = func(context.Context, string, string) (net.Conn, error) {
			return nil, &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "login.microsoftonline.com", IsNotFound: true}}
		}
		c.HTTPClient = &http.Client{Transport: tr}
	})
	_, errs["dns"] = src.Token(ctx)

	// A certificate that is not trusted (a TLS-inspecting proxy).
	src = secretCfg(func(c *Config) {
		c.HTTPClient = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{}}}
	})
	_, errs["untrusted certificate"] = src.Token(ctx)

	// Entra ID refuses.
	srv.Fail(fakeentra.Failure{Status: 401, Error: "invalid_client", AADSTS: 7000215, Description: "Invalid client secret provided."})
	_, errs["wrong secret"] = secretCfg(nil).Token(ctx)

	// Device code: not signed in, Conditional Access, a timeout, an
	// expired code, a revoked refresh token.
	dcCfg, _, _ := fakeConfig(t, srv, ModeDeviceCode)
	dc := newDeviceCode(t, dcCfg)
	_, errs["not signed in"] = dc.Token(ctx)
	srv.Fail(fakeentra.Failure{Error: "access_denied", AADSTS: 53003, Description: "Access has been blocked by Conditional Access policies."})
	_, errs["conditional access"] = dc.StartSignIn(ctx)
	pending := startFake(t, fakeentra.Options{PendingPolls: -1, DeviceCodeLifetime: time.Second})
	pcfg, _, _ := fakeConfig(t, pending, ModeDeviceCode)
	pdc := newDeviceCode(t, pcfg)
	si, err := pdc.StartSignIn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	_, errs["wait timed out"] = si.Wait(short)
	cancel()
	si, err = pdc.StartSignIn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, errs["code expired"] = si.Wait(ctx)
	if _, err := dc.Login(ctx, nil); err != nil {
		t.Fatal(err)
	}
	srv.Fail(fakeentra.Failure{Error: "invalid_grant", AADSTS: 50173, Description: "The provided grant has expired due to it being revoked."})
	_, errs["revoked"] = dc.Refresh(ctx)

	// The lock: this window's own sign-in, another terminal's.
	lcfg, _, _ := fakeConfig(t, pending, ModeDeviceCode)
	a, b := newDeviceCode(t, lcfg), newDeviceCode(t, lcfg)
	sa, err := a.StartSignIn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, errs["own sign-in open"] = a.Token(ctx)
	short, cancel = context.WithTimeout(ctx, 100*time.Millisecond)
	_, errs["another terminal"] = b.StartSignIn(short)
	cancel()
	sa.Abort()

	// Token from the environment.
	ecfg, _, _ := fakeConfig(t, srv, ModeTokenEnv)
	ecfg.Getenv = env("MDE_TOKEN", "eyJhbGciOiJub25lIn0.eyJ1cG4iOiJhQGIifQ.")
	esrc, _ := New(ecfg)
	if _, err := esrc.Token(ctx); err != nil {
		t.Fatal(err)
	}
	_, errs["token rejected"] = esrc.Refresh(ctx)
	ecfg.Getenv = env("MDE_TOKEN", `{"accessToken": "x"}`)
	esrc, _ = New(ecfg)
	_, errs["token is json"] = esrc.Token(ctx)
	ecfg.Getenv = env()
	esrc, _ = New(ecfg)
	_, errs["token unset"] = esrc.Token(ctx)

	// Managed identity: refused, and a plain-text 403.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	_ = ln.Close()
	setMITimeouts(t, 500*time.Millisecond, 10*time.Millisecond, 5*time.Second)
	t.Setenv("IDENTITY_HEADER", "h")
	miErr := func(endpoint string, hc *http.Client) error {
		t.Setenv("IDENTITY_ENDPOINT", endpoint)
		cfg, _, _ := fakeConfig(t, srv, ModeManagedIdentity)
		cfg.HTTPClient, cfg.ManagedIdentityClientID = hc, newGUID(t)
		src, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, err = src.Token(ctx)
		return err
	}
	errs["managed identity refused"] = miErr("http://"+closed+"/msi", nil)
	deny := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "resolve_deny: denied destination", http.StatusForbidden)
	}))
	defer deny.Close()
	errs["managed identity 403"] = miErr(deny.URL+"/msi", deny.Client())

	for name, err := range errs {
		t.Run(name, func(t *testing.T) {
			if err == nil {
				t.Fatal("no error")
			}
			ex := Explain(err)
			if n := strings.Count(ex, "\nHint: "); n > 1 {
				t.Errorf("%d hints:\n%s", n, ex)
			}
			var e *Error
			if errors.As(err, &e) && strings.Count(ex, e.Op+":") != 1 {
				t.Errorf("the operation %q is not said exactly once:\n%s", e.Op, ex)
			}
			for _, bad := range []string{"dial tcp", "context deadline exceeded", "context canceled", "x509:", "lookup ",
				`Get "`, `Post "`, "http call(", "ResolveEndpoints", "no bearer token:", "answered HTTP 403: 127.0.0.1"} {
				if strings.Contains(ex, bad) {
					t.Errorf("shows %q:\n%s", bad, ex)
				}
			}
			if rep := repeatedPhrase(ex, 4); rep != "" {
				t.Errorf("says %q twice:\n%s", rep, ex)
			}
		})
	}
}

// repeatedPhrase returns the first run of n words that occurs twice in s
// (case and punctuation ignored), or "".
func repeatedPhrase(s string, n int) string {
	words := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	})
	seen := map[string]bool{}
	for i := 0; i+n <= len(words); i++ {
		k := strings.Join(words[i:i+n], " ")
		if seen[k] {
			return k
		}
		seen[k] = true
	}
	return ""
}
