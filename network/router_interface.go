package network

import (
	"context"
	"errors"
	"net/netip"
	"slices"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
	"github.com/gostack/gostack/network/ipam"
)

// InterfaceSpec is what add_router_interface and remove_router_interface
// name: a subnet or a port (removal may name both: the port, checked to
// be on the subnet).
type InterfaceSpec struct {
	SubnetID string
	PortID   string
}

// RouterInterface is Neutron's router interface info, what adding or
// removing an interface answers.
type RouterInterface struct {
	RouterID  string   `json:"id"`
	ProjectID string   `json:"project_id"` // the port's
	PortID    string   `json:"port_id"`
	NetworkID string   `json:"network_id"`
	SubnetID  string   `json:"subnet_id"`
	SubnetIDs []string `json:"subnet_ids"`
}

func interfaceInfo(routerID string, p Port, subnets []Subnet, last bool) RouterInterface {
	info := RouterInterface{RouterID: routerID, ProjectID: p.ProjectID, PortID: p.ID, NetworkID: p.NetworkID, SubnetIDs: []string{}}
	for _, s := range subnets {
		info.SubnetIDs = append(info.SubnetIDs, s.ID)
	}
	if n := len(subnets); n > 0 {
		info.SubnetID = subnets[0].ID
		if last {
			info.SubnetID = subnets[n-1].ID
		}
	}
	return info
}

// AddRouterInterface attaches router routerID of v's to a subnet (a new
// port holding the subnet's gateway address, or for an IPv6 subnet that
// address added to the router's IPv6 port on that network) or to a port
// of v's that no device uses, as Neutron's add_router_interface does. The
// router may not already be on the subnet nor on one overlapping it
// (BadRequest); a subnet needs a gateway address and must be v's, unless
// v is an admin; a port in use is PortInUse. The port becomes
// device_owner network:router_interface with the router's id as
// device_id, without port security.
func (s *Store) AddRouterInterface(ctx context.Context, v Viewer, routerID string, spec InterfaceSpec) (RouterInterface, error) {
	var info RouterInterface
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		r, err := lockRouter(ctx, tx, v, routerID)
		if err != nil {
			return err
		}
		switch {
		case spec.PortID == "" && spec.SubnetID == "":
			return badRouterRequest("Either subnet_id or port_id must be specified")
		case spec.PortID != "" && spec.SubnetID != "":
			return badRouterRequest("Cannot specify both subnet-id and port-id")
		}
		ifaces, gw, err := routerPorts(ctx, tx, routerID)
		if err != nil {
			return err
		}
		var p Port
		var subnets []Subnet
		if spec.PortID != "" {
			p, subnets, err = s.attachPort(ctx, tx, v, r, ifaces, gw, spec.PortID)
		} else {
			p, subnets, err = s.attachSubnet(ctx, tx, v, r, ifaces, gw, spec.SubnetID)
		}
		if err != nil {
			return err
		}
		info = interfaceInfo(r.ID, p, subnets, true)
		return s.saveRouter(ctx, tx, &r)
	})
	return info, err
}

// visibleSubnet reads subnet id if v may see it (its project's, one of a
// shared or external network, or any for an admin).
func visibleSubnet(ctx context.Context, q querier, v Viewer, id string) (Subnet, error) {
	cond, args := "1 = 1", []any{id}
	if !v.Admin {
		cond, args = "(project_id = ? OR network_id IN (SELECT id FROM network_networks WHERE shared OR external))", append(args, v.Project)
	}
	sub, err := queryOne(ctx, q, scanSubnet, "SELECT "+subnetCols+" FROM network_subnets WHERE id = ? AND "+cond, args...)
	if errors.Is(err, sqlstore.ErrNotFound) {
		return Subnet{}, subnetTable.notFound(id)
	}
	return sub, err
}

func hasIPv6(p Port) bool {
	return slices.ContainsFunc(p.FixedIPs, func(f FixedIP) bool { return f.IP.Is6() })
}

// attachSubnet is Neutron's _add_interface_by_subnet.
func (s *Store) attachSubnet(ctx context.Context, tx *sqlstore.Tx, v Viewer, r Router, ifaces []Port, gw *Port, subnetID string) (Port, []Subnet, error) {
	sub, err := visibleSubnet(ctx, tx, v, subnetID)
	if err != nil {
		return Port{}, nil, err
	}
	if !sub.Gateway.IsValid() {
		return Port{}, nil, badRouterRequest("Subnet for router interface must have a gateway IP")
	}
	if !v.Admin && sub.ProjectID != v.Project {
		return Port{}, nil, badRouterRequest("Cannot add interface to router because subnet %s is not owned by project making the request", sub.ID)
	}
	if _, err := lockNetwork(ctx, tx, Viewer{Admin: true}, sub.NetworkID); err != nil {
		return Port{}, nil, err
	}
	if err := checkRouterSubnets(ctx, tx, ifaces, gw, []Subnet{sub}); err != nil {
		return Port{}, nil, err
	}
	fixed := []FixedIP{{SubnetID: sub.ID, IP: sub.Gateway}}
	if sub.IPVersion == 6 {
		// Another prefix on the router's IPv6 port of the network.
		for _, p := range ifaces {
			if p.NetworkID != sub.NetworkID || !hasIPv6(p) {
				continue
			}
			subnets, err := subnetsOf(ctx, tx, sub.NetworkID)
			if err != nil {
				return Port{}, nil, err
			}
			got, err := allocate(ctx, tx, p, subnets, fixed)
			if err != nil {
				return Port{}, nil, err
			}
			p.FixedIPs = append(p.FixedIPs, got...)
			return p, []Subnet{sub}, s.touchPort(ctx, tx, &p)
		}
	}
	p, err := s.addServicePort(ctx, tx, Port{ProjectID: r.ProjectID, NetworkID: sub.NetworkID, DeviceID: r.ID, DeviceOwner: RouterInterfaceOwner}, fixed)
	if err != nil {
		return Port{}, nil, err
	}
	_, err = tx.Exec(ctx, "INSERT INTO network_router_ports (port_id, router_id, port_type) VALUES (?, ?, ?)", p.ID, r.ID, RouterInterfaceOwner)
	return p, []Subnet{sub}, err
}

// attachPort is Neutron's _add_interface_by_port with its checks
// (_check_router_port, _validate_router_port_info).
func (s *Store) attachPort(ctx context.Context, tx *sqlstore.Tx, v Viewer, r Router, ifaces []Port, gw *Port, portID string) (Port, []Subnet, error) {
	if _, err := tx.Exec(ctx, "UPDATE network_ports SET revision = revision WHERE id = ?", portID); err != nil {
		return Port{}, nil, err
	}
	p, err := queryOne(ctx, tx, scanPort, "SELECT "+portCols+" FROM network_ports WHERE id = ?", portID)
	if errors.Is(err, sqlstore.ErrNotFound) || (err == nil && !v.sees(p.ProjectID)) {
		return Port{}, nil, portTable.notFound(portID)
	} else if err != nil {
		return Port{}, nil, err
	}
	if p.FixedIPs, err = fixedIPs(ctx, tx, p.ID); err != nil {
		return Port{}, nil, err
	}
	if p.DeviceID != "" {
		return Port{}, nil, neutronError(fault.Conflict, "PortInUse",
			"Unable to complete operation on port %s for network %s. Port already has an attached device %s.", p.ID, p.NetworkID, p.DeviceID)
	}
	if len(p.FixedIPs) == 0 {
		return Port{}, nil, badRouterRequest("Router port must have at least one fixed IP")
	}
	if hasIPv6(p) {
		for _, e := range append(slices.Clone(ifaces), derefPort(gw)...) {
			if e.NetworkID == p.NetworkID && hasIPv6(e) {
				return Port{}, nil, badRouterRequest("Cannot have multiple router ports with the same network id if both contain IPv6 subnets. "+
					"Existing port %s has IPv6 subnet(s) and network id %s", e.ID, e.NetworkID)
			}
		}
	}
	ids := make([]string, len(p.FixedIPs))
	for i, f := range p.FixedIPs {
		ids[i] = f.SubnetID
	}
	byID, err := subnetsByID(ctx, tx, ids)
	if err != nil {
		return Port{}, nil, err
	}
	var subnets []Subnet
	v4 := 0
	for _, f := range p.FixedIPs {
		sub := byID[f.SubnetID]
		if !slices.ContainsFunc(subnets, func(s Subnet) bool { return s.ID == sub.ID }) {
			subnets = append(subnets, sub)
			if sub.IPVersion == 4 {
				v4++
			}
		}
	}
	if err := checkRouterSubnets(ctx, tx, ifaces, gw, subnets); err != nil {
		return Port{}, nil, err
	}
	if v4 > 1 {
		return Port{}, nil, badRouterRequest("Cannot have multiple IPv4 subnets on router port")
	}
	if !v.Admin {
		for _, f := range p.FixedIPs {
			sub := byID[f.SubnetID]
			if !inPools(sub, f.IP) && sub.ProjectID != v.Project {
				return Port{}, nil, badRouterRequest("Cannot add interface to router because specified port %s has an IP address out of the "+
					"allocation pool of subnet %s, which is not owned by the project making the request", p.ID, sub.ID)
			}
		}
	}
	no := false
	p.DeviceID, p.DeviceOwner = r.ID, RouterInterfaceOwner
	p.PortSecurity, p.SecurityGroups, p.AllowedAddressPairs = &no, []string{}, []AddressPair{}
	p.Revision++
	p.UpdatedAt = s.now()
	if err := bindGroups(ctx, tx, p.ID, nil); err != nil {
		return Port{}, nil, err
	}
	if _, err := tx.Exec(ctx, `UPDATE network_ports SET device_id = ?, device_owner = ?, port_security_enabled = ?, security_groups = ?,
		allowed_address_pairs = ?, revision = ?, updated_at = ? WHERE id = ?`, p.DeviceID, p.DeviceOwner, false, "[]", "[]",
		p.Revision, p.UpdatedAt.UnixMicro(), p.ID); err != nil {
		return Port{}, nil, err
	}
	if err := s.record(ctx, tx, "port", p.ID, p.ProjectID, watch.Update, p); err != nil {
		return Port{}, nil, err
	}
	_, err = tx.Exec(ctx, "INSERT INTO network_router_ports (port_id, router_id, port_type) VALUES (?, ?, ?)", p.ID, r.ID, RouterInterfaceOwner)
	return p, subnets, err
}

func inPools(sub Subnet, ip netip.Addr) bool {
	return slices.ContainsFunc(sub.Pools, func(r ipam.Range) bool { return r.Contains(ip) })
}

// RemoveRouterInterface detaches router routerID of v's from a port (one
// of its interfaces, else RouterInterfaceNotFound; on the subnet too if
// one is named, else SubnetMismatchForPort) or from a subnet (else
// RouterInterfaceNotFoundForSubnet), as Neutron's remove_router_interface
// does: the port is deleted, or loses only that subnet's address if it
// has others. An interface that floating IPs or routes need stays
// (RouterInterfaceInUseByFloatingIP, RouterInterfaceInUseByRoute).
func (s *Store) RemoveRouterInterface(ctx context.Context, v Viewer, routerID string, spec InterfaceSpec) (RouterInterface, error) {
	var info RouterInterface
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		r, err := lockRouter(ctx, tx, v, routerID)
		if err != nil {
			return err
		}
		if spec.PortID == "" && spec.SubnetID == "" {
			return badRouterRequest("Either subnet_id or port_id must be specified")
		}
		ifaces, _, err := routerPorts(ctx, tx, routerID)
		if err != nil {
			return err
		}
		if spec.PortID != "" {
			info, err = s.detachPort(ctx, tx, r, ifaces, spec)
		} else {
			info, err = s.detachSubnet(ctx, tx, v, r, ifaces, spec.SubnetID)
		}
		if err != nil {
			return err
		}
		return s.saveRouter(ctx, tx, &r)
	})
	return info, err
}

func (s *Store) detachPort(ctx context.Context, tx *sqlstore.Tx, r Router, ifaces []Port, spec InterfaceSpec) (RouterInterface, error) {
	i := slices.IndexFunc(ifaces, func(p Port) bool { return p.ID == spec.PortID })
	if i < 0 {
		return RouterInterface{}, neutronError(fault.NotFound, "RouterInterfaceNotFound", "Router %s does not have an interface with id %s",
			r.ID, spec.PortID)
	}
	p := ifaces[i]
	var ids []string
	for _, f := range p.FixedIPs {
		if !slices.Contains(ids, f.SubnetID) {
			ids = append(ids, f.SubnetID)
		}
	}
	if spec.SubnetID != "" && !slices.Contains(ids, spec.SubnetID) {
		return RouterInterface{}, neutronError(fault.BadRequest, "SubnetMismatchForPort", "Subnet on port %s does not match the requested subnet %s.",
			p.ID, spec.SubnetID)
	}
	byID, err := subnetsByID(ctx, tx, ids)
	if err != nil {
		return RouterInterface{}, err
	}
	var subnets []Subnet
	for _, id := range ids {
		subnets = append(subnets, byID[id])
		if err := interfaceNotInUse(ctx, tx, r, byID[id]); err != nil {
			return RouterInterface{}, err
		}
	}
	return interfaceInfo(r.ID, p, subnets, false), s.deleteServicePort(ctx, tx, p)
}

func (s *Store) detachSubnet(ctx context.Context, tx *sqlstore.Tx, v Viewer, r Router, ifaces []Port, subnetID string) (RouterInterface, error) {
	sub, err := visibleSubnet(ctx, tx, v, subnetID)
	if err != nil {
		return RouterInterface{}, err
	}
	var onNet []Port
	for _, p := range ifaces {
		if p.NetworkID == sub.NetworkID {
			onNet = append(onNet, p)
		}
	}
	if len(onNet) > 0 {
		if err := interfaceNotInUse(ctx, tx, r, sub); err != nil {
			return RouterInterface{}, err
		}
	}
	for _, p := range onNet {
		rest := slices.DeleteFunc(slices.Clone(p.FixedIPs), func(f FixedIP) bool { return f.SubnetID == sub.ID })
		switch {
		case len(rest) == len(p.FixedIPs):
			continue
		case len(rest) > 0:
			// A port with other prefixes keeps them.
			if _, err := tx.Exec(ctx, "DELETE FROM network_ip_allocations WHERE port_id = ? AND subnet_id = ?", p.ID, sub.ID); err != nil {
				return RouterInterface{}, err
			}
			info := interfaceInfo(r.ID, p, []Subnet{sub}, false)
			p.FixedIPs = rest
			return info, s.touchPort(ctx, tx, &p)
		default:
			return interfaceInfo(r.ID, p, []Subnet{sub}, false), s.deleteServicePort(ctx, tx, p)
		}
	}
	return RouterInterface{}, neutronError(fault.NotFound, "RouterInterfaceNotFoundForSubnet", "Router %s has no interface on subnet %s", r.ID, sub.ID)
}

// interfaceNotInUse is Neutron's _confirm_router_interface_not_in_use
// (with extraroute's): no floating IP of router r maps to an address of a
// port on sub, no route of r goes through sub.
func interfaceNotInUse(ctx context.Context, tx *sqlstore.Tx, r Router, sub Subnet) error {
	rows, err := tx.Query(ctx, `SELECT fixed_ip_address FROM network_floatingips WHERE router_id = ?
		AND fixed_port_id IN (SELECT port_id FROM network_ip_allocations WHERE subnet_id = ?)`, r.ID, sub.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var ip *string
		if err := rows.Scan(&ip); err != nil {
			return err
		}
		if ip == nil {
			continue
		}
		if a, err := netip.ParseAddr(*ip); err == nil && sub.CIDR.Contains(a) {
			return neutronError(fault.Conflict, "RouterInterfaceInUseByFloatingIP",
				"Router interface for subnet %s on router %s cannot be deleted, as it is required by one or more floating IPs.", sub.ID, r.ID)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, rt := range r.Routes {
		if sub.CIDR.Contains(rt.Nexthop) {
			return neutronError(fault.Conflict, "RouterInterfaceInUseByRoute",
				"Router interface for subnet %s on router %s cannot be deleted, as it is required by one or more routes.", sub.ID, r.ID)
		}
	}
	return nil
}
