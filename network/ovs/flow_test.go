package ovs

import (
	"testing"
)

// Lines as ovs-ofctl 3.1 prints them: dump-flows --no-stats, dump-flows
// with statistics, and parse-flows' flow mods.
func TestParseFlow(t *testing.T) {
	for _, tc := range []struct {
		line string
		want Flow
	}{
		{" priority=65535,vlan_tci=0x0fff/0x1fff actions=drop",
			Flow{Priority: 65535, Match: "vlan_tci=0x0fff/0x1fff", Actions: "drop"}},
		{" cookie=0x1234000000000002, table=3, arp,dl_vlan=5,arp_tpa=10.0.0.5 actions=set_field:2->arp_op,IN_PORT",
			Flow{Cookie: 0x1234000000000002, Table: 3, Priority: DefaultPriority, Match: "arp,dl_vlan=5,arp_tpa=10.0.0.5", Actions: "set_field:2->arp_op,IN_PORT"}},
		{" table=1, priority=1 actions=drop",
			Flow{Table: 1, Priority: 1, Actions: "drop"}},
		{" table=60, actions=NORMAL",
			Flow{Table: 60, Priority: DefaultPriority, Actions: "NORMAL"}},
		{" cookie=0x5, duration=12.034s, table=20, n_packets=3, n_bytes=180, hard_timeout=300, idle_age=2, priority=1,vlan_tci=0x0005/0x0fff,dl_dst=fa:16:3e:00:00:01 actions=load:0->NXM_OF_VLAN_TCI[],output:2",
			Flow{Cookie: 5, Table: 20, Priority: 1, Match: "vlan_tci=0x0005/0x0fff,dl_dst=fa:16:3e:00:00:01", Actions: "load:0->NXM_OF_VLAN_TCI[],output:2"}},
		{" cookie=0x1, table=2, send_flow_rem reset_counts priority=7,ip actions=drop",
			Flow{Cookie: 1, Table: 2, Priority: 7, Match: "ip", Actions: "drop"}},
		{"table:3 arp,dl_vlan=5 actions=drop",
			Flow{Table: 3, Priority: DefaultPriority, Match: "arp,dl_vlan=5", Actions: "drop"}},
		{"ADD table:1 priority=5,ip cookie:0x1 actions=drop",
			Flow{Cookie: 1, Table: 1, Priority: 5, Match: "ip", Actions: "drop"}},
		{"actions=NORMAL", Flow{Priority: DefaultPriority, Actions: "NORMAL"}},
		{"priority=0 actions=learn(table=20,hard_timeout=300,priority=1,NXM_OF_VLAN_TCI[0..11],NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[]),output:1",
			Flow{Priority: 0, Actions: "learn(table=20,hard_timeout=300,priority=1,NXM_OF_VLAN_TCI[0..11],NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[]),output:1"}},
	} {
		t.Run(tc.line, func(t *testing.T) {
			got, err := parseFlow(tc.line)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
	for _, bad := range []string{"priority=1,ip", "table=x, actions=drop", "a=1 b=2 actions=drop"} {
		if f, err := parseFlow(bad); err == nil {
			t.Errorf("parseFlow(%q) = %+v, want an error", bad, f)
		}
	}
}

func TestFlowString(t *testing.T) {
	for _, tc := range []struct {
		f    Flow
		want string
	}{
		{Flow{Table: 0, Priority: 0, Actions: "drop"}, "table=0, priority=0 actions=drop"},
		{Flow{Cookie: 0x10, Table: 2, Priority: 5, Match: "ip,nw_dst=10.0.0.0/24", Actions: "output:1"},
			"cookie=0x10, table=2, priority=5,ip,nw_dst=10.0.0.0/24 actions=output:1"},
	} {
		if got := tc.f.String(); got != tc.want {
			t.Errorf("%+v: got %q, want %q", tc.f, got, tc.want)
		}
		// String reads back as the same flow.
		if back, err := parseFlow(tc.want); err != nil || back != tc.f {
			t.Errorf("parseFlow(%q) = %+v, %v", tc.want, back, err)
		}
	}
}
