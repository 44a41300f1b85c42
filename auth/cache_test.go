package auth

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"

	"github.com/mdeactions/mdeactions/auth/fakeentra"
)

func TestCacheRefusesFilesOthersCanRead(t *testing.T) {
	srv := startFake(t, fakeentra.Options{AutoApprove: true, PendingPolls: -1})
	cfg, _, _ := fakeConfig(t, srv, ModeDeviceCode)
	ctx := ctxT(t)
	src := newDeviceCode(t, cfg)
	if _, err := src.Login(ctx, nil); err != nil {
		t.Fatal(err)
	}
	path := src.CachePath()

	// A group-readable file: refused by New and by a running source.
	for _, mode := range []os.FileMode{0o640, 0o604, 0o620} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := New(cfg)
		var ce *CacheError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), "chmod 600 "+path) {
			t.Fatalf("mode %04o: New = %v, want a refusal with the chmod fix", mode, err)
		}
		src.memo.clear()
		_, err = src.Token(ctx)
		if !errors.As(err, &ce) || !strings.Contains(Explain(err), "chmod 600 "+path) {
			t.Fatalf("mode %04o: Token = %v, want a refusal with the chmod fix", mode, err)
		}
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}

	// A directory others can list.
	dir := filepath.Dir(path)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := New(cfg)
	if err == nil || !strings.Contains(err.Error(), "chmod 700 "+dir) {
		t.Fatalf("dir 0755: New = %v, want the chmod 700 fix", err)
	}
	// A shared one (as /tmp): never the advice to close it.
	if err := os.Chmod(dir, 0o1777); err != nil {
		t.Fatal(err)
	}
	if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "a directory of your own") || strings.Contains(err.Error(), "chmod 700") {
		t.Fatalf("dir 1777: New = %v, want advice to choose another directory", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := newDeviceCode(t, cfg).Token(ctx); err != nil {
		t.Fatalf("after the fix: %v", err)
	}
}

func TestCorruptCacheIsMovedAside(t *testing.T) {
	srv := startFake(t, fakeentra.Options{AutoApprove: true, PendingPolls: -1})
	cfg, _, w := fakeConfig(t, srv, ModeDeviceCode)
	ctx := ctxT(t)
	src := newDeviceCode(t, cfg)
	if err := os.MkdirAll(filepath.Dir(src.CachePath()), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(src.CachePath(), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}

	if _, err := src.Token(ctx); !errors.Is(err, ErrSignInRequired) {
		t.Fatalf("Token on a corrupt cache: %v, want ErrSignInRequired", err)
	}
	aside, _ := filepath.Glob(src.CachePath() + ".corrupt-*")
	if len(aside) != 1 {
		t.Fatalf("%d files moved aside, want 1", len(aside))
	}
	if b, _ := os.ReadFile(aside[0]); string(b) != "{not json" {
		t.Fatalf("the moved file holds %q", b)
	}
	warned := strings.Join(w.all(), "\n")
	if !strings.Contains(warned, "damaged") || !strings.Contains(warned, aside[0]) {
		t.Fatalf("warning %q does not say what happened", warned)
	}

	// Sign-in continues and writes a good file.
	if _, err := src.Login(ctx, nil); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(src.CachePath())
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil || v["RefreshToken"] == nil || v["Account"] == nil {
		t.Fatalf("cache after sign-in: %v, keys %v", err, v)
	}
	// No temporary files are left behind.
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(src.CachePath()), ".*tmp*"))
	if len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}

func TestCacheWriteIsAtomic(t *testing.T) {
	// Export writes a new file and renames it: a reader holding the old file
	// open keeps reading the old content, and the inode changes.
	dir := filepath.Join(t.TempDir(), "c")
	fc := &fileCache{path: filepath.Join(dir, "cache.json"), warn: func(string) {}}
	ctx := ctxT(t)
	if err := fc.Export(ctx, staticMarshaler(`{"a":1}`), cacheExportHints()); err != nil {
		t.Fatal(err)
	}
	old, err := os.Open(fc.path)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	if err := fc.Export(ctx, staticMarshaler(`{"b":2}`), cacheExportHints()); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 64)
	n, _ := old.Read(b)
	if string(b[:n]) != `{"a":1}` {
		t.Fatalf("the old file changed under its reader: %q (not written by rename)", b[:n])
	}
	now, _ := os.ReadFile(fc.path)
	if string(now) != `{"b":2}` {
		t.Fatalf("cache holds %q", now)
	}
	fi, _ := os.Stat(fc.path)
	di, _ := os.Stat(dir)
	if fi.Mode().Perm() != 0o600 || di.Mode().Perm() != 0o700 {
		t.Fatalf("modes %v and %v, want 0600 and 0700", fi.Mode().Perm(), di.Mode().Perm())
	}
}

type staticMarshaler string

func (s staticMarshaler) Marshal() ([]byte, error) { return []byte(s), nil }

func cacheExportHints() cache.ExportHints { return cache.ExportHints{} }
