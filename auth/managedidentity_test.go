package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mdeactions/mdeactions/auth/fakeentra"
)

// MSAL reads the managed-identity variables with os.Getenv and keeps the
// tokens in a process-wide cache, so these tests use t.Setenv and a fresh
// user-assigned client id each run (-count=N reruns in one process).
func newGUID(t *testing.T) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	h := fmt.Sprintf("%x", b)
	return h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-8" + h[17:20] + "-" + h[20:32]
}

func TestManagedIdentityAppService(t *testing.T) {
	srv := startFake(t, fakeentra.Options{})
	t.Setenv("IDENTITY_ENDPOINT", srv.ManagedIdentityEndpoint())
	t.Setenv("IDENTITY_HEADER", srv.ManagedIdentityHeader())
	ctx := ctxT(t)

	cfg, _, _ := fakeConfig(t, srv, ModeManagedIdentity)
	cfg.TenantID, cfg.ClientID = "", "" // not needed for a managed identity
	cfg.ManagedIdentityClientID = newGUID(t)
	src, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := src.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkAppToken(t, srv, tok)
	if again, _ := src.Token(ctx); again != tok {
		t.Fatal("second Token is not from MSAL's cache")
	}
	hits := srv.Hits()
	if n := countPath(hits, "/msi/identity"); n != 1 {
		t.Fatalf("%d managed-identity requests for two Token calls, want 1", n)
	}
	h := hits[len(hits)-1]
	if h.Scope != "https://api.securitycenter.microsoft.com" || h.ClientID != cfg.ManagedIdentityClientID {
		t.Fatalf("identity request %+v: want the resource without /.default and the user-assigned client id", h)
	}
	if src.Identity() != "mdeactions automation" {
		t.Fatalf("Identity = %q", src.Identity())
	}
	fresh, err := src.Refresh(ctx)
	if err != nil || fresh == tok || countPath(srv.Hits(), "/msi/identity") != 2 {
		t.Fatalf("Refresh: %v, same token %v", err, fresh == tok)
	}
	if after, _ := src.Token(ctx); after != fresh {
		t.Fatal("Token after Refresh is not the refreshed token")
	}

	// A wrong IDENTITY_HEADER: the endpoint's answer, in plain words.
	t.Setenv("IDENTITY_HEADER", "wrong")
	cfg.ManagedIdentityClientID = newGUID(t)
	src, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.Token(ctx)
	if err == nil || !strings.Contains(err.Error(), "managed identity (AppService)") || !strings.Contains(err.Error(), "X-IDENTITY-HEADER") {
		t.Fatalf("wrong header: %v", err)
	}
}

func TestNothingProbesManagedIdentityUnlessChosen(t *testing.T) {
	srv := startFake(t, fakeentra.Options{AutoApprove: true, PendingPolls: -1})
	// A managed identity is available (and the IMDS address would be caught
	// by the guard), yet no other mode may touch it.
	t.Setenv("IDENTITY_ENDPOINT", srv.ManagedIdentityEndpoint())
	t.Setenv("IDENTITY_HEADER", srv.ManagedIdentityHeader())
	t.Setenv("MSI_ENDPOINT", srv.URL()+"/msi/identity")
	ctx := ctxT(t)

	for _, mode := range []Mode{ModeDeviceCode, ModeSecret, ModeCertificate, ModeTokenEnv, ""} {
		cfg, _, _ := fakeConfig(t, srv, mode)
		cfg.Getenv = env("AZURE_CLIENT_SECRET", "abc-secret", "MDE_TOKEN", "eyJhbGciOiJub25lIn0.eyJ1cG4iOiJhQGIifQ.")
		cfg.CertificatePath = rsaPEM(t, false)
		src, err := New(cfg)
		if err != nil {
			t.Fatalf("%q: %v", mode, err)
		}
		if dc, ok := src.(*DeviceCodeSource); ok {
			_, err = dc.Login(ctx, nil)
		} else {
			_, err = src.Token(ctx)
		}
		if err != nil {
			t.Fatalf("%q: %v", mode, err)
		}
		if _, err := src.Refresh(ctx); err != nil && mode != ModeTokenEnv {
			t.Fatalf("%q Refresh: %v", mode, err)
		}
	}
	if n := countPath(srv.Hits(), "/msi/identity"); n != 0 {
		t.Fatalf("%d managed-identity requests from other modes, want 0", n)
	}
}

// setMITimeouts shortens the managed-identity bounds for one test.
func setMITimeouts(t *testing.T, attempt, delay, total time.Duration) {
	oa, od, ot := miAttemptTimeout, miRetryDelay, miTotalTimeout
	miAttemptTimeout, miRetryDelay, miTotalTimeout = attempt, delay, total
	t.Cleanup(func() { miAttemptTimeout, miRetryDelay, miTotalTimeout = oa, od, ot })
}

// silentListener accepts connections and never answers; it counts them.
func silentListener(t *testing.T) (addr string, accepted *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted = &atomic.Int32{}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			mu.Lock()
			conns = append(conns, c) // held open, never answered
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return ln.Addr().String(), accepted
}

func TestManagedIdentityBoundsAreSensible(t *testing.T) {
	if miAttemptTimeout < 5*time.Second || miAttemptTimeout > 15*time.Second {
		t.Errorf("one managed-identity request may take %v; want 5–15 s", miAttemptTimeout)
	}
	worst := time.Duration(miAttempts)*miAttemptTimeout + time.Duration(miAttempts-1)*miRetryDelay
	if miTotalTimeout < worst {
		worst = miTotalTimeout
	}
	if worst > 40*time.Second {
		t.Errorf("a managed-identity Token call may take %v; want well under a minute", worst)
	}
}

// TestManagedIdentityEndpointThatNeverAnswers: an endpoint that accepts
// the connection and never answers used to hold Token for about three
// minutes (MSAL: 3 attempts of a minute each, plus the HTTP client's 60 s).
func TestManagedIdentityEndpointThatNeverAnswers(t *testing.T) {
	srv := startFake(t, fakeentra.Options{})
	addr, accepted := silentListener(t)
	endpoint := "http://" + addr + "/msi"
	t.Setenv("IDENTITY_ENDPOINT", endpoint)
	t.Setenv("IDENTITY_HEADER", "h")
	setMITimeouts(t, 300*time.Millisecond, 50*time.Millisecond, 10*time.Second)

	cfg, _, _ := fakeConfig(t, srv, ModeManagedIdentity)
	cfg.HTTPClient = nil // the production client: its own 60 s timeout must not matter
	cfg.TenantID, cfg.ClientID = "", ""
	cfg.ManagedIdentityClientID = newGUID(t)
	src, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = src.Token(ctxT(t))
	took := time.Since(start)
	if err == nil {
		t.Fatal("no error from an endpoint that never answers")
	}
	if took > 3*time.Second {
		t.Fatalf("Token took %v against an endpoint that never answers; want about 3 × 300 ms", took)
	}
	var ne *NetworkError
	if !errors.As(err, &ne) || !strings.Contains(err.Error(), endpoint+":") || strings.Contains(err.Error(), "resource=") {
		t.Fatalf("error %q: want a *NetworkError naming %s (without the query)", err, endpoint)
	}
	if n := accepted.Load(); n != int32(miAttempts) {
		t.Errorf("%d attempts, want %d", n, miAttempts)
	}
	ex := Explain(err)
	if !strings.Contains(ex, "no answer") || !strings.Contains(ex, "\nHint: a managed identity is only reachable") ||
		strings.Count(ex, endpoint) != 1 || strings.Contains(ex, "context deadline exceeded") {
		t.Fatalf("Explain:\n%s", ex)
	}

	// The total bound holds even when one attempt alone would be longer.
	setMITimeouts(t, 5*time.Second, 50*time.Millisecond, 400*time.Millisecond)
	start = time.Now()
	_, err = src.Refresh(ctxT(t))
	if took := time.Since(start); took > 2*time.Second || !errors.As(err, &ne) || !strings.Contains(err.Error(), endpoint) {
		t.Fatalf("Refresh with a 400 ms total: %v after %v", err, took)
	}

	// The caller's own cancellation is still a context error.
	ctx, cancel := context.WithTimeout(ctxT(t), 100*time.Millisecond)
	defer cancel()
	if _, err := src.Token(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Token with the caller's deadline: %v", err)
	}
}

// TestManagedIdentityPlainErrorSaidOnce: a non-JSON refusal (a proxy or a
// firewall in front of the endpoint) is said once, with who answered.
func TestManagedIdentityPlainErrorSaidOnce(t *testing.T) {
	srv := startFake(t, fakeentra.Options{})
	deny := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "resolve_deny: denied destination", http.StatusForbidden)
	}))
	t.Cleanup(deny.Close)
	t.Setenv("IDENTITY_ENDPOINT", deny.URL+"/msi")
	t.Setenv("IDENTITY_HEADER", "h")
	cfg, _, _ := fakeConfig(t, srv, ModeManagedIdentity)
	cfg.HTTPClient = deny.Client()
	cfg.TenantID, cfg.ClientID = "", ""
	cfg.ManagedIdentityClientID = newGUID(t)
	src, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.Token(ctxT(t))
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	if strings.Count(msg, "answered HTTP 403") != 1 || strings.Count(msg, "resolve_deny") != 1 || strings.Count(msg, "127.0.0.1") != 1 {
		t.Fatalf("error says it more than once (or not at all): %q", msg)
	}
	if ex := Explain(err); strings.Count(ex, "answered HTTP 403") != 1 {
		t.Fatalf("Explain: %s", ex)
	}
}

// TestManagedIdentityBypassesTheProxy: the instance metadata address is
// never sent through a proxy, also with an injected client (main injects
// one whose transport honours HTTPS_PROXY); a proxy would answer for it
// with its own refusal.
func TestManagedIdentityBypassesTheProxy(t *testing.T) {
	proxyURL, _ := url.Parse("http://proxy.example:3128")
	for name, hc := range map[string]*http.Client{
		"default":  nil,
		"injected": {Transport: &http.Transport{Proxy: http.ProxyURL(proxyURL)}, Timeout: time.Minute},
	} {
		c := Config{HTTPClient: hc}.managedIdentityHTTPClient()
		tr, ok := c.Transport.(*http.Transport)
		if !ok {
			t.Fatalf("%s: transport %T", name, c.Transport)
		}
		imds, _ := http.NewRequest(http.MethodGet, "http://169.254.169.254/metadata/identity/oauth2/token", nil)
		if u, err := tr.Proxy(imds); u != nil || err != nil {
			t.Errorf("%s: the IMDS request goes through %v (%v)", name, u, err)
		}
		if hc != nil {
			other, _ := http.NewRequest(http.MethodGet, "https://login.microsoftonline.com/", nil)
			if u, _ := tr.Proxy(other); u == nil || u.Host != "proxy.example:3128" {
				t.Errorf("%s: other requests lost the proxy: %v", name, u)
			}
			if c.Timeout != time.Minute || hc.Transport.(*http.Transport).Proxy == nil {
				t.Errorf("%s: the injected client was changed or its timeout lost", name)
			}
		}
	}
}
