// Package pyrepr writes values as Python's repr() does, for gostack's
// reimplementations of OpenStack behaviour that print or compare Python
// values (oslo.policy's rule substitutions in identity/policy, Nova's
// capability and JSON filters in compute/scheduler).
package pyrepr

import (
	"math"
	"strconv"
	"strings"
	"unicode"
)

// Float is repr() of a Python float: the shortest digits that read back,
// in exponent form when the exponent is below -4 or at least 16, with
// ".0" on integral values; inf, -inf and nan.
func Float(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64)
	exp, _ := strconv.Atoi(e[strings.LastIndexByte(e, 'e')+1:])
	if exp < -4 || exp >= 16 {
		return e // Go and Python both write at least two exponent digits
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsRune(s, '.') {
		s += ".0"
	}
	return s
}

// String is repr() of a Python str: single quotes unless the text has a
// single quote and no double quote; backslash escapes for the quote,
// backslash, \t \n \r, other control characters and code points Python
// does not print.
func String(s string) string {
	var b strings.Builder
	WriteString(&b, s)
	return b.String()
}

// WriteString writes String(s) to b.
func WriteString(b *strings.Builder, s string) {
	quote := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		quote = '"'
	}
	b.WriteByte(quote)
	for _, r := range s {
		switch {
		case r == '\\' || r == rune(quote):
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			b.WriteString(`\x` + pad(int64(r), 2))
		case r < 0x7f || unicode.IsPrint(r):
			b.WriteRune(r)
		case r <= 0xff:
			b.WriteString(`\x` + pad(int64(r), 2))
		case r <= 0xffff:
			b.WriteString(`\u` + pad(int64(r), 4))
		default:
			b.WriteString(`\U` + pad(int64(r), 8))
		}
	}
	b.WriteByte(quote)
}

// pad is n in lower-case hex with at least width digits.
func pad(n int64, width int) string {
	s := strconv.FormatInt(n, 16)
	return strings.Repeat("0", max(0, width-len(s))) + s
}
