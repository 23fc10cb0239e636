package api_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gostack/gostack/internal/apitest"
)

// l3 is an external network of the admin's and a network of project A's,
// each with a subnet.
type l3 struct {
	c                           *apitest.Client
	ext, extSub, net, sub, bNet string
}

func newL3(t *testing.T) *l3 {
	c := newAPI(t)
	e := &l3{c: c}
	e.ext = c.Must(t, 201, "POST", "/v2.0/networks", admin, obj{"network": obj{"name": "public", "router:external": true}})["network"].(obj)["id"].(string)
	e.extSub = c.Must(t, 201, "POST", "/v2.0/subnets", admin,
		obj{"subnet": obj{"network_id": e.ext, "cidr": "203.0.113.0/24", "ip_version": 4}})["subnet"].(obj)["id"].(string)
	e.net = c.Must(t, 201, "POST", "/v2.0/networks", memberA, obj{"network": obj{"name": "n"}})["network"].(obj)["id"].(string)
	e.sub = c.Must(t, 201, "POST", "/v2.0/subnets", memberA,
		obj{"subnet": obj{"network_id": e.net, "cidr": "10.0.0.0/24", "ip_version": 4}})["subnet"].(obj)["id"].(string)
	e.bNet = c.Must(t, 201, "POST", "/v2.0/networks", memberB, obj{"network": obj{"name": "b"}})["network"].(obj)["id"].(string)
	c.Must(t, 201, "POST", "/v2.0/subnets", memberB, obj{"subnet": obj{"network_id": e.bNet, "cidr": "10.9.0.0/24", "ip_version": 4}})
	return e
}

// Routers: Neutron's bodies, checks, errors, policy and tenancy.
func TestRoutersAPI(t *testing.T) {
	e := newL3(t)
	c := e.c
	router := func(attrs obj) obj { return obj{"router": attrs} }
	rt := c.Must(t, 201, "POST", "/v2.0/routers", memberA, router(obj{"name": "r", "external_gateway_info": obj{"network_id": e.ext}}))["router"].(obj)
	id := rt["id"].(string)
	gw, _ := rt["external_gateway_info"].(obj)
	if rt["status"] != "ACTIVE" || rt["tenant_id"] != "proj-a" || rt["admin_state_up"] != true || gw == nil || gw["network_id"] != e.ext ||
		gw["enable_snat"] != true || !strings.Contains(fmt.Sprint(gw["external_fixed_ips"]), "203.0.113.2") || fmt.Sprint(rt["routes"]) != "[]" {
		t.Fatalf("router: %v", rt)
	}
	for _, tc := range []struct {
		name  string
		token string
		body  obj
		code  int
		typ   string
	}{
		{"enable_snat is the admin's", memberA, obj{"name": "x", "external_gateway_info": obj{"network_id": e.ext, "enable_snat": false}}, 403, "PolicyNotAuthorized"},
		{"external_fixed_ips are the admin's", memberA, obj{"external_gateway_info": obj{"network_id": e.ext,
			"external_fixed_ips": []obj{{"ip_address": "203.0.113.9"}}}}, 403, "PolicyNotAuthorized"},
		{"not a dictionary", memberA, obj{"external_gateway_info": "public"}, 400, "HTTPBadRequest"},
		{"no network_id", memberA, obj{"external_gateway_info": obj{"enable_snat": true}}, 400, "HTTPBadRequest"},
		{"unexpected key", memberA, obj{"external_gateway_info": obj{"network_id": e.ext, "qos": 1}}, 400, "HTTPBadRequest"},
		{"not a UUID", memberA, obj{"external_gateway_info": obj{"network_id": "public"}}, 400, "HTTPBadRequest"},
		{"internal network", memberA, obj{"external_gateway_info": obj{"network_id": e.net}}, 400, "BadRequest"},
		{"another project's network", memberA, obj{"external_gateway_info": obj{"network_id": e.bNet}}, 404, "NetworkNotFound"},
		{"routes on create", memberA, obj{"routes": []obj{}}, 400, "HTTPBadRequest"},
		{"unknown attribute", memberA, obj{"distributed": true}, 400, "HTTPBadRequest"},
		{"another project", memberA, obj{"project_id": "proj-b"}, 400, "HTTPBadRequest"},
		{"a duplicate address", admin, obj{"external_gateway_info": obj{"network_id": e.ext,
			"external_fixed_ips": []obj{{"ip_address": "203.0.113.9"}, {"ip_address": "203.0.113.9"}}}}, 400, "HTTPBadRequest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			neutronError(t, c.Do(t, "POST", "/v2.0/routers", tc.token, router(tc.body)), tc.code, tc.typ)
		})
	}
	// The admin sets SNAT and the address.
	adm := c.Must(t, 201, "POST", "/v2.0/routers", admin, router(obj{"name": "adm", "external_gateway_info": obj{"network_id": e.ext,
		"enable_snat": false, "external_fixed_ips": []obj{{"ip_address": "203.0.113.9"}}}}))["router"].(obj)
	if g := adm["external_gateway_info"].(obj); g["enable_snat"] != false || !strings.Contains(fmt.Sprint(g["external_fixed_ips"]), "203.0.113.9") {
		t.Fatalf("the admin's router: %v", adm)
	}

	// Interfaces.
	path := "/v2.0/routers/" + id
	info := c.Must(t, 200, "PUT", path+"/add_router_interface", memberA, obj{"subnet_id": e.sub})
	if info["id"] != id || info["subnet_id"] != e.sub || info["network_id"] != e.net || info["tenant_id"] != "proj-a" ||
		info["project_id"] != "proj-a" || fmt.Sprint(info["subnet_ids"]) != "["+e.sub+"]" || info["port_id"] == "" {
		t.Fatalf("interface info: %v", info)
	}
	port := c.Must(t, 200, "GET", "/v2.0/ports/"+info["port_id"].(string), memberA, nil)["port"].(obj)
	if port["device_owner"] != "network:router_interface" || port["device_id"] != id || !strings.Contains(fmt.Sprint(port["fixed_ips"]), "10.0.0.1") {
		t.Fatalf("interface port: %v", port)
	}
	for _, tc := range []struct {
		name string
		body any
		code int
		typ  string
	}{
		{"again", obj{"subnet_id": e.sub}, 400, "BadRequest"},
		{"nothing", obj{}, 400, "BadRequest"},
		{"not a UUID", obj{"subnet_id": "sub"}, 400, "BadRequest"},
		{"a number", obj{"port_id": 5}, 400, "BadRequest"},
		{"both", obj{"subnet_id": e.sub, "port_id": info["port_id"]}, 400, "BadRequest"},
		{"not an object", []string{e.sub}, 400, "HTTPBadRequest"},
		{"a port in use", obj{"port_id": info["port_id"]}, 409, "PortInUse"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			neutronError(t, c.Do(t, "PUT", path+"/add_router_interface", memberA, tc.body), tc.code, tc.typ)
		})
	}
	neutronError(t, c.Do(t, "DELETE", "/v2.0/ports/"+info["port_id"].(string), memberA, nil), 409, "ServicePortInUse")

	// Routes, whole and atomically.
	routes := []obj{{"destination": "192.168.0.0/16", "nexthop": "10.0.0.50"}}
	got := c.Must(t, 200, "PUT", path, memberA, router(obj{"routes": routes}))["router"].(obj)
	if fmt.Sprint(got["routes"]) != "[map[destination:192.168.0.0/16 nexthop:10.0.0.50]]" {
		t.Fatalf("routes: %v", got["routes"])
	}
	for _, tc := range []struct {
		name   string
		routes any
		code   int
		typ    string
	}{
		{"nexthop elsewhere", []obj{{"destination": "172.16.0.0/12", "nexthop": "192.0.2.1"}}, 400, "InvalidRoutes"},
		{"the router's own address", []obj{{"destination": "172.16.0.0/12", "nexthop": "10.0.0.1"}}, 400, "InvalidRoutes"},
		{"host bits", []obj{{"destination": "172.16.0.1/12", "nexthop": "10.0.0.5"}}, 400, "HTTPBadRequest"},
		{"no prefix", []obj{{"destination": "172.16.0.1", "nexthop": "10.0.0.5"}}, 400, "HTTPBadRequest"},
		{"loopback", []obj{{"destination": "127.0.0.0/8", "nexthop": "10.0.0.5"}}, 400, "HTTPBadRequest"},
		{"duplicate", []obj{{"destination": "172.16.0.0/12", "nexthop": "10.0.0.5"}, {"destination": "172.16.0.0/12", "nexthop": "10.0.0.5"}}, 400, "HTTPBadRequest"},
		{"extra key", []obj{{"destination": "172.16.0.0/12", "nexthop": "10.0.0.5", "metric": 1}}, 400, "HTTPBadRequest"},
		{"not a list", "172.16.0.0/12", 400, "HTTPBadRequest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			neutronError(t, c.Do(t, "PUT", path, memberA, router(obj{"routes": tc.routes})), tc.code, tc.typ)
		})
	}
	extra := obj{"router": obj{"routes": []obj{{"destination": "172.16.0.0/12", "nexthop": "10.0.0.60"}, {"destination": "192.168.0.0/16", "nexthop": "10.0.0.50"}}}}
	if got := c.Must(t, 200, "PUT", path+"/add_extraroutes", memberA, extra)["router"].(obj); len(got["routes"].([]any)) != 2 {
		t.Fatalf("add_extraroutes: %v", got["routes"])
	}
	neutronError(t, c.Do(t, "PUT", path, memberA, router(obj{"status": "DOWN"})), 400, "HTTPBadRequest")
	neutronError(t, c.Do(t, "DELETE", path, memberA, nil), 409, "RouterInUse")
	neutronError(t, c.Do(t, "PUT", path+"/remove_router_interface", memberA, obj{"subnet_id": e.sub}), 409, "RouterInterfaceInUseByRoute")
	if got := c.Must(t, 200, "PUT", path+"/remove_extraroutes", memberA, extra)["router"].(obj); len(got["routes"].([]any)) != 0 {
		t.Fatalf("remove_extraroutes: %v", got["routes"])
	}

	// Another project: nothing of A's, not even by id.
	for _, tc := range []struct{ method, path string }{{"GET", path}, {"PUT", path}, {"DELETE", path},
		{"PUT", path + "/add_router_interface"}, {"PUT", path + "/remove_router_interface"}, {"PUT", path + "/add_extraroutes"}} {
		neutronError(t, c.Do(t, tc.method, tc.path, memberB, obj{"subnet_id": e.sub, "router": obj{"name": "mine", "routes": []obj{}}}),
			404, "RouterNotFound")
	}
	if got := c.Must(t, 200, "GET", "/v2.0/routers", memberB, nil)["routers"].([]any); len(got) != 0 {
		t.Fatalf("B's routers: %v", got)
	}
	bRouter := c.Must(t, 201, "POST", "/v2.0/routers", memberB, router(obj{"name": "b"}))["router"].(obj)["id"].(string)
	neutronError(t, c.Do(t, "PUT", "/v2.0/routers/"+bRouter+"/add_router_interface", memberB, obj{"subnet_id": e.sub}), 404, "SubnetNotFound")
	neutronError(t, c.Do(t, "PUT", "/v2.0/routers/"+bRouter+"/add_router_interface", memberB, obj{"port_id": info["port_id"]}), 404, "PortNotFound")

	// Lists: filters, sort, fields, pages like the other collections.
	all := c.Must(t, 200, "GET", "/v2.0/routers?sort_key=name&sort_dir=desc&fields=name&fields=tenant_id", admin, nil)["routers"].([]any)
	if names(all) != "proj-a/r proj-b/b ops/adm" {
		t.Fatalf("the admin's routers: %s", names(all))
	}
	page := c.Must(t, 200, "GET", "/v2.0/routers?limit=1&sort_key=name", admin, nil)
	if len(page["routers"].([]any)) != 1 || page["routers_links"] == nil {
		t.Fatalf("a page: %v", page)
	}
	if got := c.Must(t, 200, "GET", "/v2.0/routers?name=r&admin_state_up=true", memberA, nil)["routers"].([]any); len(got) != 1 {
		t.Fatalf("filtered: %v", got)
	}
	neutronError(t, c.Do(t, "GET", "/v2.0/routers?status=ACTIVE", memberA, nil), 400, "HTTPBadRequest")

	// Take it apart.
	c.Must(t, 200, "PUT", path+"/remove_router_interface", memberA, obj{"subnet_id": e.sub})
	neutronError(t, c.Do(t, "PUT", path+"/remove_router_interface", memberA, obj{"subnet_id": e.sub}), 404, "RouterInterfaceNotFoundForSubnet")
	up := c.Must(t, 200, "PUT", path, memberA, router(obj{"external_gateway_info": obj{}, "name": "r2"}))["router"].(obj)
	if up["external_gateway_info"] != nil || up["name"] != "r2" {
		t.Fatalf("gateway removed: %v", up)
	}
	c.Must(t, 204, "DELETE", path, memberA, nil)
	neutronError(t, c.Do(t, "GET", path, memberA, nil), 404, "RouterNotFound")

	root := fmt.Sprint(c.Must(t, 200, "GET", "/v2.0/", memberA, nil))
	if !strings.Contains(root, "collection:routers") || !strings.Contains(root, "collection:floatingips") {
		t.Fatalf("root: %v", root)
	}
	for _, alias := range []string{"router", "ext-gw-mode", "extraroute", "extraroute-atomic"} {
		c.Must(t, 200, "GET", "/v2.0/extensions/"+alias, memberA, nil)
	}
}

// Floating IPs: allocation, association with Neutron's checks, policy
// and tenancy.
func TestFloatingIPsAPI(t *testing.T) {
	e := newL3(t)
	c := e.c
	rid := c.Must(t, 201, "POST", "/v2.0/routers", memberA,
		obj{"router": obj{"name": "r", "external_gateway_info": obj{"network_id": e.ext}}})["router"].(obj)["id"].(string)
	c.Must(t, 200, "PUT", "/v2.0/routers/"+rid+"/add_router_interface", memberA, obj{"subnet_id": e.sub})
	vm := c.Must(t, 201, "POST", "/v2.0/ports", memberA, obj{"port": obj{"network_id": e.net, "name": "vm"}})["port"].(obj)
	vmID := vm["id"].(string)
	bPort := c.Must(t, 201, "POST", "/v2.0/ports", memberB, obj{"port": obj{"network_id": e.bNet}})["port"].(obj)["id"].(string)

	fip := func(attrs obj) obj { return obj{"floatingip": attrs} }
	f := c.Must(t, 201, "POST", "/v2.0/floatingips", memberA, fip(obj{"floating_network_id": e.ext, "description": "web"}))["floatingip"].(obj)
	fid := f["id"].(string)
	if f["status"] != "DOWN" || f["floating_ip_address"] != "203.0.113.3" || f["port_id"] != nil || f["router_id"] != nil ||
		f["fixed_ip_address"] != nil || f["tenant_id"] != "proj-a" || f["description"] != "web" {
		t.Fatalf("floating IP: %v", f)
	}
	for _, tc := range []struct {
		name  string
		token string
		body  obj
		code  int
		typ   string
	}{
		{"the address is the admin's", memberA, obj{"floating_network_id": e.ext, "floating_ip_address": "203.0.113.50"}, 403, "PolicyNotAuthorized"},
		{"no network", memberA, obj{"description": "x"}, 400, "HTTPBadRequest"},
		{"not a UUID", memberA, obj{"floating_network_id": "public"}, 400, "HTTPBadRequest"},
		{"internal network", memberA, obj{"floating_network_id": e.net}, 400, "BadRequest"},
		{"bad address", admin, obj{"floating_network_id": e.ext, "floating_ip_address": "203.0.113.300"}, 400, "HTTPBadRequest"},
		{"taken address", admin, obj{"floating_network_id": e.ext, "floating_ip_address": "203.0.113.3"}, 409, "IpAddressAlreadyAllocated"},
		{"fixed address without port", memberA, obj{"floating_network_id": e.ext, "fixed_ip_address": "10.0.0.3"}, 400, "BadRequest"},
		{"another project's port", memberA, obj{"floating_network_id": e.ext, "port_id": bPort}, 404, "PortNotFound"},
		{"status", memberA, obj{"floating_network_id": e.ext, "status": "ACTIVE"}, 400, "HTTPBadRequest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			neutronError(t, c.Do(t, "POST", "/v2.0/floatingips", tc.token, fip(tc.body)), tc.code, tc.typ)
		})
	}
	// The admin chooses the address, for project A.
	chosen := c.Must(t, 201, "POST", "/v2.0/floatingips", admin, fip(obj{"floating_network_id": e.ext, "floating_ip_address": "203.0.113.50",
		"tenant_id": "proj-a"}))["floatingip"].(obj)
	if chosen["floating_ip_address"] != "203.0.113.50" || chosen["tenant_id"] != "proj-a" {
		t.Fatalf("chosen address: %v", chosen)
	}

	path := "/v2.0/floatingips/" + fid
	f = c.Must(t, 200, "PUT", path, memberA, fip(obj{"port_id": vmID}))["floatingip"].(obj)
	if f["port_id"] != vmID || f["router_id"] != rid || f["fixed_ip_address"] != "10.0.0.2" || f["status"] != "DOWN" {
		t.Fatalf("associated: %v", f)
	}
	for _, tc := range []struct {
		name string
		body obj
		code int
		typ  string
	}{
		{"the same fixed address twice", obj{"port_id": vmID}, 409, "FloatingIPPortAlreadyAssociated"},
		{"another project's port", obj{"port_id": bPort}, 404, "PortNotFound"},
		{"not the port's address", obj{"port_id": vmID, "fixed_ip_address": "10.0.0.77"}, 400, "BadRequest"},
		{"read-only", obj{"floating_network_id": e.ext}, 400, "HTTPBadRequest"},
		{"not a UUID", obj{"port_id": "vm"}, 400, "HTTPBadRequest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			neutronError(t, c.Do(t, "PUT", "/v2.0/floatingips/"+chosen["id"].(string), memberA, fip(tc.body)), tc.code, tc.typ)
		})
	}
	neutronError(t, c.Do(t, "PUT", "/v2.0/routers/"+rid+"/remove_router_interface", memberA, obj{"subnet_id": e.sub}), 409,
		"RouterInterfaceInUseByFloatingIP")

	// Another project sees none of it.
	for _, m := range []string{"GET", "PUT", "DELETE"} {
		neutronError(t, c.Do(t, m, path, memberB, fip(obj{"description": "mine"})), 404, "FloatingIPNotFound")
	}
	if got := c.Must(t, 200, "GET", "/v2.0/floatingips", memberB, nil)["floatingips"].([]any); len(got) != 0 {
		t.Fatalf("B's floating IPs: %v", got)
	}
	// Filters.
	for q, want := range map[string]int{"port_id=" + vmID: 1, "router_id=" + rid: 1, "floating_ip_address=203.0.113.50": 1,
		"status=DOWN": 2, "fixed_ip_address=10.0.0.2": 1, "floating_network_id=" + e.ext: 2} {
		if got := c.Must(t, 200, "GET", "/v2.0/floatingips?"+q, memberA, nil)["floatingips"].([]any); len(got) != want {
			t.Errorf("?%s: %d floating IPs, want %d", q, len(got), want)
		}
	}
	neutronError(t, c.Do(t, "GET", "/v2.0/floatingips?subnet_id="+e.sub, memberA, nil), 400, "HTTPBadRequest")

	// Disassociate; a deleted port's floating IP loses it too.
	if f = c.Must(t, 200, "PUT", path, memberA, fip(obj{"port_id": nil}))["floatingip"].(obj); f["port_id"] != nil || f["router_id"] != nil {
		t.Fatalf("disassociated: %v", f)
	}
	c.Must(t, 200, "PUT", path, memberA, fip(obj{"port_id": vmID, "fixed_ip_address": "10.0.0.2"}))
	c.Must(t, 204, "DELETE", "/v2.0/ports/"+vmID, memberA, nil)
	if f = c.Must(t, 200, "GET", path, memberA, nil)["floatingip"].(obj); f["port_id"] != nil || f["fixed_ip_address"] != nil {
		t.Fatalf("after the port's delete: %v", f)
	}
	c.Must(t, 204, "DELETE", path, memberA, nil)
	neutronError(t, c.Do(t, "GET", path, memberA, nil), 404, "FloatingIPNotFound")
}
