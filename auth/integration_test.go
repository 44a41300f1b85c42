package auth

import (
	"crypto/rsa"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mdeactions/mdeactions/auth/fakeentra"
	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/mde/mdesim"
)

// TestEveryModeListsAndCancelsAgainstTheSimulator runs the whole chain for
// each mode: the real MSAL code gets a token from the fake Entra ID, the mde
// client sends it to the simulator, and the simulator checks it as the API
// does (issuer, signature, audience, roles or scp). A cancel records the
// token's user or app as cancellationRequestor.
func TestEveryModeListsAndCancelsAgainstTheSimulator(t *testing.T) {
	srv := startFake(t, fakeentra.Options{ClientSecret: "s3cret-value"})
	checker := mdesim.TokenChecker{Issuers: map[string]*rsa.PublicKey{srv.Issuer(): srv.PublicKey()}}
	sim, err := mdesim.Start(mdesim.Options{Seed: 7, Actions: 60, NoLimits: true, Authorize: checker.Authorize})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })

	open := []string{}
	for _, a := range sim.Sim.Actions() {
		if a.Status.Open() {
			open = append(open, a.ID)
		}
	}
	if len(open) < 5 {
		t.Fatalf("only %d open actions in the simulated tenant", len(open))
	}

	minted, err := srv.Mint(fakeentra.Claims{UPN: "env.user@contoso.com", Scp: fakeentra.DefaultScopes})
	if err != nil {
		t.Fatal(err)
	}
	for i, tc := range []struct {
		mode Mode
		edit func(*Config)
		who  string
	}{
		{ModeDeviceCode, nil, "responder@contoso.com"},
		{ModeSecret, func(c *Config) { c.Getenv = env("AZURE_CLIENT_SECRET", "s3cret-value") }, "mdeactions automation"},
		{ModeCertificate, func(c *Config) { c.CertificatePath = rsaPEM(t, false) }, "mdeactions automation"},
		{ModeManagedIdentity, func(c *Config) {
			t.Setenv("IDENTITY_ENDPOINT", srv.ManagedIdentityEndpoint())
			t.Setenv("IDENTITY_HEADER", srv.ManagedIdentityHeader())
			c.TenantID, c.ClientID, c.ManagedIdentityClientID = "", "", newGUID(t)
		}, "mdeactions automation"},
		{ModeTokenEnv, func(c *Config) { c.Getenv = env("MDE_TOKEN", minted) }, "env.user@contoso.com"},
	} {
		t.Run(string(tc.mode), func(t *testing.T) {
			cfg, _, _ := fakeConfig(t, srv, tc.mode)
			if tc.edit != nil {
				tc.edit(&cfg)
			}
			src, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if dc, ok := src.(*DeviceCodeSource); ok {
				signIn(t, srv, dc)
			}
			client, err := mde.NewClient(sim.URL, nil, src)
			if err != nil {
				t.Fatal(err)
			}
			ctx := ctxT(t)
			got, err := client.List(ctx, mde.Query{Statuses: []mde.ActionStatus{mde.StatusPending, mde.StatusInProgress}})
			if err != nil {
				t.Fatalf("List with a %s token: %v", tc.mode, err)
			}
			if len(got) == 0 {
				t.Fatal("List returned nothing")
			}
			a, err := client.Cancel(ctx, open[i], "integration test")
			if err != nil {
				t.Fatalf("Cancel with a %s token: %v", tc.mode, err)
			}
			if a.Status != mde.StatusCancelled || a.CancellationRequestor() != tc.who {
				t.Fatalf("cancel recorded %q as %s, want %q", a.CancellationRequestor(), a.Status, tc.who)
			}
		})
	}

	// A token from an issuer the simulator does not trust is refused (401).
	other, err := fakeentra.Start(fakeentra.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	foreign, _ := other.Mint(fakeentra.Claims{UPN: "x@evil.example", Scp: fakeentra.DefaultScopes})
	client, _ := mde.NewClient(sim.URL, nil, mde.StaticToken(foreign))
	if _, err := client.List(ctxT(t), mde.Query{}); err == nil {
		t.Fatal("the simulator accepted a token from an untrusted issuer")
	} else if e, ok := mde.AsAPIError(err); !ok || e.StatusCode != 401 {
		t.Fatalf("untrusted issuer: %v, want 401", err)
	}
}

// TestA401MidSessionReacquiresOnce: the API refuses a token it accepted
// before (revoked, or expired early); the client gets a new one silently
// with the refresh token, retries once, and the user sees nothing.
func TestA401MidSessionReacquiresOnce(t *testing.T) {
	srv := startFake(t, fakeentra.Options{})
	checker := mdesim.TokenChecker{Issuers: map[string]*rsa.PublicKey{srv.Issuer(): srv.PublicKey()}}
	var refused atomic.Int32
	var revoked atomic.Value
	revoked.Store("")
	authorize := func(r *http.Request) (string, error) {
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if tok == revoked.Load().(string) {
			refused.Add(1)
			return "", errors.New("token revoked")
		}
		return checker.Authorize(r)
	}
	sim, err := mdesim.Start(mdesim.Options{Seed: 7, Actions: 20, NoLimits: true, Authorize: authorize})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })

	cfg, _, _ := fakeConfig(t, srv, ModeDeviceCode)
	dc := newDeviceCode(t, cfg)
	signIn(t, srv, dc)
	ctx := ctxT(t)
	first, err := dc.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	revoked.Store(first)
	client, _ := mde.NewClient(sim.URL, nil, dc)
	before := tokenPosts(srv.Hits())
	if _, err := client.List(ctx, mde.Query{}); err != nil {
		t.Fatalf("List after the token was revoked: %v", err)
	}
	if n := refused.Load(); n != 1 {
		t.Fatalf("the revoked token was sent %d times, want once", n)
	}
	if n := tokenPosts(srv.Hits()) - before; n != 1 {
		t.Fatalf("%d token requests to recover, want exactly 1 (a silent refresh)", n)
	}
	if now, _ := dc.Token(ctx); now == first {
		t.Fatal("the source still hands out the refused token")
	}
}
