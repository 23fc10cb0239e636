package dhcp

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	defaultDomain = "openstacklocal"
	defaultLease  = 24 * time.Hour
	minLease      = 2 * time.Minute // dnsmasq raises anything shorter to this
	leaseMax      = 1 << 24         // --dhcp-lease-max, Neutron's default; dnsmasq's own is 1000
)

// params is what of the Server the command line needs.
type params struct {
	dir, iface, bin, logFile string
}

// plan is dnsmasq's input for one Config: its three files and its
// command line (args[0] is the binary).
type plan struct {
	host, addn, opts []byte
	digest           string // of the three files
	args             []string
	pidFile          string
	hosts            []Host // normalized
}

var (
	// idRe keeps subnet and port ids safe inside dnsmasq's comma
	// separated tags.
	idRe    = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)
	labelRe = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)
	// dnsmasq reads a dhcp-host field like these as a lease time.
	leaseLikeRe = regexp.MustCompile(`^[0-9]+[smhdw]?$`)
)

// render validates cfg and writes dnsmasq's files and command line for
// it. Subnets are sorted by ID and hosts by IP, so the same Config in
// any order gives the same bytes.
func render(cfg Config, p params) (*plan, error) {
	subnets, hosts, domain, err := normalize(cfg)
	if err != nil {
		return nil, err
	}
	var host, addn, opts bytes.Buffer
	for _, h := range hosts {
		// No set:port-<id> tag, though Neutron writes one for ports with
		// extra options: dnsmasq (2.86 to 2.90 at least) crashes on SIGHUP
		// when a host with a set: tag in the hosts file has a lease.
		fmt.Fprintf(&host, "%s,%s,%s\n", h.MAC, h.Hostname, h.IP)
		fmt.Fprintf(&addn, "%s\t%s.%s %s\n", h.IP, h.Hostname, domain, h.Hostname)
	}
	for _, sn := range subnets {
		writeOpts(&opts, sn, subnets, domain)
	}
	file := func(name string) string { return filepath.Join(p.dir, name) }
	args := []string{p.bin,
		"--conf-file=/dev/null",
		"--no-hosts",
		"--no-resolv",
		"--port=0",
		"--pid-file=" + file(filePid),
		"--dhcp-hostsfile=" + file(fileHost),
		"--addn-hosts=" + file(fileAddn),
		"--dhcp-optsfile=" + file(fileOpts),
		"--dhcp-leasefile=" + file(fileLeases),
		"--dhcp-authoritative",
		"--dhcp-lease-max=" + strconv.Itoa(leaseMax),
		"--bind-interfaces",
		"--interface=" + p.iface,
		"--except-interface=lo",
	}
	for _, sn := range subnets {
		args = append(args, fmt.Sprintf("--dhcp-range=set:subnet-%s,%s,static,%s,%s",
			sn.ID, sn.CIDR.Addr(), mask(sn.CIDR), leaseArg(sn.Lease)))
	}
	// MTU is forced, as Neutron does: clients that do not ask for option
	// 26 (Windows) get it too. Forced options cannot live in the opts
	// file, so an MTU change is a restart.
	for _, sn := range subnets {
		if sn.MTU > 0 {
			args = append(args, fmt.Sprintf("--dhcp-option-force=tag:subnet-%s,option:mtu,%d", sn.ID, sn.MTU))
		}
	}
	if p.logFile != "" {
		args = append(args, "--log-facility="+p.logFile)
	}
	sum := sha256.New()
	for _, b := range [][]byte{host.Bytes(), addn.Bytes(), opts.Bytes()} {
		fmt.Fprintf(sum, "%d\n", len(b))
		sum.Write(b)
	}
	return &plan{host: host.Bytes(), addn: addn.Bytes(), opts: opts.Bytes(),
		digest: hex.EncodeToString(sum.Sum(nil)), args: args, pidFile: file(filePid), hosts: hosts}, nil
}

// writeOpts writes one subnet's options, tagged with it.
func writeOpts(b *bytes.Buffer, sn Subnet, all []Subnet, domain string) {
	tag := "tag:subnet-" + sn.ID
	gw, routes := routesOf(sn, all)
	if gw.IsValid() {
		fmt.Fprintf(b, "%s,option:router,%s\n", tag, gw)
	} else {
		// Empty, or dnsmasq offers its own address as the router.
		fmt.Fprintf(b, "%s,option:router\n", tag)
	}
	if len(sn.DNS) > 0 {
		fmt.Fprintf(b, "%s,option:dns-server,%s\n", tag, joinAddrs(sn.DNS))
	}
	fmt.Fprintf(b, "%s,option:domain-name,%s\n", tag, domain)
	if len(routes) > 0 {
		var list []string
		for _, r := range routes {
			list = append(list, r.Destination.String(), r.NextHop.String())
		}
		fmt.Fprintf(b, "%s,option:classless-static-route,%s\n", tag, strings.Join(list, ","))
		fmt.Fprintf(b, "%s,249,%s\n", tag, strings.Join(list, ","))
	}
}

// routesOf is the router and the classless static routes of sn: on-link
// routes to the network's other subnets (as Neutron tells its clients),
// the host routes, and, when there are any, the default route through
// the gateway last. A host route to 0.0.0.0/0 is the gateway when sn has
// none and is dropped otherwise.
func routesOf(sn Subnet, all []Subnet) (netip.Addr, []Route) {
	gw := sn.Gateway
	var routes []Route
	for _, o := range all {
		if o.ID != sn.ID {
			routes = append(routes, Route{Destination: o.CIDR, NextHop: netip.IPv4Unspecified()})
		}
	}
	for _, r := range sn.Routes {
		if r.Destination.Bits() == 0 {
			if !gw.IsValid() && !r.NextHop.IsUnspecified() {
				gw = r.NextHop
			}
			continue
		}
		routes = append(routes, r)
	}
	if len(routes) > 0 && gw.IsValid() {
		routes = append(routes, Route{Destination: netip.PrefixFrom(netip.IPv4Unspecified(), 0), NextHop: gw})
	}
	return gw, routes
}

// normalize checks cfg and returns its subnets sorted by ID (Lease
// defaulted), its hosts sorted by IP (MAC lower case, Hostname
// defaulted) and the domain. All problems are reported, joined.
func normalize(cfg Config) ([]Subnet, []Host, string, error) {
	var errs []error
	bad := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, a...)...))
	}
	domain := strings.TrimSuffix(cfg.Domain, ".")
	if domain == "" {
		domain = defaultDomain
	}
	if !validDomain(domain) {
		bad("domain %q is not a DNS name", cfg.Domain)
	}
	if len(cfg.Subnets) == 0 {
		bad("no subnets")
	}
	subnets := slices.Clone(cfg.Subnets)
	slices.SortFunc(subnets, func(a, b Subnet) int { return cmp.Compare(a.ID, b.ID) })
	for i := range subnets {
		sn := &subnets[i]
		checkSubnet(sn, bad)
		if i > 0 && subnets[i-1].ID == sn.ID {
			bad("subnet %q: listed twice", sn.ID)
		}
		for _, o := range subnets[:i] {
			if o.ID != sn.ID && sn.CIDR.IsValid() && o.CIDR.IsValid() && sn.CIDR.Overlaps(o.CIDR) {
				bad("subnet %q: %s overlaps subnet %q (%s)", sn.ID, sn.CIDR, o.ID, o.CIDR)
			}
		}
	}
	if len(errs) == 0 {
		for _, sn := range subnets {
			_, routes := routesOf(sn, subnets)
			size := 0
			for _, r := range routes {
				size += 1 + (r.Destination.Bits()+7)/8 + 4
			}
			if size > 255 {
				bad("subnet %q: its %d classless static routes take %d bytes, more than one DHCP option holds (255)", sn.ID, len(routes), size)
			}
		}
	}
	hosts := slices.Clone(cfg.Hosts)
	for i := range hosts {
		checkHost(&hosts[i], subnets, bad)
	}
	checkDuplicates(hosts, subnets, bad)
	slices.SortFunc(hosts, func(a, b Host) int {
		return cmp.Or(a.IP.Compare(b.IP), cmp.Compare(a.MAC, b.MAC))
	})
	if len(errs) > 0 {
		return nil, nil, "", errors.Join(errs...)
	}
	return subnets, hosts, domain, nil
}

func checkSubnet(sn *Subnet, bad func(string, ...any)) {
	if !idRe.MatchString(sn.ID) {
		bad("subnet id %q: want letters, digits, '.', '_' or '-'", sn.ID)
	}
	p := sn.CIDR
	switch {
	case !p.IsValid() || !p.Addr().Is4():
		bad("subnet %q: CIDR %s is not IPv4 (IPv6 is not served)", sn.ID, p)
		return
	case p.Masked() != p:
		bad("subnet %q: CIDR %s has host bits set (want %s)", sn.ID, p, p.Masked())
	case p.Bits() > 30:
		bad("subnet %q: CIDR %s has no room for hosts", sn.ID, p)
	}
	if g := sn.Gateway; g.IsValid() && !usable(p, g) {
		bad("subnet %q: gateway %s is not a host address of %s", sn.ID, g, p)
	}
	for _, d := range sn.DNS {
		if !d.Is4() || d.IsUnspecified() {
			bad("subnet %q: DNS server %s is not an IPv4 address", sn.ID, d)
		}
	}
	for _, r := range sn.Routes {
		switch {
		case !r.Destination.IsValid() || !r.Destination.Addr().Is4():
			bad("subnet %q: route destination %s is not IPv4", sn.ID, r.Destination)
		case r.Destination.Masked() != r.Destination:
			bad("subnet %q: route destination %s has host bits set", sn.ID, r.Destination)
		case !r.NextHop.Is4():
			bad("subnet %q: route to %s: next hop %s is not IPv4", sn.ID, r.Destination, r.NextHop)
		}
	}
	if sn.MTU != 0 && (sn.MTU < 68 || sn.MTU > 65535) {
		bad("subnet %q: MTU %d is not between 68 and 65535", sn.ID, sn.MTU)
	}
	switch {
	case sn.Lease == 0:
		sn.Lease = defaultLease
	case sn.Lease > 0 && sn.Lease < minLease:
		bad("subnet %q: lease %s is shorter than dnsmasq's minimum, %s", sn.ID, sn.Lease, minLease)
	}
}

func checkHost(h *Host, subnets []Subnet, bad func(string, ...any)) {
	name := fmt.Sprintf("host %s/%s", h.PortID, h.IP)
	if h.PortID != "" && !idRe.MatchString(h.PortID) {
		bad("%s: port id %q: want letters, digits, '.', '_' or '-'", name, h.PortID)
	}
	mac, err := net.ParseMAC(h.MAC)
	switch {
	case err != nil || len(mac) != 6:
		bad("%s: MAC %q is not a 48-bit MAC address", name, h.MAC)
	case mac[0]&1 != 0 || bytes.Equal(mac, make([]byte, 6)):
		bad("%s: MAC %s is not a unicast address", name, mac)
	default:
		h.MAC = mac.String()
	}
	if !h.IP.Is4() {
		bad("%s: IP %s is not IPv4", name, h.IP)
		return
	}
	if sn, ok := subnetOf(h.IP, subnets); !ok {
		bad("%s: IP %s is in no subnet", name, h.IP)
	} else if !usable(sn.CIDR, h.IP) {
		bad("%s: IP %s is the network or broadcast address of subnet %q", name, h.IP, sn.ID)
	}
	if h.Hostname == "" {
		h.Hostname = "host-" + strings.ReplaceAll(h.IP.String(), ".", "-")
	}
	switch lower := strings.ToLower(h.Hostname); {
	case !labelRe.MatchString(h.Hostname):
		bad("%s: hostname %q is not one DNS label", name, h.Hostname)
	case leaseLikeRe.MatchString(lower) || lower == "infinite" || lower == "ignore":
		bad("%s: hostname %q would be read by dnsmasq as a lease time or keyword", name, h.Hostname)
	}
}

// checkDuplicates refuses an IP twice, a MAC on two ports or twice in
// one subnet, and a hostname on two ports.
func checkDuplicates(hosts []Host, subnets []Subnet, bad func(string, ...any)) {
	ips := map[netip.Addr]Host{}
	macPort := map[string]string{}
	macSubnet := map[[2]string]bool{}
	names := map[string]string{}
	for _, h := range hosts {
		if o, dup := ips[h.IP]; dup && h.IP.IsValid() {
			bad("IP %s is given to both %s and %s", h.IP, o.MAC, h.MAC)
			continue // and so would be its default hostname
		}
		ips[h.IP] = h
		if port, seen := macPort[h.MAC]; seen && port != h.PortID {
			bad("MAC %s is on two ports, %q and %q", h.MAC, port, h.PortID)
		}
		macPort[h.MAC] = h.PortID
		if sn, ok := subnetOf(h.IP, subnets); ok {
			key := [2]string{h.MAC, sn.ID}
			if macSubnet[key] {
				bad("MAC %s has two addresses in subnet %q", h.MAC, sn.ID)
			}
			macSubnet[key] = true
		}
		lower := strings.ToLower(h.Hostname)
		if port, seen := names[lower]; seen && port != h.PortID {
			bad("hostname %q is on two ports, %q and %q", h.Hostname, port, h.PortID)
		}
		names[lower] = h.PortID
	}
}

func subnetOf(ip netip.Addr, subnets []Subnet) (Subnet, bool) {
	for _, sn := range subnets {
		if sn.CIDR.IsValid() && sn.CIDR.Contains(ip) {
			return sn, true
		}
	}
	return Subnet{}, false
}

// usable reports whether ip is in p and is neither its network nor its
// broadcast address.
func usable(p netip.Prefix, ip netip.Addr) bool {
	if !ip.Is4() || !p.Contains(ip) {
		return false
	}
	return ip != p.Addr() && ip != broadcast(p)
}

func broadcast(p netip.Prefix) netip.Addr {
	a := p.Addr().As4()
	for i := p.Bits(); i < 32; i++ {
		a[i/8] |= 0x80 >> (i % 8)
	}
	return netip.AddrFrom4(a)
}

func mask(p netip.Prefix) string {
	return net.IP(net.CIDRMask(p.Bits(), 32)).String()
}

func leaseArg(d time.Duration) string {
	if d < 0 {
		return "infinite"
	}
	return strconv.FormatInt(int64(d/time.Second), 10) + "s"
}

func joinAddrs(as []netip.Addr) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, ",")
}

func validDomain(d string) bool {
	if len(d) > 253 {
		return false
	}
	for _, l := range strings.Split(d, ".") {
		if !labelRe.MatchString(l) {
			return false
		}
	}
	return true
}
