// Package audit keeps the local audit trail of cancel attempts: one JSON
// line before each cancel is sent (the intent) and one after it (the
// outcome), in $XDG_STATE_HOME/mdeactions/audit.jsonl.
//
// Rules:
//   - Fail closed: when the intent cannot be written and fsynced, the cancel
//     is not sent (Wrap returns an error wrapping ErrAuditUnavailable).
//   - Each line is written with one write call on a file opened with
//     O_APPEND, then fsynced, so that several processes can share the file
//     and a reader sees whole lines (at worst a torn last one after a crash).
//   - The file is 0600 in a 0700 directory; Open refuses one that other
//     users can access, and never changes an existing file's mode.
//   - Tokens never reach the file: every text field is passed through a
//     redactor for bearer tokens, JWTs, Authorization headers and
//     secret=value pairs. Error text is also cleaned of control characters;
//     the comment is kept as typed (JSON escapes its control characters).
//   - Once a write or fsync has failed, the Log stays failed: after a failed
//     fsync the kernel may have dropped the data while a later fsync
//     succeeds, so no later line could be trusted.
package audit

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/mde/textsafe"
)

// FileName is the audit file's name in the state directory.
const FileName = "audit.jsonl"

// Event values.
const (
	EventIntent  = "intent"
	EventOutcome = "outcome"
	// EventReread follows an outcome that could not tell (unknown or
	// failed): what a re-read of the action found, with the same attempt.
	EventReread = "reread"
)

// Result values of an outcome.
const (
	// ResultCancelled: the API answered 2xx and the action says Cancelled.
	ResultCancelled = "cancelled"
	// ResultRefused: the API answered 4xx (e.g. 400 for an action already
	// final, 403, 404, 429): the cancel was not applied.
	ResultRefused = "refused"
	// ResultFailed: the API answered 5xx. The request reached the API, so
	// the cancel may still have been applied: re-read the action.
	ResultFailed = "failed"
	// ResultUnknown: no readable answer (a transport error, a timeout, a
	// 2xx whose body could not be read) or a 2xx whose action does not say
	// Cancelled. The cancel may have been applied.
	ResultUnknown = "unknown"
	// ResultNotSent: the request certainly never reached the API
	// (read-only mode, no token, a DNS or connect failure).
	ResultNotSent = "not-sent"
	// ResultNotApplied (on a reread): the action is still open, or ended
	// some other way: the cancel was not applied.
	ResultNotApplied = "not-applied"
)

// maxErrorLen caps the Error text of a record, in bytes.
const maxErrorLen = 2000

// ErrAuditUnavailable is wrapped by every error that means the audit log
// cannot record a cancel's intent, so that the cancel must not be (and,
// through Wrap, was not) sent: Open's errors, and Intent's.
var ErrAuditUnavailable = errors.New("the audit log cannot record the cancel, so it was not sent")

// ErrOutcomeUnrecorded is wrapped by the error of an outcome that could not
// be written. The cancel itself was sent: the action and error returned
// with it by Wrap's Cancel are the API's answer.
var ErrOutcomeUnrecorded = errors.New("the audit log could not record the cancel's outcome")

// Record is one line of the audit file.
type Record struct {
	Time      time.Time `json:"time"`    // UTC, RFC 3339 with nanoseconds
	Event     string    `json:"event"`   // "intent" or "outcome"
	Attempt   string    `json:"attempt"` // a random id pairing an intent with its outcome
	Profile   string    `json:"profile,omitempty"`
	Tenant    string    `json:"tenant,omitempty"`
	Actor     string    `json:"actor,omitempty"` // signed-in user or app
	ActionID  string    `json:"actionId"`
	Type      string    `json:"type,omitempty"`
	Device    string    `json:"device,omitempty"`
	MachineID string    `json:"machineId,omitempty"`
	Comment   string    `json:"comment,omitempty"`
	// outcome only:
	HTTPStatus int    `json:"httpStatus,omitempty"` // the answer's HTTP status; 0 when no answer came
	Status     string `json:"status,omitempty"`     // resulting action status (e.g. "Cancelled"), or "" when unknown
	Result     string `json:"result,omitempty"`     // "cancelled", "refused", "failed", "unknown", "not-sent"
	Error      string `json:"error,omitempty"`      // plain error text, cleaned of control characters, never a token
	RequestID  string `json:"requestId,omitempty"`  // APIError.Target
}

// Context says who cancels, where.
type Context struct{ Profile, Tenant, Actor string }

// file is what a Log writes to; *os.File in production, a wrapper in tests.
type file interface {
	io.Writer
	Sync() error
	Close() error
}

// Log appends records to one audit file. It is safe for concurrent use,
// and several Logs (in one process or several) may share a file.
type Log struct {
	path string
	now  func() time.Time

	mu      sync.Mutex
	f       file
	closed  bool
	failed  error              // the first write or fsync error; sticky
	pending map[string]pending // attempt → what Intent wrote, until Outcome
}

// pending is a cancel whose intent was written and whose outcome was not yet.
type pending struct {
	ctx     Context
	action  mde.MachineAction
	comment string
}

// FileError is Open's error: a problem with the audit file or its
// directory, and, when there is one, the command that fixes it. It matches
// ErrAuditUnavailable with errors.Is.
type FileError struct {
	Path    string
	Problem string // "is accessible to other users (mode 0640, want 0600)"
	Fix     string // "chmod 600 /home/me/.local/state/mdeactions/audit.jsonl"
}

func (e *FileError) Error() string {
	s := "audit log " + e.Path + ": " + e.Problem
	if e.Fix != "" {
		s += "\nFix: " + e.Fix
	}
	return s
}

// Is makes an Open failure an ErrAuditUnavailable.
func (e *FileError) Is(target error) bool { return target == ErrAuditUnavailable }

// DefaultPath is $XDG_STATE_HOME/mdeactions/audit.jsonl when XDG_STATE_HOME
// is an absolute path, else ~/.local/state/mdeactions/audit.jsonl.
func DefaultPath() (string, error) {
	if x := os.Getenv("XDG_STATE_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "mdeactions", FileName), nil
	}
	home := os.Getenv("HOME")
	if home == "" {
		h, err := os.UserHomeDir()
		if err != nil || h == "" {
			return "", errors.New("no home directory for the audit log: set XDG_STATE_HOME or HOME")
		}
		home = h
	}
	return filepath.Join(home, ".local", "state", "mdeactions", FileName), nil
}

// Open opens (creating if needed) the audit file for appending. A missing
// directory is created 0700 and a missing file 0600. A directory or file
// that other users can access, or that belongs to another user, is refused
// with the command that fixes it; Open never changes a mode itself. A torn
// last line left by a crash is ended with a newline, so that it cannot
// swallow the next record.
func Open(path string) (*Log, error) {
	if path == "" {
		return nil, &FileError{Path: `""`, Problem: "no path given"}
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, &FileError{Path: dir, Problem: "the directory cannot be created: " + pathless(err)}
	}
	if err := checkPrivate(dir, nil, true); err != nil {
		return nil, err
	}
	// Refuse before opening what must not be opened (a FIFO would block;
	// a readable file would be written to); check again on the open file.
	if err := checkPrivate(path, nil, false); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, &FileError{Path: path, Problem: "cannot be opened for appending: " + pathless(err)}
	}
	fi, err := f.Stat()
	if err == nil {
		err = checkPrivate(path, fi, false)
	} else {
		err = &FileError{Path: path, Problem: "cannot be checked: " + pathless(err)}
	}
	if err == nil {
		err = endTornLine(f, fi.Size())
	}
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return newLog(path, f), nil
}

func newLog(path string, f file) *Log {
	return &Log{path: path, f: f, now: time.Now, pending: map[string]pending{}}
}

// endTornLine adds the newline missing at the end of a non-empty file.
func endTornLine(f *os.File, size int64) error {
	if size == 0 {
		return nil
	}
	last := make([]byte, 1)
	if _, err := f.ReadAt(last, size-1); err != nil {
		return &FileError{Path: f.Name(), Problem: "cannot be read: " + pathless(err)}
	}
	if last[0] == '\n' {
		return nil
	}
	if _, err := f.Write([]byte{'\n'}); err != nil {
		return &FileError{Path: f.Name(), Problem: "cannot be written: " + pathless(err)}
	}
	if err := f.Sync(); err != nil {
		return &FileError{Path: f.Name(), Problem: "cannot be synced to disk: " + pathless(err)}
	}
	return nil
}

// Path is the file the Log appends to.
func (l *Log) Path() string { return l.path }

// Close closes the file. Later writes fail (closed); a second Close is a no-op.
func (l *Log) Close() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("audit log %s: closing: %s", l.path, pathless(err))
	}
	return nil
}

// Intent records that a cancel of a (with comment) is about to be sent,
// and returns the attempt id to pass to Outcome. The line is on disk
// (fsynced) when it returns nil. An error wraps ErrAuditUnavailable: do
// not send the cancel.
func (l *Log) Intent(c Context, a mde.MachineAction, comment string) (attempt string, err error) {
	if l == nil {
		return "", fmt.Errorf("%w: no audit log is open", ErrAuditUnavailable)
	}
	attempt = rand.Text()
	r := base(c, EventIntent, attempt, a)
	r.Comment = comment
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.writeLocked(r); err != nil {
		return "", fmt.Errorf("%w: %w", ErrAuditUnavailable, err)
	}
	l.pending[attempt] = pending{c, a, comment}
	return attempt, nil
}

// Outcome records how the cancel of a, announced by Intent as attempt,
// ended: result and callErr are what the cancel call returned. HTTPStatus
// and RequestID come from an *mde.APIError in callErr, Status from result,
// Result from both (see the Result constants). The comment of the intent
// is repeated when this Log wrote it. An error wraps ErrOutcomeUnrecorded
// (never ErrAuditUnavailable: the cancel was sent).
func (l *Log) Outcome(c Context, attempt string, a mde.MachineAction, result mde.MachineAction, callErr error) error {
	return l.outcome(c, attempt, a, result, callErr, 0)
}

// outcome is Outcome with the HTTP status of the answer, when known (0:
// not known; an *mde.APIError's status wins).
func (l *Log) outcome(c Context, attempt string, a mde.MachineAction, result mde.MachineAction, callErr error, status int) error {
	if l == nil {
		return fmt.Errorf("%w: no audit log is open", ErrOutcomeUnrecorded)
	}
	if a.ID == "" {
		a.ID = result.ID
	}
	a.Type = cmp.Or(a.Type, result.Type)
	a.ComputerDNSName = cmp.Or(a.ComputerDNSName, result.ComputerDNSName)
	a.MachineID = cmp.Or(a.MachineID, result.MachineID)
	r := base(c, EventOutcome, attempt, a)
	if callErr == nil {
		r.Status = string(result.Status)
	}
	r.Result = classify(result, callErr)
	r.HTTPStatus = status
	if e, ok := mde.AsAPIError(callErr); ok {
		r.HTTPStatus = e.StatusCode
		r.RequestID = e.Target
	}
	if callErr != nil {
		r.Error = callErr.Error()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	p, had := l.pending[attempt]
	r.Comment = p.comment
	if err := l.writeLocked(r); err != nil {
		return fmt.Errorf("%w (the cancel of %s was sent; result %s): %w", ErrOutcomeUnrecorded, a.ID, r.Result, err)
	}
	if had {
		delete(l.pending, attempt)
	}
	return nil
}

// ErrStoppedBeforeAnswer is the error recorded by Settle for a cancel
// still waiting for its answer when the tool stopped.
var ErrStoppedBeforeAnswer = errors.New("mdeactions stopped before the API answered this cancel: it may or may not have been applied; look at the action (mdeactions list --filter 'status:all') before cancelling it again")

// InFlight is the number of cancels whose intent is written and whose
// outcome is not.
func (l *Log) InFlight() int {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.pending)
}

// Settle is called as the tool stops: it waits up to wait for the cancels
// in flight to end (their outcome written), then writes an outcome with
// result unknown (ErrStoppedBeforeAnswer) for each one still in flight, so
// that no intent is left without an outcome. It returns how many it
// recorded so. A later Outcome for one of them writes a second outcome
// line, the real one, if the Log is still open.
func (l *Log) Settle(wait time.Duration) (int, error) { return l.settle(wait, nil) }

// settle is Settle that stops waiting when hurry is closed.
func (l *Log) settle(wait time.Duration, hurry <-chan struct{}) (int, error) {
	if l == nil {
		return 0, nil
	}
	deadline := time.Now().Add(wait)
wait:
	for l.InFlight() > 0 && time.Now().Before(deadline) {
		select {
		case <-hurry:
			break wait
		case <-time.After(min(20*time.Millisecond, time.Until(deadline))):
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	var errs []error
	for attempt, p := range l.pending {
		r := base(p.ctx, EventOutcome, attempt, p.action)
		r.Comment, r.Result, r.Error = p.comment, ResultUnknown, ErrStoppedBeforeAnswer.Error()
		if err := l.writeLocked(r); err != nil {
			errs = append(errs, fmt.Errorf("%w (the cancel of %s): %w", ErrOutcomeUnrecorded, p.action.ID, err))
			continue
		}
		delete(l.pending, attempt)
		n++
	}
	return n, errors.Join(errs...)
}

func base(c Context, event, attempt string, a mde.MachineAction) Record {
	return Record{
		Event:     event,
		Attempt:   attempt,
		Profile:   c.Profile,
		Tenant:    c.Tenant,
		Actor:     c.Actor,
		ActionID:  a.ID,
		Type:      string(a.Type),
		Device:    a.ComputerDNSName,
		MachineID: a.MachineID,
	}
}

// classify derives an outcome's Result.
func classify(result mde.MachineAction, err error) string {
	if err == nil {
		if result.Status == mde.StatusCancelled {
			return ResultCancelled
		}
		return ResultUnknown
	}
	if e, ok := mde.AsAPIError(err); ok {
		switch {
		case e.StatusCode >= 400 && e.StatusCode < 500:
			return ResultRefused
		case e.StatusCode >= 500:
			return ResultFailed
		}
		return ResultUnknown
	}
	var dns *net.DNSError
	var op *net.OpError
	switch {
	case errors.Is(err, ErrAuditUnavailable), errors.Is(err, mde.ErrReadOnly), errors.Is(err, mde.ErrToken),
		errors.As(err, &dns), errors.As(err, &op) && op.Op == "dial":
		return ResultNotSent
	}
	return ResultUnknown
}

// writeLocked writes r as one line with one write call, then fsyncs.
// l.mu must be held.
func (l *Log) writeLocked(r Record) error {
	if l.closed {
		return fmt.Errorf("audit log %s: closed", l.path)
	}
	if l.failed != nil {
		return fmt.Errorf("audit log %s: an earlier write failed, so no later one can be trusted (restart to retry): %w", l.path, l.failed)
	}
	r.Time = l.now().UTC()
	sanitize(&r)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil { // Encode ends the line with '\n'
		return fmt.Errorf("audit log %s: encoding: %w", l.path, err)
	}
	// C1 and bidi controls escaped too (JSON escapes only C0): `tail -f`
	// of the file reaches a terminal as it is.
	line := textsafe.JSON(buf.Bytes())
	n, err := l.f.Write(line)
	if err == nil && n != len(line) {
		err = io.ErrShortWrite
	}
	if err != nil {
		l.failed = errors.New("write: " + pathless(err))
		return fmt.Errorf("audit log %s: %w", l.path, l.failed)
	}
	if err := l.f.Sync(); err != nil {
		l.failed = errors.New("fsync: " + pathless(err))
		return fmt.Errorf("audit log %s: %w", l.path, l.failed)
	}
	return nil
}

// sanitize redacts every text field and cleans the error text.
func sanitize(r *Record) {
	for _, f := range []*string{&r.Attempt, &r.Profile, &r.Tenant, &r.Actor, &r.ActionID, &r.Type,
		&r.Device, &r.MachineID, &r.Comment, &r.Status, &r.Result, &r.Error, &r.RequestID} {
		*f = Redact(*f)
	}
	r.Error = truncate(cleanText(r.Error), maxErrorLen)
	r.RequestID = cleanText(r.RequestID)
}

// cleanText keeps text on one line and free of terminal controls: invalid
// UTF-8 and control characters (ESC included) are dropped; line breaks and
// tabs become spaces.
func cleanText(s string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.Is(unicode.Cf, r) {
			return -1 // invisible format characters (textsafe drops the bidi ones)
		}
		return r
	}, textsafe.Clean(s)))
}

// truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "…"
	cut := n - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}

// pathless is the error without the *PathError prefix (the caller already
// names the file).
func pathless(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// Canceller is the part of *mde.Client that Wrap decorates.
type Canceller interface {
	Cancel(ctx context.Context, id, comment string) (mde.MachineAction, error)
}

// Wrap returns a Canceller that records every cancel in l: the intent
// first (when it cannot be written, the cancel is not sent and the error
// wraps ErrAuditUnavailable), then svc.Cancel, then the outcome. When the
// outcome cannot be written, Cancel returns svc's action as it is and
// svc's error joined with one wrapping ErrOutcomeUnrecorded: check the
// action (and errors.Is(err, ErrOutcomeUnrecorded)) before calling the
// cancel failed, for it may well have been applied.
//
// lookup, which may be nil, gives what the caller knows of the action
// (type, device) for the record; its ID is replaced by the id cancelled.
// A nil l refuses every cancel. A ctx already done is returned as is,
// with nothing written and nothing sent.
func Wrap(svc Canceller, l *Log, c Context, lookup func(id string) mde.MachineAction) Canceller {
	return &wrapped{svc: svc, log: l, ctx: c, lookup: lookup}
}

type wrapped struct {
	svc    Canceller
	log    *Log
	ctx    Context
	lookup func(string) mde.MachineAction
}

func (w *wrapped) Cancel(ctx context.Context, id, comment string) (mde.MachineAction, error) {
	if err := ctx.Err(); err != nil {
		return mde.MachineAction{}, err
	}
	var a mde.MachineAction
	if w.lookup != nil {
		a = w.lookup(id)
	}
	a.ID = id
	attempt, err := w.log.Intent(w.ctx, a, comment)
	if err != nil {
		return mde.MachineAction{}, err
	}
	var ans mde.Answer // the HTTP status, when the client says it
	result, callErr := w.svc.Cancel(mde.WithAnswer(ctx, &ans), id, comment)
	if err := w.log.outcome(w.ctx, attempt, a, result, callErr, ans.Status); err != nil {
		return result, errors.Join(callErr, err)
	}
	if rr, ok := w.svc.(Rereader); ok {
		if res := classify(result, callErr); res == ResultUnknown || res == ResultFailed {
			w.reread(ctx, rr, attempt, a)
		}
	}
	return result, callErr
}

// Rereader is a Canceller that can also read actions back: Wrap then
// records, after an outcome that could not tell, what the action became.
type Rereader interface {
	List(ctx context.Context, q mde.Query) ([]mde.MachineAction, error)
}

// rereadTimeout bounds the re-read after an unsure outcome (its own time:
// the cancel's may be spent).
const rereadTimeout = 15 * time.Second

func (w *wrapped) reread(ctx context.Context, rr Rereader, attempt string, a mde.MachineAction) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rereadTimeout)
	defer cancel()
	got, err := rr.List(ctx, mde.Query{IDs: []string{a.ID}})
	r := base(w.ctx, EventReread, attempt, a)
	r.Result = ResultUnknown
	switch {
	case err != nil:
		r.Error = err.Error()
	default:
		for _, g := range got {
			if strings.EqualFold(g.ID, a.ID) {
				r.Status, r.Result = string(g.Status), ResultNotApplied
				if g.Status == mde.StatusCancelled {
					r.Result = ResultCancelled
				}
			}
		}
		if r.Status == "" {
			r.Error = "the action was not found"
		}
	}
	w.log.mu.Lock()
	defer w.log.mu.Unlock()
	_ = w.log.writeLocked(r) // best effort: the outcome line already stands
}

// Shutdown settles l as the tool stops (see Settle), waiting up to wait
// or until hurry is closed (nil: no hurry), and tells w what it did in
// plain words. A nil l does nothing.
func Shutdown(l *Log, wait time.Duration, hurry <-chan struct{}, w io.Writer) {
	if l == nil {
		return
	}
	if n := l.InFlight(); n > 0 {
		fmt.Fprintf(w, "mdeactions: waiting up to %s for the API's answer to %d cancel(s); press ctrl+c again to stop waiting (they are then recorded as unknown)…\n", wait, n)
	}
	n, err := l.settle(wait, hurry)
	if n > 0 {
		fmt.Fprintf(w, "mdeactions: %d cancel(s) got no answer before exit; recorded as unknown in %s. Look at those actions before cancelling them again.\n", n, l.Path())
	}
	if err != nil {
		fmt.Fprintln(w, "mdeactions:", err)
	}
}
