package ovs_test

import (
	"context"
	"fmt"
	"log"

	"github.com/gostack/gostack/network/ovs"
)

// A host agent's plumbing: a private Open vSwitch with the userspace
// datapath, an integration bridge, a VM's tap as an access port on local
// VLAN 3, and br-int's flows. Run as root; the daemons keep running after
// the program exits, and the next run finds them.
func Example() {
	ctx := context.Background()
	d, err := ovs.Start(ctx, "/run/gostack/ovs")
	if err != nil {
		log.Fatal(err)
	}
	c, err := ovs.Connect(ctx, d.DB)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	err = c.EnsureBridge(ctx, "br-int", ovs.BridgeOptions{
		DatapathType: "netdev",
		FailMode:     "secure",
		Protocols:    []string{"OpenFlow10", "OpenFlow15"},
	})
	if err != nil {
		log.Fatal(err)
	}
	err = c.EnsurePort(ctx, "br-int", ovs.Port{
		Name: "tap0c1d2e3f-4a", Tag: 3,
		ExternalIDs: map[string]string{"iface-id": "0c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f", "attached-mac": "fa:16:3e:12:34:56"},
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := c.WaitSwitch(ctx); err != nil {
		log.Fatal(err)
	}
	port, err := c.WaitOFPort(ctx, "tap0c1d2e3f-4a")
	if err != nil {
		log.Fatal(err)
	}

	// Our flows carry cookie 0x1234<<48 | generation; the mask picks the
	// owner. Flows are best written as OVS prints them (Canonical).
	const owner, mask, generation = 0x1234 << 48, 0xffff << 48, 1
	flows := []ovs.Flow{
		{Table: 0, Priority: 65535, Match: "vlan_tci=0x0fff/0x1fff", Actions: "drop"},
		{Table: 0, Priority: 10, Match: fmt.Sprintf("in_port=%d", port), Actions: "resubmit(,60)"},
		{Table: 23, Priority: 0, Actions: "drop"}, // the canary
		{Table: 60, Priority: 3, Actions: "NORMAL"},
	}
	res, err := d.OpenFlow("br-int").Sync(ctx, flows, owner|generation, mask)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("flows: %+v", res)

	// Re-plumb whenever OVS changes (a port appears, ovs-vswitchd
	// restarts and loses its flows, ...).
	for range c.Changed() {
		for _, i := range c.Interfaces("br-int") {
			log.Printf("%s ofport %d iface-id %s", i.Name, i.OFPort, i.ExternalIDs["iface-id"])
		}
		if _, err := d.OpenFlow("br-int").Sync(ctx, flows, owner|generation, mask); err != nil {
			log.Print(err)
		}
	}
}

// Canonical shows how OVS prints flows written with synonyms; an agent's
// tests can compare their flows with it. It needs ovs-ofctl, no switch
// (and so has no checked output here); it prints
//
//	table=0, priority=3,in_port=4,dl_vlan=100 actions=set_field:4099->vlan_vid,goto_table:58
//	table=10, priority=1,ip,nw_dst=10.1.2.0/24 actions=set_field:0x5->reg0,output:3
func ExampleOpenFlow_Canonical() {
	of := &ovs.OpenFlow{Run: ovs.Exec()}
	canon, err := of.Canonical(context.Background(), []ovs.Flow{
		{Table: 0, Priority: 3, Match: "in_port=4,dl_vlan=100", Actions: "mod_vlan_vid:3,goto_table:58"},
		{Table: 10, Priority: 1, Match: "dl_type=0x0800,nw_dst=10.1.2.0/24", Actions: "load:5->NXM_NX_REG0[],3"},
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range canon {
		fmt.Println(f)
	}
}
