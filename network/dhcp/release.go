package dhcp

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// releaseStale releases the leases of hosts no longer served, as
// Neutron does after each change, so their addresses can go to new
// ports at once.
func (s *Server) releaseStale(dir string, hosts []Host) error {
	leases, err := readLeases(filepath.Join(dir, fileLeases))
	if err != nil {
		return fmt.Errorf("dhcp: %w", err)
	}
	stale := staleLeases(leases, hosts)
	if len(stale) == 0 {
		return nil
	}
	return inNamespace(s.Namespace, func() error {
		// The release goes to dnsmasq's own address, through lo, which a
		// new namespace has down.
		if lo, err := netlink.LinkByName("lo"); err == nil && lo.Attrs().Flags&net.FlagUp == 0 {
			if err := netlink.LinkSetUp(lo); err != nil {
				return fmt.Errorf("dhcp: release leases: set lo up: %w", err)
			}
		}
		ifc, err := net.InterfaceByName(s.Interface)
		if err != nil {
			return fmt.Errorf("dhcp: release leases: %w", err)
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			return fmt.Errorf("dhcp: release leases: %s: %w", s.Interface, err)
		}
		var errs []error
		for _, l := range stale {
			server, ok := serverAddr(addrs, l.ip)
			if !ok {
				continue // no longer a subnet here: dnsmasq serves it no more
			}
			if err := release(s.Interface, server, l); err != nil {
				errs = append(errs, fmt.Errorf("dhcp: release %s of %s: %w", l.ip, l.mac, err))
				continue
			}
			s.log().Info("dhcp: released stale lease", "dir", dir, "ip", l.ip, "mac", l.mac)
		}
		return errors.Join(errs...)
	})
}

// serverAddr is dnsmasq's address on the interface in ip's subnet.
func serverAddr(addrs []net.Addr, ip netip.Addr) (netip.Addr, bool) {
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		p, err := netip.ParsePrefix(n.String())
		if err == nil && p.Addr().Is4() && p.Contains(ip) {
			return p.Addr(), true
		}
	}
	return netip.Addr{}, false
}

// lease is one line of dnsmasq's leases file:
// "<expiry> <mac> <ip> <hostname|*> <client-id|*>".
type lease struct {
	mac      net.HardwareAddr
	ip       netip.Addr
	clientID []byte // nil for "*"
}

// readLeases parses dnsmasq's IPv4 leases; other lines are skipped.
func readLeases(path string) ([]lease, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var out []lease
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 5 {
			continue
		}
		mac, err1 := net.ParseMAC(f[1])
		ip, err2 := netip.ParseAddr(f[2])
		if err1 != nil || err2 != nil || !ip.Is4() || len(mac) != 6 {
			continue
		}
		l := lease{mac: mac, ip: ip}
		if f[4] != "*" {
			if id, err := hex.DecodeString(strings.ReplaceAll(f[4], ":", "")); err == nil {
				l.clientID = id
			}
		}
		out = append(out, l)
	}
	return out, sc.Err()
}

// staleLeases are the leases whose MAC and IP are no longer a Host of
// the Config: a deleted port, or a port that changed address. Until
// they are released dnsmasq keeps the address for the old MAC ("not using
// configured address ... because it is leased to ...") and a new port
// given that address gets none for a whole lease time.
func staleLeases(leases []lease, hosts []Host) []lease {
	want := map[string]bool{}
	for _, h := range hosts {
		want[h.MAC+" "+h.IP.String()] = true
	}
	var stale []lease
	for _, l := range leases {
		if !want[l.mac.String()+" "+l.ip.String()] {
			stale = append(stale, l)
		}
	}
	return stale
}

// release sends dnsmasq a DHCPRELEASE for l as its client would, which
// is what Neutron does with dnsmasq's dhcp_release tool: from a socket
// bound to iface to dnsmasq's own address on it (server), so dnsmasq
// takes it as arriving on iface.
func release(iface string, server netip.Addr, l lease) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.SetsockoptString(fd, unix.SOL_SOCKET, unix.SO_BINDTODEVICE, iface); err != nil {
		return fmt.Errorf("bind to %s: %w", iface, err)
	}
	return unix.Sendto(fd, releasePacket(server, l), 0, &unix.SockaddrInet4{Port: 67, Addr: server.As4()})
}

// releasePacket is a BOOTP DHCPRELEASE (RFC 2131): the client's address
// in ciaddr, its MAC in chaddr, the server identifier (54) and, when the
// lease has one, the client identifier (61) dnsmasq keys the lease by.
func releasePacket(server netip.Addr, l lease) []byte {
	p := make([]byte, 240, 300)
	p[0], p[1], p[2] = 1, 1, 6 // BOOTREQUEST, Ethernet, 6-byte MAC
	rand.Read(p[4:8])          // xid
	ci := l.ip.As4()
	copy(p[12:16], ci[:])
	copy(p[28:34], l.mac)
	binary.BigEndian.PutUint32(p[236:240], 0x63825363) // magic cookie
	sid := server.As4()
	p = append(p, 53, 1, 7) // DHCPRELEASE
	p = append(p, 54, 4)
	p = append(p, sid[:]...)
	if n := len(l.clientID); n > 0 && n < 256 {
		p = append(p, 61, byte(n))
		p = append(p, l.clientID...)
	}
	return append(p, 255)
}
