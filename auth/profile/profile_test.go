package profile

import (
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestSelect(t *testing.T) {
	acme := Profile{Name: "acme", Tenant: "acme.onmicrosoft.com"}
	gov := Profile{Name: "gov", Cloud: "gcchigh"}
	two := &File{Path: "/x/config.toml", Profiles: map[string]Profile{"acme": acme, "gov": gov}}

	t.Run("default", func(t *testing.T) {
		f := *two
		f.Default = "gov"
		if p, err := f.Select(""); err != nil || !reflect.DeepEqual(p, gov) {
			t.Fatalf("%+v %v", p, err)
		}
	})
	t.Run("named wins over default", func(t *testing.T) {
		f := *two
		f.Default = "gov"
		if p, err := f.Select("acme"); err != nil || !reflect.DeepEqual(p, acme) {
			t.Fatalf("%+v %v", p, err)
		}
	})
	t.Run("the only profile", func(t *testing.T) {
		f := &File{Profiles: map[string]Profile{"acme": acme}}
		if p, err := f.Select(""); err != nil || !reflect.DeepEqual(p, acme) {
			t.Fatalf("%+v %v", p, err)
		}
	})
	t.Run("several and no default: empty", func(t *testing.T) {
		if p, err := two.Select(""); err != nil || !reflect.DeepEqual(p, Profile{}) {
			t.Fatalf("%+v %v", p, err)
		}
	})
	t.Run("unknown name lists the known ones", func(t *testing.T) {
		_, err := two.Select("gvo")
		if err == nil {
			t.Fatal("no error")
		}
		for _, w := range []string{`no profile "gvo" in /x/config.toml`, `did you mean "gov"?`, `"acme", "gov"`} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q lacks %q", err, w)
			}
		}
	})
	t.Run("unknown name, no profiles", func(t *testing.T) {
		f := &File{Path: "/x/config.toml", Profiles: map[string]Profile{}}
		_, err := f.Select("acme")
		if err == nil || !strings.Contains(err.Error(), "/x/config.toml has no profiles") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("from a loaded file", func(t *testing.T) {
		f, err := Load(write(t, full))
		if err != nil {
			t.Fatal(err)
		}
		p, err := f.Select("")
		if err != nil || p.Name != "acme" || p.Region != "eu" {
			t.Fatalf("%+v %v", p, err)
		}
	})
}

func TestNames(t *testing.T) {
	f := &File{Profiles: map[string]Profile{"b": {}, "a": {}, "c": {}}}
	if got := f.Names(); !reflect.DeepEqual(got, []string{"a", "b", "c"}) {
		t.Fatal(got)
	}
	var nilFile *File
	if got := nilFile.Names(); got != nil {
		t.Fatal(got)
	}
}

func TestDefaultPath(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"MDEACTIONS_CONFIG wins", map[string]string{"MDEACTIONS_CONFIG": "/c/m.toml", "XDG_CONFIG_HOME": "/xdg", "HOME": "/home/u"}, "/c/m.toml"},
		{"XDG_CONFIG_HOME", map[string]string{"XDG_CONFIG_HOME": "/xdg", "HOME": "/home/u"}, "/xdg/mdeactions/config.toml"},
		{"relative XDG_CONFIG_HOME is ignored", map[string]string{"XDG_CONFIG_HOME": "xdg", "HOME": "/home/u"}, "/home/u/.config/mdeactions/config.toml"},
		{"HOME", map[string]string{"HOME": "/home/u"}, "/home/u/.config/mdeactions/config.toml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DefaultPath(func(k string) string { return tc.env[k] })
			if err != nil || got != filepath.FromSlash(tc.want) {
				t.Fatalf("%q %v, want %q", got, err, tc.want)
			}
		})
	}
}

// env is a getenv over a map.
func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// setOf is a Merge "set" over a list of flag names.
func setOf(names ...string) func(string) bool {
	return func(f string) bool {
		for _, n := range names {
			if n == f {
				return true
			}
		}
		return false
	}
}

// For every field: the file alone; the environment over the file (for the
// three variables); a set flag over both; an unset flag over nothing.
func TestMergePrecedence(t *testing.T) {
	yes, no := true, false
	d30, d60 := Duration{30 * time.Second}, Duration{time.Minute}
	for _, tc := range []struct {
		flag  string
		env   string // "" when no variable feeds the field
		field func(*Profile) any
		file  func(*Profile) // sets the file's value
		flags func(*Profile) // sets the flag's value
		fileV any
		envV  string
		flagV any
	}{
		{FlagTenant, EnvTenant, func(p *Profile) any { return p.Tenant },
			func(p *Profile) { p.Tenant = "file.example" }, func(p *Profile) { p.Tenant = "flag.example" }, "file.example", "env.example", "flag.example"},
		{FlagClientID, EnvClientID, func(p *Profile) any { return p.ClientID },
			func(p *Profile) { p.ClientID = "file-id" }, func(p *Profile) { p.ClientID = "flag-id" }, "file-id", "env-id", "flag-id"},
		{FlagCertificate, EnvCertificate, func(p *Profile) any { return p.Certificate },
			func(p *Profile) { p.Certificate = "/file.pem" }, func(p *Profile) { p.Certificate = "/flag.pem" }, "/file.pem", "/env.pem", "/flag.pem"},
		{FlagCloud, "", func(p *Profile) any { return p.Cloud },
			func(p *Profile) { p.Cloud = "gcc" }, func(p *Profile) { p.Cloud = "dod" }, "gcc", "", "dod"},
		{FlagRegion, "", func(p *Profile) any { return p.Region },
			func(p *Profile) { p.Region = "eu" }, func(p *Profile) { p.Region = "us" }, "eu", "", "us"},
		{FlagAPIURL, "", func(p *Profile) any { return p.APIURL },
			func(p *Profile) { p.APIURL = "https://file" }, func(p *Profile) { p.APIURL = "https://flag" }, "https://file", "", "https://flag"},
		{FlagAuth, "", func(p *Profile) any { return p.Auth },
			func(p *Profile) { p.Auth = "certificate" }, func(p *Profile) { p.Auth = "secret" }, "certificate", "", "secret"},
		{FlagSecretFile, "", func(p *Profile) any { return p.SecretFile },
			func(p *Profile) { p.SecretFile = "/file.txt" }, func(p *Profile) { p.SecretFile = "/flag.txt" }, "/file.txt", "", "/flag.txt"},
		{FlagTokenEnv, "", func(p *Profile) any { return p.TokenEnv },
			func(p *Profile) { p.TokenEnv = "FILE_TOKEN" }, func(p *Profile) { p.TokenEnv = "FLAG_TOKEN" }, "FILE_TOKEN", "", "FLAG_TOKEN"},
		{FlagReadOnly, "", func(p *Profile) any { return *p.ReadOnly },
			func(p *Profile) { p.ReadOnly = &yes }, func(p *Profile) { p.ReadOnly = &no }, true, "", false},
		{FlagRefresh, "", func(p *Profile) any { return p.Refresh.Duration },
			func(p *Profile) { p.Refresh = &d30 }, func(p *Profile) { p.Refresh = &d60 }, 30 * time.Second, "", time.Minute},
	} {
		t.Run(tc.flag, func(t *testing.T) {
			var file, flags Profile
			file.Name = "acme"
			tc.file(&file)
			tc.flags(&flags)
			envMap := map[string]string{}

			// The file alone; the flag's value is there but not set.
			got := Merge(file, env(envMap), flags, setOf())
			if v := tc.field(&got); v != tc.fileV {
				t.Errorf("file only: %v, want %v", v, tc.fileV)
			}
			if got.Name != "acme" {
				t.Errorf("name %q", got.Name)
			}
			if tc.env != "" {
				envMap[tc.env] = tc.envV
				got = Merge(file, env(envMap), flags, setOf())
				if v := tc.field(&got); v != tc.envV {
					t.Errorf("env over file: %v, want %v", v, tc.envV)
				}
			}
			got = Merge(file, env(envMap), flags, setOf(tc.flag))
			if v := tc.field(&got); v != tc.flagV {
				t.Errorf("flag over env and file: %v, want %v", v, tc.flagV)
			}
			// Other flags do not touch this field.
			got = Merge(file, env(envMap), flags, func(f string) bool { return f != tc.flag })
			want := tc.fileV
			if tc.env != "" {
				want = tc.envV
			}
			if v := tc.field(&got); v != want {
				t.Errorf("other flags set: %v, want %v", v, want)
			}
		})
	}
}

func TestMergeDetails(t *testing.T) {
	yes := true
	file := Profile{Name: "acme", Region: "eu", ReadOnly: &yes, Keys: map[string][]string{"cancel": {"C"}}}

	t.Run("the secret is never copied", func(t *testing.T) {
		got := Merge(Profile{}, env(map[string]string{"AZURE_CLIENT_SECRET": "hunter2"}), Profile{}, nil)
		if strings.Contains(fmt.Sprintf("%+v", got), "hunter2") {
			t.Fatalf("secret in %+v", got)
		}
	})
	t.Run("env values are trimmed, empty ones ignored", func(t *testing.T) {
		got := Merge(Profile{Tenant: "file", ClientID: "fileid"}, env(map[string]string{EnvTenant: " env \n", EnvClientID: ""}), Profile{}, nil)
		if got.Tenant != "env" || got.ClientID != "fileid" {
			t.Fatalf("%+v", got)
		}
	})
	t.Run("a set flag may clear a value", func(t *testing.T) {
		got := Merge(Profile{APIURL: "https://file"}, env(nil), Profile{}, setOf(FlagAPIURL))
		if got.APIURL != "" {
			t.Fatalf("%+v", got)
		}
	})
	t.Run("set nil means non-empty flags", func(t *testing.T) {
		got := Merge(Profile{Tenant: "file", Auth: "secret"}, env(nil), Profile{Tenant: "flag"}, nil)
		if got.Tenant != "flag" || got.Auth != "secret" {
			t.Fatalf("%+v", got)
		}
	})
	t.Run("a flag's government cloud drops the file's region", func(t *testing.T) {
		got := Merge(file, env(nil), Profile{Cloud: "gcchigh"}, setOf(FlagCloud))
		if got.Cloud != "gcchigh" || got.Region != "" {
			t.Fatalf("%+v", got)
		}
		got = Merge(file, env(nil), Profile{Cloud: "commercial"}, setOf(FlagCloud))
		if got.Region != "eu" {
			t.Fatalf("commercial kept no region: %+v", got)
		}
	})
	t.Run("the result shares no pointers or maps with its inputs", func(t *testing.T) {
		got := Merge(file, env(nil), Profile{}, nil)
		*got.ReadOnly = false
		got.Keys["cancel"] = []string{"x"}
		if !*file.ReadOnly || file.Keys["cancel"][0] != "C" {
			t.Fatal("Merge's result aliases the file's profile")
		}
	})
}

func TestEnvOverrides(t *testing.T) {
	file := Profile{Name: "gov", Tenant: "gov.example", ClientID: "id", Certificate: "/gov.pem"}
	e := env(map[string]string{EnvTenant: "other.example", EnvClientID: "id", EnvCertificate: "/other.pem"})
	got := EnvOverrides(file, e, Profile{}, setOf(FlagCertificate))
	if len(got) != 1 || !strings.Contains(got[0], `AZURE_TENANT_ID (other.example) overrides tenant "gov.example" of profile "gov"`) {
		t.Fatalf("%q", got)
	}
	if got := EnvOverrides(file, env(nil), Profile{}, nil); len(got) != 0 {
		t.Fatalf("%q", got)
	}
}

func TestMergeOwnKeepsTheProfilesValues(t *testing.T) {
	yes, no := true, false
	env := map[string]string{EnvTenant: "env.example", EnvClientID: "env-id", EnvCertificate: "/env.pem"}
	getenv := func(k string) string { return env[k] }
	flags := Profile{Tenant: "flag.example", APIURL: "https://flag", ReadOnly: &no}
	set := func(f string) bool { return f == FlagTenant || f == FlagAPIURL || f == FlagReadOnly }

	own := Profile{Name: "beta", Tenant: "beta.example", ClientID: "beta-id", Certificate: "/beta.pem", ReadOnly: &yes}
	got := MergeOwn(own, getenv, flags, set)
	if got.Tenant != "beta.example" || got.ClientID != "beta-id" || got.Certificate != "/beta.pem" {
		t.Fatalf("the environment or a flag replaced the profile's own values: %+v", got)
	}
	if got.APIURL != "https://flag" {
		t.Fatalf("a flag for what the profile leaves out was dropped: %q", got.APIURL)
	}
	if got.ReadOnly == nil || !*got.ReadOnly {
		t.Fatal("--read-only=false undid the profile's read_only = true")
	}
	// What the profile leaves out comes from the flags, then the environment.
	bare := MergeOwn(Profile{Name: "bare"}, getenv, flags, set)
	if bare.Tenant != "flag.example" || bare.ClientID != "env-id" {
		t.Fatalf("bare profile: %+v", bare)
	}
	// A global --read-only holds for a profile that does not say.
	ro := MergeOwn(Profile{Name: "x", Tenant: "x"}, getenv, Profile{ReadOnly: &yes}, func(f string) bool { return f == FlagReadOnly })
	if ro.ReadOnly == nil || !*ro.ReadOnly {
		t.Fatal("--read-only did not apply")
	}
}
