package cinder

import "github.com/gostack/gostack/kit/pyjson"

// mustJSON parses text known to be JSON (the schemas).
func mustJSON(text string) *pyjson.Value {
	v, err := pyjson.Parse([]byte(text))
	if err != nil {
		panic("cinder: bad JSON: " + err.Error())
	}
	return v
}

// boolOf is a schema-checked boolean (parameter_types.boolean: true,
// false or one of its strings) as Cinder reads it.
func boolOf(v *pyjson.Value) bool {
	if v.Kind == '"' {
		b, _ := pyjson.Bool(v.Text)
		return b
	}
	return v.Kind == 't'
}
