package config

import (
	"encoding"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"
)

var (
	durationType     = reflect.TypeFor[Duration]()
	timeDurationType = reflect.TypeFor[time.Duration]()
	textUnmarshaler  = reflect.TypeFor[encoding.TextUnmarshaler]()
	textMarshaler    = reflect.TypeFor[encoding.TextMarshaler]()
)

// kind is how a Go type is written in YAML, env vars and flags.
type kind int

const (
	kindScalar  kind = iota // string, bool, number, duration or a TextUnmarshaler
	kindSection             // struct: a mapping of named fields
	kindList                // slice
	kindMap                 // map with string keys
	kindAny                 // empty interface: any YAML value
)

func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

func isDuration(t reflect.Type) bool { return t == durationType || t == timeDurationType }

func isText(t reflect.Type) bool { return reflect.PointerTo(t).Implements(textUnmarshaler) }

// classify says how t (pointers looked through) is read, or why it cannot be.
func classify(t reflect.Type) (kind, error) {
	t = deref(t)
	if isDuration(t) || isText(t) {
		return kindScalar, nil
	}
	switch t.Kind() {
	case reflect.String, reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return kindScalar, nil
	case reflect.Struct:
		return kindSection, nil
	case reflect.Slice:
		return kindList, nil
	case reflect.Map:
		if t.Key().Kind() == reflect.String {
			return kindMap, nil
		}
	case reflect.Interface:
		if t.NumMethod() == 0 {
			return kindAny, nil
		}
	}
	return 0, fmt.Errorf("unsupported type %s", t)
}

// structField is one YAML key of a struct, inline fields flattened.
type structField struct {
	name   string
	index  []int
	typ    reflect.Type
	help   string
	secret bool
}

// fieldsOf lists the YAML keys of struct type t in declaration order.
func fieldsOf(t reflect.Type) ([]structField, error) {
	var out []structField
	err := collectFields(t, nil, &out, map[string]bool{})
	return out, err
}

func collectFields(t reflect.Type, prefix []int, out *[]structField, seen map[string]bool) error {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		if !f.IsExported() || tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		index := append(slices.Clone(prefix), i)
		if slices.Contains(strings.Split(opts, ","), "inline") {
			// A pointer is followed: it must not be nil when the config is
			// read or written (a daemon composing its config at run time
			// points it at a struct it owns).
			if deref(f.Type).Kind() != reflect.Struct || (f.Type.Kind() == reflect.Pointer && f.Type.Elem().Kind() != reflect.Struct) {
				return fmt.Errorf("%s.%s: inline needs a struct or a pointer to one, not %s", t, f.Name, f.Type)
			}
			if err := collectFields(deref(f.Type), index, out, seen); err != nil {
				return err
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		if seen[name] {
			return fmt.Errorf("%s: two fields use the key %q", t, name)
		}
		seen[name] = true
		*out = append(*out, structField{
			name: name, index: index, typ: f.Type,
			help: f.Tag.Get("help"), secret: f.Tag.Get("secret") == "true",
		})
	}
	return nil
}

// leaf is a key that env vars and flags can set: a field that is not a
// section. Lists and maps are leaves; so is everything below them.
type leaf struct {
	key    string  // dotted YAML path: "log.format"
	env    string  // the path as an env var suffix: "LOG_FORMAT"
	path   [][]int // field indexes from the root, one per section
	typ    reflect.Type
	kind   kind
	help   string
	secret bool
}

// leavesOf lists the leaves of struct type t, checking every type on the way.
func leavesOf(t reflect.Type) ([]leaf, error) {
	var out []leaf
	err := walkType(t, "", nil, false, map[reflect.Type]bool{}, &out)
	return out, err
}

func walkType(t reflect.Type, key string, path [][]int, secret bool, open map[reflect.Type]bool, out *[]leaf) error {
	t = deref(t)
	if open[t] {
		return fmt.Errorf("config: %s: recursive type %s", key, t)
	}
	open[t] = true
	defer delete(open, t)
	fields, err := fieldsOf(t)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	for _, f := range fields {
		k, p := join(key, f.name), append(slices.Clone(path), f.index)
		kd, err := classify(f.typ)
		if err == nil && kd == kindSection {
			err = walkType(f.typ, k, p, secret || f.secret, open, out)
			if err != nil {
				return err
			}
			continue
		}
		if err == nil {
			err = checkType(f.typ, map[reflect.Type]bool{})
		}
		if err != nil {
			return fmt.Errorf("config: %s: %w", k, err)
		}
		*out = append(*out, leaf{key: k, env: envName(k), path: p, typ: f.typ,
			kind: kd, help: f.help, secret: secret || f.secret})
	}
	return nil
}

// checkType reports the first unsupported type inside t.
func checkType(t reflect.Type, done map[reflect.Type]bool) error {
	t = deref(t)
	if done[t] {
		return nil
	}
	done[t] = true
	kd, err := classify(t)
	if err != nil {
		return err
	}
	switch kd {
	case kindList, kindMap:
		return checkType(t.Elem(), done)
	case kindSection:
		fields, err := fieldsOf(t)
		for _, f := range fields {
			if err == nil {
				err = checkType(f.typ, done)
			}
		}
		return err
	}
	return nil
}

// value returns the leaf's field in root. With alloc it allocates nil
// pointers on the way; without, ok is false when one is in the way.
func (l *leaf) value(root reflect.Value, alloc bool) (v reflect.Value, ok bool) {
	v = root
	for _, index := range l.path {
		if v, ok = indirect(v, alloc); !ok {
			return reflect.Value{}, false
		}
		v = v.FieldByIndex(index)
	}
	return v, true
}

// indirect follows pointers from v. With alloc it allocates nil ones;
// without, ok is false when it meets one.
func indirect(v reflect.Value, alloc bool) (reflect.Value, bool) {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			if !alloc {
				return reflect.Value{}, false
			}
			v.Set(reflect.New(v.Type().Elem()))
		}
		v = v.Elem()
	}
	return v, true
}

func join(key, name string) string {
	if key == "" {
		return name
	}
	return key + "." + name
}

var envReplacer = strings.NewReplacer(".", "_", "-", "_")

// envName turns a dotted path into an env var suffix: "log.format" → "LOG_FORMAT".
func envName(key string) string { return strings.ToUpper(envReplacer.Replace(key)) }

// rootOf returns the config struct cfg points to. Read-only callers may
// pass the struct itself; they get an addressable copy.
func rootOf(cfg any, write bool) (reflect.Value, error) {
	v := reflect.ValueOf(cfg)
	if v.Kind() == reflect.Pointer && !v.IsNil() && v.Elem().Kind() == reflect.Struct {
		return v.Elem(), nil
	}
	if !write && v.Kind() == reflect.Struct {
		c := reflect.New(v.Type()).Elem()
		c.Set(v)
		return c, nil
	}
	return reflect.Value{}, fmt.Errorf("config: need a pointer to a struct, not %T", cfg)
}
