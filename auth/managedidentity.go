package auth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"time"

	mi "github.com/AzureAD/microsoft-authentication-library-for-go/apps/managedidentity"
)

// miSource gets app tokens from the host's managed identity. It exists only
// when --auth managed-identity was chosen: on hosts that are not in Azure
// the default source (the instance metadata service at 169.254.169.254,
// with retries) only burns time (msal.md §3).
//
// MSAL picks the source from the process environment (IDENTITY_ENDPOINT +
// IDENTITY_HEADER: App Service; MSI_ENDPOINT: Cloud Shell/Azure ML; Arc
// agent files; else IMDS) with os.Getenv, not Config.Getenv, and keeps
// managed-identity tokens in a process-wide cache.
type miSource struct {
	client   mi.Client
	resource string
	source   mi.Source
	clientID string
	id       label
}

// The bounds of a managed-identity token request. MSAL's own retry policy
// makes 3 attempts of up to a minute each (managedidentity.go retry), on
// top of the HTTP client's timeout: about three minutes against an endpoint
// that accepts the connection and never answers. MSAL's retries are turned
// off (mi.WithRetryPolicyDisabled) and miHTTPClient retries instead,
// within these bounds. Variables so that tests can shorten them.
var (
	miAttemptTimeout = 10 * time.Second // one request
	miAttempts       = 3                // at most, on no answer, a network error or a retryable status
	miRetryDelay     = time.Second      // between attempts
	miTotalTimeout   = 30 * time.Second // one Token or Refresh call, all attempts included
)

// errMIDeadline is the cause of the context of a Token or Refresh call
// when miTotalTimeout ran out (not the caller's own deadline).
var errMIDeadline = errors.New("managed identity: total time limit reached")

func newManagedIdentitySource(c Config) (*miSource, error) {
	id := mi.SystemAssigned()
	if c.ManagedIdentityClientID != "" {
		id = mi.UserAssignedClientID(c.ManagedIdentityClientID)
	}
	src, _ := mi.GetSource()
	hc := &miHTTPClient{inner: c.managedIdentityHTTPClient(), imds: src == mi.DefaultToIMDS}
	client, err := mi.New(id, mi.WithHTTPClient(hc), mi.WithRetryPolicyDisabled())
	if err != nil {
		return nil, &SetupError{Mode: c.Mode, Problem: "managed identity cannot be used here: " + cleanText(err.Error())}
	}
	// The resource is the scope without "/.default"; MSAL strips it too.
	return &miSource{client: client, resource: trimScopeDefault(c.Cloud.Scope), source: src, clientID: c.ManagedIdentityClientID}, nil
}

func (s *miSource) op() string { return "managed identity (" + string(s.source) + ")" }

func (s *miSource) Token(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, miTotalTimeout, errMIDeadline)
	defer cancel()
	res, err := s.client.AcquireToken(ctx, s.resource)
	if err != nil {
		return "", fail(s.op(), err)
	}
	s.id.set(identityFromToken(res.AccessToken))
	return res.AccessToken, nil
}

// Refresh: with claims, AcquireToken skips the cache ("ignore cached
// access tokens when given claims", managedidentity.go) and the new token
// replaces the cached one.
func (s *miSource) Refresh(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, miTotalTimeout, errMIDeadline)
	defer cancel()
	res, err := s.client.AcquireToken(ctx, s.resource, mi.WithClaims(freshClaims(time.Now())))
	if err != nil {
		return "", fail(s.op(), err)
	}
	s.id.set(identityFromToken(res.AccessToken))
	return res.AccessToken, nil
}

func (s *miSource) Identity() string {
	if id := s.id.get(); id != "" {
		return id
	}
	if s.clientID != "" {
		return "managed identity " + s.clientID
	}
	return ""
}

// miHTTPClient is the HTTP client MSAL's managed-identity client uses: each
// request gets miAttemptTimeout per attempt and at most miAttempts
// attempts, retried on no answer, a network error or the status codes
// MSAL itself retries. When it gives up, the error names the endpoint.
type miHTTPClient struct {
	inner *http.Client
	imds  bool // the instance metadata service: MSAL's IMDS retry codes
}

// MSAL's retry status codes (managedidentity.go retryStatusCodes,
// retryCodesForIMDS).
var (
	miRetryCodes   = []int{408, 429, 500, 502, 503, 504}
	imdsRetryCodes = []int{404, 410, 429, 500, 501, 502, 503, 504, 505, 506, 507, 508, 510, 511}
)

// ConfigureClient lets MSAL install the certificate pinning Service Fabric
// needs (mi.ClientConfigurer); the retries stay around it.
func (c *miHTTPClient) ConfigureClient(augment func(*http.Client) (*http.Client, error)) error {
	hc, err := augment(c.inner)
	if err != nil {
		return err
	}
	c.inner = hc
	return nil
}

func (c *miHTTPClient) CloseIdleConnections() { c.inner.CloseIdleConnections() }

func (c *miHTTPClient) Do(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	endpoint := endpointOf(req.URL)
	codes := miRetryCodes
	if c.imds {
		codes = imdsRetryCodes
	}
	start := time.Now()
	var (
		resp     *http.Response
		err      error
		timedOut bool
		attempts int
	)
	for attempts = 1; ; attempts++ {
		resp, timedOut, err = c.attempt(ctx, req)
		if ctx.Err() != nil {
			if errors.Is(context.Cause(ctx), errMIDeadline) {
				return nil, &NetworkError{Host: endpoint, Err: noAnswer(attempts, time.Since(start))}
			}
			return nil, ctx.Err() // the caller gave up
		}
		if err == nil && !slices.Contains(codes, resp.StatusCode) {
			return resp, nil
		}
		if attempts >= miAttempts {
			break
		}
		t := time.NewTimer(miRetryDelay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			if errors.Is(context.Cause(ctx), errMIDeadline) {
				if err == nil {
					return resp, nil // the last answer: MSAL reports its status and body
				}
				return nil, &NetworkError{Host: endpoint, Err: noAnswer(attempts, time.Since(start))}
			}
			return nil, ctx.Err()
		}
	}
	switch {
	case err == nil:
		return resp, nil
	case timedOut:
		return nil, &NetworkError{Host: endpoint, Err: noAnswer(attempts, time.Since(start))}
	}
	return nil, &NetworkError{Host: endpoint, Err: err}
}

// attempt sends one copy of req with its own timeout and reads the whole
// body while that timeout still runs, so the caller can read it after.
func (c *miHTTPClient) attempt(ctx context.Context, req *http.Request) (resp *http.Response, timedOut bool, err error) {
	actx, cancel := context.WithTimeout(ctx, miAttemptTimeout)
	defer cancel()
	r := req.Clone(actx)
	if req.GetBody != nil {
		if r.Body, err = req.GetBody(); err != nil {
			return nil, false, err
		}
	}
	resp, err = c.inner.Do(r)
	if err == nil {
		var body []byte
		body, err = io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
	}
	if err != nil {
		var ne net.Error
		timedOut = (errors.Is(actx.Err(), context.DeadlineExceeded) && ctx.Err() == nil) || (errors.As(err, &ne) && ne.Timeout())
		return nil, timedOut, err
	}
	return resp, false, nil
}

func noAnswer(attempts int, took time.Duration) error {
	tries := "1 attempt"
	if attempts > 1 {
		tries = fmt.Sprintf("%d attempts", attempts)
	}
	return fmt.Errorf("no answer (%s of up to %s each, gave up after %s)", tries, miAttemptTimeout, took.Round(100*time.Millisecond))
}

// endpointOf is a request URL without its query (the resource and client
// id parameters).
func endpointOf(u *url.URL) string {
	v := *u
	v.RawQuery, v.ForceQuery, v.Fragment, v.User = "", false, "", nil
	return v.String()
}
