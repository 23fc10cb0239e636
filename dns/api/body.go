package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

// access is what a request body may do with a field of a resource, as
// the MODIFICATIONS of Designate's API_v2 adapters say.
type access uint8

const (
	readOnly  access = iota // only its current value (null on create)
	writable                // any value of the field's type
	immutable               // set on create, its current value after
)

// schema is a resource's fields in request bodies. Any other key is
// refused, as the adapters refuse keys they do not list.
type schema struct {
	resource string // Designate's resource_name: "zone", "recordset"
	fields   map[string]access
}

// object is a request body: a JSON object of a resource.
type object struct {
	resource string
	raw      map[string]json.RawMessage
}

// jsonTypes are the media types Designate reads a body in
// (designate/api/v2/patches.py JSON_TYPES); others are 415.
var jsonTypes = httpapi.MediaTypes("application/json", "application/json-patch+json")

// invalidObject is Designate's InvalidObject (400 invalid_object).
func invalidObject(field, format string, args ...any) error {
	return &fault.Error{Kind: fault.BadRequest, Type: "invalid_object", Field: field, Message: fmt.Sprintf(format, args...)}
}

// decode reads the body as an object of s's resource and checks its keys
// against s. current is the resource as rendered (nil on create):
// read-only and, after create, immutable fields must keep its values.
func decode(w http.ResponseWriter, r *http.Request, s schema, current map[string]any) (object, error) {
	raw, err := decodeObject(w, r)
	if err != nil {
		return object{}, err
	}
	return s.object(raw, current)
}

// object checks the keys of a body already read, as decode does.
func (s schema) object(raw map[string]json.RawMessage, current map[string]any) (object, error) {
	var bad []string
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		acc, known := s.fields[k]
		switch {
		case !known:
			bad = append(bad, k)
		case acc == readOnly || (acc == immutable && current != nil):
			if !sameJSON(raw[k], current[k]) {
				bad = append(bad, k)
			}
		}
	}
	if len(bad) > 0 {
		quoted := make([]string, len(bad))
		for i, k := range bad {
			quoted[i] = "'" + k + "'"
		}
		return object{}, invalidObject(bad[0], "Provided object does not match schema. Keys [%s] are not valid for %s",
			strings.Join(quoted, ", "), s.resource)
	}
	return object{resource: s.resource, raw: raw}, nil
}

// decodeObject reads a JSON object body of at most maxBody bytes
// (Designate's InvalidJson for anything else, tooLarge beyond it).
func decodeObject(w http.ResponseWriter, r *http.Request) (map[string]json.RawMessage, error) {
	var raw map[string]json.RawMessage
	if err := httpapi.DecodeJSON(w, r, &raw, httpapi.MaxBytes(maxBody), jsonTypes); err != nil {
		if e, ok := err.(*fault.Error); ok && e.Kind == fault.BadRequest && e.Type == "" {
			e.Type = "invalid_json"
		} else if ok && e.Kind == fault.TooLarge {
			return nil, tooLarge(maxBody)
		}
		return nil, err
	}
	if raw == nil {
		return nil, &fault.Error{Kind: fault.BadRequest, Type: "invalid_json", Message: "request body must be a JSON object"}
	}
	return raw, nil
}

// tooLarge answers a body over limit bytes. Designate reads any body
// whole (its API pipeline has no size limit) and answers it by its
// content; gostack stops reading at limit, set above the largest body
// Designate's default quotas let it accept (see maxBody), with a 413
// of its own.
func tooLarge(limit int64) error {
	return &fault.Error{Kind: fault.TooLarge, Type: "request_body_too_large",
		Message: fmt.Sprintf("Request is too large: the body is over %d bytes", limit)}
}

// sameJSON reports whether raw is, as JSON, the value v (nil when absent).
func sameJSON(raw json.RawMessage, v any) bool {
	var got any
	if err := json.Unmarshal(raw, &got); err != nil {
		return false
	}
	b, err := json.Marshal(v)
	if err != nil {
		return false
	}
	var want any
	if err := json.Unmarshal(b, &want); err != nil {
		return false
	}
	return reflect.DeepEqual(got, want)
}

func (o object) has(k string) bool {
	_, ok := o.raw[k]
	return ok
}

func (o object) isNull(k string) bool {
	return bytes.Equal(bytes.TrimSpace(o.raw[k]), []byte("null"))
}

// typeError is jsonschema's "<value> is not of type '<type>'".
func (o object) typeError(k, typ string) error {
	return invalidObject(k, "%s is not of type '%s'", bytes.TrimSpace(o.raw[k]), typ)
}

func required(k string) error {
	return invalidObject(k, "'%s' is a required property", k)
}

// str reads a string field; null is "" when nullable.
func (o object) str(k string, nullable bool) (string, error) {
	if nullable && o.isNull(k) {
		return "", nil
	}
	s, ok := jsonString(o.raw[k])
	if !ok {
		return "", o.typeError(k, "string")
	}
	return s, nil
}

// jsonString decodes a JSON string (not null).
func jsonString(raw json.RawMessage) (string, bool) {
	var s *string
	if err := json.Unmarshal(raw, &s); err != nil || s == nil {
		return "", false
	}
	return *s, true
}

// requiredStr reads a string field that must be there.
func (o object) requiredStr(k string) (string, error) {
	if !o.has(k) {
		return "", required(k)
	}
	return o.str(k, false)
}

// integer reads an integer field (a JSON number without a fraction); null
// is nil when nullable.
func (o object) integer(k string, nullable bool) (*int, error) {
	if nullable && o.isNull(k) {
		return nil, nil
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(o.raw[k]))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, o.typeError(k, "integer")
	}
	n, ok := v.(json.Number)
	if !ok {
		return nil, o.typeError(k, "integer")
	}
	i, err := strconv.ParseInt(n.String(), 10, 32)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			if strings.HasPrefix(n.String(), "-") {
				return nil, invalidObject(k, "%s is less than the minimum of -2147483648", n)
			}
			return nil, invalidObject(k, "%s is greater than the maximum of 2147483647", n)
		}
		return nil, o.typeError(k, "integer")
	}
	out := int(i)
	return &out, nil
}

// strings reads an array of strings; null is nil when nullable.
func (o object) strings(k string, nullable bool) ([]string, error) {
	if nullable && o.isNull(k) {
		return nil, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(o.raw[k], &items); err != nil || items == nil {
		return nil, o.typeError(k, "array")
	}
	out := make([]string, len(items))
	for i, it := range items {
		s, ok := jsonString(it)
		if !ok {
			return nil, invalidObject(k, "%s is not of type 'string'", bytes.TrimSpace(it))
		}
		out[i] = s
	}
	return out, nil
}

// stringMap reads an object of strings; null is nil when nullable.
func (o object) stringMap(k string, nullable bool) (map[string]string, error) {
	if nullable && o.isNull(k) {
		return nil, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(o.raw[k], &m); err != nil || m == nil {
		return nil, o.typeError(k, "object")
	}
	out := make(map[string]string, len(m))
	for key, v := range m {
		s, ok := jsonString(v)
		if !ok {
			return nil, invalidObject(k, "%s: %s is not of type 'string'", key, bytes.TrimSpace(v))
		}
		out[key] = s
	}
	return out, nil
}

// asMap is a rendered view as a JSON object, for decode's comparisons.
func asMap(v any) map[string]any {
	b, err := json.Marshal(v)
	if err != nil {
		return map[string]any{}
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return map[string]any{}
	}
	return m
}
