package audit

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mdeactions/mdeactions/mde"
)

// fakeSvc is a Canceller that answers with a fixed action and error and
// counts its calls.
type fakeSvc struct {
	calls  atomic.Int32
	answer func(id, comment string) (mde.MachineAction, error)
}

func (f *fakeSvc) Cancel(_ context.Context, id, comment string) (mde.MachineAction, error) {
	f.calls.Add(1)
	if f.answer == nil {
		return mde.MachineAction{ID: id, Status: mde.StatusCancelled, Rare: &mde.RareFields{CancellationComment: comment}}, nil
	}
	return f.answer(id, comment)
}

// recFile records the calls made on the audit file and can fail them.
type recFile struct {
	mu       sync.Mutex
	ops      []string // "write", "sync", "close"
	lines    []string
	failNthW int // fail the nth write (1-based); 0: never
	failSync bool
}

func (f *recFile) Write(b []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ops = append(f.ops, "write")
	if f.failNthW > 0 && countOps(f.ops, "write") == f.failNthW {
		return 0, errors.New("no space left on device")
	}
	f.lines = append(f.lines, string(b))
	return len(b), nil
}

func (f *recFile) Sync() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ops = append(f.ops, "sync")
	if f.failSync {
		return errors.New("input/output error")
	}
	return nil
}

func (f *recFile) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ops = append(f.ops, "close")
	return nil
}

func countOps(ops []string, op string) int {
	n := 0
	for _, o := range ops {
		if o == op {
			n++
		}
	}
	return n
}

var testCtx = Context{Profile: "prod", Tenant: "11111111-2222-3333-4444-555555555555", Actor: "ir@contoso.com"}

var testAction = mde.MachineAction{
	ID:              "a1b2c3d4-0000-0000-0000-000000000001",
	Type:            mde.TypeIsolate,
	Status:          mde.StatusPending,
	MachineID:       "f00dbabe0000000000000000000000000000beef",
	ComputerDNSName: "desk-042.contoso.com",
}

func lookupTest(id string) mde.MachineAction {
	if id == testAction.ID {
		return testAction
	}
	return mde.MachineAction{}
}

// openTemp opens a Log in a fresh private directory.
func openTemp(t *testing.T) (*Log, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state", "mdeactions", FileName)
	l, err := Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l, path
}

// readRecords reads the file strictly: every line must be a whole record.
func readRecords(t *testing.T, path string) []Record {
	t.Helper()
	recs, skipped, err := ReadAll(path)
	if err != nil {
		t.Fatalf("ReadAll: %v", err)
	}
	if skipped != 0 {
		raw, _ := os.ReadFile(path)
		t.Fatalf("ReadAll skipped %d lines of:\n%s", skipped, raw)
	}
	return recs
}

func mustContain(t *testing.T, s, sub string) {
	t.Helper()
	if !strings.Contains(s, sub) {
		t.Errorf("%q does not contain %q", s, sub)
	}
}
