package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdeactions/mdeactions/auth/fakeentra"
)

const testClientID = "11111111-2222-4333-8444-555555555555"

// startFake starts a fake Entra ID for one test.
func startFake(t *testing.T, opts fakeentra.Options) *fakeentra.Server {
	t.Helper()
	srv, err := fakeentra.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

// loginHosts are the production authority hosts the guard rewrites to the fake.
var loginHosts = map[string]bool{
	"login.microsoftonline.com": true,
	"login.microsoftonline.us":  true,
}

// guardTransport sends requests for the fake and for the production login
// hosts (rewritten to the fake, the original Host header kept) to the
// fake, and fails the test on anything else: nothing leaves the machine.
type guardTransport struct {
	t      *testing.T
	srv    *fakeentra.Server
	fake   string // host:port of the fake
	inner  http.RoundTripper
	mu     sync.Mutex
	bodies []url.Values // form bodies of every POST (to look for secrets in errors)
}

func newGuard(t *testing.T, srv *fakeentra.Server) *guardTransport {
	u, _ := url.Parse(srv.URL())
	return &guardTransport{t: t, srv: srv, fake: u.Host, inner: srv.Client().Transport}
}

func (g *guardTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	host := req.URL.Host
	switch {
	case host == g.fake:
	case loginHosts[host]:
		r2 := req.Clone(req.Context())
		r2.URL.Scheme = "https"
		r2.URL.Host = g.fake
		r2.Host = host
		req = r2
	default:
		g.t.Errorf("a request left for %s %s (only the fake may be called)", req.Method, req.URL.Redacted())
		return nil, fmt.Errorf("guard: %s is not the fake", host)
	}
	if req.Method == http.MethodPost && req.Body != nil && req.GetBody != nil {
		if b, err := req.GetBody(); err == nil {
			var sb strings.Builder
			buf := make([]byte, 4096)
			for {
				n, err := b.Read(buf)
				sb.Write(buf[:n])
				if err != nil {
					break
				}
			}
			if v, err := url.ParseQuery(sb.String()); err == nil {
				g.mu.Lock()
				g.bodies = append(g.bodies, v)
				g.mu.Unlock()
			}
		}
	}
	return g.inner.RoundTrip(req)
}

func (g *guardTransport) CloseIdleConnections() {
	if c, ok := g.inner.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// formValues returns every value of a form field sent so far.
func (g *guardTransport) formValues(field string) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []string
	for _, v := range g.bodies {
		if s := v.Get(field); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// warnings collects Config.Warn messages.
type warnings struct {
	mu  sync.Mutex
	msg []string
}

func (w *warnings) add(s string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msg = append(w.msg, s)
}

func (w *warnings) all() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.msg...)
}

// env is a Config.Getenv over a map.
func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

// fakeConfig is a Config that talks to srv through a guard, with the
// cache in a temporary directory.
func fakeConfig(t *testing.T, srv *fakeentra.Server, mode Mode) (Config, *guardTransport, *warnings) {
	g := newGuard(t, srv)
	w := &warnings{}
	return Config{
		Mode: mode,
		Cloud: Cloud{Name: "fake", AuthorityHost: srv.URL(),
			Scope: "https://api.securitycenter.microsoft.com/.default", APIBase: "https://api.security.microsoft.com"},
		TenantID:                 srv.TenantID(),
		ClientID:                 testClientID,
		CacheDir:                 filepath.Join(t.TempDir(), "mdeactions"),
		HTTPClient:               &http.Client{Transport: g, Timeout: 30 * time.Second},
		DisableInstanceDiscovery: true,
		Getenv:                   env(),
		Warn:                     w.add,
	}, g, w
}

// tokenPosts counts the token endpoint POSTs in hits.
func tokenPosts(hits []fakeentra.Hit) int {
	n := 0
	for _, h := range hits {
		if h.Method == http.MethodPost && strings.HasSuffix(h.Path, "/oauth2/v2.0/token") {
			n++
		}
	}
	return n
}

func countPath(hits []fakeentra.Hit, suffix string) int {
	n := 0
	for _, h := range hits {
		if strings.HasSuffix(h.Path, suffix) {
			n++
		}
	}
	return n
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func newDeviceCode(t *testing.T, cfg Config) *DeviceCodeSource {
	t.Helper()
	src, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	dc, ok := src.(*DeviceCodeSource)
	if !ok {
		t.Fatalf("New(devicecode) = %T, want *DeviceCodeSource", src)
	}
	return dc
}

// signIn runs a device-code sign-in, approving the code on the fake.
func signIn(t *testing.T, srv *fakeentra.Server, src *DeviceCodeSource) string {
	t.Helper()
	ctx := ctxT(t)
	si, err := src.StartSignIn(ctx)
	if err != nil {
		t.Fatalf("StartSignIn: %v", err)
	}
	if !srv.Approve(si.Code.UserCode) {
		t.Fatalf("the fake does not know the user code %q", si.Code.UserCode)
	}
	acct, err := si.Wait(ctx)
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	return acct
}

func isAAD(err error, code int) bool {
	var ae *AADError
	return errors.As(err, &ae) && ae.AADSTS == code
}
