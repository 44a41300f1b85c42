//go:build unix

package auth

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// lockFile takes an exclusive flock on path (created 0600 if missing),
// polling with LOCK_NB so that ctx can end the wait. The lock file is never
// removed: removing a lock file another process is waiting on would let two
// holders in at once. With strict, the directory is created if needed and
// refused if others can use it; without, it must exist and is not checked.
func lockFile(ctx context.Context, path string, strict bool, waiting func()) (func(), error) {
	if strict {
		if err := ensurePrivateDir(filepath.Dir(path)); err != nil {
			return nil, err
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, &CacheError{Path: path, Problem: "the lock file cannot be opened: " + pathlessError(err)}
	}
	fd := int(f.Fd())
	delay := 5 * time.Millisecond
	told := false
	for {
		err := syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				_ = syscall.Flock(fd, syscall.LOCK_UN)
				_ = f.Close()
			}, nil
		}
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			_ = f.Close()
			return nil, &CacheError{Path: path, Problem: "the lock file cannot be locked: " + err.Error()}
		}
		if !told && waiting != nil {
			waiting()
			told = true
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			_ = f.Close()
			return nil, ctx.Err()
		case <-t.C:
		}
		if delay < 200*time.Millisecond {
			delay *= 2
		}
	}
}

// checkPrivate refuses a cache file or directory that other users can read
// or write, or that belongs to someone else (umask or sudo -E accidents on
// shared jump hosts, msal.md §4.3). A missing one is fine.
func checkPrivate(path string, dir bool) error {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return &CacheError{Path: path, Problem: "cannot be checked: " + pathlessError(err)}
	}
	if dir != fi.IsDir() {
		want := "a file"
		if dir {
			want = "a directory"
		}
		return &CacheError{Path: path, Problem: "is not " + want}
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return &CacheError{Path: path,
			Problem: fmt.Sprintf("belongs to another user (uid %d, you are %d); refusing to read or write tokens there", st.Uid, os.Geteuid()),
			Fix:     "remove it, or use --no-cache"}
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		fix, mode := "chmod 600 "+shellQuote(path), "0600"
		switch {
		case dir && (fi.Mode()&fs.ModeSticky != 0 || fi.Mode().Perm()&0o002 != 0):
			// A shared directory such as /tmp must stay open: never
			// advise closing it, even to root.
			fix, mode = "put the token cache in a directory of your own (mkdir -m 700 DIR), not a shared one", "0700"
		case dir:
			fix, mode = "chmod 700 "+shellQuote(path), "0700"
		}
		return &CacheError{Path: path,
			Problem: fmt.Sprintf("is accessible to other users (mode %04o, want %s); refusing to use it, as it holds sign-in tokens", perm, mode),
			Fix:     fix}
	}
	return nil
}
