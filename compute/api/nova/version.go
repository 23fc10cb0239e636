package nova

import (
	"net/http"

	"github.com/gostack/gostack/kit/httpapi"
)

// v21 is Nova's version document of v2.1 (nova/api/openstack/compute/versions.py).
func v21() httpapi.VersionDoc {
	return httpapi.VersionDoc{
		ID: "v2.1", Status: "CURRENT", Updated: "2013-07-23T11:33:21Z",
		MinVersion: microversions.Min.String(), Version: microversions.Max.String(),
		Links: []httpapi.Link{{Rel: "self", Href: "/v2.1/"},
			{Rel: "describedby", Type: "text/html", Href: "http://docs.openstack.org/"}},
		MediaTypes: []httpapi.MediaType{{Base: "application/json", Type: "application/vnd.openstack.compute+json;version=2.1"}},
	}
}

// versions is GET /: the versions served (Nova also lists v2.0, its
// legacy API, which is not served here).
func (a *API) versions(w http.ResponseWriter, r *http.Request) {
	d := v21()
	d.Links = d.Links[:1]
	d.MediaTypes = nil
	httpapi.VersionsList(w, r, http.StatusOK, []httpapi.VersionDoc{d})
}

// version is GET /v2.1 and /v2.1/: its document, public.
func (a *API) version(w http.ResponseWriter, r *http.Request) {
	httpapi.SingleVersion(w, r, http.StatusOK, v21())
}
