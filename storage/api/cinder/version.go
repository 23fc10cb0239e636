package cinder

import (
	"net/http"

	"github.com/gostack/gostack/kit/httpapi"
)

// v3Doc is Cinder's version document of v3.0 (cinder/api/versions.py):
// microversions 3.0 to 3.70, updated when Cinder 21 set its maximum.
func v3Doc() httpapi.VersionDoc {
	return httpapi.VersionDoc{
		ID: "v3.0", Status: "CURRENT", Updated: "2022-08-31T00:00:00Z",
		MinVersion: microversions.Min.String(), Version: microversions.Max.String(),
		Links: []httpapi.Link{{Rel: "describedby", Type: "text/html", Href: "https://docs.openstack.org/"},
			{Rel: "self", Href: "/v3/"}},
		MediaTypes: []httpapi.MediaType{{Base: "application/json", Type: "application/vnd.openstack.volume+json;version=3"}},
	}
}

// versions is /: Cinder's list of versions with 300 Multiple Choices
// (for any method, as Cinder's route has no condition).
func (a *API) versions(w http.ResponseWriter, r *http.Request) {
	httpapi.VersionsList(w, r, http.StatusMultipleChoices, []httpapi.VersionDoc{v3Doc()})
}

// versionIndex is /v3/: the same list with 200, as Cinder's v3 router
// answers it (for any method, as Cinder's route has no condition).
func (a *API) versionIndex(w http.ResponseWriter, r *http.Request) {
	httpapi.VersionsList(w, r, http.StatusOK, []httpapi.VersionDoc{v3Doc()})
}
