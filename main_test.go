package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestMonochrome(t *testing.T) {
	env := func(v string) func(string) string { return func(string) string { return v } }
	for _, c := range []struct {
		flag bool
		env  string
		want bool
	}{{false, "", false}, {true, "", true}, {false, "1", true}, {false, "yes", true}, {false, "0", true}} {
		if got := monochrome(c.flag, env(c.env)); got != c.want {
			t.Fatalf("monochrome(%v, NO_COLOR=%q) = %v, want %v", c.flag, c.env, got, c.want)
		}
	}
}

func TestNoTokenExplainsWhatToDo(t *testing.T) {
	t.Setenv("MDE_TOKEN_FOR_TEST", "")
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"--token-env", "MDE_TOKEN_FOR_TEST"})
	err := cmd.Execute()
	if err == nil {
		t.Fatal("started without a token")
	}
	for _, w := range []string{"MDE_TOKEN_FOR_TEST", "mdeactions --demo", "Machine.Read.All"} {
		if !strings.Contains(err.Error(), w) {
			t.Fatalf("first-run message lacks %q:\n%v", w, err)
		}
	}
	if out.Len() != 0 {
		t.Fatalf("wrote to the terminal: %q", out.String())
	}
}

func TestBadAPIURLIsRefused(t *testing.T) {
	t.Setenv("MDE_TOKEN_FOR_TEST", "x")
	cmd := newRootCmd()
	cmd.SetArgs([]string{"--token-env", "MDE_TOKEN_FOR_TEST", "--api-url", "not a url"})
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "--api-url") {
		t.Fatalf("bad --api-url gave %v", err)
	}
}
