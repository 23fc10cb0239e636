package network

import (
	"context"
	"errors"
	"net/netip"
	"reflect"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
	"github.com/gostack/gostack/network/ipam"
)

// Statuses of floating IPs besides Active and Down, and of the ports
// that hold their addresses.
const (
	Error         = "ERROR"
	NotApplicable = "N/A"
)

// FloatingIP is a Neutron floating IP: an address of an external network
// that the router between that network and a port's subnet maps to one of
// the port's fixed IPv4 addresses (DNAT in, SNAT out). The host agent
// plumbs it and reports its status.
type FloatingIP struct {
	ID        string     `json:"id"`
	ProjectID string     `json:"project_id"`
	NetworkID string     `json:"floating_network_id"`
	Address   netip.Addr `json:"floating_ip_address"`
	// The association: all empty when the floating IP is not associated.
	PortID   string     `json:"port_id"`
	FixedIP  netip.Addr `json:"fixed_ip_address"`
	RouterID string     `json:"router_id"`
	// Status is DOWN until the agent reports the NAT in place (ACTIVE),
	// and DOWN again after every change of the association.
	Status      string `json:"status"`
	Description string `json:"description"`
	// FloatingPortID is the port on the external network that holds
	// Address (device_owner network:floatingip); not shown by the API.
	FloatingPortID string    `json:"floating_port_id"`
	Tags           []string  `json:"tags"` // sorted (standard-attr-tag)
	Revision       int       `json:"revision_number"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

func fipNotFound(id string) error {
	return neutronError(fault.NotFound, "FloatingIPNotFound", "Floating IP %s could not be found", id)
}

func badFIPRequest(format string, args ...any) error {
	return badResourceRequest("floatingip", format, args...)
}

const fipCols = `f.id, f.project_id, f.floating_network_id, f.floating_ip_address, f.fixed_port_id, f.fixed_ip_address, f.router_id,
	f.status, f.description, f.floating_port_id, f.revision, f.created_at, f.updated_at`

func scanFIP(sc scanner) (FloatingIP, error) {
	var f FloatingIP
	var addr string
	var port, fixed, router *string
	var created, updated int64
	err := sc.Scan(&f.ID, &f.ProjectID, &f.NetworkID, &addr, &port, &fixed, &router, &f.Status, &f.Description, &f.FloatingPortID,
		&f.Revision, &created, &updated)
	if err != nil {
		return FloatingIP{}, err
	}
	if f.Address, err = netip.ParseAddr(addr); err != nil {
		return FloatingIP{}, err
	}
	if fixed != nil {
		if f.FixedIP, err = netip.ParseAddr(*fixed); err != nil {
			return FloatingIP{}, err
		}
	}
	if port != nil {
		f.PortID = *port
	}
	if router != nil {
		f.RouterID = *router
	}
	f.CreatedAt, f.UpdatedAt = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
	return f, nil
}

var fipTable = table[FloatingIP]{
	name: "floatingip", from: "FROM network_floatingips f", cols: fipCols, scan: scanFIP, notFound: fipNotFound,
	columns: tagFilters("floatingip", "f.id", map[string]column{
		"id": text("f.id"), "description": text("f.description"), "tenant_id": text("f.project_id"), "project_id": text("f.project_id"),
		"floating_ip_address": text("f.floating_ip_address"), "floating_network_id": text("f.floating_network_id"),
		"router_id": text("COALESCE(f.router_id, '')"), "port_id": {expr: "COALESCE(f.fixed_port_id, '')"},
		"fixed_ip_address": text("COALESCE(f.fixed_ip_address, '')"), "status": text("f.status"), "revision_number": integer("f.revision"),
		"created_at": {expr: "f.created_at", sort: true, noFilter: true}, "updated_at": {expr: "f.updated_at", sort: true, noFilter: true},
	}),
}

func getFIP(ctx context.Context, q querier, v Viewer, id string) (FloatingIP, error) {
	f, err := queryOne(ctx, q, scanFIP, "SELECT "+fipCols+" FROM network_floatingips f WHERE f.id = ?", id)
	if errors.Is(err, sqlstore.ErrNotFound) || (err == nil && !v.sees(f.ProjectID)) {
		return FloatingIP{}, fipNotFound(id)
	}
	if err == nil {
		f.Tags, err = tagsOf(ctx, q, "floatingip", id)
	}
	return f, err
}

// lockFIP reads floating IP id for a write by v and locks its row until
// the transaction ends. Lock order: a floating IP's row before a
// router's.
func lockFIP(ctx context.Context, tx *sqlstore.Tx, v Viewer, id string) (FloatingIP, error) {
	if _, err := tx.Exec(ctx, "UPDATE network_floatingips SET revision = revision WHERE id = ?", id); err != nil {
		return FloatingIP{}, err
	}
	return getFIP(ctx, tx, v, id)
}

// GetFloatingIP returns floating IP id if v may see it (its project's,
// any for an admin), else Neutron's FloatingIPNotFound.
func (s *Store) GetFloatingIP(ctx context.Context, v Viewer, id string) (FloatingIP, error) {
	return getFIP(ctx, s.db, v, id)
}

// ListFloatingIPs returns the floating IPs v may see (its project's, all
// for an admin) matching f, one page of them in SQL, and whether more
// follow.
func (s *Store) ListFloatingIPs(ctx context.Context, v Viewer, f Filter, p Page) ([]FloatingIP, bool, error) {
	return listOwned(ctx, s.db, fipTable, "f", v, f, p, func(tx *sqlstore.Tx, out []FloatingIP) error {
		return addTags(ctx, tx, "floatingip", out)
	})
}

// CreateFloatingIP allocates an address of external network f.NetworkID
// to project f.ProjectID (v's unless v is an admin): f.Address if given
// (on subnetID if given), else the next free address of subnetID or of
// the network's first IPv4 subnet with room. The address is held by a
// port of the network (device_owner network:floatingip), so it is never
// handed out twice. With f.PortID (and optionally f.FixedIP) the floating
// IP is associated at once (see UpdateFloatingIP). It starts DOWN. The
// project's floating IP quota applies (OverQuota).
func (s *Store) CreateFloatingIP(ctx context.Context, v Viewer, f FloatingIP, subnetID string) (FloatingIP, error) {
	if f.ID == "" {
		f.ID = uuid.NewString()
	}
	if f.ProjectID == "" {
		f.ProjectID = v.Project
	}
	if !v.sees(f.ProjectID) {
		return FloatingIP{}, neutronError(fault.Forbidden, "NotAuthorized", "Not authorized.")
	}
	if f.FixedIP.IsValid() && f.PortID == "" {
		return FloatingIP{}, badFIPRequest("fixed_ip_address cannot be specified without a port_id")
	}
	f.Status, f.RouterID = Down, ""
	now := s.now()
	f.Revision, f.CreatedAt, f.UpdatedAt = 1, now, now
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if err := s.checkQuota(ctx, tx, v.charged(f.ProjectID), QuotaFloatingIP); err != nil {
			return err
		}
		cond, args := v.visible("n")
		n, err := queryOne(ctx, tx, scanNetwork, "SELECT "+networkCols+" FROM network_networks n WHERE id = ? AND "+cond,
			append([]any{f.NetworkID}, args...)...)
		if errors.Is(err, sqlstore.ErrNotFound) {
			return networkNotFound(f.NetworkID)
		} else if err != nil {
			return err
		}
		if !n.External {
			return badFIPRequest("Network %s is not a valid external network", n.ID)
		}
		subnets, err := subnetsOf(ctx, tx, n.ID)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(subnets, func(s Subnet) bool { return s.IPVersion == 4 }) {
			return badFIPRequest("Network %s does not contain any IPv4 subnet", n.ID)
		}
		if f.PortID != "" {
			// Routers are locked before networks.
			if err := associate(ctx, tx, v, &f); err != nil {
				return err
			}
		}
		if _, err := lockNetwork(ctx, tx, Viewer{Admin: true}, n.ID); err != nil {
			return err
		}
		var requested []FixedIP
		if subnetID != "" || f.Address.IsValid() {
			requested = []FixedIP{{SubnetID: subnetID, IP: f.Address}}
		} else if requested, err = freeFloatingAddr(ctx, tx, n.ID, subnets); err != nil {
			return err
		}
		p, err := s.addServicePort(ctx, tx, Port{NetworkID: n.ID, DeviceID: f.ID, DeviceOwner: FloatingIPOwner, Status: NotApplicable}, requested)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(p.FixedIPs, func(a FixedIP) bool { return a.IP.Is4() })
		if i < 0 {
			return externalExhausted(n.ID)
		}
		f.Address, f.FloatingPortID = p.FixedIPs[i].IP, p.ID
		if err := alreadyAssociated(ctx, tx, f); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO network_floatingips (id, project_id, floating_network_id, floating_port_id, floating_ip_address,
			fixed_port_id, fixed_ip_address, router_id, status, description, revision, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, f.ID, f.ProjectID, f.NetworkID, f.FloatingPortID, f.Address.String(),
			nullText(f.PortID), nullAddr(f.FixedIP), nullText(f.RouterID), f.Status, f.Description, f.Revision, now.UnixMicro(), now.UnixMicro())
		if fault.KindOf(err) == fault.Conflict {
			return fipPortAlreadyAssociated(f) // a parallel association won
		} else if err != nil {
			return err
		}
		return s.record(ctx, tx, "floatingip", f.ID, f.ProjectID, watch.Create, f)
	})
	if err != nil {
		return FloatingIP{}, err
	}
	return f, nil
}

func externalExhausted(networkID string) error {
	return neutronError(fault.BadRequest, "ExternalIpAddressExhausted", "Unable to find any IP address on external network %s.", networkID)
}

// freeFloatingAddr picks the next free address of the first IPv4 subnet
// of the external network with room; the caller holds the network's row
// lock, which every allocation on the network takes first.
func freeFloatingAddr(ctx context.Context, tx *sqlstore.Tx, networkID string, subnets []Subnet) ([]FixedIP, error) {
	for _, sub := range subnets {
		if sub.IPVersion != 4 {
			continue
		}
		used, err := usedAddrs(ctx, tx, sub.ID)
		if err != nil {
			return nil, err
		}
		if sub.Gateway.IsValid() {
			used = append(used, sub.Gateway)
		}
		if ip, ok := ipam.Free(sub.Pools, used); ok {
			return []FixedIP{{SubnetID: sub.ID, IP: ip}}, nil
		}
	}
	return nil, externalExhausted(networkID)
}

func nullText(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullAddr(a netip.Addr) any {
	if !a.IsValid() {
		return nil
	}
	return a.String()
}

// associate checks f's association with port f.PortID (and address
// f.FixedIP, if given) as Neutron's _get_assoc_data does, and sets
// f.FixedIP and f.RouterID: the port must be v's and the floating IP's
// project's (unless v is an admin), not a DHCP port; the address one of
// its IPv4 addresses (its only one when none is given); a router must
// have a gateway on the floating IP's network and an interface on that
// address's subnet (ExternalGatewayForFloatingIPNotFound). The router's
// row is locked, so its interface cannot go before the transaction ends,
// then the port's. Lock order: floating IP, router, port.
func associate(ctx context.Context, tx *sqlstore.Tx, v Viewer, f *FloatingIP) error {
	p, err := queryOne(ctx, tx, scanPort, "SELECT "+portCols+" FROM network_ports WHERE id = ?", f.PortID)
	if errors.Is(err, sqlstore.ErrNotFound) || (err == nil && !v.sees(p.ProjectID)) {
		return portTable.notFound(f.PortID)
	} else if err != nil {
		return err
	}
	if p.FixedIPs, err = fixedIPs(ctx, tx, p.ID); err != nil {
		return err
	}
	if p.ProjectID != f.ProjectID && !v.Admin {
		return badFIPRequest("Cannot process floating IP association with Port %s, since that port is owned by a different tenant", p.ID)
	}
	if p.DeviceOwner == DHCPOwner {
		return badFIPRequest("Port %s is unable to be assigned a floating IP", p.ID)
	}
	var fixed FixedIP
	if f.FixedIP.IsValid() {
		if !f.FixedIP.Is4() {
			return badFIPRequest("Cannot process floating IP association with %s, since that is not an IPv4 address", f.FixedIP)
		}
		i := slices.IndexFunc(p.FixedIPs, func(a FixedIP) bool { return a.IP == f.FixedIP })
		if i < 0 {
			return badFIPRequest("Port %s does not have fixed ip %s", p.ID, f.FixedIP)
		}
		fixed = p.FixedIPs[i]
	} else {
		var v4 []FixedIP
		for _, a := range p.FixedIPs {
			if a.IP.Is4() {
				v4 = append(v4, a)
			}
		}
		switch len(v4) {
		case 0:
			return badFIPRequest("Cannot add floating IP to port %s that has no fixed IPv4 addresses", p.ID)
		case 1:
			fixed = v4[0]
		default:
			return badFIPRequest("Port %s has multiple fixed IPv4 addresses.  Must provide a specific IPv4 address when assigning a floating IP", p.ID)
		}
	}
	router, err := routerForFloatingIP(ctx, tx, p, fixed.SubnetID, f.NetworkID)
	if err != nil {
		return err
	}
	// The port's row too, after the router's: a delete of the port in
	// flight either ends first (the port is gone) or waits for this
	// association and then undoes it.
	res, err := tx.Exec(ctx, "UPDATE network_ports SET revision = revision WHERE id = ?", p.ID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return portTable.notFound(p.ID)
	}
	f.FixedIP, f.RouterID = fixed.IP, router
	return nil
}

// routerForFloatingIP is Neutron's get_router_for_floatingip: among the
// routers with an interface on subnetID and a gateway on extNet, the one
// whose interface holds the subnet's gateway address, else the first (by
// id). It locks that router's row and checks again under the lock.
func routerForFloatingIP(ctx context.Context, tx *sqlstore.Tx, p Port, subnetID, extNet string) (string, error) {
	var locked string
	for range 4 {
		id, err := pickRouter(ctx, tx, p.ID, subnetID, extNet)
		if err != nil || id == locked {
			return id, err
		}
		if _, err := tx.Exec(ctx, "UPDATE network_routers SET revision = revision WHERE id = ?", id); err != nil {
			return "", err
		}
		locked = id
	}
	return "", neutronError(fault.Conflict, "Conflict", "The routers of subnet %s changed while associating port %s.", subnetID, p.ID)
}

func pickRouter(ctx context.Context, tx *sqlstore.Tx, portID, subnetID, extNet string) (string, error) {
	var gateway string
	if err := tx.Get(ctx, "SELECT gateway_ip FROM network_subnets WHERE id = ?", []any{subnetID}, &gateway); err != nil {
		return "", err
	}
	rows, err := tx.Query(ctx, `SELECT rp.router_id, a.ip_address FROM network_router_ports rp
		JOIN network_ip_allocations a ON a.port_id = rp.port_id
		JOIN network_routers r ON r.id = rp.router_id
		JOIN network_ports gw ON gw.id = r.gw_port_id
		WHERE rp.port_type = ? AND a.subnet_id = ? AND gw.network_id = ? ORDER BY rp.router_id`, RouterInterfaceOwner, subnetID, extNet)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	first := ""
	for rows.Next() {
		var id, ip string
		if err := rows.Scan(&id, &ip); err != nil {
			return "", err
		}
		if ip == gateway {
			return id, nil
		}
		if first == "" {
			first = id
		}
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	if first == "" {
		return "", neutronError(fault.NotFound, "ExternalGatewayForFloatingIPNotFound",
			"External network %s is not reachable from subnet %s.  Therefore, cannot associate Port %s with a Floating IP.", extNet, subnetID, portID)
	}
	return first, nil
}

// alreadyAssociated refuses a second floating IP on f's network for f's
// fixed address (Neutron's FloatingIPPortAlreadyAssociated).
func alreadyAssociated(ctx context.Context, tx *sqlstore.Tx, f FloatingIP) error {
	if f.PortID == "" {
		return nil
	}
	var n int
	if err := tx.Get(ctx, `SELECT COUNT(*) FROM network_floatingips WHERE fixed_port_id = ? AND floating_network_id = ?
		AND fixed_ip_address = ? AND id <> ?`, []any{f.PortID, f.NetworkID, f.FixedIP.String(), f.ID}, &n); err != nil {
		return err
	}
	if n > 0 {
		return fipPortAlreadyAssociated(f)
	}
	return nil
}

func fipPortAlreadyAssociated(f FloatingIP) error {
	return neutronError(fault.Conflict, "FloatingIPPortAlreadyAssociated", "Cannot associate floating IP %s (%s) with port %s using fixed IP %s, "+
		"as that fixed IP already has a floating IP on external network %s.", f.Address, f.ID, f.PortID, f.FixedIP, f.NetworkID)
}

// FloatingIPUpdate is a floating IP update; nil fields are left as they
// are.
type FloatingIPUpdate struct {
	// PortID associates the floating IP with a port ("": disassociates
	// it), at FixedIP if given.
	PortID      *string
	FixedIP     *netip.Addr
	Description *string
}

// UpdateFloatingIP changes a floating IP of v's, bumping its revision:
// associating it with a port as CreateFloatingIP checks it, or
// disassociating it. A change of the association sets it DOWN until the
// agent reports it ACTIVE again.
func (s *Store) UpdateFloatingIP(ctx context.Context, v Viewer, id string, u FloatingIPUpdate) (FloatingIP, error) {
	if u.FixedIP != nil && u.FixedIP.IsValid() && (u.PortID == nil || *u.PortID == "") {
		return FloatingIP{}, badFIPRequest("fixed_ip_address cannot be specified without a port_id")
	}
	var out FloatingIP
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		f, err := lockFIP(ctx, tx, v, id)
		if err != nil {
			return err
		}
		before := f
		set(&f.Description, u.Description)
		if u.PortID != nil {
			f.PortID, f.FixedIP, f.RouterID = *u.PortID, netip.Addr{}, ""
			if u.FixedIP != nil {
				f.FixedIP = *u.FixedIP
			}
			if f.PortID != "" {
				if err := associate(ctx, tx, v, &f); err != nil {
					return err
				}
				if err := alreadyAssociated(ctx, tx, f); err != nil {
					return err
				}
			}
		}
		if f.PortID != before.PortID || f.FixedIP != before.FixedIP || f.RouterID != before.RouterID {
			f.Status = Down
		}
		out = f
		if reflect.DeepEqual(f, before) {
			return nil // nothing to write: no revision, no feed entry
		}
		return s.saveFIP(ctx, tx, &out)
	})
	return out, err
}

// saveFIP writes floating IP f with the next revision and records it.
func (s *Store) saveFIP(ctx context.Context, tx *sqlstore.Tx, f *FloatingIP) error {
	f.Revision++
	f.UpdatedAt = s.now()
	_, err := tx.Exec(ctx, `UPDATE network_floatingips SET fixed_port_id = ?, fixed_ip_address = ?, router_id = ?, status = ?, description = ?,
		revision = ?, updated_at = ? WHERE id = ?`, nullText(f.PortID), nullAddr(f.FixedIP), nullText(f.RouterID), f.Status, f.Description,
		f.Revision, f.UpdatedAt.UnixMicro(), f.ID)
	if fault.KindOf(err) == fault.Conflict {
		return fipPortAlreadyAssociated(*f) // a parallel association won
	} else if err != nil {
		return err
	}
	return s.record(ctx, tx, "floatingip", f.ID, f.ProjectID, watch.Update, *f)
}

// SetFloatingIPStatus records what the agent observed of floating IP id:
// ACTIVE once its NAT is in place, DOWN when it is not (or not
// associated), ERROR when it failed. Only a change is written and goes to
// the feed.
func (s *Store) SetFloatingIPStatus(ctx context.Context, id, status string) (FloatingIP, error) {
	if status != Active && status != Down && status != Error {
		return FloatingIP{}, invalidInput("floating IP status %q: want ACTIVE, DOWN or ERROR", status)
	}
	var out FloatingIP
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		f, err := lockFIP(ctx, tx, Viewer{Admin: true}, id)
		if err != nil {
			return err
		}
		out = f
		if f.Status == status {
			return nil
		}
		out.Status = status
		return s.saveFIP(ctx, tx, &out)
	})
	return out, err
}

// DeleteFloatingIP deletes a floating IP of v's and its port, freeing the
// address.
func (s *Store) DeleteFloatingIP(ctx context.Context, v Viewer, id string) error {
	return s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		f, err := lockFIP(ctx, tx, v, id)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM network_floatingips WHERE id = ?", id); err != nil {
			return err
		}
		if err := s.deleteServicePort(ctx, tx, Port{ID: f.FloatingPortID}); err != nil {
			return err
		}
		if err := deleteTags(ctx, tx, "floatingip", id); err != nil {
			return err
		}
		return s.record(ctx, tx, "floatingip", id, f.ProjectID, watch.Delete, nil)
	})
}

// disassociatePort disassociates the floating IPs of port id, which is
// being deleted (Neutron's disassociate_floatingips).
func (s *Store) disassociatePort(ctx context.Context, tx *sqlstore.Tx, portID string) error {
	// The port's row first (see associate).
	if _, err := tx.Exec(ctx, "UPDATE network_ports SET revision = revision WHERE id = ?", portID); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, "UPDATE network_floatingips SET revision = revision WHERE fixed_port_id = ?", portID); err != nil {
		return err
	}
	fips, err := queryAll(ctx, tx, scanFIP, "SELECT "+fipCols+" FROM network_floatingips f WHERE f.fixed_port_id = ? ORDER BY f.id", portID)
	if err != nil {
		return err
	}
	for _, f := range fips {
		f.PortID, f.FixedIP, f.RouterID, f.Status = "", netip.Addr{}, "", Down
		if err := s.saveFIP(ctx, tx, &f); err != nil {
			return err
		}
	}
	return nil
}

// servicePortInUse is Neutron's prevent_l3_port_deletion: a port of a
// router or of a floating IP goes only with them (ServicePortInUse).
func servicePortInUse(ctx context.Context, tx *sqlstore.Tx, p Port) error {
	var n int
	if err := tx.Get(ctx, `SELECT (SELECT COUNT(*) FROM network_router_ports WHERE port_id = ?)
		+ (SELECT COUNT(*) FROM network_floatingips WHERE floating_port_id = ?)`, []any{p.ID, p.ID}, &n); err != nil {
		return err
	}
	if n > 0 {
		return neutronError(fault.Conflict, "ServicePortInUse", "Port %s cannot be deleted directly via the port API: has device owner %s.",
			p.ID, p.DeviceOwner)
	}
	return nil
}
