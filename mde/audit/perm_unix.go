//go:build unix

package audit

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"
)

// checkPrivate refuses an audit file or directory that is not a regular
// file (directory), belongs to another user, or that other users can
// access. fi is the open file's; nil means stat path, and a missing path
// is fine then.
func checkPrivate(path string, fi fs.FileInfo, dir bool) error {
	if fi == nil {
		var err error
		fi, err = os.Stat(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return &FileError{Path: path, Problem: "cannot be checked: " + pathless(err)}
		}
	}
	switch {
	case dir && !fi.IsDir():
		return &FileError{Path: path, Problem: "is not a directory"}
	case !dir && !fi.Mode().IsRegular():
		return &FileError{Path: path, Problem: "is not a regular file", Fix: "remove it, or choose another audit log path"}
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		fix := "chown it to yourself, or choose another audit log path"
		if dir {
			fix = "choose an audit log path in a directory of your own"
		}
		return &FileError{Path: path,
			Problem: fmt.Sprintf("belongs to another user (uid %d, you are %d)", st.Uid, os.Geteuid()),
			Fix:     fix}
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		fix, want := "chmod 600 "+shellQuote(path), "0600"
		switch {
		case dir && shared(fi):
			// /tmp and its kind must stay open to everyone: never advise
			// closing them, even to root.
			fix, want = "choose an audit log path in a directory of your own (mkdir -m 700 DIR), not a shared one", "0700"
		case dir:
			fix, want = "chmod 700 "+shellQuote(path), "0700"
		}
		return &FileError{Path: path,
			Problem: fmt.Sprintf("is accessible to other users (mode %04o, want %s); refusing to use it", perm, want),
			Fix:     fix}
	}
	return nil
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

// shared reports a directory meant for everyone, such as /tmp: sticky or
// writable by all.
func shared(fi fs.FileInfo) bool {
	return fi.Mode()&fs.ModeSticky != 0 || fi.Mode().Perm()&0o002 != 0
}
