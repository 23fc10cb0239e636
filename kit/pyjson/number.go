package pyjson

import (
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode"

	"github.com/gostack/gostack/kit/pyrepr"
)

// Number is the number the _SchemaValidator of Nova and Cinder compares
// with minimum and maximum (_number_from_str: int(v), else float(v)),
// and its text as Python shows it; ok is false when Python's
// conversions fail (the bound is then not checked). A boolean is 1 or
// 0; a float is truncated by int().
func (v *Value) Number() (n *big.Float, text string, ok bool) {
	switch v.Kind {
	case 't', 'f':
		i := map[byte]int64{'t': 1, 'f': 0}[v.Kind]
		return new(big.Float).SetInt64(i), strconv.FormatInt(i, 10), true
	case '0':
		if v.IsInt() {
			i, _ := new(big.Int).SetString(v.Text, 10)
			return new(big.Float).SetInt(i), i.String(), true
		}
		f, err := strconv.ParseFloat(v.Text, 64)
		if err != nil || math.IsInf(f, 0) {
			return nil, "", false
		}
		i, _ := big.NewFloat(math.Trunc(f)).Int(nil) // int(1.5) is 1
		return new(big.Float).SetInt(i), i.String(), true
	case '"':
		if i, ok := Int(v.Text); ok {
			return new(big.Float).SetInt(i), i.String(), true
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v.Text), 64)
		if err != nil || math.IsNaN(f) {
			return nil, "", false
		}
		if math.IsInf(f, 0) {
			return new(big.Float).SetInf(f < 0), pyrepr.Float(f), true
		}
		return big.NewFloat(f), pyrepr.Float(f), true
	}
	return nil, "", false
}

// Int parses s as Python's int(s): surrounding white space, a sign,
// digits with single underscores between them.
func Int(s string) (*big.Int, bool) {
	t := strings.TrimFunc(s, unicode.IsSpace)
	sign := ""
	if t != "" && (t[0] == '+' || t[0] == '-') {
		sign, t = t[:1], t[1:]
	}
	if t == "" || t[0] == '_' || t[len(t)-1] == '_' || strings.Contains(t, "__") {
		return nil, false
	}
	t = strings.ReplaceAll(t, "_", "")
	if strings.TrimLeft(t, "0123456789") != "" {
		return nil, false
	}
	return new(big.Int).SetString(sign+t, 10)
}

// Bool is oslo.utils' bool_from_string(s, strict=True), how OpenStack
// reads a boolean given as a string; ok is false for a string it does
// not know.
func Bool(s string) (b, ok bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "t", "true", "on", "y", "yes":
		return true, true
	case "0", "f", "false", "off", "n", "no":
		return false, true
	}
	return false, false
}
