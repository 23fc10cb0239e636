package api

import (
	"context"
	"net/http"
	"slices"

	"golang.org/x/net/publicsuffix"

	"github.com/gostack/gostack/dns"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

func (a *API) zoneRoutes(rt *httpapi.Router) {
	rt.HandleFunc("POST /v2/zones", a.authed(a.createZone))
	rt.HandleFunc("GET /v2/zones", a.authed(a.listZones))
	rt.HandleFunc("GET /v2/zones/{zone_id}", a.authed(a.showZone))
	rt.HandleFunc("PATCH /v2/zones/{zone_id}", a.authed(a.updateZone))
	rt.HandleFunc("DELETE /v2/zones/{zone_id}", a.authed(a.deleteZone))
	rt.HandleFunc("GET /v2/zones/{zone_id}/nameservers", a.authed(a.zoneNameservers))
}

// zoneFields are ZoneAPIv2Adapter's fields. Masters are writable: the
// adapter parses them itself. pool_id is writable on create only (and
// ignored there, as Designate's default scheduler ignores it).
func zoneSchema(create bool) schema {
	pool := immutable
	if create {
		pool = writable
	}
	return schema{resource: "zone", fields: map[string]access{
		"id": readOnly, "pool_id": pool, "project_id": readOnly, "name": immutable, "email": writable,
		"description": writable, "ttl": writable, "serial": readOnly, "shared": readOnly, "status": readOnly,
		"action": readOnly, "version": readOnly, "attributes": immutable, "type": immutable, "masters": writable,
		"created_at": readOnly, "updated_at": readOnly, "transferred_at": readOnly,
	}}
}

// zoneTarget is the policy target central builds for a zone the caller
// sees. zone_shared is central's _check_zone_share_permission: the zone
// is not the caller's project's and the caller did not ask for every
// project, so it sees the zone because it is shared with its project.
func (q *request) zoneTarget(z dns.Zone) map[string]any {
	shared := z.ProjectID != q.project && !q.all
	return map[string]any{"zone_id": z.ID, "zone_name": z.Name, "zone_shared": shared, "zone_type": z.Type,
		"project_id": z.ProjectID, "tenant_id": z.ProjectID}
}

func (a *API) createZone(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	o, err := decode(w, r, zoneSchema(true), nil)
	if err != nil {
		fail(w, r, err)
		return
	}
	z, attrs, err := newZone(o)
	if err != nil {
		fail(w, r, err)
		return
	}
	z.ProjectID = q.project
	target := projectTarget(q.project)
	target["zone_name"] = z.Name
	if err := a.enforce(ctx, q, "create_zone", target); err != nil {
		fail(w, r, err)
		return
	}
	if err := a.checkBlacklist(ctx, q, &z, target); err != nil {
		fail(w, r, err)
		return
	}
	if id, ok := attrs["pool_id"]; ok {
		// Designate's pool_id_attribute scheduler filter.
		if err := a.enforce(ctx, q, "zone_create_forced_pool", target); err != nil {
			fail(w, r, err)
			return
		}
		if _, err := a.Store.GetPool(ctx, id); err != nil {
			fail(w, r, err)
			return
		}
		z.PoolID = id
	}
	z, err = a.Store.CreateZone(ctx, z)
	if err != nil {
		fail(w, r, err)
		return
	}
	v := renderZone(r, z)
	writeCreated(w, writeStatus(z.Status), v.Links.Self, v)
}

// checkBlacklist is the name check of Designate's central create_zone
// (_is_valid_zone_name), in its order: the name must have more than one
// label, for everyone; once the operator stored TLDs it must lie below
// one and not be one, for everyone too (dns.Store.CheckTLD, which
// CreateZone enforces again in its transaction); a blacklisted name needs
// use_blacklisted_zone, and a caller without it gets the 400
// invalid_zone_name, as Designate answers. A name is blacklisted when it
// is a public suffix or one of a.Reserved (dns.ReservedNames.Check), or
// when one of the operator's patterns matches it (dns.Store.Blacklisted).
func (a *API) checkBlacklist(ctx context.Context, q *request, z *dns.Zone, target map[string]any) error {
	name, err := dns.ZoneName(z.Name)
	if err != nil {
		return err
	}
	z.Name = name
	target["zone_name"] = name
	return a.checkZoneName(ctx, q, name, target)
}

// checkZoneName is checkBlacklist's TLD and blacklist rules for a name
// dns.ZoneName accepted (also applied to imports).
func (a *API) checkZoneName(ctx context.Context, q *request, name string, target map[string]any) error {
	if err := a.Store.CheckTLD(ctx, name); err != nil {
		return err
	}
	err := a.Reserved.Check(name, publicsuffix.List)
	if err == nil {
		if err = a.Store.Blacklisted(ctx, name); fault.KindOf(err) != fault.BadRequest && err != nil {
			return err // not a match: the database failed
		}
	}
	if err != nil {
		if perr := a.enforce(ctx, q, "use_blacklisted_zone", target); fault.KindOf(perr) == fault.Forbidden {
			return err
		} else if perr != nil {
			return perr // not a denial: the policy itself failed
		}
	}
	return nil
}

// writeStatus is Designate's answer to a write: 202 while the change is
// PENDING, else 200 (201 for creates is never reached: a new zone or
// recordset is always PENDING).
func writeStatus(s dns.Status) int {
	if s == dns.Pending {
		return http.StatusAccepted
	}
	return http.StatusOK
}

// minimumZero is the zone schema's "minimum": 0 (jsonschema's message).
func minimumZero(field string, v int) error {
	if v < 0 {
		return invalidObject(field, "%d is less than the minimum of 0", v)
	}
	return nil
}

// newZone reads a zone create body.
func newZone(o object) (dns.Zone, map[string]string, error) {
	var z dns.Zone
	var err error
	if z.Name, err = o.requiredStr("name"); err != nil {
		return z, nil, err
	}
	z.Type = dns.Primary
	if o.has("type") {
		if z.Type, err = o.str("type", false); err != nil {
			return z, nil, err
		}
	}
	if o.has("email") {
		if z.Email, err = o.str("email", true); err != nil {
			return z, nil, err
		}
	}
	// Designate's default_ttl unless given; null is the default too (the
	// column's default), and 0 is a TTL (the schema's minimum).
	z.TTL = dns.DefaultTTL
	if o.has("ttl") {
		ttl, err := o.integer("ttl", true)
		if err != nil {
			return z, nil, err
		}
		if ttl != nil {
			if err := minimumZero("ttl", *ttl); err != nil {
				return z, nil, err
			}
			z.TTL = *ttl
		}
	}
	if o.has("description") {
		if z.Description, err = o.str("description", true); err != nil {
			return z, nil, err
		}
	}
	if o.has("masters") {
		if z.Masters, err = o.strings("masters", true); err != nil {
			return z, nil, err
		}
	}
	if o.has("pool_id") {
		id, err := o.str("pool_id", true)
		if err != nil {
			return z, nil, err
		}
		if id != "" && !uuidPattern.MatchString(id) {
			return z, nil, invalidObject("pool_id", "'%s' is not a 'uuid'", id)
		}
	}
	var attrs map[string]string
	if o.has("attributes") {
		if attrs, err = o.stringMap("attributes", true); err != nil {
			return z, nil, err
		}
	}
	switch z.Type {
	case dns.Primary:
		if z.Email == "" {
			return z, nil, required("email")
		}
		if len(z.Masters) > 0 {
			return z, nil, invalidObject("masters", "'masters' has more items than allowed")
		}
	case dns.Secondary:
		if len(z.Masters) == 0 {
			return z, nil, required("masters")
		}
		z.Email = "" // Designate sets its managed_resource_email; the store its hostmaster@
	}
	return z, attrs, nil
}

func (a *API) listZones(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	if err := a.enforce(ctx, q, "find_zones", projectTarget(q.project)); err != nil {
		fail(w, r, err)
		return
	}
	lq, err := parseList(r, q, zoneSortKeys, "name", "type", "email", "status", "description", "ttl")
	if err != nil {
		fail(w, r, err)
		return
	}
	ttl, err := ttlFilter(lq.filters)
	if err != nil {
		fail(w, r, err)
		return
	}
	f := dns.ZoneFilter{Name: lq.filters["name"], Email: lq.filters["email"], Status: dns.Status(lq.filters["status"]),
		Type: lq.filters["type"], TTL: ttl, Description: lq.filters["description"]}
	writeList(w, r, lq, "zones", func(p dns.Page) ([]dns.Zone, error) {
		return a.Store.ListZones(ctx, q.viewer(), f, p)
	}, func() (int, error) {
		return a.Store.CountZones(ctx, q.viewer(), f)
	}, func(z dns.Zone) string { return z.ID }, renderZone)
}

// hideCounts is the OpenStack-DNS-Hide-Counts header: no total_count.
func hideCounts(r *http.Request) bool {
	return boolFromString(r.Header.Get("OpenStack-DNS-Hide-Counts"))
}

// loadZone returns the zone of the path, if the caller sees it, and
// checks rule on it (central's get_zone: not visible is 404, visible but
// not allowed 403).
func (a *API) loadZone(ctx context.Context, r *http.Request, q *request, rule string) (dns.Zone, error) {
	ids, err := pathIDs(r, "zone_id")
	if err != nil {
		return dns.Zone{}, err
	}
	z, err := a.Store.GetZone(ctx, q.viewer(), ids[0])
	if err != nil {
		return dns.Zone{}, err
	}
	if err := a.enforce(ctx, q, rule, q.zoneTarget(z)); err != nil {
		return dns.Zone{}, err
	}
	return z, nil
}

func (a *API) showZone(w http.ResponseWriter, r *http.Request, q *request) {
	z, err := a.loadZone(r.Context(), r, q, "get_zone")
	if err != nil {
		fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, renderZone(r, z))
}

func (a *API) updateZone(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	if err := jsonPatch(r); err != nil {
		fail(w, r, err)
		return
	}
	cur, err := a.loadZone(ctx, r, q, "get_zone")
	if err != nil {
		fail(w, r, err)
		return
	}
	if cur.Action == dns.ActionDelete {
		fail(w, r, &fault.Error{Kind: fault.BadRequest, Type: "bad_request", Message: "Can not update a deleting zone"})
		return
	}
	o, err := decode(w, r, zoneSchema(false), asMap(renderZone(r, cur)))
	if err != nil {
		fail(w, r, err)
		return
	}
	z, err := changedZone(o, cur)
	if err != nil {
		fail(w, r, err)
		return
	}
	if err := a.enforce(ctx, q, "update_zone", q.zoneTarget(cur)); err != nil {
		fail(w, r, err)
		return
	}
	z, err = a.Store.UpdateZone(ctx, q.viewer(), z)
	if err != nil {
		fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, writeStatus(z.Status), renderZone(r, z))
}

// changedZone applies a PATCH body to the zone.
func changedZone(o object, z dns.Zone) (dns.Zone, error) {
	var err error
	if o.has("email") {
		if z.Email, err = o.str("email", false); err != nil {
			return z, err
		}
	}
	if o.has("ttl") {
		ttl, err := o.integer("ttl", false)
		if err != nil {
			return z, err
		}
		if err := minimumZero("ttl", *ttl); err != nil {
			return z, err
		}
		z.TTL = *ttl
	}
	if o.has("description") {
		if z.Description, err = o.str("description", true); err != nil {
			return z, err
		}
	}
	if o.has("masters") {
		masters, err := o.strings("masters", true)
		if err != nil {
			return z, err
		}
		if z.Type == dns.Primary && len(masters) > 0 {
			return z, invalidObject("masters", "'masters' has more items than allowed")
		}
		if z.Type == dns.Secondary {
			z.Masters = masters
		}
	}
	return z, nil
}

func (a *API) deleteZone(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	z, err := a.loadZone(ctx, r, q, "delete_zone")
	if err != nil {
		fail(w, r, err)
		return
	}
	z, err = a.Store.DeleteZoneWith(ctx, q.viewer(), z.ID, q.deleteOptions())
	if err != nil {
		fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusAccepted, renderZone(r, z))
}

// zoneNameservers is NameServersController: the zone's pool's nameservers.
func (a *API) zoneNameservers(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	z, err := a.loadZone(ctx, r, q, "get_zone_ns_records")
	if err != nil {
		fail(w, r, err)
		return
	}
	p, err := a.Store.GetPool(ctx, z.PoolID)
	if err != nil {
		fail(w, r, err)
		return
	}
	ns := slices.Clone(p.NSRecords)
	slices.SortStableFunc(ns, func(a, b dns.NSRecord) int { return a.Priority - b.Priority })
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"nameservers": ns})
}
