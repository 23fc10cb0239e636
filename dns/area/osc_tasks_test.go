package area_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/gostack/gostack/dns/server"
)

// primary serves one zone from a dns/server on loopback, as a zone's
// master would: anyone may transfer it, and it sends no NOTIFY. set
// replaces the zone.
func primary(t *testing.T, zone string) (addr string, set func(serial uint32, www string)) {
	t.Helper()
	var src server.Dynamic
	set = func(serial uint32, www string) {
		t.Helper()
		text := fmt.Sprintf("$ORIGIN %s\n$TTL 300\n@ SOA ns1.master.example. hostmaster 1 3600 3600 600 60\n@ NS ns1.master.example.\nwww A %s\n",
			zone, www)
		text = strings.Replace(text, " 1 3600", fmt.Sprintf(" %d 3600", serial), 1)
		z, err := server.ParseZone(strings.NewReader(text), zone)
		if err != nil {
			t.Fatal(err)
		}
		idx, err := server.Build([]server.Zone{z})
		if err != nil {
			t.Fatal(err)
		}
		src.Set(idx)
	}
	set(1, "192.0.2.1")
	// UDP and TCP on one port: the kernel's free UDP port may be taken
	// for TCP (another test's connection), so try again then.
	var pc net.PacketConn
	var l net.Listener
	for try := 0; l == nil; try++ {
		var err error
		if pc, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		if l, err = net.Listen("tcp", pc.LocalAddr().String()); err != nil {
			pc.Close()
			if try == 20 {
				t.Fatalf("no port free for both UDP and TCP: %v", err)
			}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		server.New(&src, server.Config{Transfer: []server.ACL{{}}}).Serve(ctx, pc, l)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return pc.LocalAddr().String(), set
}

// The client proof for the zone tasks `openstack zone axfr` and
// `openstack zone abandon`. A SECONDARY zone whose master sends no NOTIFY
// and has an hour's SOA refresh gets the master's new serial once its
// owner runs `zone axfr`; `zone axfr` of a PRIMARY zone is refused with
// Designate's message. `zone abandon` is refused to the owner (admins
// only) and an admin's removes the zone at once: no longer listed, and
// no longer answered for by the DNS server.
func TestOpenStackZoneAbandonAndAXFR(t *testing.T) {
	c := newCloud(t)
	alice, _ := c.user("alice")
	master, set := primary(t, "sec.example.org.")

	var zone map[string]any
	c.json(&zone, alice, "zone", "create", "sec.example.org.", "--type", "SECONDARY", "--masters", master)
	www := func() string {
		r := c.dig("www.sec.example.org.", mdns.TypeA)
		if len(r.Answer) != 1 {
			return ""
		}
		return r.Answer[0].(*mdns.A).A.String()
	}
	eventually(t, "the secondary zone transferred in", func() bool { return www() == "192.0.2.1" })
	set(2, "192.0.2.2")
	time.Sleep(1500 * time.Millisecond)
	if got := www(); got != "192.0.2.1" {
		t.Fatalf("the master's change served before any axfr (refresh is an hour): %s", got)
	}
	c.must(alice, "zone", "axfr", "sec.example.org.")
	start := time.Now()
	eventually(t, "the master's change served after zone axfr", func() bool { return www() == "192.0.2.2" })
	t.Logf("served %v after openstack zone axfr returned", time.Since(start).Round(time.Millisecond))
	eventually(t, "the zone ACTIVE at serial 2", func() bool {
		c.json(&zone, alice, "zone", "show", "sec.example.org.")
		return zone["status"] == "ACTIVE" && zone["serial"] == float64(2)
	})

	c.must(alice, "zone", "create", "gone.example.org.", "--email", "h@example.org")
	eventually(t, "the primary zone served", func() bool { return c.dig("gone.example.org.", mdns.TypeSOA).Rcode == mdns.RcodeSuccess })
	if out, err := c.run(alice, "zone", "axfr", "gone.example.org."); err == nil || !strings.Contains(out, "Can't XFR a non Secondary zone.") {
		t.Fatalf("zone axfr of a primary zone: %v %s", err, out)
	}
	if out, err := c.run(alice, "zone", "abandon", "gone.example.org."); err == nil || !strings.Contains(out, "not authorized to perform the requested action: abandon_zone") {
		t.Fatalf("a member abandons a zone: %v %s", err, out)
	}
	c.json(&zone, alice, "zone", "show", "gone.example.org.")
	c.must(nil, "zone", "abandon", zone["id"].(string), "--all-projects")
	var zones []map[string]any
	c.json(&zones, alice, "zone", "list") // PRIMARY zones, the CLI's default
	if len(zones) != 0 {
		t.Fatalf("alice's primary zones after the abandon: %v", zones)
	}
	c.json(&zones, alice, "zone", "list", "--type", "SECONDARY")
	if len(zones) != 1 || zones[0]["name"] != "sec.example.org." {
		t.Fatalf("alice's secondary zones after the abandon: %v", zones)
	}
	eventually(t, "the abandoned zone no longer answered for", func() bool {
		r := c.dig("gone.example.org.", mdns.TypeSOA)
		return r.Rcode == mdns.RcodeRefused || !r.Authoritative
	})
}
