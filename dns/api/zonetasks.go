package api

import (
	"net/http"
	"strings"

	"github.com/gostack/gostack/dns"
	"github.com/gostack/gostack/kit/httpapi"
)

// zoneTaskRoutes are the zone tasks besides transfers, imports and
// exports: abandon, xfr and pool_move.
func (a *API) zoneTaskRoutes(rt *httpapi.Router) {
	rt.HandleFunc("POST /v2/zones/{zone_id}/tasks/abandon", a.authed(a.abandonZone))
	rt.HandleFunc("POST /v2/zones/{zone_id}/tasks/xfr", a.authed(a.xfrZone))
	rt.HandleFunc("POST /v2/zones/{zone_id}/tasks/pool_move", a.authed(a.poolMoveZone))
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

// poolMoveZone is PoolMoveController, in its order: the zone id, the
// body (a JSON object), get_zone, a zone being deleted (400), a pool_id
// naming the zone's own pool (400), the body's keys as the zone adapter
// reads them and pool_id a UUID or null (400 invalid_object), then
// central's pool_move_zone: its policy (admins, 403) and
// dns.Store.MoveZone. 202 with the JSON empty string, as the xfr task.
func (a *API) poolMoveZone(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	z, poolID, err := a.poolMoveRequest(w, r, q)
	if err == nil {
		target := projectTarget(q.project)
		target["zone_id"] = z.ID
		err = a.enforce(ctx, q, "pool_move_zone", target)
	}
	if err == nil {
		_, err = a.Store.MoveZone(ctx, z.ID, poolID)
	}
	if err != nil {
		fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusAccepted, "")
}

// poolMoveRequest reads a pool move up to central's call: the zone and
// the target pool ("" to let the scheduler pick).
func (a *API) poolMoveRequest(w http.ResponseWriter, r *http.Request, q *request) (dns.Zone, string, error) {
	if _, err := pathIDs(r, "zone_id"); err != nil {
		return dns.Zone{}, "", err
	}
	raw, err := decodeObject(w, r)
	if err != nil {
		return dns.Zone{}, "", err
	}
	z, err := a.loadZone(r.Context(), r, q, "get_zone")
	if err != nil {
		return dns.Zone{}, "", err
	}
	if z.Action == dns.ActionDelete {
		return dns.Zone{}, "", badRequestError("Can not move a deleting zone")
	}
	if v, ok := raw["pool_id"]; ok && sameJSON(v, z.PoolID) {
		return dns.Zone{}, "", badRequestError("Target pool must be different for zone pool move")
	}
	o, err := zoneSchema(true).object(raw, asMap(renderZone(r, z)))
	if err != nil || !o.has("pool_id") {
		return z, "", err
	}
	id, err := o.str("pool_id", true)
	if err == nil && id != "" && !uuidPattern.MatchString(id) {
		err = invalidObject("pool_id", "'%s' is not a 'uuid'", id)
	}
	return z, strings.ToLower(id), err
}
