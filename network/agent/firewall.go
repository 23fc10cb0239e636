package agent

import (
	"net/netip"

	"github.com/gostack/gostack/network"
	"github.com/gostack/gostack/network/ovs"
	"github.com/gostack/gostack/network/secgroup"
)

// firewallFlows are the security groups of the host's plumbed ports as
// OVS firewall flows (network/secgroup). Every VIF of a port here is
// passed, the network's own (DHCP, router) without port security, so
// that none is switched past another's ingress rules.
func (l *layout) firewallFlows() []ovs.Flow {
	var ports []secgroup.Port
	for _, p := range l.state.Ports {
		of, ok := l.vifs[p.ID]
		if !ok {
			continue
		}
		sp := secgroup.Port{ID: p.ID, OFPort: of, VLAN: l.lvid[p.NetworkID], MAC: p.MAC, Groups: p.SecurityGroups,
			PortSecurity: p.PortSecurity != nil && *p.PortSecurity && !p.IsTrusted()}
		for _, f := range p.FixedIPs {
			sp.IPs = append(sp.IPs, f.IP)
		}
		for _, pair := range p.AllowedAddressPairs {
			if pfx, ok := network.PairPrefix(pair.IP); ok {
				mac := pair.MAC
				if mac == "" {
					mac = p.MAC
				}
				sp.Pairs = append(sp.Pairs, secgroup.Pair{MAC: mac, Prefix: pfx})
			}
		}
		ports = append(ports, sp)
	}
	groups := map[string]secgroup.Group{}
	for _, g := range l.state.SecurityGroups {
		sg := secgroup.Group{ID: g.ID, Stateful: g.Stateful == nil || *g.Stateful}
		for _, r := range g.Rules {
			rule := secgroup.Rule{Direction: r.Direction, EtherType: r.Ethertype, Protocol: r.Protocol,
				PortMin: secgroup.Any, PortMax: secgroup.Any, RemoteGroup: r.RemoteGroupID}
			if r.PortRangeMin != nil {
				rule.PortMin = *r.PortRangeMin
			}
			if r.PortRangeMax != nil {
				rule.PortMax = *r.PortRangeMax
			}
			if r.NormalizedCIDR != "" {
				if pfx, err := netip.ParsePrefix(r.NormalizedCIDR); err == nil {
					rule.RemoteIP = pfx
				}
			}
			sg.Rules = append(sg.Rules, rule)
		}
		groups[g.ID] = sg
	}
	members := secgroup.Members{}
	for g, prefixes := range l.state.Members {
		for _, p := range prefixes {
			// A pair's prefix wider than one address cannot be a
			// remote-group member here: its first address stands for it.
			members[g] = append(members[g], p.Addr())
		}
	}
	return secgroup.Flows(ports, groups, members)
}
