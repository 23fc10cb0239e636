package cinder

import (
	"errors"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gostack/gostack/kit/pyjson"
	"github.com/gostack/gostack/kit/pyrepr"
)

// Cinder reads list filter values with Python's ast.literal_eval,
// keeping the text when it is not a literal: "{'k': 'v'}" is a dict,
// "'x'" the string x, "available" stays available. pyLiteral reads the
// literals Cinder's volume filters meet (strings, numbers, True, False,
// None, and dicts of them) and shows each scalar as Python's str() does.

var errNotLiteral = errors.New("not a Python literal")

// pyLiteralString is a filter value as Cinder compares it: the string a
// literal holds, else the text itself.
func pyLiteralString(s string) string {
	p := &pyParser{s: s}
	v, err := p.value()
	if err != nil || !p.end() {
		return s
	}
	if str, ok := v.(string); ok {
		return str
	}
	return s
}

// pyLiteralDict reads a dict literal (the metadata filter), each value
// as Python's str() shows it.
func pyLiteralDict(s string) (map[string]string, error) {
	p := &pyParser{s: s}
	v, err := p.value()
	if err != nil || !p.end() {
		return nil, errNotLiteral
	}
	d, ok := v.(map[string]string)
	if !ok {
		return nil, errNotLiteral
	}
	return d, nil
}

type pyParser struct {
	s string
	i int
}

func (p *pyParser) skip() {
	for p.i < len(p.s) {
		r, n := utf8.DecodeRuneInString(p.s[p.i:])
		if !unicode.IsSpace(r) {
			return
		}
		p.i += n
	}
}

func (p *pyParser) end() bool { p.skip(); return p.i == len(p.s) }

// value reads a literal: a string, a number, True, False, None or a
// dict of such scalars keyed by strings.
func (p *pyParser) value() (any, error) {
	p.skip()
	if p.i >= len(p.s) {
		return nil, errNotLiteral
	}
	switch c := p.s[p.i]; {
	case c == '\'' || c == '"':
		return p.str()
	case c == '{':
		return p.dict()
	case c == '-' || c == '+' || c >= '0' && c <= '9' || c == '.':
		return p.number()
	}
	for _, w := range []string{"True", "False", "None"} {
		if strings.HasPrefix(p.s[p.i:], w) {
			rest := p.s[p.i+len(w):]
			if r, _ := utf8.DecodeRuneInString(rest); rest == "" || !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' {
				p.i += len(w)
				return w, nil
			}
		}
	}
	return nil, errNotLiteral
}

func (p *pyParser) str() (string, error) {
	q := p.s[p.i]
	var b strings.Builder
	for j := p.i + 1; j < len(p.s); j++ {
		c := p.s[j]
		switch {
		case c == q:
			p.i = j + 1
			return b.String(), nil
		case c == '\n':
			return "", errNotLiteral
		case c == '\\' && j+1 < len(p.s):
			j++
			switch e := p.s[j]; e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case '\\', '\'', '"':
				b.WriteByte(e)
			default:
				b.WriteByte('\\')
				b.WriteByte(e)
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", errNotLiteral
}

func (p *pyParser) number() (string, error) {
	j := p.i
	for j < len(p.s) && strings.IndexByte("+-0123456789._eE", p.s[j]) >= 0 {
		j++
	}
	text := p.s[p.i:j]
	if n, ok := pyjson.Int(text); ok {
		p.i = j
		return n.String(), nil
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(text, "_", ""), 64)
	if err != nil {
		return "", errNotLiteral
	}
	p.i = j
	return pyrepr.Float(f), nil
}

func (p *pyParser) dict() (map[string]string, error) {
	p.i++ // {
	out := map[string]string{}
	for {
		p.skip()
		if p.i < len(p.s) && p.s[p.i] == '}' {
			p.i++
			return out, nil
		}
		k, err := p.value()
		if err != nil {
			return nil, err
		}
		key, ok := k.(string)
		if !ok {
			return nil, errNotLiteral
		}
		p.skip()
		if p.i >= len(p.s) || p.s[p.i] != ':' {
			return nil, errNotLiteral
		}
		p.i++
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		val, ok := v.(string)
		if !ok {
			return nil, errNotLiteral // a nested dict
		}
		out[key] = val
		p.skip()
		if p.i < len(p.s) && p.s[p.i] == ',' {
			p.i++
			continue
		}
		if p.i < len(p.s) && p.s[p.i] == '}' {
			p.i++
			return out, nil
		}
		return nil, errNotLiteral
	}
}
