package api

import (
	"context"
	"net/http"

	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/network"
)

func (a *API) networkRoutes(rt *httpapi.Router) {
	rt.HandleFunc("POST /v2.0/networks", a.authed(a.createNetwork))
	rt.HandleFunc("GET /v2.0/networks", a.authed(a.listNetworks))
	rt.HandleFunc("GET /v2.0/networks/{id}", a.authed(a.showNetwork))
	rt.HandleFunc("PUT /v2.0/networks/{id}", a.authed(a.updateNetwork))
	rt.HandleFunc("DELETE /v2.0/networks/{id}", a.authed(a.deleteNetwork))
}

// networkTarget is what Neutron's network rules read.
func networkTarget(n network.Network) map[string]any {
	return map[string]any{"id": n.ID, "tenant_id": n.ProjectID, "project_id": n.ProjectID, "shared": n.Shared,
		"router:external": n.External, "network:tenant_id": n.ProjectID, "network:project_id": n.ProjectID}
}

func renderNetwork(n network.Network, subnets []string) map[string]any {
	if subnets == nil {
		subnets = []string{}
	}
	var physical, segment any
	if n.Physical != "" {
		physical = n.Physical
	}
	if n.Segment != 0 {
		segment = n.Segment
	}
	return map[string]any{
		"id": n.ID, "name": n.Name, "description": n.Description, "tenant_id": n.ProjectID, "project_id": n.ProjectID,
		"admin_state_up": n.AdminStateUp, "status": "ACTIVE", "subnets": subnets, "shared": n.Shared,
		"router:external": n.External, "mtu": n.MTU, "provider:network_type": n.Type,
		"provider:physical_network": physical, "provider:segmentation_id": segment,
		"revision_number": n.Revision, "created_at": isoTime(n.CreatedAt), "updated_at": isoTime(n.UpdatedAt),
		"tags": tagList(n.Tags), "availability_zone_hints": []string{}, "availability_zones": []string{},
		"ipv4_address_scope": nil, "ipv6_address_scope": nil, "l2_adjacency": true,
		"port_security_enabled": n.PortSecurity == nil || *n.PortSecurity,
	}
}

// viewNetworks renders networks the caller may get, with the attributes
// it may see.
func (a *API) viewNetworks(ctx context.Context, q *request, ns []network.Network) ([]map[string]any, error) {
	ids := make([]string, len(ns))
	for i, n := range ns {
		ids[i] = n.ID
	}
	subnets, err := a.Store.SubnetIDs(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, 0, len(ns))
	for _, n := range ns {
		t := networkTarget(n)
		if !a.allowed(ctx, q, "get_network", t) {
			continue
		}
		out = append(out, a.hide(ctx, q, "get_network", renderNetwork(n, subnets[n.ID]), t))
	}
	return out, nil
}

func (a *API) createNetwork(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	attrs, err := decode(w, r, "network")
	if err == nil {
		err = known(attrs, "name", "description", "admin_state_up", "shared", "router:external", "tenant_id", "project_id",
			"provider:network_type", "provider:physical_network", "provider:segmentation_id", "port_security_enabled")
	}
	var n network.Network
	if err == nil {
		n, err = parseNetwork(attrs, q)
	}
	if err != nil {
		fail(w, r, err)
		return
	}
	t := networkTarget(n)
	if !a.allowed(ctx, q, "create_network", t) {
		fail(w, r, notAuthorized("create_network"))
		return
	}
	if err := a.checkAttrs(ctx, q, "create_network", attrs, t); err != nil {
		fail(w, r, err)
		return
	}
	if n, err = a.Store.CreateNetwork(ctx, n); err != nil {
		fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusCreated, map[string]any{"network": a.hide(ctx, q, "get_network", renderNetwork(n, nil), networkTarget(n))})
}

func parseNetwork(attrs map[string]any, q *request) (network.Network, error) {
	n := network.Network{AdminStateUp: true}
	var err error
	if n.ProjectID, err = owner(attrs, q); err != nil {
		return n, err
	}
	for _, f := range []struct {
		key string
		dst *string
	}{{"name", &n.Name}, {"description", &n.Description}, {"provider:network_type", &n.Type}, {"provider:physical_network", &n.Physical}} {
		s, err := str(attrs, f.key, 255)
		if err != nil {
			return n, err
		}
		if s != nil {
			*f.dst = *s
		}
	}
	for _, f := range []struct {
		key string
		dst *bool
	}{{"admin_state_up", &n.AdminStateUp}, {"shared", &n.Shared}, {"router:external", &n.External}} {
		b, err := boolean(attrs, f.key)
		if err != nil {
			return n, err
		}
		if b != nil {
			*f.dst = *b
		}
	}
	if n.PortSecurity, err = boolean(attrs, "port_security_enabled"); err != nil {
		return n, err
	}
	seg, err := integer(attrs, "provider:segmentation_id")
	if err != nil {
		return n, err
	}
	if seg != nil {
		n.Segment = *seg
	}
	return n, nil
}

func (a *API) listNetworks(w http.ResponseWriter, r *http.Request, q *request) {
	lp, err := a.parseList(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	ns, more, err := a.Store.ListNetworks(r.Context(), q.viewer(), lp.filter, lp.page)
	if err != nil {
		fail(w, r, err)
		return
	}
	items, err := a.viewNetworks(r.Context(), q, ns)
	if err != nil {
		fail(w, r, err)
		return
	}
	writeList(w, r, lp, "networks", items, more)
}

// loadNetwork returns the network of the path if the caller may get it,
// else Neutron's 404.
func (a *API) loadNetwork(ctx context.Context, r *http.Request, q *request) (network.Network, error) {
	return loadVisible(ctx, a, r, q, "network", a.Store.GetNetwork, networkTarget)
}

func (a *API) showNetwork(w http.ResponseWriter, r *http.Request, q *request) {
	n, err := a.loadNetwork(r.Context(), r, q)
	if err != nil {
		fail(w, r, err)
		return
	}
	items, err := a.viewNetworks(r.Context(), q, []network.Network{n})
	if err != nil {
		fail(w, r, err)
		return
	}
	lp, _ := a.parseList(r)
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"network": pick(items[0], lp.fields)})
}

func (a *API) updateNetwork(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	n, err := a.loadNetwork(ctx, r, q)
	if err != nil {
		fail(w, r, err)
		return
	}
	attrs, err := decode(w, r, "network")
	if err == nil {
		err = known(attrs, "name", "description", "admin_state_up", "shared", "router:external", "port_security_enabled")
	}
	var u network.NetworkUpdate
	if err == nil {
		u, err = parseNetworkUpdate(attrs)
	}
	if err != nil {
		fail(w, r, err)
		return
	}
	t := networkTarget(n)
	if !a.allowed(ctx, q, "update_network", t) {
		fail(w, r, notAuthorized("update_network"))
		return
	}
	if err := a.checkAttrs(ctx, q, "update_network", attrs, t); err != nil {
		fail(w, r, err)
		return
	}
	v := q.viewer()
	v.Admin = true // the policy decided
	if n, err = a.Store.UpdateNetwork(ctx, v, n.ID, u); err != nil {
		fail(w, r, err)
		return
	}
	subnets, err := a.Store.SubnetIDs(ctx, []string{n.ID})
	if err != nil {
		fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"network": a.hide(ctx, q, "get_network", renderNetwork(n, subnets[n.ID]), networkTarget(n))})
}

func parseNetworkUpdate(attrs map[string]any) (network.NetworkUpdate, error) {
	var u network.NetworkUpdate
	var err error
	if u.Name, err = str(attrs, "name", 255); err != nil {
		return u, err
	}
	if u.Description, err = str(attrs, "description", 255); err != nil {
		return u, err
	}
	if u.AdminStateUp, err = boolean(attrs, "admin_state_up"); err != nil {
		return u, err
	}
	if u.Shared, err = boolean(attrs, "shared"); err != nil {
		return u, err
	}
	if u.External, err = boolean(attrs, "router:external"); err != nil {
		return u, err
	}
	u.PortSecurity, err = boolean(attrs, "port_security_enabled")
	return u, err
}

func (a *API) deleteNetwork(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	n, err := a.loadNetwork(ctx, r, q)
	if err != nil {
		fail(w, r, err)
		return
	}
	if !a.allowed(ctx, q, "delete_network", networkTarget(n)) {
		fail(w, r, notAuthorized("delete_network"))
		return
	}
	v := q.viewer()
	v.Admin = true // the policy decided
	if err := a.Store.DeleteNetwork(ctx, v, n.ID); err != nil {
		fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
