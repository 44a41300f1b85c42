package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
)

// appSource gets app-only tokens with the client credentials grant
// (confidential client). Tokens stay in MSAL's in-memory cache: app tokens
// are cheap, carry no refresh token, and a file would only add a place
// where they can leak.
type appSource struct {
	op       string // "client secret sign-in" or "certificate sign-in"
	client   confidential.Client
	scopes   []string
	clientID string
	secret   string // for redaction only
	id       label
}

// newSecretSource takes the secret from Config.SecretFile (the
// --client-secret-file flag) when it is set, else from AZURE_CLIENT_SECRET:
// a flag overrides the environment. With both, it warns that the variable
// is ignored.
func newSecretSource(c Config) (*appSource, error) {
	secret := c.Getenv("AZURE_CLIENT_SECRET")
	if c.SecretFile != "" {
		if secret != "" {
			c.Warn(fmt.Sprintf("both AZURE_CLIENT_SECRET and --client-secret-file are set; the secret in %s is used and AZURE_CLIENT_SECRET is ignored", c.SecretFile))
		}
		b, err := os.ReadFile(c.SecretFile)
		if err != nil {
			return nil, &SetupError{Mode: c.Mode, Problem: fmt.Sprintf("cannot read the secret file %s: %s", c.SecretFile, pathlessError(err))}
		}
		if fi, err := os.Stat(c.SecretFile); err == nil && fi.Mode().Perm()&0o077 != 0 {
			c.Warn(fmt.Sprintf("the secret file %s can be read by other users (mode %04o); fix: chmod 600 %s", c.SecretFile, fi.Mode().Perm(), shellQuote(c.SecretFile)))
		}
		secret = strings.TrimSpace(string(b))
		if secret == "" {
			return nil, &SetupError{Mode: c.Mode, Problem: fmt.Sprintf("the secret file %s is empty", c.SecretFile)}
		}
	}
	cred, err := confidential.NewCredFromSecret(secret)
	if err != nil {
		return nil, &SetupError{Mode: c.Mode, Problem: "the client secret is not usable: " + redact(err.Error(), secret)}
	}
	return newAppSource(c, "client secret sign-in", cred, secret)
}

func newCertificateSource(c Config) (*appSource, error) {
	certs, key, err := loadCertificate(c.CertificatePath, c.Warn)
	if err != nil {
		return nil, err
	}
	cred, err := confidential.NewCredFromCert(certs, key)
	if err != nil {
		return nil, &CertificateError{Path: c.CertificatePath, Problem: cleanText(err.Error()) + " (the private key must belong to the certificate in the same file)"}
	}
	return newAppSource(c, "certificate sign-in", cred, "")
}

func newAppSource(c Config, op string, cred confidential.Credential, secret string) (*appSource, error) {
	client, err := confidential.New(c.Cloud.AuthorityHost+"/"+c.TenantID, c.ClientID, cred,
		confidential.WithHTTPClient(c.httpClient()),
		confidential.WithInstanceDiscovery(!c.DisableInstanceDiscovery),
		// MSAL_FORCE_REGION in the environment would send client
		// credentials to a regional endpoint, and its "TryAutoDetect" value
		// probes the instance metadata service with MSAL's own HTTP client
		// (authority.go detectRegion). Neither is wanted here.
		confidential.WithAzureRegion("DisableMsalForceRegion"),
	)
	if err != nil {
		return nil, &SetupError{Mode: c.Mode, Problem: "cannot set up sign-in: " + cleanText(redact(err.Error(), secret))}
	}
	return &appSource{op: op, client: client, scopes: []string{c.Cloud.Scope}, clientID: c.ClientID, secret: secret}, nil
}

// Token returns the cached app token or a new one: in v1.10.1
// AcquireTokenByCredential looks in its cache first (msal.md §2).
func (s *appSource) Token(ctx context.Context) (string, error) {
	res, err := s.client.AcquireTokenByCredential(ctx, s.scopes)
	if err != nil {
		return "", fail(s.op, err, s.secret)
	}
	s.id.set(identityFromToken(res.AccessToken))
	return res.AccessToken, nil
}

// Refresh asks Entra ID for a new token: with claims, MSAL skips the cache
// lookup in AcquireTokenByCredential and stores the new token in its place.
func (s *appSource) Refresh(ctx context.Context) (string, error) {
	res, err := s.client.AcquireTokenByCredential(ctx, s.scopes, confidential.WithClaims(freshClaims(time.Now())))
	if err != nil {
		return "", fail(s.op, err, s.secret)
	}
	s.id.set(identityFromToken(res.AccessToken))
	return res.AccessToken, nil
}

// Identity is the app's display name from its token, or its client id
// before the first token.
func (s *appSource) Identity() string {
	if id := s.id.get(); id != "" {
		return id
	}
	return s.clientID
}

// CertificateError is a certificate file that cannot be used, with the
// openssl commands that make one that can.
type CertificateError struct {
	Path    string
	Problem string
	Fix     string
}

func (e *CertificateError) Error() string {
	s := "certificate " + e.Path + ": " + e.Problem
	if e.Fix != "" {
		s += "\nFix:\n" + e.Fix
	}
	return s
}

// loadCertificate reads a PEM file with a certificate and an unencrypted
// RSA private key. MSAL's CertFromPEM silently skips an "ENCRYPTED PRIVATE
// KEY" block (and then says "no private key found"), ignores its password
// argument and rejects legacy encrypted blocks; NewCredFromCert accepts
// RSA keys only (msal.md §2). So the file is checked here first, to say
// exactly what is wrong and how to convert it.
func loadCertificate(path string, warn func(string)) ([]*x509.Certificate, *rsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, &CertificateError{Path: path, Problem: "cannot be read: " + pathlessError(err)}
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		warn(fmt.Sprintf("the certificate file %s (it holds a private key) can be read by other users (mode %04o); fix: chmod 600 %s", path, fi.Mode().Perm(), shellQuote(path)))
	}
	q := shellQuote(path)
	var (
		certs []*x509.Certificate
		key   any
		rest  = data
	)
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		_, legacyEncrypted := block.Headers["DEK-Info"]
		switch {
		case block.Type == "ENCRYPTED PRIVATE KEY" || legacyEncrypted:
			return nil, nil, &CertificateError{Path: path,
				Problem: "the private key is encrypted with a passphrase; mdeactions needs it unencrypted (protect the file with chmod 600 instead)",
				Fix: "  openssl pkey -in " + q + " -out key.pem        # asks for the passphrase\n" +
					"  openssl x509 -in " + q + " -out cert.pem\n" +
					"  cat cert.pem key.pem > mdeactions.pem && chmod 600 mdeactions.pem && rm key.pem"}
		case block.Type == "CERTIFICATE":
			c, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, nil, &CertificateError{Path: path, Problem: "a CERTIFICATE block cannot be parsed: " + err.Error()}
			}
			certs = append(certs, c)
		case block.Type == "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				return nil, nil, &CertificateError{Path: path, Problem: "the PRIVATE KEY block cannot be parsed: " + err.Error()}
			}
			if key != nil {
				return nil, nil, &CertificateError{Path: path, Problem: "the file has more than one private key"}
			}
			key = k
		case block.Type == "RSA PRIVATE KEY":
			k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
			if err != nil {
				return nil, nil, &CertificateError{Path: path, Problem: "the RSA PRIVATE KEY block cannot be parsed: " + err.Error()}
			}
			if key != nil {
				return nil, nil, &CertificateError{Path: path, Problem: "the file has more than one private key"}
			}
			key = k
		case block.Type == "EC PRIVATE KEY":
			k, err := x509.ParseECPrivateKey(block.Bytes)
			if err != nil {
				return nil, nil, &CertificateError{Path: path, Problem: "the EC PRIVATE KEY block cannot be parsed: " + err.Error()}
			}
			key = k
		}
	}
	newRSA := "  openssl req -x509 -newkey rsa:3072 -nodes -days 365 -subj /CN=mdeactions -keyout key.pem -out cert.pem\n" +
		"  cat cert.pem key.pem > mdeactions.pem && chmod 600 mdeactions.pem && rm key.pem\n" +
		"  # then upload cert.pem to App registrations → your app → Certificates & secrets"
	if len(certs) == 0 && key == nil {
		if len(data) > 0 && data[0] == 0x30 { // binary DER: a certificate, a key or a PKCS#12 bundle
			return nil, nil, derFileError(path, data)
		}
		return nil, nil, &CertificateError{Path: path, Problem: "no PEM certificate or key found in it"}
	}
	var rsaKey *rsa.PrivateKey
	switch k := key.(type) {
	case nil:
		return nil, nil, &CertificateError{Path: path, Problem: "no private key in the file; put the certificate and its unencrypted private key in one PEM file",
			Fix: "  cat cert.pem key.pem > mdeactions.pem && chmod 600 mdeactions.pem"}
	case *rsa.PrivateKey:
		rsaKey = k
	case *ecdsa.PrivateKey:
		return nil, nil, &CertificateError{Path: path,
			Problem: "the private key is an ECDSA key; MSAL signs client assertions with RSA keys only, and an EC key cannot be converted. Create an RSA certificate",
			Fix:     newRSA}
	case ed25519.PrivateKey:
		return nil, nil, &CertificateError{Path: path,
			Problem: "the private key is an Ed25519 key; MSAL signs client assertions with RSA keys only. Create an RSA certificate",
			Fix:     newRSA}
	default:
		return nil, nil, &CertificateError{Path: path, Problem: fmt.Sprintf("the private key is a %T; MSAL needs an RSA key", k), Fix: newRSA}
	}
	if len(certs) == 0 {
		return nil, nil, &CertificateError{Path: path, Problem: "no certificate in the file; put the certificate and its private key in one PEM file",
			Fix: "  cat cert.pem key.pem > mdeactions.pem && chmod 600 mdeactions.pem"}
	}
	for _, c := range certs {
		if pub, ok := c.PublicKey.(*rsa.PublicKey); ok && pub.Equal(&rsaKey.PublicKey) {
			if time.Now().After(c.NotAfter) {
				warn(fmt.Sprintf("the certificate in %s expired on %s; Entra ID will refuse it (AADSTS700027)", path, c.NotAfter.Format("2006-01-02")))
			}
			return certs, rsaKey, nil
		}
	}
	return nil, nil, &CertificateError{Path: path, Problem: "the private key does not belong to any certificate in the file"}
}

// derFileError is the error for a binary (DER) file: says which of a
// certificate alone (.cer/.der, as the Azure portal downloads one), a
// private key alone, or a PKCS#12 bundle (.pfx/.p12) it looks like, and
// the openssl commands that make the one PEM file mdeactions needs.
func derFileError(path string, data []byte) *CertificateError {
	q := shellQuote(path)
	const combine = "  cat cert.pem key.pem > mdeactions.pem && chmod 600 mdeactions.pem"
	if _, err := x509.ParseCertificate(data); err == nil {
		return &CertificateError{Path: path,
			Problem: "this looks like a DER-encoded certificate (binary, as .cer/.der files are), not PEM; and a certificate alone is not enough: " +
				"mdeactions needs one PEM file with the certificate and its unencrypted RSA private key",
			Fix: "  openssl x509 -inform der -in " + q + " -out cert.pem\n" +
				combine + "   # key.pem: the certificate's private key, in PEM"}
	}
	if _, err := x509.ParsePKCS8PrivateKey(data); err == nil {
		return derKeyError(path, q, combine)
	}
	if _, err := x509.ParsePKCS1PrivateKey(data); err == nil {
		return derKeyError(path, q, combine)
	}
	return &CertificateError{Path: path,
		Problem: "this is not a PEM file (a .pfx/.p12 bundle?); mdeactions needs PEM with the certificate and an unencrypted RSA key",
		Fix: "  openssl pkcs12 -in " + q + " -nodes -out mdeactions.pem && chmod 600 mdeactions.pem\n" +
			"  # if OpenSSL 3 says \"unsupported\" (an old .pfx with RC2/3DES encryption), add -legacy:\n" +
			"  openssl pkcs12 -legacy -in " + q + " -nodes -out mdeactions.pem && chmod 600 mdeactions.pem"}
}

func derKeyError(path, q, combine string) *CertificateError {
	return &CertificateError{Path: path,
		Problem: "this looks like a DER-encoded private key (binary), not PEM, and without its certificate; " +
			"mdeactions needs one PEM file with the certificate and its unencrypted RSA private key",
		Fix: "  openssl pkey -inform der -in " + q + " -out key.pem\n" +
			combine + "   # cert.pem: the certificate, in PEM"}
}
