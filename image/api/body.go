package api

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

// maxBody bounds request bodies.
const maxBody = 1 << 20

// readBody reads a JSON body as Glance's JSONRequestDeserializer does: an
// object or an array; anything else (null, a string, a number) is
// Glance's 400. Glance parses the body as JSON whatever its Content-Type
// says, so DecodeJSON does not check it (PATCH checks its own types).
func readBody(w http.ResponseWriter, r *http.Request) (json.RawMessage, error) {
	var raw json.RawMessage
	if err := httpapi.DecodeJSON(w, r, &raw, httpapi.MaxBytes(maxBody), httpapi.AnyMediaType()); err != nil {
		return nil, err
	}
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 || (raw[0] != '{' && raw[0] != '[') {
		return nil, fault.New(fault.BadRequest, "Unexpected body type. Expected list/dict.")
	}
	return raw, nil
}

// readObject is readBody for calls whose body must be an object; an
// array is answered with notArray, the call's own message.
func readObject(w http.ResponseWriter, r *http.Request, notArray func(json.RawMessage) error) (map[string]json.RawMessage, error) {
	raw, err := readBody(w, r)
	if err != nil {
		return nil, err
	}
	if raw[0] != '{' {
		return nil, notArray(raw)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fault.Invalid("", "Malformed JSON in request body.")
	}
	return m, nil
}

// readArray is readBody for PATCH: an array of objects.
func readArray(w http.ResponseWriter, r *http.Request) ([]map[string]json.RawMessage, error) {
	raw, err := readBody(w, r)
	if err != nil {
		return nil, err
	}
	var elems []json.RawMessage
	if raw[0] != '[' || json.Unmarshal(raw, &elems) != nil {
		return nil, fault.Invalid("", "Request body must be a JSON array of operation objects.")
	}
	out := make([]map[string]json.RawMessage, len(elems))
	for i, e := range elems {
		if len(e) == 0 || e[0] != '{' || json.Unmarshal(e, &out[i]) != nil {
			return nil, fault.Invalid("", "Operations must be JSON objects.")
		}
	}
	return out, nil
}
