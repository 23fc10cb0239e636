package agent

import (
	"fmt"
	"hash/fnv"
	"net/netip"
	"slices"
	"strings"

	"github.com/gostack/gostack/network"
	"github.com/gostack/gostack/network/ovs"
)

// Tables of the tunnel bridge, as Neutron's br-tun numbers them.
const (
	tunIn        = 0  // from br-int, or from a tunnel
	tunPatch     = 2  // PATCH_LV_TO_TUN: unicast, broadcast, ARP
	tunVXLAN     = 4  // VXLAN_TUN_TO_LV: VNI to local VLAN
	tunUcast     = 20 // UCAST_TO_TUN: l2population's unicast entries
	tunARP       = 21 // ARP_RESPONDER, and the first half of the ND answers
	tunFlood     = 22 // FLOOD_TO_TUN
	tunND        = 24 // the second half of the ND answers (Neutron's agent has none)
	intCanary    = 23 // CANARY_TABLE of br-int
	intTransient = 60 // TRANSIENT_TABLE of br-int: normal switching, or the firewall
	deadVLAN     = 4095
	maxLocalID   = 4094
)

// layout is what the flows are computed from: the host's desired state,
// the local VLAN of each network, and the OpenFlow port numbers.
type layout struct {
	state    *network.HostState
	lvid     map[string]int     // network id → local VLAN
	patchInt int                // br-tun's end of the patch to br-int
	tunnels  map[netip.Addr]int // remote VTEP → br-tun port
	networks map[string]network.Network
	phys     map[string]physPorts // by physical network
	vifs     map[string]int       // port id → its VIF's OpenFlow port on br-int
	dead     []int                // the VIFs of no port here, or of ports down
}

// physPorts are the two ends of the patch between br-int and the bridge
// of a physical network.
type physPorts struct{ onInt, onPhys int }

// tunnelFlows are br-tun's flows: Neutron's tables with l2population
// only — no learning, every remote MAC is known — and ARP answered from
// the same entries.
func (l *layout) tunnelFlows() []ovs.Flow {
	var fl []ovs.Flow
	add := func(table, prio int, match, actions string) {
		fl = append(fl, ovs.Flow{Table: table, Priority: prio, Match: match, Actions: actions})
	}
	add(tunIn, 1, fmt.Sprintf("in_port=%d", l.patchInt), fmt.Sprintf("resubmit(,%d)", tunPatch))
	for _, port := range sortedPorts(l.tunnels) {
		add(tunIn, 1, fmt.Sprintf("in_port=%d", port), fmt.Sprintf("resubmit(,%d)", tunVXLAN))
	}
	add(tunIn, 0, "", "drop")
	add(tunPatch, 1, "arp,dl_dst=ff:ff:ff:ff:ff:ff", fmt.Sprintf("resubmit(,%d)", tunARP))
	add(tunPatch, 1, "icmp6,icmp_type=135", fmt.Sprintf("resubmit(,%d)", tunARP))
	// Duplicate address detection (from ::) is never answered here.
	add(tunPatch, 2, "icmp6,ipv6_src=::,icmp_type=135", fmt.Sprintf("resubmit(,%d)", tunFlood))
	add(tunPatch, 0, "dl_dst=00:00:00:00:00:00/01:00:00:00:00:00", fmt.Sprintf("resubmit(,%d)", tunUcast))
	add(tunPatch, 0, "dl_dst=01:00:00:00:00:00/01:00:00:00:00:00", fmt.Sprintf("resubmit(,%d)", tunFlood))
	add(tunVXLAN, 0, "", "drop")
	add(tunUcast, 0, "", fmt.Sprintf("resubmit(,%d)", tunFlood))
	add(tunARP, 0, "", fmt.Sprintf("resubmit(,%d)", tunFlood))
	add(tunFlood, 0, "", "drop")

	flood := map[string][]int{} // network → tunnel ports with its ports
	for _, r := range l.state.Remotes {
		lvid, ok := l.lvid[r.NetworkID]
		n := l.networks[r.NetworkID]
		port, up := l.tunnels[r.TunnelIP]
		if !ok || !up || n.Type != network.VXLAN {
			continue
		}
		if !slices.Contains(flood[r.NetworkID], port) {
			flood[r.NetworkID] = append(flood[r.NetworkID], port)
		}
		add(tunUcast, 2, fmt.Sprintf("dl_vlan=%d,dl_dst=%s", lvid, r.MAC),
			fmt.Sprintf("strip_vlan,set_tunnel:%#x,output:%d", n.Segment, port))
		for _, ip := range r.IPs {
			if ip.Is4() {
				add(tunARP, 1, fmt.Sprintf("arp,dl_vlan=%d,arp_tpa=%s,arp_op=1", lvid, ip), arpReply(r.MAC, ip))
				continue
			}
			match := fmt.Sprintf("dl_vlan=%d,nd_target=%s", lvid, ip)
			add(tunARP, 1, "icmp6,icmp_type=135,"+match, ndReply(r.MAC, ip))
			add(tunND, 1, "icmp6,icmp_type=136,"+match, fmt.Sprintf("set_field:%s->nd_tll,IN_PORT", r.MAC))
		}
	}
	for _, id := range sortedKeys(l.lvid) {
		n := l.networks[id]
		if n.Type != network.VXLAN {
			continue
		}
		lvid := l.lvid[id]
		add(tunVXLAN, 1, fmt.Sprintf("tun_id=%#x", n.Segment), fmt.Sprintf("mod_vlan_vid:%d,output:%d", lvid, l.patchInt))
		if ports := flood[id]; len(ports) > 0 {
			slices.Sort(ports)
			var out strings.Builder
			for _, p := range ports {
				fmt.Fprintf(&out, ",output:%d", p)
			}
			add(tunFlood, 1, fmt.Sprintf("dl_vlan=%d", lvid), fmt.Sprintf("strip_vlan,set_tunnel:%#x%s", n.Segment, out.String()))
		}
	}
	return fl
}

// arpReply turns an ARP request for ip into the reply of mac, sent back
// where it came from (Neutron's ARP responder).
func arpReply(mac string, ip netip.Addr) string {
	hw := strings.ReplaceAll(mac, ":", "")
	b := ip.As4()
	return fmt.Sprintf("move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],mod_dl_src:%s,load:0x2->NXM_OF_ARP_OP[],"+
		"move:NXM_NX_ARP_SHA[]->NXM_NX_ARP_THA[],move:NXM_OF_ARP_SPA[]->NXM_OF_ARP_TPA[],"+
		"load:0x%s->NXM_NX_ARP_SHA[],load:0x%02x%02x%02x%02x->NXM_OF_ARP_SPA[],IN_PORT",
		mac, hw, b[0], b[1], b[2], b[3])
}

// ndReply turns a neighbour solicitation for ip into the advertisement
// of mac, in two steps: this one swaps the addresses, makes the message
// an advertisement (solicited, override) whose option is the target's
// link-layer address, then resubmits to the table that sets that
// address: OVS lets a flow set nd_tll only when its match is an
// advertisement already.
func ndReply(mac string, ip netip.Addr) string {
	return fmt.Sprintf("move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],set_field:%s->eth_src,"+
		"move:NXM_NX_IPV6_SRC[]->NXM_NX_IPV6_DST[],set_field:%s->ipv6_src,"+
		"set_field:2->nd_options_type,set_field:0x60000000->nd_reserved,set_field:136->icmpv6_type,resubmit(,%d)",
		mac, ip, tunND)
}

// integrationFlows are br-int's flows: the dead VLAN of unbound ports
// dropped; traffic of a provider network from its bridge moved onto the
// network's local VLAN (other traffic from there dropped); then the
// security groups' firewall (network/secgroup, tables 60 to 94), which
// ends in normal switching between the access ports, whose OVSDB tag is
// their network's local VLAN, and the trunks to br-tun and the provider
// bridges; and the canary whose absence reveals a restarted switch.
func (l *layout) integrationFlows() []ovs.Flow {
	fl := []ovs.Flow{
		{Table: 0, Priority: 65535, Match: fmt.Sprintf("dl_vlan=%d", deadVLAN), Actions: "drop"},
		{Table: 0, Priority: 0, Actions: fmt.Sprintf("resubmit(,%d)", intTransient)},
		{Table: intCanary, Priority: 0, Actions: "drop"},
	}
	for _, of := range l.dead {
		fl = append(fl, ovs.Flow{Table: 0, Priority: 10, Match: fmt.Sprintf("in_port=%d", of), Actions: "drop"})
	}
	fl = append(fl, l.firewallFlows()...) // tables 60 to 94, NORMAL included
	for _, physnet := range sortedKeys(l.phys) {
		pp := l.phys[physnet]
		fl = append(fl, ovs.Flow{Table: 0, Priority: 2, Match: fmt.Sprintf("in_port=%d", pp.onInt), Actions: "drop"})
		for _, id := range sortedKeys(l.lvid) {
			n := l.networks[id]
			if n.Physical != physnet {
				continue
			}
			switch n.Type {
			case network.Flat:
				fl = append(fl, ovs.Flow{Table: 0, Priority: 3, Match: fmt.Sprintf("in_port=%d,vlan_tci=0x0000/0x1fff", pp.onInt),
					Actions: fmt.Sprintf("mod_vlan_vid:%d,resubmit(,%d)", l.lvid[id], intTransient)})
			case network.VLAN:
				fl = append(fl, ovs.Flow{Table: 0, Priority: 3, Match: fmt.Sprintf("in_port=%d,dl_vlan=%d", pp.onInt, n.Segment),
					Actions: fmt.Sprintf("mod_vlan_vid:%d,resubmit(,%d)", l.lvid[id], intTransient)})
			}
		}
	}
	return fl
}

// physicalFlows are a provider bridge's flows: traffic from br-int on a
// network of physnet leaves untagged (flat) or with its VLAN (vlan);
// other traffic from br-int is dropped; the rest switches normally.
func (l *layout) physicalFlows(physnet string) []ovs.Flow {
	pp, ok := l.phys[physnet]
	if !ok {
		return nil
	}
	fl := []ovs.Flow{
		{Table: 0, Priority: 2, Match: fmt.Sprintf("in_port=%d", pp.onPhys), Actions: "drop"},
		{Table: 0, Priority: 0, Actions: "NORMAL"},
	}
	for _, id := range sortedKeys(l.lvid) {
		n := l.networks[id]
		if n.Physical != physnet {
			continue
		}
		switch n.Type {
		case network.Flat:
			fl = append(fl, ovs.Flow{Table: 0, Priority: 4, Match: fmt.Sprintf("in_port=%d,dl_vlan=%d", pp.onPhys, l.lvid[id]),
				Actions: "strip_vlan,NORMAL"})
		case network.VLAN:
			fl = append(fl, ovs.Flow{Table: 0, Priority: 4, Match: fmt.Sprintf("in_port=%d,dl_vlan=%d", pp.onPhys, l.lvid[id]),
				Actions: fmt.Sprintf("mod_vlan_vid:%d,NORMAL", n.Segment)})
		}
	}
	return fl
}

func sortedValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

func sortedPorts(m map[netip.Addr]int) []int {
	out := make([]int, 0, len(m))
	for _, p := range m {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// assignVLANs gives every network of the state a local VLAN: the one its
// ports already carry (recovered from the switch, so a restarted agent
// keeps every tag and flow), else the lowest free one.
func assignVLANs(nets []network.Network, have map[string]int) (map[string]int, error) {
	out := map[string]int{}
	used := map[int]bool{}
	for _, n := range nets {
		if v, ok := have[n.ID]; ok && v > 0 && v <= maxLocalID && !used[v] {
			out[n.ID], used[v] = v, true
		}
	}
	next := 1
	for _, n := range nets {
		if _, ok := out[n.ID]; ok {
			continue
		}
		for next <= maxLocalID && used[next] {
			next++
		}
		if next > maxLocalID {
			return nil, fmt.Errorf("network agent: more than %d networks on one host", maxLocalID)
		}
		out[n.ID], used[next] = next, true
	}
	return out, nil
}

// tunnelPortName is br-tun's port to a remote VTEP: "vxlan-" and the
// IPv4 address in hex, within the 15 bytes of a device name; for IPv6, a
// hash of the whole address (as Neutron's get_tunnel_name does).
func tunnelPortName(ip netip.Addr) string {
	if ip.Is4() {
		b := ip.As4()
		return fmt.Sprintf("vxlan-%02x%02x%02x%02x", b[0], b[1], b[2], b[3])
	}
	h := fnv.New32a()
	h.Write(ip.AsSlice())
	return fmt.Sprintf("vxlan-%08x", h.Sum32())
}
