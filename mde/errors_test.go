package mde

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// getError makes a Get against a server answering status, headers and body,
// and returns its *APIError.
func getError(t *testing.T, status int, header map[string]string, body string) *APIError {
	t.Helper()
	srv := newStub(t, func(w http.ResponseWriter, r *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	})
	_, err := newTestClient(t, srv.URL).Get(context.Background(), "x")
	e, ok := AsAPIError(err)
	if !ok {
		t.Fatalf("err = %v (%T), want *APIError", err, err)
	}
	return e
}

func TestStandardErrorShape(t *testing.T) {
	e := getError(t, 404, map[string]string{"Content-Type": "application/json"},
		`{"error":{"code":"ResourceNotFound","message":"MachineAction x was not found","target":"43f4cb08-8fac-4b65-9db1-745c2ae65f3a"}}`)
	want := APIError{
		StatusCode: 404, Code: "ResourceNotFound", Message: "MachineAction x was not found",
		Target: "43f4cb08-8fac-4b65-9db1-745c2ae65f3a", Method: "GET", Path: "/api/machineactions/x",
	}
	if *e != want {
		t.Errorf("got %+v\nwant %+v", *e, want)
	}
	if s := e.Error(); s != "mde: GET /api/machineactions/x: 404 ResourceNotFound: MachineAction x was not found (request id 43f4cb08-8fac-4b65-9db1-745c2ae65f3a)" {
		t.Errorf("Error() = %q", s)
	}
	if !IsNotFound(e) || !IsNotFound(fmt.Errorf("wrapped: %w", e)) {
		t.Error("IsNotFound is false")
	}
	if _, ok := RetryAfter(e); ok {
		t.Error("RetryAfter reports a 404")
	}
}

func TestODataErrorShape(t *testing.T) {
	msg := "The query specified in the URI is not valid. Custom query option '$stop' that starts with '$' is not supported."
	e := getError(t, 400, map[string]string{"Content-Type": "application/json"},
		`{"error":{"code":"","message":"`+msg+`","details":[]}}`)
	if e.StatusCode != 400 || e.Code != "" || e.Message != msg || e.Target != "" || e.Body != "" {
		t.Errorf("got %+v", *e)
	}
	if s := e.Error(); s != "mde: GET /api/machineactions/x: 400: "+msg {
		t.Errorf("Error() = %q", s)
	}
	if IsNotFound(e) {
		t.Error("IsNotFound on a 400")
	}
}

func TestNonJSONErrorBody(t *testing.T) {
	page := "<html>\r\n<head><title>502 Bad Gateway</title></head>\x1b[31m\x00<body>" + strings.Repeat("x", 1000) + "</body></html>"
	e := getError(t, 502, map[string]string{"Content-Type": "text/html"}, page)
	if e.StatusCode != 502 || e.Code != "" || e.Message != "" {
		t.Errorf("got %+v", *e)
	}
	if !strings.HasPrefix(e.Body, "<html> <head><title>502 Bad Gateway</title></head><body>xxx") || len(e.Body) > 512 {
		t.Errorf("Body = %q (%d bytes)", e.Body, len(e.Body))
	}
	if strings.ContainsAny(e.Body, "\r\n\x1b\x00") {
		t.Errorf("control characters kept in %q", e.Body)
	}
	if s := e.Error(); s != "mde: GET /api/machineactions/x: 502 Bad Gateway (the body is not a JSON error)" {
		t.Errorf("Error() = %q", s)
	}
}

func TestJSONWithoutErrorKeyKeepsBody(t *testing.T) {
	e := getError(t, 401, nil, `{"statusCode":401,"message":"Access denied due to invalid subscription key."}`)
	if e.Code != "" || e.Message != "" || !strings.Contains(e.Body, "invalid subscription key") {
		t.Errorf("got %+v", *e)
	}
}

func TestEmptyErrorBody(t *testing.T) {
	e := getError(t, 503, nil, "")
	if e.StatusCode != 503 || e.Body != "" || e.Message != "" {
		t.Errorf("got %+v", *e)
	}
	if s := e.Error(); s != "mde: GET /api/machineactions/x: 503 Service Unavailable" {
		t.Errorf("Error() = %q", s)
	}
}

func TestServerTextIsCleaned(t *testing.T) {
	e := getError(t, 400, nil, `{"error":{"code":"BadRequest","message":"bad\u001b[2J\nthing","target":"t\u0007"}}`)
	// Whole escape sequences go, not only their ESC (mde/textsafe).
	if e.Message != "bad thing" || e.Target != "t" {
		t.Errorf("got %+v", *e)
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	e := getError(t, 429, map[string]string{"Retry-After": "17"},
		`{"error":{"code":"TooManyRequests","message":"Rate limit is exceeded","target":"r1"}}`)
	d, ok := RetryAfter(fmt.Errorf("wrapped: %w", e))
	if !ok || d != 17*time.Second || e.RetryAfter != d {
		t.Errorf("RetryAfter = %v, %v; field %v", d, ok, e.RetryAfter)
	}
	if s := e.Error(); s != "mde: GET /api/machineactions/x: 429 TooManyRequests: Rate limit is exceeded (retry after 17s) (request id r1)" {
		t.Errorf("Error() = %q", s)
	}
}

func TestRetryAfterHTTPDate(t *testing.T) {
	at := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	e := getError(t, 429, map[string]string{"Retry-After": at}, "")
	d, ok := RetryAfter(e)
	if !ok || d < 80*time.Second || d > 91*time.Second {
		t.Errorf("RetryAfter = %v, %v", d, ok)
	}
}

func TestRetryAfterAbsent(t *testing.T) {
	e := getError(t, 429, nil, "")
	if d, ok := RetryAfter(e); !ok || d != 0 {
		t.Errorf("RetryAfter = %v, %v", d, ok)
	}
	if _, ok := RetryAfter(errors.New("plain")); ok {
		t.Error("RetryAfter on a plain error")
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"":                                 0,
		"0":                                0,
		" 120 ":                            2 * time.Minute,
		"-5":                               0,
		"soon":                             0,
		"1.5":                              0,
		"Thu, 01 May 2025 12:00:30 GMT":    30 * time.Second,
		"Thu, 01 May 2025 11:59:00 GMT":    0,
		"Thursday, 01-May-25 12:01:00 GMT": time.Minute,
	} {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

// TestTokenNeverInErrors drives every error path with a server that echoes
// the request's Authorization header back, and checks that the token never
// reaches an error string.
func TestTokenNeverInErrors(t *testing.T) {
	echo := func(status int, contentType, format string) *stub {
		return newStub(t, func(w http.ResponseWriter, r *http.Request) {
			if contentType != "" {
				w.Header().Set("Content-Type", contentType)
			}
			w.Header().Set("WWW-Authenticate", r.Header.Get("Authorization"))
			w.WriteHeader(status)
			auth := r.Header.Get("Authorization")
			_, _ = fmt.Fprintf(w, format, auth, auth, auth)
		})
	}
	servers := map[string]*stub{
		"json error":   echo(401, "application/json", `{"error":{"code":"Unauthorized %s","message":"token %s is expired","target":"%s"}}`),
		"odata error":  echo(400, "application/json", `{"error":{"code":"","message":"bad header %s %s %s","details":[]}}`),
		"html error":   echo(500, "text/html", `<html>%s<br>%s<br>%s</html>`),
		"wrong type":   echo(200, "text/html", `<html>%s %s %s</html>`),
		"bad entity":   echo(200, "application/json", `{"id": %q %q %q}`),
		"foreign link": echo(200, "application/json", `{"value":[{"id":"a"}],"@odata.nextLink":"http://evil.example/api/machineactions?$skiptoken=%s%s%s"}`),
	}
	closed := echo(200, "", "")
	closed.Close()
	servers["closed"] = closed

	for name, srv := range servers {
		c := newTestClient(t, srv.URL)
		calls := map[string]func() error{
			"Get":    func() error { _, err := c.Get(context.Background(), "x"); return err },
			"Cancel": func() error { _, err := c.Cancel(context.Background(), "x", "c"); return err },
			"List":   func() error { _, err := c.List(context.Background(), Query{}); return err },
		}
		for call, f := range calls {
			if name == "foreign link" && call != "List" {
				continue // only a list follows links
			}
			err := f()
			if err == nil {
				t.Errorf("%s %s: no error", name, call)
				continue
			}
			texts := []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)}
			if e, ok := AsAPIError(err); ok {
				texts = append(texts, fmt.Sprintf("%+v", *e))
			}
			for _, s := range texts {
				if strings.Contains(s, testToken) || strings.Contains(s, testToken[20:40]) {
					t.Errorf("%s %s: the token leaks: %s", name, call, s)
				}
			}
		}
	}
}
