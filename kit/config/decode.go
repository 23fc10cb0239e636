package config

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"

	"gopkg.in/yaml.v3"
)

// source is one place values come from: the config file, one env var or
// one flag. It decodes into the config strictly and remembers, per key,
// where each value came from so Validate errors can say.
type source struct {
	name    string            // file path, "env GOSTACK_X", "flag -set", or "" for Set
	file    bool              // name is a file, so line numbers mean something
	origins map[string]string // key → "gostack.yaml line 4"; nil to not record
}

// fail locates err: "config gostack.yaml: line 4: ..." for the file,
// "config: env GOSTACK_X: ..." for others.
func (s *source) fail(line int, err error) error {
	switch {
	case s.file:
		return &sourceError{where: fmt.Sprintf("config %s: line %d", s.name, line), err: err}
	case s.name == "":
		return &sourceError{where: "config", err: err}
	}
	return &sourceError{where: "config: " + s.name, err: err}
}

func (s *source) record(key string, line int) {
	switch {
	case s.origins == nil:
	case s.file:
		s.origins[key] = fmt.Sprintf("%s line %d", s.name, line)
	default:
		s.origins[key] = s.name
	}
}

// decode sets v, the value of key, from n. A null leaves v as it is, so an
// empty section in the file keeps its defaults.
func (s *source) decode(n *yaml.Node, v reflect.Value, key string) error {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return nil
	}
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		return s.decode(n, v.Elem(), key)
	}
	kd, err := classify(v.Type())
	if err != nil {
		return s.fail(n.Line, &FieldError{Key: key, Problem: err.Error()})
	}
	switch kd {
	case kindSection:
		return s.section(n, v, key)
	case kindList:
		return s.list(n, v, key)
	case kindMap:
		return s.mapping(n, v, key)
	case kindAny:
		var x any
		if err := n.Decode(&x); err != nil {
			return s.fail(n.Line, &FieldError{Key: key, Problem: err.Error()})
		}
		v.Set(reflect.ValueOf(&x).Elem())
	default:
		if n.Kind != yaml.ScalarNode {
			return s.wrongKind(n, v, key)
		}
		if err := parseScalar(v, n.Value); err != nil {
			return s.fail(n.Line, &FieldError{Key: key, Problem: err.Error()})
		}
	}
	s.record(key, n.Line)
	return nil
}

func (s *source) wrongKind(n *yaml.Node, v reflect.Value, key string) error {
	problem := fmt.Sprintf("cannot use %s as %s", nodeWord(n), typeWord(v.Type()))
	return s.fail(n.Line, &FieldError{Key: key, Problem: problem})
}

// nodeWord names what n is, for error messages: "a list", "a mapping" or
// the scalar quoted.
func nodeWord(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	}
	return strconv.Quote(n.Value)
}

func (s *source) section(n *yaml.Node, v reflect.Value, key string) error {
	if n.Kind != yaml.MappingNode {
		return s.wrongKind(n, v, key)
	}
	fields, err := fieldsOf(v.Type())
	if err != nil {
		return s.fail(n.Line, err)
	}
	byName := make(map[string]structField, len(fields))
	for _, f := range fields {
		byName[f.name] = f
	}
	return s.pairs(n, key, func(k, val *yaml.Node) error {
		f, ok := byName[k.Value]
		if !ok {
			return s.fail(k.Line, unknownKey(join(key, k.Value)))
		}
		return s.decode(val, v.FieldByIndex(f.index), join(key, f.name))
	})
}

func (s *source) list(n *yaml.Node, v reflect.Value, key string) error {
	if n.Kind != yaml.SequenceNode {
		return s.wrongKind(n, v, key)
	}
	out := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		if err := s.decode(item, out.Index(i), fmt.Sprintf("%s[%d]", key, i)); err != nil {
			return err
		}
	}
	v.Set(out)
	s.record(key, n.Line)
	return nil
}

// mapping adds the entries of n to the map v, keeping entries n does not name.
func (s *source) mapping(n *yaml.Node, v reflect.Value, key string) error {
	if n.Kind != yaml.MappingNode {
		return s.wrongKind(n, v, key)
	}
	return s.pairs(n, key, func(k, val *yaml.Node) error {
		return setEntry(v, k.Value, func(e reflect.Value) error {
			return s.decode(val, e, join(key, k.Value))
		})
	})
}

// setEntry updates the entry name of map m through fn, which starts from
// the entry's current value (the zero value if there is none).
func setEntry(m reflect.Value, name string, fn func(reflect.Value) error) error {
	if m.IsNil() {
		m.Set(reflect.MakeMap(m.Type()))
	}
	k := reflect.ValueOf(name).Convert(m.Type().Key())
	e := reflect.New(m.Type().Elem()).Elem()
	if old := m.MapIndex(k); old.IsValid() {
		e.Set(old)
	}
	if err := fn(e); err != nil {
		return err
	}
	m.SetMapIndex(k, e)
	return nil
}

// pairs calls fn for each key and value of mapping n, rejecting duplicate
// and non-string keys. Merge keys (<<) are applied first so that keys
// written out override them, as YAML says.
func (s *source) pairs(n *yaml.Node, key string, fn func(k, v *yaml.Node) error) error {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if isMerge(n.Content[i]) {
			if err := s.merge(n.Content[i+1], key, fn); err != nil {
				return err
			}
		}
	}
	first := make(map[string]int)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if isMerge(k) {
			continue
		}
		if k.Kind != yaml.ScalarNode {
			problem := "keys must be strings, not " + nodeWord(k)
			return s.fail(k.Line, &FieldError{Key: key, Problem: problem})
		}
		if line, dup := first[k.Value]; dup {
			return s.fail(k.Line, fmt.Errorf("duplicate key %q (first on line %d)", join(key, k.Value), line))
		}
		first[k.Value] = k.Line
		if err := fn(k, val); err != nil {
			return err
		}
	}
	return nil
}

func isMerge(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Value == "<<" && k.ShortTag() == "!!merge"
}

// merge applies the mappings of a merge key, earlier ones winning.
func (s *source) merge(n *yaml.Node, key string, fn func(k, v *yaml.Node) error) error {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		items = n.Content
	}
	for i := len(items) - 1; i >= 0; i-- {
		m := items[i]
		for m.Kind == yaml.AliasNode {
			m = m.Alias
		}
		if m.Kind != yaml.MappingNode {
			return s.fail(m.Line, errMerge)
		}
		if err := s.pairs(m, key, fn); err != nil {
			return err
		}
	}
	return nil
}

var errMerge = errors.New("a merge key (<<) takes a mapping or a list of mappings")
