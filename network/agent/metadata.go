package agent

import (
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gostack/gostack/network"
	"github.com/gostack/gostack/network/dhcp"
	"github.com/gostack/gostack/network/metadataproxy"
)

// metadataOn reports whether the DHCP namespaces serve the metadata
// service.
func (a *Agent) metadataOn() bool { return a.Config.MetadataURL != "" }

// metadataRoutes gives each IPv4 subnet a host route to 169.254.169.254
// through the DHCP port's address on it, as Neutron's DHCP agent does
// with force_metadata: the guests reach the proxy in the namespace
// whether or not the network has a router. A subnet whose host routes
// name the address already keeps its own.
func metadataRoutes(sub *dhcp.Subnet, port *network.Port) {
	if !sub.CIDR.Addr().Is4() {
		return
	}
	dst := netip.PrefixFrom(metadataproxy.Address, 32)
	for _, r := range sub.Routes {
		if r.Destination == dst {
			return
		}
	}
	for _, f := range port.FixedIPs {
		if f.SubnetID == sub.ID && f.IP.Is4() {
			sub.Routes = append(sub.Routes, dhcp.Route{Destination: dst, NextHop: f.IP})
			return
		}
	}
}

// metaProxy is a network's metadata proxy: its server in the DHCP
// namespace (which it keeps alive: ns is the namespace's inode, to
// listen again in a namespace made anew), and the addresses of the
// network's instances.
type metaProxy struct {
	srv  *metadataproxy.Server
	ns   uint64
	mu   sync.Mutex
	byIP map[netip.Addr]owner
}

type owner struct{ instance, project string }

func (m *metaProxy) instance(ip netip.Addr) (string, string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.byIP[ip]
	return o.instance, o.project, ok
}

// instancesOf are the addresses of svc's instances (ports of compute:
// owners with a device).
func instancesOf(svc network.DHCPService) map[netip.Addr]owner {
	byIP := map[netip.Addr]owner{}
	for _, h := range svc.Hosts {
		if !strings.HasPrefix(h.DeviceOwner, "compute:") || h.DeviceID == "" {
			continue
		}
		for _, f := range h.IPs {
			byIP[f.IP] = owner{h.DeviceID, h.ProjectID}
		}
	}
	return byIP
}

// metadataHosts gives the running proxy of svc's network, if any, the
// addresses of the network's instances now, before the DHCP service's
// own steps (which may fail): the proxy never names an instance by an
// address that has moved on to another.
func (a *Agent) metadataHosts(svc network.DHCPService) {
	a.mu.Lock()
	m := a.meta[svc.Network.ID]
	a.mu.Unlock()
	if m == nil {
		return
	}
	byIP := instancesOf(svc)
	m.mu.Lock()
	m.byIP = byIP
	m.mu.Unlock()
}

// nsInode is the inode of the named network namespace, 0 when it does
// not exist.
func nsInode(name string) uint64 {
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join("/run/netns", name), &st); err != nil {
		return 0
	}
	return st.Ino
}

// serveMetadata runs the metadata proxy of svc's network in its DHCP
// namespace (listening on 169.254.169.254:80, which serveDHCP put on the
// DHCP port's device) and gives it the instances' addresses. A proxy
// whose server ended, or whose namespace was made anew, listens again.
func (a *Agent) serveMetadata(svc network.DHCPService) error {
	name := dhcpNamespace(svc.Network.ID)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.meta == nil {
		a.meta = map[string]*metaProxy{}
	}
	m := a.meta[svc.Network.ID]
	if m != nil && (m.srv.Ended() || m.ns != nsInode(name)) {
		m.srv.Close()
		delete(a.meta, svc.Network.ID)
		m = nil
	}
	if m == nil {
		ino := nsInode(name)
		ln, err := metadataproxy.Listen(name, netip.AddrPortFrom(metadataproxy.Address, 80))
		if err != nil {
			return err
		}
		m = &metaProxy{ns: ino}
		c := &http.Client{Timeout: 30 * time.Second}
		if a.HTTP != nil {
			c.Transport = a.HTTP.Transport // the deployment's TLS settings
		}
		m.srv = metadataproxy.Serve(ln, &metadataproxy.Proxy{URL: a.Config.MetadataURL, Secret: a.Config.MetadataSecret,
			Instance: m.instance, Client: c, Log: a.log()})
		a.meta[svc.Network.ID] = m
	}
	byIP := instancesOf(svc)
	m.mu.Lock()
	m.byIP = byIP
	m.mu.Unlock()
	return nil
}

// stopMetadata stops the proxy of a network, if it runs.
func (a *Agent) stopMetadata(networkID string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if m := a.meta[networkID]; m != nil {
		m.srv.Close()
		delete(a.meta, networkID)
	}
}

// stopAllMetadata stops every proxy: the agent is ending (the namespaces
// stay, and the next run listens in them again).
func (a *Agent) stopAllMetadata() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for id, m := range a.meta {
		m.srv.Close()
		delete(a.meta, id)
	}
}
