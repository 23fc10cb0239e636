package network

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"reflect"
	"slices"
	"strings"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
	"github.com/gostack/gostack/network/ipam"
)

// PortUpdate is a port update; nil fields are left as they are.
type PortUpdate struct {
	Name         *string
	Description  *string
	AdminStateUp *bool
	DeviceOwner  *string
	DeviceID     *string
	HostID       *string // binding:host_id: the host whose agent plumbs the port
	// Port security, groups (an empty list: none) and address pairs, as
	// ML2 takes them (see updatePortSecurity).
	PortSecurity        *bool
	SecurityGroups      *[]string
	AllowedAddressPairs *[]AddressPair
}

// UpdatePort changes a port of v's, bumping its revision. Binding it to
// another host (or unbinding it) sets its status back to DOWN until that
// host's agent reports it plumbed. Security groups must be the port's
// project's; a port without port security keeps no groups and no address
// pairs.
func (s *Store) UpdatePort(ctx context.Context, v Viewer, id string, u PortUpdate) (Port, error) {
	return s.changePort(ctx, v, id, func(p *Port) {
		set(&p.Name, u.Name)
		set(&p.Description, u.Description)
		set(&p.AdminStateUp, u.AdminStateUp)
		set(&p.DeviceOwner, u.DeviceOwner)
		set(&p.DeviceID, u.DeviceID)
		if u.HostID != nil && *u.HostID != p.HostID {
			p.HostID, p.Status = *u.HostID, Down
		}
		if u.PortSecurity != nil {
			enabled := *u.PortSecurity
			p.PortSecurity = &enabled
		}
	}, func(tx *sqlstore.Tx, before Port, p *Port) error {
		return updatePortSecurity(ctx, tx, before, p, u)
	})
}

// SetPortStatus records what the agent of host observed: ACTIVE once the
// port is plumbed, DOWN when it is not. A report from a host the port is
// not bound to (any more) is refused as a conflict, so a late report of
// the previous host cannot mark a moved port ACTIVE.
func (s *Store) SetPortStatus(ctx context.Context, id, host, status string) (Port, error) {
	if status != Active && status != Down && status != Build {
		return Port{}, invalidInput("port status %q: want ACTIVE, DOWN or BUILD", status)
	}
	var stale bool
	p, err := s.changePort(ctx, Viewer{Admin: true}, id, func(p *Port) {
		if p.HostID != host {
			stale = true
			return
		}
		p.Status = status
	}, nil)
	if stale {
		return Port{}, neutronError(fault.Conflict, "Conflict", "Port %s is not bound to host %s.", id, host)
	}
	return p, err
}

// SetPortStatuses records, in one transaction, what the agent of host
// observed of its ports: id → ACTIVE, DOWN or BUILD. Ports not bound to
// host (any more) or gone are skipped and returned: a late report of a
// previous host cannot mark a moved port. Only ports whose status changes
// are written and go to the feed.
func (s *Store) SetPortStatuses(ctx context.Context, host string, statuses map[string]string) (skipped []string, err error) {
	for id, st := range statuses {
		if st != Active && st != Down && st != Build {
			return nil, invalidInput("port %s status %q: want ACTIVE, DOWN or BUILD", id, st)
		}
	}
	ids := make([]string, 0, len(statuses))
	for id := range statuses {
		ids = append(ids, id)
	}
	slices.Sort(ids) // one lock order
	err = s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		skipped = skipped[:0]
		now := s.now()
		for _, id := range ids {
			if _, err := tx.Exec(ctx, "UPDATE network_ports SET revision = revision WHERE id = ?", id); err != nil {
				return err // the row lock first, as changePort takes it
			}
			p, err := queryOne(ctx, tx, scanPort, "SELECT "+portCols+" FROM network_ports WHERE id = ?", id)
			if errors.Is(err, sqlstore.ErrNotFound) || (err == nil && p.HostID != host) {
				skipped = append(skipped, id)
				continue
			} else if err != nil {
				return err
			}
			if p.Status == statuses[id] {
				continue
			}
			if _, err := tx.Exec(ctx, "UPDATE network_ports SET status = ?, revision = ?, updated_at = ? WHERE id = ?",
				statuses[id], p.Revision+1, now.UnixMicro(), id); err != nil {
				return err
			}
			if p.FixedIPs, err = fixedIPs(ctx, tx, id); err != nil {
				return err
			}
			p.Status, p.Revision, p.UpdatedAt = statuses[id], p.Revision+1, now
			if err := s.record(ctx, tx, "port", id, p.ProjectID, watch.Update, p); err != nil {
				return err
			}
		}
		return nil
	})
	return skipped, err
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// changePort applies fn to port id in one transaction (the row locked
// first), then check (if not nil) to the port before and after, then
// stores it with the next revision if it changed.
func (s *Store) changePort(ctx context.Context, v Viewer, id string, fn func(*Port), check func(tx *sqlstore.Tx, before Port, p *Port) error) (Port, error) {
	var out Port
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		var err error
		out, err = s.changePortIn(ctx, tx, v, id, fn, check)
		return err
	})
	return out, err
}

// changePortTx is changePort for an admin inside tx.
func (s *Store) changePortTx(ctx context.Context, tx *sqlstore.Tx, id string, fn func(*Port)) (Port, error) {
	return s.changePortIn(ctx, tx, Viewer{Admin: true}, id, fn, nil)
}

func (s *Store) changePortIn(ctx context.Context, tx *sqlstore.Tx, v Viewer, id string, fn func(*Port), check func(tx *sqlstore.Tx, before Port, p *Port) error) (Port, error) {
	if _, err := tx.Exec(ctx, "UPDATE network_ports SET revision = revision WHERE id = ?", id); err != nil {
		return Port{}, err
	}
	p, err := queryOne(ctx, tx, scanPort, "SELECT "+portCols+" FROM network_ports WHERE id = ?", id)
	if err != nil || (!v.Admin && p.ProjectID != v.Project) {
		if err == nil || errors.Is(err, sqlstore.ErrNotFound) {
			return Port{}, neutronError(fault.NotFound, "PortNotFound", "Port %s could not be found.", id)
		}
		return Port{}, err
	}
	if p.FixedIPs, err = fixedIPs(ctx, tx, id); err != nil {
		return Port{}, err
	}
	if p.Tags, err = tagsOf(ctx, tx, "port", id); err != nil {
		return Port{}, err
	}
	before := p
	fn(&p)
	if check != nil {
		if err := check(tx, before, &p); err != nil {
			return Port{}, err
		}
	}
	if reflect.DeepEqual(p, before) {
		return p, nil // nothing to write: no revision, no feed entry
	}
	p.Revision++
	p.UpdatedAt = s.now()
	_, err = tx.Exec(ctx, `UPDATE network_ports SET name = ?, description = ?, admin_state_up = ?, device_owner = ?, device_id = ?,
		host_id = ?, status = ?, port_security_enabled = ?, security_groups = ?, allowed_address_pairs = ?, revision = ?, updated_at = ?
		WHERE id = ?`,
		p.Name, p.Description, p.AdminStateUp, p.DeviceOwner, p.DeviceID, p.HostID, p.Status, *p.PortSecurity, jsonText(p.SecurityGroups),
		jsonText(p.AllowedAddressPairs), p.Revision, p.UpdatedAt.UnixMicro(), id)
	if err != nil {
		return Port{}, err
	}
	return p, s.record(ctx, tx, "port", id, p.ProjectID, watch.Update, p)
}

// DeleteSubnet deletes a subnet of v's unless a port other than the
// network's own holds an address on it: Neutron's SubnetInUse.
func (s *Store) DeleteSubnet(ctx context.Context, v Viewer, id string) error {
	return s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		sub, err := queryOne(ctx, tx, scanSubnet, "SELECT "+subnetCols+" FROM network_subnets WHERE id = ?", id)
		if errors.Is(err, sqlstore.ErrNotFound) || (err == nil && !v.Admin && sub.ProjectID != v.Project) {
			return neutronError(fault.NotFound, "SubnetNotFound", "Subnet %s could not be found.", id)
		} else if err != nil {
			return err
		}
		if _, err := lockNetwork(ctx, tx, Viewer{Admin: true}, sub.NetworkID); err != nil {
			return err
		}
		var n int
		if err := tx.Get(ctx, `SELECT COUNT(*) FROM network_ip_allocations a JOIN network_ports p ON p.id = a.port_id
			WHERE a.subnet_id = ? AND (p.device_owner NOT LIKE 'network:%' OR `+servicePort("p.id")+`)`, []any{id}, &n); err != nil {
			return err
		}
		if n > 0 {
			return neutronError(fault.Conflict, "SubnetInUse",
				"Unable to complete operation on subnet %s: One or more ports have an IP allocation from this subnet.", id)
		}
		for _, q := range []string{"DELETE FROM network_ip_allocations WHERE subnet_id = ?", "DELETE FROM network_subnets WHERE id = ?"} {
			if _, err := tx.Exec(ctx, q, id); err != nil {
				return err
			}
		}
		if err := deleteTags(ctx, tx, "subnet", id); err != nil {
			return err
		}
		return s.record(ctx, tx, "subnet", id, sub.ProjectID, watch.Delete, nil)
	})
}

// NetworkUpdate is a network update; nil fields are left as they are.
type NetworkUpdate struct {
	Name         *string
	Description  *string
	AdminStateUp *bool
	Shared       *bool
	External     *bool
	PortSecurity *bool // the default of ports created from now on
}

// UpdateNetwork changes a network of v's (any for an admin), bumping its
// revision. A network stops being shared only while no other project has
// a port on it: Neutron's InvalidSharedSetting.
func (s *Store) UpdateNetwork(ctx context.Context, v Viewer, id string, u NetworkUpdate) (Network, error) {
	var out Network
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		n, err := lockNetwork(ctx, tx, v, id)
		if err != nil {
			return err
		}
		if !v.Admin && n.ProjectID != v.Project {
			return networkNotFound(id)
		}
		if n.Tags, err = tagsOf(ctx, tx, "network", id); err != nil {
			return err
		}
		before := n
		set(&n.Name, u.Name)
		set(&n.Description, u.Description)
		set(&n.AdminStateUp, u.AdminStateUp)
		set(&n.Shared, u.Shared)
		set(&n.External, u.External)
		if u.PortSecurity != nil && *u.PortSecurity != *n.PortSecurity {
			enabled := *u.PortSecurity
			n.PortSecurity = &enabled
		}
		if before.External && !n.External {
			if err := externalInUse(ctx, tx, id); err != nil {
				return err
			}
		}
		if before.Shared && !n.Shared {
			var others int
			if err := tx.Get(ctx, "SELECT COUNT(*) FROM network_ports WHERE network_id = ? AND project_id <> ? AND device_owner NOT LIKE 'network:%'",
				[]any{id, n.ProjectID}, &others); err != nil {
				return err
			}
			if others > 0 {
				return neutronError(fault.Conflict, "InvalidSharedSetting",
					"Unable to reconfigure sharing settings for network %s. Multiple tenants are using it.", id)
			}
		}
		if reflect.DeepEqual(n, before) {
			out = n
			return nil
		}
		n.Revision++
		n.UpdatedAt = s.now()
		if _, err := tx.Exec(ctx, `UPDATE network_networks SET name = ?, description = ?, admin_state_up = ?, shared = ?, external = ?,
			port_security_enabled = ?, revision = ?, updated_at = ? WHERE id = ?`, n.Name, n.Description, n.AdminStateUp, n.Shared, n.External,
			*n.PortSecurity, n.Revision, n.UpdatedAt.UnixMicro(), id); err != nil {
			return err
		}
		out = n
		return s.record(ctx, tx, "network", id, n.ProjectID, watch.Update, n)
	})
	return out, err
}

// SubnetUpdate is a subnet update; nil fields are left as they are.
type SubnetUpdate struct {
	Name        *string
	Description *string
	// Gateway: a zero address removes the gateway (gateway_ip: null).
	Gateway     *netip.Addr
	Pools       *[]ipam.Range
	Nameservers *[]netip.Addr
	Routes      *[]ipam.Route
	EnableDHCP  *bool
}

// UpdateSubnet changes a subnet of v's, bumping its revision.
func (s *Store) UpdateSubnet(ctx context.Context, v Viewer, id string, u SubnetUpdate) (Subnet, error) {
	var out Subnet
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		sub, err := queryOne(ctx, tx, scanSubnet, "SELECT "+subnetCols+" FROM network_subnets WHERE id = ?", id)
		if errors.Is(err, sqlstore.ErrNotFound) || (err == nil && !v.Admin && sub.ProjectID != v.Project) {
			return subnetTable.notFound(id)
		} else if err != nil {
			return err
		}
		// The subnet's row first: address allocations take it too.
		if _, err := tx.Exec(ctx, "UPDATE network_subnets SET allocations = allocations + 1 WHERE id = ?", id); err != nil {
			return err
		}
		if sub.Tags, err = tagsOf(ctx, tx, "subnet", id); err != nil {
			return err
		}
		before, _ := json.Marshal(sub)
		set(&sub.Name, u.Name)
		set(&sub.Description, u.Description)
		set(&sub.Gateway, u.Gateway)
		set(&sub.Pools, u.Pools)
		set(&sub.Nameservers, u.Nameservers)
		set(&sub.Routes, u.Routes)
		set(&sub.EnableDHCP, u.EnableDHCP)
		if after, _ := json.Marshal(sub); string(after) == string(before) {
			out = sub
			return nil // nothing to write: no revision, no feed entry
		}
		spec := ipam.Subnet{ID: sub.ID, CIDR: sub.CIDR, Gateway: sub.Gateway, Pools: sub.Pools, Nameservers: sub.Nameservers,
			Routes: sub.Routes, DHCP: sub.EnableDHCP}
		if err := spec.Validate(); err != nil {
			return err
		}
		if u.Gateway != nil && sub.Gateway.IsValid() {
			var port, owner string
			err := tx.Get(ctx, `SELECT p.id, p.device_owner FROM network_ip_allocations a JOIN network_ports p ON p.id = a.port_id
				WHERE a.subnet_id = ? AND a.ip_address = ?`, []any{id, sub.Gateway.String()}, &port, &owner)
			if err == nil && !(Port{DeviceOwner: owner}).IsRouterPort() {
				return neutronError(fault.Conflict, "GatewayIpInUse",
					"Current gateway ip %s already in use by port %s. Unable to update.", sub.Gateway, port)
			} else if err != nil && !errors.Is(err, sqlstore.ErrNotFound) {
				return err
			}
		}
		sub.Revision++
		sub.UpdatedAt = s.now()
		if _, err := tx.Exec(ctx, `UPDATE network_subnets SET name = ?, description = ?, gateway_ip = ?, allocation_pools = ?,
			dns_nameservers = ?, host_routes = ?, enable_dhcp = ?, revision = ?, updated_at = ? WHERE id = ?`,
			sub.Name, sub.Description, addrText(sub.Gateway), jsonText(sub.Pools), jsonText(sub.Nameservers), jsonText(sub.Routes),
			sub.EnableDHCP, sub.Revision, sub.UpdatedAt.UnixMicro(), id); err != nil {
			return err
		}
		out = sub
		return s.record(ctx, tx, "subnet", id, sub.ProjectID, watch.Update, sub)
	})
	return out, err
}

// GetSubnet returns subnet id if v may see it (its project's, one of a
// shared or external network, or any for an admin).
func (s *Store) GetSubnet(ctx context.Context, v Viewer, id string) (Subnet, error) {
	subs, _, err := s.ListSubnets(ctx, v, Filter{"id": {id}}, Page{})
	if err != nil {
		return Subnet{}, err
	}
	if len(subs) == 0 {
		return Subnet{}, subnetTable.notFound(id)
	}
	return subs[0], nil
}

// SubnetIDs returns the ids of the subnets of each network, oldest
// first: a network's "subnets" attribute.
func (s *Store) SubnetIDs(ctx context.Context, networkIDs []string) (map[string][]string, error) {
	out := make(map[string][]string, len(networkIDs))
	if len(networkIDs) == 0 {
		return out, nil
	}
	args := make([]any, len(networkIDs))
	for i, id := range networkIDs {
		args[i] = id
	}
	rows, err := s.db.Query(ctx, "SELECT network_id, id FROM network_subnets WHERE network_id IN (?"+
		strings.Repeat(", ?", len(networkIDs)-1)+") ORDER BY created_at, id", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var netID, id string
		if err := rows.Scan(&netID, &id); err != nil {
			return nil, err
		}
		out[netID] = append(out[netID], id)
	}
	return out, rows.Err()
}
