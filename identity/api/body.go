package api

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"reflect"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

// maxBody is Keystone's request size limit: oslo.middleware's sizelimit
// (max_request_body_size, 114688 bytes) in front of every Keystone call.
const maxBody = 114688

// decode reads a request body with Keystone's size limit and its media
// type rule: JSON, or no Content-Type at all.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	return httpapi.DecodeJSON(w, r, v, httpapi.MaxBytes(maxBody), httpapi.AllowMissingMediaType())
}

// decodeUpdate is decode for a PATCH body whose resource object is under
// key: Keystone's update schemas want at least one member in it
// (minProperties: 1), unknown ones included.
func decodeUpdate(w http.ResponseWriter, r *http.Request, key string, v any) error {
	var raw bytes.Buffer
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.TeeReader(r.Body, &raw), r.Body}
	}
	if err := decode(w, r, v); err != nil {
		return err
	}
	var m map[string]map[string]json.RawMessage
	if json.Unmarshal(raw.Bytes(), &m) == nil && m[key] != nil && len(m[key]) == 0 {
		return fault.Invalid(key, "does not have enough properties: at least one is needed")
	}
	return nil
}

// opt is a member of a request body that may be absent, null or set.
// encoding/json cannot tell null from absent with a pointer, and
// Keystone's schemas refuse null where they want a boolean, a name or a
// list, but take it as "none" for a description or a parent.
type opt[T any] struct {
	Set  bool // the member was present
	Null bool // as null
	V    T
}

func (o *opt[T]) UnmarshalJSON(b []byte) error {
	o.Set = true
	if string(b) == "null" {
		o.Null = true
		return nil
	}
	return json.Unmarshal(b, &o.V)
}

// set copies a present member to dst; null is refused, as Keystone's
// schema refuses it ("None is not of type 'boolean'").
func set[T any](dst *T, o opt[T], field string) error {
	if !o.Set {
		return nil
	}
	if o.Null {
		return fault.Invalid(field, "expected %s, got null", kind(o.V))
	}
	*dst = o.V
	return nil
}

// setNullable copies a present member to dst; null sets the zero value.
func setNullable[T any](dst *T, o opt[T]) {
	if o.Set {
		*dst = o.V
	}
}

// kind names the JSON type of v for messages.
func kind(v any) string {
	switch reflect.TypeOf(v).Kind() {
	case reflect.Bool:
		return "boolean"
	case reflect.String:
		return "string"
	case reflect.Slice:
		return "array"
	}
	return "object"
}

// sameID refuses a PATCH body whose id is not the resource's (Keystone's
// _require_matching_id: "Cannot change ID"). null is no change.
func sameID(o opt[string], id, field string) error {
	if o.Set && !o.Null && o.V != id {
		return fault.Invalid(field, "Cannot change ID")
	}
	return nil
}
