package api

import (
	"encoding/json"
	"net/http"

	"github.com/gostack/gostack/identity"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

// epFilterRoutes are OS-EP-FILTER (keystone/api/os_ep_filter.py): endpoint
// groups and the associations of projects with endpoints and with
// endpoint groups. GET patterns answer HEAD too. Every rule is checked
// before anything else, as Keystone's enforce_call comes first.
func (a *API) epFilterRoutes(rt *httpapi.Router) {
	p := "/v3/OS-EP-FILTER"
	rt.HandleFunc("POST "+p+"/endpoint_groups", a.authed(a.createEndpointGroup))
	rt.HandleFunc("GET "+p+"/endpoint_groups", a.authed(a.listEndpointGroups))
	rt.HandleFunc("GET "+p+"/endpoint_groups/{id}", a.authed(a.getEndpointGroup))
	rt.HandleFunc("PATCH "+p+"/endpoint_groups/{id}", a.authed(a.updateEndpointGroup))
	rt.HandleFunc("DELETE "+p+"/endpoint_groups/{id}", a.authed(a.deleteEndpointGroup))
	rt.HandleFunc("GET "+p+"/endpoint_groups/{id}/endpoints", a.authed(a.listGroupEndpoints))
	rt.HandleFunc("GET "+p+"/endpoint_groups/{id}/projects", a.authed(a.listGroupProjects))
	rt.HandleFunc("PUT "+p+"/endpoint_groups/{id}/projects/{project_id}", a.authed(a.addGroupToProject))
	rt.HandleFunc("GET "+p+"/endpoint_groups/{id}/projects/{project_id}", a.authed(a.getGroupInProject))
	rt.HandleFunc("DELETE "+p+"/endpoint_groups/{id}/projects/{project_id}", a.authed(a.removeGroupFromProject))
	rt.HandleFunc("GET "+p+"/projects/{project_id}/endpoints", a.authed(a.listProjectEndpoints))
	rt.HandleFunc("PUT "+p+"/projects/{project_id}/endpoints/{endpoint_id}", a.authed(a.addEndpointToProject))
	rt.HandleFunc("GET "+p+"/projects/{project_id}/endpoints/{endpoint_id}", a.authed(a.checkEndpointInProject))
	rt.HandleFunc("DELETE "+p+"/projects/{project_id}/endpoints/{endpoint_id}", a.authed(a.removeEndpointFromProject))
	rt.HandleFunc("GET "+p+"/projects/{project_id}/endpoint_groups", a.authed(a.listProjectEndpointGroups))
	rt.HandleFunc("GET "+p+"/endpoints/{endpoint_id}/projects", a.authed(a.listEndpointProjects))
}

type endpointGroupBody struct {
	EndpointGroup *endpointGroupFields `json:"endpoint_group"`
}

type endpointGroupFields struct {
	ID          opt[string]                     `json:"id"`
	Name        opt[string]                     `json:"name"`
	Description opt[string]                     `json:"description"`
	Filters     opt[map[string]json.RawMessage] `json:"filters"`
}

// apply copies the body onto g, for POST (update false) and PATCH alike,
// as Keystone's endpoint_group_create and _update schemas: a name and
// filters (an object) not null, a description null for none. A POST's
// id is ignored (Keystone assigns one); a PATCH's must be the group's.
// The store checks the values and the filter keys.
func (f *endpointGroupFields) apply(g *identity.EndpointGroup, update bool) error {
	if update {
		if err := sameID(f.ID, g.ID, "endpoint_group.id"); err != nil {
			return err
		}
	} else {
		switch {
		case !f.Name.Set:
			return fault.Invalid("endpoint_group.name", "'name' is a required property")
		case !f.Filters.Set:
			return fault.Invalid("endpoint_group.filters", "'filters' is a required property")
		}
	}
	if f.Filters.Set && f.Filters.Null {
		return fault.Invalid("endpoint_group.filters", "expected object, got null")
	}
	if !update && len(f.Filters.V) == 0 {
		return fault.Invalid("endpoint_group.filters", "filters field is required and cannot be empty")
	}
	if f.Description.Set {
		g.Description = nil
		if !f.Description.Null {
			d := f.Description.V
			g.Description = &d
		}
	}
	if f.Filters.Set {
		g.Filters = f.Filters.V
	}
	return set(&g.Name, f.Name, "endpoint_group.name")
}

func renderEndpointGroup(r *http.Request, g identity.EndpointGroup) map[string]any {
	var desc any
	if g.Description != nil {
		desc = *g.Description
	}
	return map[string]any{"id": g.ID, "name": g.Name, "description": desc, "filters": g.Filters,
		"links": selfLink(r, "OS-EP-FILTER/endpoint_groups/"+g.ID)}
}

func (a *API) createEndpointGroup(w http.ResponseWriter, r *http.Request) {
	if !a.allow(w, r, "identity:create_endpoint_group", nil) {
		return
	}
	var b endpointGroupBody
	if err := decode(w, r, &b); err != nil || b.EndpointGroup == nil {
		a.fail(w, r, orInvalid(err, "endpoint_group.name", "'name' is a required property"))
		return
	}
	var g identity.EndpointGroup
	if err := b.EndpointGroup.apply(&g, false); err != nil {
		a.fail(w, r, err)
		return
	}
	g, err := a.Store.CreateEndpointGroup(r.Context(), g)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusCreated, map[string]any{"endpoint_group": renderEndpointGroup(r, g)})
}

// listEndpointGroups takes Keystone's one filter, an exact name.
func (a *API) listEndpointGroups(w http.ResponseWriter, r *http.Request) {
	if !a.allow(w, r, "identity:list_endpoint_groups", nil) {
		return
	}
	gs, err := a.Store.ListEndpointGroups(r.Context(), r.URL.Query().Get("name"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, collection(r, "endpoint_groups", renderAll(r, gs, renderEndpointGroup)))
}

func (a *API) getEndpointGroup(w http.ResponseWriter, r *http.Request) {
	if !a.allow(w, r, "identity:get_endpoint_group", nil) {
		return
	}
	g, err := a.Store.GetEndpointGroup(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"endpoint_group": renderEndpointGroup(r, g)})
}

// updateEndpointGroup checks the body before it looks for the group, as
// Keystone validates before its driver answers 404.
func (a *API) updateEndpointGroup(w http.ResponseWriter, r *http.Request) {
	if !a.allow(w, r, "identity:update_endpoint_group", nil) {
		return
	}
	var b endpointGroupBody
	if err := decodeUpdate(w, r, "endpoint_group", &b); err != nil || b.EndpointGroup == nil {
		a.fail(w, r, orInvalid(err, "endpoint_group", "'endpoint_group' is a required property"))
		return
	}
	id := r.PathValue("id")
	probe := identity.EndpointGroup{ID: id, Name: "probe", Filters: map[string]json.RawMessage{}}
	if err := b.EndpointGroup.apply(&probe, true); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := probe.Validate(); err != nil {
		a.fail(w, r, err)
		return
	}
	g, err := a.Store.GetEndpointGroup(r.Context(), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if err := b.EndpointGroup.apply(&g, true); err != nil {
		a.fail(w, r, err)
		return
	}
	if g, err = a.Store.UpdateEndpointGroup(r.Context(), g); err != nil {
		a.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"endpoint_group": renderEndpointGroup(r, g)})
}

func (a *API) deleteEndpointGroup(w http.ResponseWriter, r *http.Request) {
	if !a.allow(w, r, "identity:delete_endpoint_group", nil) {
		return
	}
	if err := a.Store.DeleteEndpointGroup(r.Context(), r.PathValue("id")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) listGroupEndpoints(w http.ResponseWriter, r *http.Request) {
	if !a.allow(w, r, "identity:list_endpoints_associated_with_endpoint_group", nil) {
		return
	}
	es, err := a.Store.EndpointsInGroup(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, collection(r, "endpoints", renderAll(r, es, renderEndpoint)))
}

// listGroupProjects does not look for the group: Keystone answers an
// empty list for one that does not exist.
func (a *API) listGroupProjects(w http.ResponseWriter, r *http.Request) {
	if !a.allow(w, r, "identity:list_projects_associated_with_endpoint_group", nil) {
		return
	}
	ps, err := a.Store.ProjectsForEndpointGroup(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, collection(r, "projects", renderAll(r, ps, renderProject)))
}

// groupAndProject finds the path's project and then its group, as
// Keystone's EPFilterGroupsProjectsResource does before each action.
func (a *API) groupAndProject(w http.ResponseWriter, r *http.Request) bool {
	if _, err := a.Store.GetProject(r.Context(), r.PathValue("project_id")); err != nil {
		a.fail(w, r, err)
		return false
	}
	if _, err := a.Store.GetEndpointGroup(r.Context(), r.PathValue("id")); err != nil {
		a.fail(w, r, err)
		return false
	}
	return true
}

func (a *API) addGroupToProject(w http.ResponseWriter, r *http.Request) {
	if !a.allow(w, r, "identity:add_endpoint_group_to_project", nil) {
		return
	}
	if err := a.Store.AddEndpointGroupToProject(r.Context(), r.PathValue("id"), r.PathValue("project_id")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// getGroupInProject answers Keystone's project_endpoint_group, whose self
// link is Keystone's too: a path without the API's base.
func (a *API) getGroupInProject(w http.ResponseWriter, r *http.Request) {
	if !a.allow(w, r, "identity:get_endpoint_group_in_project", nil) || !a.groupAndProject(w, r) {
		return
	}
	id, project := r.PathValue("id"), r.PathValue("project_id")
	if err := a.Store.CheckEndpointGroupInProject(r.Context(), id, project); err != nil {
		a.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"project_endpoint_group": map[string]any{
		"endpoint_group_id": id, "project_id": project,
		"links": map[string]any{"self": "/OS-EP-FILTER/endpoint_groups/" + id + "/projects/" + project}}})
}

func (a *API) removeGroupFromProject(w http.ResponseWriter, r *http.Request) {
	if !a.allow(w, r, "identity:remove_endpoint_group_from_project", nil) || !a.groupAndProject(w, r) {
		return
	}
	if err := a.Store.RemoveEndpointGroupFromProject(r.Context(), r.PathValue("id"), r.PathValue("project_id")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) listProjectEndpoints(w http.ResponseWriter, r *http.Request) {
	if !a.allow(w, r, "identity:list_endpoints_for_project", nil) {
		return
	}
	project := r.PathValue("project_id")
	if _, err := a.Store.GetProject(r.Context(), project); err != nil {
		a.fail(w, r, err)
		return
	}
	es, err := a.Store.EndpointsForProject(r.Context(), project)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, collection(r, "endpoints", renderAll(r, es, renderEndpoint)))
}

func (a *API) addEndpointToProject(w http.ResponseWriter, r *http.Request) {
	if !a.allow(w, r, "identity:add_endpoint_to_project", nil) {
		return
	}
	if err := a.Store.AddEndpointToProject(r.Context(), r.PathValue("endpoint_id"), r.PathValue("project_id")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// checkEndpointInProject is GET and HEAD: 204 when associated, after the
// endpoint's and the project's 404s.
func (a *API) checkEndpointInProject(w http.ResponseWriter, r *http.Request) {
	if !a.allow(w, r, "identity:check_endpoint_in_project", nil) {
		return
	}
	ctx, endpoint, project := r.Context(), r.PathValue("endpoint_id"), r.PathValue("project_id")
	if _, err := a.Store.GetEndpoint(ctx, endpoint); err != nil {
		a.fail(w, r, err)
		return
	}
	if _, err := a.Store.GetProject(ctx, project); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.Store.CheckEndpointInProject(ctx, endpoint, project); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// removeEndpointFromProject looks for nothing but the association, as
// Keystone's.
func (a *API) removeEndpointFromProject(w http.ResponseWriter, r *http.Request) {
	if !a.allow(w, r, "identity:remove_endpoint_from_project", nil) {
		return
	}
	if err := a.Store.RemoveEndpointFromProject(r.Context(), r.PathValue("endpoint_id"), r.PathValue("project_id")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) listProjectEndpointGroups(w http.ResponseWriter, r *http.Request) {
	if !a.allow(w, r, "identity:list_endpoint_groups_for_project", nil) {
		return
	}
	project := r.PathValue("project_id")
	if _, err := a.Store.GetProject(r.Context(), project); err != nil {
		a.fail(w, r, err)
		return
	}
	gs, err := a.Store.EndpointGroupsForProject(r.Context(), project)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, collection(r, "endpoint_groups", renderAll(r, gs, renderEndpointGroup)))
}

func (a *API) listEndpointProjects(w http.ResponseWriter, r *http.Request) {
	if !a.allow(w, r, "identity:list_projects_for_endpoint", nil) {
		return
	}
	endpoint := r.PathValue("endpoint_id")
	if _, err := a.Store.GetEndpoint(r.Context(), endpoint); err != nil {
		a.fail(w, r, err)
		return
	}
	ps, err := a.Store.ProjectsForEndpoint(r.Context(), endpoint)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, collection(r, "projects", renderAll(r, ps, renderProject)))
}
