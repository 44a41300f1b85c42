// Package term keeps the process and its terminal in order when the
// process is told to stop: SIGTERM (kill, systemd), SIGHUP (the SSH
// connection dropped) or SIGINT from outside the terminal. The first such
// signal cancels the context returned by SignalContext, which stops the
// TUI (Bubble Tea restores the terminal) and lets the deferred clean-up
// run: the demo's temporary directories are removed and the cancels in
// flight are settled in the audit trail. A second SIGTERM or SIGINT cuts
// the wait for their answers short (Hurry): they are recorded as unknown
// at once; a third has the default effect (the process ends). Further
// SIGHUPs are ignored.
package term

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// Signals are the signals SignalContext handles.
var Signals = []os.Signal{syscall.SIGTERM, syscall.SIGHUP, syscall.SIGINT}

// StoppedError is the cause of a context cancelled by a signal.
type StoppedError struct{ Signal os.Signal }

func (e *StoppedError) Error() string {
	name := e.Signal.String()
	switch e.Signal {
	case syscall.SIGTERM:
		name = "SIGTERM (asked to stop)"
	case syscall.SIGHUP:
		name = "SIGHUP (the terminal or SSH connection went away)"
	case syscall.SIGINT:
		name = "SIGINT (interrupted)"
	}
	return "stopped by " + name
}

// SignalContext returns a context cancelled, with a *StoppedError as its
// cause, by the first of Signals; stop releases the signals.
func SignalContext(parent context.Context) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, Signals...)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-ch:
			// Not SIGHUP again: a terminal that goes away sends more than
			// one (the kernel's, then the shell's to its jobs), and the
			// clean-up must not be cut short by the second.
			signal.Ignore(syscall.SIGHUP)
			cancel(&StoppedError{Signal: s})
		case <-done:
			return
		}
		// A second SIGTERM or SIGINT: stop waiting for answers, record
		// what is left as unknown, and go; a third ends the process.
		select {
		case <-ch:
			signal.Stop(ch)
			hurryOnce.Do(func() { close(hurry) })
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel(context.Canceled)
	}
}

var (
	hurry     = make(chan struct{})
	hurryOnce sync.Once
)

// Hurry is closed by a second SIGTERM or SIGINT while the process stops:
// whoever waits for answers should stop waiting (and record what it knows).
func Hurry() <-chan struct{} { return hurry }

// Stopped returns the *StoppedError that cancelled ctx, or nil.
func Stopped(ctx context.Context) error {
	var e *StoppedError
	if errors.As(context.Cause(ctx), &e) {
		return e
	}
	return nil
}

// Explain turns the error a run ended with into what to tell the user when
// a signal stopped it: the signal, and where to look for cancels that were
// waiting for their answer. Any other error is returned as it is.
func Explain(ctx context.Context, err error) error {
	stopped := Stopped(ctx)
	if stopped == nil {
		return err
	}
	return fmt.Errorf("%w; any cancel still waiting for its answer is recorded as unknown in the audit trail (mdeactions audit)", stopped)
}
