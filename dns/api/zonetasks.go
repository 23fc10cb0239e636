package api

import (
	"net/http"

	"github.com/gostack/gostack/kit/httpapi"
)

// zoneTaskRoutes are the zone tasks besides transfers, imports and
// exports: abandon and xfr (pool_move is not served).
func (a *API) zoneTaskRoutes(rt *httpapi.Router) {
	rt.HandleFunc("POST /v2/zones/{zone_id}/tasks/abandon", a.authed(a.abandonZone))
	rt.HandleFunc("POST /v2/zones/{zone_id}/tasks/xfr", a.authed(a.xfrZone))
}

// abandonZone is AbandonController: central's delete_zone with abandon
// set (policy abandon_zone, admin by default), which removes the zone
// from the database at once and answers 204 with no body. See
// dns.Store.AbandonZone for what becomes of the zone's servers.
func (a *API) abandonZone(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	z, err := a.loadZone(ctx, r, q, "abandon_zone")
	if err == nil {
		_, err = a.Store.AbandonZone(ctx, q.viewer(), z.ID, q.deleteOptions())
	}
	if err != nil {
		fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// xfrZone is XfrController: get_zone, then central's xfr_zone (policy
// xfr_zone on the zone, then the zone's type), which has the zone's
// masters checked at once (dns.Store.AskTransfer); 202 with the JSON
// empty string (""), which is what pecan makes of the controller's
// empty return value.
func (a *API) xfrZone(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	z, err := a.loadZone(ctx, r, q, "get_zone")
	if err == nil {
		err = a.enforce(ctx, q, "xfr_zone", q.zoneTarget(z))
	}
	if err == nil {
		_, err = a.Store.AskTransfer(ctx, q.viewer(), z.ID)
	}
	if err != nil {
		fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusAccepted, "")
}
