package network

import (
	"context"
	"errors"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// PortUpdate is a port update; nil fields are left as they are.
type PortUpdate struct {
	Name         *string
	Description  *string
	AdminStateUp *bool
	DeviceOwner  *string
	DeviceID     *string
	HostID       *string // binding:host_id: the host whose agent plumbs the port
}

// UpdatePort changes a port of v's, bumping its revision. Binding it to
// another host (or unbinding it) sets its status back to DOWN until that
// host's agent reports it plumbed.
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
	})
	if stale {
		return Port{}, neutronError(fault.Conflict, "Conflict", "Port %s is not bound to host %s.", id, host)
	}
	return p, err
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// changePort applies fn to port id in one transaction (the row locked
// first), then stores it with the next revision if fn changed it.
func (s *Store) changePort(ctx context.Context, v Viewer, id string, fn func(*Port)) (Port, error) {
	var out Port
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if _, err := tx.Exec(ctx, "UPDATE network_ports SET revision = revision WHERE id = ?", id); err != nil {
			return err
		}
		p, err := queryOne(ctx, tx, scanPort, "SELECT "+portCols+" FROM network_ports WHERE id = ?", id)
		if err != nil || (!v.Admin && p.ProjectID != v.Project) {
			if err == nil || errors.Is(err, sqlstore.ErrNotFound) {
				return neutronError(fault.NotFound, "PortNotFound", "Port %s could not be found.", id)
			}
			return err
		}
		if p.FixedIPs, err = fixedIPs(ctx, tx, id); err != nil {
			return err
		}
		before := p
		fn(&p)
		if p.Name == before.Name && p.Description == before.Description && p.AdminStateUp == before.AdminStateUp &&
			p.DeviceOwner == before.DeviceOwner && p.DeviceID == before.DeviceID && p.HostID == before.HostID && p.Status == before.Status {
			out = p
			return nil // nothing to write: no revision, no feed entry
		}
		p.Revision++
		p.UpdatedAt = s.now()
		_, err = tx.Exec(ctx, `UPDATE network_ports SET name = ?, description = ?, admin_state_up = ?, device_owner = ?, device_id = ?,
			host_id = ?, status = ?, revision = ?, updated_at = ? WHERE id = ?`,
			p.Name, p.Description, p.AdminStateUp, p.DeviceOwner, p.DeviceID, p.HostID, p.Status, p.Revision, p.UpdatedAt.UnixMicro(), id)
		if err != nil {
			return err
		}
		out = p
		return s.record(ctx, tx, "port", id, p.ProjectID, watch.Update, p)
	})
	return out, err
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
			WHERE a.subnet_id = ? AND p.device_owner NOT LIKE 'network:%'`, []any{id}, &n); err != nil {
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
		return s.record(ctx, tx, "subnet", id, sub.ProjectID, watch.Delete, nil)
	})
}
