package network

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// DHCPOwner is the device_owner of a network's DHCP port.
const DHCPOwner = "network:dhcp"

// DHCPService is a network whose DHCP a host serves: the subnets with
// DHCP enabled, the host's DHCP port on it (nil until the agent asked
// for it), and every other port's MAC and addresses.
type DHCPService struct {
	Network Network    `json:"network"`
	Subnets []Subnet   `json:"subnets"`
	Port    *Port      `json:"port"`
	Hosts   []DHCPHost `json:"hosts"`
}

// DHCPHost is a static lease. Its port's device and project are how the
// network's metadata proxy names the instance an address belongs to.
type DHCPHost struct {
	PortID      string    `json:"port_id"`
	MAC         string    `json:"mac_address"`
	IPs         []FixedIP `json:"fixed_ips"`
	DeviceOwner string    `json:"device_owner"`
	DeviceID    string    `json:"device_id"`
	ProjectID   string    `json:"project_id"`
}

// dhcpDeviceID is the device_id of host's DHCP ports.
func dhcpDeviceID(host string) string { return "dhcp-" + host }

// dhcpServices reads the DHCP services host serves, in tx.
func dhcpServices(ctx context.Context, tx *sqlstore.Tx, host string) ([]DHCPService, error) {
	nets, err := queryAll(ctx, tx, scanNetwork, "SELECT "+networkCols+` FROM network_networks WHERE id IN
		(SELECT network_id FROM network_dhcp_bindings WHERE host = ?) ORDER BY id`, host)
	if err != nil {
		return nil, err
	}
	out := []DHCPService{}
	for _, n := range nets {
		svc := DHCPService{Network: n, Hosts: []DHCPHost{}}
		subs, err := subnetsOf(ctx, tx, n.ID)
		if err != nil {
			return nil, err
		}
		for _, sub := range subs {
			if sub.EnableDHCP {
				svc.Subnets = append(svc.Subnets, sub)
			}
		}
		ports, err := queryAll(ctx, tx, scanPort, "SELECT "+portCols+" FROM network_ports WHERE network_id = ? ORDER BY id", n.ID)
		if err != nil {
			return nil, err
		}
		if err := addFixedIPs(ctx, tx, ports); err != nil {
			return nil, err
		}
		for _, p := range ports {
			if p.DeviceOwner == DHCPOwner {
				if p.DeviceID == dhcpDeviceID(host) && p.HostID == host {
					svc.Port = &p
				}
				continue
			}
			if len(p.FixedIPs) > 0 {
				svc.Hosts = append(svc.Hosts, DHCPHost{PortID: p.ID, MAC: p.MAC, IPs: p.FixedIPs,
					DeviceOwner: p.DeviceOwner, DeviceID: p.DeviceID, ProjectID: p.ProjectID})
			}
		}
		out = append(out, svc)
	}
	return out, nil
}

// EnsureDHCPPort gives host's DHCP service on network networkID its port,
// bound to host with an address on every DHCP-enabled subnet: created if
// missing, given the addresses it lacks. The agent asks for it; the
// network must be scheduled to host.
func (s *Store) EnsureDHCPPort(ctx context.Context, host, networkID string) (Port, error) {
	var bound string
	err := s.db.Get(ctx, "SELECT host FROM network_dhcp_bindings WHERE network_id = ?", []any{networkID}, &bound)
	if errors.Is(err, sqlstore.ErrNotFound) || (err == nil && bound != host) {
		return Port{}, neutronError(fault.Conflict, "Conflict", "The DHCP of network %s is not served by host %s.", networkID, host)
	} else if err != nil {
		return Port{}, err
	}
	admin := Viewer{Admin: true}
	ports, _, err := s.ListPorts(ctx, admin, Filter{"network_id": {networkID}, "device_owner": {DHCPOwner}}, Page{})
	if err != nil {
		return Port{}, err
	}
	// The network's DHCP port of another host (its agent died, the
	// network failed over here) is taken over: same addresses, so the
	// clients' DHCP server keeps its address.
	if i := slices.IndexFunc(ports, func(p Port) bool { return p.DeviceID == dhcpDeviceID(host) && p.HostID == host }); i >= 0 {
		ports = ports[i : i+1]
	} else if i := slices.IndexFunc(ports, func(p Port) bool { return strings.HasPrefix(p.DeviceID, "dhcp-") }); i >= 0 {
		// (also this host's port bound elsewhere by hand: bound back)
		var moved Port
		err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
			var err error
			moved, err = s.changePortTx(ctx, tx, ports[i].ID, func(p *Port) {
				p.DeviceID, p.HostID, p.Status = dhcpDeviceID(host), host, Down
			})
			return err
		})
		if err != nil {
			return Port{}, err
		}
		ports = []Port{moved}
	} else {
		ports = nil
	}
	subs, err := s.Subnets(ctx, admin, networkID)
	if err != nil {
		return Port{}, err
	}
	var want []FixedIP
	for _, sub := range subs {
		if sub.EnableDHCP {
			want = append(want, FixedIP{SubnetID: sub.ID})
		}
	}
	if len(ports) == 0 {
		n, err := s.GetNetwork(ctx, admin, networkID)
		if err != nil {
			return Port{}, err
		}
		no := false
		return s.CreatePort(ctx, admin, Port{NetworkID: networkID, ProjectID: n.ProjectID, DeviceOwner: DHCPOwner,
			DeviceID: dhcpDeviceID(host), HostID: host, AdminStateUp: true, FixedIPs: want, PortSecurity: &no})
	}
	p := ports[0]
	var missing []FixedIP
	for _, w := range want {
		if !slices.ContainsFunc(p.FixedIPs, func(f FixedIP) bool { return f.SubnetID == w.SubnetID }) {
			missing = append(missing, w)
		}
	}
	if len(missing) == 0 {
		return p, nil
	}
	err = s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if _, err := lockNetwork(ctx, tx, admin, networkID); err != nil {
			return err
		}
		subnets, err := subnetsOf(ctx, tx, networkID)
		if err != nil {
			return err
		}
		added, err := allocate(ctx, tx, p, subnets, missing)
		if err != nil {
			return err
		}
		p.FixedIPs = append(p.FixedIPs, added...)
		sortFixedIPs(p.FixedIPs)
		p.Revision++
		p.UpdatedAt = s.now()
		if _, err := tx.Exec(ctx, "UPDATE network_ports SET revision = ?, updated_at = ? WHERE id = ?", p.Revision, p.UpdatedAt.UnixMicro(), p.ID); err != nil {
			return err
		}
		return s.record(ctx, tx, "port", p.ID, p.ProjectID, watch.Update, p)
	})
	if err != nil {
		return Port{}, fmt.Errorf("network: DHCP port of %s: %w", networkID, err)
	}
	return p, nil
}
