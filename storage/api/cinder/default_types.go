package cinder

import (
	"net/http"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/storage"
)

// defaultTypeOverrides is the microversion of the default-types API.
const defaultTypeOverrides = 62

// defaultTypeRoutes are Cinder's default type overrides
// (v3/default_types.py, 3.62): a project's default volume type.
func (a *API) defaultTypeRoutes(rt *httpapi.Router) {
	rt.HandleFunc("PUT /default-types/{project}", a.since(defaultTypeOverrides, a.setDefaultType))
	rt.HandleFunc("GET /default-types/{project}", a.since(defaultTypeOverrides, a.showDefaultType))
	rt.HandleFunc("GET /default-types", a.since(defaultTypeOverrides, a.listDefaultTypes))
	rt.HandleFunc("DELETE /default-types/{project}", a.since(defaultTypeOverrides, a.unsetDefaultType))
}

func defaultTypeView(d storage.DefaultType) map[string]any {
	return map[string]any{"project_id": d.ProjectID, "volume_type_id": d.VolumeTypeID}
}

// projectAllowed is Cinder's validate_project_and_authorize: rule with
// the project as the target, "You are not authorized to perform this
// operation." (403) when refused. (Cinder also asks Keystone whether
// the project exists; the volume service does not hold projects, so an
// unknown project id is taken as one with no volumes yet.)
func (a *API) projectAllowed(r *http.Request, q *request, rule, project string) error {
	if !a.allowed(r.Context(), q, rule, map[string]any{"project_id": project}) {
		return fault.New(fault.Forbidden, "You are not authorized to perform this operation.")
	}
	return nil
}

// setDefaultType is PUT /default-types/{project} (200): the type by
// name or id (an unknown one a 400).
func (a *API) setDefaultType(w http.ResponseWriter, r *http.Request, q *request) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	if body == nil {
		return errNoBody
	}
	if err := defaultTypeSchema.check(nil, body); err != nil {
		return err
	}
	// Cinder's schema does not require default_type (its controller then
	// fails on the missing key with a 500): a 400 here.
	dt, err := bodyElement(body, "default_type")
	if err != nil {
		return err
	}
	project := r.PathValue("project")
	if err := a.projectAllowed(r, q, "volume_extension:default_set_or_update", project); err != nil {
		return err
	}
	d, err := a.Store.SetDefaultType(r.Context(), project, dt.Get("volume_type").Text)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"default_type": defaultTypeView(d)})
	return nil
}

func (a *API) showDefaultType(w http.ResponseWriter, r *http.Request, q *request) error {
	project := r.PathValue("project")
	if err := a.projectAllowed(r, q, "volume_extension:default_get", project); err != nil {
		return err
	}
	ds, err := a.Store.DefaultTypes(r.Context(), project)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"default_type": defaultTypeView(ds[0])})
	return nil
}

func (a *API) listDefaultTypes(w http.ResponseWriter, r *http.Request, q *request) error {
	if !a.allowed(r.Context(), q, "volume_extension:default_get_all", nil) {
		return fault.New(fault.Forbidden, "You are not authorized to perform this operation.")
	}
	ds, err := a.Store.DefaultTypes(r.Context(), "")
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(ds))
	for i, d := range ds {
		out[i] = defaultTypeView(d)
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"default_types": out})
	return nil
}

// unsetDefaultType is DELETE /default-types/{project} (204; none set is
// no error).
func (a *API) unsetDefaultType(w http.ResponseWriter, r *http.Request, q *request) error {
	project := r.PathValue("project")
	if err := a.projectAllowed(r, q, "volume_extension:default_unset", project); err != nil {
		return err
	}
	if err := a.Store.UnsetDefaultType(r.Context(), project); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
