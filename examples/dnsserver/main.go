// Command dnsserver serves a zone with dns/server on a UDP socket it
// opens itself, asks it questions with github.com/miekg/dns, then swaps
// in a new version of the zone without stopping the server.
//
//	cd examples && go run ./dnsserver
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/gostack/gostack/dns/server"
	"github.com/miekg/dns"
)

const zoneFile = `$ORIGIN example.com.
$TTL 3600
@     SOA  ns1 hostmaster 1 7200 3600 1209600 300
@     NS   ns1
@     MX   10 mail
ns1   A    192.0.2.53
mail  A    192.0.2.25
www   A    192.0.2.80
`

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "dnsserver:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer) error {
	zone, err := server.ParseZone(strings.NewReader(zoneFile), "example.com.")
	if err != nil {
		return err
	}
	zones, err := server.Build([]server.Zone{zone}) // checks and indexes
	if err != nil {
		return err
	}
	var src server.Dynamic // swapped whole, without a lock on the query path
	src.Set(zones)

	// The caller opens the listeners: :0 in tests, :53 in production.
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	ctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- server.New(&src, server.Config{}).Serve(ctx, udp, nil) }()

	err = talk(ctx, out, udp.LocalAddr().String(), &src, zone)
	stop() // Serve lets running queries finish and closes the socket
	if serr := <-served; err == nil {
		err = serr
	}
	return err
}

// talk asks the server at addr a few questions, then changes the zone.
func talk(ctx context.Context, out io.Writer, addr string, src *server.Dynamic, zone server.Zone) error {
	client := &dns.Client{Timeout: 2 * time.Second}
	ask := func(name string, qtype uint16) error {
		q := new(dns.Msg)
		q.SetQuestion(name, qtype)
		r, _, err := client.ExchangeContext(ctx, q, addr)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s %s: %s\n", name, dns.TypeToString[qtype], dns.RcodeToString[r.Rcode])
		for _, rr := range append(r.Answer, r.Extra...) {
			fmt.Fprintf(out, "  %s\n", rr)
		}
		return nil
	}
	questions := []struct {
		name  string
		qtype uint16
	}{
		{"www.example.com.", dns.TypeA},
		{"example.com.", dns.TypeMX}, // the mail server's address comes along
		{"ftp.example.com.", dns.TypeA},
		{"www.example.org.", dns.TypeA}, // not our zone
	}
	for _, q := range questions {
		if err := ask(q.name, q.qtype); err != nil {
			return err
		}
	}

	// A new version of the zone. The index keeps the records it was built
	// from: they must not change, so edit copies.
	zone.Records = append(zone.Records, &dns.A{
		Hdr: dns.RR_Header{Name: "ftp.example.com.", Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 300},
		A:   net.ParseIP("192.0.2.21"),
	})
	soa := dns.Copy(zone.Records[0]).(*dns.SOA)
	soa.Serial = 2
	zone.Records[0] = soa
	zones, err := server.Build([]server.Zone{zone})
	if err != nil {
		return err
	}
	src.Set(zones) // the next query is answered from the new zone
	return ask("ftp.example.com.", dns.TypeA)
}
