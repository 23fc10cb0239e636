package api

import (
	"context"
	"net/http"
	"net/netip"

	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/network"
	"github.com/gostack/gostack/network/ipam"
)

func (a *API) subnetRoutes(rt *httpapi.Router) {
	rt.HandleFunc("POST /v2.0/subnets", a.authed(a.createSubnet))
	rt.HandleFunc("GET /v2.0/subnets", a.authed(a.listSubnets))
	rt.HandleFunc("GET /v2.0/subnets/{id}", a.authed(a.showSubnet))
	rt.HandleFunc("PUT /v2.0/subnets/{id}", a.authed(a.updateSubnet))
	rt.HandleFunc("DELETE /v2.0/subnets/{id}", a.authed(a.deleteSubnet))
}

// subnetTarget is what Neutron's subnet rules read: the subnet's owner
// and its network's owner and sharing.
func subnetTarget(s network.Subnet, n network.Network) map[string]any {
	return map[string]any{"id": s.ID, "tenant_id": s.ProjectID, "project_id": s.ProjectID, "network_id": s.NetworkID,
		"network:tenant_id": n.ProjectID, "network:project_id": n.ProjectID, "network:shared": n.Shared}
}

func renderSubnet(s network.Subnet) map[string]any {
	pools := make([]map[string]string, len(s.Pools))
	for i, p := range s.Pools {
		pools[i] = map[string]string{"start": p.Start.String(), "end": p.End.String()}
	}
	ns := make([]string, len(s.Nameservers))
	for i, a := range s.Nameservers {
		ns[i] = a.String()
	}
	routes := make([]map[string]string, len(s.Routes))
	for i, r := range s.Routes {
		routes[i] = map[string]string{"destination": r.Destination.String(), "nexthop": r.Nexthop.String()}
	}
	var gw any
	if s.Gateway.IsValid() {
		gw = s.Gateway.String()
	}
	return map[string]any{
		"id": s.ID, "name": s.Name, "description": s.Description, "tenant_id": s.ProjectID, "project_id": s.ProjectID,
		"network_id": s.NetworkID, "ip_version": s.IPVersion, "cidr": s.CIDR.String(), "gateway_ip": gw,
		"allocation_pools": pools, "dns_nameservers": ns, "host_routes": routes, "enable_dhcp": s.EnableDHCP,
		"ipv6_ra_mode": nil, "ipv6_address_mode": nil, "subnetpool_id": nil, "service_types": []string{}, "tags": tagList(s.Tags),
		"revision_number": s.Revision, "created_at": isoTime(s.CreatedAt), "updated_at": isoTime(s.UpdatedAt),
	}
}

// networksOf reads the networks of subnets or ports, for their targets.
func (a *API) networksOf(ctx context.Context, ids []string) (map[string]network.Network, error) {
	out := map[string]network.Network{}
	var want []string
	for _, id := range ids {
		if _, ok := out[id]; !ok {
			out[id] = network.Network{}
			want = append(want, id)
		}
	}
	if len(want) == 0 {
		return out, nil
	}
	ns, _, err := a.Store.ListNetworks(ctx, network.Viewer{Admin: true}, network.Filter{"id": want}, network.Page{})
	for _, n := range ns {
		out[n.ID] = n
	}
	return out, err
}

func (a *API) viewSubnets(ctx context.Context, q *request, subs []network.Subnet) ([]map[string]any, error) {
	ids := make([]string, len(subs))
	for i, s := range subs {
		ids[i] = s.NetworkID
	}
	nets, err := a.networksOf(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, 0, len(subs))
	for _, s := range subs {
		t := subnetTarget(s, nets[s.NetworkID])
		if a.allowed(ctx, q, "get_subnet", t) {
			out = append(out, a.hide(ctx, q, "get_subnet", renderSubnet(s), t))
		}
	}
	return out, nil
}

func (a *API) createSubnet(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	attrs, err := decode(w, r, "subnet")
	if err == nil {
		err = known(attrs, "name", "description", "network_id", "ip_version", "cidr", "gateway_ip", "allocation_pools",
			"dns_nameservers", "host_routes", "enable_dhcp", "tenant_id", "project_id")
	}
	var s network.Subnet
	var noGateway bool
	if err == nil {
		s, noGateway, err = parseSubnet(attrs, q)
	}
	if err != nil {
		fail(w, r, err)
		return
	}
	n, err := a.Store.GetNetwork(ctx, q.viewer(), s.NetworkID)
	if err != nil {
		fail(w, r, err)
		return
	}
	t := subnetTarget(s, n)
	if !a.allowed(ctx, q, "create_subnet", t) {
		fail(w, r, notAuthorized("create_subnet"))
		return
	}
	if err := a.checkAttrs(ctx, q, "create_subnet", attrs, t); err != nil {
		fail(w, r, err)
		return
	}
	// The store keeps its own rule too: ports and subnets go on networks
	// the caller owns (or shared ones, for ports), unless it is an admin.
	if s, err = a.Store.CreateSubnet(ctx, q.viewer(), s, noGateway); err != nil {
		fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusCreated, map[string]any{"subnet": a.hide(ctx, q, "get_subnet", renderSubnet(s), subnetTarget(s, n))})
}

// parseSubnetOptions reads what a subnet create and update share:
// gateway_ip (null: none, a zero address), enable_dhcp,
// allocation_pools, dns_nameservers, host_routes; absent ones stay nil.
func parseSubnetOptions(attrs map[string]any) (network.SubnetUpdate, error) {
	var u network.SubnetUpdate
	var err error
	if gw, present := attrs["gateway_ip"]; present {
		var addr netip.Addr
		if gw != nil {
			g, ok := gw.(string)
			if !ok {
				return u, attrError("gateway_ip", "'%v' is not a valid IP address", gw)
			}
			if addr, err = netip.ParseAddr(g); err != nil {
				return u, attrError("gateway_ip", "'%s' is not a valid IP address", g)
			}
		}
		u.Gateway = &addr
	}
	if u.EnableDHCP, err = boolean(attrs, "enable_dhcp"); err != nil {
		return u, err
	}
	if v, ok := attrs["allocation_pools"]; ok && v != nil {
		list, ok := v.([]any)
		if !ok {
			return u, attrError("allocation_pools", "Invalid data format for IP pool: '%v'", v)
		}
		pools := []ipam.Range{}
		for _, item := range list {
			m, ok := item.(map[string]any)
			st, ok1 := m["start"].(string)
			en, ok2 := m["end"].(string)
			if !ok || !ok1 || !ok2 || len(m) != 2 {
				return u, attrError("allocation_pools", "Invalid data format for IP pool: '%v'", item)
			}
			start, err1 := netip.ParseAddr(st)
			end, err2 := netip.ParseAddr(en)
			if err1 != nil || err2 != nil {
				return u, attrError("allocation_pools", "Invalid data format for IP pool: '%v'", item)
			}
			pools = append(pools, ipam.Range{Start: start, End: end})
		}
		u.Pools = &pools
	}
	if v, ok := attrs["dns_nameservers"]; ok && v != nil {
		list, ok := v.([]any)
		if !ok {
			return u, attrError("dns_nameservers", "'%v' is not a list", v)
		}
		ns := []netip.Addr{}
		for _, item := range list {
			str, _ := item.(string)
			a, err := netip.ParseAddr(str)
			if err != nil {
				return u, attrError("dns_nameservers", "'%v' is not a valid nameserver", item)
			}
			ns = append(ns, a)
		}
		u.Nameservers = &ns
	}
	if v, ok := attrs["host_routes"]; ok && v != nil {
		list, ok := v.([]any)
		if !ok {
			return u, attrError("host_routes", "Invalid data format for hostroute: '%v'", v)
		}
		routes := []ipam.Route{}
		for _, item := range list {
			m, _ := item.(map[string]any)
			d, _ := m["destination"].(string)
			nh, _ := m["nexthop"].(string)
			dst, err1 := netip.ParsePrefix(d)
			hop, err2 := netip.ParseAddr(nh)
			if err1 != nil || err2 != nil || len(m) != 2 {
				return u, attrError("host_routes", "Invalid data format for hostroute: '%v'", item)
			}
			routes = append(routes, ipam.Route{Destination: dst, Nexthop: hop})
		}
		u.Routes = &routes
	}
	return u, nil
}

// parseSubnet reads a subnet create; noGateway is gateway_ip: null.
func parseSubnet(attrs map[string]any, q *request) (network.Subnet, bool, error) {
	s := network.Subnet{EnableDHCP: true}
	var err error
	if s.ProjectID, err = owner(attrs, q); err != nil {
		return s, false, err
	}
	for _, f := range []struct {
		key string
		dst *string
	}{{"name", &s.Name}, {"description", &s.Description}, {"network_id", &s.NetworkID}} {
		v, err := str(attrs, f.key, 255)
		if err != nil {
			return s, false, err
		}
		if v != nil {
			*f.dst = *v
		}
	}
	if s.NetworkID == "" {
		return s, false, attrError("network_id", "'None' is not a valid UUID")
	}
	cidr, err := str(attrs, "cidr", 64)
	if err != nil {
		return s, false, err
	}
	if cidr == nil {
		return s, false, badRequest("a subnet needs a cidr (subnet pools are not served)")
	}
	if s.CIDR, err = netip.ParsePrefix(*cidr); err != nil {
		return s, false, attrError("cidr", "'%s' is not a valid IP subnet", *cidr)
	}
	if v, err := integer(attrs, "ip_version"); err != nil {
		return s, false, err
	} else if v != nil {
		if *v != 4 && *v != 6 {
			return s, false, attrError("ip_version", "'%d' is not in [4, 6]", *v)
		}
		s.IPVersion = *v
	}
	u, err := parseSubnetOptions(attrs)
	if err != nil {
		return s, false, err
	}
	noGateway := u.Gateway != nil && !u.Gateway.IsValid()
	if u.Gateway != nil {
		s.Gateway = *u.Gateway
	}
	if u.EnableDHCP != nil {
		s.EnableDHCP = *u.EnableDHCP
	}
	if u.Pools != nil {
		s.Pools = *u.Pools
	}
	if u.Nameservers != nil {
		s.Nameservers = *u.Nameservers
	}
	if u.Routes != nil {
		s.Routes = *u.Routes
	}
	return s, noGateway, nil
}

func (a *API) listSubnets(w http.ResponseWriter, r *http.Request, q *request) {
	lp, err := a.parseList(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	subs, more, err := a.Store.ListSubnets(r.Context(), q.viewer(), lp.filter, lp.page)
	if err != nil {
		fail(w, r, err)
		return
	}
	items, err := a.viewSubnets(r.Context(), q, subs)
	if err != nil {
		fail(w, r, err)
		return
	}
	writeList(w, r, lp, "subnets", items, more)
}

// loadSubnet returns the subnet of the path and its network if the
// caller may get it.
func (a *API) loadSubnet(ctx context.Context, r *http.Request, q *request) (network.Subnet, network.Network, error) {
	s, err := a.Store.GetSubnet(ctx, q.viewer(), r.PathValue("id"))
	if err != nil {
		return s, network.Network{}, err
	}
	nets, err := a.networksOf(ctx, []string{s.NetworkID})
	if err != nil {
		return s, network.Network{}, err
	}
	n := nets[s.NetworkID]
	if !a.allowed(ctx, q, "get_subnet", subnetTarget(s, n)) {
		return s, n, network.NotFound("subnet", s.ID)
	}
	return s, n, nil
}

func (a *API) showSubnet(w http.ResponseWriter, r *http.Request, q *request) {
	s, n, err := a.loadSubnet(r.Context(), r, q)
	if err != nil {
		fail(w, r, err)
		return
	}
	lp, _ := a.parseList(r)
	item := a.hide(r.Context(), q, "get_subnet", renderSubnet(s), subnetTarget(s, n))
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"subnet": pick(item, lp.fields)})
}

func (a *API) updateSubnet(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	s, n, err := a.loadSubnet(ctx, r, q)
	if err != nil {
		fail(w, r, err)
		return
	}
	attrs, err := decode(w, r, "subnet")
	if err == nil {
		err = known(attrs, "name", "description", "gateway_ip", "allocation_pools", "dns_nameservers", "host_routes", "enable_dhcp")
	}
	var u network.SubnetUpdate
	if err == nil {
		u, err = parseSubnetOptions(attrs)
	}
	if err == nil {
		if u.Name, err = str(attrs, "name", 255); err == nil {
			u.Description, err = str(attrs, "description", 255)
		}
	}
	if err != nil {
		fail(w, r, err)
		return
	}
	t := subnetTarget(s, n)
	if !a.allowed(ctx, q, "update_subnet", t) {
		fail(w, r, notAuthorized("update_subnet"))
		return
	}
	v := q.viewer()
	v.Admin = true // the policy decided
	if s, err = a.Store.UpdateSubnet(ctx, v, s.ID, u); err != nil {
		fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"subnet": a.hide(ctx, q, "get_subnet", renderSubnet(s), t)})
}

func (a *API) deleteSubnet(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	s, n, err := a.loadSubnet(ctx, r, q)
	if err != nil {
		fail(w, r, err)
		return
	}
	if !a.allowed(ctx, q, "delete_subnet", subnetTarget(s, n)) {
		fail(w, r, notAuthorized("delete_subnet"))
		return
	}
	v := q.viewer()
	v.Admin = true // the policy decided
	if err := a.Store.DeleteSubnet(ctx, v, s.ID); err != nil {
		fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
