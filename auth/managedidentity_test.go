package auth

import (
	"crypto/rand"
	"fmt"
	"strings"
	"testing"

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
