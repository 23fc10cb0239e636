// Package pyjson holds a JSON value as Python's json module reads it,
// for gostack's API packages that answer as OpenStack's Python services
// do (Nova's and Cinder's schema checks): an object keeps its keys in
// order, a key given twice keeps its first place and its last value, a
// number keeps its literal, and the value prints as Python's str() and
// repr() print it, which is what those services' messages show.
//
// What it does not do: it does not validate against a JSON Schema (each
// API keeps the checks its service makes), and it does not write JSON
// as Python's json.dumps does (non-ASCII text is not escaped).
package pyjson
