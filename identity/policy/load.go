package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"

	"gopkg.in/yaml.v3"
)

// LoadFile reads a policy file (YAML or JSON) and applies it as Load does.
func (e *Enforcer) LoadFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("policy: load: %w", err)
	}
	if err := e.Load(data); err != nil {
		return fmt.Errorf("policy: load %s: %w", path, err)
	}
	return nil
}

// Load applies a policy file's contents: a YAML or JSON mapping from rule
// name to rule, where a rule is a string in the policy language, a list of
// lists (see ParseList), or null (always true, as in oslo.policy). The
// rules override the registered defaults of the same name and may define
// further rules for rule: references. Each Load replaces the overrides of
// the previous one, as oslo.policy reloads a changed policy file; an empty
// document removes them all.
//
// A rule that does not parse fails closed (it is false) and is reported in
// the returned error, as is anything Enforce cannot evaluate (see
// Register); the other rules still apply. If the document itself cannot
// be decoded, nothing changes.
func (e *Enforcer) Load(data []byte) error {
	doc, err := decodeDocument(data)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(doc))
	for name := range doc {
		names = append(names, name)
	}
	sort.Strings(names)
	var errs []error
	overrides := make(map[string]*node, len(doc))
	for _, name := range names {
		c, text, err := parseValue(doc[name])
		overrides[name] = c.root
		if err == nil {
			err = errors.Join(unsupported(text, c.root)...)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("rule %q: %w", name, err))
		}
	}
	e.mu.Lock()
	e.overrides = overrides
	e.publish()
	e.mu.Unlock()
	return errors.Join(errs...)
}

// decodeDocument decodes JSON, or else YAML, as oslo.policy's
// parse_file_contents does, into a mapping of rule names.
func decodeDocument(data []byte) (map[string]any, error) {
	var doc any
	if json.Valid(data) {
		if err := json.Unmarshal(data, &doc); err != nil {
			return nil, fmt.Errorf("policy: decode JSON: %w", err)
		}
	} else if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("policy: decode YAML: %w", err)
	}
	switch d := doc.(type) {
	case nil:
		return map[string]any{}, nil
	case map[string]any:
		return d, nil
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return map[string]any{}, nil
	}
	return nil, fmt.Errorf("policy: a policy file must be a mapping of rule names to rules, not %T", doc)
}

// parseValue parses one rule value from a policy file and returns it with
// a text form for error messages.
func parseValue(v any) (Check, string, error) {
	switch v := v.(type) {
	case nil:
		return Check{trueNode}, "", nil
	case string:
		c, err := Parse(v)
		return c, v, err
	case []any:
		text := fmt.Sprint(v)
		list, warn, err := toList(v)
		if err != nil {
			return Check{falseNode}, text, err
		}
		c, err := ParseList(list)
		return c, text, errors.Join(warn, err)
	}
	return Check{falseNode}, fmt.Sprint(v), fmt.Errorf("policy: a rule must be a string or a list of lists, not %T; it is always false", v)
}

// toList converts a decoded list-of-lists rule. Like oslo.policy it skips
// empty and null entries and treats a bare string as a one-check list; a
// non-string check becomes "", which is false in place (oslo cannot split
// it and fails it closed) and is reported in warn. An entry that is
// neither a string nor a list is an error: the whole rule is false.
func toList(v []any) (out [][]string, warn, err error) {
	var errs []error
	for _, item := range v {
		switch item := item.(type) {
		case nil:
			out = append(out, nil) // skipped by ParseList, as by oslo
		case string:
			if item == "" {
				out = append(out, nil)
			} else {
				out = append(out, []string{item})
			}
		case []any:
			inner := make([]string, len(item))
			for i, c := range item {
				s, ok := c.(string)
				if !ok {
					errs = append(errs, fmt.Errorf("policy: check %v is not a string; it is always false", c))
				}
				inner[i] = s
			}
			out = append(out, inner)
		default:
			return nil, nil, fmt.Errorf("policy: list rule entry %v is neither a string nor a list; the rule is always false", item)
		}
	}
	return out, errors.Join(errs...), nil
}
