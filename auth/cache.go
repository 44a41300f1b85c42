package auth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
)

// CacheError is a problem with the token cache file or its directory, with
// the command that fixes it.
type CacheError struct {
	Path    string
	Problem string // "is readable by other users (mode 0644)"
	Fix     string // "chmod 600 /home/me/.local/state/mdeactions/msal_cache-….json"
}

func (e *CacheError) Error() string {
	s := "token cache " + e.Path + ": " + e.Problem
	if e.Fix != "" {
		s += "\nFix: " + e.Fix
	}
	return s
}

// fileCache persists MSAL's token cache in one file (msal.md §4.3).
//
// MSAL calls Replace before every cache read and Replace → write → Export
// after every token from the network (msal.md §4.1). The accessor alone
// cannot stop two processes from losing each other's tokens in that window
// (§4.2): the device-code source holds the cross-process lock (lock.go)
// around every MSAL call, so this type does no locking of its own.
type fileCache struct {
	path string
	warn func(string)
}

var _ cache.ExportReplace = (*fileCache)(nil)

// emptyCache is what MSAL's Unmarshal turns into an empty cache.
var emptyCache = []byte("{}")

// Replace loads the file into MSAL. The file is the truth: when it is
// missing (never written, or removed by a logout in another terminal) the
// in-memory cache is emptied too. A file that does not parse is moved aside
// with a warning; MSAL would otherwise fail every call, even after fetching
// a token (msal.md §4.2).
func (f *fileCache) Replace(ctx context.Context, u cache.Unmarshaler, _ cache.ReplaceHints) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkPrivate(filepath.Dir(f.path), true); err != nil {
		return err
	}
	if err := checkPrivate(f.path, false); err != nil {
		return err
	}
	b, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && len(bytes.TrimSpace(b)) == 0) {
		return u.Unmarshal(emptyCache)
	}
	if err != nil {
		return &CacheError{Path: f.path, Problem: "cannot be read: " + pathlessError(err)}
	}
	if uerr := u.Unmarshal(b); uerr != nil {
		aside := f.path + ".corrupt-" + time.Now().UTC().Format("20060102T150405.000000000Z")
		if err := os.Rename(f.path, aside); err != nil {
			return &CacheError{Path: f.path, Problem: "is damaged and cannot be moved aside: " + pathlessError(err),
				Fix: "rm " + shellQuote(f.path) + "   (you will have to sign in again)"}
		}
		f.warn(fmt.Sprintf("the token cache %s was damaged (%s); it was moved aside to %s and you may have to sign in again",
			f.path, cleanText(redact(uerr.Error())), aside))
		return u.Unmarshal(emptyCache)
	}
	return nil
}

// Export writes the cache atomically: a temporary file (0600) in the same
// directory, synced, then renamed over the old one.
func (f *fileCache) Export(ctx context.Context, m cache.Marshaler, _ cache.ExportHints) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b, err := m.Marshal()
	if err != nil {
		return err
	}
	dir := filepath.Dir(f.path)
	if err := ensurePrivateDir(dir); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(f.path)+".tmp-*")
	if err != nil {
		return &CacheError{Path: f.path, Problem: "cannot be written: " + pathlessError(err)}
	}
	name := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			_ = tmp.Close()
			_ = os.Remove(name)
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return &CacheError{Path: f.path, Problem: "cannot be written: " + pathlessError(err)}
	}
	if _, err := tmp.Write(b); err != nil {
		return &CacheError{Path: f.path, Problem: "cannot be written: " + pathlessError(err)}
	}
	if err := tmp.Sync(); err != nil {
		return &CacheError{Path: f.path, Problem: "cannot be written: " + pathlessError(err)}
	}
	if err := tmp.Close(); err != nil {
		return &CacheError{Path: f.path, Problem: "cannot be written: " + pathlessError(err)}
	}
	if err := os.Rename(name, f.path); err != nil {
		return &CacheError{Path: f.path, Problem: "cannot be written: " + pathlessError(err)}
	}
	ok = true
	return nil
}

// ensurePrivateDir creates dir with mode 0700 if needed and refuses one
// that others can read.
func ensurePrivateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return &CacheError{Path: dir, Problem: "cannot be created: " + pathlessError(err)}
	}
	return checkPrivate(dir, true)
}

// pathlessError is the error without the *PathError prefix (the caller
// already names the file).
func pathlessError(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err.Error()
	}
	return err.Error()
}

// shellQuote quotes a path for a command the user may paste.
func shellQuote(s string) string {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '/' || r == '.' || r == '_' || r == '-') {
			return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
		}
	}
	return s
}
