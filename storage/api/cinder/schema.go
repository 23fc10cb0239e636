package cinder

import (
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/gostack/gostack/kit/pyjson"
	"github.com/gostack/gostack/kit/pyrepr"
)

// schema is a JSON Schema (draft 4) as Cinder's _SchemaValidator runs
// it (cinder/api/validation/validators.py over jsonschema 4.10): its
// keywords checked in the order the schema lists them, the first error
// the one reported, minimum and maximum compared with the number a
// string holds, and Cinder's formats. Schemas are written as JSON text
// in Cinder's own order (schemas.go), so they read as Cinder's do.
type schema struct {
	src *pyjson.Value
	kws []keyword
}

// keyword is one compiled keyword of a schema.
type keyword func(env *checkEnv, v *pyjson.Value, path []string) *schemaError

// checkEnv is what a validation may ask of the API: the quota
// resources, for Cinder's quota_set format.
type checkEnv struct {
	quotaKey func(string) bool
}

// schemaError is a refusal: the path of the value refused, the value and
// jsonschema's message.
type schemaError struct {
	path   []string
	value  *pyjson.Value
	msg    string
	whole  bool // Cinder shows the message alone
	escape bool // an exception: no anyOf or oneOf catches it
}

// message is the refusal as Cinder words it: the message alone at the
// top, else "Invalid input for field/attribute <last path element>.
// Value: <str(value)>. <message>".
func (e *schemaError) message() string {
	if e.whole || len(e.path) == 0 {
		return e.msg
	}
	return fmt.Sprintf("Invalid input for field/attribute %s. Value: %s. %s", e.path[len(e.path)-1], e.value.Str(), e.msg)
}

// check validates v (nil env: no quota keys known).
func (s *schema) check(env *checkEnv, v *pyjson.Value) error {
	if env == nil {
		env = &checkEnv{}
	}
	if e := s.validate(env, v, nil); e != nil {
		return badRequest("%s", e.message())
	}
	return nil
}

func (s *schema) validate(env *checkEnv, v *pyjson.Value, path []string) *schemaError {
	for _, kw := range s.kws {
		if e := kw(env, v, path); e != nil {
			return e
		}
	}
	return nil
}

// valid reports whether v passes s.
func (s *schema) valid(env *checkEnv, v *pyjson.Value) bool { return s.validate(env, v, nil) == nil }

// compile reads a schema written as JSON. A keyword it does not know is
// a programming error: every keyword Cinder's schemas use is here.
func compile(text string) *schema { return compileValue(mustJSON(text)) }

func compileValue(src *pyjson.Value) *schema {
	s := &schema{src: src}
	for i, k := range src.Keys {
		arg := src.Items[i]
		var kw keyword
		switch k {
		case "type":
			kw = typeKeyword(arg)
		case "properties":
			kw = propertiesKeyword(arg)
		case "patternProperties":
			kw = patternPropertiesKeyword(arg)
		case "additionalProperties":
			kw = additionalKeyword(src, arg)
		case "required":
			kw = requiredKeyword(arg)
		case "minProperties", "maxProperties":
			kw = propertyCountKeyword(k, arg)
		case "minLength", "maxLength":
			kw = lengthKeyword(k, arg)
		case "pattern":
			kw = patternKeyword(arg.Text)
		case "enum":
			kw = enumKeyword(arg)
		case "minimum", "maximum":
			kw = boundKeyword(k, arg, src.Get("exclusiveMinimum"), src.Get("exclusiveMaximum"))
		case "exclusiveMinimum", "exclusiveMaximum":
			continue // read with minimum and maximum
		case "format":
			kw = formatKeyword(arg.Text)
		case "oneOf", "anyOf":
			kw = ofKeyword(k, arg)
		case "items":
			kw = itemsKeyword(arg)
		case "uniqueItems":
			kw = uniqueKeyword(arg)
		default:
			panic("cinder: schema keyword " + k + " not supported")
		}
		s.kws = append(s.kws, kw)
	}
	return s
}

func typeKeyword(arg *pyjson.Value) keyword {
	types := []string{arg.Text}
	if arg.Kind == '[' {
		types = types[:0]
		for _, t := range arg.Items {
			types = append(types, t.Text)
		}
	}
	quoted := make([]string, len(types))
	for i, t := range types {
		quoted[i] = pyrepr.String(t)
	}
	names := strings.Join(quoted, ", ")
	return func(_ *checkEnv, v *pyjson.Value, path []string) *schemaError {
		if slices.ContainsFunc(types, v.Is) {
			return nil
		}
		return &schemaError{path: path, value: v, msg: v.Repr() + " is not of type " + names}
	}
}

type namedSchema struct {
	name string
	s    *schema
}

func propertiesKeyword(arg *pyjson.Value) keyword {
	props := make([]namedSchema, len(arg.Keys))
	for i, k := range arg.Keys {
		props[i] = namedSchema{k, compileValue(arg.Items[i])}
	}
	return func(env *checkEnv, v *pyjson.Value, path []string) *schemaError {
		if v.Kind != '{' {
			return nil
		}
		for _, p := range props {
			if x := v.Get(p.name); x != nil {
				if e := p.s.validate(env, x, append(slices.Clip(path), p.name)); e != nil {
					return e
				}
			}
		}
		return nil
	}
}

type patternSchema struct {
	re *pyPattern
	s  *schema
}

func patternPropertiesKeyword(arg *pyjson.Value) keyword {
	pats := make([]patternSchema, len(arg.Keys))
	for i, k := range arg.Keys {
		pats[i] = patternSchema{pyRegexp(k), compileValue(arg.Items[i])}
	}
	return func(env *checkEnv, v *pyjson.Value, path []string) *schemaError {
		if v.Kind != '{' {
			return nil
		}
		for _, p := range pats {
			for i, k := range v.Keys {
				if p.re.match(k) {
					if e := p.s.validate(env, v.Items[i], append(slices.Clip(path), k)); e != nil {
						return e
					}
				}
			}
		}
		return nil
	}
}

// additionalKeyword is additionalProperties: false (true allows all).
func additionalKeyword(src, arg *pyjson.Value) keyword {
	if arg.Kind != 'f' {
		return func(*checkEnv, *pyjson.Value, []string) *schemaError { return nil }
	}
	var known []string
	if p := src.Get("properties"); p != nil {
		known = p.Keys
	}
	var pats []*pyPattern
	var patNames []string
	if pp := src.Get("patternProperties"); pp != nil {
		for _, k := range pp.Keys {
			pats = append(pats, pyRegexp(k))
			patNames = append(patNames, pyrepr.String(k))
		}
		slices.Sort(patNames)
	}
	return func(_ *checkEnv, v *pyjson.Value, path []string) *schemaError {
		if v.Kind != '{' {
			return nil
		}
		var extra []string
		for _, k := range v.Keys {
			if slices.Contains(known, k) || slices.ContainsFunc(pats, func(p *pyPattern) bool { return p.match(k) }) {
				continue
			}
			extra = append(extra, k)
		}
		if len(extra) == 0 {
			return nil
		}
		slices.Sort(extra) // jsonschema sorts them
		quoted := make([]string, len(extra))
		for i, k := range extra {
			quoted[i] = pyrepr.String(k)
		}
		e := &schemaError{path: path, value: v}
		if pats != nil {
			verb := map[bool]string{true: "does", false: "do"}[len(extra) == 1]
			e.msg = fmt.Sprintf("%s %s not match any of the regexes: %s", strings.Join(quoted, ", "), verb, strings.Join(patNames, ", "))
		} else {
			verb := map[bool]string{true: "was", false: "were"}[len(extra) == 1]
			e.msg = fmt.Sprintf("Additional properties are not allowed (%s %s unexpected)", strings.Join(quoted, ", "), verb)
		}
		return e
	}
}

func requiredKeyword(arg *pyjson.Value) keyword {
	var names []string
	for _, it := range arg.Items {
		names = append(names, it.Text)
	}
	return func(_ *checkEnv, v *pyjson.Value, path []string) *schemaError {
		if v.Kind != '{' {
			return nil
		}
		for _, n := range names {
			if !v.Has(n) {
				return &schemaError{path: path, value: v, msg: pyrepr.String(n) + " is a required property"}
			}
		}
		return nil
	}
}

func propertyCountKeyword(k string, arg *pyjson.Value) keyword {
	n := mustInt(arg)
	return func(_ *checkEnv, v *pyjson.Value, path []string) *schemaError {
		switch {
		case v.Kind != '{':
		case k == "minProperties" && len(v.Keys) < n:
			return &schemaError{path: path, value: v, msg: v.Repr() + " does not have enough properties"}
		case k == "maxProperties" && len(v.Keys) > n:
			return &schemaError{path: path, value: v, msg: v.Repr() + " has too many properties"}
		}
		return nil
	}
}

func lengthKeyword(k string, arg *pyjson.Value) keyword {
	n := mustInt(arg)
	return func(_ *checkEnv, v *pyjson.Value, path []string) *schemaError {
		if v.Kind != '"' {
			return nil
		}
		switch l := utf8.RuneCountInString(v.Text); {
		case k == "minLength" && l < n:
			return &schemaError{path: path, value: v, msg: v.Repr() + " is too short"}
		case k == "maxLength" && l > n:
			return &schemaError{path: path, value: v, msg: v.Repr() + " is too long"}
		}
		return nil
	}
}

func patternKeyword(src string) keyword {
	p := pyRegexp(src)
	return func(_ *checkEnv, v *pyjson.Value, path []string) *schemaError {
		if v.Kind != '"' || p.match(v.Text) {
			return nil
		}
		return &schemaError{path: path, value: v, msg: v.Repr() + " does not match " + pyrepr.String(p.src())}
	}
}

func enumKeyword(arg *pyjson.Value) keyword {
	return func(_ *checkEnv, v *pyjson.Value, path []string) *schemaError {
		if slices.ContainsFunc(arg.Items, v.Equal) {
			return nil
		}
		return &schemaError{path: path, value: v, msg: v.Repr() + " is not one of " + arg.Repr()}
	}
}

// boundKeyword is Cinder's minimum and maximum: the value's number
// (a string's too) against the bound, draft 4's exclusive flags read.
func boundKeyword(k string, arg, exclMin, exclMax *pyjson.Value) keyword {
	bound, _ := new(big.Float).SetString(arg.Text)
	if bound == nil {
		panic("cinder: bad schema bound " + arg.Text)
	}
	exclusive := (k == "minimum" && exclMin != nil && exclMin.Kind == 't') || (k == "maximum" && exclMax != nil && exclMax.Kind == 't')
	text := arg.Repr()
	return func(_ *checkEnv, v *pyjson.Value, path []string) *schemaError {
		n, shown, ok := v.Number()
		if !ok {
			return nil
		}
		c := n.Cmp(bound)
		switch {
		case k == "minimum" && (c < 0 || exclusive && c == 0):
			if exclusive {
				return &schemaError{path: path, value: v, msg: shown + " is less than or equal to the minimum of " + text}
			}
			return &schemaError{path: path, value: v, msg: shown + " is less than the minimum of " + text}
		case k == "maximum" && (c > 0 || exclusive && c == 0):
			if exclusive {
				return &schemaError{path: path, value: v, msg: shown + " is greater than or equal to the maximum of " + text}
			}
			return &schemaError{path: path, value: v, msg: shown + " is greater than the maximum of " + text}
		}
		return nil
	}
}

func ofKeyword(k string, arg *pyjson.Value) keyword {
	subs := make([]*schema, len(arg.Items))
	for i, it := range arg.Items {
		subs[i] = compileValue(it)
	}
	return func(env *checkEnv, v *pyjson.Value, path []string) *schemaError {
		var valid []*schema
		for _, s := range subs {
			e := s.validate(env, v, path)
			if e != nil && e.escape {
				return e // a format checker's exception escapes at once
			}
			if e == nil {
				valid = append(valid, s)
				if k == "anyOf" {
					break
				}
			}
		}
		switch {
		case len(valid) == 0:
			return &schemaError{path: path, value: v, msg: v.Repr() + " is not valid under any of the given schemas"}
		case len(valid) > 1:
			reprs := make([]string, 0, len(valid))
			for _, s := range append(valid[1:], valid[0]) {
				reprs = append(reprs, s.src.Repr())
			}
			return &schemaError{path: path, value: v, msg: v.Repr() + " is valid under each of " + strings.Join(reprs, ", ")}
		}
		return nil
	}
}

// itemsKeyword is draft 4's items with one schema for every item.
func itemsKeyword(arg *pyjson.Value) keyword {
	item := compileValue(arg)
	return func(env *checkEnv, v *pyjson.Value, path []string) *schemaError {
		if v.Kind != '[' {
			return nil
		}
		for i, it := range v.Items {
			if e := item.validate(env, it, append(slices.Clip(path), strconv.Itoa(i))); e != nil {
				return e
			}
		}
		return nil
	}
}

// uniqueKeyword is uniqueItems: true.
func uniqueKeyword(arg *pyjson.Value) keyword {
	return func(_ *checkEnv, v *pyjson.Value, path []string) *schemaError {
		if arg.Kind != 't' || v.Kind != '[' {
			return nil
		}
		for i, a := range v.Items {
			for _, b := range v.Items[:i] {
				if a.Equal(b) {
					return &schemaError{path: path, value: v, msg: v.Repr() + " has non-unique elements"}
				}
			}
		}
		return nil
	}
}

func mustInt(v *pyjson.Value) int {
	n, ok := pyjson.Int(v.Text)
	if v.Kind != '0' || !ok {
		panic("cinder: schema count " + v.Text)
	}
	return int(n.Int64())
}

// pyPattern is a Python regular expression searched for: src as Cinder
// wrote it, match as Python's re.search matches it.
type pyPattern struct {
	src   func() string
	match func(string) bool
}

// printable is the name schemas.go gives Cinder's
// valid_description_regex, which Cinder builds from Python's Unicode
// tables.
const printable = "<printable>"

// pyRegexp is an anchored pattern that Go's regexp reads as Python's re
// does (Python's $ also matches before a final newline), or Cinder's
// description pattern.
func pyRegexp(src string) *pyPattern {
	if src == printable {
		return descriptionPattern
	}
	re := regexp.MustCompile(src)
	return &pyPattern{src: func() string { return src }, match: func(s string) bool {
		return re.MatchString(s) || strings.HasSuffix(s, "\n") && re.MatchString(s[:len(s)-1])
	}}
}

// pyPrintable is Cinder's _is_printable over the characters its
// description regex spans (below U+FFFF): letters, marks, numbers,
// punctuation, symbols and space separators.
func pyPrintable(r rune) bool {
	return r < 0xFFFF && (unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S) || unicode.Is(unicode.Zs, r))
}

// descriptionPattern is Cinder's valid_description_regex: printable
// characters. Its text is built as Cinder builds it, from Go's Unicode
// tables (Python 3.11's are older).
var descriptionPattern = &pyPattern{src: sync.OnceValue(printableRanges), match: func(s string) bool {
	return !strings.ContainsFunc(strings.TrimSuffix(s, "\n"), func(r rune) bool { return !pyPrintable(r) })
}}

// printableRanges is '^[%s]*$' % _build_regex_range(), re.escape'd as
// Python 3.11 escapes.
func printableRanges() string {
	var b strings.Builder
	esc := func(r rune) {
		if strings.ContainsRune("()[]{}?*+-|^$\\.&~# \t\n\r\v\f", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteString("^[")
	in, lastAdded := false, rune(-1)
	for c := rune(0); c < 0xFFFF; c++ {
		if pyPrintable(c) {
			if !in {
				esc(c)
				lastAdded = c
			}
			in = true
			continue
		}
		if in && c-1 != lastAdded {
			b.WriteByte('-')
			esc(c - 1)
		}
		in = false
	}
	if in && 0xFFFE != lastAdded {
		b.WriteByte('-')
		esc(0xFFFE)
	}
	b.WriteString("]*$")
	return b.String()
}
