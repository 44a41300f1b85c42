package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/mdeactions/mdeactions/auth/fakeentra"
)

// selfSigned returns a self-signed certificate for key, PEM-encoded.
func selfSigned(t *testing.T, key any, pub any) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(42),
		Subject:      pkix.Name{CommonName: "mdeactions test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// rsaPEM writes a PEM file with a self-signed certificate and its RSA key
// (PKCS#8 or PKCS#1).
func rsaPEM(t *testing.T, pkcs1 bool) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	var kb *pem.Block
	if pkcs1 {
		kb = &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}
	} else {
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		kb = &pem.Block{Type: "PRIVATE KEY", Bytes: der}
	}
	return writeFile(t, "app.pem", append(selfSigned(t, key, &key.PublicKey), pem.EncodeToMemory(kb)...))
}

func TestSecretFromEnvAndFile(t *testing.T) {
	const secret = "s3cr3t~Value.Abc123_xyz"
	srv := startFake(t, fakeentra.Options{ClientSecret: secret})
	ctx := ctxT(t)

	cfgEnv, _, _ := fakeConfig(t, srv, ModeSecret)
	cfgEnv.Getenv = env("AZURE_CLIENT_SECRET", secret)

	cfgFile, _, _ := fakeConfig(t, srv, ModeSecret)
	cfgFile.SecretFile = writeFile(t, "secret", []byte(secret+"\n"))

	for name, cfg := range map[string]Config{"env": cfgEnv, "file": cfgFile} {
		t.Run(name, func(t *testing.T) {
			srv.ResetHits()
			src, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if src.Identity() != testClientID {
				t.Fatalf("Identity before a token = %q, want the client id", src.Identity())
			}
			tok, err := src.Token(ctx)
			if err != nil {
				t.Fatal(err)
			}
			checkAppToken(t, srv, tok)
			if src.Identity() != "mdeactions automation" {
				t.Fatalf("Identity = %q, want the app's display name", src.Identity())
			}
			again, err := src.Token(ctx)
			if err != nil || again != tok {
				t.Fatalf("second Token: %v, same %v", err, again == tok)
			}
			hits := srv.Hits()
			if n := tokenPosts(hits); n != 1 {
				t.Fatalf("%d token POSTs for two Token calls, want 1 (MSAL's cache)", n)
			}
			for _, h := range hits {
				if h.GrantType == "client_credentials" && (h.Credential != "secret" || h.ClientID != testClientID) {
					t.Fatalf("token request %+v: want client_secret and our client id", h)
				}
			}
			// Refresh gets a new token, not the cached one.
			fresh, err := src.Refresh(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if fresh == tok || tokenPosts(srv.Hits()) != 2 {
				t.Fatalf("Refresh: same token %v, %d POSTs", fresh == tok, tokenPosts(srv.Hits()))
			}
			if after, _ := src.Token(ctx); after != fresh {
				t.Fatal("Token after Refresh does not return the refreshed token")
			}
		})
	}

	// A wrong secret: AADSTS7000215 verbatim, with a hint, without the secret.
	bad, _, _ := fakeConfig(t, srv, ModeSecret)
	bad.Getenv = env("AZURE_CLIENT_SECRET", "wrong-secret-value-123")
	src, err := New(bad)
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.Token(ctx)
	if !isAAD(err, 7000215) || !strings.Contains(err.Error(), "AADSTS7000215: Invalid client secret provided.") {
		t.Fatalf("wrong secret: %v", err)
	}
	if ex := Explain(err); !strings.Contains(ex, "Hint: the client secret is wrong") || strings.Contains(ex, "wrong-secret-value-123") {
		t.Fatalf("Explain: %s", ex)
	}
}

func TestSecretSetupErrors(t *testing.T) {
	srv := startFake(t, fakeentra.Options{})
	cfg, _, _ := fakeConfig(t, srv, ModeSecret)
	var se *SetupError
	if _, err := New(cfg); !errors.As(err, &se) || !strings.Contains(err.Error(), "AZURE_CLIENT_SECRET") || !strings.Contains(err.Error(), "never") {
		t.Fatalf("no secret: %v", err)
	}
	cfg.SecretFile = filepath.Join(t.TempDir(), "missing")
	if _, err := New(cfg); !errors.As(err, &se) || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("missing secret file: %v", err)
	}
	cfg.SecretFile = writeFile(t, "empty", []byte("\n"))
	if _, err := New(cfg); !errors.As(err, &se) || !strings.Contains(err.Error(), "empty") {
		t.Fatalf("empty secret file: %v", err)
	}
	w := &warnings{}
	cfg.Warn = w.add
	cfg.SecretFile = writeFile(t, "open", []byte("abc-secret"))
	if err := os.Chmod(cfg.SecretFile, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := New(cfg); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(w.all(), "\n"); !strings.Contains(got, "chmod 600") {
		t.Fatalf("no warning about a readable secret file: %q", got)
	}
}

func checkAppToken(t *testing.T, srv *fakeentra.Server, tok string) {
	t.Helper()
	claims := jwt.MapClaims{}
	if _, err := jwt.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return srv.PublicKey(), nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer(srv.Issuer()), jwt.WithAudience("https://api.securitycenter.microsoft.com")); err != nil {
		t.Fatalf("the app token does not verify: %v", err)
	}
	if claims["roles"] == nil || claims["appid"] == nil || claims["scp"] != nil {
		t.Fatalf("app token claims %v: want roles and appid, no scp", claims)
	}
}

func TestCertificate(t *testing.T) {
	srv := startFake(t, fakeentra.Options{})
	ctx := ctxT(t)
	for _, pkcs1 := range []bool{false, true} {
		cfg, g, _ := fakeConfig(t, srv, ModeCertificate)
		cfg.CertificatePath = rsaPEM(t, pkcs1)
		srv.ResetHits()
		src, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := src.Token(ctx)
		if err != nil {
			t.Fatalf("pkcs1=%v: %v", pkcs1, err)
		}
		checkAppToken(t, srv, tok)
		hits := srv.Hits()
		if n := tokenPosts(hits); n != 1 || hits[len(hits)-1].Credential != "assertion" {
			t.Fatalf("%d token POSTs, last %+v; want one with a client assertion", n, hits[len(hits)-1])
		}
		// The assertion is a PS256 JWT with an x5t#S256 header (msal.md §2).
		as := g.formValues("client_assertion")
		if len(as) != 1 {
			t.Fatalf("%d assertions seen", len(as))
		}
		parsed, _, err := jwt.NewParser().ParseUnverified(as[0], jwt.MapClaims{})
		if err != nil || parsed.Method.Alg() != "PS256" || parsed.Header["x5t#S256"] == nil {
			t.Fatalf("assertion: %v, header %v", err, parsed.Header)
		}
		fresh, err := src.Refresh(ctx)
		if err != nil || fresh == tok || tokenPosts(srv.Hits()) != 2 {
			t.Fatalf("Refresh: %v, same %v, %d POSTs", err, fresh == tok, tokenPosts(srv.Hits()))
		}
	}

	// The AADSTS700027 answer for a certificate Entra ID does not know.
	cfg, _, _ := fakeConfig(t, srv, ModeCertificate)
	cfg.CertificatePath = rsaPEM(t, false)
	src, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv.Fail(fakeentra.Failure{Status: 401, Error: "invalid_client", AADSTS: 700027, Description: "Client assertion failed signature validation."})
	_, err = src.Token(ctx)
	if !isAAD(err, 700027) || !strings.Contains(Explain(err), "upload the certificate") {
		t.Fatalf("700027: %v\n%s", err, Explain(err))
	}
}

func TestCertificateFileProblems(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaCert := selfSigned(t, rsaKey, &rsaKey.PublicKey)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(rsaKey)
	// A legacy (RFC 1423) encrypted key, as old openssl versions write: the
	// deprecated function is the way to make one.
	//lint:ignore SA1019 the test needs a legacy encrypted key to check that it is refused
	legacy, err := x509.EncryptPEMBlock(rand.Reader, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey), []byte("pw"), x509.PEMCipherAES256)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, _ := x509.MarshalECPrivateKey(ecKey)
	ecPKCS8, _ := x509.MarshalPKCS8PrivateKey(ecKey)
	otherKey, _ := rsa.GenerateKey(rand.Reader, 2048)

	for _, tc := range []struct {
		name string
		data []byte
		want []string
	}{
		{"encrypted pkcs8", append(rsaCert, pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{0x30, 0x00}})...),
			[]string{"encrypted", "openssl pkey -in", "openssl x509 -in", "chmod 600"}},
		{"encrypted legacy", append(rsaCert, pem.EncodeToMemory(legacy)...),
			[]string{"encrypted", "openssl pkey -in"}},
		{"ecdsa (sec1)", append(selfSigned(t, ecKey, &ecKey.PublicKey), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER})...),
			[]string{"ECDSA", "RSA", "openssl req -x509 -newkey rsa:"}},
		{"ecdsa (pkcs8)", append(selfSigned(t, ecKey, &ecKey.PublicKey), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecPKCS8})...),
			[]string{"ECDSA", "openssl req -x509 -newkey rsa:"}},
		{"no key", rsaCert, []string{"no private key"}},
		{"no certificate", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), []string{"no certificate"}},
		{"key of another certificate", append(selfSigned(t, otherKey, &otherKey.PublicKey), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})...),
			[]string{"does not belong"}},
		{"pkcs12", []byte{0x30, 0x82, 0x01, 0x00, 0x02, 0x01, 0x03}, []string{"openssl pkcs12 -in"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, "app.pem", tc.data)
			_, err := New(Config{Mode: ModeCertificate, TenantID: fakeentra.DefaultTenantID, ClientID: testClientID,
				CertificatePath: path, Getenv: env()})
			var ce *CertificateError
			if !errors.As(err, &ce) {
				t.Fatalf("New: %v, want a *CertificateError", err)
			}
			ex := Explain(err)
			for _, w := range tc.want {
				if !strings.Contains(ex, w) {
					t.Errorf("Explain lacks %q:\n%s", w, ex)
				}
			}
			if !strings.Contains(ex, path) {
				t.Errorf("Explain does not name the file:\n%s", ex)
			}
			if strings.Contains(ex, "PRIVATE KEY-----") || strings.Contains(ex, "MII") {
				t.Errorf("Explain shows key material:\n%s", ex)
			}
		})
	}
}

// TestSecretFileWinsOverEnvironment: --client-secret-file (a flag) wins over
// AZURE_CLIENT_SECRET (the environment), with one warning saying so.
func TestSecretFileWinsOverEnvironment(t *testing.T) {
	const fileSecret = "file~Secret.Value_123"
	srv := startFake(t, fakeentra.Options{ClientSecret: fileSecret})
	cfg, g, w := fakeConfig(t, srv, ModeSecret)
	cfg.Getenv = env("AZURE_CLIENT_SECRET", "stale~env.secret_456")
	cfg.SecretFile = writeFile(t, "secret", []byte(fileSecret+"\n"))
	src, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Token(ctxT(t)); err != nil {
		t.Fatalf("Token with the file's secret: %v", err)
	}
	if sent := g.formValues("client_secret"); len(sent) != 1 || sent[0] != fileSecret {
		t.Fatalf("sent %d secrets, want the file's", len(sent))
	}
	var n int
	for _, m := range w.all() {
		if strings.Contains(m, "AZURE_CLIENT_SECRET is ignored") && strings.Contains(m, cfg.SecretFile) {
			n++
		}
		if strings.Contains(m, "stale~env") || strings.Contains(m, fileSecret) {
			t.Errorf("a secret is in a warning: %q", m)
		}
	}
	if n != 1 {
		t.Fatalf("%d warnings that the variable is ignored, want 1: %q", n, w.all())
	}
	// Only the variable: no warning.
	cfg.SecretFile = ""
	cfg.Getenv = env("AZURE_CLIENT_SECRET", fileSecret)
	w2 := &warnings{}
	cfg.Warn = w2.add
	if _, err := New(cfg); err != nil || len(w2.all()) != 0 {
		t.Fatalf("env only: %v, warnings %q", err, w2.all())
	}
}

// TestCertificateDERAndPKCS12Hints: a DER certificate (.cer, as the portal
// downloads it) is told so, with the openssl x509 -inform der command and
// not the pkcs12 one; the pkcs12 command mentions -legacy for old .pfx
// files under OpenSSL 3.
func TestCertificateDERAndPKCS12Hints(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	certBlock, _ := pem.Decode(selfSigned(t, key, &key.PublicKey))
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	pfx, err := asn1.Marshal(struct {
		Version int
		Data    asn1.RawValue
	}{3, asn1.RawValue{Tag: asn1.TagSequence, IsCompound: true, Bytes: []byte{0x06, 0x01, 0x00}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, file string
		data       []byte
		want       []string
		not        []string
	}{
		{"der certificate", "cert.cer", certBlock.Bytes,
			[]string{"DER-encoded certificate", "openssl x509 -inform der -in %s -out cert.pem", "private key"},
			[]string{"pkcs12", ".pfx"}},
		{"der key", "key.der", keyDER,
			[]string{"DER-encoded private key", "openssl pkey -inform der -in %s -out key.pem"},
			[]string{"pkcs12"}},
		{"pkcs12", "cert.pfx", pfx,
			[]string{"openssl pkcs12 -in %s -nodes -out", "unsupported", "-legacy", "openssl pkcs12 -legacy -in %s -nodes"},
			[]string{"-inform der"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, tc.file, tc.data)
			_, err := New(Config{Mode: ModeCertificate, TenantID: fakeentra.DefaultTenantID, ClientID: testClientID,
				CertificatePath: path, Getenv: env()})
			var ce *CertificateError
			if !errors.As(err, &ce) {
				t.Fatalf("New: %v, want a *CertificateError", err)
			}
			ex := Explain(err)
			for _, w := range tc.want {
				if w = strings.ReplaceAll(w, "%s", path); !strings.Contains(ex, w) {
					t.Errorf("Explain lacks %q:\n%s", w, ex)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(ex, w) {
					t.Errorf("Explain has %q:\n%s", w, ex)
				}
			}
		})
	}
}
