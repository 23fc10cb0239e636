package dhcp

import (
	"context"
	"errors"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func ip(s string) netip.Addr    { return netip.MustParseAddr(s) }

var testParams = params{dir: "/run/gostack/dhcp/net1", iface: "tap-dhcp1", bin: "dnsmasq"}

// The files and the command line for a few Configs, against golden files
// (go test -run TestRender -update rewrites them).
func TestRender(t *testing.T) {
	subnetA := Subnet{
		ID: "aaaa-1", CIDR: pfx("10.20.0.0/24"), Gateway: ip("10.20.0.1"),
		DNS:    []netip.Addr{ip("192.0.2.53"), ip("192.0.2.54")},
		Routes: []Route{{Destination: pfx("172.16.0.0/16"), NextHop: ip("10.20.0.254")}},
		MTU:    1450, Lease: time.Hour,
	}
	for _, c := range []struct {
		name string
		cfg  Config
		p    params
	}{
		{"one-subnet", Config{
			Subnets: []Subnet{subnetA},
			Hosts: []Host{
				{PortID: "port-b", MAC: "FA:16:3E:00:00:02", IP: ip("10.20.0.11")},
				{PortID: "port-a", MAC: "fa:16:3e:00:00:01", Hostname: "vm1", IP: ip("10.20.0.10")},
				{MAC: "fa-16-3e-00-00-03", IP: ip("10.20.0.1")}, // the router's port, no id
			},
		}, testParams},
		// A second subnet without gateway, DNS or routes: an empty router
		// option, an on-link route to the first, and one to it in the first.
		{"two-subnets", Config{
			Subnets: []Subnet{{ID: "bbbb-2", CIDR: pfx("10.30.0.0/24")}, subnetA},
			Hosts: []Host{
				{PortID: "port-a", MAC: "fa:16:3e:00:00:01", Hostname: "vm1", IP: ip("10.20.0.10")},
				{PortID: "port-a", MAC: "fa:16:3e:00:00:01", Hostname: "vm1", IP: ip("10.30.0.10")},
			},
			Domain: "example.org.",
		}, params{dir: testParams.dir, iface: testParams.iface, bin: "/usr/sbin/dnsmasq", logFile: "/var/log/gostack/dnsmasq-net1.log"}},
		// A host route to 0.0.0.0/0 is the router when there is no
		// gateway, and is dropped when there is one; a negative lease is
		// infinite.
		{"default-route", Config{
			Subnets: []Subnet{
				{ID: "c", CIDR: pfx("10.40.0.0/24"), Lease: -1,
					Routes: []Route{{Destination: pfx("0.0.0.0/0"), NextHop: ip("10.40.0.254")}, {Destination: pfx("169.254.169.254/32"), NextHop: ip("10.40.0.2")}}},
				{ID: "d", CIDR: pfx("10.50.0.0/28"), Gateway: ip("10.50.0.1"),
					Routes: []Route{{Destination: pfx("0.0.0.0/0"), NextHop: ip("10.50.0.254")}}},
			},
		}, testParams},
	} {
		t.Run(c.name, func(t *testing.T) {
			pl, err := render(c.cfg, c.p)
			if err != nil {
				t.Fatal(err)
			}
			got := "# args\n" + strings.Join(pl.args, "\n") + "\n# host\n" + string(pl.host) +
				"# addn_hosts\n" + string(pl.addn) + "# opts\n" + string(pl.opts)
			golden := filepath.Join("testdata", c.name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("%s differs:\n%s", golden, got)
			}

			// The same Config in another order renders the same.
			rev := c.cfg
			rev.Subnets, rev.Hosts = slices.Clone(rev.Subnets), slices.Clone(rev.Hosts)
			slices.Reverse(rev.Subnets)
			slices.Reverse(rev.Hosts)
			pl2, err := render(rev, c.p)
			if err != nil {
				t.Fatal(err)
			}
			if pl2.digest != pl.digest || !slices.Equal(pl2.args, pl.args) {
				t.Error("reordered Config renders differently")
			}
		})
	}
}

// Each refused Config is an ErrInvalid naming the problem, and Apply
// changes nothing: not even Dir is created. No dnsmasq is needed.
func TestInvalid(t *testing.T) {
	sn := Subnet{ID: "s1", CIDR: pfx("10.20.0.0/24"), Gateway: ip("10.20.0.1")}
	host := func(mac, addr string) Host { return Host{PortID: "p-" + mac, MAC: mac, IP: ip(addr)} }
	for _, c := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no subnets", Config{}, "no subnets"},
		{"bad MAC", Config{Subnets: []Subnet{sn}, Hosts: []Host{host("fa:16:3e:00:01", "10.20.0.5")}}, `MAC "fa:16:3e:00:01" is not a 48-bit MAC`},
		{"multicast MAC", Config{Subnets: []Subnet{sn}, Hosts: []Host{host("01:00:5e:00:00:01", "10.20.0.5")}}, "not a unicast"},
		{"IP outside", Config{Subnets: []Subnet{sn}, Hosts: []Host{host("fa:16:3e:00:00:01", "10.21.0.5")}}, "IP 10.21.0.5 is in no subnet"},
		{"broadcast IP", Config{Subnets: []Subnet{sn}, Hosts: []Host{host("fa:16:3e:00:00:01", "10.20.0.255")}}, "network or broadcast"},
		{"duplicate IP", Config{Subnets: []Subnet{sn}, Hosts: []Host{host("fa:16:3e:00:00:01", "10.20.0.5"), host("fa:16:3e:00:00:02", "10.20.0.5")}}, "IP 10.20.0.5 is given to both"},
		{"duplicate MAC", Config{Subnets: []Subnet{sn}, Hosts: []Host{host("fa:16:3e:00:00:01", "10.20.0.5"), {PortID: "other", MAC: "FA:16:3E:00:00:01", IP: ip("10.20.0.6")}}}, "MAC fa:16:3e:00:00:01 is on two ports"},
		{"MAC twice in a subnet", Config{Subnets: []Subnet{sn}, Hosts: []Host{host("fa:16:3e:00:00:01", "10.20.0.5"), host("fa:16:3e:00:00:01", "10.20.0.6")}}, "two addresses in subnet"},
		{"duplicate hostname", Config{Subnets: []Subnet{sn}, Hosts: []Host{{PortID: "a", MAC: "fa:16:3e:00:00:01", IP: ip("10.20.0.5"), Hostname: "vm"}, {PortID: "b", MAC: "fa:16:3e:00:00:02", IP: ip("10.20.0.6"), Hostname: "VM"}}}, `hostname "VM" is on two ports`},
		{"hostname FQDN", Config{Subnets: []Subnet{sn}, Hosts: []Host{{MAC: "fa:16:3e:00:00:01", IP: ip("10.20.0.5"), Hostname: "vm.example.org"}}}, "not one DNS label"},
		{"hostname lease-like", Config{Subnets: []Subnet{sn}, Hosts: []Host{{MAC: "fa:16:3e:00:00:01", IP: ip("10.20.0.5"), Hostname: "3600s"}}}, "lease time or keyword"},
		{"IPv6 subnet", Config{Subnets: []Subnet{{ID: "v6", CIDR: pfx("2001:db8::/64")}}}, "not IPv4"},
		{"host bits", Config{Subnets: []Subnet{{ID: "s", CIDR: pfx("10.20.0.1/24")}}}, "host bits set"},
		{"overlap", Config{Subnets: []Subnet{sn, {ID: "s2", CIDR: pfx("10.20.0.128/25")}}}, "overlaps"},
		{"same id", Config{Subnets: []Subnet{sn, {ID: "s1", CIDR: pfx("10.30.0.0/24")}}}, "listed twice"},
		{"bad id", Config{Subnets: []Subnet{{ID: "a,b", CIDR: pfx("10.30.0.0/24")}}}, `subnet id "a,b"`},
		{"gateway outside", Config{Subnets: []Subnet{{ID: "s", CIDR: pfx("10.30.0.0/24"), Gateway: ip("10.31.0.1")}}}, "gateway 10.31.0.1"},
		{"short lease", Config{Subnets: []Subnet{{ID: "s", CIDR: pfx("10.30.0.0/24"), Lease: time.Minute}}}, "shorter than"},
		{"MTU", Config{Subnets: []Subnet{{ID: "s", CIDR: pfx("10.30.0.0/24"), MTU: 40}}}, "MTU 40"},
		{"route", Config{Subnets: []Subnet{{ID: "s", CIDR: pfx("10.30.0.0/24"), Routes: []Route{{Destination: pfx("10.0.0.0/8"), NextHop: ip("fe80::1")}}}}}, "not IPv4"},
		{"domain", Config{Subnets: []Subnet{sn}, Domain: "bad domain"}, "not a DNS name"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "net")
			s := &Server{Dir: dir, Interface: "eth0", Dnsmasq: "/nonexistent/dnsmasq"}
			err := s.Apply(context.Background(), c.cfg)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want ErrInvalid with %q", err, c.want)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("Dir created by a refused Apply: %v", err)
			}
		})
	}
}

// A Dir that dnsmasq, as user nobody, could not reach is refused before
// anything is written.
func TestPrivateDir(t *testing.T) {
	private := t.TempDir()
	if err := os.Chmod(private, 0o700); err != nil {
		t.Fatal(err)
	}
	s := &Server{Dir: filepath.Join(private, "net"), Interface: "eth0"}
	err := s.Apply(context.Background(), Config{Subnets: []Subnet{{ID: "s", CIDR: pfx("10.30.0.0/24")}}})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "not searchable by others") {
		t.Fatalf("got %v", err)
	}
	if _, err := os.Stat(s.Dir); !os.IsNotExist(err) {
		t.Errorf("Dir created: %v", err)
	}
}
