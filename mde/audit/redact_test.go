package audit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/mdeactions/mdeactions/mde"
)

// A realistic access token (header.payload.signature, base64url).
const (
	jwtHead = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiIsIng1dCI6Ik1HTHFqOThWTkxvWGFGZnBKQ0JwZ0I0SmFLcyJ9"
	jwtBody = "eyJhdWQiOiJodHRwczovL2FwaS5zZWN1cml0eWNlbnRlci5taWNyb3NvZnQuY29tIiwidGlkIjoiMTExMSJ9"
	jwtSig  = "Qm9ndXNTaWduYXR1cmVfX19fX19fX19fX19fX19fX19fX19fXy0tLQ"
	testJWT = jwtHead + "." + jwtBody + "." + jwtSig
)

func TestTokensNeverReachTheFile(t *testing.T) {
	l, path := openTemp(t)
	ctx := context.Background()
	// A server that echoes the request's headers in its error.
	apiErr := &mde.APIError{StatusCode: 400, Code: "BadRequest", Target: "rid-" + testJWT,
		Message: "invalid request; headers were Authorization: Bearer " + testJWT + " Accept: application/json"}
	// A transport error that quotes a token without "Bearer".
	terr := fmt.Errorf("proxy said: token %s rejected; client_secret=s3cr3t~Value.1 password: hunter2x", testJWT)
	opaque := "Bearer 0.ARoAv4j5cvGGr0GRqy180BHbR1x2y3z4w5v6u7"
	for i, e := range []error{apiErr, terr, errors.New("auth failed: " + opaque)} {
		svc := &fakeSvc{answer: func(string, string) (mde.MachineAction, error) { return mde.MachineAction{}, e }}
		comment := "ticket 4711"
		if i == 2 {
			comment = "pasted by mistake: Bearer " + testJWT
		}
		if _, err := Wrap(svc, l, testCtx, lookupTest).Cancel(ctx, testAction.ID, comment); err == nil {
			t.Fatal("no error")
		}
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	file := string(raw)
	for _, secret := range []string{jwtHead, jwtBody, jwtSig, "s3cr3t", "hunter2x", "0.ARoAv4j5cvGGr0GRqy180BHbR1x2y3z4w5v6u7"} {
		if strings.Contains(file, secret) {
			t.Errorf("the file holds %q:\n%s", secret, file)
		}
	}
	for _, kept := range []string{"Authorization: [redacted]", "Bearer [redacted]", "token [redacted] rejected",
		"client_secret=[redacted]", "password: [redacted]", "ticket 4711", "pasted by mistake", "rid-[redacted]"} {
		mustContain(t, file, kept)
	}
}

func TestRedact(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		// left alone
		{"", ""},
		{"wrong host, see INC-1234", "wrong host, see INC-1234"},
		{"the bearer token is invalid", "the bearer token is invalid"},
		{"Bearer authentication failed", "Bearer authentication failed"},
		{"Authorization failed for user", "Authorization failed for user"},
		{"they (eyJohn) said", "they (eyJohn) said"},
		{"mde: POST /api/machineactions/a1b2/cancel: 400 BadRequest (request id 8d1c4a8e-7f7e)", "mde: POST /api/machineactions/a1b2/cancel: 400 BadRequest (request id 8d1c4a8e-7f7e)"},
		// redacted
		{"Bearer " + testJWT, "Bearer [redacted]"},
		{"bearer abc.def", "bearer [redacted]"},
		{"Bearer eyJ...", "Bearer [redacted]"},
		{"Authorization: Bearer " + testJWT + " x", "Authorization: [redacted] x"},
		{`{"Authorization":"Basic dXNlcjpwYXNz"}`, `{"Authorization":"[redacted]"}`},
		{"authorization=SharedKey acct:sig", "authorization=[redacted] acct:sig"},
		{"id " + testJWT + ".", "id [redacted]"},
		{jwtHead + "." + jwtBody, "[redacted]"},
		{"access_token=abc123&x=1", "access_token=[redacted]&x=1"},
		{`"refresh_token": "0.AAA-bbb"`, `"refresh_token": "[redacted]"`},
		{"CLIENT_SECRET: Zz9~zz", "CLIENT_SECRET: [redacted]"},
	} {
		if got := Redact(tc.in); got != tc.want {
			t.Errorf("Redact(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}
