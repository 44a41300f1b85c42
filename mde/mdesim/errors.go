package mdesim

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// apiError is an error response. Most use the API's standard body
// {"error":{"code","message","target"}} (reference §4.1); errors raised by
// the OData query layer (unknown or invalid $-options) use the other shape
// seen in the wild: empty code, "details":[] and no target (§4.2).
type apiError struct {
	status     int
	code       string
	message    string
	queryLayer bool // §4.2 shape
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func newError(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

// odataError is a malformed $filter/$orderby: 400 ODataError.
func odataError(format string, args ...any) *apiError {
	return newError(http.StatusBadRequest, "ODataError", "Invalid OData URI query: "+format, args...)
}

// queryLayerError is a 400 in the §4.2 shape. The message is prefixed as
// ASP.NET OData does.
func queryLayerError(format string, args ...any) *apiError {
	return &apiError{
		status:     http.StatusBadRequest,
		message:    "The query specified in the URI is not valid. " + fmt.Sprintf(format, args...),
		queryLayer: true,
	}
}

// setHeaders writes the headers every response carries (reference §4.4).
func setHeaders(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json; odata.metadata=minimal; odata.streaming=true; charset=utf-8")
	w.Header().Set("OData-Version", "4.0")
}

// writeBody sends a JSON body with the standard headers.
func writeBody(w http.ResponseWriter, status int, body []byte) {
	setHeaders(w)
	w.WriteHeader(status)
	w.Write(body)
}

// standardError is the API's usual error body (§4.1).
type standardError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Target  string `json:"target"`
	} `json:"error"`
}

// queryLayerBody is the body of errors from the OData query layer (§4.2).
type queryLayerBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Details []any  `json:"details"`
	} `json:"error"`
}

// writeError sends e. Standard-shape errors get a fresh GUID as target.
func writeError(w http.ResponseWriter, e *apiError) {
	if e.queryLayer {
		var b queryLayerBody
		b.Error.Code, b.Error.Message, b.Error.Details = e.code, e.message, []any{}
		writeBody(w, e.status, marshal(b))
		return
	}
	var b standardError
	b.Error.Code, b.Error.Message, b.Error.Target = e.code, e.message, newTarget()
	writeBody(w, e.status, marshal(b))
}

// writeThrottled sends 429 with Retry-After.
func writeThrottled(w http.ResponseWriter, seconds int) {
	w.Header().Set("Retry-After", strconv.Itoa(seconds))
	writeError(w, newError(http.StatusTooManyRequests, "TooManyRequests",
		"Rate limit is exceeded. Try again in %d seconds.", seconds))
}

// marshal encodes v without HTML escaping and without a trailing newline.
func marshal(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return []byte("null")
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// newTarget returns a random lower-case GUID for an error's target. It uses
// crypto/rand so that it never disturbs the tenant's seeded generator.
func newTarget() string {
	var b [16]byte
	rand.Read(b[:])
	return formatGUID(b)
}

// formatGUID formats 16 bytes as a version 4 GUID in lower case.
func formatGUID(b [16]byte) string {
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
