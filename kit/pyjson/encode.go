package pyjson

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/gostack/gostack/kit/pyrepr"
)

// MarshalJSON writes v as JSON, an object's keys in their order, an
// int exactly, a float as Python's repr() writes it and a number
// beyond a float64's range as it was given.
func (v *Value) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	v.encode(&b)
	return b.Bytes(), nil
}

func (v *Value) encode(b *bytes.Buffer) {
	switch v.Kind {
	case '{', '[':
		b.WriteByte(v.Kind)
		for i, it := range v.Items {
			if i > 0 {
				b.WriteString(", ")
			}
			if v.Kind == '{' {
				key, _ := json.Marshal(v.Keys[i])
				b.Write(key)
				b.WriteString(": ")
			}
			it.encode(b)
		}
		b.WriteByte(map[byte]byte{'{': '}', '[': ']'}[v.Kind])
	case '"':
		quoted, _ := json.Marshal(v.Text)
		b.Write(quoted)
	case '0':
		f, err := strconv.ParseFloat(v.Text, 64)
		switch {
		case v.IsInt():
			b.WriteString(v.Repr())
		case err == nil:
			b.WriteString(pyrepr.Float(f))
		default:
			b.WriteString(v.Text) // out of range: as given
		}
	default:
		b.WriteString(map[byte]string{'t': "true", 'f': "false", 'n': "null"}[v.Kind])
	}
}
