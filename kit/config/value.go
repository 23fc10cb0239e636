package config

import (
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// parseScalar sets v, an addressable non-pointer scalar, from s. The rules
// are the same for YAML, env vars and flags.
func parseScalar(v reflect.Value, s string) error {
	t := v.Type()
	switch {
	case isDuration(t):
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("cannot use %q as a duration (like 30s, 5m or 24h)", s)
		}
		v.SetInt(int64(d))
		return nil
	case isText(t):
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
			return fmt.Errorf("cannot use %q: %v", s, err)
		}
		return nil
	}
	switch t.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, ok := parseBool(s)
		if !ok {
			return fmt.Errorf("cannot use %q as a boolean", s)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 0, t.Bits())
		if err != nil {
			return numberError(s, t, err)
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(s, 0, t.Bits())
		if err != nil {
			return numberError(s, t, err)
		}
		v.SetUint(n)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(s, t.Bits())
		if err != nil {
			return numberError(s, t, err)
		}
		v.SetFloat(f)
	}
	return nil
}

func parseBool(s string) (value, ok bool) {
	switch strings.ToLower(s) {
	case "true", "yes", "on", "1":
		return true, true
	case "false", "no", "off", "0":
		return false, true
	}
	return false, false
}

func numberError(s string, t reflect.Type, err error) error {
	if errors.Is(err, strconv.ErrRange) {
		return fmt.Errorf("cannot use %q as %s: out of range for %s", s, typeWord(t), t.Kind())
	}
	return fmt.Errorf("cannot use %q as %s", s, typeWord(t))
}

// typeWord names what a value of type t is written as, for error messages.
func typeWord(t reflect.Type) string {
	t = deref(t)
	switch {
	case isDuration(t):
		return "a duration"
	case isText(t):
		return "a string"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an unsigned integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "a mapping"
	}
	return "a string"
}

// typeName is the short type shown in the reference: "int", "duration",
// "list of string".
func typeName(t reflect.Type) string {
	t = deref(t)
	switch {
	case isDuration(t):
		return "duration"
	case isText(t):
		return "string"
	}
	switch t.Kind() {
	case reflect.Slice:
		return "list of " + typeName(t.Elem())
	case reflect.Map:
		return "map of " + typeName(t.Elem())
	case reflect.Struct:
		return "object"
	case reflect.Interface:
		return "any"
	}
	return t.Kind().String()
}

// formatScalar renders a non-pointer scalar the way parseScalar reads it,
// with the YAML tag it should carry.
func formatScalar(v reflect.Value) (s, tag string) {
	t := v.Type()
	switch {
	case isDuration(t):
		return formatDuration(time.Duration(v.Int())), "!!str"
	case t.Implements(textMarshaler):
		b, err := v.Interface().(encoding.TextMarshaler).MarshalText()
		if err != nil {
			return fmt.Sprint(v.Interface()), "!!str"
		}
		return string(b), "!!str"
	case reflect.PointerTo(t).Implements(textMarshaler):
		if !v.CanAddr() {
			c := reflect.New(t).Elem()
			c.Set(v)
			v = c
		}
		return formatScalar(v.Addr())
	}
	switch t.Kind() {
	case reflect.Bool:
		return strconv.FormatBool(v.Bool()), "!!bool"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10), "!!int"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(v.Uint(), 10), "!!int"
	case reflect.Float32, reflect.Float64:
		f := strconv.FormatFloat(v.Float(), 'g', -1, t.Bits())
		if !strings.ContainsAny(f, ".eIN") {
			f += ".0"
		}
		return f, "!!float"
	case reflect.String:
		return v.String(), "!!str"
	}
	return fmt.Sprint(v.Interface()), "!!str"
}

// setString sets v, the value of key, from a string given in an env var or
// a flag. Scalars are parsed directly; a list of scalars is comma separated
// (empty for none); anything else, and a list starting with "[", is YAML.
func (s *source) setString(v reflect.Value, key, str string) error {
	v, _ = indirect(v, true)
	kd, err := classify(v.Type())
	if err != nil {
		return s.fail(0, &FieldError{Key: key, Problem: err.Error()})
	}
	if kd == kindScalar {
		if err := parseScalar(v, str); err != nil {
			return s.fail(0, &FieldError{Key: key, Problem: err.Error()})
		}
		s.record(key, 0)
		return nil
	}
	if kd == kindList && (str == "" || !strings.HasPrefix(str, "[")) {
		return s.setList(v, key, str)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(str), &doc); err != nil {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		return s.fail(0, &FieldError{Key: key, Problem: "invalid YAML: " + msg})
	}
	if len(doc.Content) == 0 {
		return nil
	}
	return s.decode(doc.Content[0], v, key)
}

// setList sets a list from comma-separated items.
func (s *source) setList(v reflect.Value, key, str string) error {
	var items []string
	if str != "" {
		items = strings.Split(str, ",")
	}
	if kd, _ := classify(v.Type().Elem()); kd != kindScalar && len(items) > 0 {
		return s.fail(0, &FieldError{Key: key, Problem: "cannot use a comma-separated list here; write it as YAML"})
	}
	out := reflect.MakeSlice(v.Type(), len(items), len(items))
	for i, item := range items {
		k := fmt.Sprintf("%s[%d]", key, i)
		if err := s.setString(out.Index(i), k, strings.TrimSpace(item)); err != nil {
			return err
		}
	}
	v.Set(out)
	s.record(key, 0)
	return nil
}
