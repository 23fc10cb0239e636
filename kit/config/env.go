package config

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// env applies PREFIX_<PATH> variables to every leaf, then
// PREFIX_<PATH>_<KEY> variables to the entries of map leaves.
func (l *loader) env(o *options) error {
	claimed := make(map[string]string, len(l.leaves)) // var → key
	for _, lf := range l.leaves {
		name := o.prefix + "_" + lf.env
		if other, dup := claimed[name]; dup {
			return fmt.Errorf("config: env %s would set both %q and %q", name, other, lf.key)
		}
		claimed[name] = lf.key
	}
	for i := range l.leaves {
		lf := &l.leaves[i]
		name := o.prefix + "_" + lf.env
		if s, ok := o.lookup(name); ok {
			v, _ := lf.value(l.root, true)
			src := &source{name: "env " + name, origins: l.origins}
			if err := src.setString(v, lf.key, s); err != nil {
				return err
			}
		}
	}
	var all []string
	if o.names != nil {
		all = o.names()
	}
	for i := range l.leaves {
		if l.leaves[i].kind == kindMap {
			if err := l.envEntries(o, &l.leaves[i], all, claimed); err != nil {
				return err
			}
		}
	}
	return nil
}

// envEntries sets entries of map leaf lf from PREFIX_<PATH>_<KEY>: one
// variable for each key the map already has, and each variable in all
// that no other leaf or longer map path claims. New keys are lowercased.
func (l *loader) envEntries(o *options, lf *leaf, all []string, claimed map[string]string) error {
	base := o.prefix + "_" + lf.env + "_"
	vars := make(map[string]string) // var → entry name
	if m, ok := lf.value(l.root, false); ok {
		if m, ok = indirect(m, false); ok {
			for it := m.MapRange(); it.Next(); {
				vars[base+envName(it.Key().String())] = it.Key().String()
			}
		}
	}
	for _, name := range all {
		if _, known := vars[name]; known || !strings.HasPrefix(name, base) || len(name) == len(base) {
			continue
		}
		if l.mapOwner(o.prefix, name) == lf {
			vars[name] = strings.ToLower(name[len(base):])
		}
	}
	names := make([]string, 0, len(vars))
	for name := range vars {
		if _, isLeaf := claimed[name]; !isLeaf {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		s, ok := o.lookup(name)
		if !ok {
			continue
		}
		m, _ := lf.value(l.root, true)
		m, _ = indirect(m, true)
		src := &source{name: "env " + name, origins: l.origins}
		err := setEntry(m, vars[name], func(e reflect.Value) error {
			return src.setString(e, join(lf.key, vars[name]), s)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// mapOwner returns the map leaf with the longest env path that is a
// prefix of the variable name.
func (l *loader) mapOwner(prefix, name string) *leaf {
	var best *leaf
	for i := range l.leaves {
		lf := &l.leaves[i]
		base := prefix + "_" + lf.env + "_"
		if lf.kind == kindMap && strings.HasPrefix(name, base) && (best == nil || len(lf.env) > len(best.env)) {
			best = lf
		}
	}
	return best
}
