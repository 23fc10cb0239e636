package agent

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/vishvananda/netlink"
)

// hostAddress puts an address on a bridge's own device and sets it up:
// the tunnel address on br-phy (with the userspace datapath, Open vSwitch
// routes and resolves tunnel destinations through the kernel's view of
// that device), or the host's side of a provider network on its bridge.
func hostAddress(dev string, ip netip.Prefix) error {
	// ovs-vswitchd makes the bridge's device (a tap) a moment after the
	// bridge is in the database.
	var link netlink.Link
	var err error
	for i := 0; i < 100; i++ {
		if link, err = netlink.LinkByName(dev); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("network agent: %s: %w", dev, err)
	}
	addrs, err := netlink.AddrList(link, netlink.FAMILY_ALL)
	if err != nil {
		return fmt.Errorf("network agent: %s: %w", dev, err)
	}
	have := false
	for _, a := range addrs {
		if p, ok := netip.AddrFromSlice(a.IP); ok && p.Unmap() == ip.Addr() {
			have = true
		}
	}
	if !have {
		addr, err := netlink.ParseAddr(ip.String())
		if err != nil {
			return err
		}
		if err := netlink.AddrAdd(link, addr); err != nil {
			return fmt.Errorf("network agent: %s: address %s: %w", dev, ip, err)
		}
	}
	if link.Attrs().Flags&1 == 0 { // net.FlagUp
		if err := netlink.LinkSetUp(link); err != nil {
			return fmt.Errorf("network agent: %s: %w", dev, err)
		}
	}
	return nil
}
