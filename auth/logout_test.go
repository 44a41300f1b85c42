package auth

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mdeactions/mdeactions/auth/fakeentra"
)

// TestLogoutRemovesCorruptCopies: copies of the cache moved aside as
// damaged, and temporary files of an interrupted write, can hold refresh
// tokens; signing out removes them with the cache file.
func TestLogoutRemovesCorruptCopies(t *testing.T) {
	srv := startFake(t, fakeentra.Options{AutoApprove: true, PendingPolls: -1})
	cfg, _, _ := fakeConfig(t, srv, ModeDeviceCode)
	src := newDeviceCode(t, cfg)
	ctx := ctxT(t)
	if _, err := src.Login(ctx, nil); err != nil {
		t.Fatal(err)
	}
	path := src.CachePath()
	dir := filepath.Dir(path)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	extra := []string{
		path + ".corrupt-20260102T030405.000000000Z",
		path + ".corrupt-20260103T030405.000000000Z",
		filepath.Join(dir, "."+filepath.Base(path)+".tmp-123456"),
	}
	for _, f := range extra {
		if err := os.WriteFile(f, good, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// Someone else's files in the same directory stay.
	other := filepath.Join(dir, "msal_cache-commercial-other-tenant.json")
	if err := os.WriteFile(other, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}

	if err := src.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	for _, f := range append([]string{path}, extra...) {
		if _, err := os.Stat(f); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s is still there after Logout (%v)", filepath.Base(f), err)
		}
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("Logout removed another cache: %v", err)
	}
	if _, err := os.Stat(path + ".lock"); err != nil {
		t.Errorf("the lock file must stay: %v", err)
	}

	// LogoutFiles names what it removed.
	if _, err := src.Login(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(extra[0], good, 0o600); err != nil {
		t.Fatal(err)
	}
	removed, err := src.LogoutFiles(ctx)
	if err != nil || !slices.Equal(removed, []string{path, extra[0]}) {
		t.Fatalf("LogoutFiles = %v, %v; want the cache file and its corrupt copy", removed, err)
	}
	if msg := LogoutMessage(src.CachePath(), removed); !strings.Contains(msg, path) || !strings.Contains(msg, extra[0]) {
		t.Fatalf("LogoutMessage: %s", msg)
	}
}

// TestLogoutWithNothingSaved: no cache file means nothing to remove, and
// nothing is created (no directory, no lock file); NoCache has nothing on
// disk at all.
func TestLogoutWithNothingSaved(t *testing.T) {
	srv := startFake(t, fakeentra.Options{AutoApprove: true, PendingPolls: -1})
	cfg, _, _ := fakeConfig(t, srv, ModeDeviceCode)
	src := newDeviceCode(t, cfg)
	ctx := ctxT(t)

	if err := src.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cfg.CacheDir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Logout without a cache file created %s (%v)", cfg.CacheDir, err)
	}
	removed, err := src.LogoutFiles(ctx)
	if err != nil || len(removed) != 0 {
		t.Fatalf("LogoutFiles without a cache file = %v, %v; want nothing removed", removed, err)
	}
	if msg := LogoutMessage(src.CachePath(), removed); !strings.Contains(msg, "nothing to remove") || !strings.Contains(msg, src.CachePath()) {
		t.Fatalf("LogoutMessage: %s", msg)
	}
	// The directory exists (another tenant's cache), the file does not: no lock file either.
	if err := os.MkdirAll(cfg.CacheDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := src.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(src.CachePath() + ".lock"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Logout without a cache file created the lock file (%v)", err)
	}

	cfg.NoCache = true
	mem := newDeviceCode(t, cfg)
	if _, err := mem.Login(ctx, nil); err != nil {
		t.Fatal(err)
	}
	removed, err = mem.LogoutFiles(ctx)
	if err != nil || len(removed) != 0 {
		t.Fatalf("LogoutFiles with NoCache = %v, %v", removed, err)
	}
	if _, err := mem.Token(ctx); !errors.Is(err, ErrSignInRequired) {
		t.Fatalf("Token after LogoutFiles with NoCache: %v", err)
	}
	if msg := LogoutMessage(mem.CachePath(), removed); !strings.Contains(msg, "Nothing is saved") {
		t.Fatalf("LogoutMessage with NoCache: %s", msg)
	}
	if path, removed, err := SignOut(ctx, cfg); path != "" || len(removed) != 0 || err != nil {
		t.Fatalf("SignOut with NoCache = %q, %v, %v", path, removed, err)
	}
}

// TestLogoutRemovesAnUnsafeCache: a cache others can read is refused for
// use, but signing out must delete it: that is when removing it matters.
func TestLogoutRemovesAnUnsafeCache(t *testing.T) {
	srv := startFake(t, fakeentra.Options{AutoApprove: true, PendingPolls: -1})
	cfg, _, _ := fakeConfig(t, srv, ModeDeviceCode)
	ctx := ctxT(t)
	login := func() *DeviceCodeSource {
		t.Helper()
		src := newDeviceCode(t, cfg)
		if _, err := src.Login(ctx, nil); err != nil {
			t.Fatal(err)
		}
		return src
	}

	// File readable by others, noticed by a running source.
	src := login()
	if err := os.Chmod(src.CachePath(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := src.Logout(ctx); err != nil {
		t.Fatalf("Logout of a 0644 cache: %v", err)
	}
	if _, err := os.Stat(src.CachePath()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the 0644 cache is still there: %v", err)
	}

	// Directory others can list.
	src = login()
	dir := filepath.Dir(src.CachePath())
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	removed, err := src.LogoutFiles(ctx)
	if err != nil || len(removed) != 1 {
		t.Fatalf("LogoutFiles in a 0755 directory = %v, %v", removed, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}

	// New refuses the unsafe cache; SignOut (the same without New) removes it.
	src = login()
	if err := os.Chmod(src.CachePath(), 0o640); err != nil {
		t.Fatal(err)
	}
	var ce *CacheError
	if _, err := New(cfg); !errors.As(err, &ce) {
		t.Fatalf("New on a 0640 cache: %v, want a refusal", err)
	}
	path, removed, err := SignOut(ctx, cfg)
	if err != nil || path != src.CachePath() || !slices.Equal(removed, []string{path}) {
		t.Fatalf("SignOut = %q, %v, %v", path, removed, err)
	}
	if _, err := New(cfg); err != nil {
		t.Fatalf("New after SignOut: %v", err)
	}
}
