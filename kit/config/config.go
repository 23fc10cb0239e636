package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"reflect"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Validator is implemented by config structs that check themselves. Load
// calls Validate once every override is applied. Return a *FieldError, or
// several joined with errors.Join, so the message names the bad key.
type Validator interface {
	Validate() error
}

// Option changes where Load looks for overrides.
type Option func(*options)

type options struct {
	prefix string
	lookup func(string) (string, bool)
	names  func() []string // names of all env vars, to find map entries
	flags  *SetFlag
	checks []func() error
}

// EnvPrefix turns on environment overrides: the leaf "log.format" is read
// from PREFIX_LOG_FORMAT. A trailing "_" in prefix is dropped. Without
// this option Load ignores the environment.
func EnvPrefix(prefix string) Option {
	return func(o *options) { o.prefix = strings.TrimSuffix(prefix, "_") }
}

// Env replaces os.LookupEnv. A lookup function cannot list variables, so
// with Env a map field only takes variables for keys it already has;
// use Environ to let the environment add keys as well.
func Env(lookup func(string) (string, bool)) Option {
	return func(o *options) { o.lookup, o.names = lookup, nil }
}

// Environ replaces the process environment with env, a list of
// "NAME=value" strings like os.Environ returns; the last of a name wins.
func Environ(env []string) Option {
	env = slices.Clone(env)
	vars := make(map[string]string, len(env))
	for _, kv := range env {
		if name, value, ok := strings.Cut(kv, "="); ok {
			vars[name] = value
		}
	}
	return func(o *options) {
		o.lookup = func(name string) (string, bool) { v, ok := vars[name]; return v, ok }
		o.names = func() []string { return envNames(env) }
	}
}

// Flags applies the key=value pairs collected by f after the environment,
// so flags win over everything else.
func Flags(f *SetFlag) Option {
	return func(o *options) { o.flags = f }
}

// Check adds a validation Load runs after cfg's own Validate method,
// reported the same way (each *FieldError with where its value came
// from). It is for configs without methods of their own, like a struct a
// daemon assembles at run time from its parts' sections.
func Check(fn func() error) Option {
	return func(o *options) { o.checks = append(o.checks, fn) }
}

func envNames(env []string) []string {
	names := make([]string, 0, len(env))
	for _, kv := range env {
		if name, _, ok := strings.Cut(kv, "="); ok {
			names = append(names, name)
		}
	}
	return names
}

// Load fills cfg, a pointer to a struct already holding defaults, from the
// YAML file at path (none if path is empty), then the environment, then
// flags, and finally calls cfg's Validate method if it has one, then the
// Check functions. Errors are
// one line and name the source, the line and the dotted key. On error cfg
// may be partly updated.
func Load(path string, cfg any, opts ...Option) error {
	o := options{
		lookup: os.LookupEnv,
		names:  func() []string { return envNames(os.Environ()) },
	}
	for _, opt := range opts {
		opt(&o)
	}
	l, err := newLoader(cfg)
	if err != nil {
		return err
	}
	if path != "" {
		if err := l.file(path); err != nil {
			return err
		}
	}
	if o.prefix != "" {
		if err := l.env(&o); err != nil {
			return err
		}
	}
	if o.flags != nil {
		if err := o.flags.apply(l); err != nil {
			return err
		}
	}
	return l.validate(cfg, o.checks)
}

// loader is one Load in progress.
type loader struct {
	root    reflect.Value     // the config struct, addressable
	leaves  []leaf            // every key env vars and flags can set
	origins map[string]string // key → where its value came from
}

func newLoader(cfg any) (*loader, error) {
	root, err := rootOf(cfg, true)
	if err != nil {
		return nil, err
	}
	leaves, err := leavesOf(root.Type())
	if err != nil {
		return nil, err
	}
	return &loader{root: root, leaves: leaves, origins: make(map[string]string)}, nil
}

// file decodes the YAML file at path over the config.
func (l *loader) file(path string) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("config %s: %w", path, fs.ErrNotExist)
	}
	if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
		return fmt.Errorf("config %s: %w", path, pe.Err)
	}
	if err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc, extra yaml.Node
	if err := dec.Decode(&doc); err != nil && err != io.EOF {
		return syntaxError(path, err)
	}
	switch err := dec.Decode(&extra); {
	case err == io.EOF:
	case err != nil:
		return syntaxError(path, err)
	default:
		return fmt.Errorf("config %s: line %d: want one YAML document, found another", path, extra.Line)
	}
	if len(doc.Content) == 0 {
		return nil
	}
	top := doc.Content[0]
	if top.Kind == yaml.ScalarNode && top.ShortTag() == "!!null" {
		return nil
	}
	if top.Kind != yaml.MappingNode {
		return fmt.Errorf("config %s: line %d: top level must be a mapping, not %s", path, top.Line, nodeWord(top))
	}
	src := &source{name: path, file: true, origins: l.origins}
	return src.section(top, l.root, "")
}

// parserProblems are the yaml.v3 parser (not scanner) errors. yaml.v3
// reports their line zero-based; syntaxError adds the missing one.
var parserProblems = []string{
	"did not find expected key",
	"did not find expected node content",
	"did not find expected '-' indicator",
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"did not find expected <document start>",
	"found undefined tag handle",
	"found incompatible YAML document",
	"found duplicate %YAML directive",
	"found duplicate %TAG directive",
}

// syntaxError turns "yaml: line 3: problem" into "config <path>: line 3: problem".
func syntaxError(path string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	var line int
	if n, _ := fmt.Sscanf(msg, "line %d: ", &line); n == 1 {
		problem := msg[strings.Index(msg, ": ")+2:]
		if slices.Contains(parserProblems, problem) {
			msg = fmt.Sprintf("line %d: %s", line+1, problem)
		}
	}
	return fmt.Errorf("config %s: %s", path, msg)
}

// validate calls cfg's Validate method, then the checks, and makes its error one line, each
// *FieldError followed by where the bad value came from.
func (l *loader) validate(cfg any, checks []func() error) error {
	if v, ok := cfg.(Validator); ok {
		checks = append([]func() error{v.Validate}, checks...)
	}
	var err error
	for _, check := range checks {
		if err = check(); err != nil {
			break
		}
	}
	if err == nil {
		return nil
	}
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	msgs := make([]string, 0, len(errs))
	for _, e := range errs {
		msg := strings.ReplaceAll(e.Error(), "\n", "; ")
		if !strings.HasPrefix(msg, "config") {
			msg = "config: " + msg
		}
		if fe := (*FieldError)(nil); errors.As(e, &fe) {
			if from := l.origin(fe.Key); from != "" {
				msg += " (from " + from + ")"
			}
		}
		msgs = append(msgs, msg)
	}
	return &validationError{msg: strings.Join(msgs, "; "), errs: errs}
}

// origin says where key, or the nearest list or map holding it, was set;
// "" if it kept its default.
func (l *loader) origin(key string) string {
	for key != "" {
		if from, ok := l.origins[key]; ok {
			return from
		}
		i := strings.LastIndexAny(key, ".[")
		if i < 0 {
			break
		}
		key = key[:i]
	}
	return ""
}
