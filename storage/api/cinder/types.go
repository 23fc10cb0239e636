package cinder

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/kit/pyjson"
	"github.com/gostack/gostack/storage"
)

// typeRoutes are Cinder's volume types (v3/types.py, the types_manage,
// types_extra_specs and volume_type_access extensions).
func (a *API) typeRoutes(rt *httpapi.Router) {
	rt.HandleFunc("GET /types", a.op(a.listTypes))
	rt.HandleFunc("POST /types", a.op(a.createType))
	rt.HandleFunc("GET /types/{id}", a.op(a.showType))
	rt.HandleFunc("PUT /types/{id}", a.op(a.updateType))
	rt.HandleFunc("DELETE /types/{id}", a.op(a.deleteType))
	rt.HandleFunc("POST /types/{id}/action", a.op(a.typeAction))
	rt.HandleFunc("GET /types/{id}/os-volume-type-access", a.op(a.typeAccess))
	rt.HandleFunc("GET /types/{id}/extra_specs", a.op(a.listSpecs))
	rt.HandleFunc("POST /types/{id}/extra_specs", a.op(a.createSpecs))
	rt.HandleFunc("GET /types/{id}/extra_specs/{key}", a.op(a.showSpec))
	rt.HandleFunc("PUT /types/{id}/extra_specs/{key}", a.op(a.updateSpec))
	rt.HandleFunc("DELETE /types/{id}/extra_specs/{key}", a.op(a.deleteSpec))
}

// userVisibleSpecs are the extra specs every user may read (Cinder's
// USER_VISIBLE_EXTRA_SPECS); the others need read_sensitive.
var userVisibleSpecs = []string{"RESKEY:availability_zones", "multiattach", "replication_enabled"}

// visibleSpecs are the extra specs of t the caller may read.
func (a *API) visibleSpecs(ctx context.Context, q *request, specs map[string]string) map[string]string {
	if a.allowed(ctx, q, "volume_extension:types_extra_specs:read_sensitive", nil) {
		if specs == nil {
			return map[string]string{}
		}
		return specs
	}
	out := map[string]string{}
	for _, k := range userVisibleSpecs {
		if v, ok := specs[k]; ok {
			out[k] = v
		}
	}
	return out
}

// typeView is Cinder's view of a type (v3/views/types.py): extra specs
// and the QoS specs id by policy, and the access extension's is_public
// where Cinder adds it (show, index, create).
func (a *API) typeView(ctx context.Context, q *request, t storage.VolumeType, access bool) map[string]any {
	out := map[string]any{"id": t.ID, "name": t.Name, "is_public": t.IsPublic, "description": t.Description}
	if a.allowed(ctx, q, "volume_extension:access_types_extra_specs", nil) {
		out["extra_specs"] = a.visibleSpecs(ctx, q, t.ExtraSpecs)
	}
	if a.allowed(ctx, q, "volume_extension:access_types_qos_specs_id", nil) {
		out["qos_specs_id"] = orNull(t.QoSSpecsID)
	}
	if access && a.allowed(ctx, q, "volume_extension:volume_type_access", nil) {
		out["os-volume-type-access:is_public"] = t.IsPublic
	}
	return out
}

func typeTarget(q *request, t storage.VolumeType) map[string]any {
	return map[string]any{"project_id": q.caller.ProjectID, "user_id": q.caller.UserID, "id": t.ID, "name": t.Name}
}

// typeName is the name of volume type id ("" when it has none): Cinder
// shows a volume's type by name, whoever may see the type.
func (a *API) typeName(ctx context.Context, id string) string {
	if id == "" {
		return ""
	}
	t, err := a.Store.VolumeType(ctx, storage.Viewer{Admin: true}, id)
	if err != nil {
		return ""
	}
	return t.Name
}

// listTypes is GET /types: public types and those shared with the
// caller's project (an admin's is_public chooses), pages and sort, and
// from 3.52 the extra_specs filter.
func (a *API) listTypes(w http.ResponseWriter, r *http.Request, q *request) error {
	if err := a.authorize(r.Context(), q, "volume_extension:type_get_all", nil); err != nil {
		return err
	}
	query := newListQuery(r.URL.Query())
	p, err := query.readPage()
	if err != nil {
		return err
	}
	keys, dirs, err := query.readSort()
	if err != nil {
		return err
	}
	f, none, err := a.typeFilter(r.Context(), q, query)
	if err != nil {
		return err
	}
	f.SortKeys, f.SortDirs, f.Marker = keys, dirs, p.marker
	var types []storage.VolumeType
	if p.limit > 0 && !none {
		if f.name == "" && f.id == "" {
			f.Limit = p.limit + p.offset
		}
		if types, _, err = a.Store.VolumeTypes(r.Context(), q.viewer(), f.VolumeTypeFilter); err != nil {
			return err
		}
		types = slices.DeleteFunc(types, func(t storage.VolumeType) bool {
			return f.name != "" && t.Name != f.name || f.id != "" && t.ID != f.id
		})
		types = types[min(p.offset, len(types)):]
		types = types[:min(p.limit, len(types))]
	}
	res := listAnswer(q, r, "volume_types", "volume_type_links", "types", types, func(t storage.VolumeType) string { return t.ID },
		func(t storage.VolumeType) map[string]any { return a.typeView(r.Context(), q, t, true) })
	httpapi.WriteJSON(w, http.StatusOK, res)
	return nil
}

// typeQuery is a type list's filters: the Store's, and an admin's name
// and id.
type typeQuery struct {
	storage.VolumeTypeFilter
	name, id string
}

// typeFilter reads a type list's filters: is_public (an admin's; every
// user lists the public types and those shared with the project), and
// from 3.52 extra_specs, a user's other filters refused from then and
// dropped before. none is Cinder's empty answer to a user's filter on
// a spec they may not read.
func (a *API) typeFilter(ctx context.Context, q *request, query listQuery) (f typeQuery, none bool, err error) {
	allowed := []string{"is_public"}
	if q.at(52) {
		allowed = append(allowed, "extra_specs")
	}
	if !q.admin {
		var invalid []string
		for k := range query.Values {
			if !slices.Contains(allowed, k) {
				invalid = append(invalid, k)
			}
		}
		if q.at(52) && len(invalid) > 0 {
			slices.Sort(invalid)
			return f, false, badRequest("Invalid filters %s are found in query options.", strings.Join(invalid, ","))
		}
		for _, k := range invalid {
			delete(query.Values, k)
		}
	}
	yes := true
	f.IsPublic = &yes
	if s, ok := query.last("is_public"); ok && q.admin {
		switch b, valid := pyjson.Bool(s); {
		case strings.EqualFold(s, "none"):
			f.IsPublic = nil
		case !valid:
			return f, false, badRequest("Invalid is_public filter [%s]", s)
		default:
			f.IsPublic = &b
		}
	}
	if s, ok := query.last("extra_specs"); ok && (q.admin || q.at(52)) {
		specs, err := pyLiteralDict(s)
		if err != nil {
			return f, false, badRequest("Invalid input received: extra_specs filter %s is not a dict.", s)
		}
		if !a.allowed(ctx, q, "volume_extension:types_extra_specs:read_sensitive", nil) {
			for k := range specs {
				none = none || !slices.Contains(userVisibleSpecs, k)
			}
		}
		f.ExtraSpecs = specs
	}
	for _, k := range []string{"is_public", "extra_specs"} {
		delete(query.Values, k)
	}
	// An admin's name and id filters (names are unique): read by the
	// caller from the whole list.
	f.name, _ = query.pop("name")
	f.id, _ = query.pop("id")
	none2, err := leftFilters(query, []string{"created_at", "deleted", "deleted_at", "description", "qos_specs_id", "updated_at"}, "volume type")
	return f, none || none2, err
}

// findType is the type of the request's path as the caller sees it;
// "default" is the default type.
func (a *API) findType(ctx context.Context, q *request, id string) (storage.VolumeType, error) {
	if id == "default" {
		t, err := a.Store.ProjectDefaultVolumeType(ctx, q.viewer().Project)
		if err != nil {
			return storage.VolumeType{}, notFound("Default volume type can not be found.")
		}
		return t, nil
	}
	return a.Store.VolumeType(ctx, q.viewer(), id)
}

func (a *API) showType(w http.ResponseWriter, r *http.Request, q *request) error {
	t, err := a.findType(r.Context(), q, r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, "volume_extension:type_get", typeTarget(q, t)); err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"volume_type": a.typeView(r.Context(), q, t, true)})
	return nil
}

// createType is an admin's POST /types (200).
func (a *API) createType(w http.ResponseWriter, r *http.Request, q *request) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	if body == nil {
		return errNoBody
	}
	if err := typeCreateSchema.check(nil, body); err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, "volume_extension:type_create", nil); err != nil {
		return err
	}
	vt := body.Get("volume_type")
	c := storage.VolumeTypeCreate{Name: vt.Get("name").Text}
	if d := vt.Get("description"); d != nil && d.Kind == '"' {
		c.Description = &d.Text
	}
	if p := vt.Get("os-volume-type-access:is_public"); p != nil {
		b := boolOf(p)
		c.IsPublic = &b
	}
	if specs := vt.Get("extra_specs"); specs != nil {
		c.ExtraSpecs = map[string]string{}
		for i, k := range specs.Keys {
			c.ExtraSpecs[k] = specs.Items[i].Text // Cinder stores a null spec as an empty one
		}
	}
	t, err := a.Store.CreateVolumeType(r.Context(), c)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"volume_type": a.typeView(r.Context(), q, t, true)})
	return nil
}

// updateType is an admin's PUT /types/{id}: name, description,
// is_public.
func (a *API) updateType(w http.ResponseWriter, r *http.Request, q *request) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	if body == nil {
		return errNoBody
	}
	if err := typeUpdateSchema.check(nil, body); err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, "volume_extension:type_update", nil); err != nil {
		return err
	}
	vt := body.Get("volume_type")
	var u storage.VolumeTypeUpdate
	if n := vt.Get("name"); !n.Null() {
		u.Name = &n.Text
	}
	if d := vt.Get("description"); !d.Null() {
		u.Description = &d.Text
	}
	if p := vt.Get("is_public"); p != nil {
		b := boolOf(p)
		u.IsPublic = &b
	}
	t, err := a.Store.UpdateVolumeType(r.Context(), r.PathValue("id"), u)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"volume_type": a.typeView(r.Context(), q, t, false)})
	return nil
}

// deleteType is an admin's DELETE /types/{id} (202).
func (a *API) deleteType(w http.ResponseWriter, r *http.Request, q *request) error {
	if err := a.authorize(r.Context(), q, "volume_extension:type_delete", nil); err != nil {
		return err
	}
	if err := a.Store.DeleteVolumeType(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// typeAction is POST /types/{id}/action: addProjectAccess and
// removeProjectAccess (202).
func (a *API) typeAction(w http.ResponseWriter, r *http.Request, q *request) error {
	name, body, err := readAction(w, r)
	if err != nil {
		return err
	}
	var s *schema
	var rule string
	var change func(context.Context, string, string) ([]string, error)
	switch name {
	case "addProjectAccess":
		s, rule, change = addAccessSchema, "volume_extension:volume_type_access:addProjectAccess", a.Store.AddVolumeTypeAccess
	case "removeProjectAccess":
		s, rule, change = removeAccessSchema, "volume_extension:volume_type_access:removeProjectAccess", a.Store.RemoveVolumeTypeAccess
	default:
		return noSuchAction(name)
	}
	if err := s.check(nil, body); err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, rule, nil); err != nil {
		return err
	}
	if _, err := change(r.Context(), r.PathValue("id"), body.Get(name).Get("project").Text); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// typeAccess is GET /types/{id}/os-volume-type-access: the projects of
// a private type.
func (a *API) typeAccess(w http.ResponseWriter, r *http.Request, q *request) error {
	if err := a.authorize(r.Context(), q, "volume_extension:volume_type_access:get_all_for_type", nil); err != nil {
		return err
	}
	id := r.PathValue("id")
	projects, err := a.Store.VolumeTypeAccess(r.Context(), q.viewer(), id)
	if err != nil {
		return err
	}
	out := make([]map[string]string, len(projects))
	for i, p := range projects {
		out[i] = map[string]string{"volume_type_id": id, "project_id": p}
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"volume_type_access": out})
	return nil
}

// specsType is the type of the request's path for its extra specs
// routes (Cinder's _check_type).
func (a *API) specsType(r *http.Request, q *request) (storage.VolumeType, error) {
	return a.Store.VolumeType(r.Context(), q.viewer(), r.PathValue("id"))
}

func (a *API) listSpecs(w http.ResponseWriter, r *http.Request, q *request) error {
	if err := a.authorize(r.Context(), q, "volume_extension:types_extra_specs:index", nil); err != nil {
		return err
	}
	t, err := a.specsType(r, q)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"extra_specs": a.visibleSpecs(r.Context(), q, t.ExtraSpecs)})
	return nil
}

func (a *API) showSpec(w http.ResponseWriter, r *http.Request, q *request) error {
	if err := a.authorize(r.Context(), q, "volume_extension:types_extra_specs:show", nil); err != nil {
		return err
	}
	t, err := a.specsType(r, q)
	if err != nil {
		return err
	}
	key := r.PathValue("key")
	v, ok := a.visibleSpecs(r.Context(), q, t.ExtraSpecs)[key]
	if !ok {
		return notFound("Volume Type %s has no extra specs with key %s.", t.ID, key)
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]string{key: v})
	return nil
}

// createSpecs is POST /types/{id}/extra_specs: the keys given set, the
// body answered back.
func (a *API) createSpecs(w http.ResponseWriter, r *http.Request, q *request) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	if body == nil {
		return errNoBody
	}
	if err := specsCreateSchema.check(nil, body); err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, "volume_extension:types_extra_specs:create", nil); err != nil {
		return err
	}
	in := body.Get("extra_specs")
	specs := map[string]string{}
	for i, k := range in.Keys {
		specs[k] = in.Items[i].Text
	}
	if _, err := a.Store.SetVolumeTypeExtraSpecs(r.Context(), r.PathValue("id"), specs); err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"extra_specs": specs})
	return nil
}

// updateSpec is PUT /types/{id}/extra_specs/{key}: {key: value}.
func (a *API) updateSpec(w http.ResponseWriter, r *http.Request, q *request) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	if body == nil {
		return errNoBody
	}
	if err := specsUpdateSchema.check(nil, body); err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, "volume_extension:types_extra_specs:update", nil); err != nil {
		return err
	}
	key := r.PathValue("key")
	if !body.Has(key) {
		return badRequest("Request body and URI mismatch")
	}
	val := body.Get(key).Text
	if _, err := a.Store.SetVolumeTypeExtraSpecs(r.Context(), r.PathValue("id"), map[string]string{key: val}); err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]string{key: val})
	return nil
}

// deleteSpec is DELETE /types/{id}/extra_specs/{key} (202).
func (a *API) deleteSpec(w http.ResponseWriter, r *http.Request, q *request) error {
	if _, err := a.specsType(r, q); err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, "volume_extension:types_extra_specs:delete", nil); err != nil {
		return err
	}
	if _, err := a.Store.DeleteVolumeTypeExtraSpec(r.Context(), r.PathValue("id"), r.PathValue("key")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}
