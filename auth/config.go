package auth

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Mode is how tokens are obtained, chosen with --auth.
type Mode string

// The modes.
const (
	ModeDeviceCode      Mode = "devicecode"       // a person signs in with a code on another device (public client)
	ModeSecret          Mode = "secret"           // app-only, client secret (confidential client)
	ModeCertificate     Mode = "certificate"      // app-only, certificate (confidential client)
	ModeManagedIdentity Mode = "managed-identity" // the host's managed identity; opt-in only
	ModeTokenEnv        Mode = "token-env"        // a bearer token in an environment variable
)

var modes = []Mode{ModeDeviceCode, ModeSecret, ModeCertificate, ModeManagedIdentity, ModeTokenEnv}

// ParseMode parses an --auth value. "" is the default, devicecode; a few
// spellings people type ("device-code", "cert", "msi", …) are accepted.
func ParseMode(s string) (Mode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "devicecode", "device-code", "device_code", "device":
		return ModeDeviceCode, nil
	case "secret", "client-secret", "clientsecret":
		return ModeSecret, nil
	case "certificate", "cert", "client-certificate":
		return ModeCertificate, nil
	case "managed-identity", "managedidentity", "managed_identity", "msi", "mi":
		return ModeManagedIdentity, nil
	case "token-env", "tokenenv", "token_env", "env", "token":
		return ModeTokenEnv, nil
	}
	return "", fmt.Errorf("unknown auth mode %q: use one of %s", s, modeList())
}

func modeList() string {
	s := make([]string, len(modes))
	for i, m := range modes {
		s[i] = string(m)
	}
	return strings.Join(s, ", ")
}

// DefaultTokenEnv is the variable token-env mode reads when Config.TokenEnv is "".
const DefaultTokenEnv = "MDE_TOKEN"

// Config is everything New needs.
type Config struct {
	Mode  Mode  // "" => devicecode
	Cloud Cloud // already with any --authority-host/--scope overrides applied by the caller; empty fields come from the table (Name "" => commercial)

	TenantID string // "" => $AZURE_TENANT_ID
	ClientID string // "" => $AZURE_CLIENT_ID

	SecretFile              string // secret mode: file with the secret; when set it wins over AZURE_CLIENT_SECRET (a warning says so)
	CertificatePath         string // certificate mode; "" => $AZURE_CLIENT_CERTIFICATE_PATH
	ManagedIdentityClientID string // optional user-assigned identity
	TokenEnv                string // token-env mode: variable name; "" => MDE_TOKEN

	CacheDir string // "" => $XDG_STATE_HOME/mdeactions or ~/.local/state/mdeactions
	NoCache  bool   // device code: keep tokens in memory only

	HTTPClient               *http.Client // nil => a clone of http.DefaultTransport (honours HTTPS_PROXY)
	DisableInstanceDiscovery bool         // tests and the demo use a fake authority URL

	Getenv func(string) string // nil => os.Getenv
	Warn   func(string)        // warnings (e.g. corrupt cache moved aside); nil => discard
}

// SetupError says what configuration is missing or wrong, in words meant
// for the person at the terminal. With tenant or client id missing it is
// the first-run text.
type SetupError struct {
	Mode    Mode
	Missing []string // "tenant id", "client id", … (first run)
	Problem string   // anything else that is wrong, with its fix
}

func (e *SetupError) Error() string {
	if len(e.Missing) == 0 {
		return e.Problem
	}
	var b strings.Builder
	fmt.Fprintf(&b, "mdeactions needs to know where to sign in (missing: %s).\n", strings.Join(e.Missing, ", "))
	b.WriteString("  tenant id:  --tenant <guid or domain>, or AZURE_TENANT_ID\n")
	b.WriteString("  client id:  --client-id <guid>, or AZURE_CLIENT_ID: an app registration\n")
	b.WriteString("              with WindowsDefenderATP permissions (see the README)\n")
	fmt.Fprintf(&b, "  auth mode:  --auth devicecode (default), secret, certificate,\n")
	b.WriteString("              managed-identity or token-env\n")
	b.WriteString("  or a profile in the configuration file (mdeactions info shows its path)\n")
	b.WriteString("To look around without a tenant: mdeactions --demo")
	if e.Problem != "" {
		b.WriteString("\n")
		b.WriteString(e.Problem)
	}
	return b.String()
}

// Validate checks the configuration without touching the network or the
// disk. Problems come back as a *SetupError.
func (c Config) Validate() error {
	_, err := c.resolve()
	return err
}

var (
	guidRE   = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	domainRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$`)
)

// resolve fills the defaults and validates.
func (c Config) resolve() (Config, error) {
	if c.Getenv == nil {
		c.Getenv = os.Getenv
	}
	if c.Warn == nil {
		c.Warn = func(string) {}
	}
	m, err := ParseMode(string(c.Mode))
	if err != nil {
		return c, &SetupError{Mode: c.Mode, Problem: err.Error() + " (--auth)"}
	}
	c.Mode = m

	// The cloud: empty fields come from the table. A custom cloud (a name
	// not in the table, or none) must give its authority host and scope.
	name := c.Cloud.Name
	if name == "" && (c.Cloud.AuthorityHost == "" || c.Cloud.Scope == "") {
		name = "commercial"
	}
	if name != "" {
		t, err := LookupCloud(name)
		switch {
		case err == nil:
			if c.Cloud.AuthorityHost == "" {
				c.Cloud.AuthorityHost = t.AuthorityHost
			}
			if c.Cloud.Scope == "" {
				c.Cloud.Scope = t.Scope
			}
			if c.Cloud.APIBase == "" {
				c.Cloud.APIBase = t.APIBase
			}
			c.Cloud.Name = t.Name
		case c.Cloud.AuthorityHost == "" || c.Cloud.Scope == "":
			return c, &SetupError{Mode: c.Mode, Problem: err.Error() + " (--cloud)"}
		}
	}
	if c.Mode != ModeTokenEnv && c.Mode != ModeManagedIdentity {
		host, err := normalizeAuthorityHost(c.Cloud.AuthorityHost)
		if err != nil {
			return c, &SetupError{Mode: c.Mode, Problem: err.Error()}
		}
		c.Cloud.AuthorityHost = host
	}
	if strings.TrimSpace(c.Cloud.Scope) == "" {
		return c, &SetupError{Mode: c.Mode, Problem: "the token scope is empty (--scope)"}
	}

	switch c.Mode {
	case ModeTokenEnv:
		if c.TokenEnv == "" {
			c.TokenEnv = DefaultTokenEnv
		}
		return c, nil
	case ModeManagedIdentity:
		if c.ManagedIdentityClientID != "" && !guidRE.MatchString(c.ManagedIdentityClientID) {
			return c, &SetupError{Mode: c.Mode, Problem: fmt.Sprintf("the managed identity client id %q is not a GUID (it is the identity's client id, shown on its Overview page)", c.ManagedIdentityClientID)}
		}
		return c, nil
	}

	if c.TenantID == "" {
		c.TenantID = strings.TrimSpace(c.Getenv("AZURE_TENANT_ID"))
	}
	if c.ClientID == "" {
		c.ClientID = strings.TrimSpace(c.Getenv("AZURE_CLIENT_ID"))
	}
	var missing []string
	if c.TenantID == "" {
		missing = append(missing, "tenant id")
	}
	if c.ClientID == "" {
		missing = append(missing, "client id")
	}
	if len(missing) > 0 {
		return c, &SetupError{Mode: c.Mode, Missing: missing}
	}
	if !guidRE.MatchString(c.TenantID) && !domainRE.MatchString(c.TenantID) && c.TenantID != "organizations" {
		return c, &SetupError{Mode: c.Mode, Problem: fmt.Sprintf("the tenant %q is neither a GUID nor a domain name: use the Directory (tenant) ID from the app registration's Overview page (--tenant or AZURE_TENANT_ID)", c.TenantID)}
	}
	if !guidRE.MatchString(c.ClientID) {
		return c, &SetupError{Mode: c.Mode, Problem: fmt.Sprintf("the client id %q is not a GUID: use the Application (client) ID from the app registration's Overview page (--client-id or AZURE_CLIENT_ID)", c.ClientID)}
	}
	c.TenantID = strings.ToLower(c.TenantID)
	c.ClientID = strings.ToLower(c.ClientID)

	switch c.Mode {
	case ModeSecret:
		if c.Getenv("AZURE_CLIENT_SECRET") == "" && c.SecretFile == "" {
			return c, &SetupError{Mode: c.Mode, Problem: "secret mode needs the app's client secret: put it in AZURE_CLIENT_SECRET, or in a file (mode 600) named with --client-secret-file; a secret is never taken as a flag value"}
		}
	case ModeCertificate:
		if c.CertificatePath == "" {
			c.CertificatePath = c.Getenv("AZURE_CLIENT_CERTIFICATE_PATH")
		}
		if c.CertificatePath == "" {
			return c, &SetupError{Mode: c.Mode, Problem: "certificate mode needs a PEM file with the certificate and its unencrypted RSA private key: name it with --certificate or AZURE_CLIENT_CERTIFICATE_PATH"}
		}
	}
	return c, nil
}

// normalizeAuthorityHost accepts "login.microsoftonline.us" or
// "https://login.microsoftonline.us/" and returns "https://host[:port]".
// MSAL rejects anything but https (msal.md §1.1).
func normalizeAuthorityHost(h string) (string, error) {
	h = strings.TrimSpace(h)
	if !strings.Contains(h, "://") {
		h = "https://" + h
	}
	u, err := url.Parse(h)
	if err != nil || u.Host == "" || u.Scheme != "https" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return "", fmt.Errorf("the authority host %q is not valid: want https://host, such as https://login.microsoftonline.com (--authority-host)", h)
	}
	return "https://" + strings.ToLower(u.Host), nil
}

// httpClient is the client for Entra ID: the injected one, or one whose
// transport is a clone of http.DefaultTransport, so HTTPS_PROXY and NO_PROXY
// apply (a transport built from scratch would drop them, msal.md §7 #10).
func (c Config) httpClient() *http.Client {
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	return &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone(), Timeout: 60 * time.Second}
}

// managedIdentityHTTPClient is like httpClient, but never sends the
// instance metadata address (169.254.169.254) through a proxy: it is only
// reachable from the VM itself, and a proxy answers for it with its own
// refusal (an HTTP 403 "denied destination"). This holds for an injected
// client too, when its transport is an *http.Transport (main injects one
// for every mode). Loopback endpoints (App Service, Arc) are never proxied
// by http.ProxyFromEnvironment anyway.
func (c Config) managedIdentityHTTPClient() *http.Client {
	base := c.HTTPClient
	if base == nil {
		base = &http.Client{Timeout: 60 * time.Second}
	}
	var t *http.Transport
	switch tr := base.Transport.(type) {
	case nil:
		t = http.DefaultTransport.(*http.Transport).Clone()
	case *http.Transport:
		t = tr.Clone()
	default:
		return base // a test's transport: used as it is
	}
	proxy := t.Proxy
	t.Proxy = func(r *http.Request) (*url.URL, error) {
		if ip := net.ParseIP(r.URL.Hostname()); ip != nil && ip.IsLinkLocalUnicast() {
			return nil, nil
		}
		if proxy == nil {
			return nil, nil
		}
		return proxy(r)
	}
	hc := *base
	hc.Transport = t
	return &hc
}

// cacheDir is where the device-code token cache lives.
func (c Config) cacheDir() (string, error) {
	if c.CacheDir != "" {
		return filepath.Abs(c.CacheDir)
	}
	if x := c.Getenv("XDG_STATE_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "mdeactions"), nil
	}
	home := c.Getenv("HOME")
	if home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("no home directory for the token cache: set XDG_STATE_HOME or HOME, or use --no-cache")
		}
		home = h
	}
	return filepath.Join(home, ".local", "state", "mdeactions"), nil
}

// cacheFileName is one file per (cloud, tenant, client id): a cache is never
// shared between clouds, tenants or apps (msal.md §4.1).
func (c Config) cacheFileName() string {
	cloud := c.Cloud.Name
	if cloud == "" || !c.Cloud.tableAuthority() {
		u, _ := url.Parse(c.Cloud.AuthorityHost)
		cloud = u.Host
	}
	return "msal_cache-" + safeName(cloud) + "-" + safeName(c.TenantID) + "-" + safeName(c.ClientID) + ".json"
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '.':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return '_'
	}, s)
}
