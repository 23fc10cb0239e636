package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strings"

	"github.com/gostack/gostack/kit/fault"
)

// DefaultMaxBytes is the request body limit of DecodeJSON: 1 MiB.
const DefaultMaxBytes = 1 << 20

// DecodeOption changes how DecodeJSON reads a body.
type DecodeOption func(*decodeConfig)

type decodeConfig struct {
	maxBytes     int64
	strict       bool
	mediaTypes   []string // nil: JSON as Keystone defines it
	anyMedia     bool
	missingMedia bool
}

// AllowMissingMediaType reads a body that comes without a Content-Type
// as JSON, as Keystone does (keystone/server/flask/request_processing/
// json_body.py); a Content-Type that is present is still checked.
func AllowMissingMediaType() DecodeOption {
	return func(c *decodeConfig) { c.missingMedia = true }
}

// MediaTypes replaces the media types DecodeJSON accepts with exactly
// these (parameters such as charset are allowed on any of them).
func MediaTypes(types ...string) DecodeOption {
	return func(c *decodeConfig) { c.mediaTypes = types }
}

// AnyMediaType skips the Content-Type check, for services whose reference
// parses the body as JSON whatever the header says (Glance).
func AnyMediaType() DecodeOption {
	return func(c *decodeConfig) { c.anyMedia = true }
}

// MaxBytes sets the body limit in bytes; n <= 0 keeps the default.
func MaxBytes(n int64) DecodeOption {
	return func(c *decodeConfig) {
		if n > 0 {
			c.maxBytes = n
		}
	}
}

// Strict rejects JSON object fields that v has no place for.
func Strict() DecodeOption {
	return func(c *decodeConfig) { c.strict = true }
}

// DecodeJSON reads one JSON value from the request body into v. It limits
// the body with http.MaxBytesReader (DefaultMaxBytes unless MaxBytes says
// otherwise), so w is needed to close the connection of a client that
// overruns it.
//
// Errors are *fault.Error values ready for WriteError: TooLarge when the
// body is over the limit; BadRequest for an empty body, malformed JSON (with
// the byte offset), a value of the wrong JSON type (naming the field path
// and the expected type), an unknown field under Strict (naming it), or
// data after the value; UnsupportedMedia when a body comes with a
// Content-Type that is not JSON: application/json or application/*+json
// (Keystone's rule), or exactly one of MediaTypes, unless AnyMediaType.
// A missing Content-Type is refused too, unless AllowMissingMediaType.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any, opts ...DecodeOption) error {
	cfg := decodeConfig{maxBytes: DefaultMaxBytes}
	for _, o := range opts {
		o(&cfg)
	}
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return fault.New(fault.BadRequest, "request body is empty")
	}
	if ct := r.Header.Get("Content-Type"); !cfg.anyMedia && (ct != "" || !cfg.missingMedia) {
		if err := checkMediaType(ct, cfg.mediaTypes); err != nil {
			return err
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, cfg.maxBytes))
	if err != nil {
		return decodeError(err, int64(len(body)))
	}
	if i := nulEscape(body); i >= 0 {
		return fault.New(fault.BadRequest, "request body has a NUL character (\\u0000) in a string at byte offset %d", i)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if cfg.strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return fault.New(fault.BadRequest, "request body is empty")
		}
		return decodeError(err, dec.InputOffset())
	}
	end := dec.InputOffset()
	var extra json.RawMessage
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return fault.New(fault.BadRequest, "request body has data after the JSON value at byte offset %d", end)
	}
	return nil
}

// nulEscape returns the offset of the first \u0000 escape in a JSON text,
// or -1. No name, identifier or value can hold a NUL (PostgreSQL's text
// cannot), so a body with one is refused whole. Backslashes only occur in
// strings, so no string tracking is needed.
func nulEscape(b []byte) int {
	for i := 0; i < len(b)-1; i++ {
		if b[i] != '\\' {
			continue
		}
		if b[i+1] == 'u' && i+6 <= len(b) && string(b[i+2:i+6]) == "0000" {
			return i
		}
		i++ // the escaped character
	}
	return -1
}

// checkMediaType refuses a Content-Type that is not among types, or not
// JSON when types is nil.
func checkMediaType(header string, types []string) error {
	mt, _, err := mime.ParseMediaType(header)
	ok := err == nil
	if ok && types == nil {
		ok = mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
	} else if ok {
		ok = slices.Contains(types, mt)
	}
	if ok {
		return nil
	}
	want := "application/json"
	if types != nil {
		want = strings.Join(types, " or ")
	}
	return fault.New(fault.UnsupportedMedia, "Expecting to find %s in Content-Type header", want)
}

// decodeError turns an encoding/json or body-read error into a fault.
func decodeError(err error, offset int64) error {
	var (
		syntax   *json.SyntaxError
		typ      *json.UnmarshalTypeError
		tooLarge *http.MaxBytesError
		invalid  *json.InvalidUnmarshalError
	)
	switch {
	case errors.As(err, &tooLarge):
		return &fault.Error{Kind: fault.TooLarge, Message: fmt.Sprintf("request body is larger than %d bytes", tooLarge.Limit), Err: err}
	case errors.As(err, &syntax):
		return &fault.Error{Kind: fault.BadRequest, Message: fmt.Sprintf("request body is not valid JSON: %s at byte offset %d", syntax.Error(), syntax.Offset), Err: err}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &fault.Error{Kind: fault.BadRequest, Message: fmt.Sprintf("request body is not valid JSON: unexpected end of input at byte offset %d", offset), Err: err}
	case errors.As(err, &typ):
		msg := fmt.Sprintf("expected %s, got %s", jsonKind(typ.Type), typ.Value)
		if typ.Field == "" {
			return &fault.Error{Kind: fault.BadRequest, Message: "request body has the wrong type: " + msg, Err: err}
		}
		return &fault.Error{Kind: fault.BadRequest, Field: typ.Field, Message: msg, Err: err}
	case errors.As(err, &invalid):
		return fmt.Errorf("httpapi: decode into %v: %w", invalid.Type, err)
	}
	// encoding/json has no typed error for unknown fields.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return &fault.Error{Kind: fault.BadRequest, Field: name, Message: "unknown field", Err: err}
	}
	return &fault.Error{Kind: fault.BadRequest, Message: "cannot read request body", Err: err}
}

// jsonKind names the JSON type a Go type decodes from.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "a value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.String:
		return "string"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	default:
		return t.String()
	}
}

// WriteJSON writes v as JSON with status and Content-Type application/json.
// v is encoded before anything is written, so an encoding failure (a bug:
// a channel, a cycle, a failing MarshalJSON) yields an empty 500 response
// and a log line on slog.Default instead of a half-written body. HTML
// characters are not escaped, as in OpenStack's Python services.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		slog.Default().Error("httpapi: encode response", "type", fmt.Sprintf("%T", v), "error", err.Error())
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}
