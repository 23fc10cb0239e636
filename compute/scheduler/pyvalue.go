package scheduler

import (
	"encoding/json"
	"errors"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/gostack/gostack/kit/pyrepr"
)

// Nova's capability and JSON-query filters compare Python values: host
// attributes, strings from extra specs, numbers from JSON. This file
// gives those values Go types (nil for None, bool, int64, float64,
// string, []any, map[string]any) and the few Python behaviours the
// filters depend on: int() and float() of strings, str() of values,
// truthiness, == and ordering.

var errNotNumber = errors.New("not a number")

// pyInt is Python's int(s) for a string: surrounding whitespace, a sign,
// digits with single underscores between them.
func pyInt(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if !pyDigitsOK(unsigned(s), false) {
		return 0, errNotNumber
	}
	return strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 10, 64)
}

// pyFloat is Python's float(s): whitespace, sign, digits with
// underscores, a decimal point, an exponent, inf, infinity and nan in
// any case; no hexadecimal. Out of range is infinite, as in Python.
func pyFloat(s string) (float64, error) {
	s = strings.TrimSpace(s)
	low := strings.ToLower(unsigned(s))
	neg := strings.HasPrefix(s, "-")
	switch low {
	case "nan":
		return math.NaN(), nil
	case "inf", "infinity":
		if neg {
			return math.Inf(-1), nil
		}
		return math.Inf(1), nil
	}
	mant, exp, hasExp := strings.Cut(low, "e")
	if (hasExp && !pyDigitsOK(unsigned(exp), false)) || !pyDigitsOK(mant, true) {
		return 0, errNotNumber
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64)
	if errors.Is(err, strconv.ErrRange) {
		err = nil
	}
	return f, err
}

// unsigned is s without one leading sign.
func unsigned(s string) string {
	if s != "" && (s[0] == '+' || s[0] == '-') {
		return s[1:]
	}
	return s
}

// pyDigitsOK reports digits with underscores only between digits (and,
// when point, at most one '.' with a digit on at least one side).
func pyDigitsOK(s string, point bool) bool {
	if point {
		i, f, has := strings.Cut(s, ".")
		if !has {
			return pyDigitsOK(s, false)
		}
		return (i != "" || f != "") && (i == "" || pyDigitsOK(i, false)) && (f == "" || pyDigitsOK(f, false))
	}
	if s == "" || s[0] == '_' || s[len(s)-1] == '_' || strings.Contains(s, "__") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && s[i] != '_' {
			return false
		}
	}
	return true
}

// pyStr is Python's str(v): strings as they are, everything else as
// its repr.
func pyStr(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	var b strings.Builder
	pyRepr(&b, v)
	return b.String()
}

// pyRepr writes Python's repr of v. Dict keys come out sorted (Python
// keeps insertion order, which Go maps do not have).
func pyRepr(b *strings.Builder, v any) {
	switch v := v.(type) {
	case nil:
		b.WriteString("None")
	case bool:
		if v {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	case float64:
		b.WriteString(pyrepr.Float(v))
	case string:
		pyrepr.WriteString(b, v)
	case []any:
		b.WriteByte('[')
		for i, x := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			pyRepr(b, x)
		}
		b.WriteByte(']')
	case map[string]any:
		b.WriteByte('{')
		for i, k := range slices.Sorted(maps.Keys(v)) {
			if i > 0 {
				b.WriteString(", ")
			}
			pyrepr.WriteString(b, k)
			b.WriteString(": ")
			pyRepr(b, v[k])
		}
		b.WriteByte('}')
	default:
		b.WriteString("<object>")
	}
}

// pyJSON decodes JSON as Python's json.loads does: integers stay
// integers, other numbers are floats.
func pyJSON(s string) (any, error) {
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, errors.New("extra data after JSON value")
	}
	return pyFromJSON(v), nil
}

func pyFromJSON(v any) any {
	switch v := v.(type) {
	case json.Number:
		if !strings.ContainsAny(string(v), ".eE") {
			if n, err := v.Int64(); err == nil {
				return n
			}
		}
		f, _ := v.Float64()
		return f
	case []any:
		for i := range v {
			v[i] = pyFromJSON(v[i])
		}
	case map[string]any:
		for k := range v {
			v[k] = pyFromJSON(v[k])
		}
	}
	return v
}

// pyTruthy is Python's bool(v).
func pyTruthy(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case bool:
		return v
	case int64:
		return v != 0
	case float64:
		return v != 0
	case string:
		return v != ""
	case []any:
		return len(v) > 0
	case map[string]any:
		return len(v) > 0
	}
	return true
}

// pyNumber is v as a number when Python treats it as one (bool is an
// int).
func pyNumber(v any) (float64, bool) {
	switch v := v.(type) {
	case bool:
		if v {
			return 1, true
		}
		return 0, true
	case int64:
		return float64(v), true
	case float64:
		return v, true
	}
	return 0, false
}

// pyEqual is Python's ==.
func pyEqual(a, b any) bool {
	if x, ok := pyNumber(a); ok {
		y, ok := pyNumber(b)
		return ok && x == y
	}
	switch a := a.(type) {
	case nil:
		return b == nil
	case string:
		s, ok := b.(string)
		return ok && a == s
	case []any:
		l, ok := b.([]any)
		return ok && slices.EqualFunc(a, l, pyEqual)
	case map[string]any:
		m, ok := b.(map[string]any)
		return ok && maps.EqualFunc(a, m, pyEqual)
	}
	return false
}

var errIncomparable = errors.New("values cannot be ordered")

// pyCompare orders a and b as Python's < does: numbers with numbers,
// strings with strings, lists element by element; anything else is a
// TypeError in Python and errIncomparable here.
func pyCompare(a, b any) (int, error) {
	if x, ok := pyNumber(a); ok {
		y, ok := pyNumber(b)
		if !ok {
			return 0, errIncomparable
		}
		switch {
		case x < y:
			return -1, nil
		case x > y:
			return 1, nil
		case x == y:
			return 0, nil
		}
		return 2, nil // NaN: every comparison is false
	}
	switch a := a.(type) {
	case string:
		if s, ok := b.(string); ok {
			return strings.Compare(a, s), nil
		}
	case []any:
		l, ok := b.([]any)
		if !ok {
			break
		}
		for i := 0; i < len(a) && i < len(l); i++ {
			if pyEqual(a[i], l[i]) {
				continue
			}
			return pyCompare(a[i], l[i])
		}
		return cmpInt(len(a), len(l)), nil
	}
	return 0, errIncomparable
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
