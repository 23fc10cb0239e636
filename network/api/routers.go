package api

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"sort"
	"strings"

	"github.com/google/uuid"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/network"
	"github.com/gostack/gostack/network/ipam"
)

func (a *API) routerRoutes(rt *httpapi.Router) {
	rt.HandleFunc("POST /v2.0/routers", a.authed(a.createRouter))
	rt.HandleFunc("GET /v2.0/routers", a.authed(a.listRouters))
	rt.HandleFunc("GET /v2.0/routers/{id}", a.authed(a.showRouter))
	rt.HandleFunc("PUT /v2.0/routers/{id}", a.authed(a.updateRouter))
	rt.HandleFunc("DELETE /v2.0/routers/{id}", a.authed(a.deleteRouter))
	rt.HandleFunc("PUT /v2.0/routers/{id}/add_router_interface", a.authed(a.addRouterInterface))
	rt.HandleFunc("PUT /v2.0/routers/{id}/remove_router_interface", a.authed(a.removeRouterInterface))
	rt.HandleFunc("PUT /v2.0/routers/{id}/add_extraroutes", a.authed(a.addExtraRoutes))
	rt.HandleFunc("PUT /v2.0/routers/{id}/remove_extraroutes", a.authed(a.removeExtraRoutes))
}

func routerTarget(r network.Router) map[string]any {
	return map[string]any{"id": r.ID, "tenant_id": r.ProjectID, "project_id": r.ProjectID}
}

func renderFixedIPs(ips []network.FixedIP) []map[string]string {
	out := make([]map[string]string, len(ips))
	for i, f := range ips {
		out[i] = map[string]string{"subnet_id": f.SubnetID, "ip_address": f.IP.String()}
	}
	return out
}

func renderRouter(r network.Router) map[string]any {
	var gw any
	if g := r.Gateway; g != nil {
		gw = map[string]any{"network_id": g.NetworkID, "enable_snat": g.EnableSNAT, "external_fixed_ips": renderFixedIPs(g.FixedIPs)}
	}
	routes := make([]map[string]string, len(r.Routes))
	for i, rt := range r.Routes {
		routes[i] = map[string]string{"destination": rt.Destination.String(), "nexthop": rt.Nexthop.String()}
	}
	return map[string]any{
		"id": r.ID, "name": r.Name, "description": r.Description, "tenant_id": r.ProjectID, "project_id": r.ProjectID,
		"admin_state_up": r.AdminStateUp, "status": r.Status, "external_gateway_info": gw, "routes": routes, "tags": tagList(r.Tags),
		"revision_number": r.Revision, "created_at": isoTime(r.CreatedAt), "updated_at": isoTime(r.UpdatedAt),
	}
}

func (a *API) viewRouters(ctx context.Context, q *request, rs []network.Router) []map[string]any {
	out := make([]map[string]any, 0, len(rs))
	for _, r := range rs {
		if t := routerTarget(r); a.allowed(ctx, q, "get_router", t) {
			out = append(out, a.hide(ctx, q, "get_router", renderRouter(r), t))
		}
	}
	return out
}

// readOnly refuses attributes a request may not set, as Neutron does.
func readOnly(attrs map[string]any, method string, names ...string) error {
	var set []string
	for _, n := range names {
		if _, ok := attrs[n]; ok {
			set = append(set, n)
		}
	}
	if len(set) == 0 {
		return nil
	}
	sort.Strings(set)
	if method == "POST" {
		return badRequest("Attribute '%s' not allowed in POST", set[0])
	}
	return badRequest("Cannot update read-only attribute %s", set[0])
}

func (a *API) createRouter(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	attrs, err := decode(w, r, "router")
	if err == nil {
		err = readOnly(attrs, "POST", "id", "status", "routes")
	}
	if err == nil {
		err = known(attrs, "name", "description", "admin_state_up", "external_gateway_info", "tenant_id", "project_id")
	}
	var rt network.Router
	var gw *network.GatewaySpec
	if err == nil {
		rt, gw, err = parseRouter(attrs, q)
	}
	if err != nil {
		fail(w, r, err)
		return
	}
	t := routerTarget(rt)
	if !a.allowed(ctx, q, "create_router", t) {
		fail(w, r, notAuthorized("create_router"))
		return
	}
	if err := a.checkRouterAttrs(ctx, q, "create_router", attrs, t); err != nil {
		fail(w, r, err)
		return
	}
	if rt, err = a.Store.CreateRouter(ctx, q.viewer(), rt, gw); err != nil {
		fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusCreated, map[string]any{"router": a.hide(ctx, q, "get_router", renderRouter(rt), routerTarget(rt))})
}

// checkRouterAttrs enforces the attribute rules of what a router create
// or update sets, and those of the keys external_gateway_info sets
// ("create_router:external_gateway_info:external_fixed_ips", ...), as
// Neutron's sub-attribute checks do.
func (a *API) checkRouterAttrs(ctx context.Context, q *request, action string, attrs, target map[string]any) error {
	if err := a.checkAttrs(ctx, q, action, attrs, target); err != nil {
		return err
	}
	gw, _ := attrs["external_gateway_info"].(map[string]any)
	keys := make([]string, 0, len(gw))
	for k := range gw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if rule := action + ":external_gateway_info:" + k; a.hasRule(rule) && !a.allowed(ctx, q, rule, target) {
			return notAuthorized(rule)
		}
	}
	return nil
}

func parseRouter(attrs map[string]any, q *request) (network.Router, *network.GatewaySpec, error) {
	rt := network.Router{AdminStateUp: true}
	var err error
	if rt.ProjectID, err = owner(attrs, q); err != nil {
		return rt, nil, err
	}
	u, err := parseRouterUpdate(attrs)
	if err != nil {
		return rt, nil, err
	}
	set(&rt.Name, u.Name)
	set(&rt.Description, u.Description)
	set(&rt.AdminStateUp, u.AdminStateUp)
	return rt, u.Gateway, nil
}

func parseRouterUpdate(attrs map[string]any) (network.RouterUpdate, error) {
	var u network.RouterUpdate
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
	if v, ok := attrs["external_gateway_info"]; ok {
		u.SetGateway = true
		if u.Gateway, err = parseGateway(v); err != nil {
			return u, err
		}
	}
	if v, ok := attrs["routes"]; ok {
		routes, err := parseRoutes(v)
		if err != nil {
			return u, err
		}
		u.Routes = &routes
	}
	return u, nil
}

// parseGateway is neutron_lib's type:dict_or_nodata for
// external_gateway_info: null or {} for none, else network_id (required),
// enable_snat and external_fixed_ips.
func parseGateway(v any) (*network.GatewaySpec, error) {
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, attrError("external_gateway_info", "'%v' is not a dictionary", v)
	}
	if len(m) == 0 {
		return nil, nil
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if _, ok := m["network_id"]; !ok {
		return nil, attrError("external_gateway_info", "Validation of dictionary's keys failed. Expected keys: {'network_id'} Provided keys: {'%s'}",
			strings.Join(keys, "', '"))
	}
	var unexpected []string
	for _, k := range keys {
		if k != "network_id" && k != "enable_snat" && k != "external_fixed_ips" {
			unexpected = append(unexpected, k)
		}
	}
	if len(unexpected) > 0 {
		return nil, attrError("external_gateway_info", "Unexpected keys supplied: %s", strings.Join(unexpected, ", "))
	}
	gw := &network.GatewaySpec{}
	id, err := uuidValue(m["network_id"])
	if err != nil {
		return nil, attrError("external_gateway_info", "%s", err)
	}
	gw.NetworkID = id
	if gw.EnableSNAT, err = boolean(m, "enable_snat"); err != nil {
		return nil, err
	}
	if gw.FixedIPs, err = parseFixedIPs(m["external_fixed_ips"]); err != nil {
		return nil, attrError("external_gateway_info", "%s", err)
	}
	return gw, nil
}

// uuidValue is validate_uuid: a string holding a UUID.
func uuidValue(v any) (string, error) {
	s, ok := v.(string)
	if _, err := uuid.Parse(s); !ok || err != nil || len(s) != 36 {
		return "", fmt.Errorf("'%v' is not a valid UUID", v)
	}
	return s, nil
}

// ipValue is validate_ip_address: a string holding an address.
func ipValue(v any) (netip.Addr, error) {
	s, _ := v.(string)
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("'%v' is not a valid IP address", v)
	}
	return a, nil
}

// parseFixedIPs is validate_fixed_ips: a list of {subnet_id,
// ip_address}, no address twice (null: none).
func parseFixedIPs(v any) ([]network.FixedIP, error) {
	if v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("Invalid data format for fixed IP: '%v'", v)
	}
	var out []network.FixedIP
	for _, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("Invalid data format for fixed IP: '%v'", item)
		}
		var f network.FixedIP
		for k, val := range m {
			var err error
			switch k {
			case "ip_address":
				if f.IP, err = ipValue(val); err == nil && containsIP(out, f.IP) {
					err = fmt.Errorf("Duplicate IP address '%s'", f.IP)
				}
			case "subnet_id":
				f.SubnetID, err = uuidValue(val)
			default:
				err = fmt.Errorf("Invalid data format for fixed IP: '%v'", item)
			}
			if err != nil {
				return nil, err
			}
		}
		out = append(out, f)
	}
	return out, nil
}

func containsIP(ips []network.FixedIP, ip netip.Addr) bool {
	for _, f := range ips {
		if f.IP == ip {
			return true
		}
	}
	return false
}

// parseRoutes is neutron_lib's validate_hostroutes for a router's routes
// (null: none).
func parseRoutes(v any) ([]ipam.Route, error) {
	if v == nil {
		return []ipam.Route{}, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, attrError("routes", "Invalid data format for hostroute: '%v'", v)
	}
	out := []ipam.Route{}
	for _, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			return nil, attrError("routes", "Invalid input. '%v' must be a dictionary with keys: ['destination', 'nexthop']", item)
		}
		_, hasDst := m["destination"]
		_, hasHop := m["nexthop"]
		if len(m) != 2 || !hasDst || !hasHop {
			var keys []string
			for k := range m {
				keys = append(keys, "'"+k+"'")
			}
			sort.Strings(keys)
			return nil, attrError("routes", "Validation of dictionary's keys failed. Expected keys: {'destination', 'nexthop'} Provided keys: {%s}",
				strings.Join(keys, ", "))
		}
		dst, err := routeCIDR(m["destination"])
		if err != nil {
			return nil, attrError("routes", "%s", err)
		}
		hop, err := ipValue(m["nexthop"])
		if err != nil {
			return nil, attrError("routes", "%s", err)
		}
		r := ipam.Route{Destination: dst, Nexthop: hop}
		for _, o := range out {
			if o == r {
				return nil, attrError("routes", "Duplicate hostroute '{'destination': '%s', 'nexthop': '%s'}'", dst, hop)
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// routeCIDR is validate_route_cidr: a network written with its prefix
// length, not a loopback one.
func routeCIDR(v any) (netip.Prefix, error) {
	s, _ := v.(string)
	p, err := netip.ParsePrefix(s)
	if err != nil {
		a, aerr := netip.ParseAddr(s)
		if aerr != nil || a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("'%v' is not a valid CIDR", v)
		}
		return netip.Prefix{}, fmt.Errorf("'%s' is not a recognized CIDR, '%s' is recommended", s, netip.PrefixFrom(a, a.BitLen()))
	}
	if p.Masked() != p {
		return netip.Prefix{}, fmt.Errorf("'%s' is not a recognized CIDR, '%s' is recommended", s, p.Masked())
	}
	if p.Addr().IsLoopback() {
		return netip.Prefix{}, fmt.Errorf("'%s' is not a routable CIDR", s)
	}
	return p, nil
}

func (a *API) listRouters(w http.ResponseWriter, r *http.Request, q *request) {
	lp, err := a.parseList(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	rs, more, err := a.Store.ListRouters(r.Context(), q.viewer(), lp.filter, lp.page)
	if err != nil {
		fail(w, r, err)
		return
	}
	writeList(w, r, lp, "routers", a.viewRouters(r.Context(), q, rs), more)
}

// loadRouter returns the router of the path if the caller may get it.
func (a *API) loadRouter(ctx context.Context, r *http.Request, q *request) (network.Router, error) {
	return loadVisible(ctx, a, r, q, "router", a.Store.GetRouter, routerTarget)
}

func (a *API) showRouter(w http.ResponseWriter, r *http.Request, q *request) {
	rt, err := a.loadRouter(r.Context(), r, q)
	if err != nil {
		fail(w, r, err)
		return
	}
	lp, _ := a.parseList(r)
	item := a.hide(r.Context(), q, "get_router", renderRouter(rt), routerTarget(rt))
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"router": pick(item, lp.fields)})
}

func (a *API) updateRouter(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	rt, err := a.loadRouter(ctx, r, q)
	if err != nil {
		fail(w, r, err)
		return
	}
	attrs, err := decode(w, r, "router")
	if err == nil {
		err = readOnly(attrs, "PUT", "id", "status", "tenant_id", "project_id")
	}
	if err == nil {
		err = known(attrs, "name", "description", "admin_state_up", "external_gateway_info", "routes")
	}
	var u network.RouterUpdate
	if err == nil {
		u, err = parseRouterUpdate(attrs)
	}
	if err != nil {
		fail(w, r, err)
		return
	}
	t := routerTarget(rt)
	if !a.allowed(ctx, q, "update_router", t) {
		fail(w, r, notAuthorized("update_router"))
		return
	}
	if err := a.checkRouterAttrs(ctx, q, "update_router", attrs, t); err != nil {
		fail(w, r, err)
		return
	}
	// The caller as it is: the gateway's network and the routes' subnets
	// are those it may use.
	if rt, err = a.Store.UpdateRouter(ctx, q.viewer(), rt.ID, u); err != nil {
		fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"router": a.hide(ctx, q, "get_router", renderRouter(rt), routerTarget(rt))})
}

func (a *API) deleteRouter(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	rt, err := a.loadRouter(ctx, r, q)
	if err != nil {
		fail(w, r, err)
		return
	}
	if !a.allowed(ctx, q, "delete_router", routerTarget(rt)) {
		fail(w, r, notAuthorized("delete_router"))
		return
	}
	if err := a.Store.DeleteRouter(ctx, q.viewer(), rt.ID); err != nil {
		fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// decodeAction reads an action's body: a JSON object.
func decodeAction(w http.ResponseWriter, r *http.Request) (map[string]any, error) {
	var body map[string]any
	if err := httpapi.DecodeJSON(w, r, &body, httpapi.MaxBytes(maxBody)); err != nil {
		return nil, err
	}
	if body == nil {
		return nil, badRequest("Body contains invalid data")
	}
	return body, nil
}

// parseInterface is _validate_interface_info's UUID checks: subnet_id
// and port_id, when given, are UUIDs (the store checks the rest).
func parseInterface(body map[string]any) (network.InterfaceSpec, error) {
	var spec network.InterfaceSpec
	for _, f := range []struct {
		key string
		dst *string
	}{{"port_id", &spec.PortID}, {"subnet_id", &spec.SubnetID}} {
		key, dst := f.key, f.dst
		v, ok := body[key]
		if !ok {
			continue
		}
		id, err := uuidValue(v)
		if err != nil {
			return spec, &fault.Error{Kind: fault.BadRequest, Type: "BadRequest", Message: "Bad router request: " + err.Error() + "."}
		}
		*dst = id
	}
	return spec, nil
}

// routerAction loads the router of the path, checks rule on it and reads
// the action's body.
func (a *API) routerAction(w http.ResponseWriter, r *http.Request, q *request, rule string) (network.Router, map[string]any, error) {
	ctx := r.Context()
	rt, err := a.loadRouter(ctx, r, q)
	if err != nil {
		return rt, nil, err
	}
	body, err := decodeAction(w, r)
	if err != nil {
		return rt, nil, err
	}
	if !a.allowed(ctx, q, rule, routerTarget(rt)) {
		return rt, nil, notAuthorized(rule)
	}
	return rt, body, nil
}

func renderInterface(i network.RouterInterface) map[string]any {
	return map[string]any{"id": i.RouterID, "tenant_id": i.ProjectID, "project_id": i.ProjectID, "port_id": i.PortID,
		"network_id": i.NetworkID, "subnet_id": i.SubnetID, "subnet_ids": i.SubnetIDs}
}

func (a *API) addRouterInterface(w http.ResponseWriter, r *http.Request, q *request) {
	a.interfaceAction(w, r, q, "add_router_interface", a.Store.AddRouterInterface)
}

func (a *API) removeRouterInterface(w http.ResponseWriter, r *http.Request, q *request) {
	a.interfaceAction(w, r, q, "remove_router_interface", a.Store.RemoveRouterInterface)
}

func (a *API) interfaceAction(w http.ResponseWriter, r *http.Request, q *request, rule string,
	do func(context.Context, network.Viewer, string, network.InterfaceSpec) (network.RouterInterface, error)) {
	rt, body, err := a.routerAction(w, r, q, rule)
	var spec network.InterfaceSpec
	if err == nil {
		spec, err = parseInterface(body)
	}
	var info network.RouterInterface
	if err == nil {
		info, err = do(r.Context(), q.viewer(), rt.ID, spec)
	}
	if err != nil {
		fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, renderInterface(info))
}

func (a *API) addExtraRoutes(w http.ResponseWriter, r *http.Request, q *request) {
	a.extraRoutes(w, r, q, "add_extraroutes")
}

func (a *API) removeExtraRoutes(w http.ResponseWriter, r *http.Request, q *request) {
	a.extraRoutes(w, r, q, "remove_extraroutes")
}

// extraRoutes is extraroute-atomic: {"router": {"routes": [...]}} added
// to or removed from the router's routes in one transaction.
func (a *API) extraRoutes(w http.ResponseWriter, r *http.Request, q *request, rule string) {
	ctx := r.Context()
	rt, body, err := a.routerAction(w, r, q, rule)
	var routes []ipam.Route
	if err == nil {
		attrs, ok := body["router"].(map[string]any)
		switch _, has := attrs["routes"]; {
		case !ok || len(body) != 1:
			err = badRequest("Resource body required")
		case !has:
			err = badRequest("Bad router request: routes must be specified.")
		default:
			if err = known(attrs, "routes"); err == nil {
				routes, err = parseRoutes(attrs["routes"])
			}
		}
	}
	u := network.RouterUpdate{AddRoutes: routes}
	if rule == "remove_extraroutes" {
		u = network.RouterUpdate{RemoveRoutes: routes}
	}
	if err == nil {
		rt, err = a.Store.UpdateRouter(ctx, q.viewer(), rt.ID, u)
	}
	if err != nil {
		fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"router": a.hide(ctx, q, "get_router", renderRouter(rt), routerTarget(rt))})
}
