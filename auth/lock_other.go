//go:build !unix

package auth

import (
	"context"
	"os"
	"path/filepath"
)

// lockFile: without flock there is only the in-process lock; two processes
// sharing one cache may then cost a second sign-in (never corruption: the
// file is replaced atomically).
func lockFile(ctx context.Context, path string, strict bool, waiting func()) (func(), error) {
	if !strict {
		return func() {}, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, &CacheError{Path: path, Problem: "cannot be created: " + pathlessError(err)}
	}
	return func() {}, nil
}

// checkPrivate: Unix permission bits mean nothing here; the user profile
// directory's ACL protects the cache.
func checkPrivate(path string, dir bool) error { return nil }
