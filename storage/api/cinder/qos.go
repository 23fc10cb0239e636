package cinder

import (
	"net/http"
	"unicode/utf8"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/storage"
)

// qosRoutes are Cinder's qos-specs extension
// (api/contrib/qos_specs_manage.py): the specs and their member actions
// (associations, associate, disassociate, disassociate_all as GETs,
// delete_keys as a PUT). Admins only, by Cinder's default policies.
func (a *API) qosRoutes(rt *httpapi.Router) {
	rt.HandleFunc("GET /qos-specs", a.op(a.listQoS))
	rt.HandleFunc("POST /qos-specs", a.op(a.createQoS))
	rt.HandleFunc("GET /qos-specs/{id}", a.op(a.showQoS))
	rt.HandleFunc("PUT /qos-specs/{id}", a.op(a.updateQoS))
	rt.HandleFunc("DELETE /qos-specs/{id}", a.op(a.deleteQoS))
	rt.HandleFunc("PUT /qos-specs/{id}/delete_keys", a.op(a.deleteQoSKeys))
	rt.HandleFunc("GET /qos-specs/{id}/associations", a.op(a.qosAssociations))
	rt.HandleFunc("GET /qos-specs/{id}/associate", a.op(a.associateQoS))
	rt.HandleFunc("GET /qos-specs/{id}/disassociate", a.op(a.disassociateQoS))
	rt.HandleFunc("GET /qos-specs/{id}/disassociate_all", a.op(a.disassociateAllQoS))
}

const qosCollection = "qos-specs"

// qosView is Cinder's qos specs view (api/views/qos_specs.py detail).
func qosView(s storage.QoSSpecs) map[string]any {
	specs := s.Specs
	if specs == nil {
		specs = map[string]*string{}
	}
	return map[string]any{"id": s.ID, "name": s.Name, "consumer": s.Consumer, "specs": specs}
}

// qosColumns are the columns of Cinder's quality_of_service_specs
// table, which its list filters on: a filter that is none (name,
// consumer) gives an empty list. id and value (the specs' name) filter
// here; the other columns are refused as not supported.
var qosColumns = []string{"created_at", "deleted", "deleted_at", "id", "key", "specs_id", "updated_at", "value"}

// listQoS is Cinder's index: qos_specs_manage:get_all, the pagination
// and sort (created_at desc by default; the keys are the table's
// columns, value being the name), what is left filters.
func (a *API) listQoS(w http.ResponseWriter, r *http.Request, q *request) error {
	if err := a.authorize(r.Context(), q, "volume_extension:qos_specs_manage:get_all", nil); err != nil {
		return err
	}
	query := newListQuery(r.URL.Query())
	p, err := query.readPage()
	if err != nil {
		return err
	}
	var f storage.QoSSpecsFilter
	if f.SortKeys, f.SortDirs, err = query.readSort(); err != nil {
		return err
	}
	f.ID, _ = query.pop("id")
	f.Name, _ = query.pop("value")
	none, err := leftFilters(query, qosColumns, "qos specs")
	if err != nil {
		return err
	}
	var list []storage.QoSSpecs
	if !none && p.limit > 0 {
		f.Marker, f.Limit = p.marker, p.limit+p.offset
		if list, _, err = a.Store.QoSSpecsList(r.Context(), f); err != nil {
			return err
		}
		list = list[min(p.offset, len(list)):]
	}
	res := listAnswer(q, r, "qos_specs", "qos_specs_links", qosCollection, list, func(s storage.QoSSpecs) string { return s.ID }, qosView)
	httpapi.WriteJSON(w, http.StatusOK, res)
	return nil
}

// createQoS is Cinder's create (200): the schema, qos_specs_manage:create,
// the name stripped, the other keys and values checked in the body's
// order as Cinder's validate_dictionary_string_length (a value must be
// a string or null), then the Store's create.
func (a *API) createQoS(w http.ResponseWriter, r *http.Request, q *request) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	if body == nil {
		return errNoBody
	}
	if err := qosCreateSchema.check(nil, body); err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, "volume_extension:qos_specs_manage:create", nil); err != nil {
		return err
	}
	in := body.Get("qos_specs")
	specs := map[string]*string{}
	var name string
	for i, k := range in.Keys {
		v := in.Items[i]
		if k == "name" {
			name = pyStrip(v.Text)
			continue
		}
		if n := utf8.RuneCountInString(k); n < 1 || n > 255 {
			return storage.CheckQoSSpecsItem(k, nil)
		}
		switch {
		case v.Null():
			specs[k] = nil
		case v.Kind == '"':
			text := v.Text
			specs[k] = &text
		default:
			return &fault.Error{Kind: fault.BadRequest, Type: "InvalidInput",
				Message: "Invalid input received: Value for key \"" + k + "\" is not a string or unicode"}
		}
		if err := storage.CheckQoSSpecsItem(k, specs[k]); err != nil {
			return err
		}
	}
	s, err := a.Store.CreateQoSSpecs(r.Context(), name, specs)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"qos_specs": qosView(s), "links": q.links(qosCollection, s.ID)})
	return nil
}

// showQoS is Cinder's show.
func (a *API) showQoS(w http.ResponseWriter, r *http.Request, q *request) error {
	if err := a.authorize(r.Context(), q, "volume_extension:qos_specs_manage:get", nil); err != nil {
		return err
	}
	s, err := a.Store.QoSSpecs(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"qos_specs": qosView(s), "links": q.links(qosCollection, s.ID)})
	return nil
}

// updateQoS is Cinder's update (200): the schema, qos_specs_manage:update,
// the keys set (consumer the consumer); the answer is the body.
func (a *API) updateQoS(w http.ResponseWriter, r *http.Request, q *request) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	if body == nil {
		return errNoBody
	}
	if err := qosSetSchema.check(nil, body); err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, "volume_extension:qos_specs_manage:update", nil); err != nil {
		return err
	}
	in := body.Get("qos_specs")
	specs := make(map[string]*string, len(in.Keys))
	for i, k := range in.Keys {
		if v := in.Items[i]; !v.Null() {
			text := v.Text
			specs[k] = &text
		} else {
			specs[k] = nil
		}
	}
	if _, err := a.Store.UpdateQoSSpecs(r.Context(), r.PathValue("id"), specs); err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, body)
	return nil
}

// deleteQoS is Cinder's delete (202): qos_specs_manage:delete, force as
// a strict boolean; specs still associated are refused unless forced.
func (a *API) deleteQoS(w http.ResponseWriter, r *http.Request, q *request) error {
	if err := a.authorize(r.Context(), q, "volume_extension:qos_specs_manage:delete", nil); err != nil {
		return err
	}
	force, err := newListQuery(r.URL.Query()).boolParam("force")
	if err != nil {
		return err
	}
	err = a.Store.DeleteQoSSpecs(r.Context(), r.PathValue("id"), force)
	if fault.TypeOf(err) == "QoSSpecsInUse" {
		return badRequest("Qos specs still in use.")
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// deleteQoSKeys is Cinder's delete_keys (202).
func (a *API) deleteQoSKeys(w http.ResponseWriter, r *http.Request, q *request) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	if body == nil {
		return errNoBody
	}
	if err := qosUnsetSchema.check(nil, body); err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, "volume_extension:qos_specs_manage:delete", nil); err != nil {
		return err
	}
	in := body.Get("keys")
	keys := make([]string, len(in.Items))
	for i, k := range in.Items {
		keys[i] = k.Text
	}
	if _, err := a.Store.DeleteQoSSpecsKeys(r.Context(), r.PathValue("id"), keys); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// qosAssociations is Cinder's associations: the types of the specs.
func (a *API) qosAssociations(w http.ResponseWriter, r *http.Request, q *request) error {
	if err := a.authorize(r.Context(), q, "volume_extension:qos_specs_manage:get_all", nil); err != nil {
		return err
	}
	as, err := a.Store.QoSAssociations(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"qos_associations": as})
	return nil
}

// qosTypeParam is the vol_type_id of associate and disassociate (the
// last given), which must not be empty.
func qosTypeParam(r *http.Request) (string, error) {
	id, _ := newListQuery(r.URL.Query()).last("vol_type_id")
	if id == "" {
		return "", badRequest("Volume Type id must not be None.")
	}
	return id, nil
}

// associateQoS is Cinder's associate (202).
func (a *API) associateQoS(w http.ResponseWriter, r *http.Request, q *request) error {
	if err := a.authorize(r.Context(), q, "volume_extension:qos_specs_manage:update", nil); err != nil {
		return err
	}
	typeID, err := qosTypeParam(r)
	if err != nil {
		return err
	}
	if err := a.Store.AssociateQoSSpecs(r.Context(), r.PathValue("id"), typeID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// disassociateQoS is Cinder's disassociate (202).
func (a *API) disassociateQoS(w http.ResponseWriter, r *http.Request, q *request) error {
	if err := a.authorize(r.Context(), q, "volume_extension:qos_specs_manage:update", nil); err != nil {
		return err
	}
	typeID, err := qosTypeParam(r)
	if err != nil {
		return err
	}
	if err := a.Store.DisassociateQoSSpecs(r.Context(), r.PathValue("id"), typeID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// disassociateAllQoS is Cinder's disassociate_all (202).
func (a *API) disassociateAllQoS(w http.ResponseWriter, r *http.Request, q *request) error {
	if err := a.authorize(r.Context(), q, "volume_extension:qos_specs_manage:update", nil); err != nil {
		return err
	}
	if err := a.Store.DisassociateAllQoSSpecs(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}
