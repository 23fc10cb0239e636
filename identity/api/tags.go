package api

import (
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

// Project tags as sub-resources (keystone/api/projects.py
// ProjectTagsResource and ProjectTagResource), each call through its
// Keystone policy with the project as target.
func (a *API) tagRoutes(rt *httpapi.Router) {
	rt.HandleFunc("GET /v3/projects/{id}/tags", a.authed(a.listProjectTags))
	rt.HandleFunc("PUT /v3/projects/{id}/tags", a.authed(a.setProjectTags))
	rt.HandleFunc("DELETE /v3/projects/{id}/tags", a.authed(a.clearProjectTags))
	rt.HandleFunc("GET /v3/projects/{id}/tags/{tag}", a.authed(a.checkProjectTag))
	rt.HandleFunc("PUT /v3/projects/{id}/tags/{tag}", a.authed(a.addProjectTag))
	rt.HandleFunc("DELETE /v3/projects/{id}/tags/{tag}", a.authed(a.removeProjectTag))
}

// renderTags is Keystone's tag reply: the tags and a "self" link that is
// its full_url(), the API's base and the query string (not the path).
func renderTags(r *http.Request, tags []string) map[string]any {
	self := base(r) + "/v3"
	if r.URL.RawQuery != "" {
		self += "?" + r.URL.RawQuery
	}
	if tags == nil {
		tags = []string{}
	}
	return map[string]any{"tags": tags, "links": map[string]any{"self": self}}
}

func (a *API) listProjectTags(w http.ResponseWriter, r *http.Request) {
	if p, ok := a.projectFor(w, r, "identity:list_project_tags"); ok {
		httpapi.WriteJSON(w, http.StatusOK, renderTags(r, p.Tags))
	}
}

// setProjectTags replaces the tags with the body's "tags" list. Keystone
// reads the list as body.get('tags', {}), so a body without it is the
// object {}, which is not an array.
func (a *API) setProjectTags(w http.ResponseWriter, r *http.Request) {
	p, ok := a.projectFor(w, r, "identity:update_project_tags")
	if !ok {
		return
	}
	var b struct {
		Tags *json.RawMessage `json:"tags"`
	}
	if err := decode(w, r, &b); err != nil {
		a.fail(w, r, err)
		return
	}
	var tags []string
	if b.Tags == nil || json.Unmarshal(*b.Tags, &tags) != nil || tags == nil {
		a.fail(w, r, fault.Invalid("tags", "expected an array of strings"))
		return
	}
	tags, err := a.Store.SetProjectTags(r.Context(), p.ID, tags)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, renderTags(r, tags))
}

func (a *API) clearProjectTags(w http.ResponseWriter, r *http.Request) {
	p, ok := a.projectFor(w, r, "identity:delete_project_tags")
	if !ok {
		return
	}
	if _, err := a.Store.SetProjectTags(r.Context(), p.ID, []string{}); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) checkProjectTag(w http.ResponseWriter, r *http.Request) {
	p, ok := a.projectFor(w, r, "identity:get_project_tag")
	if !ok {
		return
	}
	if err := a.Store.HasProjectTag(r.Context(), p.ID, r.PathValue("tag")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// addProjectTag is 201 with an empty body and Keystone's Location, which
// it builds as base/v3/<project id>/tags/<tag> (no "projects/").
func (a *API) addProjectTag(w http.ResponseWriter, r *http.Request) {
	p, ok := a.projectFor(w, r, "identity:create_project_tag")
	if !ok {
		return
	}
	tag := r.PathValue("tag")
	if _, err := a.Store.AddProjectTag(r.Context(), p.ID, tag); err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Location", base(r)+"/v3/"+url.PathEscape(p.ID)+"/tags/"+url.PathEscape(tag))
	w.WriteHeader(http.StatusCreated)
}

func (a *API) removeProjectTag(w http.ResponseWriter, r *http.Request) {
	p, ok := a.projectFor(w, r, "identity:delete_project_tag")
	if !ok {
		return
	}
	if err := a.Store.RemoveProjectTag(r.Context(), p.ID, r.PathValue("tag")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
