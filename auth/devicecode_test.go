package auth

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mdeactions/mdeactions/auth/fakeentra"
)

func TestDeviceCodeSignInThenSilent(t *testing.T) {
	srv := startFake(t, fakeentra.Options{}) // two pending polls, approval by the test
	cfg, _, _ := fakeConfig(t, srv, ModeDeviceCode)
	src := newDeviceCode(t, cfg)
	ctx := ctxT(t)

	if src.Identity() != "" {
		t.Fatalf("Identity before sign-in = %q, want empty", src.Identity())
	}
	if _, err := src.Token(ctx); !errors.Is(err, ErrSignInRequired) {
		t.Fatalf("Token before sign-in: %v, want ErrSignInRequired", err)
	}
	if n := tokenPosts(srv.Hits()); n != 0 {
		t.Fatalf("Token before sign-in made %d token POSTs, want 0", n)
	}

	si, err := src.StartSignIn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if si.AlreadySignedIn || si.Code.UserCode == "" || !strings.HasPrefix(si.Code.VerificationURL, "https://") ||
		!strings.Contains(si.Code.Message, si.Code.UserCode) || time.Until(si.Code.ExpiresOn) < 10*time.Minute {
		t.Fatalf("device code %+v is incomplete", si.Code)
	}
	// The person signs in after a while; until then the fake says pending.
	go func() {
		time.Sleep(100 * time.Millisecond)
		srv.Approve(si.Code.UserCode)
	}()
	acct, err := si.Wait(ctx)
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if acct != "responder@contoso.com" || src.Identity() != acct {
		t.Fatalf("account %q, Identity %q; want responder@contoso.com", acct, src.Identity())
	}
	si.Abort() // after Wait: a no-op

	hits := srv.Hits()
	var devicecode, polls int
	for _, h := range hits {
		if strings.HasSuffix(h.Path, "/devicecode") {
			devicecode++
		}
		if strings.HasSuffix(h.Path, "/token") {
			polls++
			if h.GrantType != "device_code" || h.ClientID != testClientID || h.Credential != "" {
				t.Errorf("poll %+v: want grant_type device_code, our client id, and no client credential", h)
			}
			if !strings.Contains(h.Scope, "https://api.securitycenter.microsoft.com/.default") {
				t.Errorf("poll scope %q lacks the API scope", h.Scope)
			}
		}
	}
	if devicecode != 1 || polls < 3 {
		t.Fatalf("%d devicecode requests and %d polls; want 1 and at least 3 (two pending, then success)", devicecode, polls)
	}

	// Silent from now on: no token POSTs.
	before := tokenPosts(srv.Hits())
	tok1, err := src.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tok2, err := src.Token(ctx)
	if err != nil || tok2 != tok1 {
		t.Fatalf("second Token = %v, different token %v", err, tok2 != tok1)
	}
	if n := tokenPosts(srv.Hits()) - before; n != 0 {
		t.Fatalf("silent Token made %d token POSTs, want 0", n)
	}

	// A new source on the same cache file (a new process) is signed in too,
	// straight from the file.
	src2 := newDeviceCode(t, cfg)
	tok3, err := src2.Token(ctx)
	if err != nil {
		t.Fatalf("new source: %v", err)
	}
	if tok3 != tok1 || src2.Identity() != "responder@contoso.com" {
		t.Fatalf("new source: same token %v, Identity %q", tok3 == tok1, src2.Identity())
	}
	if n := tokenPosts(srv.Hits()) - before; n != 0 {
		t.Fatalf("the new source made %d token POSTs, want 0", n)
	}

	// File 0600 in a 0700 directory.
	fi, err := os.Stat(src.CachePath())
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("cache file mode %v, want 0600", fi.Mode().Perm())
	}
	di, err := os.Stat(filepath.Dir(src.CachePath()))
	if err != nil {
		t.Fatal(err)
	}
	if di.Mode().Perm() != 0o700 {
		t.Errorf("cache dir mode %v, want 0700", di.Mode().Perm())
	}
	if !strings.HasPrefix(filepath.Base(src.CachePath()), "msal_cache-127.0.0.1_") ||
		!strings.Contains(src.CachePath(), srv.TenantID()) || !strings.Contains(src.CachePath(), testClientID) {
		t.Errorf("cache path %s does not name cloud, tenant and client id", src.CachePath())
	}
}

func TestDeviceCodeCacheLocation(t *testing.T) {
	base := Config{Mode: ModeDeviceCode, TenantID: "contoso.onmicrosoft.com", ClientID: testClientID}
	for _, tc := range []struct {
		name string
		cfg  func(Config) Config
		want string
	}{
		{"xdg", func(c Config) Config { c.Getenv = env("XDG_STATE_HOME", "/x/state", "HOME", "/home/me"); return c },
			"/x/state/mdeactions/msal_cache-commercial-contoso.onmicrosoft.com-" + testClientID + ".json"},
		{"home", func(c Config) Config { c.Getenv = env("HOME", "/home/me"); return c },
			"/home/me/.local/state/mdeactions/msal_cache-commercial-contoso.onmicrosoft.com-" + testClientID + ".json"},
		{"relative xdg is ignored", func(c Config) Config {
			c.Getenv = env("XDG_STATE_HOME", "state", "HOME", "/home/me")
			c.Cloud = Cloud{Name: "gcchigh"}
			return c
		}, "/home/me/.local/state/mdeactions/msal_cache-gcchigh-contoso.onmicrosoft.com-" + testClientID + ".json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.cfg(base).resolve()
			if err != nil {
				t.Fatal(err)
			}
			dir, err := c.cacheDir()
			if err != nil {
				t.Fatal(err)
			}
			if got := filepath.Join(dir, c.cacheFileName()); got != tc.want {
				t.Fatalf("cache file %s, want %s", got, tc.want)
			}
		})
	}
}

func TestDeviceCodeDeclinedExpiredAndAborted(t *testing.T) {
	srv := startFake(t, fakeentra.Options{PendingPolls: -1})
	cfg, _, _ := fakeConfig(t, srv, ModeDeviceCode)
	src := newDeviceCode(t, cfg)
	ctx := ctxT(t)

	// Declined on the other device.
	si, err := src.StartSignIn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	srv.Decline(si.Code.UserCode)
	_, err = si.Wait(ctx)
	var ae *AADError
	if !errors.As(err, &ae) || ae.Code != "authorization_declined" || !strings.Contains(Explain(err), "declined") {
		t.Fatalf("declined: %v", err)
	}

	// Expired (Entra ID says so).
	si, err = src.StartSignIn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	srv.Fail(fakeentra.Failure{Error: "expired_token", AADSTS: 70020, Description: "The provided value for the input parameter 'device_code' is not valid. This device code has expired."})
	_, err = si.Wait(ctx)
	if !errors.As(err, &ae) || ae.Code != "expired_token" || !strings.Contains(Explain(err), "start the sign-in again") {
		t.Fatalf("expired: %v\n%s", err, Explain(err))
	}

	// Aborted while waiting (esc): Wait returns, the lock is free again.
	si, err = src.StartSignIn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := si.Wait(ctx); done <- err }()
	time.Sleep(80 * time.Millisecond)
	si.Abort()
	select {
	case err := <-done:
		if !errors.Is(err, ErrSignInAborted) {
			t.Fatalf("Wait after Abort: %v, want ErrSignInAborted", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Wait did not return after Abort")
	}
	si.Abort() // twice is fine

	// Aborted before Wait, and ctx cancelled while waiting.
	si, err = src.StartSignIn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	si.Abort()
	if _, err := si.Wait(ctx); !errors.Is(err, ErrSignInAborted) {
		t.Fatalf("Wait after an early Abort: %v", err)
	}
	si, err = src.StartSignIn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 150*time.Millisecond)
	defer cancel()
	if _, err := si.Wait(cctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait with an expiring ctx: %v", err)
	}

	// After all that the lock is free: a sign-in goes through at once.
	short, cancel2 := context.WithTimeout(ctx, 10*time.Second)
	defer cancel2()
	si, err = src.StartSignIn(short)
	if err != nil {
		t.Fatalf("StartSignIn after aborts: %v (lock not released?)", err)
	}
	srv.Approve(si.Code.UserCode)
	if _, err := si.Wait(short); err != nil {
		t.Fatal(err)
	}
}

func TestStartSignInWaitsForAnotherSignIn(t *testing.T) {
	srv := startFake(t, fakeentra.Options{PendingPolls: -1})
	cfg, _, _ := fakeConfig(t, srv, ModeDeviceCode)
	w := &warnings{}
	cfg.Warn = w.add
	a := newDeviceCode(t, cfg)
	b := newDeviceCode(t, cfg) // another "terminal" on the same cache
	ctx := ctxT(t)

	siA, err := a.StartSignIn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// b must wait for a's lock; with a short ctx it gives up cleanly.
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := b.StartSignIn(short); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(Explain(err), "another mdeactions") {
		t.Fatalf("StartSignIn while another sign-in holds the lock: %v", err)
	}
	if got := strings.Join(w.all(), "\n"); !strings.Contains(got, "waiting for another mdeactions sign-in") {
		t.Fatalf("no waiting notice: %q", got)
	}

	// Now b waits while a finishes; b then finds a's account in the cache.
	type result struct {
		si  *SignIn
		err error
	}
	got := make(chan result, 1)
	go func() { si, err := b.StartSignIn(ctx); got <- result{si, err} }()
	time.Sleep(100 * time.Millisecond)
	srv.Approve(siA.Code.UserCode)
	if _, err := siA.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	r := <-got
	if r.err != nil || !r.si.AlreadySignedIn {
		t.Fatalf("b after a signed in: %+v, %v; want AlreadySignedIn", r.si, r.err)
	}
	if acct, err := r.si.Wait(ctx); err != nil || acct != "responder@contoso.com" {
		t.Fatalf("b's Wait = %q, %v", acct, err)
	}
	if n := countPath(srv.Hits(), "/devicecode"); n != 1 {
		t.Fatalf("%d device codes requested, want 1", n)
	}
}

func TestLoginAndLogout(t *testing.T) {
	srv := startFake(t, fakeentra.Options{AutoApprove: true, PendingPolls: 1})
	cfg, _, _ := fakeConfig(t, srv, ModeDeviceCode)
	src := newDeviceCode(t, cfg)
	ctx := ctxT(t)

	var shown []DeviceCode
	acct, err := src.Login(ctx, func(c DeviceCode) { shown = append(shown, c) })
	if err != nil || acct != "responder@contoso.com" || len(shown) != 1 || shown[0].UserCode == "" {
		t.Fatalf("Login = %q, %v, shown %+v", acct, err, shown)
	}
	// Login again is silent: nothing shown.
	acct, err = src.Login(ctx, func(DeviceCode) { t.Error("a code was shown although the cache has a sign-in") })
	if err != nil || acct != "responder@contoso.com" {
		t.Fatalf("second Login = %q, %v", acct, err)
	}

	if err := src.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(src.CachePath()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("cache file after Logout: %v", err)
	}
	accts, err := src.client.Accounts(ctx)
	if err != nil || len(accts) != 0 {
		t.Fatalf("accounts after Logout: %d, %v", len(accts), err)
	}
	if _, err := src.Token(ctx); !errors.Is(err, ErrSignInRequired) {
		t.Fatalf("Token after Logout: %v, want ErrSignInRequired", err)
	}
	if src.Identity() != "" {
		t.Fatalf("Identity after Logout = %q", src.Identity())
	}
	// A second source on the same file is signed out as well.
	if _, err := newDeviceCode(t, cfg).Token(ctx); !errors.Is(err, ErrSignInRequired) {
		t.Fatalf("another source after Logout: %v", err)
	}
}

func TestDeviceCodeRefreshBypassesTheCache(t *testing.T) {
	srv := startFake(t, fakeentra.Options{AutoApprove: true, PendingPolls: -1})
	cfg, _, _ := fakeConfig(t, srv, ModeDeviceCode)
	src := newDeviceCode(t, cfg)
	ctx := ctxT(t)
	if _, err := src.Login(ctx, nil); err != nil {
		t.Fatal(err)
	}
	old, err := src.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	before := tokenPosts(srv.Hits())
	fresh, err := src.Refresh(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if fresh == old || fresh == "" {
		t.Fatal("Refresh returned the cached token")
	}
	hits := srv.Hits()[len(srv.Hits())-1:]
	if n := tokenPosts(srv.Hits()) - before; n != 1 || hits[0].GrantType != "refresh_token" || !strings.Contains(hits[0].Claims, `"nbf"`) {
		t.Fatalf("Refresh made %d token POSTs (last %+v); want one refresh_token grant with claims", n, hits[0])
	}
	// The new token replaced the old one, for this source and for the file.
	if tok, _ := src.Token(ctx); tok != fresh {
		t.Fatal("Token after Refresh is not the refreshed token")
	}
	if tok, _ := newDeviceCode(t, cfg).Token(ctx); tok != fresh {
		t.Fatal("a new source does not find the refreshed token in the file")
	}
	if n := tokenPosts(srv.Hits()) - before; n != 1 {
		t.Fatalf("%d token POSTs after Refresh, want 1", n)
	}
}

func TestDeviceCodeRevokedRefreshTokenMeansSignIn(t *testing.T) {
	srv := startFake(t, fakeentra.Options{AutoApprove: true, PendingPolls: -1})
	cfg, _, _ := fakeConfig(t, srv, ModeDeviceCode)
	src := newDeviceCode(t, cfg)
	ctx := ctxT(t)
	if _, err := src.Login(ctx, nil); err != nil {
		t.Fatal(err)
	}
	srv.Fail(fakeentra.Failure{Error: "invalid_grant", AADSTS: 50173, Description: "The provided grant has expired due to it being revoked, a fresh auth token is needed."})
	_, err := src.Refresh(ctx)
	if !errors.Is(err, ErrSignInRequired) || !isAAD(err, 50173) || !strings.Contains(err.Error(), "AADSTS50173: The provided grant has expired") {
		t.Fatalf("Refresh with a revoked refresh token: %v; want ErrSignInRequired with the AADSTS text", err)
	}
	// Consent withdrawn: still "sign in", but the hint names the cause.
	srv.Fail(fakeentra.Failure{Error: "invalid_grant", AADSTS: 65001, Description: "The user or administrator has not consented to use the application."})
	_, err = src.Refresh(ctx)
	if !errors.Is(err, ErrSignInRequired) || !strings.Contains(Explain(err), "Grant admin consent") {
		t.Fatalf("Refresh without consent: %v\n%s", err, Explain(err))
	}
	// A server error is not "sign in again".
	srv.Fail(fakeentra.Failure{Status: 503, Error: "temporarily_unavailable", Description: "AADSTS90033: A transient error has occurred."})
	_, err = src.Refresh(ctx)
	if errors.Is(err, ErrSignInRequired) || !isAAD(err, 90033) || !strings.Contains(Explain(err), "try again") {
		t.Fatalf("Refresh on a 503: %v\n%s", err, Explain(err))
	}
}

func TestNoCacheWritesNoFile(t *testing.T) {
	srv := startFake(t, fakeentra.Options{AutoApprove: true, PendingPolls: -1})
	cfg, _, _ := fakeConfig(t, srv, ModeDeviceCode)
	cfg.NoCache = true
	src := newDeviceCode(t, cfg)
	ctx := ctxT(t)
	if src.CachePath() != "" {
		t.Fatalf("CachePath with NoCache = %q", src.CachePath())
	}
	if _, err := src.Login(ctx, nil); err != nil {
		t.Fatal(err)
	}
	before := tokenPosts(srv.Hits())
	if _, err := src.Token(ctx); err != nil {
		t.Fatal(err)
	}
	src.memo.clear() // make MSAL's in-memory cache answer
	if _, err := src.Token(ctx); err != nil {
		t.Fatal(err)
	}
	if n := tokenPosts(srv.Hits()) - before; n != 0 {
		t.Fatalf("%d token POSTs with an in-memory cache, want 0", n)
	}
	entries, err := os.ReadDir(cfg.CacheDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Fatalf("NoCache wrote %d files into the cache dir: %v", len(entries), entries[0].Name())
	}
	if err := src.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Token(ctx); !errors.Is(err, ErrSignInRequired) {
		t.Fatalf("Token after Logout with NoCache: %v", err)
	}
}

func TestMemoDoesNotOutliveExpiry(t *testing.T) {
	// Tokens that live under MSAL's 5-minute margin are never served from
	// any cache; each Token call goes to the network.
	srv := startFake(t, fakeentra.Options{AutoApprove: true, PendingPolls: -1, TokenLifetime: 4 * time.Minute})
	cfg, _, _ := fakeConfig(t, srv, ModeDeviceCode)
	src := newDeviceCode(t, cfg)
	ctx := ctxT(t)
	if _, err := src.Login(ctx, nil); err != nil {
		t.Fatal(err)
	}
	before := tokenPosts(srv.Hits())
	a, _ := src.Token(ctx)
	b, _ := src.Token(ctx)
	if a == b || tokenPosts(srv.Hits())-before != 2 {
		t.Fatalf("short-lived tokens were cached (%d POSTs)", tokenPosts(srv.Hits())-before)
	}
}

// TestTokenDoesNotWaitForAnotherSignIn: while one terminal shows a device
// code (holding the cache lock for minutes), another that has a good token
// keeps working.
func TestTokenDoesNotWaitForAnotherSignIn(t *testing.T) {
	srv := startFake(t, fakeentra.Options{AutoApprove: true, PendingPolls: -1})
	cfg, _, _ := fakeConfig(t, srv, ModeDeviceCode)
	a := newDeviceCode(t, cfg)
	ctx := ctxT(t)
	if _, err := a.Login(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Token(ctx); err != nil {
		t.Fatal(err)
	}
	// Another terminal, signing in as someone else: it holds the lock.
	b := newDeviceCode(t, cfg)
	release, err := b.lock.lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := a.Token(short); err != nil {
		t.Fatalf("Token while another sign-in holds the lock: %v", err)
	}
}

// TestSigningInAsSomeoneElseReplacesTheAccount: one account per cache file.
func TestSigningInAsSomeoneElseReplacesTheAccount(t *testing.T) {
	tenant := "7e1c2d3a-1111-4222-8333-444455556666"
	// alice's access token is too short-lived to be used from the cache, and
	// her refresh token means nothing to bob's fake: bob's StartSignIn
	// cannot sign in silently.
	alice := startFake(t, fakeentra.Options{TenantID: tenant, User: "alice@contoso.com", AutoApprove: true, PendingPolls: -1, TokenLifetime: 4 * time.Minute})
	bob := startFake(t, fakeentra.Options{TenantID: tenant, User: "bob@contoso.com", AutoApprove: true, PendingPolls: -1})
	ctx := ctxT(t)
	dir := filepath.Join(t.TempDir(), "mdeactions")
	source := func(srv *fakeentra.Server) *DeviceCodeSource {
		cfg, _, _ := fakeConfig(t, srv, ModeDeviceCode)
		cfg.Cloud = Cloud{Name: "commercial"} // both fakes stand in for login.microsoftonline.com
		cfg.CacheDir = dir
		return newDeviceCode(t, cfg)
	}
	if acct, err := source(alice).Login(ctx, nil); err != nil || acct != "alice@contoso.com" {
		t.Fatalf("alice: %q, %v", acct, err)
	}
	b := source(bob)
	si, err := b.StartSignIn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !si.AlreadySignedIn {
		if acct, err := si.Wait(ctx); err != nil || acct != "bob@contoso.com" {
			t.Fatalf("bob: %q, %v", acct, err)
		}
	} else {
		t.Fatal("bob's sign-in found alice's account usable")
	}
	accts, err := b.client.Accounts(ctx)
	if err != nil || len(accts) != 1 || accts[0].PreferredUsername != "bob@contoso.com" {
		t.Fatalf("accounts after bob signed in: %+v, %v", accts, err)
	}
	b.memo.clear()
	if _, err := b.Token(ctx); err != nil || b.Identity() != "bob@contoso.com" {
		t.Fatalf("Token as bob: %v, Identity %q", err, b.Identity())
	}
}

func TestDeviceCodeExpiresWhileWaiting(t *testing.T) {
	srv := startFake(t, fakeentra.Options{DeviceCodeLifetime: time.Second})
	cfg, _, _ := fakeConfig(t, srv, ModeDeviceCode)
	src := newDeviceCode(t, cfg)
	ctx := ctxT(t) // no approval: the code runs out
	si, err := src.StartSignIn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = si.Wait(ctx)
	if !errors.Is(err, ErrCodeExpired) || !strings.Contains(Explain(err), "start the sign-in again") {
		t.Fatalf("Wait past the code's expiry: %v\n%s", err, Explain(err))
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Wait took %v for a code that expired after 1s", d)
	}
	// The lock is free again.
	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	si, err = src.StartSignIn(short)
	if err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	si.Abort()
}
