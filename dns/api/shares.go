package api

import (
	"net/http"

	"github.com/gostack/gostack/dns"
	"github.com/gostack/gostack/kit/httpapi"
)

// shareRoutes are Designate's shared zones (2023.1, API 2.1).
func (a *API) shareRoutes(rt *httpapi.Router) {
	rt.HandleFunc("POST /v2/zones/{zone_id}/shares", a.authed(a.shareZone))
	rt.HandleFunc("GET /v2/zones/{zone_id}/shares", a.authed(a.listShares))
	rt.HandleFunc("GET /v2/zones/{zone_id}/shares/{zone_share_id}", a.authed(a.showShare))
	rt.HandleFunc("DELETE /v2/zones/{zone_id}/shares/{zone_share_id}", a.authed(a.unshareZone))
}

// shareSchema is SharedZoneAPIv2Adapter's fields: target_project_id is
// the one a body sets.
var shareSchema = schema{resource: "shared_zone", fields: map[string]access{
	"id": readOnly, "zone_id": readOnly, "project_id": readOnly, "target_project_id": immutable,
	"created_at": readOnly, "updated_at": readOnly,
}}

// shareSortKeys are SharedZonesController's SORT_KEYS.
var shareSortKeys = []string{"created_at", "updated_at"}

type shareView struct {
	ID              string      `json:"id"`
	ZoneID          string      `json:"zone_id"`
	ProjectID       string      `json:"project_id"`
	TargetProjectID string      `json:"target_project_id"`
	CreatedAt       string      `json:"created_at"`
	UpdatedAt       *string     `json:"updated_at"`
	Links           shareLinked `json:"links"`
}

type shareLinked struct {
	Self string `json:"self"`
	Zone string `json:"zone"`
}

func renderShare(r *http.Request, s dns.ZoneShare) any {
	return shareView{ID: s.ID, ZoneID: s.ZoneID, ProjectID: s.ProjectID, TargetProjectID: s.TargetProjectID,
		CreatedAt: timestamp(s.CreatedAt), UpdatedAt: updatedAt(s.CreatedAt, s.UpdatedAt),
		Links: shareLinked{Self: href(r, "zones", s.ZoneID, "shares", s.ID), Zone: href(r, "zones", s.ZoneID)}}
}

// shareZone is SharedZonesController.post_all and central's share_zone:
// the zone as the caller sees it (one shared with it too), policy
// share_zone on the zone's owner, then the store's checks; 201.
func (a *API) shareZone(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	if _, err := pathIDs(r, "zone_id"); err != nil {
		fail(w, r, err)
		return
	}
	o, err := decode(w, r, shareSchema, nil)
	if err != nil {
		fail(w, r, err)
		return
	}
	target, err := o.requiredStr("target_project_id")
	if err != nil {
		fail(w, r, err)
		return
	}
	z, err := a.loadZone(ctx, r, q, "share_zone")
	if err != nil {
		fail(w, r, err)
		return
	}
	s, err := a.Store.ShareZone(ctx, q.viewer(), z.ID, target)
	if err != nil {
		fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusCreated, renderShare(r, s))
}

// listShares is SharedZonesController.get_all and central's
// find_shared_zones: find_zone_shares, then find_project_zone_share on
// the project asked for (target_project_id, or the caller's own) unless
// the caller sees every project. The shares listed are those the caller
// may see; a zone it cannot see has none (Designate does not look the
// zone up). Shares are not paged in storage: no "metadata".
func (a *API) listShares(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	ids, err := pathIDs(r, "zone_id")
	if err != nil {
		fail(w, r, err)
		return
	}
	lq, err := parseList(r, q, shareSortKeys, "target_project_id")
	if err != nil {
		fail(w, r, err)
		return
	}
	if err := a.enforce(ctx, q, "find_zone_shares", nil); err != nil {
		fail(w, r, err)
		return
	}
	if !q.all {
		project := q.project
		if t, ok := lq.filters["target_project_id"]; ok {
			project = t
		}
		if err := a.enforce(ctx, q, "find_project_zone_share", projectTarget(project)); err != nil {
			fail(w, r, err)
			return
		}
	}
	shares, err := a.Store.ListZoneShares(ctx, q.viewer(), ids[0], lq.filters["target_project_id"])
	if err != nil {
		fail(w, r, err)
		return
	}
	writeMemoryList(w, r, lq, "shared_zones", false, shares, func(s dns.ZoneShare) taskKeys {
		return taskKeys{id: s.ID, created: s.CreatedAt, updated: s.UpdatedAt}
	}, renderShare)
}

// loadShare is central's get_shared_zone: the share, if the caller may
// see it, then policy get_zone_share on its project (the zone's owner).
func (a *API) loadShare(r *http.Request, q *request) (dns.ZoneShare, error) {
	ids, err := pathIDs(r, "zone_id", "zone_share_id")
	if err != nil {
		return dns.ZoneShare{}, err
	}
	s, err := a.Store.GetZoneShare(r.Context(), q.viewer(), ids[0], ids[1])
	if err != nil {
		return dns.ZoneShare{}, err
	}
	if err := a.enforce(r.Context(), q, "get_zone_share", projectTarget(s.ProjectID)); err != nil {
		return dns.ZoneShare{}, err
	}
	return s, nil
}

func (a *API) showShare(w http.ResponseWriter, r *http.Request, q *request) {
	s, err := a.loadShare(r, q)
	if err != nil {
		fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, renderShare(r, s))
}

// unshareZone is central's unshare_zone: get_shared_zone, policy
// unshare_zone on the share's project, then the store's check of the
// target's recordsets; 204.
func (a *API) unshareZone(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	s, err := a.loadShare(r, q)
	if err == nil {
		err = a.enforce(ctx, q, "unshare_zone", projectTarget(s.ProjectID))
	}
	if err == nil {
		err = a.Store.UnshareZone(ctx, q.viewer(), s.ZoneID, s.ID)
	}
	if err != nil {
		fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
