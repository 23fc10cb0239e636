package api

import (
	"net/http"

	"github.com/gostack/gostack/kit/httpapi"
)

func (a *API) versionDoc(r *http.Request) map[string]any {
	return map[string]any{
		"id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
		"links":       []map[string]string{{"rel": "self", "href": base(r) + "/v3/"}},
		"media-types": []map[string]string{{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}},
	}
}

// versions is GET /: 300 Multiple Choices, as Keystone.
func (a *API) versions(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Location", base(r)+"/v3/")
	httpapi.WriteJSON(w, http.StatusMultipleChoices, map[string]any{"versions": map[string]any{"values": []any{a.versionDoc(r)}}})
}

// version is GET /v3.
func (a *API) version(w http.ResponseWriter, r *http.Request) {
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"version": a.versionDoc(r)})
}
