package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

func TestParseVersion(t *testing.T) {
	tests := []struct {
		in      string
		want    httpapi.Version
		wantErr bool
	}{
		{"2.60", httpapi.Version{2, 60}, false},
		{"1.0", httpapi.Version{1, 0}, false},
		{"10.1", httpapi.Version{10, 1}, false},
		{"0.1", httpapi.Version{}, true},
		{"2.06", httpapi.Version{}, true},
		{"2", httpapi.Version{}, true},
		{"2.", httpapi.Version{}, true},
		{"v2.1", httpapi.Version{}, true},
		{"2.1.1", httpapi.Version{}, true},
		{"-2.1", httpapi.Version{}, true},
		{"+2.1", httpapi.Version{}, true},
		{"2.99999999999", httpapi.Version{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := httpapi.ParseVersion(tt.in)
			if tt.wantErr {
				if fault.KindOf(err) != fault.BadRequest {
					t.Fatalf("ParseVersion(%q) err = %v, want BadRequest", tt.in, err)
				}
				return
			}
			if err != nil || got != tt.want || got.String() != tt.in {
				t.Fatalf("ParseVersion(%q) = %v, %v", tt.in, got, err)
			}
		})
	}
}

func TestVersionLess(t *testing.T) {
	v := func(s string) httpapi.Version { x, _ := httpapi.ParseVersion(s); return x }
	tests := []struct {
		a, b string
		want bool
	}{
		{"2.1", "2.60", true}, {"2.60", "2.1", false}, {"2.9", "2.10", true},
		{"1.99", "2.0", true}, {"2.1", "2.1", false},
	}
	for _, tt := range tests {
		t.Run(tt.a+"<"+tt.b, func(t *testing.T) {
			if got := v(tt.a).Less(v(tt.b)); got != tt.want {
				t.Fatalf("%s.Less(%s) = %v", tt.a, tt.b, got)
			}
		})
	}
}

var compute = httpapi.Microversions{
	ServiceType: "compute",
	Legacy:      "X-OpenStack-Nova-API-Version",
	Min:         httpapi.Version{2, 1},
	Max:         httpapi.Version{2, 96},
}

func TestNegotiate(t *testing.T) {
	tests := []struct {
		name     string
		headers  map[string][]string
		want     string
		wantKind fault.Kind
	}{
		{"absent is min", nil, "2.1", -1},
		{"standard", map[string][]string{"OpenStack-API-Version": {"compute 2.60"}}, "2.60", -1},
		{"latest", map[string][]string{"OpenStack-API-Version": {"compute latest"}}, "2.96", -1},
		{"case-insensitive type", map[string][]string{"Openstack-Api-Version": {"COMPUTE 2.10"}}, "2.10", -1},
		{"several services", map[string][]string{"OpenStack-API-Version": {"volume 3.5, compute 2.20"}}, "2.20", -1},
		{"several header lines", map[string][]string{"OpenStack-API-Version": {"volume 3.5", "compute 2.30"}}, "2.30", -1},
		{"other service only is min", map[string][]string{"OpenStack-API-Version": {"volume 3.5"}}, "2.1", -1},
		{"legacy", map[string][]string{"X-OpenStack-Nova-API-Version": {"2.11"}}, "2.11", -1},
		{"standard wins over legacy", map[string][]string{"OpenStack-API-Version": {"compute 2.12"}, "X-OpenStack-Nova-API-Version": {"2.11"}}, "2.12", -1},
		{"malformed", map[string][]string{"OpenStack-API-Version": {"compute two"}}, "", fault.BadRequest},
		{"missing version", map[string][]string{"OpenStack-API-Version": {"compute"}}, "", fault.BadRequest},
		{"too new", map[string][]string{"OpenStack-API-Version": {"compute 2.97"}}, "", fault.NotAcceptable},
		{"too old", map[string][]string{"X-OpenStack-Nova-API-Version": {"2.0"}}, "", fault.NotAcceptable},
		{"other major", map[string][]string{"OpenStack-API-Version": {"compute 3.1"}}, "", fault.NotAcceptable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			for k, vs := range tt.headers {
				for _, v := range vs {
					r.Header.Add(k, v)
				}
			}
			got, err := compute.Negotiate(r)
			if tt.wantKind != -1 {
				if fault.KindOf(err) != tt.wantKind {
					t.Fatalf("err = %v, want kind %v", err, tt.wantKind)
				}
				return
			}
			if err != nil || got.String() != tt.want {
				t.Fatalf("Negotiate = %v, %v; want %s", got, err, tt.want)
			}
		})
	}
}

func TestMicroversionMiddleware(t *testing.T) {
	h := compute.Middleware(httpapi.Nova, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(httpapi.VersionFrom(r.Context()).String()))
	}))
	tests := []struct {
		name       string
		header     string
		wantCode   int
		wantBody   string
		wantHeader string
	}{
		{"negotiated", "compute 2.42", 200, "2.42", "compute 2.42"},
		{"unsupported", "compute 2.100", 406,
			`{"computeFault":{"code":406,"message":"Version 2.100 is not supported by the API. Minimum is 2.1 and maximum is 2.96."}}`, ""},
		{"malformed", "compute 2.x", 400,
			`{"badRequest":{"code":400,"message":"API Version String 2.x is of invalid format. Must be of format MajorNum.MinorNum."}}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("OpenStack-API-Version", tt.header)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.wantCode || w.Body.String() != tt.wantBody {
				t.Fatalf("got %d %s, want %d %s", w.Code, w.Body, tt.wantCode, tt.wantBody)
			}
			if got := w.Header().Get("OpenStack-API-Version"); got != tt.wantHeader {
				t.Errorf("OpenStack-API-Version = %q, want %q", got, tt.wantHeader)
			}
			if tt.wantCode != 200 {
				return
			}
			if got := w.Header().Get("X-OpenStack-Nova-API-Version"); got != tt.wantBody {
				t.Errorf("legacy header = %q", got)
			}
			if got := strings.Join(w.Header().Values("Vary"), ","); got != "OpenStack-API-Version,X-OpenStack-Nova-API-Version" {
				t.Errorf("Vary = %q", got)
			}
		})
	}
	if v := httpapi.VersionFrom(t.Context()); v != (httpapi.Version{}) {
		t.Errorf("VersionFrom(empty) = %v", v)
	}
}
