package audit

import (
	"regexp"
	"strings"
)

// redacted replaces a secret in the audit file.
const redacted = "[redacted]"

var (
	// An Authorization header (or JSON key) and its value, with its scheme.
	authHeader = regexp.MustCompile(`(?i)(\bauthorization["']?\s*[:=]\s*["']?)(?:(?:bearer|basic|negotiate|ntlm|pop|digest)\s+)?[^\s"',;}]+`)
	// "Bearer <token>"; the match is redacted only when the word after
	// Bearer looks like a token (see looksLikeToken).
	bearer = regexp.MustCompile(`(?i)\b(bearer)(\s+)([A-Za-z0-9\-._~+/]+=*)`)
	// A JWT or JWE: base64url of a JSON object (eyJ…) and what follows it.
	jwt = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}(?:\.[A-Za-z0-9_-]*)*`)
	// secret=value and "secret": "value" pairs from OAuth and config texts.
	secretPair = regexp.MustCompile(`(?i)\b(access_token|refresh_token|id_token|client_secret|client_assertion|assertion|password|code_verifier|device_code)(["']?\s*[:=]\s*["']?)[^\s"'&,;}]+`)
)

// Redact replaces what looks like a credential in s with "[redacted]":
// Authorization header values, bearer tokens, JWTs (any text starting
// eyJ followed by base64url) and OAuth secret=value pairs. It errs on the
// side of redacting: ordinary comments and error texts do not match, but a
// false match only costs a word of an audit line.
func Redact(s string) string {
	if s == "" {
		return s
	}
	lower := strings.ToLower(s)
	if strings.Contains(lower, "authorization") {
		s = authHeader.ReplaceAllString(s, "${1}"+redacted)
	}
	if strings.Contains(lower, "bearer") {
		s = bearer.ReplaceAllStringFunc(s, func(m string) string {
			sub := bearer.FindStringSubmatch(m)
			if !looksLikeToken(sub[3]) {
				return m
			}
			return sub[1] + sub[2] + redacted
		})
	}
	if strings.Contains(s, "eyJ") {
		s = jwt.ReplaceAllString(s, redacted)
	}
	s = secretPair.ReplaceAllString(s, "${1}${2}"+redacted)
	return s
}

// looksLikeToken tells "Bearer eyJ0eXAi…" or "Bearer abc.def" from
// "bearer token" or "Bearer authentication": a token is long, or holds
// something other than letters.
func looksLikeToken(w string) bool {
	if len(w) >= 16 {
		return true
	}
	for _, r := range w {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return true
		}
	}
	return false
}
