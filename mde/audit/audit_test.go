package audit

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdeactions/mdeactions/mde/reliability"

	"github.com/mdeactions/mdeactions/mde"
)

// checkPair checks the intent and outcome of one attempt.
func checkPair(t *testing.T, recs []Record, comment string) (intent, outcome Record) {
	t.Helper()
	if len(recs) != 2 {
		t.Fatalf("got %d records, want 2: %+v", len(recs), recs)
	}
	intent, outcome = recs[0], recs[1]
	if intent.Event != EventIntent || outcome.Event != EventOutcome {
		t.Fatalf("events = %q, %q; want intent, outcome", intent.Event, outcome.Event)
	}
	if intent.Attempt == "" || intent.Attempt != outcome.Attempt {
		t.Errorf("attempts %q and %q do not pair", intent.Attempt, outcome.Attempt)
	}
	for _, r := range recs {
		if r.Profile != testCtx.Profile || r.Tenant != testCtx.Tenant || r.Actor != testCtx.Actor {
			t.Errorf("%s: context = %q/%q/%q", r.Event, r.Profile, r.Tenant, r.Actor)
		}
		if r.ActionID != testAction.ID || r.Type != "Isolate" || r.Device != testAction.ComputerDNSName || r.MachineID != testAction.MachineID {
			t.Errorf("%s: action fields = %q %q %q %q", r.Event, r.ActionID, r.Type, r.Device, r.MachineID)
		}
		if r.Comment != comment {
			t.Errorf("%s: comment = %q, want %q", r.Event, r.Comment, comment)
		}
		if r.Time.IsZero() || r.Time.Location() != time.UTC {
			t.Errorf("%s: time %v is not UTC", r.Event, r.Time)
		}
	}
	if intent.Result != "" || intent.HTTPStatus != 0 || intent.Status != "" || intent.Error != "" {
		t.Errorf("intent has outcome fields: %+v", intent)
	}
	if outcome.Time.Before(intent.Time) {
		t.Errorf("outcome %v before intent %v", outcome.Time, intent.Time)
	}
	return intent, outcome
}

func TestSuccessWritesIntentThenOutcome(t *testing.T) {
	l, path := openTemp(t)
	svc := &fakeSvc{answer: func(id, comment string) (mde.MachineAction, error) {
		// The intent must be on disk before the call goes out.
		recs := readRecords(t, path)
		if len(recs) != 1 || recs[0].Event != EventIntent {
			t.Errorf("at call time the file holds %+v, want the intent alone", recs)
		}
		return mde.MachineAction{ID: id, Status: mde.StatusCancelled}, nil
	}}
	got, err := Wrap(svc, l, testCtx, lookupTest).Cancel(context.Background(), testAction.ID, "wrong host")
	if err != nil || got.Status != mde.StatusCancelled {
		t.Fatalf("Cancel = %v, %v", got.Status, err)
	}
	_, out := checkPair(t, readRecords(t, path), "wrong host")
	if out.Result != ResultCancelled || out.Status != "Cancelled" || out.HTTPStatus != 0 || out.Error != "" || out.RequestID != "" {
		t.Errorf("outcome = %+v", out)
	}
	raw, _ := os.ReadFile(path)
	if !strings.Contains(string(raw), `"time":"`) || strings.Count(string(raw), "\n") != 2 {
		t.Errorf("file:\n%s", raw)
	}
}

func TestRefusal400RecordsStatusAndRequestID(t *testing.T) {
	l, path := openTemp(t)
	apiErr := &mde.APIError{StatusCode: 400, Code: "InvalidRequestBody", Message: "Action is already in a final state",
		Target: "8d1c4a8e-7f7e-4b7a-9a5e-000000000400", Method: "POST", Path: "/api/machineactions/x/cancel"}
	svc := &fakeSvc{answer: func(string, string) (mde.MachineAction, error) { return mde.MachineAction{}, apiErr }}
	_, err := Wrap(svc, l, testCtx, lookupTest).Cancel(context.Background(), testAction.ID, "dup")
	if e, ok := mde.AsAPIError(err); !ok || e != apiErr {
		t.Fatalf("Cancel error = %v, want the API error itself", err)
	}
	_, out := checkPair(t, readRecords(t, path), "dup")
	if out.Result != ResultRefused || out.HTTPStatus != 400 || out.RequestID != apiErr.Target || out.Status != "" {
		t.Errorf("outcome = %+v", out)
	}
	mustContain(t, out.Error, "Action is already in a final state")
}

func TestTransportErrorIsUnknown(t *testing.T) {
	l, path := openTemp(t)
	terr := &url.Error{Op: "Post", URL: "https://api.securitycenter.microsoft.com/api/machineactions/x/cancel",
		Err: &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}}
	svc := &fakeSvc{answer: func(string, string) (mde.MachineAction, error) { return mde.MachineAction{}, terr }}
	_, err := Wrap(svc, l, testCtx, lookupTest).Cancel(context.Background(), testAction.ID, "c")
	if !errors.Is(err, terr) {
		t.Fatalf("Cancel error = %v", err)
	}
	_, out := checkPair(t, readRecords(t, path), "c")
	if out.Result != ResultUnknown || out.HTTPStatus != 0 || out.Status != "" || out.RequestID != "" {
		t.Errorf("outcome = %+v", out)
	}
	mustContain(t, out.Error, "connection reset by peer")
}

func TestOutcomeClassification(t *testing.T) {
	cancelled := mde.MachineAction{ID: "x", Status: mde.StatusCancelled}
	for _, tc := range []struct {
		name       string
		result     mde.MachineAction
		err        error
		want       string
		wantStatus string
		wantHTTP   int
	}{
		{"2xx cancelled", cancelled, nil, ResultCancelled, "Cancelled", 0},
		{"2xx still pending", mde.MachineAction{ID: "x", Status: mde.StatusPending}, nil, ResultUnknown, "Pending", 0},
		{"2xx completed first", mde.MachineAction{ID: "x", Status: mde.StatusSucceeded}, nil, ResultUnknown, "Succeeded", 0},
		{"403", mde.MachineAction{}, &mde.APIError{StatusCode: 403}, ResultRefused, "", 403},
		{"404", mde.MachineAction{}, fmt.Errorf("wrapped: %w", &mde.APIError{StatusCode: 404}), ResultRefused, "", 404},
		{"429", mde.MachineAction{}, &mde.APIError{StatusCode: 429}, ResultRefused, "", 429},
		{"500", mde.MachineAction{}, &mde.APIError{StatusCode: 500}, ResultFailed, "", 500},
		{"503", mde.MachineAction{}, &mde.APIError{StatusCode: 503}, ResultFailed, "", 503},
		{"unreadable 2xx", mde.MachineAction{}, fmt.Errorf("mde: POST /x: %w: eof", mde.ErrBadAnswer), ResultUnknown, "", 0},
		{"deadline", mde.MachineAction{}, context.DeadlineExceeded, ResultUnknown, "", 0},
		{"read-only", mde.MachineAction{}, fmt.Errorf("%w: refused POST /x", mde.ErrReadOnly), ResultNotSent, "", 0},
		{"no token", mde.MachineAction{}, fmt.Errorf("mde: POST /x: %w: expired", mde.ErrToken), ResultNotSent, "", 0},
		{"dns", mde.MachineAction{}, &url.Error{Op: "Post", Err: &net.DNSError{Err: "no such host", Name: "api"}}, ResultNotSent, "", 0},
		{"dial", mde.MachineAction{}, &url.Error{Op: "Post", Err: &net.OpError{Op: "dial", Err: errors.New("refused")}}, ResultNotSent, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, path := openTemp(t)
			if err := l.Outcome(testCtx, "A1", testAction, tc.result, tc.err); err != nil {
				t.Fatal(err)
			}
			recs := readRecords(t, path)
			if len(recs) != 1 {
				t.Fatalf("records: %+v", recs)
			}
			r := recs[0]
			if r.Result != tc.want || r.Status != tc.wantStatus || r.HTTPStatus != tc.wantHTTP {
				t.Errorf("result/status/http = %q/%q/%d, want %q/%q/%d", r.Result, r.Status, r.HTTPStatus, tc.want, tc.wantStatus, tc.wantHTTP)
			}
			if (tc.err != nil) != (r.Error != "") {
				t.Errorf("error text %q for error %v", r.Error, tc.err)
			}
		})
	}
}

func TestEveryLineIsFsynced(t *testing.T) {
	rf := &recFile{}
	l := newLog("mem", rf)
	_, err := Wrap(&fakeSvc{}, l, testCtx, lookupTest).Cancel(context.Background(), testAction.ID, "c")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"write", "sync", "write", "sync"}
	if strings.Join(rf.ops, ",") != strings.Join(want, ",") {
		t.Errorf("file calls = %v, want %v", rf.ops, want)
	}
	for _, line := range rf.lines {
		if strings.Count(line, "\n") != 1 || !strings.HasSuffix(line, "\n") {
			t.Errorf("one write is not exactly one line: %q", line)
		}
	}
}

func TestSyncFailureFailsClosed(t *testing.T) {
	rf := &recFile{failSync: true}
	svc := &fakeSvc{}
	w := Wrap(svc, newLog("mem", rf), testCtx, lookupTest)
	_, err := w.Cancel(context.Background(), testAction.ID, "c")
	if !errors.Is(err, ErrAuditUnavailable) {
		t.Fatalf("err = %v, want ErrAuditUnavailable", err)
	}
	mustContain(t, err.Error(), "fsync")
	if svc.calls.Load() != 0 {
		t.Errorf("the cancel was sent %d times", svc.calls.Load())
	}
	// The failure is sticky: a later fsync that succeeds proves nothing.
	rf.mu.Lock()
	rf.failSync = false
	rf.mu.Unlock()
	if _, err := w.Cancel(context.Background(), testAction.ID, "c"); !errors.Is(err, ErrAuditUnavailable) || svc.calls.Load() != 0 {
		t.Errorf("after a failed fsync: err = %v, calls = %d", err, svc.calls.Load())
	}
}

func TestWriteFailureFailsClosed(t *testing.T) {
	rf := &recFile{failNthW: 1}
	svc := &fakeSvc{}
	_, err := Wrap(svc, newLog("mem", rf), testCtx, lookupTest).Cancel(context.Background(), testAction.ID, "c")
	if !errors.Is(err, ErrAuditUnavailable) || svc.calls.Load() != 0 {
		t.Fatalf("err = %v, calls = %d", err, svc.calls.Load())
	}
	mustContain(t, err.Error(), "no space left on device")
	mustContain(t, err.Error(), "not sent")
}

func TestClosedLogFailsClosed(t *testing.T) {
	l, path := openTemp(t)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	svc := &fakeSvc{}
	_, err := Wrap(svc, l, testCtx, lookupTest).Cancel(context.Background(), testAction.ID, "c")
	if !errors.Is(err, ErrAuditUnavailable) || svc.calls.Load() != 0 {
		t.Fatalf("err = %v, calls = %d", err, svc.calls.Load())
	}
	if raw, _ := os.ReadFile(path); len(raw) != 0 {
		t.Errorf("a closed log wrote %q", raw)
	}
}

func TestNilLogFailsClosed(t *testing.T) {
	svc := &fakeSvc{}
	_, err := Wrap(svc, nil, testCtx, nil).Cancel(context.Background(), "x", "c")
	if !errors.Is(err, ErrAuditUnavailable) || svc.calls.Load() != 0 {
		t.Fatalf("err = %v, calls = %d", err, svc.calls.Load())
	}
}

// An unwritable place: Open fails with ErrAuditUnavailable, and a caller
// that goes on with no Log sends nothing.
func TestUnwritablePathFailsClosed(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "state")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil { // a file where the directory should be
		t.Fatal(err)
	}
	l, err := Open(filepath.Join(blocker, "mdeactions", FileName))
	if !errors.Is(err, ErrAuditUnavailable) || l != nil {
		t.Fatalf("Open = %v, %v; want ErrAuditUnavailable", l, err)
	}
	svc := &fakeSvc{}
	if _, err := Wrap(svc, l, testCtx, nil).Cancel(context.Background(), "x", "c"); !errors.Is(err, ErrAuditUnavailable) || svc.calls.Load() != 0 {
		t.Fatalf("err = %v, calls = %d", err, svc.calls.Load())
	}
}

func TestOutcomeFailureDoesNotHideTheCancel(t *testing.T) {
	rf := &recFile{failNthW: 2} // the intent goes in, the outcome does not
	svc := &fakeSvc{}
	got, err := Wrap(svc, newLog("mem", rf), testCtx, lookupTest).Cancel(context.Background(), testAction.ID, "c")
	if svc.calls.Load() != 1 {
		t.Fatalf("calls = %d", svc.calls.Load())
	}
	if got.Status != mde.StatusCancelled || got.ID != testAction.ID {
		t.Errorf("the applied cancel's action was lost: %+v", got)
	}
	if !errors.Is(err, ErrOutcomeUnrecorded) || errors.Is(err, ErrAuditUnavailable) {
		t.Fatalf("err = %v; want ErrOutcomeUnrecorded and not ErrAuditUnavailable", err)
	}
	mustContain(t, err.Error(), "was sent; result cancelled")

	// With an API error too, both are there.
	rf = &recFile{failNthW: 2}
	apiErr := &mde.APIError{StatusCode: 400, Message: "final"}
	svc = &fakeSvc{answer: func(string, string) (mde.MachineAction, error) { return mde.MachineAction{}, apiErr }}
	_, err = Wrap(svc, newLog("mem", rf), testCtx, lookupTest).Cancel(context.Background(), testAction.ID, "c")
	if e, ok := mde.AsAPIError(err); !ok || e != apiErr || !errors.Is(err, ErrOutcomeUnrecorded) {
		t.Errorf("err = %v; want the API error joined with ErrOutcomeUnrecorded", err)
	}
}

func TestWrapWithoutLookup(t *testing.T) {
	l, path := openTemp(t)
	svc := &fakeSvc{answer: func(id, _ string) (mde.MachineAction, error) {
		return mde.MachineAction{ID: id, Type: mde.TypeRunAntiVirusScan, ComputerDNSName: "srv-1", Status: mde.StatusCancelled}, nil
	}}
	if _, err := Wrap(svc, l, Context{}, nil).Cancel(context.Background(), "id-9", ""); err != nil {
		t.Fatal(err)
	}
	recs := readRecords(t, path)
	if len(recs) != 2 || recs[0].ActionID != "id-9" || recs[1].ActionID != "id-9" {
		t.Fatalf("records: %+v", recs)
	}
	// The outcome fills what the answer tells.
	if recs[1].Type != "RunAntiVirusScan" || recs[1].Device != "srv-1" {
		t.Errorf("outcome = %+v", recs[1])
	}
}

func TestConcurrentWritersWriteWholeLines(t *testing.T) {
	l1, path := openTemp(t)
	l2, err := Open(path) // a second Log on the same file, as a second process would have
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	const perWriter, writers = 25, 8
	big := strings.Repeat("0123456789abcdef", 512) // 8 KiB lines make interleaving likely if writes were split
	var wg sync.WaitGroup
	for i := range writers {
		l := l1
		if i%2 == 1 {
			l = l2
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := Wrap(&fakeSvc{}, l, testCtx, lookupTest)
			for j := range perWriter {
				if _, err := w.Cancel(context.Background(), testAction.ID, fmt.Sprintf("w%d-%d %s", i, j, big)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	recs := readRecords(t, path)
	if len(recs) != 2*perWriter*writers {
		t.Fatalf("%d records, want %d", len(recs), 2*perWriter*writers)
	}
	seen := map[string]int{}
	for _, r := range recs {
		switch r.Event {
		case EventIntent:
			if _, dup := seen[r.Attempt]; dup {
				t.Errorf("attempt %s twice", r.Attempt)
			}
			seen[r.Attempt] = 1
		case EventOutcome:
			if seen[r.Attempt] != 1 {
				t.Errorf("outcome of %s without an intent before it", r.Attempt)
			}
			seen[r.Attempt] = 2
		}
		if !strings.HasSuffix(r.Comment, big) {
			t.Errorf("comment of %s %s damaged", r.Event, r.Attempt)
		}
	}
}

func TestErrorTextIsCleanedCommentIsKept(t *testing.T) {
	l, path := openTemp(t)
	apiErr := &mde.APIError{StatusCode: 400, Message: "bad\x1b[31m red\x1b[0m\nnext line\u202eevil", Target: "req\x07-1"}
	svc := &fakeSvc{answer: func(string, string) (mde.MachineAction, error) { return mde.MachineAction{}, apiErr }}
	comment := "line one\nline\ttwo \x1b[2J <b>&"
	if _, err := Wrap(svc, l, testCtx, lookupTest).Cancel(context.Background(), testAction.ID, comment); err == nil {
		t.Fatal("no error")
	}
	raw, _ := os.ReadFile(path)
	if strings.ContainsAny(string(raw), "\x1b\x07\t\u202e") || strings.Count(string(raw), "\n") != 2 {
		t.Errorf("raw control characters in the file:\n%q", raw)
	}
	mustContain(t, string(raw), `<b>&`) // not HTML-escaped
	recs := readRecords(t, path)
	if recs[0].Comment != comment || recs[1].Comment != comment {
		t.Errorf("comment = %q / %q, want it as typed", recs[0].Comment, recs[1].Comment)
	}
	if e := recs[1].Error; strings.ContainsAny(e, "\x1b\n\u202e") || !strings.Contains(e, "bad red next line") {
		t.Errorf("error text = %q", e)
	}
	if recs[1].RequestID != "req-1" {
		t.Errorf("request id = %q", recs[1].RequestID)
	}
}

func TestLongErrorTextIsCapped(t *testing.T) {
	l, path := openTemp(t)
	if err := l.Outcome(testCtx, "A", testAction, mde.MachineAction{}, errors.New(strings.Repeat("é", 5000))); err != nil {
		t.Fatal(err)
	}
	e := readRecords(t, path)[0].Error
	if len(e) > maxErrorLen || !strings.HasSuffix(e, "…") || !strings.HasPrefix(e, "éé") {
		t.Errorf("error text of %d bytes: %.20q…", len(e), e)
	}
}

func TestRecordTimeIsUTCWithNanoseconds(t *testing.T) {
	rf := &recFile{}
	l := newLog("mem", rf)
	l.now = func() time.Time {
		return time.Date(2026, 3, 4, 5, 6, 7, 123456789, time.FixedZone("CET", 3600))
	}
	if _, err := l.Intent(testCtx, testAction, ""); err != nil {
		t.Fatal(err)
	}
	mustContain(t, rf.lines[0], `"time":"2026-03-04T04:06:07.123456789Z"`)
	if strings.Contains(rf.lines[0], `"comment"`) {
		t.Errorf("empty comment written: %s", rf.lines[0])
	}
}

func TestDoneContextSendsAndWritesNothing(t *testing.T) {
	l, path := openTemp(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	svc := &fakeSvc{}
	if _, err := Wrap(svc, l, testCtx, lookupTest).Cancel(ctx, testAction.ID, "c"); !errors.Is(err, context.Canceled) || svc.calls.Load() != 0 {
		t.Fatalf("err = %v, calls = %d", err, svc.calls.Load())
	}
	if raw, _ := os.ReadFile(path); len(raw) != 0 {
		t.Errorf("wrote %q", raw)
	}
}

// The file itself carries no terminal controls: C1 and bidi characters of
// a hostile device name or comment are escaped (\u009b), and read back
// unchanged.
func TestTheFileHoldsNoRawControls(t *testing.T) {
	l, path := openTemp(t)
	hostile := mde.MachineAction{ID: "a1", Type: mde.TypeIsolate, ComputerDNSName: "dev\u009b2J\u009d0;T\u009c\u202eevil"}
	svc := &fakeSvc{answer: func(id, comment string) (mde.MachineAction, error) {
		return mde.MachineAction{ID: id, Status: mde.StatusCancelled}, nil
	}}
	if _, err := Wrap(svc, l, testCtx, func(string) mde.MachineAction { return hostile }).Cancel(context.Background(), "a1", "why\u202e"); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	for _, r := range "\u009b\u009d\u009c\u202e" {
		if strings.ContainsRune(string(raw), r) {
			t.Fatalf("the file holds %U raw:\n%q", r, raw)
		}
	}
	if !strings.Contains(string(raw), `\u009b`) {
		t.Fatalf("the controls were not escaped:\n%s", raw)
	}
	reliability.Record(t, reliability.Row{Area: "hostile input", Fault: "8-bit CSI/OSC/ST and a bidi override in a device name and a comment, in the audit file itself",
		Outcome: "escaped as \\u009b… in the JSON line: `tail -f` of the file sends no control to a terminal; read back unchanged"})
}

// rereadSvc answers a cancel with a transport error and the re-read with
// the action's real state.
type rereadSvc struct {
	fakeSvc
	now mde.ActionStatus
}

func (r *rereadSvc) List(_ context.Context, q mde.Query) ([]mde.MachineAction, error) {
	return []mde.MachineAction{{ID: q.IDs[0], Status: r.now}}, nil
}

// After an outcome that could not tell, the trail also records what a
// re-read found, under the same attempt: it never stays "unknown" when the
// tool knew better.
func TestAnUnsureOutcomeIsFollowedByTheReread(t *testing.T) {
	for _, tc := range []struct {
		now  mde.ActionStatus
		want string
	}{{mde.StatusCancelled, ResultCancelled}, {mde.StatusPending, ResultNotApplied}} {
		l, path := openTemp(t)
		svc := &rereadSvc{fakeSvc: fakeSvc{answer: func(string, string) (mde.MachineAction, error) {
			return mde.MachineAction{}, &net.OpError{Op: "read", Err: errors.New("connection reset by peer")}
		}}, now: tc.now}
		_, _ = Wrap(svc, l, testCtx, lookupTest).Cancel(context.Background(), testAction.ID, "lost answer")
		recs := readRecords(t, path)
		if len(recs) != 3 || recs[1].Result != ResultUnknown || recs[2].Event != EventReread ||
			recs[2].Attempt != recs[0].Attempt || recs[2].Result != tc.want || recs[2].Status != string(tc.now) {
			t.Fatalf("records after a lost answer, the action now %s: %+v", tc.now, recs)
		}
		if all, skipped, err := ReadAll(path); err != nil || skipped != 0 || len(all) != 3 {
			t.Fatalf("ReadAll: %d records, %d skipped, %v", len(all), skipped, err)
		}
		reliability.Record(t, reliability.Row{Area: "network", Fault: "cancel answer lost (reset); the action is in fact " + string(tc.now),
			Outcome: "audit: outcome unknown, then a reread line with status " + string(tc.now) + " and result " + tc.want})
	}
}
