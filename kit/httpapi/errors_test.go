package httpapi_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const testRequestID = "req-0b0c3d4e-5f60-4172-8394-a5b6c7d8e9f0"

// testLogger returns a logger writing JSON lines into buf at debug level.
func testLogger(buf *bytes.Buffer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// golden compares got with testdata/name, rewriting it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden file\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestStatus(t *testing.T) {
	tests := []struct {
		kind fault.Kind
		want int
	}{
		{fault.Internal, 500},
		{fault.BadRequest, 400},
		{fault.Unauthorized, 401},
		{fault.Forbidden, 403},
		{fault.NotFound, 404},
		{fault.NotAllowed, 405},
		{fault.NotAcceptable, 406},
		{fault.Conflict, 409},
		{fault.Gone, 410},
		{fault.TooLarge, 413},
		{fault.UnsupportedMedia, 415},
		{fault.Unavailable, 503},
		{fault.NotImplemented, 501},
		{fault.RangeNotSatisfiable, 416},
		{fault.Kind(99), 500},
	}
	for _, tt := range tests {
		t.Run(tt.kind.String(), func(t *testing.T) {
			if got := httpapi.Status(tt.kind); got != tt.want {
				t.Fatalf("Status(%v) = %d, want %d", tt.kind, got, tt.want)
			}
		})
	}
}

// errorCases are rendered in every style into testdata/errors/<style>.golden.
var errorCases = []struct {
	name string
	err  error
}{
	{"not_found", fmt.Errorf("server %q: %w", "s1", fault.ErrNotFound)},
	{"invalid_field", fault.Invalid("name", "must not be empty")},
	{"unauthorized", fault.New(fault.Unauthorized, "The request you have made requires authentication.")},
	{"conflict", fault.New(fault.Conflict, "Zone example.org. already exists")},
	{"typed_conflict", &fault.Error{Kind: fault.Conflict, Type: "NetworkInUse", Message: "Unable to complete operation on network n1."}},
	{"not_acceptable", fault.New(fault.NotAcceptable, "Version 9.9 is not supported by the API.")},
	{"too_large", fault.New(fault.TooLarge, "request body is larger than 1048576 bytes")},
	{"unsupported_media", fault.New(fault.UnsupportedMedia, "Expecting to find application/json in Content-Type header")},
	{"internal", fmt.Errorf("db: connect password=hunter2: %w", errors.New("refused"))},
}

var allStyles = []httpapi.Style{
	httpapi.Plain, httpapi.Keystone, httpapi.Nova, httpapi.Cinder, httpapi.Neutron,
	httpapi.Glance, httpapi.Octavia, httpapi.Designate, httpapi.Ironic, httpapi.Placement,
}

func TestWriteErrorGolden(t *testing.T) {
	type variant struct {
		file   string
		style  httpapi.Style
		accept string
	}
	var variants []variant
	for _, s := range allStyles {
		variants = append(variants, variant{s.String(), s, ""})
	}
	variants = append(variants, variant{"glance-json", httpapi.Glance, "application/json"})

	for _, v := range variants {
		t.Run(v.file, func(t *testing.T) {
			var out bytes.Buffer
			for _, c := range errorCases {
				r := httptest.NewRequest("GET", "http://cloud.example:5000/v1/things", nil)
				if v.accept != "" {
					r.Header.Set("Accept", v.accept)
				}
				var logs bytes.Buffer
				ctx := httpapi.WithLogger(httpapi.WithRequestID(r.Context(), testRequestID), testLogger(&logs))
				w := httptest.NewRecorder()
				httpapi.WriteError(w, r.WithContext(ctx), v.style, c.err)
				if strings.Contains(w.Body.String(), "hunter2") {
					t.Fatalf("%s: internal error text leaked: %s", c.name, w.Body)
				}
				fmt.Fprintf(&out, "== %s\n%d %s\n%s%s\n\n", c.name, w.Code, http.StatusText(w.Code), headerLines(w.Header()), w.Body)
			}
			golden(t, filepath.Join("errors", v.file+".golden"), out.Bytes())
		})
	}
}

// headerLines prints the headers, sorted, one per line.
func headerLines(h http.Header) string {
	var keys []string
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		for _, v := range h[k] {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	return b.String()
}

func TestWriteErrorLogging(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		wantLevel string
		wantText  string
	}{
		{"5xx logs the real error", fmt.Errorf("db: %w", errors.New("disk on fire")), "ERROR", "db: disk on fire"},
		{"503 logs the cause", &fault.Error{Kind: fault.Unavailable, Message: "try later", Err: errors.New("rabbit down")}, "ERROR", "rabbit down"},
		{"4xx only at debug", fault.ErrNotFound, "DEBUG", "not found"},
		{"nil error is a 500", nil, "ERROR", "nil error"},
		{"client gone is not an error", context.Canceled, "INFO", "context canceled"},
		{"a real failure after the client left stays an error", fmt.Errorf("store: %w", errors.New("disk on fire")), "ERROR", "disk on fire"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			r := httptest.NewRequest("POST", "/x", strings.NewReader(`{"password":"s3cret"}`))
			r.Header.Set("X-Auth-Token", "tok-secret")
			ctx, cancel := context.WithCancel(httpapi.WithLogger(r.Context(), testLogger(&logs)))
			defer cancel()
			if strings.Contains(tt.name, "client") {
				cancel() // what net/http does when the client's connection breaks
			}
			w := httptest.NewRecorder()
			httpapi.WriteError(w, r.WithContext(ctx), httpapi.Nova, tt.err)
			if want := map[string]int{"INFO": httpapi.StatusClientClosedRequest, "ERROR": 500}[tt.wantLevel]; strings.Contains(tt.name, "client") && w.Code != want {
				t.Errorf("status %d, want %d", w.Code, want)
			}
			got := logs.String()
			if !strings.Contains(got, `"level":"`+tt.wantLevel+`"`) || !strings.Contains(got, tt.wantText) {
				t.Fatalf("log = %s, want level %s with %q", got, tt.wantLevel, tt.wantText)
			}
			if strings.Contains(got, "s3cret") || strings.Contains(got, "tok-secret") {
				t.Fatalf("log leaked body or headers: %s", got)
			}
		})
	}
}

func TestWriteErrorKeepsWWWAuthenticate(t *testing.T) {
	tests := []struct {
		name   string
		style  httpapi.Style
		preset string
		want   string
	}{
		{"keystone derives it", httpapi.Keystone, "", `Keystone uri="https://id.example"`},
		{"keystone keeps a preset one", httpapi.Keystone, `Keystone uri="https://public/identity"`, `Keystone uri="https://public/identity"`},
		{"nova sets none", httpapi.Nova, "", ""},
		{"nova keeps the auth middleware's", httpapi.Nova, `Keystone uri="https://id.example/identity"`, `Keystone uri="https://id.example/identity"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "https://id.example/v3/auth/tokens", nil)
			w := httptest.NewRecorder()
			if tt.preset != "" {
				w.Header().Set("WWW-Authenticate", tt.preset)
			}
			httpapi.WriteError(w, r.WithContext(httpapi.WithLogger(context.Background(), slog.New(slog.DiscardHandler))), tt.style, fault.ErrUnauthorized)
			if got := w.Header().Get("WWW-Authenticate"); got != tt.want {
				t.Fatalf("WWW-Authenticate = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestStyleString(t *testing.T) {
	for _, s := range allStyles {
		if s.String() == "" || strings.HasPrefix(s.String(), "style(") {
			t.Errorf("Style(%d).String() = %q", int(s), s.String())
		}
	}
	if got := httpapi.Style(42).String(); got != "style(42)" {
		t.Errorf("unknown style String() = %q", got)
	}
}
