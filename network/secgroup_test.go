package network_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/watch"
	"github.com/gostack/gostack/network"
)

func intp(n int) *int { return &n }

func boolp(b bool) *bool { return &b }

// ruleText is a rule in one line, for comparisons.
func ruleText(r network.SecurityGroupRule) string {
	port := func(p *int) string {
		if p == nil {
			return "*"
		}
		return fmt.Sprint(*p)
	}
	remote := r.RemoteIPPrefix
	if r.RemoteGroupID != "" {
		remote = "group"
	}
	return fmt.Sprintf("%s %s %s %s-%s %s", r.Direction, r.Ethertype, r.Protocol, port(r.PortRangeMin), port(r.PortRangeMax), remote)
}

func rulesText(rs []network.SecurityGroupRule) string {
	var out []string
	for _, r := range rs {
		out = append(out, ruleText(r))
	}
	return strings.Join(out, "; ")
}

func (e *env) defaultGroup(t *testing.T, v network.Viewer) network.SecurityGroup {
	t.Helper()
	gs, _, err := e.s.ListSecurityGroups(e.ctx, v, network.Filter{"name": {"default"}}, network.Page{})
	if err != nil || len(gs) != 1 {
		t.Fatalf("%s has %d default groups: %v", v.Project, len(gs), err)
	}
	return gs[0]
}

// A project's default group is made when it first lists its groups, with
// Neutron's four rules; a new group gets the two egress rules; "default"
// is reserved; projects never see each other's groups.
func TestSecurityGroups(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newEnv(t, eng.DSN)
			def := e.defaultGroup(t, projA)
			if def.Description != "Default security group" || !*def.Stateful || def.ProjectID != "a" ||
				rulesText(def.Rules) != "ingress IPv4  *-* group; egress IPv4  *-* ; ingress IPv6  *-* group; egress IPv6  *-* " {
				t.Fatalf("default group: %+v %s", def, rulesText(def.Rules))
			}
			for _, r := range def.Rules {
				if r.Direction == network.Ingress && r.RemoteGroupID != def.ID {
					t.Fatalf("ingress rule of the default group: %+v", r)
				}
			}
			if again := e.defaultGroup(t, projA); again.ID != def.ID {
				t.Fatalf("a second default group: %s and %s", def.ID, again.ID)
			}
			web, err := e.s.CreateSecurityGroup(e.ctx, projA, network.SecurityGroup{Name: "web", Description: "http"})
			if err != nil || !*web.Stateful || rulesText(web.Rules) != "egress IPv4  *-* ; egress IPv6  *-* " || web.Revision != 1 {
				t.Fatalf("web: %+v %v", web, err)
			}
			for _, name := range []string{"default", "DeFault"} {
				_, err = e.s.CreateSecurityGroup(e.ctx, projA, network.SecurityGroup{Name: name})
				wantNeutron(t, err, fault.Conflict, "SecurityGroupDefaultAlreadyExists")
			}

			// B sees only its own default group; A's groups are not found.
			gs, _, err := e.s.ListSecurityGroups(e.ctx, projB, nil, network.Page{})
			if err != nil || len(gs) != 1 || gs[0].Name != "default" || gs[0].ProjectID != "b" {
				t.Fatalf("B's groups: %+v %v", gs, err)
			}
			_, err = e.s.GetSecurityGroup(e.ctx, projB, web.ID)
			wantNeutron(t, err, fault.NotFound, "SecurityGroupNotFound")
			name := "mine"
			_, err = e.s.UpdateSecurityGroup(e.ctx, projB, web.ID, network.SecurityGroupUpdate{Name: &name})
			wantNeutron(t, err, fault.NotFound, "SecurityGroupNotFound")
			wantNeutron(t, e.s.DeleteSecurityGroup(e.ctx, projB, web.ID), fault.NotFound, "SecurityGroupNotFound")
			// A non-admin makes no default group for another project.
			if id, err := e.s.DefaultSecurityGroup(e.ctx, projB, "c"); err != nil || id != "" {
				t.Fatalf("B made c's default group: %q %v", id, err)
			}
			all, _, err := e.s.ListSecurityGroups(e.ctx, admin, nil, network.Page{Sort: []network.Sort{{Key: "project_id"}, {Key: "name"}}})
			if err != nil {
				t.Fatal(err)
			}
			var seen []string
			for _, g := range all {
				seen = append(seen, g.ProjectID+"/"+g.Name)
			}
			if fmt.Sprint(seen) != "[a/default a/web b/default ops/default]" {
				t.Fatalf("the admin sees %v", seen)
			}

			// Updates: a revision per change; the default group keeps
			// its name.
			desc := "web servers"
			g, err := e.s.UpdateSecurityGroup(e.ctx, projA, web.ID, network.SecurityGroupUpdate{Name: &name, Description: &desc})
			if err != nil || g.Name != "mine" || g.Description != desc || g.Revision != 2 || len(g.Rules) != 2 {
				t.Fatalf("update: %+v %v", g, err)
			}
			if g, _ = e.s.UpdateSecurityGroup(e.ctx, projA, web.ID, network.SecurityGroupUpdate{Name: &name}); g.Revision != 2 {
				t.Fatalf("an update that changes nothing wrote revision %d", g.Revision)
			}
			_, err = e.s.UpdateSecurityGroup(e.ctx, projA, def.ID, network.SecurityGroupUpdate{Name: &name})
			wantNeutron(t, err, fault.Conflict, "SecurityGroupCannotUpdateDefault")
			if g, err = e.s.UpdateSecurityGroup(e.ctx, projA, def.ID, network.SecurityGroupUpdate{Description: &desc}); err != nil || g.Description != desc {
				t.Fatalf("the default group's description: %+v %v", g, err)
			}

			// Only an admin deletes a default group; the next list makes
			// a new one.
			wantNeutron(t, e.s.DeleteSecurityGroup(e.ctx, projA, def.ID), fault.Conflict, "SecurityGroupCannotRemoveDefault")
			if err := e.s.DeleteSecurityGroup(e.ctx, admin, def.ID); err != nil {
				t.Fatal(err)
			}
			if again := e.defaultGroup(t, projA); again.ID == def.ID {
				t.Fatal("the deleted default group is still listed")
			}
			if err := e.s.DeleteSecurityGroup(e.ctx, projA, web.ID); err != nil {
				t.Fatal(err)
			}
			b, err := e.feed.Wait(e.ctx, watch.Query{Area: "network"}, 0)
			if err != nil {
				t.Fatal(err)
			}
			kinds := map[string]int{}
			for _, c := range b.Changes {
				kinds[c.Kind+" "+string(c.Op)]++
			}
			// Defaults of a, b, ops, a again and web; web's update and
			// the default's description.
			if kinds["security_group create"] != 5 || kinds["security_group_rule create"] != 4*4+2 ||
				kinds["security_group update"] != 2 || kinds["security_group delete"] != 2 || kinds["security_group_rule delete"] != 6 {
				t.Fatalf("feed: %v", kinds)
			}
		})
	}
}

// Rules are checked and stored as Neutron does.
func TestSecurityGroupRules(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newEnv(t, eng.DSN)
			g, err := e.s.CreateSecurityGroup(e.ctx, projA, network.SecurityGroup{Name: "g"})
			if err != nil {
				t.Fatal(err)
			}
			other, err := e.s.CreateSecurityGroup(e.ctx, projA, network.SecurityGroup{Name: "other"})
			if err != nil {
				t.Fatal(err)
			}
			bs, err := e.s.CreateSecurityGroup(e.ctx, projB, network.SecurityGroup{Name: "b's"})
			if err != nil {
				t.Fatal(err)
			}
			in := func(r network.SecurityGroupRule) network.SecurityGroupRule {
				r.SecurityGroupID = g.ID
				if r.Direction == "" {
					r.Direction = network.Ingress
				}
				return r
			}
			for _, c := range []struct {
				name string
				r    network.SecurityGroupRule
				want string // the rule stored, or the error type
			}{
				{"ssh", in(network.SecurityGroupRule{Protocol: "tcp", PortRangeMin: intp(22), PortRangeMax: intp(22), RemoteIPPrefix: "10.0.0.0/8"}),
					"ingress IPv4 tcp 22-22 10.0.0.0/8"},
				{"ssh by number", in(network.SecurityGroupRule{Protocol: "6", PortRangeMin: intp(22), PortRangeMax: intp(22), RemoteIPPrefix: "10.0.0.0/8"}),
					"SecurityGroupRuleExists"},
				{"upper case", in(network.SecurityGroupRule{Protocol: "UDP", PortRangeMin: intp(53), PortRangeMax: intp(53)}), "ingress IPv4 udp 53-53 "},
				{"number kept", in(network.SecurityGroupRule{Protocol: "132", PortRangeMin: intp(9), PortRangeMax: intp(10)}), "ingress IPv4 132 9-10 "},
				{"whole range is none", in(network.SecurityGroupRule{Protocol: "tcp", PortRangeMin: intp(1), PortRangeMax: intp(65535)}), "ingress IPv4 tcp *-* "},
				{"host bits kept", in(network.SecurityGroupRule{RemoteIPPrefix: "192.0.2.5/24"}), "ingress IPv4  *-* 192.0.2.5/24"},
				{"address", in(network.SecurityGroupRule{RemoteIPPrefix: "192.0.2.9", Ethertype: "ipv4"}), "ingress IPv4  *-* 192.0.2.9/32"},
				{"IPv6 icmp", in(network.SecurityGroupRule{Protocol: "icmp", Ethertype: "IPv6", PortRangeMin: intp(128)}), "ingress IPv6 ipv6-icmp 128-* "},
				{"IPv6 icmp 1", in(network.SecurityGroupRule{Protocol: "1", Ethertype: "IPv6"}), "ingress IPv6 58 *-* "},
				{"icmpv6 is ipv6-icmp", in(network.SecurityGroupRule{Protocol: "icmpv6", Ethertype: "IPv6"}), "SecurityGroupRuleExists"},
				{"icmp type and code", in(network.SecurityGroupRule{Protocol: "icmp", PortRangeMin: intp(8), PortRangeMax: intp(0)}), "ingress IPv4 icmp 8-0 "},
				{"remote group", in(network.SecurityGroupRule{RemoteGroupID: other.ID, Ethertype: "IPv6"}), "ingress IPv6  *-* group"},
				{"egress any", network.SecurityGroupRule{SecurityGroupID: g.ID, Direction: network.Egress}, "SecurityGroupRuleExists"},
				{"egress 0/0 is any", network.SecurityGroupRule{SecurityGroupID: g.ID, Direction: network.Egress, RemoteIPPrefix: "0.0.0.0/0"},
					"SecurityGroupRuleExists"},

				{"min above max", in(network.SecurityGroupRule{Protocol: "tcp", PortRangeMin: intp(90), PortRangeMax: intp(80)}), "SecurityGroupInvalidPortRange"},
				{"min alone", in(network.SecurityGroupRule{Protocol: "tcp", PortRangeMin: intp(90)}), "SecurityGroupInvalidPortRange"},
				{"port 0", in(network.SecurityGroupRule{Protocol: "udp", PortRangeMin: intp(0), PortRangeMax: intp(5)}), "SecurityGroupInvalidPortValue"},
				{"port too big", in(network.SecurityGroupRule{Protocol: "udp", PortRangeMin: intp(5), PortRangeMax: intp(65536)}), "SecurityGroupInvalidPortValue"},
				{"ports without protocol", in(network.SecurityGroupRule{PortRangeMin: intp(5), PortRangeMax: intp(6)}), "SecurityGroupProtocolRequiredWithPorts"},
				{"ports on gre", in(network.SecurityGroupRule{Protocol: "gre", PortRangeMin: intp(5), PortRangeMax: intp(6)}), "SecurityGroupInvalidProtocolForPort"},
				{"icmp type 256", in(network.SecurityGroupRule{Protocol: "icmp", PortRangeMin: intp(256)}), "SecurityGroupInvalidIcmpValue"},
				{"icmp code alone", in(network.SecurityGroupRule{Protocol: "icmp", PortRangeMax: intp(3)}), "SecurityGroupMissingIcmpType"},
				{"unknown protocol", in(network.SecurityGroupRule{Protocol: "tcpp"}), "SecurityGroupRuleInvalidProtocol"},
				{"protocol 256", in(network.SecurityGroupRule{Protocol: "256"}), "SecurityGroupRuleInvalidProtocol"},
				{"ethertype", in(network.SecurityGroupRule{Ethertype: "IPv5"}), "SecurityGroupRuleInvalidEtherType"},
				{"direction", network.SecurityGroupRule{SecurityGroupID: g.ID, Direction: "sideways"}, "HTTPBadRequest"},
				{"no direction", network.SecurityGroupRule{SecurityGroupID: g.ID}, "HTTPBadRequest"},
				{"prefix family", in(network.SecurityGroupRule{RemoteIPPrefix: "2001:db8::/32"}), "SecurityGroupRuleParameterConflict"},
				{"bad prefix", in(network.SecurityGroupRule{RemoteIPPrefix: "10.0.0.0/33"}), "InvalidCIDR"},
				{"prefix and group", in(network.SecurityGroupRule{RemoteIPPrefix: "10.0.0.0/8", RemoteGroupID: other.ID}), "SecurityGroupMultipleRemoteEntites"},
				{"IPv6 protocol on IPv4", in(network.SecurityGroupRule{Protocol: "ipv6-icmp"}), "SecurityGroupEthertypeConflictWithProtocol"},
				{"B's remote group", in(network.SecurityGroupRule{RemoteGroupID: bs.ID}), "SecurityGroupNotFound"},
				{"no such group", network.SecurityGroupRule{SecurityGroupID: "nope", Direction: network.Ingress}, "SecurityGroupNotFound"},
				{"another project's rule", in(network.SecurityGroupRule{ProjectID: "b", Protocol: "47"}), "SecurityGroupNotFound"},
			} {
				t.Run(c.name, func(t *testing.T) {
					r, err := e.s.CreateSecurityGroupRule(e.ctx, projA, c.r)
					if err != nil {
						if fe, ok := err.(*fault.Error); !ok || fe.Type != c.want {
							t.Fatalf("got %v, want %s", err, c.want)
						}
						return
					}
					if got := ruleText(r); got != c.want || r.ProjectID != "a" {
						t.Fatalf("got %q (%+v), want %q", got, r, c.want)
					}
				})
			}
			g, err = e.s.GetSecurityGroup(e.ctx, projA, g.ID)
			if err != nil || g.Revision != 11 || len(g.Rules) != 12 {
				t.Fatalf("g after 10 rules: revision %d, %d rules, %v", g.Revision, len(g.Rules), err)
			}
			// The normalized CIDR of a prefix with host bits.
			rs, _, err := e.s.ListSecurityGroupRules(e.ctx, projA, network.Filter{"normalized_cidr": {"192.0.2.0/24"}}, network.Page{})
			if err != nil || len(rs) != 1 || rs[0].RemoteIPPrefix != "192.0.2.5/24" {
				t.Fatalf("normalized_cidr filter: %+v %v", rs, err)
			}
			// An admin may write in any project's group, but the rule is
			// the group's project's.
			r, err := e.s.CreateSecurityGroupRule(e.ctx, admin, network.SecurityGroupRule{SecurityGroupID: bs.ID, Direction: network.Ingress, Protocol: "tcp"})
			if err != nil || r.ProjectID != "b" {
				t.Fatalf("admin's rule in B's group: %+v %v", r, err)
			}
			// Tenancy of rules.
			_, err = e.s.GetSecurityGroupRule(e.ctx, projA, r.ID)
			wantNeutron(t, err, fault.NotFound, "SecurityGroupRuleNotFound")
			wantNeutron(t, e.s.DeleteSecurityGroupRule(e.ctx, projA, r.ID), fault.NotFound, "SecurityGroupRuleNotFound")
			bRules, _, err := e.s.ListSecurityGroupRules(e.ctx, projB, nil, network.Page{})
			if err != nil || len(bRules) != 4+2+1 { // B's default group (made by the list), b's, the admin's rule
				t.Fatalf("B's rules: %d %v", len(bRules), err)
			}
			if err := e.s.DeleteSecurityGroupRule(e.ctx, projB, r.ID); err != nil {
				t.Fatal(err)
			}
			if bs, _ = e.s.GetSecurityGroup(e.ctx, projB, bs.ID); bs.Revision != 3 || len(bs.Rules) != 2 {
				t.Fatalf("B's group after a rule came and went: %+v", bs)
			}
			// Deleting a group deletes the rules that name it as remote.
			if err := e.s.DeleteSecurityGroup(e.ctx, projA, other.ID); err != nil {
				t.Fatal(err)
			}
			if g2, _ := e.s.GetSecurityGroup(e.ctx, projA, g.ID); len(g2.Rules) != 11 || g2.Revision != 12 {
				t.Fatalf("g after its remote group went: revision %d, %s", g2.Revision, rulesText(g2.Rules))
			}
		})
	}
}

// Parallel creates of one rule: exactly one succeeds.
func TestParallelDuplicateRule(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newEnv(t, eng.DSN)
			g, err := e.s.CreateSecurityGroup(e.ctx, projA, network.SecurityGroup{Name: "g"})
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			var mu sync.Mutex
			results := map[string]int{}
			for range 8 {
				wg.Go(func() {
					_, err := e.s.CreateSecurityGroupRule(e.ctx, projA, network.SecurityGroupRule{SecurityGroupID: g.ID, Direction: network.Ingress,
						Protocol: "tcp", PortRangeMin: intp(443), PortRangeMax: intp(443)})
					what := "ok"
					if err != nil {
						what = err.Error()
						if fe, ok := err.(*fault.Error); ok {
							what = fe.Type
						}
					}
					mu.Lock()
					results[what]++
					mu.Unlock()
				})
			}
			wg.Wait()
			if results["ok"] != 1 || results["SecurityGroupRuleExists"] != 7 {
				t.Fatalf("results: %v", results)
			}
		})
	}
}

// A project's default group is made once, however many requests want it
// at the same time: lists of groups and of rules, and port creates on
// several networks.
func TestDefaultSecurityGroupOnce(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newEnv(t, eng.DSN)
			var nets []network.Network
			for i := range 4 {
				n := e.network(t, projA, network.Network{Name: fmt.Sprint("n", i)})
				e.subnet(t, projA, n.ID, fmt.Sprintf("10.%d.0.0/24", i))
				nets = append(nets, n)
			}
			var wg sync.WaitGroup
			errs := make(chan error, 32)
			ids := make(chan string, 32)
			for i := range 12 {
				wg.Go(func() {
					switch i % 3 {
					case 0:
						p, err := e.s.CreatePort(e.ctx, projA, network.Port{NetworkID: nets[i%4].ID})
						if err == nil {
							ids <- p.SecurityGroups[0]
						}
						errs <- err
					case 1:
						_, _, err := e.s.ListSecurityGroups(e.ctx, projA, nil, network.Page{})
						errs <- err
					default:
						_, _, err := e.s.ListSecurityGroupRules(e.ctx, projA, nil, network.Page{})
						errs <- err
					}
				})
			}
			wg.Wait()
			close(errs)
			close(ids)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			def := e.defaultGroup(t, projA)
			for id := range ids {
				if id != def.ID {
					t.Fatalf("a port in group %s, the default is %s", id, def.ID)
				}
			}
			all, _, err := e.s.ListSecurityGroups(e.ctx, admin, network.Filter{"project_id": {"a"}}, network.Page{})
			if err != nil || len(all) != 1 {
				t.Fatalf("project a has %d groups: %v", len(all), err)
			}
		})
	}
}

// Ports get Neutron's security_groups, port_security_enabled and
// allowed_address_pairs.
func TestPortSecurity(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newEnv(t, eng.DSN)
			n := e.network(t, projA, network.Network{Name: "net"})
			e.subnet(t, projA, n.ID, "10.0.0.0/24")
			if !*n.PortSecurity {
				t.Fatal("a network's port security is on by default")
			}
			web, err := e.s.CreateSecurityGroup(e.ctx, projA, network.SecurityGroup{Name: "web"})
			if err != nil {
				t.Fatal(err)
			}
			stateless, err := e.s.CreateSecurityGroup(e.ctx, projA, network.SecurityGroup{Name: "nat", Stateful: boolp(false)})
			if err != nil {
				t.Fatal(err)
			}
			bs, err := e.s.CreateSecurityGroup(e.ctx, projB, network.SecurityGroup{Name: "b's"})
			if err != nil {
				t.Fatal(err)
			}
			def := e.defaultGroup(t, projA)

			create := func(p network.Port) (network.Port, error) {
				p.NetworkID = n.ID
				return e.s.CreatePort(e.ctx, projA, p)
			}
			p1, err := create(network.Port{Name: "p1"})
			if err != nil || !*p1.PortSecurity || fmt.Sprint(p1.SecurityGroups) != "["+def.ID+"]" || len(p1.AllowedAddressPairs) != 0 {
				t.Fatalf("p1: %+v %v", p1, err)
			}
			p2, err := create(network.Port{SecurityGroups: []string{}, AllowedAddressPairs: []network.AddressPair{
				{IP: "10.0.0.200"}, {IP: "10.9.0.0/16", MAC: "FA:16:3E:00:00:09"}}})
			if err != nil || len(p2.SecurityGroups) != 0 ||
				fmt.Sprint(p2.AllowedAddressPairs) != fmt.Sprintf("[{10.0.0.200 %s} {10.9.0.0/16 fa:16:3e:00:00:09}]", p2.MAC) {
				t.Fatalf("p2: %+v %v", p2, err)
			}
			p3, err := create(network.Port{PortSecurity: boolp(false)})
			if err != nil || *p3.PortSecurity || len(p3.SecurityGroups) != 0 {
				t.Fatalf("p3: %+v %v", p3, err)
			}
			dhcp, err := create(network.Port{DeviceOwner: "network:dhcp", PortSecurity: boolp(true)})
			if err != nil || *dhcp.PortSecurity || len(dhcp.SecurityGroups) != 0 {
				t.Fatalf("a network:dhcp port: %+v %v", dhcp, err)
			}
			for _, c := range []struct {
				name string
				p    network.Port
				kind fault.Kind
				typ  string
			}{
				{"groups without port security", network.Port{PortSecurity: boolp(false), SecurityGroups: []string{web.ID}},
					fault.BadRequest, "PortSecurityAndIPRequiredForSecurityGroups"},
				{"pairs without port security", network.Port{PortSecurity: boolp(false), AllowedAddressPairs: []network.AddressPair{{IP: "10.0.0.9"}}},
					fault.Conflict, "AddressPairAndPortSecurityRequired"},
				{"B's group", network.Port{SecurityGroups: []string{web.ID, bs.ID}}, fault.NotFound, "SecurityGroupNotFound"},
				{"stateful and stateless", network.Port{SecurityGroups: []string{web.ID, stateless.ID}}, fault.Conflict, "SecurityGroupConflict"},
				{"a group twice", network.Port{SecurityGroups: []string{web.ID, web.ID}}, fault.BadRequest, "HTTPBadRequest"},
				{"a pair twice", network.Port{AllowedAddressPairs: []network.AddressPair{{IP: "10.0.0.9"}, {IP: "10.0.0.9"}}},
					fault.BadRequest, "DuplicateAddressPairInRequest"},
				{"a pair twice with the port's MAC", network.Port{MAC: "fa:16:3e:00:00:77",
					AllowedAddressPairs: []network.AddressPair{{IP: "10.0.0.9"}, {IP: "10.0.0.9", MAC: "fa:16:3e:00:00:77"}}},
					fault.BadRequest, "DuplicateAddressPairInRequest"},
				{"a pair without address", network.Port{AllowedAddressPairs: []network.AddressPair{{MAC: "fa:16:3e:00:00:01"}}},
					fault.BadRequest, "AllowedAddressPairsMissingIP"},
				{"a bad address", network.Port{AllowedAddressPairs: []network.AddressPair{{IP: "10.0.0.09"}}}, fault.BadRequest, "HTTPBadRequest"},
				{"a bad CIDR", network.Port{AllowedAddressPairs: []network.AddressPair{{IP: "10.0.0.5/33"}}}, fault.BadRequest, "HTTPBadRequest"},
				{"a bad MAC", network.Port{AllowedAddressPairs: []network.AddressPair{{IP: "10.0.0.5", MAC: "ff:ff:ff:ff:ff:ff"}}},
					fault.BadRequest, "HTTPBadRequest"},
				{"11 pairs", network.Port{AllowedAddressPairs: func() (out []network.AddressPair) {
					for i := range 11 {
						out = append(out, network.AddressPair{IP: fmt.Sprintf("10.0.1.%d", i)})
					}
					return out
				}()}, fault.BadRequest, "AllowedAddressPairExhausted"},
			} {
				_, err := create(c.p)
				if fe, ok := err.(*fault.Error); !ok || fe.Kind != c.kind || fe.Type != c.typ {
					t.Errorf("%s: got %v, want %s", c.name, err, c.typ)
				}
			}
			// A network without port security: its ports have none.
			off := e.network(t, projA, network.Network{Name: "off", PortSecurity: boolp(false)})
			if p, err := e.s.CreatePort(e.ctx, projA, network.Port{NetworkID: off.ID}); err != nil || *p.PortSecurity || len(p.SecurityGroups) != 0 {
				t.Fatalf("a port of a network without port security: %+v %v", p, err)
			}

			// Groups in use stay.
			wantNeutron(t, e.s.DeleteSecurityGroup(e.ctx, admin, def.ID), fault.Conflict, "SecurityGroupInUse")
			_, err = e.s.UpdateSecurityGroup(e.ctx, projA, def.ID, network.SecurityGroupUpdate{Stateful: boolp(false)})
			wantNeutron(t, err, fault.Conflict, "SecurityGroupInUse")

			// Updates.
			groups := []string{web.ID, def.ID}
			p, err := e.s.UpdatePort(e.ctx, projA, p1.ID, network.PortUpdate{SecurityGroups: &groups})
			if err != nil || fmt.Sprint(p.SecurityGroups) != fmt.Sprint(groups) || p.Revision != 2 {
				t.Fatalf("p1 in two groups: %+v %v", p, err)
			}
			swapped := []string{def.ID, web.ID}
			if p, _ = e.s.UpdatePort(e.ctx, projA, p1.ID, network.PortUpdate{SecurityGroups: &swapped}); p.Revision != 2 {
				t.Fatalf("the same groups in another order wrote revision %d", p.Revision)
			}
			_, err = e.s.UpdatePort(e.ctx, projA, p1.ID, network.PortUpdate{PortSecurity: boolp(false)})
			wantNeutron(t, err, fault.Conflict, "PortSecurityPortHasSecurityGroup")
			none := []string{}
			if p, err = e.s.UpdatePort(e.ctx, projA, p1.ID, network.PortUpdate{PortSecurity: boolp(false), SecurityGroups: &none}); err != nil ||
				*p.PortSecurity || len(p.SecurityGroups) != 0 {
				t.Fatalf("p1 without port security: %+v %v", p, err)
			}
			pairs := []network.AddressPair{{IP: "10.0.0.77"}}
			_, err = e.s.UpdatePort(e.ctx, projA, p1.ID, network.PortUpdate{AllowedAddressPairs: &pairs})
			wantNeutron(t, err, fault.Conflict, "AddressPairAndPortSecurityRequired")
			_, err = e.s.UpdatePort(e.ctx, projA, p2.ID, network.PortUpdate{PortSecurity: boolp(false)})
			wantNeutron(t, err, fault.Conflict, "AddressPairAndPortSecurityRequired") // p2 keeps its pairs
			bOnly := []string{bs.ID}
			_, err = e.s.UpdatePort(e.ctx, projA, p2.ID, network.PortUpdate{SecurityGroups: &bOnly})
			wantNeutron(t, err, fault.NotFound, "SecurityGroupNotFound")
			webOnly := []string{web.ID}
			if p, err = e.s.UpdatePort(e.ctx, projA, p2.ID, network.PortUpdate{SecurityGroups: &webOnly, AllowedAddressPairs: &pairs}); err != nil ||
				fmt.Sprint(p.AllowedAddressPairs) != fmt.Sprintf("[{10.0.0.77 %s}]", p2.MAC) {
				t.Fatalf("p2 update: %+v %v", p, err)
			}
			// Who is in a group, by the ports' security_groups filter; the
			// default group is free again.
			in, _, err := e.s.ListPorts(e.ctx, projA, network.Filter{"security_groups": {web.ID}}, network.Page{})
			if err != nil || len(in) != 1 || in[0].ID != p2.ID || fmt.Sprint(in[0].SecurityGroups) != "["+web.ID+"]" {
				t.Fatalf("ports in web: %+v %v", in, err)
			}
			if err := e.s.DeleteSecurityGroup(e.ctx, admin, def.ID); err != nil {
				t.Fatalf("the default group, no longer used: %v", err)
			}
			if err := e.s.DeletePort(e.ctx, projA, p2.ID); err != nil {
				t.Fatal(err)
			}
			if err := e.s.DeleteSecurityGroup(e.ctx, projA, web.ID); err != nil {
				t.Fatalf("web, its port gone: %v", err)
			}
			// The feed's port data carries the attributes.
			b, err := e.feed.Wait(e.ctx, watch.Query{Area: "network"}, 0)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, c := range b.Changes {
				if c.Kind == "port" && c.ID == p1.ID && c.Op == watch.Create {
					found = strings.Contains(string(c.Data), `"security_groups":["`+def.ID+`"]`) &&
						strings.Contains(string(c.Data), `"port_security_enabled":true`) && strings.Contains(string(c.Data), `"allowed_address_pairs":[]`)
					if !found {
						t.Fatalf("p1's feed data: %s", c.Data)
					}
				}
			}
			if !found {
				t.Fatal("p1's create is not on the feed")
			}
		})
	}
}
