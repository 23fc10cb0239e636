package api

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"
)

// schemaCheck validates a decoded JSON value against a JSON schema
// (draft 4) as far as Glance's metadef schemas use it: type, enum,
// required, properties, additionalProperties, items, $ref to the
// root's definitions, allOf, minimum, maximum, maxLength, minLength,
// minItems, maxItems, uniqueItems. The error reads as the Python
// jsonschema message Glance quotes.
type schemaCheck struct{ root map[string]any }

func (c schemaCheck) validate(v any) error { return c.check(c.root, v) }

func (c schemaCheck) check(s map[string]any, v any) error {
	if ref, ok := s["$ref"].(string); ok {
		name, _ := strings.CutPrefix(ref, "#/definitions/")
		defs, _ := c.root["definitions"].(map[string]any)
		sub, _ := defs[name].(map[string]any)
		return c.check(sub, v)
	}
	if all, ok := s["allOf"].([]any); ok {
		for _, sub := range all {
			m, _ := sub.(map[string]any)
			if err := c.check(m, v); err != nil {
				return err
			}
		}
	}
	if t, ok := s["type"]; ok && !typeMatches(t, v) {
		return fmt.Errorf("%s is not of type %s", pyRepr(v), typeNames(t))
	}
	if enum, ok := s["enum"].([]any); ok && !slices.ContainsFunc(enum, func(e any) bool { return jsonEqual(e, v) }) {
		return fmt.Errorf("%s is not one of %s", pyRepr(v), pyRepr(enum))
	}
	switch x := v.(type) {
	case string:
		n := utf8.RuneCountInString(x)
		if m, ok := s["maxLength"].(float64); ok && float64(n) > m {
			return fmt.Errorf("%s is too long", pyRepr(v))
		}
		if m, ok := s["minLength"].(float64); ok && float64(n) < m {
			return fmt.Errorf("%s is too short", pyRepr(v))
		}
	case float64:
		if m, ok := s["minimum"].(float64); ok && x < m {
			return fmt.Errorf("%s is less than the minimum of %s", pyRepr(v), pyRepr(m))
		}
		if m, ok := s["maximum"].(float64); ok && x > m {
			return fmt.Errorf("%s is greater than the maximum of %s", pyRepr(v), pyRepr(m))
		}
	case []any:
		if m, ok := s["minItems"].(float64); ok && float64(len(x)) < m {
			return fmt.Errorf("%s is too short", pyRepr(v))
		}
		if m, ok := s["maxItems"].(float64); ok && float64(len(x)) > m {
			return fmt.Errorf("%s is too long", pyRepr(v))
		}
		if u, _ := s["uniqueItems"].(bool); u {
			for i := range x {
				for j := i + 1; j < len(x); j++ {
					if jsonEqual(x[i], x[j]) {
						return fmt.Errorf("%s has non-unique elements", pyRepr(v))
					}
				}
			}
		}
		if items, ok := s["items"].(map[string]any); ok {
			for _, e := range x {
				if err := c.check(items, e); err != nil {
					return err
				}
			}
		}
	case map[string]any:
		return c.checkObject(s, x)
	}
	return nil
}

func (c schemaCheck) checkObject(s, x map[string]any) error {
	props, _ := s["properties"].(map[string]any)
	if req, ok := s["required"].([]any); ok {
		for _, r := range req {
			if _, ok := x[r.(string)]; !ok {
				return fmt.Errorf("%s is a required property", pyRepr(r))
			}
		}
	}
	var extra []string
	for _, k := range sortedKeys(x) {
		if sub, ok := props[k].(map[string]any); ok {
			if err := c.check(sub, x[k]); err != nil {
				return err
			}
			continue
		}
		switch ap := s["additionalProperties"].(type) {
		case bool:
			if !ap {
				extra = append(extra, pyRepr(k))
			}
		case map[string]any:
			if err := c.check(ap, x[k]); err != nil {
				return err
			}
		}
	}
	switch len(extra) {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("Additional properties are not allowed (%s was unexpected)", extra[0])
	}
	return fmt.Errorf("Additional properties are not allowed (%s were unexpected)", strings.Join(extra, ", "))
}

func typeMatches(t, v any) bool {
	if list, ok := t.([]any); ok {
		return slices.ContainsFunc(list, func(e any) bool { return typeMatches(e, v) })
	}
	switch t {
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "number":
		_, ok := v.(float64)
		return ok
	case "integer":
		f, ok := v.(float64)
		return ok && f == math.Trunc(f)
	case "array":
		_, ok := v.([]any)
		return ok
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "null":
		return v == nil
	}
	return true
}

func typeNames(t any) string {
	if list, ok := t.([]any); ok {
		return pyRepr(list)
	}
	return pyRepr(t)
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// pyRepr writes v as Python's repr of the decoded JSON.
func pyRepr(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case string:
		return "'" + strings.ReplaceAll(x, "'", `\'`) + "'"
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return fmt.Sprintf("%d", int64(x))
		}
		return fmt.Sprint(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = pyRepr(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		parts := make([]string, 0, len(x))
		for _, k := range sortedKeys(x) {
			parts = append(parts, pyRepr(k)+": "+pyRepr(x[k]))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v)
}
