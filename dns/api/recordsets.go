package api

import (
	"context"
	"net/http"

	"github.com/gostack/gostack/dns"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

func (a *API) recordSetRoutes(rt *httpapi.Router) {
	rt.HandleFunc("POST /v2/zones/{zone_id}/recordsets", a.authed(a.createRecordSet))
	rt.HandleFunc("GET /v2/zones/{zone_id}/recordsets", a.authed(a.listZoneRecordSets))
	rt.HandleFunc("GET /v2/zones/{zone_id}/recordsets/{recordset_id}", a.authed(a.showRecordSet))
	rt.HandleFunc("PUT /v2/zones/{zone_id}/recordsets/{recordset_id}", a.authed(a.updateRecordSet))
	rt.HandleFunc("DELETE /v2/zones/{zone_id}/recordsets/{recordset_id}", a.authed(a.deleteRecordSet))
	rt.HandleFunc("GET /v2/recordsets", a.authed(a.listAllRecordSets))
	rt.HandleFunc("GET /v2/recordsets/{recordset_id}", a.authed(a.findRecordSet))
}

// recordSetSchema is RecordSetAPIv2Adapter's fields.
var recordSetSchema = schema{resource: "recordset", fields: map[string]access{
	"id": readOnly, "zone_id": readOnly, "project_id": readOnly, "name": immutable, "zone_name": readOnly,
	"type": immutable, "records": writable, "description": writable, "ttl": writable, "status": readOnly,
	"action": readOnly, "version": readOnly, "created_at": readOnly, "updated_at": readOnly,
}}

// recordSetTarget is the policy target central builds for a recordset.
func (q *request) recordSetTarget(z dns.Zone, rs dns.RecordSet) map[string]any {
	t := q.zoneTarget(z)
	t["recordset_id"], t["recordset_name"], t["recordset_project_id"] = rs.ID, rs.Name, rs.ProjectID
	return t
}

func (a *API) createRecordSet(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	ids, err := pathIDs(r, "zone_id")
	if err != nil {
		fail(w, r, err)
		return
	}
	o, err := decode(w, r, recordSetSchema, nil)
	if err != nil {
		fail(w, r, err)
		return
	}
	rs, err := newRecordSet(o)
	if err != nil {
		fail(w, r, err)
		return
	}
	z, err := a.Store.GetZone(ctx, q.viewer(), ids[0])
	if err != nil {
		fail(w, r, err)
		return
	}
	if z.Action == dns.ActionDelete {
		fail(w, r, &fault.Error{Kind: fault.BadRequest, Type: "bad_request", Message: "Can not update a deleting zone"})
		return
	}
	if err := a.enforce(ctx, q, "create_recordset", q.recordSetTarget(z, rs)); err != nil {
		fail(w, r, err)
		return
	}
	rs, err = a.Store.CreateRecordSet(ctx, q.viewer(), z.ID, rs)
	if err != nil {
		fail(w, r, err)
		return
	}
	v := renderRecordSet(r, rs)
	writeCreated(w, writeStatus(rs.Status), v.Links.Self, v)
}

// newRecordSet reads a recordset create body.
func newRecordSet(o object) (dns.RecordSet, error) {
	var rs dns.RecordSet
	var err error
	if rs.Name, err = o.requiredStr("name"); err != nil {
		return rs, err
	}
	if rs.Type, err = o.requiredStr("type"); err != nil {
		return rs, err
	}
	if rs.Type == "SOA" {
		return rs, &fault.Error{Kind: fault.BadRequest, Type: "bad_request", Field: "type", Message: "Creating a SOA recordset is not allowed"}
	}
	if !o.has("records") {
		return rs, required("records")
	}
	if err := setMutable(o, &rs); err != nil {
		return rs, err
	}
	return rs, nil
}

// setMutable reads the fields a PUT may change: records, ttl (null for
// the zone's) and description.
func setMutable(o object, rs *dns.RecordSet) error {
	var err error
	if o.has("records") {
		if rs.Records, err = o.strings("records", false); err != nil {
			return err
		}
	}
	if o.has("ttl") {
		if rs.TTL, err = o.integer("ttl", true); err != nil {
			return err
		}
	}
	if o.has("description") {
		if rs.Description, err = o.str("description", true); err != nil {
			return err
		}
	}
	return nil
}

// loadRecordSet returns the recordset of the path in the zone of the
// path, both visible to the caller, after get_recordset.
func (a *API) loadRecordSet(ctx context.Context, r *http.Request, q *request) (dns.Zone, dns.RecordSet, error) {
	ids, err := pathIDs(r, "zone_id", "recordset_id")
	if err != nil {
		return dns.Zone{}, dns.RecordSet{}, err
	}
	z, err := a.Store.GetZone(ctx, q.viewer(), ids[0])
	if err != nil {
		return dns.Zone{}, dns.RecordSet{}, err
	}
	rs, err := a.Store.GetRecordSet(ctx, q.viewer(), z.ID, ids[1])
	if err != nil {
		return dns.Zone{}, dns.RecordSet{}, err
	}
	if err := a.enforce(ctx, q, "get_recordset", q.recordSetTarget(z, rs)); err != nil {
		return dns.Zone{}, dns.RecordSet{}, err
	}
	return z, rs, nil
}

func (a *API) showRecordSet(w http.ResponseWriter, r *http.Request, q *request) {
	_, rs, err := a.loadRecordSet(r.Context(), r, q)
	if err != nil {
		fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, renderRecordSet(r, rs))
}

func (a *API) updateRecordSet(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	z, cur, err := a.loadRecordSet(ctx, r, q)
	if err != nil {
		fail(w, r, err)
		return
	}
	switch {
	case cur.Managed() && !q.editManaged:
		err = &fault.Error{Kind: fault.BadRequest, Type: "bad_request", Message: "Managed records may not be updated"}
	case cur.Type == "SOA":
		err = &fault.Error{Kind: fault.BadRequest, Type: "bad_request", Message: "Updating SOA recordsets is not allowed"}
	case cur.Managed():
		err = &fault.Error{Kind: fault.BadRequest, Type: "bad_request", Message: "Updating a root zone NS record is not allowed"}
	}
	if err != nil {
		fail(w, r, err)
		return
	}
	o, err := decode(w, r, recordSetSchema, asMap(renderRecordSet(r, cur)))
	if err != nil {
		fail(w, r, err)
		return
	}
	rs := cur
	if err := setMutable(o, &rs); err != nil {
		fail(w, r, err)
		return
	}
	if err := a.enforce(ctx, q, "update_recordset", q.recordSetTarget(z, cur)); err != nil {
		fail(w, r, err)
		return
	}
	rs, err = a.Store.UpdateRecordSet(ctx, q.viewer(), rs)
	if err != nil {
		fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, writeStatus(rs.Status), renderRecordSet(r, rs))
}

func (a *API) deleteRecordSet(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	z, cur, err := a.loadRecordSet(ctx, r, q)
	if err != nil {
		fail(w, r, err)
		return
	}
	switch {
	case cur.Type == "SOA":
		err = &fault.Error{Kind: fault.BadRequest, Type: "bad_request", Message: "Deleting a SOA recordset is not allowed"}
	case cur.Managed():
		err = &fault.Error{Kind: fault.BadRequest, Type: "bad_request", Message: "Managed records may not be deleted"}
	default:
		err = a.enforce(ctx, q, "delete_recordset", q.recordSetTarget(z, cur))
	}
	if err != nil {
		fail(w, r, err)
		return
	}
	rs, err := a.Store.DeleteRecordSet(ctx, q.viewer(), z.ID, cur.ID)
	if err != nil {
		fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusAccepted, renderRecordSet(r, rs))
}

func (a *API) listZoneRecordSets(w http.ResponseWriter, r *http.Request, q *request) {
	ids, err := pathIDs(r, "zone_id")
	if err != nil {
		fail(w, r, err)
		return
	}
	a.listRecordSets(w, r, q, ids[0], recordSetSortKeys)
}

func (a *API) listAllRecordSets(w http.ResponseWriter, r *http.Request, q *request) {
	a.listRecordSets(w, r, q, "", allRecordSetsKeys)
}

// listRecordSets is common.retrieve_matched_rrsets: the recordsets of a
// zone, or of every zone the caller sees.
func (a *API) listRecordSets(w http.ResponseWriter, r *http.Request, q *request, zoneID string, sortKeys []string) {
	ctx := r.Context()
	if zoneID != "" {
		if _, err := a.Store.GetZone(ctx, q.viewer(), zoneID); err != nil {
			fail(w, r, err)
			return
		}
	}
	if err := a.enforce(ctx, q, "find_recordsets", projectTarget(q.project)); err != nil {
		fail(w, r, err)
		return
	}
	lq, err := parseList(r, q, sortKeys, "name", "type", "ttl", "data", "status", "description")
	if err != nil {
		fail(w, r, err)
		return
	}
	ttl, err := ttlFilter(lq.filters)
	if err != nil {
		fail(w, r, err)
		return
	}
	f := dns.RecordSetFilter{Name: lq.filters["name"], Type: lq.filters["type"], TTL: ttl, Data: lq.filters["data"],
		Status: dns.Status(lq.filters["status"]), Description: lq.filters["description"]}
	writeList(w, r, lq, "recordsets", func(p dns.Page) ([]dns.RecordSet, error) {
		return a.Store.ListRecordSets(ctx, q.viewer(), zoneID, f, p)
	}, func() (int, error) {
		return a.Store.CountRecordSets(ctx, q.viewer(), zoneID, f)
	}, func(rs dns.RecordSet) string { return rs.ID }, renderRecordSet)
}

// findRecordSet is RecordSetsViewController.get_one: a redirect to the
// recordset under its zone.
func (a *API) findRecordSet(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	ids, err := pathIDs(r, "recordset_id")
	if err != nil {
		fail(w, r, err)
		return
	}
	rs, err := a.Store.GetRecordSet(ctx, q.viewer(), "", ids[0])
	if err != nil {
		fail(w, r, err)
		return
	}
	z, err := a.Store.GetZone(ctx, q.viewer(), rs.ZoneID)
	if err == nil {
		err = a.enforce(ctx, q, "get_recordset", q.recordSetTarget(z, rs))
	}
	if err != nil {
		fail(w, r, err)
		return
	}
	w.Header().Set("Location", href(r, "zones", rs.ZoneID, "recordsets", rs.ID))
	w.WriteHeader(http.StatusMovedPermanently)
}
