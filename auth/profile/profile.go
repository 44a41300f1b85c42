// Package profile reads the configuration file of mdeactions: named
// profiles, each saying where to sign in, which API to call and how the UI
// behaves.
//
// # Where the file is
//
// --config PATH, else $MDEACTIONS_CONFIG, else
// $XDG_CONFIG_HOME/mdeactions/config.toml, else
// ~/.config/mdeactions/config.toml (see [DefaultPath]). A missing file is
// no error: everything then comes from flags and the environment.
//
// # The format
//
//	# The profile used without --profile. Without it, a file with a single
//	# profile uses that one.
//	default = "acme"
//
//	[profiles.acme]
//	tenant = "acme.onmicrosoft.com"                  # GUID or domain
//	client_id = "11111111-2222-3333-4444-555555555555"
//	cloud = "commercial"                             # commercial, gcc, gcchigh, dod
//	region = "eu"                                    # commercial only: us, eu, uk, au, swa, ina, aea, legacy, global
//	auth = "devicecode"                              # devicecode, secret, certificate, managed-identity, token-env
//	refresh = "30s"                                  # at least 10s; "0" turns it off
//
//	[profiles.acme.keys]                             # action = [keys]; the actions are the
//	cancel = ["C"]                                   # lower-case names of keys.KeyMap's fields
//
//	[profiles.gov]
//	tenant = "…"
//	cloud = "gcchigh"
//	auth = "certificate"
//	certificate = "/etc/mdeactions/gov.pem"
//	read_only = true
//
// The other keys of a profile: api_url (the API's base URL; wins over cloud
// and region), client_secret_file (secret mode: a file holding the secret)
// and token_env (token-env mode: the name of the variable holding the
// token). A secret itself never goes into the file: it comes from
// AZURE_CLIENT_SECRET or client_secret_file. Relative paths (certificate,
// client_secret_file) are relative to the file's directory; "~/" is the
// home directory.
//
// Unknown keys are errors, and every error names the file, the line and the
// key, such as
//
//	config.toml:7: profile "acme": unknown key "tenat" (did you mean "tenant"?)
//
// # Precedence
//
// Flags override the environment, which overrides the file (see [Merge]).
// The environment variables are the Azure SDK's: AZURE_TENANT_ID,
// AZURE_CLIENT_ID and AZURE_CLIENT_CERTIFICATE_PATH; AZURE_CLIENT_SECRET is
// read by the auth package itself and never copied into a Profile.
package profile

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Profile is one [profiles.NAME] table. Empty strings and nil pointers are
// "not set": the next layer down (environment, then built-in defaults)
// decides.
type Profile struct {
	Name        string              `toml:"-"`
	Tenant      string              `toml:"tenant"`
	ClientID    string              `toml:"client_id"`
	Cloud       string              `toml:"cloud"` // commercial|gcc|gcchigh|dod (canonical spelling after Load)
	Region      string              `toml:"region"`
	APIURL      string              `toml:"api_url"`
	Auth        string              `toml:"auth"` // devicecode|secret|certificate|managed-identity|token-env (canonical after Load)
	Certificate string              `toml:"certificate"`
	SecretFile  string              `toml:"client_secret_file"`
	TokenEnv    string              `toml:"token_env"`
	ReadOnly    *bool               `toml:"read_only"`
	Refresh     *Duration           `toml:"refresh"` // "30s"; "0" turns refreshing off
	Keys        map[string][]string `toml:"keys"`    // action (lower-case field name of keys.KeyMap) -> keys
}

// Duration is a time.Duration written as a string in the file ("30s", "5m",
// "0").
type Duration struct{ time.Duration }

// MarshalText writes the duration as time.Duration.String does.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses a duration with the rules of the refresh key: a Go
// duration of at least MinRefresh, or 0.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := parseRefresh(string(b))
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// MinRefresh is the shortest refresh interval, as the UI's (ui.MinRefresh):
// the list API allows 100 calls a minute for the whole app.
const MinRefresh = 10 * time.Second

// File is a loaded configuration file.
type File struct {
	Default  string             // the top-level `default`; "" if none
	Profiles map[string]Profile // by name; never nil after Load
	Path     string             // where it was read from (or would have been)
}

// DefaultPath is where the file is when --config is not given:
// $MDEACTIONS_CONFIG, else $XDG_CONFIG_HOME/mdeactions/config.toml (an
// absolute XDG_CONFIG_HOME only, as the XDG spec says), else
// ~/.config/mdeactions/config.toml. getenv nil means os.Getenv.
func DefaultPath(getenv func(string) string) (string, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if p := getenv("MDEACTIONS_CONFIG"); p != "" {
		return p, nil
	}
	if x := getenv("XDG_CONFIG_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "mdeactions", "config.toml"), nil
	}
	home := getenv("HOME")
	if home == "" {
		h, err := os.UserHomeDir()
		if err != nil || h == "" {
			return "", fmt.Errorf("no place for the config file: set MDEACTIONS_CONFIG, XDG_CONFIG_HOME or HOME, or use --config")
		}
		home = h
	}
	return filepath.Join(home, ".config", "mdeactions", "config.toml"), nil
}

// Names returns the profiles' names, sorted.
func (f *File) Names() []string {
	if f == nil {
		return nil
	}
	return slices.Sorted(maps.Keys(f.Profiles))
}

// Select returns the profile to use. With name "" that is the file's
// default, else its only profile if it has exactly one, else an empty
// Profile (everything from flags and the environment). A name that is not
// in the file is an error listing the ones that are.
func (f *File) Select(name string) (Profile, error) {
	if f == nil {
		f = &File{}
	}
	if name == "" {
		switch {
		case f.Default != "":
			name = f.Default
		case len(f.Profiles) == 1:
			for _, p := range f.Profiles {
				return p, nil
			}
		default:
			return Profile{}, nil
		}
	}
	if p, ok := f.Profiles[name]; ok {
		return p, nil
	}
	where := f.Path
	if where == "" {
		where = "the config file"
	}
	names := f.Names()
	if len(names) == 0 {
		return Profile{}, fmt.Errorf("no profile %q: %s has no profiles", name, where)
	}
	msg := fmt.Sprintf("no profile %q in %s", name, where)
	if s := suggest(name, names); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	return Profile{}, fmt.Errorf("%s: the profiles are %s", msg, quoteList(names))
}

// The flags Merge knows, by the names main gives them.
const (
	FlagTenant      = "tenant"
	FlagClientID    = "client-id"
	FlagCloud       = "cloud"
	FlagRegion      = "region"
	FlagAPIURL      = "api-url"
	FlagAuth        = "auth"
	FlagCertificate = "certificate"
	FlagSecretFile  = "client-secret-file"
	FlagTokenEnv    = "token-env"
	FlagReadOnly    = "read-only"
	FlagRefresh     = "refresh"
)

// The environment variables Merge reads (the Azure SDK's).
const (
	EnvTenant      = "AZURE_TENANT_ID"
	EnvClientID    = "AZURE_CLIENT_ID"
	EnvCertificate = "AZURE_CLIENT_CERTIFICATE_PATH"
)

// Merge layers the three sources: the flags the user set (set reports
// whether a flag, by its name such as "client-id", was given on the command
// line) override the environment (AZURE_TENANT_ID, AZURE_CLIENT_ID,
// AZURE_CLIENT_CERTIFICATE_PATH), which overrides the file's profile.
// Unset flags never override, whatever their value in flags. getenv nil
// means os.Getenv; set nil means "every non-empty field of flags was set".
//
// A region from the file is dropped when a flag chooses a cloud other than
// commercial, where regions do not exist. The secret is never read here:
// the auth package reads AZURE_CLIENT_SECRET itself. Keys and Name come
// from the file.
func Merge(file Profile, getenv func(string) string, flags Profile, set func(flag string) bool) Profile {
	if getenv == nil {
		getenv = os.Getenv
	}
	if set == nil {
		set = nonZero(flags)
	}
	p := file
	p.ReadOnly = clonePtr(file.ReadOnly)
	p.Refresh = clonePtr(file.Refresh)
	p.Keys = maps.Clone(file.Keys)

	if v := strings.TrimSpace(getenv(EnvTenant)); v != "" {
		p.Tenant = v
	}
	if v := strings.TrimSpace(getenv(EnvClientID)); v != "" {
		p.ClientID = v
	}
	if v := getenv(EnvCertificate); v != "" {
		p.Certificate = v
	}

	str := func(flag string, dst *string, v string) {
		if set(flag) {
			*dst = v
		}
	}
	str(FlagTenant, &p.Tenant, flags.Tenant)
	str(FlagClientID, &p.ClientID, flags.ClientID)
	if set(FlagCloud) {
		p.Cloud = flags.Cloud
		if !set(FlagRegion) && !isCommercial(flags.Cloud) {
			p.Region = ""
		}
	}
	str(FlagRegion, &p.Region, flags.Region)
	str(FlagAPIURL, &p.APIURL, flags.APIURL)
	str(FlagAuth, &p.Auth, flags.Auth)
	str(FlagCertificate, &p.Certificate, flags.Certificate)
	str(FlagSecretFile, &p.SecretFile, flags.SecretFile)
	str(FlagTokenEnv, &p.TokenEnv, flags.TokenEnv)
	if set(FlagReadOnly) && flags.ReadOnly != nil {
		p.ReadOnly = clonePtr(flags.ReadOnly)
	}
	if set(FlagRefresh) && flags.Refresh != nil {
		p.Refresh = clonePtr(flags.Refresh)
	}
	return p
}

// MergeOwn is Merge for a profile opened beside others (the all-profiles
// view, or another profile picked inside the TUI): flags and environment
// variables name one tenant and cannot be right for several, so what the
// profile sets wins over both; they fill in only what it leaves out. A
// read_only = true in the profile holds whatever the flags say.
func MergeOwn(file Profile, getenv func(string) string, flags Profile, set func(flag string) bool) Profile {
	if getenv == nil {
		getenv = os.Getenv
	}
	if set == nil {
		set = nonZero(flags)
	}
	own := map[string]bool{
		FlagTenant: file.Tenant != "", FlagClientID: file.ClientID != "", FlagCloud: file.Cloud != "",
		FlagRegion: file.Region != "", FlagAPIURL: file.APIURL != "", FlagAuth: file.Auth != "",
		FlagCertificate: file.Certificate != "", FlagSecretFile: file.SecretFile != "", FlagTokenEnv: file.TokenEnv != "",
		FlagRefresh: file.Refresh != nil, FlagReadOnly: file.ReadOnly != nil && *file.ReadOnly,
	}
	envFlag := map[string]string{EnvTenant: FlagTenant, EnvClientID: FlagClientID, EnvCertificate: FlagCertificate}
	env := func(k string) string {
		if own[envFlag[k]] {
			return ""
		}
		return getenv(k)
	}
	return Merge(file, env, flags, func(f string) bool { return set(f) && !own[f] })
}

// EnvOverrides says which of the profile's values the environment replaces
// in Merge (and no flag replaces in turn), one sentence each, for a
// warning: an AZURE_TENANT_ID left in the shell for another tool would
// otherwise silently win over the tenant of --profile gov. Arguments as
// Merge's.
func EnvOverrides(file Profile, getenv func(string) string, flags Profile, set func(flag string) bool) []string {
	if getenv == nil {
		getenv = os.Getenv
	}
	if set == nil {
		set = nonZero(flags)
	}
	var out []string
	check := func(env, flag, key, fileValue string, trim bool) {
		v := getenv(env)
		if trim {
			v = strings.TrimSpace(v)
		}
		if v == "" || fileValue == "" || v == fileValue || set(flag) {
			return
		}
		out = append(out, fmt.Sprintf("%s (%s) overrides %s %q of profile %q", env, v, key, fileValue, file.Name))
	}
	check(EnvTenant, FlagTenant, "tenant", file.Tenant, true)
	check(EnvClientID, FlagClientID, "client_id", file.ClientID, true)
	check(EnvCertificate, FlagCertificate, "certificate", file.Certificate, false)
	return out
}

func isCommercial(cloud string) bool {
	c := strings.ToLower(strings.TrimSpace(cloud))
	return c == "" || c == "commercial"
}

// nonZero is Merge's "set" when the caller gives none.
func nonZero(f Profile) func(string) bool {
	return func(flag string) bool {
		switch flag {
		case FlagTenant:
			return f.Tenant != ""
		case FlagClientID:
			return f.ClientID != ""
		case FlagCloud:
			return f.Cloud != ""
		case FlagRegion:
			return f.Region != ""
		case FlagAPIURL:
			return f.APIURL != ""
		case FlagAuth:
			return f.Auth != ""
		case FlagCertificate:
			return f.Certificate != ""
		case FlagSecretFile:
			return f.SecretFile != ""
		case FlagTokenEnv:
			return f.TokenEnv != ""
		case FlagReadOnly:
			return f.ReadOnly != nil
		case FlagRefresh:
			return f.Refresh != nil
		}
		return false
	}
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func quoteList(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}
