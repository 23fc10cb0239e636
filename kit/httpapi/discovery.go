package httpapi

import (
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
// host is r.Host. A service mounted under a path prefix adds it itself.
func BaseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	} else if p := forwardedProto(r.Header.Get("X-Forwarded-Proto")); p != "" {
		scheme = p
	}
	return scheme + "://" + r.Host
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
