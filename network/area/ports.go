package area

import (
	"context"
	"errors"
	"net/netip"
	"strings"

	"github.com/gostack/gostack/kit/compose"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/network"
)

// Keys under which the network area provides ports to the compute area
// (Nova's use of Neutron: os-vif's port binding), with standard types
// only, so neither area imports the other:
//
//	PortsAllocateKey func(ctx, project, device, host string, reqs []map[string]string) ([]map[string]any, error)
//	PortsReleaseKey  func(ctx, device string, ports []map[string]any) error
//	PortsStatusKey   func(ctx, ids []string) (map[string]string, error)
//	NetworksUsableKey func(ctx, project string) ([]string, error)
//
// A request is {"network": id, "fixed_ip": ip, "security_groups": names
// one per line, "attach": "1" for a port always made anew (an interface
// attach), never one an earlier try made} or {"port": id}; a port
// is {"id", "network_id", "network_name", "mac", "ips" ([]string),
// "mtu" (int), "created" (bool)}.
const (
	PortsAllocateKey = "network.ports.allocate"
	PortsReleaseKey  = "network.ports.release"
	PortsStatusKey   = "network.ports.status"
	// PortsOfKey: func(ctx, device string) ([]string, error), the ids of
	// the ports bound to device.
	PortsOfKey = "network.ports.of"
	// PortsDetailKey: func(ctx, device string) ([]map[string]any, error),
	// the ports bound to device as {"id", "network_id", "mac", "status",
	// "fixed_ips" ([]map[string]string with "subnet_id", "ip_address")}.
	PortsDetailKey    = "network.ports.detail"
	NetworksUsableKey = "network.networks.usable"
	// SecurityGroupsCheckKey: func(ctx, project string, names []string)
	// error, nil when each names one security group of project (by name
	// or id), else a BadRequest or Conflict saying which does not.
	SecurityGroupsCheckKey = "network.secgroups.check"
)

// computeOwner is the device_owner of an instance's port, as Nova sets
// it (compute:<availability zone>; gostack has the one zone "nova").
const computeOwner = "compute:nova"

var admin = network.Viewer{Admin: true}

func provideCompute(env *compose.Env, store *network.Store) {
	env.Provide(PortsAllocateKey, func(ctx context.Context, project, device, host string, reqs []map[string]string) ([]map[string]any, error) {
		return allocatePorts(ctx, store, project, device, host, reqs)
	})
	env.Provide(PortsReleaseKey, func(ctx context.Context, device string, ports []map[string]any) error {
		var errs []error
		for _, p := range ports {
			id, _ := p["id"].(string)
			created, _ := p["created"].(bool)
			errs = append(errs, releasePort(ctx, store, device, id, created))
		}
		return errors.Join(errs...)
	})
	env.Provide(SecurityGroupsCheckKey, func(ctx context.Context, project string, names []string) error {
		_, err := groupIDs(ctx, store, project, names)
		return err
	})
	env.Provide(PortsOfKey, func(ctx context.Context, device string) ([]string, error) {
		ports, _, err := store.ListPorts(ctx, admin, network.Filter{"device_id": {device}}, network.Page{})
		if err != nil {
			return nil, err
		}
		ids := make([]string, 0, len(ports))
		for _, p := range ports {
			ids = append(ids, p.ID)
		}
		return ids, nil
	})
	env.Provide(PortsDetailKey, func(ctx context.Context, device string) ([]map[string]any, error) {
		ports, _, err := store.ListPorts(ctx, admin, network.Filter{"device_id": {device}}, network.Page{})
		if err != nil {
			return nil, err
		}
		out := make([]map[string]any, 0, len(ports))
		for _, p := range ports {
			ips := make([]map[string]string, 0, len(p.FixedIPs))
			for _, f := range p.FixedIPs {
				ips = append(ips, map[string]string{"subnet_id": f.SubnetID, "ip_address": f.IP.String()})
			}
			out = append(out, map[string]any{"id": p.ID, "network_id": p.NetworkID, "mac": p.MAC, "status": p.Status, "fixed_ips": ips})
		}
		return out, nil
	})
	env.Provide(PortsStatusKey, func(ctx context.Context, ids []string) (map[string]string, error) {
		out := map[string]string{}
		for _, id := range ids {
			p, err := store.GetPort(ctx, admin, id)
			if fault.KindOf(err) == fault.NotFound {
				continue
			} else if err != nil {
				return nil, err
			}
			out[id] = p.Status
		}
		return out, nil
	})
	env.Provide(NetworksUsableKey, func(ctx context.Context, project string) ([]string, error) {
		nets, _, err := store.ListNetworks(ctx, network.Viewer{Project: project}, network.Filter{}, network.Page{})
		if err != nil {
			return nil, err
		}
		var out []string
		for _, n := range nets {
			if !n.External && (n.ProjectID == project || n.Shared) {
				out = append(out, n.ID)
			}
		}
		return out, nil
	})
}

// allocatePorts makes or takes the ports of device (an instance) on
// host, all or nothing. Ports made for the device by an earlier try are
// taken again, so a build tried twice does not double them.
func allocatePorts(ctx context.Context, store *network.Store, project, device, host string, reqs []map[string]string) ([]map[string]any, error) {
	mine, _, err := store.ListPorts(ctx, admin, network.Filter{"device_id": {device}}, network.Page{})
	if err != nil {
		return nil, err
	}
	var out []map[string]any
	var made, bound []network.Port
	undo := func() {
		for _, p := range made {
			store.DeletePort(ctx, admin, p.ID)
		}
		for _, p := range bound { // the user's own, as they were
			store.UpdatePort(ctx, admin, p.ID, network.PortUpdate{DeviceID: &p.DeviceID, DeviceOwner: &p.DeviceOwner, HostID: &p.HostID})
		}
	}
	// Ports a request names are the user's: never taken for one made by
	// an earlier try.
	used := map[string]bool{}
	for _, r := range reqs {
		if r["port"] != "" {
			used[r["port"]] = true
		}
	}
	for _, r := range reqs {
		var p network.Port
		created := false
		switch {
		case r["port"] != "":
			p, err = store.GetPort(ctx, admin, r["port"])
			if err != nil || p.ProjectID != project {
				undo()
				return nil, fault.New(fault.NotFound, "Port %s could not be found.", r["port"])
			}
			// An attach takes only a free port (Nova's PortInUse for a port
			// bound to anything, this server included).
			if p.DeviceID != "" && (p.DeviceID != device || r["attach"] != "") {
				undo()
				return nil, fault.New(fault.Conflict, "Port %s is still in use.", p.ID)
			}
			before := p
			dev, owner := device, computeOwner
			p, err = store.UpdatePort(ctx, admin, p.ID, network.PortUpdate{DeviceID: &dev, DeviceOwner: &owner, HostID: &host})
			if err == nil && before.DeviceID == "" {
				bound = append(bound, before)
			}
		default:
			// A port an earlier try made on this network.
			found := false
			for _, m := range mine {
				if r["attach"] == "" && m.NetworkID == r["network"] && !used[m.ID] {
					p, found, created = m, true, true
					break
				}
			}
			if found {
				if p.HostID != host {
					p, err = store.UpdatePort(ctx, admin, p.ID, network.PortUpdate{HostID: &host})
				}
				break
			}
			n, nerr := store.GetNetwork(ctx, network.Viewer{Project: project}, r["network"])
			if nerr != nil {
				undo()
				return nil, fault.New(fault.NotFound, "Network %s could not be found.", r["network"])
			}
			subs, _, serr := store.ListSubnets(ctx, admin, network.Filter{"network_id": {n.ID}}, network.Page{Limit: 1})
			if serr != nil {
				undo()
				return nil, serr
			}
			if len(subs) == 0 {
				undo()
				return nil, fault.New(fault.BadRequest, "Network %s requires a subnet in order to boot instances on.", n.ID)
			}
			np := network.Port{NetworkID: n.ID, DeviceID: device, DeviceOwner: computeOwner, HostID: host, AdminStateUp: true}
			if names := r["security_groups"]; names != "" {
				if np.SecurityGroups, err = groupIDs(ctx, store, project, strings.Split(names, "\n")); err != nil {
					undo()
					return nil, err
				}
			}
			if ip := r["fixed_ip"]; ip != "" {
				addr, perr := netip.ParseAddr(ip)
				if perr != nil {
					undo()
					return nil, fault.New(fault.BadRequest, "Invalid fixed IP address %s", ip)
				}
				np.FixedIPs = []network.FixedIP{{IP: addr}}
			}
			p, err = store.CreatePort(ctx, network.Viewer{Project: project}, np)
			created = true
			if err == nil {
				made = append(made, p)
			}
		}
		if err != nil {
			undo()
			return nil, err
		}
		used[p.ID] = true
		n, err := store.GetNetwork(ctx, admin, p.NetworkID)
		if err != nil {
			undo()
			return nil, err
		}
		ips := []string{}
		for _, f := range p.FixedIPs {
			ips = append(ips, f.IP.String())
		}
		out = append(out, map[string]any{"id": p.ID, "network_id": p.NetworkID, "network_name": n.Name, "mac": p.MAC,
			"ips": ips, "mtu": n.MTU, "created": created})
	}
	return out, nil
}

// groupIDs resolves the security group names (or ids) a server asks for
// in project, as Nova does through Neutron: an unknown or ambiguous name
// is refused.
func groupIDs(ctx context.Context, store *network.Store, project string, names []string) ([]string, error) {
	var ids []string
	for _, name := range names {
		groups, _, err := store.ListSecurityGroups(ctx, network.Viewer{Project: project}, network.Filter{"name": {name}}, network.Page{})
		if err != nil {
			return nil, err
		}
		var mine []string
		for _, g := range groups {
			if g.ProjectID == project {
				mine = append(mine, g.ID)
			}
		}
		if len(mine) == 0 {
			if g, err := store.GetSecurityGroup(ctx, network.Viewer{Project: project}, name); err == nil && g.ProjectID == project {
				mine = append(mine, g.ID)
			}
		}
		switch len(mine) {
		case 0:
			return nil, fault.New(fault.BadRequest, "Unable to find security_group with name or id '%s'", name)
		case 1:
			ids = append(ids, mine[0])
		default:
			return nil, fault.New(fault.Conflict, "Multiple security groups named %s found, use an ID to be more specific.", name)
		}
	}
	return ids, nil
}

// releasePort deletes a port made for device, or unbinds the user's
// own; a port already gone, or taken by another device, is left.
func releasePort(ctx context.Context, store *network.Store, device, id string, created bool) error {
	p, err := store.GetPort(ctx, admin, id)
	if fault.KindOf(err) == fault.NotFound {
		return nil
	} else if err != nil {
		return err
	}
	if p.DeviceID != device {
		return nil
	}
	if created {
		if err := store.DeletePort(ctx, admin, id); err != nil && fault.KindOf(err) != fault.NotFound {
			return err
		}
		return nil
	}
	empty := ""
	_, err = store.UpdatePort(ctx, admin, id, network.PortUpdate{DeviceID: &empty, DeviceOwner: &empty, HostID: &empty})
	return err
}
