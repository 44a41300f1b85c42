package auth

import (
	"context"
	"strings"
	"testing"
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
