package api

import (
	"net/http"

	"github.com/gostack/gostack/dns"
	"github.com/gostack/gostack/kit/httpapi"
)

func (a *API) tsigKeyRoutes(rt *httpapi.Router) {
	rt.HandleFunc("POST /v2/tsigkeys", a.authed(a.createTSIGKey))
	rt.HandleFunc("GET /v2/tsigkeys", a.authed(a.listTSIGKeys))
	rt.HandleFunc("GET /v2/tsigkeys/{tsigkey_id}", a.authed(a.showTSIGKey))
	rt.HandleFunc("PATCH /v2/tsigkeys/{tsigkey_id}", a.authed(a.updateTSIGKey))
	rt.HandleFunc("DELETE /v2/tsigkeys/{tsigkey_id}", a.authed(a.deleteTSIGKey))
}

// tsigKeySchema is TsigKeyAPIv2Adapter's fields.
var tsigKeySchema = schema{resource: "tsigkey", fields: map[string]access{
	"id": readOnly, "name": writable, "algorithm": writable, "secret": writable, "scope": writable,
	"resource_id": writable, "created_at": readOnly, "updated_at": readOnly,
}}

// tsigKeyFields are the fields of a key, all required on create.
var tsigKeyFields = []string{"name", "algorithm", "secret", "scope", "resource_id"}

// setTSIGKey reads the body's fields into k.
func setTSIGKey(o object, k *dns.TSIGKey, create bool) error {
	dst := map[string]*string{"name": &k.Name, "algorithm": &k.Algorithm, "secret": &k.Secret, "scope": &k.Scope, "resource_id": &k.ResourceID}
	for _, f := range tsigKeyFields {
		if !o.has(f) {
			if create {
				return required(f)
			}
			continue
		}
		v, err := o.str(f, false)
		if err != nil {
			return err
		}
		*dst[f] = v
	}
	if k.Secret == "" {
		return invalidObject("secret", "'secret' should not be empty")
	}
	return nil
}

func (a *API) createTSIGKey(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	o, err := decode(w, r, tsigKeySchema, nil)
	if err != nil {
		fail(w, r, err)
		return
	}
	var k dns.TSIGKey
	if err := setTSIGKey(o, &k, true); err != nil {
		fail(w, r, err)
		return
	}
	if err := a.enforce(ctx, q, "create_tsigkey", nil); err != nil {
		fail(w, r, err)
		return
	}
	k, err = a.Store.CreateTSIGKey(ctx, k)
	if err != nil {
		fail(w, r, err)
		return
	}
	v := renderTSIGKey(r, k)
	writeCreated(w, http.StatusCreated, v.Links.Self, v)
}

func (a *API) listTSIGKeys(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	if err := a.enforce(ctx, q, "find_tsigkeys", nil); err != nil {
		fail(w, r, err)
		return
	}
	lq, err := parseList(r, q, tsigKeySortKeys, "name", "algorithm", "scope")
	if err != nil {
		fail(w, r, err)
		return
	}
	keys, err := a.Store.ListTSIGKeys(ctx, lq.filters["scope"], "")
	if err != nil {
		fail(w, r, err)
		return
	}
	var match []dns.TSIGKey
	for _, k := range keys {
		if wildcard(lq.filters["name"], k.Name) && wildcard(lq.filters["algorithm"], k.Algorithm) {
			match = append(match, k)
		}
	}
	id := func(k dns.TSIGKey) string { return k.ID }
	match, err = pageInMemory(match, lq, id, func(k dns.TSIGKey, key string) string {
		switch key {
		case "id":
			return k.ID
		case "name":
			return k.Name
		case "updated_at":
			return timestamp(k.UpdatedAt)
		}
		return timestamp(k.CreatedAt)
	})
	if err != nil {
		fail(w, r, err)
		return
	}
	match, links := cut(r, lq, match, id)
	views := make([]tsigKeyView, len(match))
	for i, k := range match {
		views[i] = renderTSIGKey(r, k)
	}
	httpapi.WriteJSON(w, http.StatusOK, collection{key: "tsigkeys", items: views, links: links})
}

// loadTSIGKey checks rule, then reads the key of the path (central
// checks the policy before it reads).
func (a *API) loadTSIGKey(r *http.Request, q *request, rule string) (dns.TSIGKey, error) {
	ids, err := pathIDs(r, "tsigkey_id")
	if err != nil {
		return dns.TSIGKey{}, err
	}
	if err := a.enforce(r.Context(), q, rule, map[string]any{"tsigkey_id": ids[0]}); err != nil {
		return dns.TSIGKey{}, err
	}
	return a.Store.GetTSIGKey(r.Context(), ids[0])
}

func (a *API) showTSIGKey(w http.ResponseWriter, r *http.Request, q *request) {
	k, err := a.loadTSIGKey(r, q, "get_tsigkey")
	if err != nil {
		fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, renderTSIGKey(r, k))
}

func (a *API) updateTSIGKey(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	if err := jsonPatch(r); err != nil {
		fail(w, r, err)
		return
	}
	k, err := a.loadTSIGKey(r, q, "get_tsigkey")
	if err != nil {
		fail(w, r, err)
		return
	}
	o, err := decode(w, r, tsigKeySchema, asMap(renderTSIGKey(r, k)))
	if err != nil {
		fail(w, r, err)
		return
	}
	if err := setTSIGKey(o, &k, false); err != nil {
		fail(w, r, err)
		return
	}
	if err := a.enforce(ctx, q, "update_tsigkey", map[string]any{"tsigkey_id": k.ID}); err != nil {
		fail(w, r, err)
		return
	}
	k, err = a.Store.UpdateTSIGKey(ctx, k)
	if err != nil {
		fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, renderTSIGKey(r, k))
}

func (a *API) deleteTSIGKey(w http.ResponseWriter, r *http.Request, q *request) {
	ids, err := pathIDs(r, "tsigkey_id")
	if err == nil {
		err = a.enforce(r.Context(), q, "delete_tsigkey", map[string]any{"tsigkey_id": ids[0]})
	}
	if err == nil {
		err = a.Store.DeleteTSIGKey(r.Context(), ids[0])
	}
	if err != nil {
		fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
