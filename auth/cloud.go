package auth

import (
	"fmt"
	"sort"
	"strings"
)

// Cloud is where tokens come from and which API they are for. MSAL Go has
// no notion of national clouds (msal.md §7 #9), so the table lives here.
type Cloud struct {
	Name          string // "commercial", "gcc", "gcchigh", "dod"
	AuthorityHost string // "https://login.microsoftonline.com"
	Scope         string // "https://api.securitycenter.microsoft.com/.default"
	APIBase       string // "https://api.security.microsoft.com"
}

// The clouds of Defender for Endpoint (msal.md §5.2).
//
// The commercial scope is the legacy resource api.securitycenter.microsoft.com
// even though the API is called at api.security.microsoft.com: Microsoft
// notes that some APIs refuse tokens for any other audience. The government
// scopes are "API base + /.default", which Microsoft does not document as
// audiences; they can be overridden.
var clouds = []Cloud{
	{
		Name:          "commercial",
		AuthorityHost: "https://login.microsoftonline.com",
		Scope:         "https://api.securitycenter.microsoft.com/.default",
		APIBase:       "https://api.security.microsoft.com",
	},
	{
		Name:          "gcc",
		AuthorityHost: "https://login.microsoftonline.com",
		Scope:         "https://api-gcc.securitycenter.microsoft.us/.default",
		APIBase:       "https://api-gcc.securitycenter.microsoft.us",
	},
	{
		Name:          "gcchigh",
		AuthorityHost: "https://login.microsoftonline.us",
		Scope:         "https://api-gov.securitycenter.microsoft.us/.default",
		APIBase:       "https://api-gov.securitycenter.microsoft.us",
	},
	{
		Name:          "dod",
		AuthorityHost: "https://login.microsoftonline.us",
		Scope:         "https://api-gov.securitycenter.microsoft.us/.default",
		APIBase:       "https://api-gov.securitycenter.microsoft.us",
	},
}

// Clouds returns the known clouds, commercial first.
func Clouds() []Cloud { return append([]Cloud(nil), clouds...) }

// LookupCloud finds a cloud by name, ignoring case. "gcc-high" and
// "gcc_high" mean "gcchigh"; "" means "commercial".
func LookupCloud(name string) (Cloud, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	switch n {
	case "":
		n = "commercial"
	case "gcc-high", "gcc_high":
		n = "gcchigh"
	}
	for _, c := range clouds {
		if c.Name == n {
			return c, nil
		}
	}
	names := make([]string, len(clouds))
	for i, c := range clouds {
		names[i] = c.Name
	}
	return Cloud{}, fmt.Errorf("unknown cloud %q: use one of %s", name, strings.Join(names, ", "))
}

// Regional hosts of the commercial API, in front of api.security.microsoft.com.
var regions = map[string]string{
	"us":  "https://us.api.security.microsoft.com",
	"eu":  "https://eu.api.security.microsoft.com",
	"uk":  "https://uk.api.security.microsoft.com",
	"au":  "https://au.api.security.microsoft.com",
	"swa": "https://swa.api.security.microsoft.com",
	"ina": "https://ina.api.security.microsoft.com",
	"aea": "https://aea.api.security.microsoft.com",

	"legacy": "https://api.securitycenter.microsoft.com",
}

// RegionalAPIBase returns the commercial API base for a region: "us" is
// https://us.api.security.microsoft.com, "legacy" the old
// https://api.securitycenter.microsoft.com, and "" or "global" the global
// https://api.security.microsoft.com. The token scope does not change.
func RegionalAPIBase(region string) (string, error) {
	r := strings.ToLower(strings.TrimSpace(region))
	if r == "" || r == "global" {
		return clouds[0].APIBase, nil
	}
	if u, ok := regions[r]; ok {
		return u, nil
	}
	names := make([]string, 0, len(regions))
	for k := range regions {
		names = append(names, k)
	}
	sort.Strings(names)
	return "", fmt.Errorf("unknown API region %q: use one of global, %s", region, strings.Join(names, ", "))
}

// tableAuthority reports whether c is a table cloud with its table authority
// host (overrides of the scope or API base do not matter for the cache).
func (c Cloud) tableAuthority() bool {
	t, err := LookupCloud(c.Name)
	return err == nil && strings.TrimRight(c.AuthorityHost, "/") == t.AuthorityHost
}
