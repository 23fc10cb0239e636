package httpapi_test

import (
	"errors"
	"math"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

type createServer struct {
	Server struct {
		Name      string `json:"name"`
		FlavorRef string `json:"flavorRef"`
		MinCount  int    `json:"min_count"`
	} `json:"server"`
}

func TestDecodeJSON(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		opts      []httpapi.DecodeOption
		ctype     string // Content-Type; application/json when empty, none when "-"
		wantKind  fault.Kind
		wantField string
		wantMsg   string // substring of fault.Message
	}{
		{name: "ok", body: `{"server":{"name":"vm","flavorRef":"1"}}`, wantKind: -1},
		{name: "ok with trailing space", body: "{\"server\":{}}\n  \n", wantKind: -1},
		{name: "unknown field allowed by default", body: `{"server":{"nmae":"vm"}}`, wantKind: -1},
		{name: "empty", body: "", wantKind: fault.BadRequest, wantMsg: "request body is empty"},
		{name: "only whitespace", body: "  \n", wantKind: fault.BadRequest, wantMsg: "request body is empty"},
		{name: "syntax", body: `{"server": x}`, wantKind: fault.BadRequest, wantMsg: "invalid character 'x' looking for beginning of value at byte offset 12"},
		{name: "truncated", body: `{"server": {"name": "vm"`, wantKind: fault.BadRequest, wantMsg: "unexpected end of input at byte offset"},
		{name: "type mismatch names path", body: `{"server":{"min_count":"two"}}`, wantKind: fault.BadRequest, wantField: "server.min_count", wantMsg: "expected integer, got string"},
		{name: "top-level type", body: `[1,2]`, wantKind: fault.BadRequest, wantMsg: "expected object, got array"},
		{name: "strict unknown field", body: `{"server":{"nmae":"vm"}}`, opts: []httpapi.DecodeOption{httpapi.Strict()}, wantKind: fault.BadRequest, wantField: "nmae", wantMsg: "unknown field"},
		{name: "trailing object", body: `{"server":{}} {"x":1}`, wantKind: fault.BadRequest, wantMsg: "data after the JSON value at byte offset 13"},
		{name: "trailing garbage", body: `{"server":{}}xyz`, wantKind: fault.BadRequest, wantMsg: "data after the JSON value"},
		{name: "too large", body: `{"server":{"name":"` + strings.Repeat("a", 100) + `"}}`, opts: []httpapi.DecodeOption{httpapi.MaxBytes(64)}, wantKind: fault.TooLarge, wantMsg: "larger than 64 bytes"},
		{name: "too large in trailing data", body: `{"server":{}}` + strings.Repeat(" ", 10) + `"` + strings.Repeat("a", 100), opts: []httpapi.DecodeOption{httpapi.MaxBytes(64)}, wantKind: fault.TooLarge},
		{name: "default limit is 1 MiB", body: `{"server":{"name":"` + strings.Repeat("a", 1<<20) + `"}}`, wantKind: fault.TooLarge},
		{name: "json with charset", body: `{}`, ctype: "application/json; charset=UTF-8", wantKind: -1},
		{name: "vendor +json", body: `{}`, ctype: "application/openstack-images-v2.1-json-patch+json", wantKind: -1},
		{name: "no content type", body: `{}`, ctype: "-", wantKind: fault.UnsupportedMedia, wantMsg: "Expecting to find application/json in Content-Type header"},
		{name: "text/plain", body: `{}`, ctype: "text/plain", wantKind: fault.UnsupportedMedia},
		{name: "form", body: `a=b`, ctype: "application/x-www-form-urlencoded", wantKind: fault.UnsupportedMedia},
		{name: "xml", body: `<a/>`, ctype: "application/xml", wantKind: fault.UnsupportedMedia},
		{name: "malformed content type", body: `{}`, ctype: "application/json; ;;=", wantKind: fault.UnsupportedMedia},
		{name: "text/json is not json", body: `{}`, ctype: "text/json", wantKind: fault.UnsupportedMedia},
		{name: "empty body needs no type", body: "", ctype: "-", wantKind: fault.BadRequest, wantMsg: "request body is empty"},
		{name: "explicit types", body: `{}`, ctype: "application/json-patch+json", opts: []httpapi.DecodeOption{httpapi.MediaTypes("application/json", "application/json-patch+json")}, wantKind: -1},
		{name: "explicit types refuse others", body: `{}`, ctype: "application/merge-patch+json", opts: []httpapi.DecodeOption{httpapi.MediaTypes("application/json")}, wantKind: fault.UnsupportedMedia},
		{name: "NUL escape", body: `{"server":{"name":"a\u0000b"}}`, wantKind: fault.BadRequest, wantMsg: "NUL character"},
		{name: "escaped backslash then u0000 is text", body: `{"server":{"name":"a\\u0000b"}}`, wantKind: -1},
		{name: "deep nesting", body: strings.Repeat("[", 20000) + strings.Repeat("]", 20000), opts: []httpapi.DecodeOption{httpapi.MaxBytes(1 << 20)}, wantKind: fault.BadRequest, wantMsg: "exceeded max depth"},
		{name: "missing type allowed", body: `{}`, ctype: "-", opts: []httpapi.DecodeOption{httpapi.AllowMissingMediaType()}, wantKind: -1},
		{name: "missing type allowed, wrong type still refused", body: `{}`, ctype: "text/plain", opts: []httpapi.DecodeOption{httpapi.AllowMissingMediaType()}, wantKind: fault.UnsupportedMedia},
		{name: "any media type", body: `{}`, ctype: "text/plain", opts: []httpapi.DecodeOption{httpapi.AnyMediaType()}, wantKind: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/servers", strings.NewReader(tt.body))
			switch tt.ctype {
			case "":
				r.Header.Set("Content-Type", "application/json")
			case "-":
			default:
				r.Header.Set("Content-Type", tt.ctype)
			}
			var v createServer
			err := httpapi.DecodeJSON(httptest.NewRecorder(), r, &v, tt.opts...)
			if tt.wantKind == -1 {
				if err != nil {
					t.Fatalf("DecodeJSON: %v", err)
				}
				return
			}
			var fe *fault.Error
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v (%T), want *fault.Error", err, err)
			}
			if fe.Kind != tt.wantKind {
				t.Fatalf("kind = %v, want %v (%v)", fe.Kind, tt.wantKind, err)
			}
			if fe.Field != tt.wantField {
				t.Errorf("field = %q, want %q", fe.Field, tt.wantField)
			}
			if !strings.Contains(fault.Message(err), tt.wantMsg) {
				t.Errorf("message = %q, want it to contain %q", fault.Message(err), tt.wantMsg)
			}
		})
	}
}

func TestDecodeJSONNilBody(t *testing.T) {
	r := httptest.NewRequest("POST", "/x", nil)
	err := httpapi.DecodeJSON(httptest.NewRecorder(), r, &createServer{})
	if fault.KindOf(err) != fault.BadRequest || fault.Message(err) != "request body is empty" {
		t.Fatalf("err = %v", err)
	}
}

func TestDecodeJSONBadTarget(t *testing.T) {
	r := httptest.NewRequest("POST", "/x", strings.NewReader(`{}`))
	r.Header.Set("Content-Type", "application/json")
	var v createServer
	err := httpapi.DecodeJSON(httptest.NewRecorder(), r, v) // not a pointer: a bug
	if err == nil || fault.KindOf(err) != fault.Internal {
		t.Fatalf("err = %v, want an internal error", err)
	}
}

func TestWriteJSON(t *testing.T) {
	tests := []struct {
		name     string
		v        any
		status   int
		wantCode int
		wantBody string
		wantType string
	}{
		{"object", map[string]string{"a": "<b>&"}, 201, 201, `{"a":"<b>&"}`, "application/json"},
		{"unencodable", math.Inf(1), 200, 500, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			httpapi.WriteJSON(w, tt.status, tt.v)
			if w.Code != tt.wantCode || w.Body.String() != tt.wantBody || w.Header().Get("Content-Type") != tt.wantType {
				t.Fatalf("got %d %q %q", w.Code, w.Header().Get("Content-Type"), w.Body)
			}
		})
	}
}
