package api

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/gostack/gostack/dns"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

// Reverse DNS of floating IPs: the network service's floating IPs of the
// caller's project (API.FloatingIPs; none without one), each with the PTR
// record its project set. Setting one makes a PTR recordset in the
// deepest zone holding the address's reverse name, or in a zone the
// service makes for its /24 (/64), owned by dns.ManagedProject.
func (a *API) reverseRoutes(rt *httpapi.Router) {
	rt.HandleFunc("GET /v2/reverse/floatingips", a.authed(a.listFloatingIPs))
	rt.HandleFunc("GET /v2/reverse/floatingips/{fip_key}", a.authed(a.showFloatingIP))
	rt.HandleFunc("PATCH /v2/reverse/floatingips/{fip_key}", a.authed(a.setFloatingIP))
}

// fipKey is Designate's RE_FIP: "<region>:<floating IP uuid>".
var fipKey = regexp.MustCompile(`^([A-Za-z0-9.\-_]{1,100}):([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$`)

// floatingIPSchema is FloatingIPAPIv2Adapter's fields.
var floatingIPSchema = schema{resource: "floatingip", fields: map[string]access{
	"id": readOnly, "description": writable, "address": readOnly, "ptrdname": writable, "ttl": writable,
	"action": readOnly, "status": readOnly,
}}

func (a *API) listFloatingIPs(w http.ResponseWriter, r *http.Request, q *request) {
	if err := a.enforce(r.Context(), q, "find_records", projectTarget(q.project)); err != nil {
		fail(w, r, err)
		return
	}
	fips, err := a.floatingIPs(r, q)
	if err != nil {
		fail(w, r, err)
		return
	}
	items := []any{}
	for _, f := range fips {
		items = append(items, a.fipView(r, f.fip, f.ptr))
	}
	// FloatingIPListAPIv2Adapter: no pagination, so no "next".
	httpapi.WriteJSON(w, http.StatusOK, collection{key: "floatingips", items: items, links: collectionLinks{Self: selfCollection(r)}})
}

type fipWithPTR struct {
	fip dns.FloatingIP
	ptr *dns.PTR
}

// floatingIPs are the caller's project's floating IPs with their PTRs.
func (a *API) floatingIPs(r *http.Request, q *request) ([]fipWithPTR, error) {
	if a.FloatingIPs == nil {
		return nil, nil
	}
	fips, err := a.FloatingIPs(r.Context(), q.project)
	if errors.Is(err, dns.ErrNoFloatingIPs) {
		return nil, nil // no network service: no floating IPs
	} else if err != nil {
		return nil, err
	}
	ids := make([]string, len(fips))
	for i, f := range fips {
		ids[i] = f.ID
	}
	ptrs, err := a.Store.PTRs(r.Context(), ids)
	if err != nil {
		return nil, err
	}
	out := make([]fipWithPTR, len(fips))
	for i, f := range fips {
		out[i].fip = f
		if p, ok := ptrs[f.ID]; ok && p.Address == f.Address {
			out[i].ptr = &p
		}
	}
	return out, nil
}

// fipView is FloatingIPAPIv2Adapter's rendering.
func (a *API) fipView(r *http.Request, f dns.FloatingIP, p *dns.PTR) map[string]any {
	key := a.region() + ":" + f.ID
	v := map[string]any{"id": key, "address": f.Address.String(), "ptrdname": nil, "description": nil, "ttl": nil,
		"status": "ACTIVE", "action": "NONE", "links": selfLink{httpapi.BaseURL(r) + "/v2/reverse/floatingips/" + key}}
	if p != nil {
		v["ptrdname"], v["description"] = p.PTRDName, p.Description
		if p.TTL != nil {
			v["ttl"] = *p.TTL
		}
	}
	return v
}

func (a *API) region() string {
	if a.Region != "" {
		return a.Region
	}
	return "RegionOne"
}

// floatingIP finds the floating IP of the path among the caller's
// project's, as central's _get_floatingip does: a key not of the form
// <region>:<uuid> is 400, one of another region or project 404.
func (a *API) floatingIP(r *http.Request, q *request) (fipWithPTR, error) {
	key := r.PathValue("fip_key")
	m := fipKey.FindStringSubmatch(key)
	if m == nil {
		return fipWithPTR{}, &fault.Error{Kind: fault.BadRequest, Type: "bad_request",
			Message: fmt.Sprintf("Floating IP %s is not in the format of <region>:<uuid>", key)}
	}
	if err := a.enforce(r.Context(), q, "find_records", projectTarget(q.project)); err != nil {
		return fipWithPTR{}, err
	}
	if m[1] == a.region() {
		fips, err := a.floatingIPs(r, q)
		if err != nil {
			return fipWithPTR{}, err
		}
		for _, f := range fips {
			if strings.EqualFold(f.fip.ID, m[2]) {
				return f, nil
			}
		}
	}
	return fipWithPTR{}, &fault.Error{Kind: fault.NotFound, Type: "not_found",
		Message: fmt.Sprintf("FloatingIP %s in %s is not associated for project \"%s\"", m[2], m[1], q.project)}
}

func (a *API) showFloatingIP(w http.ResponseWriter, r *http.Request, q *request) {
	f, err := a.floatingIP(r, q)
	if err != nil {
		fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, a.fipView(r, f.fip, f.ptr))
}

// setFloatingIP is FloatingIPController.patch_one: the body
// {"ptrdname": "...", "ttl": ..., "description": ...} is checked, then
// the floating IP is looked up; ptrdname null removes the record.
// Designate answers 202: the record goes to the servers after.
func (a *API) setFloatingIP(w http.ResponseWriter, r *http.Request, q *request) {
	if !fipKey.MatchString(r.PathValue("fip_key")) {
		_, err := a.floatingIP(r, q)
		fail(w, r, err)
		return
	}
	o, err := decode(w, r, floatingIPSchema, nil)
	var ptrd, desc string
	var ttl *int
	if err == nil && o.has("ptrdname") {
		ptrd, err = o.str("ptrdname", true)
	}
	if err == nil && o.has("description") {
		desc, err = o.str("description", true)
	}
	if err == nil && o.has("ttl") {
		ttl, err = o.integer("ttl", true)
	}
	var f fipWithPTR
	if err == nil {
		f, err = a.floatingIP(r, q)
	}
	if err == nil {
		// The PTR is a recordset of the project's in a primary zone, as
		// update_recordset sees it: a member may, a reader may not.
		err = a.enforce(r.Context(), q, "update_recordset", map[string]any{"project_id": q.project,
			"recordset_project_id": q.project, "zone_type": dns.Primary, "zone_shared": false})
	}
	if err != nil {
		fail(w, r, err)
		return
	}
	ctx := r.Context()
	switch {
	case o.has("ptrdname") && o.isNull("ptrdname"):
		err = a.Store.UnsetPTR(ctx, f.fip.ID)
		f.ptr = nil
	case ptrd != "" || f.ptr != nil:
		p := dns.PTR{FloatingIPID: f.fip.ID, Region: a.region(), Project: q.project, Address: f.fip.Address,
			PTRDName: ptrd, TTL: ttl, Description: desc}
		if f.ptr != nil { // a PATCH keeps what it does not name
			if !o.has("ptrdname") {
				p.PTRDName = f.ptr.PTRDName
			}
			if !o.has("ttl") {
				p.TTL = f.ptr.TTL
			}
			if !o.has("description") {
				p.Description = f.ptr.Description
			}
		}
		var set dns.PTR
		if set, err = a.Store.SetPTR(ctx, p, a.managedEmail()); err == nil {
			f.ptr = &set
		}
	}
	if err != nil {
		fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusAccepted, a.fipView(r, f.fip, f.ptr))
}

func (a *API) managedEmail() string {
	if a.ManagedEmail != "" {
		return a.ManagedEmail
	}
	return "hostmaster@example.com"
}
