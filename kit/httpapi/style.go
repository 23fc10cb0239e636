package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// Style is the error body format of one OpenStack service, the one its
// real clients (openstacksdk, python-*client, gophercloud) parse.
type Style int

// The styles. Messages below are the client-facing text; "text" means the
// message with the field rule applied: "Invalid input for field 'f': msg"
// when the error names a field, since only Plain has a field slot.
const (
	// Plain is gostack's own format for non-OpenStack endpoints:
	//	{"error":{"code":410,"title":"Gone","message":"...","field":"..."}}
	// field is omitted when empty and never folded into the message.
	Plain Style = iota

	// Keystone, as keystone/server/flask/application.py renders it:
	//	{"error":{"code":404,"message":"text","title":"Not Found"}}
	// Keystone answers a body that is not JSON with 400, not 415
	// (keystone/server/flask/request_processing/json_body.py).
	Keystone

	// Nova, as nova/api/openstack/wsgi.py Fault renders it:
	//	{"itemNotFound":{"code":404,"message":"text"}}
	// The key by status: 400 badRequest, 401 unauthorized, 403 forbidden,
	// 404 itemNotFound, 405 badMethod, 409 conflictingRequest,
	// 413 overLimit, 415 badMediaType, 501 notImplemented,
	// 503 serviceUnavailable, anything else (500, 406, 410) computeFault.
	Nova

	// Cinder uses the same Fault class as Nova (cinder/api/openstack/wsgi.py),
	// with the same keys for every status gostack produces.
	Cinder

	// Neutron, as neutron/api/api_common.py renders it:
	//	{"NeutronError":{"type":"HTTPNotFound","message":"text","detail":""}}
	// type is fault.TypeOf(err) ("NetworkNotFound") or else the name of the
	// webob exception Neutron raises for the status ("HTTPBadRequest",
	// "HTTPConflict", "HTTPRequestEntityTooLarge", ...).
	Neutron

	// Glance answers through webob, which picks the body by Accept: when
	// the client accepts application/json (openstacksdk)
	//	{"message":"text","code":"404 Not Found","title":"Not Found"}
	// and otherwise, as python-glanceclient gets it, text/plain
	//	404 Not Found\n\ntext
	// Webob's HTML body and its "<br /><br />" tail are not reproduced.
	Glance

	// Octavia, as WSME renders it:
	//	{"faultcode":"Client","faultstring":"text","debuginfo":null}
	// faultcode is "Server" for 5xx.
	Octavia

	// Designate, as designate/api/middleware.py FaultWrapperMiddleware
	// renders it:
	//	{"code":404,"type":"not_found","message":"text","request_id":"req-..."}
	// type is fault.TypeOf(err) ("duplicate_zone") or else Designate's
	// generic type for the status ("bad_request", "forbidden",
	// "not_found", "duplicate", "over_quota", "unknown" for 500, ...).
	// request_id is omitted when the request has none.
	Designate

	// Ironic wraps the WSME fault, JSON-encoded, in a string, as
	// ironic/api/middleware/parsable_error.py does:
	//	{"error_message":"{\"faultcode\":\"Client\",\"faultstring\":\"text\",\"debuginfo\":null}"}
	Ironic

	// Placement, as placement/util.py json_error_formatter renders it
	// (the API working group's errors guideline):
	//	{"errors":[{"status":409,"title":"Conflict","detail":"...","code":"placement.concurrent_update","request_id":"req-..."}]}
	// detail is webob's explanation for the status, a blank line and the
	// text; code is fault.TypeOf(err) or "placement.undefined_code".
	Placement
)

var styleNames = [...]string{
	Plain:     "plain",
	Keystone:  "keystone",
	Nova:      "nova",
	Cinder:    "cinder",
	Neutron:   "neutron",
	Glance:    "glance",
	Octavia:   "octavia",
	Designate: "designate",
	Ironic:    "ironic",
	Placement: "placement",
}

// String returns the lowercase name of the style ("nova").
func (s Style) String() string {
	if s < 0 || int(s) >= len(styleNames) {
		return "style(" + strconv.Itoa(int(s)) + ")"
	}
	return styleNames[s]
}

// render returns the content type and body of p in style s. accept is the
// request's Accept header, which only Glance looks at.
func (s Style) render(p problem, accept string) (string, []byte) {
	const jsonType = "application/json"
	switch s {
	case Keystone:
		return jsonType, marshal(map[string]any{"error": keystoneBody{p.status, p.text(), http.StatusText(p.status)}})
	case Nova, Cinder:
		return jsonType, marshal(map[string]any{novaFaultName(p.status): novaBody{p.status, p.text()}})
	case Neutron:
		return jsonType, marshal(map[string]any{"NeutronError": neutronBody{orDefault(p.typ, neutronType(p.status)), p.text(), ""}})
	case Glance:
		if acceptsJSON(accept) {
			return jsonType, marshal(glanceBody{p.text(), statusLine(p.status), http.StatusText(p.status)})
		}
		return "text/plain; charset=UTF-8", []byte(statusLine(p.status) + "\n\n" + p.text())
	case Octavia:
		return jsonType, marshal(wsmeFault(p))
	case Designate:
		return jsonType, marshal(designateBody{p.status, orDefault(p.typ, designateType(p.status)), p.text(), p.requestID})
	case Ironic:
		return jsonType, marshal(map[string]string{"error_message": string(marshal(wsmeFault(p)))})
	case Placement:
		return jsonType, marshal(map[string]any{"errors": []placementBody{{p.status, http.StatusText(p.status),
			webobExplanation(p.status) + "\n\n " + p.text() + "  ", orDefault(p.typ, "placement.undefined_code"), p.requestID}}})
	default:
		return jsonType, marshal(map[string]any{"error": plainBody{p.status, http.StatusText(p.status), p.message, p.field}})
	}
}

type plainBody struct {
	Code    int    `json:"code"`
	Title   string `json:"title"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

type keystoneBody struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Title   string `json:"title"`
}

type novaBody struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

type neutronBody struct {
	Type    string `json:"type"`
	Message string `json:"message"`
	Detail  string `json:"detail"`
}

type glanceBody struct {
	Message string `json:"message"`
	Code    string `json:"code"`
	Title   string `json:"title"`
}

type wsmeBody struct {
	FaultCode   string  `json:"faultcode"`
	FaultString string  `json:"faultstring"`
	DebugInfo   *string `json:"debuginfo"`
}

type designateBody struct {
	Code      int    `json:"code"`
	Type      string `json:"type"`
	Message   string `json:"message"`
	RequestID string `json:"request_id,omitempty"`
}

type placementBody struct {
	Status    int    `json:"status"`
	Title     string `json:"title"`
	Detail    string `json:"detail"`
	Code      string `json:"code"`
	RequestID string `json:"request_id,omitempty"`
}

// webobExplanation is the explanation of webob's exception for a status,
// which Placement's errors start with.
func webobExplanation(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "The server could not comply with the request since it is either malformed or otherwise incorrect."
	case http.StatusUnauthorized:
		return "This server could not verify that you are authorized to access the document you requested."
	case http.StatusForbidden:
		return "Access was denied to this resource."
	case http.StatusNotFound:
		return "The resource could not be found."
	case http.StatusMethodNotAllowed:
		return "The method is not allowed for this resource."
	case http.StatusNotAcceptable:
		return "The resource could not be generated that was acceptable to your browser."
	case http.StatusConflict:
		return "There was a conflict when trying to complete your request."
	case http.StatusRequestEntityTooLarge:
		return "The request is larger than the server is willing or able to process."
	case http.StatusUnsupportedMediaType:
		return "The request media type is not supported by this server."
	}
	return "The server has either erred or is incapable of performing the requested operation."
}

func wsmeFault(p problem) wsmeBody {
	code := "Client"
	if p.status >= 500 {
		code = "Server"
	}
	return wsmeBody{FaultCode: code, FaultString: p.text()}
}

// novaFaultName mirrors Fault._fault_names in nova/api/openstack/wsgi.py.
func novaFaultName(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "badRequest"
	case http.StatusUnauthorized:
		return "unauthorized"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusNotFound:
		return "itemNotFound"
	case http.StatusMethodNotAllowed:
		return "badMethod"
	case http.StatusConflict:
		return "conflictingRequest"
	case http.StatusRequestEntityTooLarge, http.StatusTooManyRequests:
		return "overLimit"
	case http.StatusUnsupportedMediaType:
		return "badMediaType"
	case http.StatusNotImplemented:
		return "notImplemented"
	case http.StatusServiceUnavailable:
		return "serviceUnavailable"
	default:
		return "computeFault"
	}
}

// neutronType is the webob exception class name Neutron reports as the
// type of a plain HTTP error (get_exception_data uses the class name).
// For every status gostack produces, webob's class name is "HTTP" followed
// by the reason phrase without spaces ("HTTPMethodNotAllowed").
func neutronType(status int) string {
	return "HTTP" + strings.ReplaceAll(http.StatusText(status), " ", "")
}

// designateType mirrors the error_type of designate/exceptions.py classes
// for each status; "unknown" is what FaultWrapperMiddleware sends for 500.
func designateType(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "bad_request"
	case http.StatusUnauthorized:
		return "unauthorized"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusNotFound:
		return "not_found"
	case http.StatusMethodNotAllowed:
		return "method_not_allowed"
	case http.StatusNotAcceptable:
		return "unsupported_accept"
	case http.StatusConflict:
		return "duplicate"
	case http.StatusGone:
		return "gone"
	case http.StatusRequestEntityTooLarge:
		return "over_quota"
	case http.StatusUnsupportedMediaType:
		return "unsupported_content_type"
	case http.StatusNotImplemented:
		return "not_implemented"
	case http.StatusServiceUnavailable:
		return "service_unavailable"
	default:
		return "unknown"
	}
}

// statusLine is webob's status string, "404 Not Found".
func statusLine(status int) string {
	return strconv.Itoa(status) + " " + http.StatusText(status)
}

// acceptsJSON reports whether an Accept header lists application/json (or
// application/*) with a non-zero quality. A bare */* does not count: webob
// then prefers another format, and Glance's Python client expects text.
func acceptsJSON(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil || (mt != "application/json" && mt != "application/*") {
			continue
		}
		if q, ok := params["q"]; ok {
			if v, err := strconv.ParseFloat(q, 64); err != nil || v <= 0 {
				continue
			}
		}
		return true
	}
	return false
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// marshal encodes v as compact JSON without HTML escaping (as Python's
// json.dumps does) and without a trailing newline. The values passed here
// always encode; a failure is a bug and yields a minimal JSON document.
func marshal(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return []byte(fmt.Sprintf(`{"error":%q}`, "cannot encode response"))
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}
