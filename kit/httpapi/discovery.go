package httpapi

import (
	"context"
	"net/http"
	"strings"
)

// MediaType is an entry of a version document's "media-types".
type MediaType struct {
	Base string `json:"base"`
	Type string `json:"type"`
}

// VersionDoc describes one major API version in version discovery
// documents. MinVersion and Version are the microversion range, as Nova,
// Cinder and Ironic publish it; leave them empty for services without
// microversions.
type VersionDoc struct {
	ID         string      `json:"id"`
	Status     string      `json:"status"`
	Updated    string      `json:"updated,omitempty"`
	MinVersion string      `json:"min_version,omitempty"`
	Version    string      `json:"version,omitempty"`
	Links      []Link      `json:"links"`
	MediaTypes []MediaType `json:"media-types,omitempty"`
}

// VersionsList writes {"versions":[...]}, the shape of Nova's, Cinder's and
// Glance's version list. The root of those services answers 300 Multiple
// Choices; pass the status the service uses.
//
// Link hrefs that start with "/" are made absolute with BaseURL(r); the
// docs passed in are not modified.
func VersionsList(w http.ResponseWriter, r *http.Request, status int, docs []VersionDoc) {
	WriteJSON(w, status, map[string]any{"versions": absoluteDocs(r, docs)})
}

// VersionsValues writes {"versions":{"values":[...]}}, Keystone's shape of
// the version list; links as in VersionsList.
func VersionsValues(w http.ResponseWriter, r *http.Request, status int, docs []VersionDoc) {
	WriteJSON(w, status, map[string]any{"versions": map[string]any{"values": absoluteDocs(r, docs)}})
}

// SingleVersion writes {"version":{...}}, the document of one version;
// links as in VersionsList.
func SingleVersion(w http.ResponseWriter, r *http.Request, status int, doc VersionDoc) {
	WriteJSON(w, status, map[string]any{"version": absoluteDocs(r, []VersionDoc{doc})[0]})
}

func absoluteDocs(r *http.Request, docs []VersionDoc) []VersionDoc {
	base := BaseURL(r)
	out := make([]VersionDoc, len(docs))
	for i, d := range docs {
		links := make([]Link, len(d.Links))
		for j, l := range d.Links {
			if strings.HasPrefix(l.Href, "/") && !strings.HasPrefix(l.Href, "//") {
				l.Href = base + l.Href
			}
			links[j] = l
		}
		d.Links = links
		out[i] = d
	}
	return out
}

// BaseURL is the scheme and host the client used to reach us, without a
// trailing slash: "https://cloud.example:8774". The scheme is https when the
// connection is TLS, else the X-Forwarded-Proto header set by a TLS
// terminating proxy (only "http" or "https" are believed), else http. The
// host is r.Host, followed by the path prefix the service is mounted
// under with Mount, if any: "http://host/image".
func BaseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	} else if p := forwardedProto(r.Header.Get("X-Forwarded-Proto")); p != "" {
		scheme = p
	}
	return scheme + "://" + r.Host + mountedAt(r)
}

type mountKey struct{}

// Mount serves h under a path prefix like "/image", the way one web
// server fronts several services (devstack's http://host/image): h sees
// the path without the prefix, and BaseURL, which every link and
// Location the kit and the areas write starts with, puts it back.
// The prefix alone is served as the service's root ("/image" as "/", no
// redirect: version discovery asks for the catalog URL as it is), so
// register both:
//
//	m := httpapi.Mount("/image", images)
//	mux.Handle("/image", m)
//	mux.Handle("/image/", m)
//
// A path outside the prefix is a 404.
func Mount(prefix string, h http.Handler) http.Handler {
	prefix = "/" + strings.Trim(prefix, "/")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := strings.CutPrefix(r.URL.Path, prefix)
		rp, rok := strings.CutPrefix(r.URL.RawPath, prefix)
		if !ok || (r.URL.RawPath != "" && !rok) || (p != "" && p[0] != '/') {
			http.NotFound(w, r)
			return
		}
		if p == "" {
			p, rp = "/", ""
		}
		r2 := r.WithContext(context.WithValue(r.Context(), mountKey{}, mountedAt(r)+prefix))
		u := *r.URL
		u.Path, u.RawPath = p, rp
		r2.URL = &u
		h.ServeHTTP(w, r2)
	})
}

// mountedAt is the prefix r's service is mounted under, "" if none.
func mountedAt(r *http.Request) string {
	p, _ := r.Context().Value(mountKey{}).(string)
	return p
}

// forwardedProto returns the first X-Forwarded-Proto value if it is http
// or https.
func forwardedProto(h string) string {
	first, _, _ := strings.Cut(h, ",")
	switch p := strings.ToLower(strings.TrimSpace(first)); p {
	case "http", "https":
		return p
	}
	return ""
}
