package policy

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Python string and bytes literals, for check kinds such as 'member'.

// pyStrings parses one or more adjacent string literals (implicitly
// concatenated) and returns str() of the result: the text for str, the
// repr for bytes. \N{...} escapes are not supported.
func pyStrings(s string) (string, bool) {
	var out strings.Builder
	kind := "" // "str" or "bytes", set by the first literal
	for s != "" {
		raw, isBytes, body, rest, ok := splitStringLiteral(s)
		if !ok {
			return "", false
		}
		k := map[bool]string{false: "str", true: "bytes"}[isBytes]
		if kind != "" && kind != k {
			return "", false // mixing bytes and str is a SyntaxError
		}
		kind = k
		text, ok := unescape(body, raw, isBytes)
		if !ok {
			return "", false
		}
		out.WriteString(text)
		s = strings.TrimLeft(rest, " \t\f")
	}
	if kind == "bytes" {
		return pyBytesRepr(out.String()), true
	}
	return out.String(), kind != ""
}

// splitStringLiteral splits a leading string literal (with its prefix) off s.
func splitStringLiteral(s string) (raw, isBytes bool, body, rest string, ok bool) {
	i := 0
	for i < len(s) && i < 2 && strings.IndexByte("rRbBuU", s[i]) >= 0 {
		i++
	}
	prefix := strings.ToLower(s[:i])
	switch prefix {
	case "", "r", "u", "b", "rb", "br":
	default:
		return false, false, "", "", false
	}
	raw, isBytes = strings.Contains(prefix, "r"), strings.Contains(prefix, "b")
	if i >= len(s) || (s[i] != '\'' && s[i] != '"') {
		return false, false, "", "", false
	}
	q := s[i]
	delim := s[i : i+1]
	if strings.HasPrefix(s[i:], strings.Repeat(delim, 3)) {
		delim = strings.Repeat(delim, 3)
	}
	for j := i + len(delim); j < len(s); j++ {
		switch {
		case s[j] == '\\':
			j++ // the next character never ends the literal
		case (s[j] == '\n' || s[j] == '\r') && len(delim) == 1:
			return false, false, "", "", false
		case s[j] == q && strings.HasPrefix(s[j:], delim):
			return raw, isBytes, s[i+len(delim) : j], s[j+len(delim):], true
		}
	}
	return false, false, "", "", false
}

// unescape applies Python's string escapes to a literal's body.
func unescape(body string, raw, isBytes bool) (string, bool) {
	if !utf8.ValidString(body) || strings.ContainsAny(body, "\x00\r") {
		return "", false // Python rejects NUL in source and rewrites CR
	}
	if isBytes && !isASCII(body) {
		return "", false // bytes literals may hold only ASCII
	}
	if raw || strings.IndexByte(body, '\\') < 0 {
		return body, true
	}
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		n, ok := writeEscape(&b, body[i:], isBytes)
		if !ok {
			return "", false
		}
		i += n - 1
	}
	return b.String(), true
}

// writeEscape writes the character for the escape at the start of s (just
// after a backslash) and returns how many bytes of s it used.
func writeEscape(b *strings.Builder, s string, isBytes bool) (int, bool) {
	simple := map[byte]byte{'\\': '\\', '\'': '\'', '"': '"', 'a': 7, 'b': 8, 'f': 12, 'n': 10, 'r': 13, 't': 9, 'v': 11}
	c := s[0]
	if c == '\n' {
		return 1, true // a line continuation inside triple quotes
	}
	if v, ok := simple[c]; ok {
		b.WriteByte(v)
		return 1, true
	}
	switch {
	case '0' <= c && c <= '7':
		n := 1
		for n < 3 && n < len(s) && '0' <= s[n] && s[n] <= '7' {
			n++
		}
		v, _ := strconv.ParseUint(s[:n], 8, 32)
		return n, writeCode(b, rune(v), isBytes)
	case c == 'x':
		return hexEscape(b, s, 2, isBytes)
	case c == 'u' && !isBytes:
		return hexEscape(b, s, 4, isBytes)
	case c == 'U' && !isBytes:
		return hexEscape(b, s, 8, isBytes)
	case c == 'N' && !isBytes:
		return 0, false // named escapes: not supported
	}
	b.WriteByte('\\') // unknown escapes are kept as written
	return 0, true
}

func hexEscape(b *strings.Builder, s string, digits int, isBytes bool) (int, bool) {
	if len(s) < 1+digits {
		return 0, false
	}
	v, err := strconv.ParseUint(s[1:1+digits], 16, 32)
	if err != nil || v > utf8.MaxRune || (v >= 0xd800 && v <= 0xdfff) {
		return 0, false // lone surrogates cannot be Go text
	}
	return 1 + digits, writeCode(b, rune(v), isBytes)
}

// writeCode writes a code point (str) or a byte value (bytes). In bytes
// the value is kept as a single byte for pyBytesRepr.
func writeCode(b *strings.Builder, r rune, isBytes bool) bool {
	if r >= 0xd800 && r <= 0xdfff {
		return false
	}
	if isBytes {
		if r > 0xff {
			return false
		}
		b.WriteByte(byte(r))
		return true
	}
	b.WriteRune(r)
	return true
}

// pyBytesRepr is repr(bytes) for the raw byte string s.
func pyBytesRepr(s string) string {
	quote := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		quote = '"'
	}
	var b strings.Builder
	b.WriteString("b")
	b.WriteByte(quote)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' || c == quote:
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c < 0x20 || c >= 0x7f:
			b.WriteString(`\x` + hex2(int(c)))
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte(quote)
	return b.String()
}
