package policy

import "strings"

// A template is a check's match, prepared for Python's "match % target"
// substitution. Only the forms policy files use are supported: %(key)s,
// %(key)r and %%. Python processes the string left to right and stops at
// the first problem: a missing key is a KeyError, which makes the check
// false; any other problem raises, which oslo.policy does not catch. The
// template keeps that order so a missing key before a bad conversion is
// still false, and anything we do not support fails the evaluation closed.
type template struct {
	raw   string // the match as written
	parts []part // nil when raw has no '%'
	whole bool   // raw is exactly "%(key)s": the fast path
}

type partKind uint8

const (
	partText partKind = iota
	partStr           // %(key)s
	partRepr          // %(key)r
	partBad           // a conversion we do not support, or malformed
)

type part struct {
	kind   partKind
	text   string // partText: the text; partBad: why it is bad
	key    string // the %(key), when hasKey
	hasKey bool
}

func newTemplate(s string) template {
	t := template{raw: s}
	if strings.IndexByte(s, '%') < 0 {
		return t
	}
	var text strings.Builder
	flush := func() {
		if text.Len() > 0 {
			t.parts = append(t.parts, part{kind: partText, text: text.String()})
			text.Reset()
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c != '%' {
			text.WriteByte(c)
			i++
			continue
		}
		if i+1 < len(s) && s[i+1] == '%' {
			text.WriteByte('%')
			i += 2
			continue
		}
		flush()
		p, n := parseSpec(s[i:])
		t.parts = append(t.parts, p)
		if p.kind == partBad {
			break // Python raises here; nothing after it matters
		}
		i += n
	}
	flush()
	t.whole = len(t.parts) == 1 && t.parts[0].kind == partStr
	return t
}

// parseSpec parses one conversion starting at s[0] == '%' and returns it
// with the number of bytes it used. Like CPython, a %(key) is looked up
// before its conversion character is read, so a key is recorded even when
// the conversion turns out to be bad.
func parseSpec(s string) (part, int) {
	if len(s) < 2 || s[1] != '(' {
		return part{kind: partBad, text: "only %(name)s conversions are supported"}, len(s)
	}
	depth, i := 1, 2
	for ; i < len(s) && depth > 0; i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
		}
	}
	if depth > 0 {
		return part{kind: partBad, text: "incomplete format key"}, len(s)
	}
	key := s[2 : i-1]
	if i < len(s) {
		switch s[i] {
		case 's':
			return part{kind: partStr, key: key, hasKey: true}, i + 1
		case 'r':
			return part{kind: partRepr, key: key, hasKey: true}, i + 1
		}
	}
	// Keep the key: Python's KeyError comes before the conversion error.
	return part{kind: partBad, key: key, hasKey: true,
		text: "only %(" + key + ")s conversions are supported"}, len(s)
}

// substitution outcomes
type substResult uint8

const (
	substOK      substResult = iota
	substMissing             // KeyError: the check is false
	substFailed              // Python would raise: evaluation fails closed
)

// expand returns t with target values substituted.
func (t *template) expand(target map[string]any) (string, substResult) {
	if t.parts == nil {
		return t.raw, substOK
	}
	if t.whole {
		v, ok := target[t.parts[0].key]
		if !ok {
			return "", substMissing
		}
		s, ok := pyStr(v)
		if !ok {
			return "", substFailed
		}
		return s, substOK
	}
	var b strings.Builder
	for _, p := range t.parts {
		switch p.kind {
		case partText:
			b.WriteString(p.text)
		case partStr, partRepr:
			v, ok := target[p.key]
			if !ok {
				return "", substMissing
			}
			if !writePy(&b, v, p.kind == partRepr) {
				return "", substFailed
			}
		case partBad:
			if p.hasKey {
				if _, ok := target[p.key]; !ok {
					return "", substMissing
				}
			}
			return "", substFailed
		}
	}
	return b.String(), substOK
}

// problem describes the first unsupported conversion, or "".
func (t *template) problem() string {
	for _, p := range t.parts {
		if p.kind == partBad {
			return p.text
		}
	}
	return ""
}
