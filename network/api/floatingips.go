package api

import (
	"context"
	"net/http"
	"net/netip"

	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/network"
)

func (a *API) floatingIPRoutes(rt *httpapi.Router) {
	rt.HandleFunc("POST /v2.0/floatingips", a.authed(a.createFloatingIP))
	rt.HandleFunc("GET /v2.0/floatingips", a.authed(a.listFloatingIPs))
	rt.HandleFunc("GET /v2.0/floatingips/{id}", a.authed(a.showFloatingIP))
	rt.HandleFunc("PUT /v2.0/floatingips/{id}", a.authed(a.updateFloatingIP))
	rt.HandleFunc("DELETE /v2.0/floatingips/{id}", a.authed(a.deleteFloatingIP))
}

func fipTarget(f network.FloatingIP) map[string]any {
	return map[string]any{"id": f.ID, "tenant_id": f.ProjectID, "project_id": f.ProjectID, "floating_network_id": f.NetworkID,
		"port_id": orNull(f.PortID)}
}

func orNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func addrOrNull(a netip.Addr) any {
	if !a.IsValid() {
		return nil
	}
	return a.String()
}

func renderFIP(f network.FloatingIP) map[string]any {
	return map[string]any{
		"id": f.ID, "tenant_id": f.ProjectID, "project_id": f.ProjectID, "floating_network_id": f.NetworkID,
		"floating_ip_address": addrOrNull(f.Address), "router_id": orNull(f.RouterID), "port_id": orNull(f.PortID),
		"fixed_ip_address": addrOrNull(f.FixedIP), "status": f.Status, "description": f.Description, "tags": tagList(f.Tags),
		"revision_number": f.Revision, "created_at": isoTime(f.CreatedAt), "updated_at": isoTime(f.UpdatedAt),
	}
}

func (a *API) viewFIPs(ctx context.Context, q *request, fs []network.FloatingIP) []map[string]any {
	out := make([]map[string]any, 0, len(fs))
	for _, f := range fs {
		if t := fipTarget(f); a.allowed(ctx, q, "get_floatingip", t) {
			out = append(out, a.hide(ctx, q, "get_floatingip", renderFIP(f), t))
		}
	}
	return out
}

// given is attrs without its null values: attributes whose default is
// null are not set by a null (Neutron's _is_attribute_explicitly_set).
func given(attrs map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range attrs {
		if v != nil {
			out[k] = v
		}
	}
	return out
}

func (a *API) createFloatingIP(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	attrs, err := decode(w, r, "floatingip")
	if err == nil {
		err = readOnly(attrs, "POST", "id", "status", "router_id")
	}
	if err == nil {
		err = known(attrs, "floating_network_id", "floating_ip_address", "subnet_id", "port_id", "fixed_ip_address", "description",
			"tenant_id", "project_id")
	}
	var f network.FloatingIP
	var subnetID string
	if err == nil {
		f, subnetID, err = parseFIP(attrs, q)
	}
	if err != nil {
		fail(w, r, err)
		return
	}
	t := fipTarget(f)
	if !a.allowed(ctx, q, "create_floatingip", t) {
		fail(w, r, notAuthorized("create_floatingip"))
		return
	}
	if err := a.checkAttrs(ctx, q, "create_floatingip", given(attrs), t); err != nil {
		fail(w, r, err)
		return
	}
	if f, err = a.Store.CreateFloatingIP(ctx, q.viewer(), f, subnetID); err != nil {
		fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusCreated, map[string]any{"floatingip": a.hide(ctx, q, "get_floatingip", renderFIP(f), fipTarget(f))})
}

// parseFIP reads a floating IP create: floating_network_id (required),
// and optionally the address, its subnet, the port and fixed address to
// associate, the description.
func parseFIP(attrs map[string]any, q *request) (network.FloatingIP, string, error) {
	var f network.FloatingIP
	var err error
	if f.ProjectID, err = owner(attrs, q); err != nil {
		return f, "", err
	}
	v, ok := attrs["floating_network_id"]
	if !ok {
		return f, "", badRequest("Failed to parse request. Required attribute 'floating_network_id' not specified")
	}
	if f.NetworkID, err = uuidValue(v); err != nil {
		return f, "", attrError("floating_network_id", "%s", err)
	}
	var subnetID string
	for _, id := range []struct {
		key string
		dst *string
	}{{"subnet_id", &subnetID}, {"port_id", &f.PortID}} {
		if v := attrs[id.key]; v != nil {
			if *id.dst, err = uuidValue(v); err != nil {
				return f, "", attrError(id.key, "%s", err)
			}
		}
	}
	for _, addr := range []struct {
		key string
		dst *netip.Addr
	}{{"floating_ip_address", &f.Address}, {"fixed_ip_address", &f.FixedIP}} {
		if v := attrs[addr.key]; v != nil {
			if *addr.dst, err = ipValue(v); err != nil {
				return f, "", attrError(addr.key, "%s", err)
			}
		}
	}
	desc, err := str(attrs, "description", 255)
	if err != nil {
		return f, "", err
	}
	set(&f.Description, desc)
	return f, subnetID, nil
}

func (a *API) listFloatingIPs(w http.ResponseWriter, r *http.Request, q *request) {
	lp, err := a.parseList(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	fs, more, err := a.Store.ListFloatingIPs(r.Context(), q.viewer(), lp.filter, lp.page)
	if err != nil {
		fail(w, r, err)
		return
	}
	writeList(w, r, lp, "floatingips", a.viewFIPs(r.Context(), q, fs), more)
}

// loadFIP returns the floating IP of the path if the caller may get it.
func (a *API) loadFIP(ctx context.Context, r *http.Request, q *request) (network.FloatingIP, error) {
	return loadVisible(ctx, a, r, q, "floatingip", a.Store.GetFloatingIP, fipTarget)
}

func (a *API) showFloatingIP(w http.ResponseWriter, r *http.Request, q *request) {
	f, err := a.loadFIP(r.Context(), r, q)
	if err != nil {
		fail(w, r, err)
		return
	}
	lp, _ := a.parseList(r)
	item := a.hide(r.Context(), q, "get_floatingip", renderFIP(f), fipTarget(f))
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"floatingip": pick(item, lp.fields)})
}

func (a *API) updateFloatingIP(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	f, err := a.loadFIP(ctx, r, q)
	if err != nil {
		fail(w, r, err)
		return
	}
	attrs, err := decode(w, r, "floatingip")
	if err == nil {
		err = readOnly(attrs, "PUT", "id", "status", "router_id", "tenant_id", "project_id", "floating_network_id", "floating_ip_address",
			"subnet_id")
	}
	if err == nil {
		err = known(attrs, "port_id", "fixed_ip_address", "description")
	}
	var u network.FloatingIPUpdate
	if err == nil {
		u, err = parseFIPUpdate(attrs)
	}
	if err != nil {
		fail(w, r, err)
		return
	}
	t := fipTarget(f)
	if !a.allowed(ctx, q, "update_floatingip", t) {
		fail(w, r, notAuthorized("update_floatingip"))
		return
	}
	if err := a.checkAttrs(ctx, q, "update_floatingip", attrs, t); err != nil {
		fail(w, r, err)
		return
	}
	// The caller as it is: the port must be one it may use.
	if f, err = a.Store.UpdateFloatingIP(ctx, q.viewer(), f.ID, u); err != nil {
		fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"floatingip": a.hide(ctx, q, "get_floatingip", renderFIP(f), fipTarget(f))})
}

// parseFIPUpdate reads port_id (null: disassociate), fixed_ip_address
// and description.
func parseFIPUpdate(attrs map[string]any) (network.FloatingIPUpdate, error) {
	var u network.FloatingIPUpdate
	var err error
	if v, ok := attrs["port_id"]; ok {
		id := ""
		if v != nil {
			if id, err = uuidValue(v); err != nil {
				return u, attrError("port_id", "%s", err)
			}
		}
		u.PortID = &id
	}
	if v := attrs["fixed_ip_address"]; v != nil {
		ip, err := ipValue(v)
		if err != nil {
			return u, attrError("fixed_ip_address", "%s", err)
		}
		u.FixedIP = &ip
	}
	u.Description, err = str(attrs, "description", 255)
	return u, err
}

func (a *API) deleteFloatingIP(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	f, err := a.loadFIP(ctx, r, q)
	if err != nil {
		fail(w, r, err)
		return
	}
	if !a.allowed(ctx, q, "delete_floatingip", fipTarget(f)) {
		fail(w, r, notAuthorized("delete_floatingip"))
		return
	}
	if err := a.Store.DeleteFloatingIP(ctx, q.viewer(), f.ID); err != nil {
		fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
