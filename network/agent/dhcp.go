package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/gostack/gostack/network"
	"github.com/gostack/gostack/network/dhcp"
	"github.com/gostack/gostack/network/metadataproxy"
	"github.com/gostack/gostack/network/nsutil"
	"github.com/gostack/gostack/network/ovs"
)

// dhcpNamespace is a network's DHCP namespace, as Neutron names it.
func dhcpNamespace(networkID string) string { return "qdhcp-" + networkID }

// vethNames are the two ends of a port's veth: the one in the namespace
// carries Neutron's device name (prefix — "tap", "qr-", "qg-" — and the
// port id's first 11 characters), the one on br-int "o" and the prefix
// without its dash: "otap…", "oqr…", "oqg…" (15 bytes at most).
func vethNames(prefix, portID string) (inNS, onBridge string) {
	id := portID
	if len(id) > 11 {
		id = id[:11]
	}
	return prefix + id, "o" + strings.TrimSuffix(prefix, "-") + id
}

// plugVIF puts a veth end on br-int as the VIF of port p, as os-vif
// plugs an instance's, unless it is there already: its tag is
// localPorts' to set, and an update here would clear it at every sync.
func (a *Agent) plugVIF(ctx context.Context, name string, p network.Port) error {
	for _, ifc := range a.db.Interfaces(a.Config.IntegrationBridge) {
		if ifc.Name == name && ifc.ExternalIDs["iface-id"] == p.ID && ifc.ExternalIDs["attached-mac"] == p.MAC {
			return nil
		}
	}
	return a.db.EnsurePort(ctx, a.Config.IntegrationBridge, ovs.Port{Name: name,
		ExternalIDs: map[string]string{"iface-id": p.ID, "attached-mac": p.MAC, "iface-status": "active"}})
}

// dropStaleVeths deletes the br-int ports whose names start with prefix
// and whose device is gone (it went with its namespace).
func (a *Agent) dropStaleVeths(ctx context.Context, prefix string) error {
	for _, ifc := range a.db.Interfaces(a.Config.IntegrationBridge) {
		if strings.HasPrefix(ifc.Name, prefix) {
			if _, err := netlink.LinkByName(ifc.Name); err != nil {
				if err := a.db.DeletePort(ctx, a.Config.IntegrationBridge, ifc.Name); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// dhcpServices serves the DHCP of the networks the controller scheduled
// to this host: a namespace per network, the DHCP port's veth plugged
// into br-int, and dnsmasq (network/dhcp) inside. A service whose port
// is missing or lacks an address on a DHCP subnet is asked for first;
// services no longer scheduled here are stopped and removed. It returns
// the DHCP ports it plumbed.
func (a *Agent) dhcpServices(ctx context.Context, base string, st *network.HostState) (map[string]bool, error) {
	plumbed := map[string]bool{}
	keep := map[string]bool{}
	var errs []error
	if a.Config.DHCPDir == "" {
		return plumbed, nil
	}
	services := st.DHCP
	if !a.Config.DHCP {
		services = nil // what an earlier run served here is stopped below
	}
	for _, svc := range services {
		keep[svc.Network.ID] = true
		a.metadataHosts(svc)
		if !portCovers(svc.Port, svc.Subnets) {
			var out map[string]any
			err := a.Session.Do(ctx, "PUT", base+"/internal/hosts/"+url.PathEscape(a.Config.Host)+"/dhcp/"+url.PathEscape(svc.Network.ID), struct{}{}, &out)
			if err != nil {
				errs = append(errs, err)
			}
			continue // the port's change wakes the next sync
		}
		if err := a.serveDHCP(ctx, svc); err != nil {
			errs = append(errs, fmt.Errorf("DHCP of %s: %w", svc.Network.ID, err))
			continue
		}
		plumbed[svc.Port.ID] = true
	}
	entries, err := os.ReadDir(a.Config.DHCPDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, err)
	}
	for _, e := range entries {
		if e.IsDir() && !keep[e.Name()] {
			if err := a.stopDHCP(ctx, e.Name()); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return plumbed, errors.Join(errs...)
}

// portCovers reports whether p has an address on every subnet.
func portCovers(p *network.Port, subnets []network.Subnet) bool {
	if p == nil {
		return false
	}
	for _, s := range subnets {
		if !slices.ContainsFunc(p.FixedIPs, func(f network.FixedIP) bool { return f.SubnetID == s.ID }) {
			return false
		}
	}
	return true
}

func (a *Agent) serveDHCP(ctx context.Context, svc network.DHCPService) error {
	p := svc.Port
	nsName := dhcpNamespace(svc.Network.ID)
	inNS, onBridge := vethNames("tap", p.ID)
	var addrs []netip.Prefix
	cidr := map[string]netip.Prefix{}
	for _, s := range svc.Subnets {
		cidr[s.ID] = s.CIDR
	}
	for _, f := range p.FixedIPs {
		if c, ok := cidr[f.SubnetID]; ok {
			addrs = append(addrs, netip.PrefixFrom(f.IP, c.Bits()))
		}
	}
	if a.metadataOn() {
		addrs = append(addrs, netip.PrefixFrom(metadataproxy.Address, 32))
	}
	// The service's directory before anything else, so that what follows
	// is found and undone if the agent dies half-way and the network
	// leaves this host.
	if err := os.MkdirAll(filepath.Join(a.Config.DHCPDir, svc.Network.ID), 0o755); err != nil {
		return err
	}
	if err := plugVeth(nsName, inNS, onBridge, p.MAC, addrs, svc.Network.MTU); err != nil {
		return err
	}
	if err := a.plugVIF(ctx, onBridge, *p); err != nil {
		return err
	}
	cfg := dhcp.Config{}
	for _, s := range svc.Subnets {
		sub := dhcp.Subnet{ID: s.ID, CIDR: s.CIDR, Gateway: s.Gateway, DNS: s.Nameservers, MTU: svc.Network.MTU}
		for _, r := range s.Routes {
			sub.Routes = append(sub.Routes, dhcp.Route{Destination: r.Destination, NextHop: r.Nexthop})
		}
		if a.metadataOn() {
			metadataRoutes(&sub, p)
		}
		cfg.Subnets = append(cfg.Subnets, sub)
	}
	for _, h := range svc.Hosts {
		for _, f := range h.IPs {
			if _, ok := cidr[f.SubnetID]; ok && f.IP.Is4() {
				cfg.Hosts = append(cfg.Hosts, dhcp.Host{PortID: h.PortID, MAC: h.MAC, IP: f.IP})
			}
		}
	}
	if err := a.dhcpServer(svc.Network.ID, inNS).Apply(ctx, cfg); err != nil {
		return err
	}
	if !a.metadataOn() {
		a.stopMetadata(svc.Network.ID)
		return nil
	}
	if err := a.serveMetadata(svc); err != nil {
		return fmt.Errorf("metadata proxy: %w", err)
	}
	return nil
}

func (a *Agent) dhcpServer(networkID, iface string) *dhcp.Server {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.dhcp == nil {
		a.dhcp = map[string]*dhcp.Server{}
	}
	s := a.dhcp[networkID]
	if s == nil || s.Interface != iface {
		s = &dhcp.Server{Dir: filepath.Join(a.Config.DHCPDir, networkID), Namespace: dhcpNamespace(networkID), Interface: iface,
			Log: a.log()}
		a.dhcp[networkID] = s
	}
	return s
}

// stopDHCP ends a network's DHCP here: dnsmasq, the namespace (which
// takes the veth with it) and the veth's br-int port.
func (a *Agent) stopDHCP(ctx context.Context, networkID string) error {
	a.stopMetadata(networkID)
	// The namespace first: the directory, which Stop removes last, is
	// what brings a failed stop back at the next sync.
	if h, err := netns.GetFromName(dhcpNamespace(networkID)); err == nil {
		h.Close()
		if err := netns.DeleteNamed(dhcpNamespace(networkID)); err != nil {
			return err
		}
	}
	if err := a.dropStaleVeths(ctx, "otap"); err != nil {
		return err
	}
	if err := a.dhcpServer(networkID, "").Stop(ctx); err != nil {
		return err
	}
	a.mu.Lock()
	delete(a.dhcp, networkID)
	a.mu.Unlock()
	return nil
}

// plugVeth makes a veth whose end inNS sits in namespace nsName (created
// if missing) with mac, exactly addrs and mtu, and whose end onBridge
// stays in the agent's namespace for br-int. Transmit checksum offload is
// off on the namespace end: the userspace datapath reads the other end
// through a packet socket, which sees checksums the kernel left to the
// hardware.
func plugVeth(nsName, inNS, onBridge, mac string, addrs []netip.Prefix, mtu int) error {
	ns, err := nsutil.Ensure(nsName)
	if err != nil {
		return err
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return err
	}
	defer h.Close()
	if _, err := h.LinkByName(inNS); err != nil {
		if old, err := netlink.LinkByName(onBridge); err == nil {
			netlink.LinkDel(old) // half made by a killed agent
		}
		if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: onBridge, MTU: mtu}, PeerName: inNS}); err != nil {
			return fmt.Errorf("veth %s: %w", onBridge, err)
		}
		peer, err := netlink.LinkByName(inNS)
		if err != nil {
			return err
		}
		if err := netlink.LinkSetNsFd(peer, int(ns)); err != nil {
			return err
		}
	}
	link, err := h.LinkByName(inNS)
	if err != nil {
		return err
	}
	hw, err := net.ParseMAC(mac)
	if err != nil {
		return err
	}
	if link.Attrs().HardwareAddr.String() != hw.String() {
		if err := h.LinkSetHardwareAddr(link, hw); err != nil {
			return err
		}
	}
	if mtu > 0 && link.Attrs().MTU != mtu {
		if err := h.LinkSetMTU(link, mtu); err != nil {
			return err
		}
	}
	if err := exactAddrs(h, link, addrs); err != nil {
		return err
	}
	for _, l := range []string{inNS, "lo"} {
		if ln, err := h.LinkByName(l); err == nil && ln.Attrs().Flags&net.FlagUp == 0 {
			if err := h.LinkSetUp(ln); err != nil {
				return err
			}
		}
	}
	if out, err := exec.Command("ip", "netns", "exec", nsName, "ethtool", "-K", inNS, "tx", "off").CombinedOutput(); err != nil {
		return fmt.Errorf("ethtool %s: %v: %s", inNS, err, out)
	}
	bridgeEnd, err := netlink.LinkByName(onBridge)
	if err != nil {
		return err
	}
	if bridgeEnd.Attrs().Flags&net.FlagUp == 0 {
		return netlink.LinkSetUp(bridgeEnd)
	}
	return nil
}

// exactAddrs makes link's addresses exactly want (IPv6 link-local ones
// are the kernel's and stay).
func exactAddrs(h *netlink.Handle, link netlink.Link, want []netip.Prefix) error {
	have, err := h.AddrList(link, netlink.FAMILY_ALL)
	if err != nil {
		return err
	}
	left := slices.Clone(want)
	for _, a := range have {
		ip, _ := netip.AddrFromSlice(a.IP)
		ones, _ := a.Mask.Size()
		p := netip.PrefixFrom(ip.Unmap(), ones)
		if p.Addr().Is6() && p.Addr().IsLinkLocalUnicast() {
			continue
		}
		if i := slices.Index(left, p); i >= 0 {
			left = slices.Delete(left, i, i+1)
			continue
		}
		if err := h.AddrDel(link, &a); err != nil {
			return err
		}
	}
	for _, p := range left {
		addr, err := netlink.ParseAddr(p.String())
		if err != nil {
			return err
		}
		if err := h.AddrAdd(link, addr); err != nil && !errors.Is(err, unix.EEXIST) {
			return err
		}
	}
	return nil
}
