package api

import (
	"context"
	"net/http"
	"net/netip"

	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/network"
)

func (a *API) portRoutes(rt *httpapi.Router) {
	rt.HandleFunc("POST /v2.0/ports", a.authed(a.createPort))
	rt.HandleFunc("GET /v2.0/ports", a.authed(a.listPorts))
	rt.HandleFunc("GET /v2.0/ports/{id}", a.authed(a.showPort))
	rt.HandleFunc("PUT /v2.0/ports/{id}", a.authed(a.updatePort))
	rt.HandleFunc("DELETE /v2.0/ports/{id}", a.authed(a.deletePort))
}

// portTarget is what Neutron's port rules read: the port's owner and
// device owner, and its network's owner and sharing.
func portTarget(p network.Port, n network.Network) map[string]any {
	return map[string]any{"id": p.ID, "tenant_id": p.ProjectID, "project_id": p.ProjectID, "network_id": p.NetworkID,
		"device_owner": p.DeviceOwner, "network:tenant_id": n.ProjectID, "network:project_id": n.ProjectID,
		"network:shared": n.Shared}
}

// renderPort is a port as Neutron shows it; bindings are the agents by
// host, for its binding:vif_type and binding:vif_details.
func renderPort(p network.Port, bindings map[string]network.Agent) map[string]any {
	ips := make([]map[string]string, len(p.FixedIPs))
	for i, f := range p.FixedIPs {
		ips[i] = map[string]string{"subnet_id": f.SubnetID, "ip_address": f.IP.String()}
	}
	vif, details := binding(p, bindings)
	pairs := make([]map[string]string, len(p.AllowedAddressPairs))
	for i, pair := range p.AllowedAddressPairs {
		pairs[i] = map[string]string{"ip_address": pair.IP, "mac_address": pair.MAC}
	}
	groups := p.SecurityGroups
	if groups == nil {
		groups = []string{}
	}
	return map[string]any{
		"id": p.ID, "name": p.Name, "description": p.Description, "tenant_id": p.ProjectID, "project_id": p.ProjectID,
		"network_id": p.NetworkID, "admin_state_up": p.AdminStateUp, "mac_address": p.MAC, "fixed_ips": ips,
		"device_id": p.DeviceID, "device_owner": p.DeviceOwner, "status": p.Status,
		"binding:host_id": p.HostID, "binding:vif_type": vif, "binding:vnic_type": "normal",
		"binding:vif_details": details, "binding:profile": map[string]any{},
		"security_groups": groups, "port_security_enabled": p.PortSecurity == nil || *p.PortSecurity,
		"allowed_address_pairs": pairs, "extra_dhcp_opts": []any{}, "tags": tagList(p.Tags),
		"revision_number": p.Revision, "created_at": isoTime(p.CreatedAt), "updated_at": isoTime(p.UpdatedAt),
	}
}

// binding is ML2's view of where a port is bound: "unbound" without a
// host, "ovs" on a host with an Open vSwitch agent, with the details
// Nova's os-vif plugs by (the integration bridge, the datapath type: a
// netdev datapath is the userspace one), "binding_failed" on a host
// without one.
func binding(p network.Port, agents map[string]network.Agent) (string, map[string]any) {
	if p.HostID == "" {
		return "unbound", map[string]any{}
	}
	ag, ok := agents[p.HostID]
	if !ok {
		return "binding_failed", map[string]any{}
	}
	conf := func(key, def string) string {
		if v, ok := ag.Configurations[key].(string); ok && v != "" {
			return v
		}
		return def
	}
	return "ovs", map[string]any{"port_filter": true, "ovs_hybrid_plug": false, "connectivity": "l2",
		"datapath_type": conf("datapath_type", "system"), "bridge_name": conf("integration_bridge", "br-int")}
}

// bindings are the Open vSwitch agents by host (whether alive or not: a
// binding outlives its agent's silence, as in Neutron).
func (a *API) bindings(ctx context.Context) (map[string]network.Agent, error) {
	ags, err := a.Store.Agents(ctx, a.downTime())
	if err != nil {
		return nil, err
	}
	out := make(map[string]network.Agent, len(ags))
	for _, ag := range ags {
		if ag.AgentType == network.OVSAgent {
			out[ag.Host] = ag
		}
	}
	return out, nil
}

func (a *API) viewPorts(ctx context.Context, q *request, ports []network.Port) ([]map[string]any, error) {
	ids := make([]string, len(ports))
	for i, p := range ports {
		ids[i] = p.NetworkID
	}
	nets, err := a.networksOf(ctx, ids)
	if err != nil {
		return nil, err
	}
	bound, err := a.bindings(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, 0, len(ports))
	for _, p := range ports {
		t := portTarget(p, nets[p.NetworkID])
		if a.allowed(ctx, q, "get_port", t) {
			out = append(out, a.hide(ctx, q, "get_port", renderPort(p, bound), t))
		}
	}
	return out, nil
}

func (a *API) createPort(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	attrs, err := decode(w, r, "port")
	if err == nil {
		err = known(attrs, "name", "description", "network_id", "admin_state_up", "mac_address", "fixed_ips",
			"device_id", "device_owner", "binding:host_id", "tenant_id", "project_id", "security_groups", "port_security_enabled",
			"allowed_address_pairs", "tags")
	}
	var p network.Port
	if err == nil {
		p, err = parsePort(attrs, q)
	}
	if err != nil {
		fail(w, r, err)
		return
	}
	n, err := a.Store.GetNetwork(ctx, q.viewer(), p.NetworkID)
	if err != nil {
		fail(w, r, err)
		return
	}
	t := portTarget(p, n)
	if !a.allowed(ctx, q, "create_port", t) {
		fail(w, r, notAuthorized("create_port"))
		return
	}
	if err := a.checkAttrs(ctx, q, "create_port", attrs, t); err != nil {
		fail(w, r, err)
		return
	}
	for _, f := range p.FixedIPs { // Neutron's fixed_ips sub-attribute rules
		for key, set := range map[string]bool{"ip_address": f.IP.IsValid(), "subnet_id": f.SubnetID != ""} {
			if rule := "create_port:fixed_ips:" + key; set && !a.allowed(ctx, q, rule, t) {
				fail(w, r, notAuthorized(rule))
				return
			}
		}
	}
	if err := a.checkPairs(ctx, q, "create_port", p.AllowedAddressPairs, t); err != nil {
		fail(w, r, err)
		return
	}
	// The store keeps its own rule too: ports and subnets go on networks
	// the caller owns (or shared ones, for ports), unless it is an admin.
	if p, err = a.Store.CreatePort(ctx, q.viewer(), p); err != nil {
		fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusCreated, map[string]any{"port": a.hide(ctx, q, "get_port", a.renderPort(ctx, p), portTarget(p, n))})
}

func parsePort(attrs map[string]any, q *request) (network.Port, error) {
	p := network.Port{AdminStateUp: true}
	var err error
	if p.ProjectID, err = owner(attrs, q); err != nil {
		return p, err
	}
	for _, f := range []struct {
		key string
		dst *string
	}{{"name", &p.Name}, {"description", &p.Description}, {"network_id", &p.NetworkID}, {"mac_address", &p.MAC},
		{"device_id", &p.DeviceID}, {"device_owner", &p.DeviceOwner}, {"binding:host_id", &p.HostID}} {
		s, err := str(attrs, f.key, 255)
		if err != nil {
			return p, err
		}
		if s != nil {
			*f.dst = *s
		}
	}
	if p.NetworkID == "" {
		return p, attrError("network_id", "'None' is not a valid UUID")
	}
	if b, err := boolean(attrs, "admin_state_up"); err != nil {
		return p, err
	} else if b != nil {
		p.AdminStateUp = *b
	}
	if p.PortSecurity, err = boolean(attrs, "port_security_enabled"); err != nil {
		return p, err
	}
	if p.SecurityGroups, err = groupList(attrs); err != nil {
		return p, err
	}
	if p.AllowedAddressPairs, err = addressPairs(attrs); err != nil {
		return p, err
	}
	if p.Tags, err = portTags(attrs); err != nil {
		return p, err
	}
	if v, ok := attrs["fixed_ips"]; ok && v != nil {
		list, ok := v.([]any)
		if !ok {
			return p, attrError("fixed_ips", "Invalid data format for fixed IP: '%v'", v)
		}
		for _, item := range list {
			m, ok := item.(map[string]any)
			if !ok {
				return p, attrError("fixed_ips", "Invalid data format for fixed IP: '%v'", item)
			}
			var f network.FixedIP
			for k, val := range m {
				s, isStr := val.(string)
				switch {
				case k == "subnet_id" && isStr:
					f.SubnetID = s
				case k == "ip_address" && isStr:
					a, err := netip.ParseAddr(s)
					if err != nil {
						return p, attrError("fixed_ips", "'%s' is not a valid IP address", s)
					}
					f.IP = a
				default:
					return p, attrError("fixed_ips", "Invalid data format for fixed IP: '%v'", item)
				}
			}
			p.FixedIPs = append(p.FixedIPs, f)
		}
	}
	return p, nil
}

func (a *API) listPorts(w http.ResponseWriter, r *http.Request, q *request) {
	lp, err := a.parseList(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	ports, more, err := a.Store.ListPorts(r.Context(), q.viewer(), lp.filter, lp.page)
	if err != nil {
		fail(w, r, err)
		return
	}
	items, err := a.viewPorts(r.Context(), q, ports)
	if err != nil {
		fail(w, r, err)
		return
	}
	writeList(w, r, lp, "ports", items, more)
}

// loadPort returns the port of the path and its network if the caller
// may get it.
func (a *API) loadPort(ctx context.Context, r *http.Request, q *request) (network.Port, network.Network, error) {
	p, err := a.Store.GetPort(ctx, q.viewer(), r.PathValue("id"))
	if err != nil {
		return p, network.Network{}, err
	}
	nets, err := a.networksOf(ctx, []string{p.NetworkID})
	if err != nil {
		return p, network.Network{}, err
	}
	n := nets[p.NetworkID]
	if !a.allowed(ctx, q, "get_port", portTarget(p, n)) {
		return p, n, network.NotFound("port", p.ID)
	}
	return p, n, nil
}

func (a *API) showPort(w http.ResponseWriter, r *http.Request, q *request) {
	p, n, err := a.loadPort(r.Context(), r, q)
	if err != nil {
		fail(w, r, err)
		return
	}
	lp, _ := a.parseList(r)
	item := a.hide(r.Context(), q, "get_port", a.renderPort(r.Context(), p), portTarget(p, n))
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"port": pick(item, lp.fields)})
}

func (a *API) updatePort(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	p, n, err := a.loadPort(ctx, r, q)
	if err != nil {
		fail(w, r, err)
		return
	}
	attrs, err := decode(w, r, "port")
	if err == nil {
		err = known(attrs, "name", "description", "admin_state_up", "device_id", "device_owner", "binding:host_id",
			"security_groups", "port_security_enabled", "allowed_address_pairs")
	}
	var u network.PortUpdate
	if err == nil {
		u, err = parsePortUpdate(attrs)
	}
	if err != nil {
		fail(w, r, err)
		return
	}
	t := portTarget(p, n)
	if !a.allowed(ctx, q, "update_port", t) {
		fail(w, r, notAuthorized("update_port"))
		return
	}
	if err := a.checkAttrs(ctx, q, "update_port", attrs, t); err != nil {
		fail(w, r, err)
		return
	}
	if u.AllowedAddressPairs != nil {
		if err := a.checkPairs(ctx, q, "update_port", *u.AllowedAddressPairs, t); err != nil {
			fail(w, r, err)
			return
		}
	}
	v := q.viewer()
	v.Admin = true // the policy decided
	if p, err = a.Store.UpdatePort(ctx, v, p.ID, u); err != nil {
		fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"port": a.hide(ctx, q, "get_port", a.renderPort(ctx, p), portTarget(p, n))})
}

func parsePortUpdate(attrs map[string]any) (network.PortUpdate, error) {
	var u network.PortUpdate
	var err error
	for _, f := range []struct {
		key string
		dst **string
	}{{"name", &u.Name}, {"description", &u.Description}, {"device_id", &u.DeviceID}, {"device_owner", &u.DeviceOwner},
		{"binding:host_id", &u.HostID}} {
		if *f.dst, err = str(attrs, f.key, 255); err != nil {
			return u, err
		}
	}
	if u.AdminStateUp, err = boolean(attrs, "admin_state_up"); err != nil {
		return u, err
	}
	if u.PortSecurity, err = boolean(attrs, "port_security_enabled"); err != nil {
		return u, err
	}
	if _, ok := attrs["security_groups"]; ok {
		groups, err := groupList(attrs)
		if err != nil {
			return u, err
		}
		u.SecurityGroups = &groups
	}
	if _, ok := attrs["allowed_address_pairs"]; ok {
		pairs, err := addressPairs(attrs)
		if err != nil {
			return u, err
		}
		u.AllowedAddressPairs = &pairs
	}
	return u, nil
}

func (a *API) deletePort(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	p, n, err := a.loadPort(ctx, r, q)
	if err != nil {
		fail(w, r, err)
		return
	}
	if !a.allowed(ctx, q, "delete_port", portTarget(p, n)) {
		fail(w, r, notAuthorized("delete_port"))
		return
	}
	v := q.viewer()
	v.Admin = true // the policy decided
	if err := a.Store.DeletePort(ctx, v, p.ID); err != nil {
		fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// renderPort renders one port with its binding (no binding details when
// the agents cannot be read: the port still shows).
func (a *API) renderPort(ctx context.Context, p network.Port) map[string]any {
	bound, _ := a.bindings(ctx)
	return renderPort(p, bound)
}
