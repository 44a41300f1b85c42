package ui

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/ui/textsafe"
)

// explain turns an error from the service into plain words with what to do
// next. op is what was being done ("Loading the actions", "Cancel").
func explain(op string, err error) string {
	if err == nil {
		return ""
	}
	if errors.Is(err, mde.ErrReadOnly) {
		return op + " refused: the tool runs read-only."
	}
	if apiErr, ok := mde.AsAPIError(err); ok {
		msg := textsafe.Clean(apiErr.Message)
		if msg == "" {
			msg = textsafe.Clean(apiErr.Code)
		}
		ref := ""
		if apiErr.Target != "" {
			ref = " (request id " + textsafe.Clean(apiErr.Target) + ")"
		}
		switch {
		case apiErr.StatusCode == 429:
			wait := "a minute"
			if apiErr.RetryAfter > 0 {
				wait = fmt.Sprintf("%d s", int((apiErr.RetryAfter+time.Second-1)/time.Second))
			}
			return op + " throttled by the API: try again in " + wait + "."
		case apiErr.StatusCode == 401:
			return op + " failed: not signed in or the token expired (401). Sign in again and restart."
		case apiErr.StatusCode == 403:
			if strings.HasPrefix(op, "Cancel") {
				return op + " failed: permission missing (403). Cancelling needs one of the Machine.* action permissions (Machine.Isolate, Machine.Scan, …)" + ref + "."
			}
			return op + " failed: permission missing (403). Listing needs Machine.Read.All or Machine.ReadWrite.All" + ref + "."
		case apiErr.StatusCode == 404:
			return op + " failed: not found; the action no longer exists" + ref + ". Press r to refresh."
		case apiErr.StatusCode == 400 && strings.HasPrefix(op, "Cancel"):
			return op + " refused: " + msg + ref + ". It may have finished already; press r to refresh."
		case apiErr.StatusCode >= 500:
			return fmt.Sprintf("%s failed: the Defender API had an error (%d)%s. Try again in a moment.", op, apiErr.StatusCode, ref)
		default:
			if msg == "" {
				msg = "no message"
			}
			return fmt.Sprintf("%s failed: HTTP %d: %s%s.", op, apiErr.StatusCode, msg, ref)
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return op + " timed out: no answer from the API. Check the network and press r."
	}
	var netErr net.Error
	var opErr *net.OpError
	if errors.As(err, &opErr) || errors.As(err, &netErr) {
		return op + " failed: cannot reach the API (" + textsafe.Clean(err.Error()) + "). Check the network or proxy and press r."
	}
	return op + " failed: " + textsafe.Clean(err.Error())
}
