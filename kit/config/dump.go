package config

import (
	"bytes"
	"reflect"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Dump renders cfg, a struct or a pointer to one, as YAML that Load reads
// back: keys in declaration order, map keys sorted, nil pointers and
// interfaces left out.
// The value of a field tagged secret:"true", or of anything inside one, is
// printed as "***" unless it is empty.
func Dump(cfg any) ([]byte, error) {
	root, err := rootOf(cfg, false)
	if err != nil {
		return nil, err
	}
	if _, err := leavesOf(root.Type()); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(encode(root, false)); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// encode turns v into a YAML node. The type must have passed leavesOf.
func encode(v reflect.Value, secret bool) *yaml.Node {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
		}
		v = v.Elem()
	}
	kd, err := classify(v.Type())
	if err != nil {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	}
	if secret && kd != kindSection && !v.IsZero() {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "***"}
	}
	switch kd {
	case kindSection:
		return encodeSection(v, secret)
	case kindList:
		n := &yaml.Node{Kind: yaml.SequenceNode}
		if v.Len() == 0 {
			n.Style = yaml.FlowStyle
		}
		for i := range v.Len() {
			n.Content = append(n.Content, encode(v.Index(i), secret))
		}
		return n
	case kindMap:
		n := &yaml.Node{Kind: yaml.MappingNode}
		if v.Len() == 0 {
			n.Style = yaml.FlowStyle
		}
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		for _, k := range keys {
			n.Content = append(n.Content, keyNode(k.String()), encode(v.MapIndex(k), secret))
		}
		return n
	}
	s, tag := formatScalar(v)
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: s}
}

func encodeSection(v reflect.Value, secret bool) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode}
	fields, _ := fieldsOf(v.Type())
	for _, f := range fields {
		fv := v.FieldByIndex(f.index)
		if (fv.Kind() == reflect.Pointer || fv.Kind() == reflect.Interface) && fv.IsNil() {
			continue
		}
		n.Content = append(n.Content, keyNode(f.name), encode(fv, secret || f.secret))
	}
	if len(n.Content) == 0 {
		n.Style = yaml.FlowStyle
	}
	return n
}

func keyNode(name string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: name}
}

// flow renders v as one line of YAML, for the reference table.
func flow(v reflect.Value, secret bool) string {
	n := encode(v, secret)
	n.Style |= yaml.FlowStyle
	b, err := yaml.Marshal(n)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(b), "\n")
}
