package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gostack/gostack/kit/httpapi"
)

func TestVersionDocuments(t *testing.T) {
	doc := httpapi.VersionDoc{
		ID: "v2.1", Status: "CURRENT", Updated: "2013-07-23T11:33:21Z",
		MinVersion: "2.1", Version: "2.96",
		Links: []httpapi.Link{
			{Rel: "self", Href: "/v2.1/"},
			{Rel: "describedby", Type: "text/html", Href: "https://docs.openstack.org/"},
		},
	}
	ks := httpapi.VersionDoc{
		ID: "v3.14", Status: "stable", Updated: "2020-04-07T00:00:00Z",
		Links:      []httpapi.Link{{Rel: "self", Href: "/v3/"}},
		MediaTypes: []httpapi.MediaType{{Base: "application/json", Type: "application/vnd.openstack.identity-v3+json"}},
	}
	tests := []struct {
		name  string
		write func(w http.ResponseWriter, r *http.Request)
		code  int
		want  string
	}{
		{"list", func(w http.ResponseWriter, r *http.Request) {
			httpapi.VersionsList(w, r, http.StatusMultipleChoices, []httpapi.VersionDoc{doc})
		}, 300, `{"versions":[{"id":"v2.1","status":"CURRENT","updated":"2013-07-23T11:33:21Z","min_version":"2.1","version":"2.96","links":[{"rel":"self","href":"https://compute.example/v2.1/"},{"rel":"describedby","href":"https://docs.openstack.org/","type":"text/html"}]}]}`},
		{"values", func(w http.ResponseWriter, r *http.Request) {
			httpapi.VersionsValues(w, r, http.StatusMultipleChoices, []httpapi.VersionDoc{ks})
		}, 300, `{"versions":{"values":[{"id":"v3.14","status":"stable","updated":"2020-04-07T00:00:00Z","links":[{"rel":"self","href":"https://compute.example/v3/"}],"media-types":[{"base":"application/json","type":"application/vnd.openstack.identity-v3+json"}]}]}}`},
		{"single", func(w http.ResponseWriter, r *http.Request) {
			httpapi.SingleVersion(w, r, http.StatusOK, ks)
		}, 200, `{"version":{"id":"v3.14","status":"stable","updated":"2020-04-07T00:00:00Z","links":[{"rel":"self","href":"https://compute.example/v3/"}],"media-types":[{"base":"application/json","type":"application/vnd.openstack.identity-v3+json"}]}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "http://compute.example/", nil)
			r.Header.Set("X-Forwarded-Proto", "https")
			w := httptest.NewRecorder()
			tt.write(w, r)
			if w.Code != tt.code || w.Body.String() != tt.want {
				t.Fatalf("got %d\n%s\nwant %d\n%s", w.Code, w.Body, tt.code, tt.want)
			}
		})
	}
	if doc.Links[0].Href != "/v2.1/" {
		t.Error("caller's links were modified")
	}
}

func TestBaseURL(t *testing.T) {
	tests := []struct {
		name, target, proto, want string
	}{
		{"plain", "http://h:8774/x", "", "http://h:8774"},
		{"tls", "https://h/x", "http", "https://h"},
		{"forwarded list", "http://h/x", "HTTPS, http", "https://h"},
		{"forwarded junk", "http://h/x", "ftp", "http://h"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", tt.target, nil)
			if tt.proto != "" {
				r.Header.Set("X-Forwarded-Proto", tt.proto)
			}
			if got := httpapi.BaseURL(r); got != tt.want {
				t.Fatalf("BaseURL = %q, want %q", got, tt.want)
			}
		})
	}
}

// A service mounted under a prefix sees paths without it, and its links
// (BaseURL, next links) carry it; mounts nest.
func TestMount(t *testing.T) {
	var got []string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.URL.Path, httpapi.BaseURL(r), httpapi.NextLink(r, "m1"))
	})
	mux := http.NewServeMux()
	m := httpapi.Mount("/image/", h)
	mux.Handle("/image", m)
	mux.Handle("/image/", m)
	outer := httpapi.Mount("/cloud", mux)
	outer.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "http://h:80/cloud/image/v2/images?limit=1", nil))
	outer.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "http://h:80/cloud/image", nil))
	want := []string{"/v2/images", "http://h:80/cloud/image", "http://h:80/cloud/image/v2/images?limit=1&marker=m1",
		"/", "http://h:80/cloud/image", "http://h:80/cloud/image/?marker=m1"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("got %q, want %q", got, want)
	}
	// Outside the prefix, or only sharing its first letters: 404.
	for _, path := range []string{"/other", "/imagex"} {
		rec := httptest.NewRecorder()
		httpapi.Mount("/image", h).ServeHTTP(rec, httptest.NewRequest("GET", "http://h"+path, nil))
		if rec.Code != 404 {
			t.Errorf("GET %s: %d", path, rec.Code)
		}
	}
}
