//go:build unix

package audit

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// withUmask runs with umask 0, so that the modes Open asks for show as
// they are (tests in this package do not run in parallel).
func withUmask0(t *testing.T) {
	old := syscall.Umask(0)
	t.Cleanup(func() { syscall.Umask(old) })
}

func TestOpenCreatesPrivateDirAndFile(t *testing.T) {
	withUmask0(t)
	_, path := openTemp(t)
	for _, c := range []struct {
		p    string
		want os.FileMode
	}{{filepath.Dir(path), 0o700}, {path, 0o600}} {
		fi, err := os.Stat(c.p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != c.want {
			t.Errorf("%s: mode %04o, want %04o", c.p, got, c.want)
		}
	}
}

func TestOpenRefusesGroupReadableFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "my state")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, FileName)
	if err := os.WriteFile(path, []byte{}, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	l, err := Open(path)
	if err == nil {
		l.Close()
		t.Fatal("Open accepted a group-readable file")
	}
	if !errors.Is(err, ErrAuditUnavailable) {
		t.Errorf("err = %v, want ErrAuditUnavailable", err)
	}
	mustContain(t, err.Error(), "mode 0640")
	mustContain(t, err.Error(), "Fix: chmod 600 '"+path+"'")
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
		t.Errorf("Open changed the mode to %04o", fi.Mode().Perm())
	}
	// Fixed as told, it opens.
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	l, err = Open(path)
	if err != nil {
		t.Fatalf("after the fix: %v", err)
	}
	l.Close()
}

func TestOpenRefusesOpenDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mdeactions")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := Open(filepath.Join(dir, FileName))
	if !errors.Is(err, ErrAuditUnavailable) {
		t.Fatalf("err = %v", err)
	}
	mustContain(t, err.Error(), "Fix: chmod 700 "+dir)
	if _, serr := os.Stat(filepath.Join(dir, FileName)); !errors.Is(serr, os.ErrNotExist) {
		t.Errorf("the file was created in a refused directory")
	}
}

// A shared directory (sticky and open to all, as /tmp) is refused with
// advice to choose one's own, never to close it: as root, chmod 700 /tmp
// would break every other user of the machine.
func TestOpenInASharedDirectoryAdvisesAnotherOne(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "shared")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o1777); err != nil {
		t.Fatal(err)
	}
	_, err := Open(filepath.Join(dir, FileName))
	if !errors.Is(err, ErrAuditUnavailable) {
		t.Fatalf("err = %v", err)
	}
	mustContain(t, err.Error(), "a directory of your own")
	if strings.Contains(err.Error(), "chmod") {
		t.Fatalf("advice to chmod a shared directory: %v", err)
	}
}

func TestOpenRefusesNonRegularFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mdeactions")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, FileName)
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skip("no FIFO:", err)
	}
	_, err := Open(path) // must not block on the FIFO
	if !errors.Is(err, ErrAuditUnavailable) || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("err = %v", err)
	}
}

// A read-only directory: Open fails, so nothing can be sent.
func TestReadOnlyDirFailsClosed(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes to read-only directories; TestUnwritablePathFailsClosed covers this case")
	}
	dir := filepath.Join(t.TempDir(), "mdeactions")
	if err := os.Mkdir(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o700) })
	l, err := Open(filepath.Join(dir, FileName))
	if !errors.Is(err, ErrAuditUnavailable) {
		t.Fatalf("Open = %v", err)
	}
	svc := &fakeSvc{}
	if _, err := Wrap(svc, l, testCtx, nil).Cancel(context.Background(), "x", "c"); !errors.Is(err, ErrAuditUnavailable) || svc.calls.Load() != 0 {
		t.Fatalf("err = %v, calls = %d", err, svc.calls.Load())
	}
}

// A file the user cannot write (0400 after a mistaken chmod): Open fails.
func TestReadOnlyFileFailsClosed(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes to read-only files")
	}
	l, path := openTemp(t)
	l.Close()
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path); !errors.Is(err, ErrAuditUnavailable) {
		t.Fatalf("Open = %v", err)
	}
}
