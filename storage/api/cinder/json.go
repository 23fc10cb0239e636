package cinder

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gostack/gostack/kit/pyrepr"
)

// value is a JSON value as Python's json module reads it, an object's
// keys in their order: what Cinder's schema messages show (Python's
// str() and repr() of the value).
type value struct {
	kind  byte   // '{' object, '[' array, '"' string, '0' number, 't', 'f', 'n'
	text  string // a string, or a number's literal
	keys  []string
	items []*value // an object's values (by keys) or an array's items
}

// parseJSON reads one JSON value; text that is not UTF-8 or not JSON is
// an error (Cinder's "Malformed request body").
func parseJSON(data []byte) (*value, error) {
	if !utf8.Valid(data) {
		return nil, errors.New("not UTF-8")
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	v, err := readJSON(d)
	if err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errors.New("data after the value")
	}
	return v, nil
}

// mustJSON parses text known to be JSON (the schemas).
func mustJSON(text string) *value {
	v, err := parseJSON([]byte(text))
	if err != nil {
		panic("cinder: bad JSON: " + err.Error())
	}
	return v
}

// readJSON reads one value; a key given twice keeps its first place and
// its last value, as a Python dict does.
func readJSON(d *json.Decoder) (*value, error) {
	t, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch t := t.(type) {
	case json.Delim:
		v := &value{kind: byte(t)}
		for d.More() {
			var key string
			if v.kind == '{' {
				k, err := d.Token()
				if err != nil {
					return nil, err
				}
				key = k.(string)
			}
			item, err := readJSON(d)
			if err != nil {
				return nil, err
			}
			if i := slices.Index(v.keys, key); v.kind == '{' && i >= 0 {
				v.items[i] = item
				continue
			}
			if v.kind == '{' {
				v.keys = append(v.keys, key)
			}
			v.items = append(v.items, item)
		}
		_, err := d.Token() // the closing delimiter
		return v, err
	case string:
		return &value{kind: '"', text: t}, nil
	case json.Number:
		return &value{kind: '0', text: t.String()}, nil
	case bool:
		if t {
			return &value{kind: 't'}, nil
		}
		return &value{kind: 'f'}, nil
	}
	return &value{kind: 'n'}, nil
}

// get is the value of key k of an object, nil when absent.
func (v *value) get(k string) *value {
	if v == nil || v.kind != '{' {
		return nil
	}
	if i := slices.Index(v.keys, k); i >= 0 {
		return v.items[i]
	}
	return nil
}

// has reports whether an object has key k.
func (v *value) has(k string) bool { return v.get(k) != nil }

// null reports whether v is absent or JSON null.
func (v *value) null() bool { return v == nil || v.kind == 'n' }

func (v *value) isInt() bool { return v.kind == '0' && !strings.ContainsAny(v.text, ".eE") }

// is reports whether v is of a JSON Schema (draft 4) type: 1.0 is a
// number, not an integer, and a boolean is neither.
func (v *value) is(typ string) bool {
	switch typ {
	case "object":
		return v.kind == '{'
	case "array":
		return v.kind == '['
	case "string":
		return v.kind == '"'
	case "integer":
		return v.isInt()
	case "number":
		return v.kind == '0'
	case "boolean":
		return v.kind == 't' || v.kind == 'f'
	case "null":
		return v.kind == 'n'
	}
	return false
}

// truthy is Python's bool() of v.
func (v *value) truthy() bool {
	switch v.kind {
	case 'n', 'f':
		return false
	case '0':
		f, _ := strconv.ParseFloat(v.text, 64)
		return f != 0
	}
	return v.kind == 't' || len(v.keys) > 0 || len(v.items) > 0 || v.text != ""
}

// equal is Python's == between JSON values of the same kind (what
// jsonschema's enum compares for the strings, booleans and null
// Cinder's enums hold).
func (v *value) equal(o *value) bool {
	if v.kind != o.kind {
		return false
	}
	switch v.kind {
	case '"':
		return v.text == o.text
	case '0':
		a, _ := new(big.Float).SetString(v.text)
		b, _ := new(big.Float).SetString(o.text)
		return a != nil && b != nil && a.Cmp(b) == 0
	case '{', '[':
		return v.repr() == o.repr()
	}
	return true
}

// str is Python's str() of v.
func (v *value) str() string {
	if v.kind == '"' {
		return v.text
	}
	return v.repr()
}

// repr is Python's repr() of v.
func (v *value) repr() string {
	switch v.kind {
	case '{':
		parts := make([]string, len(v.keys))
		for i, k := range v.keys {
			parts[i] = pyrepr.String(k) + ": " + v.items[i].repr()
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case '[':
		parts := make([]string, len(v.items))
		for i, it := range v.items {
			parts[i] = it.repr()
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case '"':
		return pyrepr.String(v.text)
	case '0':
		if v.isInt() {
			n, _ := new(big.Int).SetString(v.text, 10)
			return n.String()
		}
		f, _ := strconv.ParseFloat(v.text, 64)
		return pyrepr.Float(f)
	case 't':
		return "True"
	case 'f':
		return "False"
	}
	return "None"
}

// number is the number Cinder's _SchemaValidator compares with minimum
// and maximum (_number_from_str: int(v), else float(v)), as Python
// shows it; ok is false when Python's conversions fail (the bound is
// then not checked).
func (v *value) number() (n *big.Float, text string, ok bool) {
	switch v.kind {
	case 't', 'f':
		i := map[byte]int64{'t': 1, 'f': 0}[v.kind]
		return new(big.Float).SetInt64(i), strconv.FormatInt(i, 10), true
	case '0':
		if v.isInt() {
			i, _ := new(big.Int).SetString(v.text, 10)
			return new(big.Float).SetInt(i), i.String(), true
		}
		f, err := strconv.ParseFloat(v.text, 64)
		if err != nil || math.IsInf(f, 0) {
			return nil, "", false
		}
		i, _ := big.NewFloat(math.Trunc(f)).Int(nil) // int(1.5) is 1
		return new(big.Float).SetInt(i), i.String(), true
	case '"':
		if i, ok := pyInt(v.text); ok {
			return new(big.Float).SetInt(i), i.String(), true
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v.text), 64)
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

// pyInt parses s as Python's int(s): surrounding white space, a sign,
// digits with single underscores between them.
func pyInt(s string) (*big.Int, bool) {
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

// pyBool is oslo's bool_from_string(s, strict=True): ok is false for a
// string it does not know.
func pyBool(s string) (b, ok bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "t", "true", "on", "y", "yes":
		return true, true
	case "0", "f", "false", "off", "n", "no":
		return false, true
	}
	return false, false
}

// boolOf is a schema-checked boolean (parameter_types.boolean: true,
// false or one of its strings) as Cinder reads it.
func (v *value) boolOf() bool {
	if v.kind == '"' {
		b, _ := pyBool(v.text)
		return b
	}
	return v.kind == 't'
}
