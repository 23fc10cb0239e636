package config

import (
	"errors"
	"flag"
	"fmt"
	"reflect"
	"strings"
)

// Set sets the key named by its dotted YAML path, like "log.level", from a
// string, as an env var would. A key below a map leaf names an entry:
// "listen.identity" sets key "identity" of the map "listen".
func Set(cfg any, key, value string) error {
	l, err := newLoader(cfg)
	if err != nil {
		return err
	}
	return l.set(&source{}, key, value)
}

func (l *loader) set(src *source, key, value string) error {
	for i := range l.leaves {
		if lf := &l.leaves[i]; lf.key == key {
			v, _ := lf.value(l.root, true)
			return src.setString(v, key, value)
		}
	}
	var owner *leaf
	for i := range l.leaves {
		lf := &l.leaves[i]
		if lf.kind == kindMap && strings.HasPrefix(key, lf.key+".") && (owner == nil || len(lf.key) > len(owner.key)) {
			owner = lf
		}
	}
	if owner != nil {
		m, _ := owner.value(l.root, true)
		m, _ = indirect(m, true)
		return setEntry(m, key[len(owner.key)+1:], func(e reflect.Value) error {
			return src.setString(e, key, value)
		})
	}
	for _, lf := range l.leaves {
		if strings.HasPrefix(lf.key, key+".") {
			problem := fmt.Sprintf("is a section; set one of its keys, like %q", lf.key)
			return src.fail(0, &FieldError{Key: key, Problem: problem})
		}
	}
	return src.fail(0, unknownKey(key))
}

// SetFlag is a flag.Value collecting repeated key=value overrides, like
// -set log.level=debug, for Load to apply after the environment. Bind adds
// named flags, like -data-dir, that feed the same list. The zero value is
// ready to use.
type SetFlag struct {
	name     string
	settings []setting
}

type setting struct{ flag, key, value string }

var _ flag.Value = (*SetFlag)(nil)

// Register adds f to fs as the flag name, so errors can name it. Using
// fs.Var directly works too; errors then call the flag "-set".
func (f *SetFlag) Register(fs *flag.FlagSet, name, usage string) {
	f.name = name
	fs.Var(f, name, usage)
}

// Bind adds the flag -name to fs; giving it a value sets key, as -set
// key=value would. Use BindBool for a switch that takes no value.
func (f *SetFlag) Bind(fs *flag.FlagSet, name, key, usage string) {
	fs.Func(name, usage, func(s string) error {
		f.settings = append(f.settings, setting{flag: "-" + name, key: key, value: s})
		return nil
	})
}

// BindBool adds the switch -name to fs: -name sets key to true and
// -name=false to false.
func (f *SetFlag) BindBool(fs *flag.FlagSet, name, key, usage string) {
	fs.BoolFunc(name, usage, func(s string) error {
		f.settings = append(f.settings, setting{flag: "-" + name, key: key, value: s})
		return nil
	})
}

// Set records one key=value pair; it implements flag.Value.
func (f *SetFlag) Set(s string) error {
	key, value, ok := strings.Cut(s, "=")
	if key = strings.TrimSpace(key); !ok || key == "" {
		return errors.New("want key=value, like log.level=debug")
	}
	name := f.name
	if name == "" {
		name = "set"
	}
	f.settings = append(f.settings, setting{flag: "-" + name, key: key, value: value})
	return nil
}

// String returns the recorded pairs as "key=value" separated by spaces.
func (f *SetFlag) String() string {
	if f == nil {
		return ""
	}
	pairs := make([]string, len(f.settings))
	for i, s := range f.settings {
		pairs[i] = s.key + "=" + s.value
	}
	return strings.Join(pairs, " ")
}

// Apply sets the recorded pairs on cfg in command-line order. Load does
// this itself when given the Flags option.
func (f *SetFlag) Apply(cfg any) error {
	l, err := newLoader(cfg)
	if err != nil {
		return err
	}
	return f.apply(l)
}

func (f *SetFlag) apply(l *loader) error {
	for _, s := range f.settings {
		src := &source{name: "flag " + s.flag, origins: l.origins}
		if err := l.set(src, s.key, s.value); err != nil {
			return err
		}
	}
	return nil
}
