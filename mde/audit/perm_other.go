//go:build !unix

package audit

import (
	"errors"
	"io/fs"
	"os"
)

// checkPrivate: Unix permission bits mean nothing here (the user profile
// directory's ACL protects the file); only the kind of file is checked.
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
	return nil
}
