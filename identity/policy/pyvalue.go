package policy

import (
	"encoding/json"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gostack/gostack/kit/pyrepr"
)

// This file reproduces the few Python built-ins whose exact output decides
// a policy check: str() of a value (compared with a check's match), str.lower
// (role checks) and str.isspace (the tokenizer's \s).

// pyStr returns Python's str(v) for the value types a target or a creds
// dict can hold. ok is false for any other Go type; evaluation then fails
// closed instead of guessing.
func pyStr(v any) (s string, ok bool) {
	if s, ok := v.(string); ok {
		return s, true
	}
	var b strings.Builder
	if !writePy(&b, v, false) {
		return "", false
	}
	return b.String(), true
}

// writePy writes str(v), or repr(v) when repr is set (strings inside
// containers are shown with repr).
func writePy(b *strings.Builder, v any, repr bool) bool {
	switch v := v.(type) {
	case nil:
		b.WriteString("None")
	case string:
		if repr {
			writePyRepr(b, v)
		} else {
			b.WriteString(v)
		}
	case bool:
		if v {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case int:
		b.WriteString(strconv.FormatInt(int64(v), 10))
	case int8:
		b.WriteString(strconv.FormatInt(int64(v), 10))
	case int16:
		b.WriteString(strconv.FormatInt(int64(v), 10))
	case int32:
		b.WriteString(strconv.FormatInt(int64(v), 10))
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	case uint:
		b.WriteString(strconv.FormatUint(uint64(v), 10))
	case uint8:
		b.WriteString(strconv.FormatUint(uint64(v), 10))
	case uint16:
		b.WriteString(strconv.FormatUint(uint64(v), 10))
	case uint32:
		b.WriteString(strconv.FormatUint(uint64(v), 10))
	case uint64:
		b.WriteString(strconv.FormatUint(v, 10))
	case float32:
		b.WriteString(pyFloat(float64(v)))
	case float64:
		b.WriteString(pyFloat(v))
	case json.Number:
		return writePyNumber(b, string(v))
	case []string:
		b.WriteByte('[')
		for i, s := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			writePyRepr(b, s)
		}
		b.WriteByte(']')
	case []any:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			if !writePy(b, e, true) {
				return false
			}
		}
		b.WriteByte(']')
	case map[string]any:
		return writePyDict(b, v)
	case map[string]string:
		m := make(map[string]any, len(v))
		for k, s := range v {
			m[k] = s
		}
		return writePyDict(b, m)
	default:
		return false
	}
	return true
}

// writePyDict writes a dict's repr. Go maps have no insertion order, so the
// keys are sorted; Python would show them in insertion order.
func writePyDict(b *strings.Builder, m map[string]any) bool {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		writePyRepr(b, k)
		b.WriteString(": ")
		if !writePy(b, m[k], true) {
			return false
		}
	}
	b.WriteByte('}')
	return true
}

// writePyNumber writes a JSON number as Python's json module would load it:
// an int when it has no fraction or exponent, else a float.
func writePyNumber(b *strings.Builder, s string) bool {
	if strings.ContainsAny(s, ".eE") {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil && !math.IsInf(f, 0) {
			return false
		}
		b.WriteString(pyFloat(f))
		return true
	}
	n, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return false
	}
	b.WriteString(n.String())
	return true
}

// pyFloat returns repr(f) for a Python float.
func pyFloat(f float64) string { return pyrepr.Float(f) }

// writePyRepr writes repr(s) for a Python str.
func writePyRepr(b *strings.Builder, s string) { pyrepr.WriteString(b, s) }

// hex2 is n in two lower-case hex digits.
func hex2(n int) string {
	s := strconv.FormatInt(int64(n), 16)
	return strings.Repeat("0", max(0, 2-len(s))) + s
}

// pyIsSpace reports whether Python's \s (str.isspace) matches r.
func pyIsSpace(r rune) bool {
	switch {
	case r >= 0x09 && r <= 0x0d, r >= 0x1c && r <= 0x20:
		return true
	case r < 0x85:
		return false
	case r == 0x85, r == 0xa0, r == 0x1680, r >= 0x2000 && r <= 0x200a,
		r == 0x2028, r == 0x2029, r == 0x202f, r == 0x205f, r == 0x3000:
		return true
	}
	return false
}

// equalLower reports whether a.lower() == b.lower() in Python, without
// allocating when both are ASCII.
func equalLower(a, b string) bool {
	if len(a) == len(b) {
		ascii := true
		for i := 0; i < len(a); i++ {
			x, y := a[i], b[i]
			if x >= utf8.RuneSelf || y >= utf8.RuneSelf {
				ascii = false
				break
			}
			if lowerASCII(x) != lowerASCII(y) {
				return false
			}
		}
		if ascii {
			return true
		}
	} else if isASCII(a) && isASCII(b) {
		return false
	}
	return pyLower(a) == pyLower(b)
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// pyLower is Python's str.lower: the simple lower-case mapping plus the two
// special cases CPython applies, U+0130 (to "i̇") and the final-sigma rule.
func pyLower(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		switch r {
		case 0x130:
			b.WriteString("i\u0307")
		case 0x3a3:
			if finalSigma(rs, i) {
				b.WriteRune(0x3c2)
			} else {
				b.WriteRune(0x3c3)
			}
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// finalSigma is CPython's handle_capital_sigma: a cased letter before
// (skipping case-ignorables) and none after.
func finalSigma(rs []rune, i int) bool {
	j := i - 1
	for j >= 0 && caseIgnorable(rs[j]) {
		j--
	}
	if j < 0 || !cased(rs[j]) {
		return false
	}
	j = i + 1
	for j < len(rs) && caseIgnorable(rs[j]) {
		j++
	}
	return j == len(rs) || !cased(rs[j])
}

func cased(r rune) bool {
	return unicode.In(r, unicode.Lu, unicode.Ll, unicode.Lt, unicode.Other_Lowercase, unicode.Other_Uppercase)
}

func caseIgnorable(r rune) bool {
	switch r {
	case '\'', '.', ':', 0xb7, 0x387, 0x55f, 0x5f4, 0x2018, 0x2019, 0x2024,
		0x2027, 0xfe13, 0xfe52, 0xfe55, 0xff07, 0xff0e, 0xff1a:
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk)
}
