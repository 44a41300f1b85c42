package ui

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/mde/audit"
	"github.com/mdeactions/mdeactions/mde/textsafe"
	"github.com/mdeactions/mdeactions/ui/keys"
)

// operation is what the UI was doing when an error came back.
type operation int

const (
	opList operation = iota
	opCancel
	opRead // one action read again by id
)

// explain turns an error from the service into plain words with what to do
// next. tokenWords, if set, explains a token source's errors.
func explain(op operation, err error, tokenWords func(error) string, k keys.KeyMap) string {
	if err == nil {
		return ""
	}
	r := keys.Name(k.Refresh)
	what := map[operation]string{opList: "Listing the actions", opCancel: "The cancel", opRead: "Reading the action again"}[op]
	if errors.Is(err, audit.ErrAuditUnavailable) {
		return "The cancel was NOT sent: the audit trail cannot be written (" + textsafe.Clean(err.Error()) + "). Fix it, then try again."
	}
	if errors.Is(err, mde.ErrToken) {
		return "Signing in failed, so nothing was sent: " + tokenText(err, tokenWords)
	}
	if errors.Is(err, mde.ErrReadOnly) {
		return what + " was refused: the tool runs read-only."
	}
	if apiErr, ok := mde.AsAPIError(err); ok {
		msg := strings.TrimRight(textsafe.Clean(apiErr.Message), ". ")
		if msg == "" {
			msg = textsafe.Clean(apiErr.Code)
		}
		details := ""
		if msg != "" {
			details = ": " + msg
		}
		ref := ""
		if apiErr.Target != "" {
			ref = " (request id " + textsafe.Clean(apiErr.Target) + ")"
		}
		switch s := apiErr.StatusCode; {
		case s == 429:
			wait := "a minute"
			switch d := apiErr.RetryAfter; {
			case d > time.Hour:
				wait = "more than an hour, the API says"
			case d > 0:
				wait = fmt.Sprintf("%d s", int((d+time.Second-1)/time.Second))
			}
			return what + " was throttled by the API: try again in " + wait + "."
		case s == 401:
			return what + " failed: the API did not accept the sign-in (401). Sign in again, then press " + r + "."
		case s == 403 && op == opCancel:
			return "The cancel was refused: permission missing (403). Cancelling needs one of the Machine.* action permissions (Machine.Isolate, Machine.Scan, …); a user also needs the Defender role for response actions" + ref + "."
		case s == 403:
			return "Listing was refused: permission missing (403). Listing needs Machine.Read.All or Machine.ReadWrite.All (for a user: Machine.Read and the Defender role View Data)" + ref + "."
		case s == 404 && op == opCancel:
			return "The cancel failed: not found; the action no longer exists" + ref + ". Press " + r + " to refresh."
		case s == 404:
			return fmt.Sprintf("Listing failed: 404 Not Found for %s. Check --api-url: it is the host only, without /api%s.", textsafe.Clean(apiErr.Path), ref)
		case s == 400 && op == opCancel:
			if msg == "" {
				msg = "no reason given"
			}
			return "The cancel was refused (400): " + msg + ref + ". Press " + r + " to refresh: it may have finished already."
		case s >= 500:
			return fmt.Sprintf("%s failed: the Defender API had an error (%d)%s. Try again in a moment.", what, s, ref)
		default:
			return fmt.Sprintf("%s failed: HTTP %d%s%s.", what, s, details, ref)
		}
	}
	if errors.Is(err, mde.ErrBadAnswer) {
		if op == opCancel {
			return "The API answered the cancel, but its answer could not be read; the cancel may have been applied. Press " + r + " to see the action's state."
		}
		return "Listing failed: the API's answer could not be read (" + textsafe.Clean(err.Error()) + ")."
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return what + " timed out: no answer in time. Check the network and press " + r + "."
	}
	var netErr net.Error
	var opErr *net.OpError
	if errors.As(err, &opErr) || errors.As(err, &netErr) {
		return what + " failed: cannot reach the API (" + textsafe.Clean(err.Error()) + "). Check the network or proxy and press " + r + "."
	}
	return what + " failed: " + textsafe.Clean(err.Error())
}

// tokenText is the sign-in error without the client's prefixes.
func tokenText(err error, tokenWords func(error) string) string {
	inner := err
	if u, ok := err.(interface{ Unwrap() []error }); ok {
		if errs := u.Unwrap(); len(errs) == 2 {
			inner = errs[1] // mde wraps ErrToken and the source's error
		}
	}
	if tokenWords != nil {
		// One line in the footer: the hint becomes a sentence of its own.
		words := tokenWords(inner)
		if msg, hint, ok := strings.Cut(words, "\nHint: "); ok {
			words = strings.TrimRight(msg, ". ") + ". What to do: " + hint
		}
		return textsafe.Clean(words)
	}
	return textsafe.Clean(inner.Error())
}

// failureKind is what tells one failure from another, without what every
// answer has of its own (the request id): the API's status and code, else
// the explained text.
func failureKind(err error, explained string) string {
	if e, ok := mde.AsAPIError(err); ok {
		return fmt.Sprintf("%d %s", e.StatusCode, e.Code)
	}
	return explained
}
