package network

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"

	"github.com/gostack/gostack/kit/sqlstore"
)

// HostState is everything the agent of one host needs to plumb it, read
// in one snapshot: the ports bound to the host, their networks and
// subnets, and the forwarding entries of the other hosts' ports on those
// networks (l2population: the controller knows every port, so agents
// never flood to learn). Revision is the watch feed's head as of the
// snapshot: follow the feed from there and no change is missed.
type HostState struct {
	Revision int64        `json:"revision"`
	Host     string       `json:"host"`
	TunnelIP netip.Addr   `json:"tunnel_ip"` // zero until the host's agent reported one
	Networks []Network    `json:"networks"`
	Subnets  []Subnet     `json:"subnets"`
	Ports    []Port       `json:"ports"`
	Remotes  []RemotePort `json:"remotes"`
	// DHCP are the networks whose DHCP this host serves.
	DHCP []DHCPService `json:"dhcp"`
	// Routers are the routers this host runs.
	Routers []RouterService `json:"routers"`
	// SecurityGroups are the groups of the host's ports, with their
	// rules; Members the addresses (fixed IPs and allowed address pairs)
	// of every port, on any host, of each group a rule names as remote.
	SecurityGroups []SecurityGroup           `json:"security_groups"`
	Members        map[string][]netip.Prefix `json:"members"`
}

// RemotePort is a port on another host, as a forwarding entry: which
// tunnel endpoint reaches its MAC on its network, and its addresses for
// ARP and ND answers.
type RemotePort struct {
	NetworkID string       `json:"network_id"`
	PortID    string       `json:"port_id"`
	Host      string       `json:"host"`
	TunnelIP  netip.Addr   `json:"tunnel_ip"`
	MAC       string       `json:"mac_address"`
	IPs       []netip.Addr `json:"ips"`
}

// HostState reads host's desired state in one snapshot of the store.
// First it schedules the DHCP of networks and the routers that have no
// host yet, and binds the routers' ports to their routers' hosts.
func (s *Store) HostState(ctx context.Context, host string) (HostState, error) {
	st := HostState{Host: host, Networks: []Network{}, Subnets: []Subnet{}, Ports: []Port{}, Remotes: []RemotePort{},
		SecurityGroups: []SecurityGroup{}, Members: map[string][]netip.Prefix{}, DHCP: []DHCPService{}, Routers: []RouterService{}}
	for _, step := range []func() error{
		func() error { return s.schedule(ctx, dhcpScheduling, 0) },
		func() error { return s.schedule(ctx, routerScheduling, 0) },
		func() error { return s.bindRouterPorts(ctx) },
	} {
		if err := step(); err != nil {
			return st, err
		}
	}
	rev, err := s.feed.Snapshot(ctx, func(tx *sqlstore.Tx) error {
		var tip string
		err := tx.Get(ctx, "SELECT tunnel_ip FROM network_agents WHERE agent_type = ? AND host = ?", []any{OVSAgent, host}, &tip)
		if err == nil && tip != "" {
			st.TunnelIP, _ = netip.ParseAddr(tip)
		} else if err != nil && !errors.Is(err, sqlstore.ErrNotFound) {
			return err
		}
		if st.Ports, err = queryAll(ctx, tx, scanPort, "SELECT "+portCols+" FROM network_ports WHERE host_id = ? ORDER BY id", host); err != nil {
			return err
		}
		if err := addFixedIPs(ctx, tx, st.Ports); err != nil {
			return err
		}
		if st.DHCP, err = dhcpServices(ctx, tx, host); err != nil {
			return err
		}
		if st.SecurityGroups, st.Members, err = hostGroups(ctx, tx, st.Ports); err != nil {
			return err
		}
		if st.Routers, err = hostRouters(ctx, tx, host); err != nil {
			return err
		}
		var nets []any
		for _, p := range st.Ports {
			if !slices.Contains(nets, any(p.NetworkID)) {
				nets = append(nets, p.NetworkID)
			}
		}
		if len(nets) == 0 {
			return nil
		}
		in := "(?" + strings.Repeat(", ?", len(nets)-1) + ")"
		if st.Networks, err = queryAll(ctx, tx, scanNetwork, "SELECT "+networkCols+" FROM network_networks WHERE id IN "+in+" ORDER BY id", nets...); err != nil {
			return err
		}
		if st.Subnets, err = queryAll(ctx, tx, scanSubnet, "SELECT "+subnetCols+" FROM network_subnets WHERE network_id IN "+in+" ORDER BY id", nets...); err != nil {
			return err
		}
		st.Remotes, err = remotes(ctx, tx, host, in, nets)
		return err
	})
	st.Revision = rev
	return st, err
}

// remotes are the forwarding entries of the ports of other hosts on the
// networks nets, for hosts whose agent reported a tunnel address.
func remotes(ctx context.Context, tx *sqlstore.Tx, host, in string, nets []any) ([]RemotePort, error) {
	args := append([]any{OVSAgent, host}, nets...)
	rows, err := tx.Query(ctx, `SELECT p.network_id, p.id, p.host_id, a.tunnel_ip, p.mac_address, COALESCE(i.ip_address, '')
		FROM network_ports p
		JOIN network_agents a ON a.host = p.host_id AND a.agent_type = ? AND a.tunnel_ip <> ''
		LEFT JOIN network_ip_allocations i ON i.port_id = p.id
		WHERE p.host_id <> '' AND p.host_id <> ? AND p.network_id IN `+in+`
		ORDER BY p.network_id, p.id, i.ip_address`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []RemotePort{}
	for rows.Next() {
		var r RemotePort
		var tip, ip string
		if err := rows.Scan(&r.NetworkID, &r.PortID, &r.Host, &tip, &r.MAC, &ip); err != nil {
			return nil, err
		}
		if n := len(out); n > 0 && out[n-1].PortID == r.PortID {
			if a, err := netip.ParseAddr(ip); err == nil {
				out[n-1].IPs = append(out[n-1].IPs, a)
			}
			continue
		}
		r.TunnelIP, _ = netip.ParseAddr(tip)
		r.IPs = []netip.Addr{}
		if a, err := netip.ParseAddr(ip); err == nil {
			r.IPs = append(r.IPs, a)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// hostGroups reads the groups of ports with their rules, and the members
// of the groups those rules name as remote.
func hostGroups(ctx context.Context, tx *sqlstore.Tx, ports []Port) ([]SecurityGroup, map[string][]netip.Prefix, error) {
	var ids []any
	seen := map[string]bool{}
	for _, p := range ports {
		for _, g := range p.SecurityGroups {
			if !seen[g] {
				seen[g] = true
				ids = append(ids, g)
			}
		}
	}
	members := map[string][]netip.Prefix{}
	if len(ids) == 0 {
		return []SecurityGroup{}, members, nil
	}
	in := "(?" + strings.Repeat(", ?", len(ids)-1) + ")"
	groups, err := queryAll(ctx, tx, scanSG, "SELECT "+sgCols+" FROM network_security_groups g WHERE g.id IN "+in+" ORDER BY g.id", ids...)
	if err != nil {
		return nil, nil, err
	}
	rules, err := queryAll(ctx, tx, scanRule, "SELECT "+ruleCols+" FROM network_security_group_rules r WHERE r.security_group_id IN "+in+
		" ORDER BY r.security_group_id, r.id", ids...)
	if err != nil {
		return nil, nil, err
	}
	byGroup := map[string][]SecurityGroupRule{}
	var remotes []any
	for _, r := range rules {
		byGroup[r.SecurityGroupID] = append(byGroup[r.SecurityGroupID], r)
		if r.RemoteGroupID != "" && !slices.Contains(remotes, any(r.RemoteGroupID)) {
			remotes = append(remotes, r.RemoteGroupID)
		}
	}
	for i := range groups {
		groups[i].Rules = byGroup[groups[i].ID]
		if groups[i].Rules == nil {
			groups[i].Rules = []SecurityGroupRule{}
		}
	}
	if len(remotes) == 0 {
		return groups, members, nil
	}
	in = "(?" + strings.Repeat(", ?", len(remotes)-1) + ")"
	rows, err := tx.Query(ctx, `SELECT m.security_group_id, i.ip_address FROM network_port_security_groups m
		JOIN network_ip_allocations i ON i.port_id = m.port_id WHERE m.security_group_id IN `+in+
		` ORDER BY m.security_group_id, i.ip_address`, remotes...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var g, ip string
		if err := rows.Scan(&g, &ip); err != nil {
			return nil, nil, err
		}
		if a, err := netip.ParseAddr(ip); err == nil {
			members[g] = append(members[g], netip.PrefixFrom(a, a.BitLen()))
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	// Allowed address pairs count as members' addresses too, as in
	// Neutron.
	pairs, err := queryAll(ctx, tx, scanPort, "SELECT "+portCols+` FROM network_ports WHERE allowed_address_pairs <> '[]' AND id IN
		(SELECT port_id FROM network_port_security_groups WHERE security_group_id IN `+in+`)`, remotes...)
	if err != nil {
		return nil, nil, err
	}
	for _, p := range pairs {
		for _, g := range p.SecurityGroups {
			if !slices.Contains(remotes, any(g)) {
				continue
			}
			for _, pair := range p.AllowedAddressPairs {
				if pfx, ok := PairPrefix(pair.IP); ok {
					members[g] = append(members[g], pfx)
				}
			}
		}
	}
	return groups, members, nil
}

// PairPrefix reads an allowed address pair's ip_address: an address (as
// a host prefix) or a prefix.
func PairPrefix(s string) (netip.Prefix, bool) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), true
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	return netip.Prefix{}, false
}

// queryAll scans every row of q.
func queryAll[T any](ctx context.Context, db querier, scan func(scanner) (T, error), q string, args ...any) ([]T, error) {
	rows, err := db.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
