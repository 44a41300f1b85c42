package auth

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"

	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"
)

// Errors a caller may test for with errors.Is.
var (
	// ErrSignInRequired: a device-code source has no usable cached account
	// (never signed in, signed out, or the refresh token is no longer
	// accepted). A person has to sign in: StartSignIn or Login.
	ErrSignInRequired = errors.New("sign-in required")

	// ErrSignInAborted: SignIn.Abort was called while Wait was polling.
	ErrSignInAborted = errors.New("sign-in aborted")

	// ErrCodeExpired: the device code expired before the person signed in.
	ErrCodeExpired = errors.New("the sign-in code expired before the sign-in was finished")

	// ErrTokenRejected: token-env mode was asked for a fresh token but the
	// variable still holds the one the API refused.
	ErrTokenRejected = errors.New("the API refused the bearer token and no newer one is available")
)

// sentinelError is a message of its own that errors.Is a sentinel, so
// that the sentinel's text is not said before it.
type sentinelError struct {
	msg      string
	sentinel error
}

func (e *sentinelError) Error() string        { return e.msg }
func (e *sentinelError) Is(target error) bool { return target == e.sentinel }

// Error is a failure of a token source: what was being done, and why.
// Every error from a source's methods is an *Error; New returns a
// *SetupError, *CacheError or *CertificateError. None carries an MSAL
// type, a secret or a token.
type Error struct {
	Op  string // "device code sign-in", "client secret sign-in", …
	Err error  // the cause: an *AADError, a *NetworkError, a context error, ErrSignInRequired, …
}

func (e *Error) Error() string {
	// The context's own texts are Go's ("context deadline exceeded"); the
	// error still errors.Is them.
	switch e.Err {
	case context.DeadlineExceeded:
		return e.Op + ": timed out"
	case context.Canceled:
		return e.Op + ": cancelled"
	}
	return e.Op + ": " + e.Err.Error()
}
func (e *Error) Unwrap() error { return e.Err }

// AADError is an OAuth error answer from Microsoft Entra ID (or from a
// managed-identity endpoint), with the description verbatim.
type AADError struct {
	Host        string // who answered
	StatusCode  int
	Code        string // OAuth "error": invalid_grant, invalid_client, expired_token, …
	Description string // "error_description" as sent, e.g. "AADSTS7000215: Invalid client secret provided. …"
	AADSTS      int    // the AADSTS number, 0 if none
}

// Error is "<host> answered <error> (HTTP <status>): <description>", the
// description verbatim (Entra ID's include Trace ID and Correlation ID lines,
// which support asks for).
func (e *AADError) Error() string {
	var b strings.Builder
	host := e.Host
	if host == "" {
		host = "Microsoft Entra ID"
	}
	b.WriteString(host + " answered ")
	switch {
	case e.Code != "" && e.StatusCode != 0:
		fmt.Fprintf(&b, "%s (HTTP %d)", e.Code, e.StatusCode)
	case e.Code != "":
		b.WriteString(e.Code)
	default:
		fmt.Fprintf(&b, "HTTP %d", e.StatusCode)
	}
	if e.Description != "" {
		b.WriteString(": " + e.Description)
	}
	return strings.TrimSpace(b.String())
}

// NetworkError: Entra ID (or the identity endpoint) could not be reached.
type NetworkError struct {
	Host string
	Err  error // the cause (a *net.OpError, an x509 error, …)

	reason string // the cause in words, secrets redacted; "" => from Err
}

// Error is "cannot reach <host>: <reason>", the reason without Go's
// prefixes that repeat the host ("dial tcp 127.0.0.1:443: connect:
// connection refused" becomes "connection refused").
func (e *NetworkError) Error() string {
	r := e.reason
	if r == "" {
		r = networkReason(e.Err)
	}
	return "cannot reach " + e.Host + ": " + cleanText(redact(r))
}
func (e *NetworkError) Unwrap() error { return e.Err }

// networkReason is the innermost useful text of a failed connection or
// request: the caller names the host itself.
func networkReason(err error) string {
	var (
		se  *os.SyscallError
		de  *net.DNSError
		ua  x509.UnknownAuthorityError
		he  x509.HostnameError
		ci  x509.CertificateInvalidError
		ne  net.Error
		oe  *net.OpError
		ue  *url.Error
		rhe tls.RecordHeaderError
	)
	switch {
	case err == nil:
		return "unknown error"
	case errors.As(err, &ua), errors.As(err, &he), errors.As(err, &ci):
		return "its TLS certificate is not trusted (" + strings.TrimPrefix(certProblem(ua, he, ci), "x509: ") + ")"
	case errors.As(err, &rhe):
		return "it did not answer with TLS (is it an http:// address, or a proxy that needs CONNECT?)"
	case errors.As(err, &de):
		if de.IsNotFound {
			return "the name does not resolve (DNS: no such host)"
		}
		return "the DNS lookup failed (" + de.Err + ")"
	case errors.As(err, &se):
		return se.Err.Error()
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "no answer in time (timed out)"
	case errors.As(err, &oe) && oe.Err != nil:
		return oe.Err.Error()
	case errors.As(err, &ue) && ue.Err != nil:
		return ue.Err.Error()
	}
	return err.Error()
}

func certProblem(ua x509.UnknownAuthorityError, he x509.HostnameError, ci x509.CertificateInvalidError) string {
	switch {
	case ua.Cert != nil:
		return ua.Error()
	case he.Certificate != nil:
		return he.Error()
	}
	return ci.Error()
}

// fail turns any error from MSAL or the file system into an *Error: MSAL's
// CallErr (whose text is a URL plus the raw answer, and whose Verbose
// dumps the request) becomes an *AADError, a *url.Error a *NetworkError,
// anything else its text with secrets and JWTs removed.
func fail(op string, err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return &Error{Op: op, Err: sanitize(err, secrets...)}
}

func sanitize(err error, secrets ...string) error {
	var (
		ce  msalerrors.CallErr
		ae  *AADError
		ne  *NetworkError
		se  *SetupError
		ue  *url.Error
		cer *CacheError
		cte *CertificateError
	)
	switch {
	case errors.Is(err, ErrSignInRequired), errors.Is(err, ErrSignInAborted), errors.Is(err, ErrCodeExpired),
		errors.Is(err, ErrTokenRejected), errors.Is(err, ErrSignInBusy):
		return err // ours, worded already
	// Ours, found inside whatever MSAL wrapped around them: without its
	// prefixes ("ResolveEndpoints(): …").
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &ne):
		return ne
	case errors.As(err, &se):
		return se
	case errors.As(err, &cer):
		return cer
	case errors.As(err, &cte):
		return cte
	case errors.As(err, &ce):
		return aadErrorFrom(ce, secrets)
	case errors.Is(err, context.Canceled):
		return context.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return context.DeadlineExceeded
	case errors.As(err, &ue):
		host := ue.URL
		if u, perr := url.Parse(ue.URL); perr == nil && u.Host != "" {
			host = u.Host
		}
		return &NetworkError{Host: host, Err: ue.Err, reason: redact(networkReason(ue.Err), secrets...)}
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		host := "the network"
		if oe.Addr != nil {
			host = oe.Addr.String()
		}
		return &NetworkError{Host: host, Err: oe, reason: redact(networkReason(oe), secrets...)}
	}
	return errors.New(cleanText(redact(err.Error(), secrets...)))
}

// aadErrorFrom reads MSAL's CallErr. The body is in the message, after
// "reply status code was N:\n" (comm.go); the response body itself has
// been consumed.
func aadErrorFrom(ce msalerrors.CallErr, secrets []string) *AADError {
	e := &AADError{}
	if ce.Resp != nil {
		e.StatusCode = ce.Resp.StatusCode
	}
	if ce.Req != nil && ce.Req.URL != nil {
		e.Host = ce.Req.URL.Host
		if ce.Req.Host != "" {
			e.Host = ce.Req.Host
		}
	}
	msg := ""
	if ce.Err != nil {
		msg = ce.Err.Error()
	}
	body := msg
	if i := strings.Index(msg, ":\n"); i >= 0 {
		body = msg[i+2:]
	} else {
		body = ""
	}
	var j struct {
		Error       any    `json:"error"` // a string from Entra ID; an object from some endpoints
		Description string `json:"error_description"`
		Codes       []int  `json:"error_codes"`
		Message     string `json:"message"` // App Service identity endpoint
	}
	if body != "" && json.Unmarshal([]byte(strings.TrimSpace(body)), &j) == nil {
		switch v := j.Error.(type) {
		case string:
			e.Code = v
		case map[string]any:
			if c, ok := v["code"].(string); ok {
				e.Code = c
			}
			if m, ok := v["message"].(string); ok && j.Description == "" {
				j.Description = m
			}
		}
		e.Description = j.Description
		if e.Description == "" {
			e.Description = j.Message
		}
		if len(j.Codes) > 0 {
			e.AADSTS = j.Codes[0]
		}
	} else if body != "" {
		// Not JSON: a proxy's or gateway's page. Keep a little of it.
		b := strings.TrimSpace(body)
		if len(b) > 200 {
			b = b[:200] + "…"
		}
		e.Description = b // Error() says who answered with which status
	}
	if e.AADSTS == 0 {
		if m := aadstsRE.FindStringSubmatch(e.Description); m != nil {
			e.AADSTS, _ = strconv.Atoi(m[1])
		}
	}
	e.Description = cleanText(redact(e.Description, secrets...))
	return e
}

var aadstsRE = regexp.MustCompile(`AADSTS(\d+)`)

// jwtRE matches anything shaped like a JWT (access, ID and refresh tokens
// from Entra ID, client assertions).
var jwtRE = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*`)

// redact removes the given secrets and anything JWT-shaped from s.
func redact(s string, secrets ...string) string {
	for _, sec := range secrets {
		if len(sec) >= 4 {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	return jwtRE.ReplaceAllString(s, "[token]")
}

// cleanText drops control characters (terminal escapes) but keeps line breaks.
func cleanText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return r
		}
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return -1
		}
		return r
	}, s)
}

// Explain puts an error in plain words for the person at the terminal:
// the message (Entra ID's AADSTS text verbatim) and, when there is one, a
// line "Hint: …" saying what to do. For errors from elsewhere it returns
// err.Error() cleaned of control characters and tokens.
func Explain(err error) string {
	if err == nil {
		return ""
	}
	msg := cleanText(redact(err.Error()))
	if h := hint(err); h != "" {
		return msg + "\nHint: " + h
	}
	return msg
}

// Hints by AADSTS number (https://learn.microsoft.com/entra/identity-platform/reference-error-codes).
var aadstsHints = map[int]string{
	53000: caHint, 53001: caHint, 53002: caHint, 53003: caHint, 53004: caHint, 53010: caHint, 53011: caHint,
	7000218: "the app registration does not allow public client flows, which device code sign-in needs. " +
		"In the Entra admin center: App registrations → your app → Authentication → Allow public client flows = Yes. " +
		"Or sign in as the app with --auth secret or --auth certificate.",
	65001: "consent is missing: an administrator must grant consent for the app's WindowsDefenderATP permissions " +
		"(App registrations → your app → API permissions → Grant admin consent).",
	65004: "the consent prompt was declined; sign in again and accept, or ask an administrator to grant consent for the tenant.",
	700016: "this client id is not an app in this tenant: check --client-id (AZURE_CLIENT_ID) and --tenant (AZURE_TENANT_ID), " +
		"and --cloud (apps in GCC High and DoD live at login.microsoftonline.us).",
	90002:  "this tenant was not found: check --tenant (AZURE_TENANT_ID) and --cloud (GCC High and DoD tenants are at login.microsoftonline.us).",
	50020:  "the account is not a member of this tenant: sign in with an account of the tenant given with --tenant, or change --tenant.",
	500011: "the Defender for Endpoint API (WindowsDefenderATP) is not known in this tenant or cloud: check --cloud and --scope.",
	7000215: "the client secret is wrong: use the secret's Value (not its Secret ID) from Certificates & secrets, " +
		"in AZURE_CLIENT_SECRET or the secret file.",
	7000222: "the client secret has expired: create a new one under App registrations → your app → Certificates & secrets.",
	700027: "the certificate was not accepted: upload the certificate (the public part) to App registrations → your app → " +
		"Certificates & secrets, check that it has not expired, and that the key in the PEM file belongs to it. " +
		"A wrong clock also breaks certificate sign-in: check NTP.",
	700024:  "the client assertion is outside its validity window: this machine's clock is probably off; check NTP.",
	70020:   expiredHint,
	70008:   signInAgainHint,
	700082:  signInAgainHint,
	50173:   signInAgainHint,
	50076:   "multi-factor authentication is required: " + signInAgainHint,
	50079:   "multi-factor authentication registration is required: " + signInAgainHint,
	50057:   "the account is disabled in the tenant; ask your administrator.",
	7000112: "the app registration is disabled in this tenant; ask your administrator.",
}

const (
	caHint = "Conditional Access in your tenant blocked this sign-in (tenants often block the device code flow). " +
		"Ask your Entra administrator for an exception for this app, sign in from a device the policy accepts, " +
		"or use app-only sign-in (--auth certificate or --auth secret)."
	expiredHint     = "the code expired before the sign-in was finished (codes last about 15 minutes); start the sign-in again."
	signInAgainHint = "sign in again (mdeactions login)."
)

// Hints by OAuth error code, when the AADSTS number has none.
var oauthHints = map[string]string{
	"expired_token":           expiredHint,
	"authorization_declined":  "the sign-in was declined on the other device; start again if that was a mistake.",
	"bad_verification_code":   "the code was not recognised; start the sign-in again.",
	"invalid_grant":           "the saved sign-in is no longer accepted (expired, revoked or the password changed): " + signInAgainHint,
	"interaction_required":    signInAgainHint,
	"invalid_client":          "the app's credential was refused: check the client secret or certificate, and --client-id.",
	"unauthorized_client":     "this app may not use this sign-in method in this tenant: check --client-id, --tenant and --auth.",
	"invalid_scope":           "the scope is not valid for this cloud: check --cloud and --scope.",
	"invalid_instance":        "the authority host is not a Microsoft Entra host: check --cloud and --authority-host.",
	"temporarily_unavailable": "Microsoft Entra ID is temporarily unavailable; try again in a minute.",
}

func hint(err error) string {
	var (
		ae  *AADError
		ne  *NetworkError
		se  *SetupError
		cer *CacheError
		cte *CertificateError
		ce  msalerrors.CallErr
	)
	var e *Error
	if errors.As(err, &e) && strings.HasPrefix(e.Op, "managed identity") && errors.As(err, &ne) {
		return miNetworkHint
	}
	switch {
	case errors.As(err, &se), errors.As(err, &cer), errors.As(err, &cte), errors.As(err, new(*EnvTokenError)):
		return "" // the message is the explanation
	case errors.Is(err, ErrSignInAborted):
		return ""
	case errors.As(err, &ae):
		// Before ErrSignInRequired: Entra ID's reason (consent missing,
		// Conditional Access, …) has the more useful hint.
		if h := aadHint(ae); h != "" {
			return h
		}
	}
	switch {
	case errors.Is(err, ErrSignInRequired):
		return "sign in: run mdeactions login, or sign in from the TUI."
	case errors.Is(err, ErrCodeExpired):
		return "start the sign-in again (codes last about 15 minutes)."
	case errors.Is(err, ErrTokenRejected):
		return "put a fresh token in the variable, or sign in with --auth devicecode."
	case errors.Is(err, ErrSignInBusy):
		var be *busyError
		if errors.As(err, &be) && be.own {
			return "" // the message says what to do
		}
		return "finish or cancel the sign-in in the other terminal (or window) first, then try again."
	case errors.As(err, &ce):
		return aadHint(aadErrorFrom(ce, nil))
	case errors.As(err, &ne):
		return networkHintFor(ne)
	case errors.Is(err, context.DeadlineExceeded):
		return "it took too long: check the network and the proxy settings (HTTPS_PROXY and NO_PROXY are honoured)."
	}
	var ue *url.Error
	var oe *net.OpError
	if errors.As(err, &ue) || errors.As(err, &oe) {
		return networkHint
	}
	return ""
}

const miNetworkHint = "a managed identity is only reachable on the Azure VM, Arc-enabled server or App Service that has it: " +
	"run mdeactions there, check that an identity is assigned to the machine (and IDENTITY_ENDPOINT if set), " +
	"or use another --auth mode."

// networkHintFor says what to check for a NetworkError: a certificate
// that is not trusted (a TLS-inspecting proxy), a name that does not
// resolve, or else the network and proxy settings.
func networkHintFor(ne *NetworkError) string {
	var (
		ua x509.UnknownAuthorityError
		he x509.HostnameError
		ci x509.CertificateInvalidError
		de *net.DNSError
	)
	switch {
	case errors.As(ne.Err, &ua), errors.As(ne.Err, &he), errors.As(ne.Err, &ci):
		return "if a TLS-inspecting proxy sits in between, add its CA certificate to the system's trust store (or name it with SSL_CERT_FILE); " +
			"otherwise check --cloud and --authority-host."
	case errors.As(ne.Err, &de) && de.IsNotFound:
		return "check --cloud and --authority-host, and DNS; behind a proxy, set HTTPS_PROXY."
	}
	return networkHint
}

const networkHint = "check the network and the proxy settings (HTTPS_PROXY and NO_PROXY are honoured), and --cloud."

func aadHint(e *AADError) string {
	if h, ok := aadstsHints[e.AADSTS]; ok {
		return h
	}
	if h, ok := oauthHints[e.Code]; ok {
		return h
	}
	switch {
	case e.StatusCode == 429:
		return "Microsoft Entra ID is throttling requests; wait a minute and try again."
	case e.StatusCode >= 500:
		return "Microsoft Entra ID had a server error; try again in a minute."
	case e.StatusCode == 407:
		return "the proxy wants credentials: put them in HTTPS_PROXY (http://user:password@proxy:port)."
	}
	return ""
}
