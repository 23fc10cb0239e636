package l3_test

import (
	"context"
	"log"
	"net/netip"

	"github.com/gostack/gostack/network/l3"
)

// A router with a gateway on the external network, one internal subnet,
// SNAT and a floating IP. The qg- and qr- devices exist already (OVS
// internal ports or veth ends); Apply moves them into qrouter-r1. Run as
// root; call Apply again whenever the router changes.
func ExampleApply() {
	r := l3.Router{
		ID: "r1",
		Gateway: &l3.Gateway{
			Interface: l3.Interface{Device: "qg-r1", Addrs: []netip.Prefix{netip.MustParsePrefix("192.0.2.10/24")}},
			Via:       netip.MustParseAddr("192.0.2.1"),
		},
		Interfaces:  []l3.Interface{{Device: "qr-r1", Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.0.1/24")}}},
		FloatingIPs: []l3.FloatingIP{{External: netip.MustParseAddr("192.0.2.50"), Fixed: netip.MustParseAddr("10.0.0.5")}},
		SNAT:        true,
	}
	if err := l3.Apply(context.Background(), r); err != nil {
		log.Fatal(err)
	}
}
