package httpapi_test

import (
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

func TestParsePage(t *testing.T) {
	tests := []struct {
		name      string
		query     string
		def, max  int
		want      httpapi.Page
		wantField string
	}{
		{"defaults", "", 20, 100, httpapi.Page{Limit: 20}, ""},
		{"limit and marker", "limit=5&marker=abc", 20, 100, httpapi.Page{Limit: 5, Marker: "abc"}, ""},
		{"zero means default", "limit=0", 20, 100, httpapi.Page{Limit: 20}, ""},
		{"capped", "limit=1000", 20, 100, httpapi.Page{Limit: 100}, ""},
		{"default capped", "", 500, 100, httpapi.Page{Limit: 100}, ""},
		{"no max", "limit=1000", 20, 0, httpapi.Page{Limit: 1000}, ""},
		{"reverse", "page_reverse=True", 20, 100, httpapi.Page{Limit: 20, Reverse: true}, ""},
		{"negative limit", "limit=-1", 20, 100, httpapi.Page{}, "limit"},
		{"non-integer limit", "limit=ten", 20, 100, httpapi.Page{}, "limit"},
		{"float limit", "limit=1.5", 20, 100, httpapi.Page{}, "limit"},
		{"bad reverse", "page_reverse=maybe", 20, 100, httpapi.Page{}, "page_reverse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := httpapi.ParsePage(httptest.NewRequest("GET", "/things?"+tt.query, nil), tt.def, tt.max)
			if tt.wantField != "" {
				if fault.KindOf(err) != fault.BadRequest || fault.FieldOf(err) != tt.wantField {
					t.Fatalf("err = %v (field %q), want BadRequest on %q", err, fault.FieldOf(err), tt.wantField)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParsePage = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestLinks(t *testing.T) {
	tests := []struct {
		name     string
		target   string
		tls      bool
		proto    string
		wantNext string
		wantPrev string
	}{
		{"keeps filters, replaces marker", "http://api.example:9696/v2.0/networks?limit=2&marker=old&name=net",
			false, "", "http://api.example:9696/v2.0/networks?limit=2&marker=m2&name=net",
			"http://api.example:9696/v2.0/networks?limit=2&marker=m2&name=net&page_reverse=True"},
		{"forwarded proto", "http://api.example/v2.0/ports?page_reverse=True", false, "https",
			"https://api.example/v2.0/ports?marker=m2", "https://api.example/v2.0/ports?marker=m2&page_reverse=True"},
		{"bogus forwarded proto ignored", "http://api.example/v2.0/ports", false, "javascript",
			"http://api.example/v2.0/ports?marker=m2", "http://api.example/v2.0/ports?marker=m2&page_reverse=True"},
		{"tls", "https://api.example/v2/images", true, "",
			"https://api.example/v2/images?marker=m2", "https://api.example/v2/images?marker=m2&page_reverse=True"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", tt.target, nil)
			if !tt.tls {
				r.TLS = nil
			}
			if tt.proto != "" {
				r.Header.Set("X-Forwarded-Proto", tt.proto)
			}
			if got := httpapi.NextLink(r, "m2"); got != tt.wantNext {
				t.Errorf("NextLink = %q, want %q", got, tt.wantNext)
			}
			if got := httpapi.PrevLink(r, "m2"); got != tt.wantPrev {
				t.Errorf("PrevLink = %q, want %q", got, tt.wantPrev)
			}
		})
	}
}

func TestPaginate(t *testing.T) {
	items := []string{"a", "b", "c", "d", "e"}
	id := func(s string) string { return s }
	tests := []struct {
		name     string
		page     httpapi.Page
		want     []string
		wantMore bool
		wantErr  bool
	}{
		{"first page", httpapi.Page{Limit: 2}, []string{"a", "b"}, true, false},
		{"after marker", httpapi.Page{Limit: 2, Marker: "b"}, []string{"c", "d"}, true, false},
		{"last page exact", httpapi.Page{Limit: 2, Marker: "c"}, []string{"d", "e"}, false, false},
		{"after last", httpapi.Page{Limit: 2, Marker: "e"}, []string{}, false, false},
		{"no limit", httpapi.Page{}, items, false, false},
		{"reverse before marker", httpapi.Page{Limit: 2, Marker: "d", Reverse: true}, []string{"b", "c"}, true, false},
		{"reverse to start", httpapi.Page{Limit: 5, Marker: "c", Reverse: true}, []string{"a", "b"}, false, false},
		{"reverse without marker", httpapi.Page{Limit: 2, Reverse: true}, []string{"d", "e"}, true, false},
		{"unknown marker", httpapi.Page{Limit: 2, Marker: "zz"}, nil, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, more, err := httpapi.Paginate(items, id, tt.page)
			if tt.wantErr {
				if fault.KindOf(err) != fault.BadRequest || fault.Message(err) != "marker [zz] not found" {
					t.Fatalf("err = %v, want BadRequest marker [zz] not found", err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) || more != tt.wantMore {
				t.Fatalf("Paginate = %v, %v, %v; want %v, %v", got, more, err, tt.want, tt.wantMore)
			}
		})
	}
}
