package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"

	"github.com/gostack/gostack/kit/fault"
)

// Status is the HTTP status code for an error kind. It is the only place in
// gostack that maps kinds to status codes; unknown kinds are 500.
func Status(k fault.Kind) int {
	switch k {
	case fault.BadRequest:
		return http.StatusBadRequest
	case fault.Unauthorized:
		return http.StatusUnauthorized
	case fault.Forbidden:
		return http.StatusForbidden
	case fault.NotFound:
		return http.StatusNotFound
	case fault.NotAllowed:
		return http.StatusMethodNotAllowed
	case fault.NotAcceptable:
		return http.StatusNotAcceptable
	case fault.Conflict:
		return http.StatusConflict
	case fault.Gone:
		return http.StatusGone
	case fault.TooLarge:
		return http.StatusRequestEntityTooLarge
	case fault.UnsupportedMedia:
		return http.StatusUnsupportedMediaType
	case fault.Unavailable:
		return http.StatusServiceUnavailable
	case fault.NotImplemented:
		return http.StatusNotImplemented
	case fault.RangeNotSatisfiable:
		return http.StatusRequestedRangeNotSatisfiable
	default:
		return http.StatusInternalServerError
	}
}

// WriteError writes err as an error response in style: the status from
// Status(fault.KindOf(err)), the client-facing text from fault.Message (so
// Internal errors never leak their text), and the offending field from
// fault.FieldOf. See Style for the body each style renders.
//
// For 5xx responses the real error is logged through Logger(r.Context());
// the request body and headers never are.
//
// A Keystone-style 401 also carries WWW-Authenticate: Keystone uri="..."
// with BaseURL(r), as Keystone does, unless the caller already set that
// header (for example to its configured public endpoint). Other services
// learn the auth URI from their deployment, so their auth middleware sets
// the header itself before calling WriteError; WriteError keeps it.
func WriteError(w http.ResponseWriter, r *http.Request, style Style, err error) {
	if err == nil {
		err = errors.New("httpapi: WriteError called with a nil error")
	}
	p := newProblem(r, err)
	log := Logger(r.Context())
	switch {
	case p.ended:
		log.InfoContext(r.Context(), "request ended early", "status", p.status, "error", err.Error())
	case p.status >= 500:
		log.ErrorContext(r.Context(), "request failed", "status", p.status, "error", err.Error())
	default:
		log.DebugContext(r.Context(), "request rejected", "status", p.status, "error", fault.Message(err))
	}
	render(w, r, style, p)
}

// endedBy reports whether err is what a request whose context or
// connection ended gets: a cancelled or expired context, a deadline, a
// body cut short, a closed or reset connection.
func endedBy(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || isTimeout(err) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// StatusClientClosedRequest is nginx's 499: the client went away before the
// answer. It never reaches a client; it is what logs and metrics record.
const StatusClientClosedRequest = 499

// newProblem reduces err to what the response may show. When the request's
// context has ended and err is what that causes (a cancelled store call, a
// body read cut short or timed out), the answer is not the server's
// fault: the server is shutting down (503), the client stopped sending
// its body (408), or the client hung up (499). Any other error keeps its
// status, so a real failure is never hidden behind a hang-up.
func newProblem(r *http.Request, err error) problem {
	p := problem{
		status:    Status(fault.KindOf(err)),
		message:   fault.Message(err),
		field:     fault.FieldOf(err),
		typ:       fault.TypeOf(err),
		requestID: RequestIDFrom(r.Context()),
	}
	if (r.Context().Err() == nil && !stopping(r.Context())) || !endedBy(err) {
		return p
	}
	p.field, p.typ, p.ended = "", "", true
	switch {
	case stopping(r.Context()):
		p.status, p.message = http.StatusServiceUnavailable, "The service is shutting down; try again."
	case isTimeout(err):
		p.status, p.message = http.StatusRequestTimeout, "The request body did not arrive in time."
	default:
		p.status, p.message = StatusClientClosedRequest, "The client closed the request."
	}
	return p
}

// writeError renders err without logging it; Recover uses it after logging
// the panic with its stack.
func writeError(w http.ResponseWriter, r *http.Request, style Style, err error) {
	render(w, r, style, newProblem(r, err))
}

func render(w http.ResponseWriter, r *http.Request, style Style, p problem) {
	if p.status == http.StatusUnsupportedMediaType && style == Keystone {
		p.status = http.StatusBadRequest // Keystone's ValidationError for a non-JSON body
	}
	if p.status == http.StatusUnauthorized && style == Keystone && w.Header().Get("WWW-Authenticate") == "" {
		w.Header().Set("WWW-Authenticate", `Keystone uri="`+BaseURL(r)+`"`)
	}
	contentType, body := style.render(p, r.Header.Get("Accept"))
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Del("Content-Length")
	w.WriteHeader(p.status)
	_, _ = w.Write(body)
}

// problem is an error reduced to what a response body may show.
type problem struct {
	status    int
	message   string // client-safe text, without the field
	field     string // offending input field, if known
	typ       string // machine-readable type from fault.TypeOf, if any
	requestID string
	ended     bool // the request's context ended: neither a client error nor a server fault
}

// text is the message for styles that have no slot for the field: one rule
// for all of them, "Invalid input for field '<field>': <message>", the
// wording Keystone and Nova use for schema errors. Messages built with
// fault.Invalid should therefore not repeat the field name.
func (p problem) text() string {
	if p.field == "" {
		return p.message
	}
	return fmt.Sprintf("Invalid input for field '%s': %s", p.field, p.message)
}
