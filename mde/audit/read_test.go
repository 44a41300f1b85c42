package audit

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mdeactions/mdeactions/mde"
)

func writeThree(t *testing.T) (*Log, string) {
	t.Helper()
	l, path := openTemp(t)
	for i := 0; i < 3; i++ {
		if _, err := l.Intent(testCtx, testAction, "c"); err != nil {
			t.Fatal(err)
		}
	}
	return l, path
}

func TestReadAllSkipsTornLastLine(t *testing.T) {
	l, path := writeThree(t)
	l.Close()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(`{"time":"2026-01-02T03:04:05Z","event":"intent","attempt":"TORN","actionId":"x","comm`); err != nil {
		t.Fatal(err)
	}
	f.Close()
	recs, skipped, err := ReadAll(path)
	if err != nil || len(recs) != 3 || skipped != 1 {
		t.Fatalf("ReadAll = %d records, %d skipped, %v; want 3, 1, nil", len(recs), skipped, err)
	}
	for _, r := range recs {
		if r.Attempt == "TORN" {
			t.Error("the torn line was read as a record")
		}
	}
}

// A crash leaves a torn line; the next Open ends it, so the next record
// stays whole instead of being glued to the fragment.
func TestOpenEndsTornLine(t *testing.T) {
	l, path := writeThree(t)
	l.Close()
	raw, _ := os.ReadFile(path)
	if err := os.WriteFile(path, append(raw, `{"time":"2026`...), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	attempt, err := l.Intent(testCtx, testAction, "after the crash")
	if err != nil {
		t.Fatal(err)
	}
	recs, skipped, err := ReadAll(path)
	if err != nil || len(recs) != 4 || skipped != 1 {
		t.Fatalf("ReadAll = %d records, %d skipped, %v; want 4, 1, nil", len(recs), skipped, err)
	}
	if recs[3].Attempt != attempt || recs[3].Comment != "after the crash" {
		t.Errorf("last record = %+v", recs[3])
	}
}

func TestParseSkipsWhatIsNotARecord(t *testing.T) {
	in := strings.Join([]string{
		`{"time":"2026-01-02T03:04:05.5Z","event":"intent","attempt":"A","actionId":"x"}`,
		``,
		`not json`,
		`{}`,
		`{"time":"2026-01-02T03:04:05Z","event":"other","attempt":"B","actionId":"x"}`,
		`{"time":"2026-01-02T03:04:06Z","event":"outcome","attempt":"A","actionId":"x","result":"cancelled","status":"Cancelled"}` + "\r",
		`{"event":"intent","attempt":"` + strings.Repeat("x", maxLine) + `","actionId":"x","time":"2026-01-02T03:04:05Z"}`,
		`{"time":"2026-01-02T03:04:07Z","event":"intent","attempt":"C","actionId":"y"}`,
	}, "\n")
	recs, skipped, err := Parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || skipped != 4 {
		t.Fatalf("%d records, %d skipped; want 3, 4: %+v", len(recs), skipped, recs)
	}
	if recs[1].Result != "cancelled" || recs[2].Attempt != "C" {
		t.Errorf("records = %+v", recs)
	}
}

func TestReadAllRoundTrip(t *testing.T) {
	l, path := openTemp(t)
	a, err := l.Intent(testCtx, testAction, "x")
	if err != nil {
		t.Fatal(err)
	}
	apiErr := &mde.APIError{StatusCode: 400, Message: "final", Target: "rid"}
	if err := l.Outcome(testCtx, a, testAction, mde.MachineAction{}, apiErr); err != nil {
		t.Fatal(err)
	}
	recs := readRecords(t, path)
	want := Record{Event: EventOutcome, Attempt: a, Profile: testCtx.Profile, Tenant: testCtx.Tenant, Actor: testCtx.Actor,
		ActionID: testAction.ID, Type: "Isolate", Device: testAction.ComputerDNSName, MachineID: testAction.MachineID, Comment: "x",
		HTTPStatus: 400, Result: ResultRefused, Error: apiErr.Error(), RequestID: "rid"}
	got := recs[1]
	got.Time = want.Time
	if got != want {
		t.Errorf("outcome\n got %+v\nwant %+v", got, want)
	}
}

func TestReadAllMissingFile(t *testing.T) {
	_, _, err := ReadAll(filepath.Join(t.TempDir(), FileName))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want fs.ErrNotExist", err)
	}
}

func TestDefaultPath(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", "/x/state")
	t.Setenv("HOME", "/home/me")
	if p, err := DefaultPath(); err != nil || p != filepath.Join("/x/state", "mdeactions", "audit.jsonl") {
		t.Errorf("with XDG_STATE_HOME: %q, %v", p, err)
	}
	t.Setenv("XDG_STATE_HOME", "relative/state") // not absolute: ignored, as the XDG spec says
	if p, err := DefaultPath(); err != nil || p != filepath.Join("/home/me", ".local", "state", "mdeactions", "audit.jsonl") {
		t.Errorf("with a relative XDG_STATE_HOME: %q, %v", p, err)
	}
	t.Setenv("XDG_STATE_HOME", "")
	if p, err := DefaultPath(); err != nil || p != filepath.Join("/home/me", ".local", "state", "mdeactions", "audit.jsonl") {
		t.Errorf("without XDG_STATE_HOME: %q, %v", p, err)
	}
}
