package profile

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// write puts text into dir/config.toml and returns the path.
func write(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const full = `# mdeactions
default = "acme"

[profiles.acme]
tenant = "acme.onmicrosoft.com"
client_id = "11111111-2222-3333-4444-555555555555"
cloud = "commercial"
region = "EU"
auth = "device-code"
refresh = "30s"
api_url = "https://eu.api.security.microsoft.com"

[profiles.acme.keys]
cancel = ["C"]
search = "ctrl+s"
page_down = ["pgdown", "ctrl+f", "pgdown"]

[profiles.gov]
tenant = "gov.onmicrosoft.us"
cloud = "gcc-high"
auth = "cert"
certificate = "/etc/mdeactions/gov.pem"
read_only = true
refresh = "0"

[profiles.app]
auth = "secret"
client_secret_file = "secrets/app.txt"
certificate = "~/certs/app.pem"
token_env = "MY_TOKEN"
read_only = false
`

func TestLoadFullFile(t *testing.T) {
	path := write(t, full)
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Path != path || f.Default != "acme" {
		t.Fatalf("path %q default %q", f.Path, f.Default)
	}
	if got := f.Names(); !reflect.DeepEqual(got, []string{"acme", "app", "gov"}) {
		t.Fatalf("names %v", got)
	}
	home, _ := os.UserHomeDir()
	yes, no := true, false
	want := map[string]Profile{
		"acme": {
			Name: "acme", Tenant: "acme.onmicrosoft.com", ClientID: "11111111-2222-3333-4444-555555555555",
			Cloud: "commercial", Region: "eu", Auth: "devicecode", Refresh: &Duration{30 * time.Second},
			APIURL: "https://eu.api.security.microsoft.com",
			Keys: map[string][]string{
				"cancel":   {"C"},
				"search":   {"ctrl+s"},
				"pagedown": {"pgdown", "ctrl+f"},
			},
		},
		"gov": {
			Name: "gov", Tenant: "gov.onmicrosoft.us", Cloud: "gcchigh", Auth: "certificate",
			Certificate: "/etc/mdeactions/gov.pem", ReadOnly: &yes, Refresh: &Duration{0},
		},
		"app": {
			Name: "app", Auth: "secret",
			SecretFile:  filepath.Join(filepath.Dir(path), "secrets", "app.txt"),
			Certificate: filepath.Join(home, "certs", "app.pem"),
			TokenEnv:    "MY_TOKEN", ReadOnly: &no,
		},
	}
	for name, w := range want {
		if got := f.Profiles[name]; !reflect.DeepEqual(got, w) {
			t.Errorf("profile %s:\n got %+v\nwant %+v", name, got, w)
		}
	}
}

func TestLoadMissingFileIsEmpty(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope", "config.toml")
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Path != path || f.Default != "" || f.Profiles == nil || len(f.Profiles) != 0 {
		t.Fatalf("%+v", f)
	}
	p, err := f.Select("")
	if err != nil || !reflect.DeepEqual(p, Profile{}) {
		t.Fatalf("select: %+v, %v", p, err)
	}
}

func TestLoadUnreadableFileNamesIt(t *testing.T) {
	dir := t.TempDir() // a directory is not a file
	_, err := Load(dir)
	if err == nil || !strings.Contains(err.Error(), dir) {
		t.Fatalf("err = %v", err)
	}
}

func TestLoadEmptyFile(t *testing.T) {
	f, err := Load(write(t, "# nothing yet\n"))
	if err != nil || len(f.Profiles) != 0 {
		t.Fatalf("%+v %v", f, err)
	}
}

// Each kind of error names the file, the line and the key.
func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		line       int
		key        string   // Error.Key
		want       []string // in the message
	}{
		{
			name: "unknown key with a suggestion",
			text: "[profiles.acme]\ntenat = \"x\"\n",
			line: 2, key: "profiles.acme.tenat",
			want: []string{`profile "acme": unknown key "tenat" (did you mean "tenant"?)`},
		},
		{
			name: "unknown key, alias suggestion",
			text: "[profiles.acme]\ntenant = \"x\"\n\ntenant_id = \"y\"\n",
			line: 4, key: "profiles.acme.tenant_id",
			want: []string{`unknown key "tenant_id" (did you mean "tenant"?)`},
		},
		{
			name: "unknown key, no suggestion lists the keys",
			text: "[profiles.acme]\ncolour = \"x\"\n",
			line: 2, key: "profiles.acme.colour",
			want: []string{`unknown key "colour"`, "tenant, client_id, cloud"},
		},
		{
			name: "a profile name with an escape sequence",
			text: "[profiles.\"\\u001b[0macme\"]\ntenant = \"x\"\n",
			line: 1, key: `profiles."\u001b[0macme"`,
			want: []string{"use letters, digits"},
		},
		{
			name: "a profile name with a bidi override",
			text: "[profiles.\"ac\\u202eme\"]\ntenant = \"x\"\n",
			line: 1,
			want: []string{"use letters, digits"},
		},
		{
			name: "a secret in the file",
			text: "[profiles.acme]\nclient_secret = \"hunter2\"\n",
			line: 2, key: "profiles.acme.client_secret",
			want: []string{"never kept in the config file", "AZURE_CLIENT_SECRET"},
		},
		{
			name: "unknown top-level key",
			text: "defualt = \"acme\"\n",
			line: 1, key: "defualt",
			want: []string{`unknown key "defualt" (did you mean "default"?)`},
		},
		{
			name: "profile table outside profiles",
			text: "\n[acme]\ntenant = \"x\"\n",
			line: 2, key: "acme",
			want: []string{"unknown table [acme]", "[profiles.acme]"},
		},
		{
			name: "profile setting at the top",
			text: "cloud = \"gcc\"\n",
			line: 1, key: "cloud",
			want: []string{`unknown key "cloud" at the top level`},
		},
		{
			name: "bad duration",
			text: "[profiles.acme]\ncloud = \"gcc\"\nrefresh = \"5x\"\n",
			line: 3, key: "profiles.acme.refresh",
			want: []string{`profile "acme": refresh: "5x" is not a duration`},
		},
		{
			name: "refresh below 10s",
			text: "[profiles.acme]\n\n\nrefresh = \"5s\"\n",
			line: 4, key: "profiles.acme.refresh",
			want: []string{`refresh: "5s" is too often: at least 10s`, `"0"`},
		},
		{
			name: "refresh negative",
			text: "[profiles.acme]\nrefresh = \"-1m\"\n",
			line: 2, key: "profiles.acme.refresh",
			want: []string{"at least 10s"},
		},
		{
			name: "refresh as a number",
			text: "[profiles.acme]\nrefresh = 30\n",
			line: 2, key: "profiles.acme.refresh",
			want: []string{`refresh: want a duration string such as "30s", not the number 30`},
		},
		{
			name: "bad cloud names the valid ones",
			text: "[profiles.acme]\ntenant = \"x\"\ncloud = \"azure\"\n",
			line: 3, key: "profiles.acme.cloud",
			want: []string{`profile "acme": cloud: unknown cloud "azure"`, "commercial, gcc, gcchigh, dod"},
		},
		{
			name: "bad auth names the valid ones",
			text: "[profiles.acme]\nauth = \"password\"\n",
			line: 2, key: "profiles.acme.auth",
			want: []string{`profile "acme": auth: unknown auth mode "password"`, "devicecode, secret, certificate, managed-identity, token-env"},
		},
		{
			name: "bad region names the valid ones",
			text: "[profiles.acme]\nregion = \"mars\"\n",
			line: 2, key: "profiles.acme.region",
			want: []string{`region: unknown API region "mars"`, "global, aea, au, eu"},
		},
		{
			name: "region outside the commercial cloud",
			text: "[profiles.gov]\ncloud = \"gcchigh\"\nregion = \"eu\"\n",
			line: 3, key: "profiles.gov.region",
			want: []string{`profile "gov": region: "eu" is for the commercial cloud`},
		},
		{
			name: "bad api_url",
			text: "[profiles.acme]\napi_url = \"api.security.microsoft.com\"\n",
			line: 2, key: "profiles.acme.api_url",
			want: []string{`api_url: "api.security.microsoft.com" is not a base URL`},
		},
		{
			name: "token_env holding a token is not echoed",
			text: "[profiles.acme]\ntoken_env = \"eyJhbGciOi.secret.part\"\n",
			line: 2, key: "profiles.acme.token_env",
			want: []string{"token_env: not a variable name"},
		},
		{
			name: "wrong type",
			text: "[profiles.acme]\ntenant = 42\n",
			line: 2, key: "profiles.acme.tenant",
			want: []string{`profile "acme": tenant: want a string, not a number`},
		},
		{
			name: "read_only not a boolean",
			text: "[profiles.acme]\nread_only = \"yes\"\n",
			line: 2, key: "profiles.acme.read_only",
			want: []string{"read_only: want true or false, not a string"},
		},
		{
			name: "profile not a table",
			text: "[profiles]\nacme = \"x\"\n",
			line: 2, key: "profiles.acme",
			want: []string{`profile "acme": want a table, not a string`},
		},
		{
			name: "default names no profile",
			text: "default = \"acne\"\n[profiles.acme]\n",
			line: 1, key: "default",
			want: []string{`default: there is no profile "acne" (did you mean "acme"?)`, `"acme"`},
		},
		{
			name: "unknown action",
			text: "[profiles.acme]\n[profiles.acme.keys]\ncancle = [\"C\"]\n",
			line: 3, key: "profiles.acme.keys.cancle",
			want: []string{`keys: unknown action "cancle" (did you mean "cancel"?)`, "up, down, top"},
		},
		{
			name: "key conflict",
			text: "[profiles.acme.keys]\n\ncancel = [\"r\"]\n",
			line: 1, key: "profiles.acme.keys",
			want: []string{`keys: key "r" is bound to both cancel and refresh`},
		},
		{
			name: "empty key list",
			text: "[profiles.acme.keys]\nquit = []\n",
			line: 2, key: "profiles.acme.keys.quit",
			want: []string{"keys: quit: no keys"},
		},
		{
			name: "space as a key",
			text: "[profiles.acme.keys]\nmark = [\" \"]\n",
			line: 2, key: "profiles.acme.keys.mark",
			want: []string{`the space bar is "space"`},
		},
		{
			name: "TOML syntax error with its line",
			text: "default = \"acme\"\n[profiles.acme]\ntenant = \"x\n",
			line: 3,
			want: []string{"TOML syntax"},
		},
		{
			name: "TOML duplicate key",
			text: "[profiles.acme]\ntenant = \"x\"\ntenant = \"y\"\n",
			line: 3,
			want: []string{"TOML syntax", "tenant"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := write(t, tc.text)
			f, err := Load(path)
			if err == nil {
				t.Fatalf("no error; loaded %+v", f)
			}
			if f != nil {
				t.Errorf("a File came with the error: %+v", f)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("not an *Error: %T %v", err, err)
			}
			if e.Line != tc.line {
				t.Errorf("line %d, want %d (%v)", e.Line, tc.line, err)
			}
			if tc.key != "" && e.Key != tc.key {
				t.Errorf("key %q, want %q", e.Key, tc.key)
			}
			msg := err.Error()
			prefix := path + ":" + strconv.Itoa(tc.line) + ": "
			if !strings.HasPrefix(msg, prefix) {
				t.Errorf("%q does not start with %q", msg, prefix)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("%q lacks %q", msg, w)
				}
			}
			if strings.Contains(msg, "hunter2") || strings.Contains(msg, "eyJhbGciOi") {
				t.Errorf("the error echoes a secret: %q", msg)
			}
		})
	}
}

// Every problem is reported, in the order of the lines.
func TestLoadReportsEveryErrorInLineOrder(t *testing.T) {
	path := write(t, `[profiles.b]
refresh = "1s"

[profiles.a]
cloud = "mars"
tenat = "x"
`)
	_, err := Load(path)
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 3 {
		t.Fatalf("want 3 errors, got %q", err)
	}
	for i, w := range []string{":2: ", ":5: ", ":6: "} {
		if !strings.Contains(lines[i], w) {
			t.Errorf("error %d %q lacks %q", i, lines[i], w)
		}
	}
}

func TestDurationText(t *testing.T) {
	var d Duration
	if err := d.UnmarshalText([]byte("1m30s")); err != nil || d.Duration != 90*time.Second {
		t.Fatalf("%v %v", d, err)
	}
	if b, _ := d.MarshalText(); string(b) != "1m30s" {
		t.Fatalf("%s", b)
	}
	for _, bad := range []string{"5x", "9s", ""} {
		if err := d.UnmarshalText([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestSuggest(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"tenat", "tenant"},
		{"defualt", "default"},
		{"Client-ID", "client_id"},
		{"refersh", "refresh"},
		{"xyz", ""},
		{"", ""},
	} {
		if got := suggest(tc.in, append(profileKeys, topKeys...)); got != tc.want {
			t.Errorf("suggest(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// A table made only by a header below it has the line of that header.
func TestLoadErrorLineOfImplicitTable(t *testing.T) {
	path := write(t, "# profiles\n\n[profile.acme]\ntenant = \"x\"\n")
	_, err := Load(path)
	if err == nil || !strings.HasPrefix(err.Error(), path+":3: ") || !strings.Contains(err.Error(), `unknown key "profile" (did you mean "profiles"?)`) {
		t.Fatalf("err = %v", err)
	}
}
