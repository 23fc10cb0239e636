package cinder

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/pyjson"
)

// bodyLimit is oslo.middleware's max_request_body_size, which Cinder's
// pipeline applies before anything else.
const bodyLimit = 114688

// errNoBody is what Cinder answers when a method that needs a body was
// called without one (a TypeError in its controller: webob's 400).
var errNoBody = badRequest("The server could not comply with the request since it is either malformed or otherwise incorrect.")

// readBody reads a request body as Cinder's wsgi Resource does: an empty
// body or one without a Content-Type is no body (nil); a Content-Type
// other than JSON's is a 415, a body over the limit a 413, one that is
// not JSON a 400. The value keeps its keys' order for the schema
// messages.
func readBody(w http.ResponseWriter, r *http.Request) (*pyjson.Value, error) {
	data, err := readBodyData(w, r)
	if err != nil || data == nil {
		return nil, err
	}
	v, err := pyjson.Parse(data)
	if err != nil {
		return nil, badRequest("Malformed request body")
	}
	return v, nil
}

// readBodyData is readBody's reading: the body's bytes (nil when there
// is no body for Cinder), the media type and size checked.
func readBodyData(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > bodyLimit {
		return nil, fault.New(fault.TooLarge, "Request is too large. Larger than max_request_body_size (%d).", bodyLimit)
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, bodyLimit))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, fault.New(fault.TooLarge, "Request is too large. Larger than %d.", bodyLimit)
	}
	if err != nil {
		return nil, err
	}
	ct := r.Header.Get("Content-Type")
	if len(data) == 0 || ct == "" {
		return nil, nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" && mt != "application/vnd.openstack.volume+json" {
		return nil, fault.New(fault.UnsupportedMedia, "Unsupported Content-Type")
	}
	if bytes.Contains(data, []byte(`\u0000`)) {
		return nil, badRequest("request body has a NUL character (\\u0000) in a string")
	}
	return data, nil
}

// readAction reads the body of a POST .../action as Cinder's
// action_peek_json does: its one key names the action.
func readAction(w http.ResponseWriter, r *http.Request) (string, *pyjson.Value, error) {
	v, err := readBody(w, r)
	switch {
	case err != nil:
		return "", nil, err
	case v == nil:
		return "", nil, noSuchAction("None")
	}
	switch {
	case v.Kind == '{' && len(v.Keys) == 1:
		return v.Keys[0], v, nil
	case v.Kind == '{' || (v.Kind == '[' || v.Kind == '"') && v.Len() != 1:
		return "", nil, badRequest("Malformed request body")
	}
	// Not a dict: Python fails on keys() or len(), which Cinder answers
	// with a 404.
	return "", nil, notFound("The resource could not be found.")
}

func noSuchAction(name string) error {
	return badRequest("There is no such action: %s. Verify the request body and Content-Type header and try again.", name)
}
