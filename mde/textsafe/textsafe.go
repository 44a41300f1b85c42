// Package textsafe makes text from the API safe to draw in a terminal.
//
// Device names, comments and requestors come from possibly compromised hosts
// and scripts. Before any of it reaches the screen, Clean removes every escape
// sequence (CSI, OSC, DCS, APC, PM, SOS, in their 7-bit and 8-bit forms), all
// other C0 and C1 control characters, DEL, and the Unicode bidirectional
// controls that can reorder what the responder reads. Line breaks and tabs
// become single spaces so one field never spans two rows.
package textsafe

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Clean returns s with escape sequences and control characters removed.
// It returns s itself, without allocating, when there is nothing to remove.
func Clean(s string) string {
	if isClean(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == 0x1b: // ESC
			i = skipEscape(rs, i)
		case r == 0x9b: // 8-bit CSI
			i = skipCSI(rs, i+1)
		case r == 0x90 || r == 0x9d || r == 0x98 || r == 0x9e || r == 0x9f: // DCS, OSC, SOS, PM, APC
			i = skipString(rs, i+1)
		case r == '\t' || r == '\n' || r == '\r' || r == '\v' || r == '\f' || r == 0x2028 || r == 0x2029:
			if b.Len() > 0 && !strings.HasSuffix(b.String(), " ") {
				b.WriteByte(' ')
			}
		case isControl(r), isBidi(r):
			// dropped
		case r == utf8.RuneError:
			b.WriteRune(utf8.RuneError)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// skipEscape returns the index of the last rune of the escape sequence that
// starts with ESC at rs[i].
func skipEscape(rs []rune, i int) int {
	if i+1 >= len(rs) {
		return i
	}
	switch rs[i+1] {
	case '[':
		return skipCSI(rs, i+2)
	case ']', 'P', 'X', '^', '_':
		return skipString(rs, i+2)
	}
	// Two-character sequence (ESC c, ESC 7, ESC ( B's first part…): drop
	// ESC and its intermediate bytes and final byte.
	j := i + 1
	for j < len(rs) && rs[j] >= 0x20 && rs[j] <= 0x2f {
		j++
	}
	if j < len(rs) {
		return j
	}
	return len(rs) - 1
}

// skipCSI skips parameter and intermediate bytes up to and including the
// final byte (0x40–0x7e). A sequence cut short swallows the rest.
func skipCSI(rs []rune, j int) int {
	for ; j < len(rs); j++ {
		if rs[j] >= 0x40 && rs[j] <= 0x7e {
			return j
		}
		if rs[j] < 0x20 || rs[j] > 0x7e {
			// Not a CSI byte: the sequence is malformed; end it here and
			// let the caller look at this rune again.
			return j - 1
		}
	}
	return len(rs) - 1
}

// skipString skips a control string (OSC, DCS, …) up to its terminator: BEL,
// ST (ESC \) or 8-bit ST. An unterminated string swallows the rest.
func skipString(rs []rune, j int) int {
	for ; j < len(rs); j++ {
		switch rs[j] {
		case 0x07, 0x9c:
			return j
		case 0x1b:
			if j+1 < len(rs) && rs[j+1] == '\\' {
				return j + 1
			}
			return j
		}
	}
	return len(rs) - 1
}

func isControl(r rune) bool {
	return r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f)
}

func isBidi(r rune) bool {
	return (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) ||
		r == 0x200e || r == 0x200f || r == 0x061c
}

func isClean(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f {
			return false
		}
		if c >= 0x80 {
			// Slow path for non-ASCII: decode and check.
			for _, r := range s[i:] {
				if isControl(r) || isBidi(r) || r == utf8.RuneError || r == 0x2028 || r == 0x2029 {
					return false
				}
			}
			return true
		}
	}
	return true
}

// JSON makes JSON text safe to print in a terminal without changing the
// data it holds: the C1 controls and the bidirectional controls that
// encoding/json writes as they are (it escapes only C0) become \uXXXX
// escapes. Such runes only occur inside JSON strings, where the escape
// means the same rune.
func JSON(b []byte) []byte {
	var out []byte
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if (r >= 0x80 && r <= 0x9f) || isBidi(r) || r == 0x7f {
			if out == nil {
				out = append(make([]byte, 0, len(b)+16), b[:i]...)
			}
			out = fmt.Appendf(out, `\u%04x`, r)
		} else if out != nil {
			out = append(out, b[i:i+n]...)
		}
		i += n
	}
	if out == nil {
		return b
	}
	return out
}

// Cap keeps the first n characters (runes) of s.
func Cap(s string, n int) string {
	if n <= 0 {
		return ""
	}
	i := 0
	for k := range s {
		if i == n {
			return s[:k]
		}
		i++
	}
	return s
}
