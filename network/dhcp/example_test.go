package dhcp_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/netip"
	"time"

	"github.com/gostack/gostack/network/dhcp"
)

// One network's DHCP: dnsmasq in the network's namespace qdhcp-net1,
// serving the DHCP port tap-dhcp1 (plugged by the agent, with an address
// in the subnet), one subnet and two ports. Run as root; call Apply
// again whenever a port or subnet changes, and Stop when the network
// leaves the host.
func ExampleServer_Apply() {
	s := &dhcp.Server{
		Dir:       "/var/lib/gostack/dhcp/net1",
		Namespace: "qdhcp-net1",
		Interface: "tap-dhcp1",
	}
	cfg := dhcp.Config{
		Subnets: []dhcp.Subnet{{
			ID:      "5c1a9e0e-0d43-4a58-9a1c-2d8f1f1e3b10",
			CIDR:    netip.MustParsePrefix("10.0.0.0/24"),
			Gateway: netip.MustParseAddr("10.0.0.1"),
			DNS:     []netip.Addr{netip.MustParseAddr("192.0.2.53")},
			Routes: []dhcp.Route{{
				Destination: netip.MustParsePrefix("169.254.169.254/32"),
				NextHop:     netip.MustParseAddr("10.0.0.2"),
			}},
			MTU:   1450,
			Lease: 24 * time.Hour,
		}},
		Hosts: []dhcp.Host{
			{PortID: "8f6c2b1e", MAC: "fa:16:3e:12:34:56", Hostname: "web1", IP: netip.MustParseAddr("10.0.0.5")},
			{PortID: "0b7d4c9a", MAC: "fa:16:3e:65:43:21", IP: netip.MustParseAddr("10.0.0.6")}, // host-10-0-0-6
		},
	}
	if err := s.Apply(context.Background(), cfg); err != nil {
		log.Fatal(err)
	}
}

// A Config Apply refuses is an ErrInvalid that says why, and nothing on
// the host is touched.
func ExampleServer_Apply_invalid() {
	s := &dhcp.Server{Dir: "/var/lib/gostack/dhcp/net1", Interface: "tap-dhcp1"}
	err := s.Apply(context.Background(), dhcp.Config{
		Subnets: []dhcp.Subnet{{ID: "s1", CIDR: netip.MustParsePrefix("10.0.0.0/24")}},
		Hosts: []dhcp.Host{
			{PortID: "p1", MAC: "fa:16:3e:00:00:01", IP: netip.MustParseAddr("10.0.0.5")},
			{PortID: "p2", MAC: "fa:16:3e:00:00:02", IP: netip.MustParseAddr("10.0.0.5")},
			{PortID: "p3", MAC: "fa:16:3e:00:00:03", IP: netip.MustParseAddr("10.1.0.5")},
		},
	})
	fmt.Println(errors.Is(err, dhcp.ErrInvalid))
	fmt.Println(err)
	// Output:
	// true
	// dhcp: invalid config: host p3/10.1.0.5: IP 10.1.0.5 is in no subnet
	// dhcp: invalid config: IP 10.0.0.5 is given to both fa:16:3e:00:00:01 and fa:16:3e:00:00:02
}
