package nova

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/pyrepr"
)

// readBody reads a request body as Nova's wsgi does: a Content-Type
// other than JSON's (a missing one or text/plain is read as JSON) is a
// 415, a body over the limit a 413, one that is not JSON a 400. Numbers
// are kept exact for the schema checks below, which word their
// refusals as Nova's JSON-schema validation does.
func readBody(w http.ResponseWriter, r *http.Request) (any, error) {
	data, err := readBodyData(w, r)
	if err != nil {
		return nil, err
	}
	return decodeBody(data)
}

// readBodyData is readBody's reading: the body's bytes, the media type
// and size checked.
func readBodyData(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "text/plain" && mt != "application/json" && mt != "application/vnd.openstack.compute+json" {
			return nil, fault.New(fault.UnsupportedMedia, "Unsupported Content-Type")
		}
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, novaBodyLimit))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, fault.New(fault.TooLarge, "Request is too large. Larger than max_request_body_size (%d).", novaBodyLimit)
	}
	return data, err
}

// decodeBody is readBody's decoding of the bytes read.
func decodeBody(data []byte) (any, error) {
	if bytes.Contains(data, []byte(`\u0000`)) {
		return nil, badRequest("request body has a NUL character (\\u0000) in a string")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return nil, badRequest("Malformed request body")
	}
	return v, nil
}

// object is a JSON object under validation; path names it in messages.
type object struct {
	m    map[string]any
	path string
}

// topObject checks that v is an object with exactly the required key
// (Nova's top-level schemas: {"keypair": {...}}) and returns that key's
// object.
func topObject(v any, key string) (object, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return object{}, badRequest("Invalid input for field/attribute . Value: %s. %s is not of type 'object'", py(v), py(v))
	}
	top := object{m: m}
	if err := top.only(key); err != nil {
		return object{}, err
	}
	if _, ok := m[key]; !ok {
		return object{}, badRequest("'%s' is a required property", key)
	}
	inner, ok := m[key].(map[string]any)
	if !ok {
		return object{}, badRequest("Invalid input for field/attribute %s. Value: %s. %s is not of type 'object'", key, py(m[key]), py(m[key]))
	}
	return object{m: inner, path: key}, nil
}

// only refuses keys other than allowed (additionalProperties: false).
func (o object) only(allowed ...string) error {
	var extra []string
	for k := range o.m {
		if !slices.Contains(allowed, k) {
			extra = append(extra, k)
		}
	}
	if len(extra) == 0 {
		return nil
	}
	slices.Sort(extra)
	quoted := make([]string, len(extra))
	for i, k := range extra {
		quoted[i] = pyrepr.String(k)
	}
	verb := "was"
	if len(extra) > 1 {
		verb = "were"
	}
	return badRequest("Additional properties are not allowed (%s %s unexpected)", strings.Join(quoted, ", "), verb)
}

// required refuses a missing key.
func (o object) required(keys ...string) error {
	for _, k := range keys {
		if _, ok := o.m[k]; !ok {
			return badRequest("Invalid input for field/attribute %s. Value: %s. '%s' is a required property", o.path, py(o.m), k)
		}
	}
	return nil
}

// str returns key's string value (ok false when absent); a value of
// another type is refused.
func (o object) str(key string) (string, bool, error) {
	v, present := o.m[key]
	if !present {
		return "", false, nil
	}
	s, isStr := v.(string)
	if !isStr {
		return "", false, badRequest("Invalid input for field/attribute %s. Value: %s. %s is not of type 'string'", key, py(v), py(v))
	}
	return s, true, nil
}

// py renders a JSON value as Python prints it in jsonschema's messages.
func py(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case string:
		return pyrepr.String(x)
	case json.Number:
		return x.String()
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = py(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = pyrepr.String(k) + ": " + py(x[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v)
}
