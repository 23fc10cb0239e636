package network

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
	"github.com/gostack/gostack/network/ipam"
)

// Device owners of the ports of routers and floating IPs.
const (
	RouterInterfaceOwner = "network:router_interface"
	RouterGatewayOwner   = "network:router_gateway"
	FloatingIPOwner      = "network:floatingip"
)

// MaxRoutes is Neutron's max_routes: the most extra routes a router has.
const MaxRoutes = 30

// Router is a Neutron router: interfaces on internal subnets (ports it
// owns), optionally a gateway on an external network that SNATs their
// traffic, and extra routes. The host agent plumbs it (network/l3).
type Router struct {
	ID           string `json:"id"`
	ProjectID    string `json:"project_id"`
	Name         string `json:"name"`
	Description  string `json:"description"`
	AdminStateUp bool   `json:"admin_state_up"`
	Status       string `json:"status"` // always ACTIVE, as in Neutron
	// Gateway is nil for a router without one.
	Gateway   *Gateway     `json:"external_gateway_info"`
	Routes    []ipam.Route `json:"routes"`
	Tags      []string     `json:"tags"` // sorted (standard-attr-tag)
	Revision  int          `json:"revision_number"`
	CreatedAt time.Time    `json:"created_at"`
	UpdatedAt time.Time    `json:"updated_at"`
}

// Gateway is a router's external gateway: its port on an external
// network and the addresses that port holds.
type Gateway struct {
	NetworkID  string    `json:"network_id"`
	EnableSNAT bool      `json:"enable_snat"`
	FixedIPs   []FixedIP `json:"external_fixed_ips"`
	PortID     string    `json:"port_id"` // Neutron's gw_port_id (not shown by the API)
}

// GatewaySpec is a gateway as a create or update asks for it.
type GatewaySpec struct {
	NetworkID  string
	EnableSNAT *bool     // nil: true (enable_snat_by_default)
	FixedIPs   []FixedIP // external_fixed_ips; none: the network's next free addresses
}

func routerNotFound(id string) error {
	return neutronError(fault.NotFound, "RouterNotFound", "Router %s could not be found", id)
}

// badResourceRequest is Neutron's BadRequest for resource ("router",
// "floatingip").
func badResourceRequest(resource, format string, args ...any) error {
	return neutronError(fault.BadRequest, "BadRequest", "Bad %s request: %s.", resource, fmt.Sprintf(format, args...))
}

func badRouterRequest(format string, args ...any) error {
	return badResourceRequest("router", format, args...)
}

const routerCols = `r.id, r.project_id, r.name, r.description, r.admin_state_up, r.status, r.gw_port_id, r.enable_snat, r.routes,
	r.revision, r.created_at, r.updated_at`

func scanRouter(sc scanner) (Router, error) {
	var r Router
	var gw *string
	var snat bool
	var routes string
	var created, updated int64
	if err := sc.Scan(&r.ID, &r.ProjectID, &r.Name, &r.Description, &r.AdminStateUp, &r.Status, &gw, &snat, &routes,
		&r.Revision, &created, &updated); err != nil {
		return Router{}, err
	}
	if gw != nil {
		r.Gateway = &Gateway{PortID: *gw, EnableSNAT: snat}
	}
	r.CreatedAt, r.UpdatedAt = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
	return r, scanList(routes, &r.Routes)
}

var routerTable = table[Router]{
	name: "router", from: "FROM network_routers r", cols: routerCols, scan: scanRouter, notFound: routerNotFound,
	columns: tagFilters("router", "r.id", map[string]column{
		"id": text("r.id"), "name": text("r.name"), "description": text("r.description"),
		"tenant_id": text("r.project_id"), "project_id": text("r.project_id"), "admin_state_up": boolean("r.admin_state_up"),
		"status": {expr: "r.status", sort: true, noFilter: true}, "revision_number": integer("r.revision"),
		"created_at": {expr: "r.created_at", sort: true, noFilter: true}, "updated_at": {expr: "r.updated_at", sort: true, noFilter: true},
	}),
}

// inList is "(?, ?, ...)" for ids, with its arguments.
func inList(ids []string) (string, []any) {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return "(?" + strings.Repeat(", ?", len(ids)-1) + ")", args
}

// addGateways reads the gateway ports' networks and addresses of routers.
func addGateways(ctx context.Context, q querier, routers []Router) error {
	var ids []string
	for _, r := range routers {
		if r.Gateway != nil {
			ids = append(ids, r.Gateway.PortID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	in, args := inList(ids)
	ports, err := queryAll(ctx, q, scanPort, "SELECT "+portCols+" FROM network_ports WHERE id IN "+in, args...)
	if err != nil {
		return err
	}
	byID := map[string]Port{}
	for _, p := range ports {
		if p.FixedIPs, err = fixedIPs(ctx, q, p.ID); err != nil {
			return err
		}
		byID[p.ID] = p
	}
	for i, r := range routers {
		if r.Gateway != nil {
			p := byID[r.Gateway.PortID]
			routers[i].Gateway.NetworkID, routers[i].Gateway.FixedIPs = p.NetworkID, p.FixedIPs
		}
	}
	return nil
}

func getRouter(ctx context.Context, q querier, v Viewer, id string) (Router, error) {
	r, err := queryOne(ctx, q, scanRouter, "SELECT "+routerCols+" FROM network_routers r WHERE r.id = ?", id)
	if errors.Is(err, sqlstore.ErrNotFound) || (err == nil && !v.sees(r.ProjectID)) {
		return Router{}, routerNotFound(id)
	}
	if err != nil {
		return Router{}, err
	}
	if r.Tags, err = tagsOf(ctx, q, "router", id); err != nil {
		return Router{}, err
	}
	routers := []Router{r}
	err = addGateways(ctx, q, routers)
	return routers[0], err
}

// lockRouter reads router id for a write by v and locks its row until
// the transaction ends. Lock order: a router's row before any network's.
func lockRouter(ctx context.Context, tx *sqlstore.Tx, v Viewer, id string) (Router, error) {
	if _, err := tx.Exec(ctx, "UPDATE network_routers SET revision = revision WHERE id = ?", id); err != nil {
		return Router{}, err
	}
	return getRouter(ctx, tx, v, id)
}

// GetRouter returns router id if v may see it (its project's, any for an
// admin), else Neutron's RouterNotFound.
func (s *Store) GetRouter(ctx context.Context, v Viewer, id string) (Router, error) {
	return getRouter(ctx, s.db, v, id)
}

// ListRouters returns the routers v may see (its project's, all for an
// admin) matching f, one page of them in SQL, and whether more follow.
func (s *Store) ListRouters(ctx context.Context, v Viewer, f Filter, p Page) ([]Router, bool, error) {
	return listOwned(ctx, s.db, routerTable, "r", v, f, p,
		func(tx *sqlstore.Tx, out []Router) error { return addGateways(ctx, tx, out) },
		func(tx *sqlstore.Tx, out []Router) error { return addTags(ctx, tx, "router", out) })
}

// CreateRouter stores a router of r.ProjectID (v's project unless v is an
// admin), ACTIVE, with a gateway if gw is not nil (see UpdateRouter).
// The project's router quota applies (OverQuota).
func (s *Store) CreateRouter(ctx context.Context, v Viewer, r Router, gw *GatewaySpec) (Router, error) {
	if r.ID == "" {
		r.ID = uuid.NewString()
	}
	if r.ProjectID == "" {
		r.ProjectID = v.Project
	}
	if !v.sees(r.ProjectID) {
		return Router{}, neutronError(fault.Forbidden, "NotAuthorized", "Not authorized.")
	}
	r.Status, r.Routes, r.Gateway = Active, []ipam.Route{}, nil
	now := s.now()
	r.Revision, r.CreatedAt, r.UpdatedAt = 1, now, now
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if err := s.checkQuota(ctx, tx, v.charged(r.ProjectID), QuotaRouter); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO network_routers (id, project_id, name, description, admin_state_up, status, enable_snat,
			routes, revision, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.ID, r.ProjectID, r.Name, r.Description, r.AdminStateUp, r.Status, true, "[]", r.Revision, now.UnixMicro(), now.UnixMicro()); err != nil {
			return err
		}
		if gw != nil {
			if err := s.setGateway(ctx, tx, v, &r, gw, nil); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "UPDATE network_routers SET gw_port_id = ?, enable_snat = ? WHERE id = ?",
				r.Gateway.PortID, r.Gateway.EnableSNAT, r.ID); err != nil {
				return err
			}
		}
		return s.record(ctx, tx, "router", r.ID, r.ProjectID, watch.Create, r)
	})
	if err != nil {
		return Router{}, err
	}
	return r, nil
}

// RouterUpdate is a router update; nil fields are left as they are.
type RouterUpdate struct {
	Name         *string
	Description  *string
	AdminStateUp *bool
	// SetGateway replaces the gateway by Gateway (nil: none).
	SetGateway bool
	Gateway    *GatewaySpec
	Routes     *[]ipam.Route // the whole list of extra routes
	// AddRoutes and RemoveRoutes change the routes as they are
	// (extraroute-atomic): a route already there is not added twice, one
	// not there is not missed.
	AddRoutes    []ipam.Route
	RemoveRoutes []ipam.Route
}

// routes is the list of extra routes u leaves router r with, and whether
// u changes it.
func (u RouterUpdate) routes(r Router) ([]ipam.Route, bool) {
	if u.Routes == nil && u.AddRoutes == nil && u.RemoveRoutes == nil {
		return nil, false
	}
	out := append([]ipam.Route{}, r.Routes...)
	if u.Routes != nil {
		out = append([]ipam.Route{}, *u.Routes...)
	}
	for _, rt := range u.AddRoutes {
		if !slices.Contains(out, rt) {
			out = append(out, rt)
		}
	}
	out = slices.DeleteFunc(out, func(rt ipam.Route) bool { return slices.Contains(u.RemoveRoutes, rt) })
	return out, true
}

// UpdateRouter changes a router of v's, bumping its revision, as
// Neutron's l3, ext-gw-mode and extraroute do:
//
//   - a gateway must be on an external network (BadRequest), none of its
//     external_fixed_ips a subnet's gateway address, its subnets not
//     overlapping the interfaces'; moving it to another network or
//     removing it while floating IPs use the router is
//     RouterExternalGatewayInUseByFloatingIp; other external_fixed_ips on
//     the same network change the gateway port's addresses;
//   - each route's nexthop must be on one of the router's subnets
//     (interfaces and the gateway's network) and not one of its own
//     addresses (InvalidRoutes), at most MaxRoutes (RoutesExhausted).
func (s *Store) UpdateRouter(ctx context.Context, v Viewer, id string, u RouterUpdate) (Router, error) {
	for _, list := range [][]ipam.Route{derefRoutes(u.Routes), u.AddRoutes, u.RemoveRoutes} {
		if err := checkRouteList(list); err != nil {
			return Router{}, err
		}
	}
	var out Router
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		r, err := lockRouter(ctx, tx, v, id)
		if err != nil {
			return err
		}
		before := r
		if before.Gateway != nil {
			g := *before.Gateway
			before.Gateway = &g
		}
		set(&r.Name, u.Name)
		set(&r.Description, u.Description)
		set(&r.AdminStateUp, u.AdminStateUp)
		ifaces, _, err := routerPorts(ctx, tx, id)
		if err != nil {
			return err
		}
		if routes, change := u.routes(r); change {
			// Neutron checks new routes against the ports as they are,
			// then against the ports as the gateway change leaves them.
			if err := s.checkRoutes(ctx, tx, r, routes, ifaces); err != nil {
				return err
			}
			r.Routes = routes
		}
		if u.SetGateway {
			if err := s.setGateway(ctx, tx, v, &r, u.Gateway, ifaces); err != nil {
				return err
			}
			if err := s.checkRoutes(ctx, tx, r, r.Routes, ifaces); err != nil {
				return err
			}
		}
		out = r
		if reflect.DeepEqual(r, before) {
			return nil // nothing to write: no revision, no feed entry
		}
		return s.saveRouter(ctx, tx, &out)
	})
	return out, err
}

// saveRouter writes router r with the next revision (a change of the
// router, its gateway or its interfaces) and records it.
func (s *Store) saveRouter(ctx context.Context, tx *sqlstore.Tx, r *Router) error {
	r.Revision++
	r.UpdatedAt = s.now()
	var gw any
	snat := true
	if r.Gateway != nil {
		gw, snat = r.Gateway.PortID, r.Gateway.EnableSNAT
	}
	if _, err := tx.Exec(ctx, `UPDATE network_routers SET name = ?, description = ?, admin_state_up = ?, gw_port_id = ?, enable_snat = ?,
		routes = ?, revision = ?, updated_at = ? WHERE id = ?`, r.Name, r.Description, r.AdminStateUp, gw, snat, jsonText(r.Routes),
		r.Revision, r.UpdatedAt.UnixMicro(), r.ID); err != nil {
		return err
	}
	return s.record(ctx, tx, "router", r.ID, r.ProjectID, watch.Update, *r)
}

// DeleteRouter deletes a router of v's with its gateway port, unless it
// has interfaces (RouterInUse) or floating IPs use it.
func (s *Store) DeleteRouter(ctx context.Context, v Viewer, id string) error {
	return s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		r, err := lockRouter(ctx, tx, v, id)
		if err != nil {
			return err
		}
		ifaces, _, err := routerPorts(ctx, tx, id)
		if err != nil {
			return err
		}
		if len(ifaces) > 0 {
			ids := make([]string, len(ifaces))
			for i, p := range ifaces {
				ids[i] = p.ID
			}
			return neutronError(fault.Conflict, "RouterInUse", "Router %s has ports still attached: %s", id, strings.Join(ids, ", "))
		}
		if err := s.setGateway(ctx, tx, v, &r, nil, nil); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM network_routers WHERE id = ?", id); err != nil {
			return err
		}
		if err := deleteTags(ctx, tx, "router", id); err != nil {
			return err
		}
		return s.record(ctx, tx, "router", id, r.ProjectID, watch.Delete, nil)
	})
}

// routerPorts reads a router's interface ports and its gateway port (nil
// when it has none), with their addresses, oldest first.
func routerPorts(ctx context.Context, tx *sqlstore.Tx, routerID string) ([]Port, *Port, error) {
	ports, err := queryAll(ctx, tx, scanRouterPort, `SELECT rp.port_type, `+portCols+` FROM network_ports
		JOIN network_router_ports rp ON rp.port_id = network_ports.id WHERE rp.router_id = ? ORDER BY created_at, id`, routerID)
	if err != nil {
		return nil, nil, err
	}
	var ifaces []Port
	var gw *Port
	for _, rp := range ports {
		p := rp.port
		if p.FixedIPs, err = fixedIPs(ctx, tx, p.ID); err != nil {
			return nil, nil, err
		}
		if rp.typ == RouterGatewayOwner {
			gw = &p
		} else {
			ifaces = append(ifaces, p)
		}
	}
	return ifaces, gw, nil
}

type routerPort struct {
	typ  string
	port Port
}

func scanRouterPort(sc scanner) (routerPort, error) {
	var typ string
	p, err := scanPort(prefixScanner{sc, &typ})
	return routerPort{typ, p}, err
}

// prefixScanner scans a first column into dst, then the rest as sc's
// caller wants them.
type prefixScanner struct {
	sc  scanner
	dst *string
}

func (p prefixScanner) Scan(dst ...any) error { return p.sc.Scan(append([]any{p.dst}, dst...)...) }

// addServicePort stores a port of the network itself in tx: a router's
// gateway or interface, a floating IP's; no port security, no groups; the
// requested addresses (none: the next free IPv4 and IPv6 ones). The
// caller holds the network's row lock.
func (s *Store) addServicePort(ctx context.Context, tx *sqlstore.Tx, p Port, requested []FixedIP) (Port, error) {
	p.ID = uuid.NewString()
	p.AdminStateUp = true
	if p.Status == "" {
		p.Status = Down
	}
	no := false
	p.PortSecurity, p.SecurityGroups, p.AllowedAddressPairs = &no, []string{}, []AddressPair{}
	now := s.now()
	p.Revision, p.CreatedAt, p.UpdatedAt = 1, now, now
	if err := s.insertPortMAC(ctx, tx, &p); err != nil {
		return Port{}, err
	}
	subnets, err := subnetsOf(ctx, tx, p.NetworkID)
	if err != nil {
		return Port{}, err
	}
	if p.FixedIPs, err = allocate(ctx, tx, p, subnets, requested); err != nil {
		return Port{}, err
	}
	return p, s.record(ctx, tx, "port", p.ID, p.ProjectID, watch.Create, p)
}

// deleteServicePort deletes a router's or a floating IP's port in tx.
func (s *Store) deleteServicePort(ctx context.Context, tx *sqlstore.Tx, p Port) error {
	for _, q := range []string{"DELETE FROM network_ip_allocations WHERE port_id = ?", "DELETE FROM network_port_security_groups WHERE port_id = ?",
		"DELETE FROM network_router_ports WHERE port_id = ?", "DELETE FROM network_ports WHERE id = ?"} {
		if _, err := tx.Exec(ctx, q, p.ID); err != nil {
			return err
		}
	}
	if err := deleteTags(ctx, tx, "port", p.ID); err != nil {
		return err
	}
	return s.record(ctx, tx, "port", p.ID, p.ProjectID, watch.Delete, nil)
}

// touchPort writes port p's next revision (its addresses changed) and
// records it.
func (s *Store) touchPort(ctx context.Context, tx *sqlstore.Tx, p *Port) error {
	p.Revision++
	p.UpdatedAt = s.now()
	sortFixedIPs(p.FixedIPs)
	if _, err := tx.Exec(ctx, "UPDATE network_ports SET revision = ?, updated_at = ? WHERE id = ?", p.Revision, p.UpdatedAt.UnixMicro(), p.ID); err != nil {
		return err
	}
	return s.record(ctx, tx, "port", p.ID, p.ProjectID, watch.Update, *p)
}

// setGateway gives router r the gateway spec (nil: none), as Neutron's
// _update_router_gw_info does; ifaces are its interface ports.
func (s *Store) setGateway(ctx context.Context, tx *sqlstore.Tx, v Viewer, r *Router, spec *GatewaySpec, ifaces []Port) error {
	if spec != nil {
		n, err := lockNetwork(ctx, tx, v, spec.NetworkID)
		if err != nil {
			return err
		}
		if !n.External {
			return badRouterRequest("Network %s is not an external network", n.ID)
		}
		subnets, err := subnetsOf(ctx, tx, n.ID)
		if err != nil {
			return err
		}
		for _, f := range spec.FixedIPs {
			for _, sub := range subnets {
				if f.IP.IsValid() && f.IP == sub.Gateway {
					return badRouterRequest("External IP %s is the same as the gateway IP", f.IP)
				}
			}
		}
		if old := r.Gateway; old != nil && old.NetworkID == n.ID {
			if len(spec.FixedIPs) > 0 {
				if err := s.readdressGateway(ctx, tx, old, subnets, spec.FixedIPs); err != nil {
					return err
				}
			}
			r.Gateway.EnableSNAT = spec.EnableSNAT == nil || *spec.EnableSNAT
			return nil
		}
		if err := checkRouterSubnets(ctx, tx, ifaces, nil, subnets); err != nil {
			return err
		}
	}
	if old := r.Gateway; old != nil {
		var fips int
		if err := tx.Get(ctx, "SELECT COUNT(*) FROM network_floatingips WHERE router_id = ?", []any{r.ID}, &fips); err != nil {
			return err
		}
		if fips > 0 {
			return neutronError(fault.Conflict, "RouterExternalGatewayInUseByFloatingIp",
				"Gateway cannot be updated for router %s, since a gateway to external network %s is required by one or more floating IPs.",
				r.ID, old.NetworkID)
		}
		// The row first lets go of the port (its foreign key).
		if _, err := tx.Exec(ctx, "UPDATE network_routers SET gw_port_id = NULL WHERE id = ?", r.ID); err != nil {
			return err
		}
		if err := s.deleteServicePort(ctx, tx, Port{ID: old.PortID}); err != nil {
			return err
		}
		r.Gateway = nil
	}
	if spec == nil {
		return nil
	}
	p, err := s.addServicePort(ctx, tx, Port{NetworkID: spec.NetworkID, DeviceID: r.ID, DeviceOwner: RouterGatewayOwner}, spec.FixedIPs)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, "INSERT INTO network_router_ports (port_id, router_id, port_type) VALUES (?, ?, ?)",
		p.ID, r.ID, RouterGatewayOwner); err != nil {
		return err
	}
	r.Gateway = &Gateway{NetworkID: p.NetworkID, EnableSNAT: spec.EnableSNAT == nil || *spec.EnableSNAT, FixedIPs: p.FixedIPs, PortID: p.ID}
	return nil
}

// readdressGateway gives the gateway port the requested addresses on its
// network: those it holds (an address, or any on a subnet asked for
// alone) are kept, the others freed, the missing ones allocated, as
// Neutron's port update does.
func (s *Store) readdressGateway(ctx context.Context, tx *sqlstore.Tx, gw *Gateway, subnets []Subnet, requested []FixedIP) error {
	p, err := queryOne(ctx, tx, scanPort, "SELECT "+portCols+" FROM network_ports WHERE id = ?", gw.PortID)
	if err != nil {
		return err
	}
	held := slices.Clone(gw.FixedIPs)
	var keep, add []FixedIP
	for _, want := range requested {
		i := slices.IndexFunc(held, func(f FixedIP) bool {
			if want.IP.IsValid() {
				return f.IP == want.IP
			}
			return f.SubnetID == want.SubnetID
		})
		if i < 0 {
			add = append(add, want)
			continue
		}
		keep, held = append(keep, held[i]), slices.Delete(held, i, i+1)
	}
	if len(add) == 0 && len(held) == 0 {
		return nil
	}
	for _, f := range held {
		if _, err := tx.Exec(ctx, "DELETE FROM network_ip_allocations WHERE subnet_id = ? AND ip_address = ?", f.SubnetID, f.IP.String()); err != nil {
			return err
		}
	}
	if len(add) > 0 {
		got, err := allocate(ctx, tx, p, subnets, add)
		if err != nil {
			return err
		}
		keep = append(keep, got...)
	}
	p.FixedIPs = keep
	if err := s.touchPort(ctx, tx, &p); err != nil {
		return err
	}
	gw.FixedIPs = p.FixedIPs
	return nil
}

// subnetsByID reads the subnets ids name.
func subnetsByID(ctx context.Context, q querier, ids []string) (map[string]Subnet, error) {
	out := map[string]Subnet{}
	if len(ids) == 0 {
		return out, nil
	}
	in, args := inList(ids)
	subs, err := queryAll(ctx, q, scanSubnet, "SELECT "+subnetCols+" FROM network_subnets WHERE id IN "+in, args...)
	for _, sub := range subs {
		out[sub.ID] = sub
	}
	return out, err
}

// routerSubnets are the subnets a router is on: those of its interfaces'
// addresses and all of its gateway network's.
func routerSubnets(ctx context.Context, tx *sqlstore.Tx, ifaces []Port, gw *Port) ([]Subnet, error) {
	var ids []string
	for _, p := range ifaces {
		for _, f := range p.FixedIPs {
			ids = append(ids, f.SubnetID)
		}
	}
	byID, err := subnetsByID(ctx, tx, ids)
	if err != nil {
		return nil, err
	}
	var out []Subnet
	for _, id := range ids {
		if sub, ok := byID[id]; ok {
			out = append(out, sub)
		}
	}
	if gw != nil {
		ext, err := subnetsOf(ctx, tx, gw.NetworkID)
		if err != nil {
			return nil, err
		}
		out = append(out, ext...)
	}
	return out, nil
}

// checkRouterSubnets is Neutron's _check_for_dup_router_subnets: a router
// (interfaces ifaces, gateway gw) gets no second port on one of subnets,
// nor a subnet overlapping one it is on.
func checkRouterSubnets(ctx context.Context, tx *sqlstore.Tx, ifaces []Port, gw *Port, subnets []Subnet) error {
	for _, p := range append(slices.Clone(ifaces), derefPort(gw)...) {
		for _, f := range p.FixedIPs {
			if slices.ContainsFunc(subnets, func(s Subnet) bool { return s.ID == f.SubnetID }) {
				return badRouterRequest("Router already has a port on subnet %s", f.SubnetID)
			}
		}
	}
	on, err := routerSubnets(ctx, tx, ifaces, gw)
	if err != nil {
		return err
	}
	for _, have := range on {
		for _, s := range subnets {
			if have.CIDR.Overlaps(s.CIDR) {
				return badRouterRequest("Cidr %s of subnet %s overlaps with cidr %s of subnet %s", s.CIDR, s.ID, have.CIDR, have.ID)
			}
		}
	}
	return nil
}

func derefPort(p *Port) []Port {
	if p == nil {
		return nil
	}
	return []Port{*p}
}

// checkRouteList is neutron_lib's validate_hostroutes for what a parsed
// list can still get wrong: a route twice.
func checkRouteList(routes []ipam.Route) error {
	for i, r := range routes {
		if slices.Contains(routes[:i], r) {
			return badRequest("Invalid input for routes. Reason: Duplicate hostroute '%s'.", routeText(r))
		}
		if !r.Destination.IsValid() || r.Destination.Masked() != r.Destination || !r.Nexthop.IsValid() {
			return badRequest("Invalid input for routes. Reason: '%s' is not a valid route.", routeText(r))
		}
	}
	return nil
}

func derefRoutes(p *[]ipam.Route) []ipam.Route {
	if p == nil {
		return nil
	}
	return *p
}

// routeText is a route as Python prints Neutron's dictionary.
func routeText(r ipam.Route) string {
	return fmt.Sprintf("{'destination': '%s', 'nexthop': '%s'}", r.Destination, r.Nexthop)
}

func routesText(routes []ipam.Route) string {
	parts := make([]string, len(routes))
	for i, r := range routes {
		parts[i] = routeText(r)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// checkRoutes is extraroute's _validate_routes for router r with
// interfaces ifaces and its gateway as r has it now: at most MaxRoutes,
// each nexthop on one of the router's subnets and not one of its
// addresses.
func (s *Store) checkRoutes(ctx context.Context, tx *sqlstore.Tx, r Router, routes []ipam.Route, ifaces []Port) error {
	if len(routes) == 0 {
		return nil
	}
	if len(routes) > MaxRoutes {
		return neutronError(fault.BadRequest, "RoutesExhausted", "Unable to complete operation for %s. The number of routes exceeds the maximum %d.",
			r.ID, MaxRoutes)
	}
	var gw *Port
	var ips []netip.Addr
	if r.Gateway != nil {
		gw = &Port{NetworkID: r.Gateway.NetworkID, FixedIPs: r.Gateway.FixedIPs}
	}
	for _, p := range append(slices.Clone(ifaces), derefPort(gw)...) {
		for _, f := range p.FixedIPs {
			ips = append(ips, f.IP)
		}
	}
	subs, err := routerSubnets(ctx, tx, ifaces, gw)
	if err != nil {
		return err
	}
	for _, rt := range routes {
		if !slices.ContainsFunc(subs, func(s Subnet) bool { return s.CIDR.Contains(rt.Nexthop) }) {
			return invalidRoutes(routes, "the nexthop is not connected with router")
		}
		if slices.Contains(ips, rt.Nexthop) {
			return invalidRoutes(routes, "the nexthop is used by router")
		}
	}
	return nil
}

func invalidRoutes(routes []ipam.Route, reason string) error {
	return neutronError(fault.BadRequest, "InvalidRoutes", "Invalid format for routes: %s, %s", routesText(routes), reason)
}

// servicePort is the SQL condition that the port whose id is col belongs
// to a router or a floating IP: such ports keep their network and
// subnets in use, as in Neutron (only DHCP ports go with them).
func servicePort(col string) string {
	return col + " IN (SELECT port_id FROM network_router_ports) OR " + col + " IN (SELECT floating_port_id FROM network_floatingips)"
}

// externalInUse refuses to make network id internal while routers have
// their gateway on it (Neutron's ExternalNetworkInUse).
func externalInUse(ctx context.Context, tx *sqlstore.Tx, id string) error {
	var n int
	if err := tx.Get(ctx, `SELECT COUNT(*) FROM network_ports p JOIN network_router_ports rp ON rp.port_id = p.id
		WHERE p.network_id = ? AND rp.port_type = ?`, []any{id, RouterGatewayOwner}, &n); err != nil {
		return err
	}
	if n > 0 {
		return neutronError(fault.Conflict, "ExternalNetworkInUse",
			"External network %s cannot be updated to be made non-external, since it has existing gateway ports.", id)
	}
	return nil
}
