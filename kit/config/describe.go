package config

import (
	"io"
	"reflect"
	"strings"
)

// Entry documents one key a daemon reads.
type Entry struct {
	Key     string // dotted YAML path: "log.format"
	Type    string // "string", "int", "duration", "list of string", "map of string"...
	Env     string // the env var that sets it: "GOSTACK_LOG_FORMAT"; "" without a prefix
	Default string // the current value as it would be written; "***" for a set secret
	Help    string // from the field's help:"..." tag
}

// Describe lists the keys of cfg, a struct or a pointer to one, in
// declaration order with their current values as defaults. prefix is the
// env var prefix given to EnvPrefix; "" leaves Env empty. For a map, Env
// shows the per-entry form, like GOSTACK_LISTEN_<KEY>.
func Describe(cfg any, prefix string) ([]Entry, error) {
	root, err := rootOf(cfg, false)
	if err != nil {
		return nil, err
	}
	leaves, err := leavesOf(root.Type())
	if err != nil {
		return nil, err
	}
	prefix = strings.TrimSuffix(prefix, "_")
	entries := make([]Entry, 0, len(leaves))
	for i := range leaves {
		lf := &leaves[i]
		e := Entry{Key: lf.key, Type: typeName(lf.typ), Help: lf.help}
		if prefix != "" {
			e.Env = prefix + "_" + lf.env
			if lf.kind == kindMap {
				e.Env += "_<KEY>"
			}
		}
		v, ok := lf.value(root, false)
		if !ok {
			v = reflect.New(lf.typ).Elem()
		}
		e.Default = defaultString(v, lf)
		entries = append(entries, e)
	}
	return entries, nil
}

func defaultString(v reflect.Value, lf *leaf) string {
	v, ok := indirect(v, false)
	if !ok || v.Kind() == reflect.Interface && v.IsNil() {
		return ""
	}
	if lf.kind != kindScalar {
		return flow(v, lf.secret)
	}
	if lf.secret && !v.IsZero() {
		return "***"
	}
	s, _ := formatScalar(v)
	return s
}

// WriteReference writes the keys of cfg as a Markdown table: key, type,
// default, env var and help. Daemons print it for -help-config and the
// docs are generated from it.
func WriteReference(w io.Writer, cfg any, prefix string) error {
	entries, err := Describe(cfg, prefix)
	if err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("| Key | Type | Default | Environment | Description |\n")
	b.WriteString("|-----|------|---------|-------------|-------------|\n")
	for _, e := range entries {
		b.WriteString("| " + code(e.Key) + " | " + cell(e.Type) + " | " + code(e.Default) +
			" | " + code(e.Env) + " | " + cell(e.Help) + " |\n")
	}
	_, err = io.WriteString(w, b.String())
	return err
}

// cell escapes s for a Markdown table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}

// code writes s as inline code in a table cell; "" stays empty.
func code(s string) string {
	if s == "" {
		return ""
	}
	if strings.Contains(s, "`") {
		return "`` " + cell(s) + " ``"
	}
	return "`" + cell(s) + "`"
}
