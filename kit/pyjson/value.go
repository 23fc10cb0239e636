package pyjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gostack/gostack/kit/pyrepr"
)

// Value is a JSON value as Python's json module reads it, an object's
// keys in their order. The zero Value is not valid; nil is absent.
type Value struct {
	// Kind is '{' object, '[' array, '"' string, '0' number, 't' true,
	// 'f' false or 'n' null.
	Kind  byte
	Text  string // a string, or a number's literal
	Keys  []string
	Items []*Value // an object's values (by Keys) or an array's items
}

// Parse reads one JSON value; text that is not UTF-8, not JSON, or
// with more than one value is an error.
func Parse(data []byte) (*Value, error) {
	if !utf8.Valid(data) {
		return nil, errors.New("not UTF-8")
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	v, err := read(d)
	if err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errors.New("data after the value")
	}
	return v, nil
}

// read reads one value; a key given twice keeps its first place and
// its last value, as a Python dict does.
func read(d *json.Decoder) (*Value, error) {
	t, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch t := t.(type) {
	case json.Delim:
		v := &Value{Kind: byte(t)}
		for d.More() {
			var key string
			if v.Kind == '{' {
				k, err := d.Token()
				if err != nil {
					return nil, err
				}
				key = k.(string)
			}
			item, err := read(d)
			if err != nil {
				return nil, err
			}
			if i := slices.Index(v.Keys, key); v.Kind == '{' && i >= 0 {
				v.Items[i] = item
				continue
			}
			if v.Kind == '{' {
				v.Keys = append(v.Keys, key)
			}
			v.Items = append(v.Items, item)
		}
		_, err := d.Token() // the closing delimiter
		return v, err
	case string:
		return &Value{Kind: '"', Text: t}, nil
	case json.Number:
		return &Value{Kind: '0', Text: t.String()}, nil
	case bool:
		if t {
			return &Value{Kind: 't'}, nil
		}
		return &Value{Kind: 'f'}, nil
	}
	return &Value{Kind: 'n'}, nil
}

// Get is the value of key k of an object, nil when v is not an object
// or has no key k.
func (v *Value) Get(k string) *Value {
	if v == nil || v.Kind != '{' {
		return nil
	}
	if i := slices.Index(v.Keys, k); i >= 0 {
		return v.Items[i]
	}
	return nil
}

// Has reports whether an object has key k.
func (v *Value) Has(k string) bool { return v.Get(k) != nil }

// Null reports whether v is absent or JSON null.
func (v *Value) Null() bool { return v == nil || v.Kind == 'n' }

// Len is Python's len() of a string (its code points) or an array.
func (v *Value) Len() int {
	if v.Kind == '"' {
		return utf8.RuneCountInString(v.Text)
	}
	return len(v.Items)
}

// IsInt reports whether v is a number written without a fraction or an
// exponent, which Python reads as an int.
func (v *Value) IsInt() bool { return v.Kind == '0' && !strings.ContainsAny(v.Text, ".eE") }

// Is reports whether v is of a JSON Schema (draft 4) type: 1.0 is a
// number, not an integer, and a boolean is neither. An unknown type
// name is false.
func (v *Value) Is(typ string) bool {
	switch typ {
	case "object":
		return v.Kind == '{'
	case "array":
		return v.Kind == '['
	case "string":
		return v.Kind == '"'
	case "integer":
		return v.IsInt()
	case "number":
		return v.Kind == '0'
	case "boolean":
		return v.Kind == 't' || v.Kind == 'f'
	case "null":
		return v.Kind == 'n'
	}
	return false
}

// Truthy is Python's bool() of v.
func (v *Value) Truthy() bool {
	switch v.Kind {
	case 'n', 'f':
		return false
	case '0':
		f, _ := strconv.ParseFloat(v.Text, 64)
		return f != 0
	}
	return v.Kind == 't' || len(v.Keys) > 0 || len(v.Items) > 0 || v.Text != ""
}

// Equal is Python's == between JSON values of the same kind: strings by
// their text, numbers by their value, objects and arrays by their
// repr(). Values of different kinds are not equal (unlike Python's
// 1 == True).
func (v *Value) Equal(o *Value) bool {
	if v.Kind != o.Kind {
		return false
	}
	switch v.Kind {
	case '"':
		return v.Text == o.Text
	case '0':
		a, _ := new(big.Float).SetString(v.Text)
		b, _ := new(big.Float).SetString(o.Text)
		return a != nil && b != nil && a.Cmp(b) == 0
	case '{', '[':
		return v.Repr() == o.Repr()
	}
	return true
}

// Str is Python's str() of v: a string's text, else its repr().
func (v *Value) Str() string {
	if v.Kind == '"' {
		return v.Text
	}
	return v.Repr()
}

// Repr is Python's repr() of v: {'a': [1, 2.5, True, None]}.
func (v *Value) Repr() string {
	switch v.Kind {
	case '{':
		parts := make([]string, len(v.Keys))
		for i, k := range v.Keys {
			parts[i] = pyrepr.String(k) + ": " + v.Items[i].Repr()
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case '[':
		parts := make([]string, len(v.Items))
		for i, it := range v.Items {
			parts[i] = it.Repr()
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case '"':
		return pyrepr.String(v.Text)
	case '0':
		if v.IsInt() {
			n, _ := new(big.Int).SetString(v.Text, 10)
			return n.String()
		}
		f, _ := strconv.ParseFloat(v.Text, 64)
		return pyrepr.Float(f)
	case 't':
		return "True"
	case 'f':
		return "False"
	}
	return "None"
}
