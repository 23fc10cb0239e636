package storage

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"unicode"

	"github.com/gostack/gostack/kit/pyrepr"
)

// MatchSpec is Cinder's extra_specs_ops.match: whether a capability
// value (a string, bool, number, nil, list or map, as a driver reports
// it and encoding/json decodes it) satisfies an extra spec requirement.
// A requirement whose first word is an operator compares with it:
//
//	=, >=, <=, ==, !=   as numbers (= is >=)
//	s==, s!=, s<, s<=, s>, s>=  as strings
//	<in>                the word is in the value (a substring, a list item, a map key)
//	<is>                the same boolean (oslo's bool_from_string)
//	<or> a <or> b ...   the value is one of the words
//
// Any other requirement must equal the value, which must then be a
// string. Where Cinder would raise (an operator on a value it cannot
// take, a bare "<or>"), the requirement is not met.
func MatchSpec(value any, req string) bool {
	words := strings.Fields(req)
	if len(words) == 0 || !isSpecOp(words[0]) {
		s, ok := value.(string)
		return ok && s == req
	}
	if value == nil {
		return false
	}
	op, words := words[0], words[1:]
	if op == "<or>" {
		for len(words) > 0 {
			if s, ok := value.(string); ok && s == words[0] {
				return true
			}
			words = words[1:]
			if len(words) == 0 {
				break
			}
			words = words[1:] // the next <or>
		}
		return false
	}
	if len(words) == 0 {
		return false
	}
	return applySpecOp(op, value, words[0])
}

func isSpecOp(op string) bool {
	switch op {
	case "=", "<in>", "<is>", "==", "!=", ">=", "<=", "s==", "s!=", "s<", "s<=", "s>", "s>=", "<or>":
		return true
	}
	return false
}

func applySpecOp(op string, value any, word string) bool {
	switch op {
	case "=", "==", "!=", ">=", "<=":
		x, ok1 := pyFloatOf(value)
		y, ok2 := pyFloat(word)
		if !ok1 || !ok2 {
			return false
		}
		switch op {
		case "=", ">=":
			return x >= y
		case "==":
			return x == y
		case "!=":
			return x != y
		default:
			return x <= y
		}
	case "<in>":
		switch v := value.(type) {
		case string:
			return strings.Contains(v, word)
		case []any:
			for _, item := range v {
				if s, ok := item.(string); ok && s == word {
					return true
				}
			}
			return false
		case []string:
			for _, s := range v {
				if s == word {
					return true
				}
			}
			return false
		case map[string]any:
			_, ok := v[word]
			return ok
		}
		return false
	case "<is>":
		return pyBoolFrom(value) == pyBoolFrom(word)
	}
	s, ok := value.(string)
	switch op {
	case "s==":
		return ok && s == word
	case "s!=":
		return !ok || s != word
	}
	if !ok {
		return false // Python cannot order a str against anything else
	}
	switch op {
	case "s<":
		return s < word
	case "s<=":
		return s <= word
	case "s>":
		return s > word
	default: // s>=
		return s >= word
	}
}

// pyFloatOf is Python's float(x) of a capability value.
func pyFloatOf(v any) (float64, bool) {
	switch x := v.(type) {
	case string:
		return pyFloat(x)
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case json.Number:
		return pyFloat(string(x))
	}
	return 0, false
}

// pyFloat is Python's float(s) of a string: surrounding white space, a
// sign, digits with single underscores between them, a decimal point,
// an exponent, or inf, infinity and nan in any case.
func pyFloat(s string) (float64, bool) {
	t := strings.TrimFunc(s, unicode.IsSpace)
	body := strings.TrimLeft(t, "+-")
	if len(t)-len(body) > 1 {
		return 0, false
	}
	switch strings.ToLower(body) {
	case "inf", "infinity":
		if strings.HasPrefix(t, "-") {
			return math.Inf(-1), true
		}
		return math.Inf(1), true
	case "nan":
		return math.NaN(), true
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c == '_' {
			if i == 0 || i == len(body)-1 || !isDigit(body[i-1]) || !isDigit(body[i+1]) {
				return 0, false
			}
			continue
		}
		if !isDigit(c) && c != '.' && c != 'e' && c != 'E' && c != '+' && c != '-' {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(t, "_", ""), 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return f, true // Python overflows to inf too
		}
		return 0, false
	}
	return f, true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// pyBoolFrom is oslo's bool_from_string(x) (not strict, default False)
// of a capability value: a bool is itself, anything else its str().
func pyBoolFrom(v any) bool {
	var s string
	switch x := v.(type) {
	case bool:
		return x
	case string:
		s = x
	case float64:
		s = pyrepr.Float(x)
	case float32:
		s = pyrepr.Float(float64(x))
	case int:
		s = strconv.Itoa(x)
	case int64:
		s = strconv.FormatInt(x, 10)
	case json.Number:
		s = string(x)
	default:
		return false
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "t", "true", "on", "y", "yes":
		return true
	}
	return false
}
