package api

import (
	"net/http"

	"github.com/gostack/gostack/dns"
	"github.com/gostack/gostack/kit/httpapi"
)

// Blacklists are the operator's zone-name patterns (Designate's
// BlacklistsController, admin by default): a new zone whose name one
// matches is refused to callers without use_blacklisted_zone (see
// checkZoneName). Patterns are Go regular expressions (dns.Blacklist).
func (a *API) blacklistRoutes(rt *httpapi.Router) {
	rt.HandleFunc("POST /v2/blacklists", a.authed(a.createBlacklist))
	rt.HandleFunc("GET /v2/blacklists", a.authed(a.listBlacklists))
	rt.HandleFunc("GET /v2/blacklists/{blacklist_id}", a.authed(a.showBlacklist))
	rt.HandleFunc("PATCH /v2/blacklists/{blacklist_id}", a.authed(a.updateBlacklist))
	rt.HandleFunc("DELETE /v2/blacklists/{blacklist_id}", a.authed(a.deleteBlacklist))
}

// blacklistSchema is BlacklistAPIv2Adapter's fields.
var blacklistSchema = schema{resource: "blacklist", fields: map[string]access{
	"id": readOnly, "pattern": writable, "description": writable, "created_at": readOnly, "updated_at": readOnly,
}}

var blacklistSortKeys = []string{"created_at", "id", "updated_at", "pattern"}

type blacklistView struct {
	ID          string   `json:"id"`
	Pattern     string   `json:"pattern"`
	Description *string  `json:"description"`
	CreatedAt   string   `json:"created_at"`
	UpdatedAt   *string  `json:"updated_at"`
	Links       selfLink `json:"links"`
}

func renderBlacklist(r *http.Request, b dns.Blacklist) blacklistView {
	return blacklistView{ID: b.ID, Pattern: b.Pattern, Description: nullable(b.Description), CreatedAt: timestamp(b.CreatedAt),
		UpdatedAt: updatedAt(b.CreatedAt, b.UpdatedAt), Links: selfLink{href(r, "blacklists", b.ID)}}
}

// setBlacklist reads a body's pattern (required on create) and
// description (nullable) into b.
func setBlacklist(o object, b *dns.Blacklist, create bool) error {
	var err error
	if o.has("pattern") || create {
		if b.Pattern, err = o.requiredStr("pattern"); err != nil {
			return err
		}
	}
	if o.has("description") {
		if b.Description, err = o.str("description", true); err != nil {
			return err
		}
	}
	return nil
}

func (a *API) createBlacklist(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	o, err := decode(w, r, blacklistSchema, nil)
	if err != nil {
		fail(w, r, err)
		return
	}
	var b dns.Blacklist
	if err := setBlacklist(o, &b, true); err != nil {
		fail(w, r, err)
		return
	}
	if err := a.enforce(ctx, q, "create_blacklist", nil); err != nil {
		fail(w, r, err)
		return
	}
	if b, err = a.Store.CreateBlacklist(ctx, b); err != nil {
		fail(w, r, err)
		return
	}
	v := renderBlacklist(r, b)
	writeCreated(w, http.StatusCreated, v.Links.Self, v)
}

func (a *API) listBlacklists(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	if err := a.enforce(ctx, q, "find_blacklists", nil); err != nil {
		fail(w, r, err)
		return
	}
	lq, err := parseList(r, q, blacklistSortKeys, "pattern")
	if err != nil {
		fail(w, r, err)
		return
	}
	list, err := a.Store.ListBlacklists(ctx)
	if err != nil {
		fail(w, r, err)
		return
	}
	var match []dns.Blacklist
	for _, b := range list {
		if wildcard(lq.filters["pattern"], b.Pattern) {
			match = append(match, b)
		}
	}
	writeMemoryList(w, r, lq, "blacklists", false, match, func(b dns.Blacklist) taskKeys {
		return taskKeys{id: b.ID, created: b.CreatedAt, updated: b.UpdatedAt, name: b.Pattern}
	}, func(r *http.Request, b dns.Blacklist) any { return renderBlacklist(r, b) })
}

// loadBlacklist checks rule, then reads the pattern of the path (central
// checks the policy before it reads).
func (a *API) loadBlacklist(r *http.Request, q *request, rule string) (dns.Blacklist, error) {
	ids, err := pathIDs(r, "blacklist_id")
	if err != nil {
		return dns.Blacklist{}, err
	}
	if err := a.enforce(r.Context(), q, rule, map[string]any{"blacklist_id": ids[0]}); err != nil {
		return dns.Blacklist{}, err
	}
	return a.Store.GetBlacklist(r.Context(), ids[0])
}

func (a *API) showBlacklist(w http.ResponseWriter, r *http.Request, q *request) {
	b, err := a.loadBlacklist(r, q, "get_blacklist")
	if err != nil {
		fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, renderBlacklist(r, b))
}

func (a *API) updateBlacklist(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	if err := jsonPatch(r); err != nil {
		fail(w, r, err)
		return
	}
	b, err := a.loadBlacklist(r, q, "get_blacklist")
	if err != nil {
		fail(w, r, err)
		return
	}
	o, err := decode(w, r, blacklistSchema, asMap(renderBlacklist(r, b)))
	if err != nil {
		fail(w, r, err)
		return
	}
	if err := setBlacklist(o, &b, false); err != nil {
		fail(w, r, err)
		return
	}
	if err := a.enforce(ctx, q, "update_blacklist", map[string]any{"blacklist_id": b.ID}); err != nil {
		fail(w, r, err)
		return
	}
	if b, err = a.Store.UpdateBlacklist(ctx, b); err != nil {
		fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, renderBlacklist(r, b))
}

func (a *API) deleteBlacklist(w http.ResponseWriter, r *http.Request, q *request) {
	ids, err := pathIDs(r, "blacklist_id")
	if err == nil {
		err = a.enforce(r.Context(), q, "delete_blacklist", map[string]any{"blacklist_id": ids[0]})
	}
	if err == nil {
		err = a.Store.DeleteBlacklist(r.Context(), ids[0])
	}
	if err != nil {
		fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
