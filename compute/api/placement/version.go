package placement

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

// microversions are Placement 8.0.0's (Zed): 1.0 to 1.39.
var microversions = httpapi.Microversions{
	ServiceType: "placement",
	Min:         httpapi.Version{Major: 1, Minor: 0},
	Max:         httpapi.Version{Major: 1, Minor: 39},
}

// negotiate refuses what microversion_parse's middleware refuses
// before next runs: a malformed version (400) and one outside the range
// (406, whose body also says min_version and max_version, which
// osc-placement reads to fall back), and answers the rest with the
// version headers and Vary.
func (a *API) negotiate(next http.Handler) http.Handler {
	versioned := microversions.Middleware(httpapi.Placement, next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := checkContentType(r); err != nil {
			fail(w, r, err)
			return
		}
		if _, err := microversions.Negotiate(r); err != nil {
			if fault.KindOf(err) == fault.NotAcceptable {
				notAcceptable(w, r, err)
				return
			}
			fail(w, r, err)
			return
		}
		versioned.ServeHTTP(w, r)
	})
}

// checkContentType is Placement's rule for any request: a body needs a
// Content-Type.
func checkContentType(r *http.Request) error {
	cl := r.Header.Get("Content-Length")
	if cl == "" {
		return nil
	}
	n, err := strconv.ParseInt(cl, 10, 64)
	if err != nil {
		return badRequest("content-length header must be an integer")
	}
	if n > 0 && r.Header.Get("Content-Type") == "" {
		return badRequest("content-type header required when content-length > 0")
	}
	return nil
}

// notAcceptable writes Placement's 406 for a version it does not serve:
// its usual error with the supported range added.
func notAcceptable(w http.ResponseWriter, r *http.Request, err error) {
	body := map[string]any{"errors": []map[string]any{{
		"status":      http.StatusNotAcceptable,
		"title":       http.StatusText(http.StatusNotAcceptable),
		"detail":      "The resource could not be generated that was acceptable to your browser.\n\n Invalid microversion: " + fault.Message(err) + "  ",
		"code":        "placement.undefined_code",
		"max_version": microversions.Max.String(),
		"min_version": microversions.Min.String(),
	}}}
	if id := httpapi.RequestIDFrom(r.Context()); id != "" {
		body["errors"].([]map[string]any)[0]["request_id"] = id
	}
	buf, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusNotAcceptable)
	_, _ = w.Write(buf)
}

// root is Placement's version document, public: one version, its
// microversion range, and a self link to the same URL (an empty href,
// as Placement sends).
func (a *API) root(w http.ResponseWriter, r *http.Request) {
	q := &request{v: httpapi.VersionFrom(r.Context()), now: a.now()}
	q.modified(w, q.now)
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"versions": []any{map[string]any{
		"id":          "v" + microversions.Min.String(),
		"max_version": microversions.Max.String(),
		"min_version": microversions.Min.String(),
		"status":      "CURRENT",
		"links":       []link{{Rel: "self", Href: ""}},
	}}})
}
