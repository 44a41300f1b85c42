package auth

import (
	"context"
	"strings"
	"testing"

	"github.com/mdeactions/mdeactions/auth/fakeentra"
)

func TestEnvToken(t *testing.T) {
	env := map[string]string{"MDE_TOKEN": "  Bearer eyJ.secret.sig \n", "EMPTY": " "}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }

	got, err := EnvToken{Var: "MDE_TOKEN", Lookup: lookup}.Token(context.Background())
	if err != nil || got != "eyJ.secret.sig" {
		t.Fatalf("Token() = %q, %v; want the trimmed token without the Bearer prefix", got, err)
	}
	for _, name := range []string{"EMPTY", "UNSET"} {
		_, err := EnvToken{Var: name, Lookup: lookup}.Token(context.Background())
		if err == nil || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), "--demo") {
			t.Fatalf("%s: error %v does not name the variable and the way out", name, err)
		}
	}
}

// TestEnvTokenNotABareToken: az account get-access-token without --query
// accessToken -o tsv prints JSON; such a value (or one with a quote or
// whitespace inside) gets an error naming the fix, never the value.
func TestEnvTokenNotABareToken(t *testing.T) {
	const tok = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2FwaSJ9.c2lnbmF0dXJlLXZhbHVl"
	azJSON := "{\n  \"accessToken\": \"" + tok + "\",\n  \"expiresOn\": \"2026-01-02 03:04:05.000000\",\n  \"tokenType\": \"Bearer\"\n}\n"
	for name, v := range map[string]string{
		"json":         azJSON,
		"quoted":       `"` + tok + `"`,
		"newline":      tok[:40] + "\n" + tok[40:],
		"space inside": tok[:30] + " " + tok[30:],
		"two lines":    tok + "\n" + tok,
	} {
		t.Run(name, func(t *testing.T) {
			srv := startFake(t, fakeentra.Options{})
			cfg, _, _ := fakeConfig(t, srv, ModeTokenEnv)
			cfg.Cloud = Cloud{Name: "gcchigh"}
			cfg.Getenv = env("MDE_TOKEN", v)
			src, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			got, err := src.Token(context.Background())
			if err == nil {
				t.Fatalf("Token accepted %s: %q", name, got)
			}
			ex := Explain(err)
			for _, s := range []string{err.Error(), ex} {
				if strings.Contains(s, tok[:20]) || strings.Contains(s, tok[len(tok)-20:]) || strings.Contains(s, "expiresOn") {
					t.Fatalf("the value is in the error:\n%s", s)
				}
			}
			if !strings.Contains(err.Error(), "MDE_TOKEN") || !strings.Contains(err.Error(), "--query accessToken -o tsv") {
				t.Fatalf("error does not name the variable and the fix: %v", err)
			}
			if !strings.Contains(ex, "set it with: export MDE_TOKEN=\"$(az account get-access-token --resource https://api-gov.securitycenter.microsoft.us --query accessToken -o tsv)\"") {
				t.Fatalf("Explain:\n%s", ex)
			}
			if name == "json" && !strings.Contains(err.Error(), "JSON") {
				t.Fatalf("JSON not named: %v", err)
			}
		})
	}
}
