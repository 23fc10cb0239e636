package api

import (
	"net/http"

	"github.com/gostack/gostack/dns"
	"github.com/gostack/gostack/kit/httpapi"
)

// Pools are read-only here: Designate deprecated its pool writes in
// favour of designate-manage, and the daemon's configuration sets the
// default pool's nameservers.
func (a *API) poolRoutes(rt *httpapi.Router) {
	rt.HandleFunc("GET /v2/pools", a.authed(a.listPools))
	rt.HandleFunc("GET /v2/pools/{pool_id}", a.authed(a.showPool))
}

func (a *API) listPools(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	if err := a.enforce(ctx, q, "find_pools", nil); err != nil {
		fail(w, r, err)
		return
	}
	lq, err := parseList(r, q, poolSortKeys, "name")
	if err != nil {
		fail(w, r, err)
		return
	}
	pools, err := a.Store.ListPools(ctx)
	if err != nil {
		fail(w, r, err)
		return
	}
	var match []dns.Pool
	for _, p := range pools {
		if wildcard(lq.filters["name"], p.Name) {
			match = append(match, p)
		}
	}
	id := func(p dns.Pool) string { return p.ID }
	match, err = pageInMemory(match, lq, id, func(p dns.Pool, key string) string {
		switch key {
		case "id":
			return p.ID
		case "name":
			return p.Name
		case "updated_at":
			return timestamp(p.UpdatedAt)
		}
		return timestamp(p.CreatedAt)
	})
	if err != nil {
		fail(w, r, err)
		return
	}
	match, links := cut(r, lq, match, id)
	views := make([]poolView, len(match))
	for i, p := range match {
		views[i] = renderPool(r, p)
	}
	httpapi.WriteJSON(w, http.StatusOK, collection{key: "pools", items: views, links: links})
}

func (a *API) showPool(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	ids, err := pathIDs(r, "pool_id")
	if err == nil {
		err = a.enforce(ctx, q, "get_pool", map[string]any{"pool_id": ids[0]})
	}
	var p dns.Pool
	if err == nil {
		p, err = a.Store.GetPool(ctx, ids[0])
	}
	if err != nil {
		fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, renderPool(r, p))
}
