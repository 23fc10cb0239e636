package fault

import (
	"errors"
	"fmt"
)

// Kind classifies an error for the API edge. The zero Kind is Internal.
type Kind int

// The kinds. Each maps to one HTTP status at the edge.
const (
	Internal            Kind = iota // 500: a bug or an unexpected failure; the message is not shown to clients
	BadRequest                      // 400: malformed or invalid input
	Unauthorized                    // 401: missing, bad or expired credentials
	Forbidden                       // 403: authenticated but not allowed
	NotFound                        // 404: no such resource (or not visible to the caller)
	NotAllowed                      // 405: method not allowed on the resource
	NotAcceptable                   // 406: e.g. an unsupported microversion
	Conflict                        // 409: state conflict, duplicate, or a lost compare-and-swap
	Gone                            // 410: e.g. a watch revision that has been compacted
	TooLarge                        // 413: body or object over a size limit, or over quota
	UnsupportedMedia                // 415: wrong Content-Type
	Unavailable                     // 503: a dependency is down; try again
	NotImplemented                  // 501: the operation exists in the API but not in this deployment
	RangeNotSatisfiable             // 416: a byte range outside the object
)

var kindNames = [...]string{
	Internal:            "internal",
	BadRequest:          "bad request",
	Unauthorized:        "unauthorized",
	Forbidden:           "forbidden",
	NotFound:            "not found",
	NotAllowed:          "method not allowed",
	NotAcceptable:       "not acceptable",
	Conflict:            "conflict",
	Gone:                "gone",
	TooLarge:            "too large",
	UnsupportedMedia:    "unsupported media type",
	Unavailable:         "unavailable",
	NotImplemented:      "not implemented",
	RangeNotSatisfiable: "range not satisfiable",
}

func (k Kind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return fmt.Sprintf("kind(%d)", int(k))
	}
	return kindNames[k]
}

// Error is an error of a known kind with a message fit for API clients.
// Field names the offending input field for BadRequest errors, when known.
// Type is an optional machine-readable name (Neutron's "NetworkNotFound",
// Designate's "duplicate_zone"); the edge derives one from Kind when empty.
type Error struct {
	Kind    Kind
	Message string
	Field   string
	Type    string
	Err     error // optional cause, never shown to clients
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = e.Kind.String()
	}
	if e.Err != nil {
		return msg + ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, fault.ErrNotFound) true for any *Error of kind
// NotFound, so callers can test kinds without caring how the error was built.
func (e *Error) Is(target error) bool {
	s, ok := target.(*sentinel)
	return ok && s.kind == e.Kind
}

type sentinel struct{ kind Kind }

func (s *sentinel) Error() string { return s.kind.String() }

// Sentinels to wrap with %w when no client-facing message is needed beyond
// the wrapping context.
var (
	ErrBadRequest       error = &sentinel{BadRequest}
	ErrUnauthorized     error = &sentinel{Unauthorized}
	ErrForbidden        error = &sentinel{Forbidden}
	ErrNotFound         error = &sentinel{NotFound}
	ErrNotAllowed       error = &sentinel{NotAllowed}
	ErrNotAcceptable    error = &sentinel{NotAcceptable}
	ErrConflict         error = &sentinel{Conflict}
	ErrGone             error = &sentinel{Gone}
	ErrTooLarge         error = &sentinel{TooLarge}
	ErrUnsupportedMedia error = &sentinel{UnsupportedMedia}
	ErrUnavailable      error = &sentinel{Unavailable}
	ErrNotImplemented   error = &sentinel{NotImplemented}
)

// New returns an *Error of kind k with a formatted client-facing message.
func New(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns a BadRequest error naming the offending field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Kind: BadRequest, Field: field, Message: fmt.Sprintf(format, args...)}
}

// KindOf reports the kind of err: the Kind of the first *Error in its chain,
// else the kind of a wrapped sentinel, else Internal.
func KindOf(err error) Kind {
	if err == nil {
		return Internal
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	var s *sentinel
	if errors.As(err, &s) {
		return s.kind
	}
	// Errors of other packages may claim a kind through an Is method
	// (errors.Is(err, fault.ErrGone)).
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return s.(*sentinel).kind
		}
	}
	return Internal
}

var sentinels = []error{
	ErrBadRequest, ErrUnauthorized, ErrForbidden, ErrNotFound, ErrNotAllowed, ErrNotAcceptable,
	ErrConflict, ErrGone, ErrTooLarge, ErrUnsupportedMedia, ErrUnavailable, ErrNotImplemented,
}

// Message returns the client-facing message for err. For Internal errors it
// returns a generic text so that internals never leak; for wrapped sentinels
// it returns the full wrapped text, which the domain code chose to be
// client-safe by wrapping a sentinel.
func Message(err error) string {
	k := KindOf(err)
	if k == Internal {
		return "The server has either erred or is incapable of performing the requested operation."
	}
	var e *Error
	if errors.As(err, &e) && e.Message != "" {
		return e.Message
	}
	return err.Error()
}

// FieldOf returns the offending field recorded in err, if any.
func FieldOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}

// TypeOf returns the machine-readable type recorded in err, if any.
func TypeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Type
	}
	return ""
}
