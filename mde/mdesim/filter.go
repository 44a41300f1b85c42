package mdesim

// This file holds the $filter language: a tokenizer and a recursive-descent
// parser for the OData subset the machine-actions API accepts, producing a
// predicate over actions.
//
// Grammar (keywords and property names are case-insensitive):
//
//	expr       = and { "or" and }
//	and        = unary { "and" unary }
//	unary      = "not" unary | primary
//	primary    = "(" expr ")" | comparison
//	comparison = property op value | property "in" "(" value { "," value } ")"
//	op         = "eq" | "ne" | "gt" | "ge" | "lt" | "le"
//	value      = 'quoted string' ('' escapes a quote) | bare literal (dates)
//
// The order operators (gt, ge, lt, le) apply to creationDateTimeUtc only;
// string properties take eq, ne and in, and compare case-insensitively.

import (
	"fmt"
	"strings"
	"time"

	"github.com/mdeactions/mdeactions/mde"
)

type tokenKind int

const (
	tokEOF     tokenKind = iota
	tokWord              // property name or keyword: letters, digits, '_'
	tokString            // 'quoted', with '' unescaped
	tokLiteral           // bare literal starting with a digit, e.g. 2024-01-01T00:00:00Z
	tokLParen
	tokRParen
	tokComma
)

type token struct {
	kind tokenKind
	text string
	pos  int // byte offset in the filter
}

func (t token) String() string {
	if t.kind == tokEOF {
		return "end of filter"
	}
	return "'" + t.text + "'"
}

// tokenize splits a filter into tokens.
func tokenize(s string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			toks = append(toks, token{tokLParen, "(", i})
			i++
		case c == ')':
			toks = append(toks, token{tokRParen, ")", i})
			i++
		case c == ',':
			toks = append(toks, token{tokComma, ",", i})
			i++
		case c == '\'':
			start := i
			var b strings.Builder
			i++
			for {
				if i >= len(s) {
					return nil, fmt.Errorf("unterminated string literal at position %d", start)
				}
				if s[i] == '\'' {
					if i+1 < len(s) && s[i+1] == '\'' {
						b.WriteByte('\'')
						i += 2
						continue
					}
					i++
					break
				}
				b.WriteByte(s[i])
				i++
			}
			toks = append(toks, token{tokString, b.String(), start})
		case isDigit(c):
			start := i
			for i < len(s) && isLiteralByte(s[i]) {
				i++
			}
			toks = append(toks, token{tokLiteral, s[start:i], start})
		case isLetter(c) || c == '_':
			start := i
			for i < len(s) && (isLetter(s[i]) || isDigit(s[i]) || s[i] == '_') {
				i++
			}
			toks = append(toks, token{tokWord, s[start:i], start})
		default:
			return nil, fmt.Errorf("unexpected character %q at position %d", c, i)
		}
	}
	return append(toks, token{tokEOF, "", len(s)}), nil
}

func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// isLiteralByte reports whether c may appear in a bare date literal.
func isLiteralByte(c byte) bool {
	return isDigit(c) || isLetter(c) || c == '-' || c == ':' || c == '.' || c == '+'
}

// predicate is a compiled filter.
type predicate interface {
	match(a *mde.MachineAction) bool
}

type orNode struct{ left, right predicate }
type andNode struct{ left, right predicate }
type notNode struct{ operand predicate }

func (n orNode) match(a *mde.MachineAction) bool  { return n.left.match(a) || n.right.match(a) }
func (n andNode) match(a *mde.MachineAction) bool { return n.left.match(a) && n.right.match(a) }
func (n notNode) match(a *mde.MachineAction) bool { return !n.operand.match(a) }

// stringCompare compares a string property with one or more values,
// case-insensitively. op is "eq", "ne" or "in".
type stringCompare struct {
	get    func(a *mde.MachineAction) string
	op     string
	values []string
}

func (n stringCompare) match(a *mde.MachineAction) bool {
	v := n.get(a)
	found := false
	for _, want := range n.values {
		if strings.EqualFold(v, want) {
			found = true
			break
		}
	}
	if n.op == "ne" {
		return !found
	}
	return found
}

// timeCompare compares creationDateTimeUtc with one or more instants.
type timeCompare struct {
	op     string
	values []time.Time
}

func (n timeCompare) match(a *mde.MachineAction) bool {
	v := a.CreationDateTimeUtc.Time
	switch n.op {
	case "eq", "in":
		for _, want := range n.values {
			if v.Equal(want) {
				return true
			}
		}
		return false
	case "ne":
		return !v.Equal(n.values[0])
	case "gt":
		return v.After(n.values[0])
	case "ge":
		return !v.Before(n.values[0])
	case "lt":
		return v.Before(n.values[0])
	case "le":
		return !v.After(n.values[0])
	}
	return false
}

// filterStringProps are the filterable string properties, keyed by lower-case name.
var filterStringProps = map[string]func(a *mde.MachineAction) string{
	"id":        func(a *mde.MachineAction) string { return a.ID },
	"status":    func(a *mde.MachineAction) string { return string(a.Status) },
	"machineid": func(a *mde.MachineAction) string { return a.MachineID },
	"type":      func(a *mde.MachineAction) string { return string(a.Type) },
	"requestor": func(a *mde.MachineAction) string { return a.Requestor },
}

const filterTimeProp = "creationdatetimeutc"

// parseFilter compiles a $filter expression.
func parseFilter(s string) (predicate, error) {
	toks, err := tokenize(s)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	n, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, fmt.Errorf("unexpected %s at position %d", t, t.pos)
	}
	return n, nil
}

type parser struct {
	toks []token
	pos  int
}

func (p *parser) peek() token { return p.toks[p.pos] }

func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != tokEOF {
		p.pos++
	}
	return t
}

// keyword reports whether the next token is the keyword kw, and consumes it if so.
func (p *parser) keyword(kw string) bool {
	t := p.peek()
	if t.kind == tokWord && strings.EqualFold(t.text, kw) {
		p.pos++
		return true
	}
	return false
}

func (p *parser) expect(kind tokenKind, what string) (token, error) {
	t := p.next()
	if t.kind != kind {
		return t, fmt.Errorf("expected %s but found %s at position %d", what, t, t.pos)
	}
	return t, nil
}

func (p *parser) parseOr() (predicate, error) {
	left, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for p.keyword("or") {
		right, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		left = orNode{left, right}
	}
	return left, nil
}

func (p *parser) parseAnd() (predicate, error) {
	left, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	for p.keyword("and") {
		right, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		left = andNode{left, right}
	}
	return left, nil
}

func (p *parser) parseUnary() (predicate, error) {
	if p.keyword("not") {
		operand, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		return notNode{operand}, nil
	}
	return p.parsePrimary()
}

func (p *parser) parsePrimary() (predicate, error) {
	if p.peek().kind == tokLParen {
		p.next()
		n, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tokRParen, "')'"); err != nil {
			return nil, err
		}
		return n, nil
	}
	return p.parseComparison()
}

func (p *parser) parseComparison() (predicate, error) {
	prop, err := p.expect(tokWord, "a property name")
	if err != nil {
		return nil, err
	}
	name := strings.ToLower(prop.text)
	get, isString := filterStringProps[name]
	if !isString && name != filterTimeProp {
		return nil, fmt.Errorf("property '%s' at position %d is not supported in $filter", prop.text, prop.pos)
	}

	opTok, err := p.expect(tokWord, "an operator")
	if err != nil {
		return nil, err
	}
	op := strings.ToLower(opTok.text)
	switch op {
	case "eq", "ne", "in":
	case "gt", "ge", "lt", "le":
		if isString {
			return nil, fmt.Errorf("operator '%s' is not supported on property '%s'", opTok.text, prop.text)
		}
	default:
		return nil, fmt.Errorf("unknown operator '%s' at position %d", opTok.text, opTok.pos)
	}

	var raw []token
	if op == "in" {
		if raw, err = p.parseList(); err != nil {
			return nil, err
		}
	} else {
		t := p.next()
		if t.kind != tokString && t.kind != tokLiteral {
			return nil, fmt.Errorf("expected a value but found %s at position %d", t, t.pos)
		}
		raw = []token{t}
	}

	if isString {
		values := make([]string, len(raw))
		for i, t := range raw {
			if t.kind != tokString {
				return nil, fmt.Errorf("property '%s' needs a quoted string, found %s at position %d", prop.text, t, t.pos)
			}
			values[i] = t.text
		}
		return stringCompare{get: get, op: op, values: values}, nil
	}
	values := make([]time.Time, len(raw))
	for i, t := range raw {
		v, ok := parseFilterTime(t.text)
		if !ok {
			return nil, fmt.Errorf("'%s' at position %d is not a valid date and time", t.text, t.pos)
		}
		values[i] = v
	}
	return timeCompare{op: op, values: values}, nil
}

// parseList reads "(" value { "," value } ")".
func (p *parser) parseList() ([]token, error) {
	if _, err := p.expect(tokLParen, "'(' after 'in'"); err != nil {
		return nil, err
	}
	var values []token
	for {
		t := p.next()
		if t.kind != tokString && t.kind != tokLiteral {
			return nil, fmt.Errorf("expected a value but found %s at position %d", t, t.pos)
		}
		values = append(values, t)
		sep := p.next()
		if sep.kind == tokRParen {
			return values, nil
		}
		if sep.kind != tokComma {
			return nil, fmt.Errorf("expected ',' or ')' but found %s at position %d", sep, sep.pos)
		}
	}
}

// parseFilterTime parses a date literal: RFC 3339 with or without fraction,
// a time without zone (UTC), or a bare date with or without "Z".
func parseFilterTime(s string) (time.Time, bool) {
	for _, layout := range []string{
		time.RFC3339Nano,
		"2006-01-02T15:04:05.999999999",
		"2006-01-02T15:04Z07:00",
		"2006-01-02T15:04",
		"2006-01-02Z07:00",
		"2006-01-02",
	} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}
