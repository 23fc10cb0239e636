package secgroup_test

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/gostack/gostack/network/secgroup"
)

// A VM's port in a group that lets SSH in from one network and anything
// out: its entry in table 60 and the flows of its rules (tables 72 and
// 82). Flows also returns anti-spoofing, conntrack and default flows
// (61 in all here); the agent installs all of them with
// ovs.OpenFlow.Sync, next to its table 0 sending everything to table 60.
func Example() {
	port := secgroup.Port{
		ID: "0c1d2e3f", OFPort: 4, VLAN: 3, MAC: "fa:16:3e:12:34:56",
		IPs:    []netip.Addr{netip.MustParseAddr("10.0.0.5")},
		Groups: []string{"ssh"}, PortSecurity: true,
	}
	groups := map[string]secgroup.Group{"ssh": {ID: "ssh", Stateful: true, Rules: []secgroup.Rule{
		{Direction: "ingress", EtherType: "IPv4", Protocol: "tcp", PortMin: 22, PortMax: 22,
			RemoteIP: netip.MustParsePrefix("192.0.2.0/24")},
		{Direction: "egress", EtherType: "IPv4"},
	}}}
	for _, f := range secgroup.Flows([]secgroup.Port{port}, groups, nil) {
		if f.Table == secgroup.TransientTable && f.Priority >= 90 ||
			(f.Table == secgroup.EgressRulesTable || f.Table == secgroup.IngressRulesTable) && f.Priority >= 70 {
			fmt.Println(f)
		}
	}
	// Output:
	// table=60, priority=100,in_port=4 actions=set_field:0x4->reg5,set_field:0x3->reg6,resubmit(,71)
	// table=60, priority=90,dl_vlan=3,dl_dst=fa:16:3e:12:34:56 actions=set_field:0x4->reg5,set_field:0x3->reg6,pop_vlan,resubmit(,81)
	// table=72, priority=74,ct_state=+est-rel-rpl,ip,reg5=0x4 actions=resubmit(,73)
	// table=72, priority=74,ct_state=+new-est,ip,reg5=0x4 actions=resubmit(,73)
	// table=82, priority=77,ct_state=+est-rel-rpl,tcp,reg5=0x4,nw_src=192.0.2.0/24,tp_dst=22 actions=output:4
	// table=82, priority=77,ct_state=+new-est,tcp,reg5=0x4,nw_src=192.0.2.0/24,tp_dst=22 actions=ct(commit,zone=NXM_NX_REG6[0..15]),output:4
}

// Check tells why a rule is left out.
func ExampleRule_Check() {
	r := secgroup.Rule{Direction: "ingress", EtherType: "IPv4", Protocol: "icmpv6"}
	err := r.Check()
	fmt.Println(errors.Is(err, secgroup.ErrInvalidRule))
	// Output: true
}
