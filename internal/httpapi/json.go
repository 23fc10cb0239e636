package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"

	"github.com/gostack/gostack/internal/fault"
)

// DefaultMaxBytes is the request body limit of DecodeJSON: 1 MiB.
const DefaultMaxBytes = 1 << 20

// DecodeOption changes how DecodeJSON reads a body.
type DecodeOption func(*decodeConfig)

type decodeConfig struct {
	maxBytes int64
	strict   bool
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
// data after the value. The Content-Type header is not checked.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any, opts ...DecodeOption) error {
	cfg := decodeConfig{maxBytes: DefaultMaxBytes}
	for _, o := range opts {
		o(&cfg)
	}
	if r.Body == nil || r.Body == http.NoBody {
		return fault.New(fault.BadRequest, "request body is empty")
	}
	r.Body = http.MaxBytesReader(w, r.Body, cfg.maxBytes)
	dec := json.NewDecoder(r.Body)
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
	err := dec.Decode(&extra)
	var tooLarge *http.MaxBytesError
	switch {
	case errors.Is(err, io.EOF):
		return nil
	case errors.As(err, &tooLarge):
		return decodeError(err, end)
	default:
		return fault.New(fault.BadRequest, "request body has data after the JSON value at byte offset %d", end)
	}
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
