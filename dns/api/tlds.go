package api

import (
	"net/http"

	"github.com/gostack/gostack/dns"
	"github.com/gostack/gostack/kit/httpapi"
)

// TLDs are the operator's (Designate's TldsController, admin by default):
// once one exists, new zones must lie below one (dns.Store.CheckTLD).
func (a *API) tldRoutes(rt *httpapi.Router) {
	rt.HandleFunc("POST /v2/tlds", a.authed(a.createTLD))
	rt.HandleFunc("GET /v2/tlds", a.authed(a.listTLDs))
	rt.HandleFunc("GET /v2/tlds/{tld_id}", a.authed(a.showTLD))
	rt.HandleFunc("PATCH /v2/tlds/{tld_id}", a.authed(a.updateTLD))
	rt.HandleFunc("DELETE /v2/tlds/{tld_id}", a.authed(a.deleteTLD))
}

// tldSchema is TldAPIv2Adapter's fields.
var tldSchema = schema{resource: "tld", fields: map[string]access{
	"id": readOnly, "name": writable, "description": writable, "created_at": readOnly, "updated_at": readOnly,
}}

var tldSortKeys = []string{"created_at", "id", "updated_at", "name"}

type tldView struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Description *string  `json:"description"`
	CreatedAt   string   `json:"created_at"`
	UpdatedAt   *string  `json:"updated_at"`
	Links       selfLink `json:"links"`
}

func renderTLD(r *http.Request, t dns.TLD) tldView {
	return tldView{ID: t.ID, Name: t.Name, Description: nullable(t.Description), CreatedAt: timestamp(t.CreatedAt),
		UpdatedAt: updatedAt(t.CreatedAt, t.UpdatedAt), Links: selfLink{href(r, "tlds", t.ID)}}
}

// setTLD reads a body's name (required on create) and description
// (nullable) into t.
func setTLD(o object, t *dns.TLD, create bool) error {
	var err error
	if o.has("name") || create {
		if t.Name, err = o.requiredStr("name"); err != nil {
			return err
		}
	}
	if o.has("description") {
		if t.Description, err = o.str("description", true); err != nil {
			return err
		}
	}
	return nil
}

func (a *API) createTLD(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	o, err := decode(w, r, tldSchema, nil)
	if err != nil {
		fail(w, r, err)
		return
	}
	var t dns.TLD
	if err := setTLD(o, &t, true); err != nil {
		fail(w, r, err)
		return
	}
	if err := a.enforce(ctx, q, "create_tld", nil); err != nil {
		fail(w, r, err)
		return
	}
	if t, err = a.Store.CreateTLD(ctx, t); err != nil {
		fail(w, r, err)
		return
	}
	v := renderTLD(r, t)
	writeCreated(w, http.StatusCreated, v.Links.Self, v)
}

func (a *API) listTLDs(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	if err := a.enforce(ctx, q, "find_tlds", nil); err != nil {
		fail(w, r, err)
		return
	}
	lq, err := parseList(r, q, tldSortKeys, "name")
	if err != nil {
		fail(w, r, err)
		return
	}
	tlds, err := a.Store.ListTLDs(ctx)
	if err != nil {
		fail(w, r, err)
		return
	}
	var match []dns.TLD
	for _, t := range tlds {
		if wildcard(lq.filters["name"], t.Name) {
			match = append(match, t)
		}
	}
	writeMemoryList(w, r, lq, "tlds", false, match, func(t dns.TLD) taskKeys {
		return taskKeys{id: t.ID, created: t.CreatedAt, updated: t.UpdatedAt, name: t.Name}
	}, func(r *http.Request, t dns.TLD) any { return renderTLD(r, t) })
}

// loadTLD checks rule, then reads the TLD of the path (central checks the
// policy before it reads).
func (a *API) loadTLD(r *http.Request, q *request, rule string) (dns.TLD, error) {
	ids, err := pathIDs(r, "tld_id")
	if err != nil {
		return dns.TLD{}, err
	}
	if err := a.enforce(r.Context(), q, rule, map[string]any{"tld_id": ids[0]}); err != nil {
		return dns.TLD{}, err
	}
	return a.Store.GetTLD(r.Context(), ids[0])
}

func (a *API) showTLD(w http.ResponseWriter, r *http.Request, q *request) {
	t, err := a.loadTLD(r, q, "get_tld")
	if err != nil {
		fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, renderTLD(r, t))
}

func (a *API) updateTLD(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	if err := jsonPatch(r); err != nil {
		fail(w, r, err)
		return
	}
	t, err := a.loadTLD(r, q, "get_tld")
	if err != nil {
		fail(w, r, err)
		return
	}
	o, err := decode(w, r, tldSchema, asMap(renderTLD(r, t)))
	if err != nil {
		fail(w, r, err)
		return
	}
	if err := setTLD(o, &t, false); err != nil {
		fail(w, r, err)
		return
	}
	if err := a.enforce(ctx, q, "update_tld", map[string]any{"tld_id": t.ID}); err != nil {
		fail(w, r, err)
		return
	}
	if t, err = a.Store.UpdateTLD(ctx, t); err != nil {
		fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, renderTLD(r, t))
}

func (a *API) deleteTLD(w http.ResponseWriter, r *http.Request, q *request) {
	ids, err := pathIDs(r, "tld_id")
	if err == nil {
		err = a.enforce(r.Context(), q, "delete_tld", map[string]any{"tld_id": ids[0]})
	}
	if err == nil {
		err = a.Store.DeleteTLD(r.Context(), ids[0])
	}
	if err != nil {
		fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
