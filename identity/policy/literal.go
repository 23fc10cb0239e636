package policy

import (
	"math"
	"math/big"
	"strconv"
	"strings"
)

// A generic check "kind:match" first tries ast.literal_eval(kind): when
// kind is a Python literal the check compares str(literal) with match;
// when literal_eval raises ValueError (kind is an expression but not a
// literal, e.g. "user_id" or "token.project.id") kind is a dotted path into
// the creds; when it raises anything else (SyntaxError, e.g. "1abc")
// oslo.policy does not catch it and the whole enforcement errors.
//
// kindOf reproduces that for the kinds real policies use: scalar literals
// (True, False, None, ..., numbers, quoted strings and bytes) and dotted
// paths of Python identifiers. Everything else — containers, complex
// numbers, parenthesised or signed-twice expressions, non-ASCII identifiers,
// and Python syntax errors — is kindUnsupported and fails closed when
// evaluated.

type kindClass uint8

const (
	kindPath kindClass = iota
	kindLiteral
	kindUnsupported
)

type kindInfo struct {
	class kindClass
	lit   string   // kindLiteral: str(literal)
	path  []string // kindPath: kind split at '.'
}

func kindOf(kind string) kindInfo {
	s := strings.TrimLeft(kind, " \t")
	if lit, ok := pyLiteral(s); ok {
		return kindInfo{class: kindLiteral, lit: lit}
	}
	// Python parses the stripped text but splits the raw kind into keys.
	if isIdentPath(strings.TrimRight(s, " \t\f\r\n")) {
		return kindInfo{class: kindPath, path: strings.Split(kind, ".")}
	}
	return kindInfo{class: kindUnsupported}
}

var pyKeywords = map[string]bool{
	"False": true, "None": true, "True": true, "and": true, "as": true, "assert": true,
	"async": true, "await": true, "break": true, "class": true, "continue": true, "def": true,
	"del": true, "elif": true, "else": true, "except": true, "finally": true, "for": true,
	"from": true, "global": true, "if": true, "import": true, "in": true, "is": true,
	"lambda": true, "nonlocal": true, "not": true, "or": true, "pass": true, "raise": true,
	"return": true, "try": true, "while": true, "with": true, "yield": true,
}

// isIdentPath reports whether s is a valid Python expression of the form
// name(.name)*, which literal_eval rejects with ValueError. The first part
// may be True, False or None (an attribute of a constant is still valid).
func isIdentPath(s string) bool {
	for i, seg := range strings.Split(s, ".") {
		if !isIdent(seg) {
			return false
		}
		if pyKeywords[seg] && !(i == 0 && (seg == "True" || seg == "False" || seg == "None")) {
			return false
		}
	}
	return true
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// pyLiteral returns str(ast.literal_eval(s)) for the scalar literals we
// support, with ok false for anything else.
func pyLiteral(s string) (string, bool) {
	s = strings.TrimRight(s, " \t\f\r\n")
	switch s {
	case "True", "False", "None":
		return s, true
	case "...":
		return "Ellipsis", true
	case "":
		return "", false
	}
	switch c := s[0]; {
	case c == '+' || c == '-':
		body := strings.TrimLeft(s[1:], " \t\f")
		v, ok := pyNumber(body)
		if !ok {
			return "", false
		}
		return signNumber(c, v), true
	case c == '.' || '0' <= c && c <= '9':
		return pyNumber(s)
	}
	return pyStrings(s)
}

// signNumber applies a unary sign to the str() of a number.
func signNumber(sign byte, v string) string {
	if sign == '+' {
		return v
	}
	if strings.HasPrefix(v, "-") {
		return v[1:]
	}
	if v == "0" {
		return "0"
	}
	return "-" + v
}

// pyNumber parses an int or float literal and returns its str().
// Imaginary numbers are not supported.
func pyNumber(s string) (string, bool) {
	if len(s) > 1 && s[0] == '0' && strings.ContainsRune("xXoObB", rune(s[1])) {
		base := map[byte]int{'x': 16, 'o': 8, 'b': 2}[s[1]|0x20]
		digits, ok := underscored(s[2:], base, true)
		if !ok {
			return "", false
		}
		n, ok := new(big.Int).SetString(digits, base)
		if !ok {
			return "", false
		}
		return pyIntStr(n)
	}
	mant, exp, hasExp := s, "", false
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant, exp, hasExp = s[:i], s[i+1:], true
	}
	intPart, frac, hasDot := mant, "", false
	if i := strings.IndexByte(mant, '.'); i >= 0 {
		intPart, frac, hasDot = mant[:i], mant[i+1:], true
	}
	if !hasDot && !hasExp {
		digits, ok := underscored(intPart, 10, false)
		if !ok || (digits[0] == '0' && strings.Trim(digits, "0") != "") {
			return "", false // leading zeros are a SyntaxError
		}
		if len(digits) > maxIntDigits {
			return "", false
		}
		n, _ := new(big.Int).SetString(digits, 10)
		return pyIntStr(n)
	}
	return pyFloatLiteral(intPart, frac, exp, hasExp)
}

// maxIntDigits is CPython's default int_max_str_digits: str() of a longer
// int raises ValueError, which GenericCheck would swallow.
const maxIntDigits = 4300

func pyIntStr(n *big.Int) (string, bool) {
	s := n.String()
	if len(s) > maxIntDigits {
		return "", false
	}
	return s, true
}

// pyFloatLiteral parses the parts of a float literal (digits[.digits][e[sign]digits]).
func pyFloatLiteral(intPart, frac, exp string, hasExp bool) (string, bool) {
	if intPart == "" && frac == "" {
		return "", false
	}
	text := "0"
	if intPart != "" {
		d, ok := underscored(intPart, 10, false)
		if !ok {
			return "", false
		}
		text = d
	}
	if frac != "" {
		d, ok := underscored(frac, 10, false)
		if !ok {
			return "", false
		}
		text += "." + d
	}
	if hasExp {
		sign := ""
		if exp != "" && (exp[0] == '+' || exp[0] == '-') {
			sign, exp = exp[:1], exp[1:]
		}
		d, ok := underscored(exp, 10, false)
		if !ok {
			return "", false
		}
		text += "e" + sign + d
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil && !math.IsInf(f, 0) {
		return "", false
	}
	return pyFloat(f), true
}

// underscored validates digits in base with Python's single underscores
// between digits (and, after a base prefix, before the first one) and
// returns them without the underscores.
func underscored(s string, base int, prefixed bool) (string, bool) {
	if s == "" {
		return "", false
	}
	var b strings.Builder
	prevUnderscore := !prefixed // a leading '_' is allowed only after 0x
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' {
			if prevUnderscore {
				return "", false
			}
			prevUnderscore = true
			continue
		}
		if digitValue(c) >= base {
			return "", false
		}
		prevUnderscore = false
		b.WriteByte(c)
	}
	if prevUnderscore || b.Len() == 0 {
		return "", false
	}
	return b.String(), true
}

func digitValue(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return 99
}
