package server_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"strings"
	"time"

	"github.com/gostack/gostack/dns/server"
	"github.com/miekg/dns"
)

const exampleZone = `$ORIGIN example.com.
$TTL 3600
@    SOA ns1 hostmaster 1 7200 3600 1209600 300
@    NS  ns1
ns1  A   192.0.2.53
www  A   192.0.2.80
`

// Example serves one zone on loopback, asks it a question, then swaps in
// a new version of the zone without stopping.
func Example() {
	zone, err := server.ParseZone(strings.NewReader(exampleZone), "example.com.")
	if err != nil {
		log.Fatal(err)
	}
	zones, err := server.Build([]server.Zone{zone})
	if err != nil {
		log.Fatal(err)
	}
	var src server.Dynamic
	src.Set(zones)

	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- server.New(&src, server.Config{}).Serve(ctx, udp, nil) }()

	ask := func() {
		q := new(dns.Msg)
		q.SetQuestion("www.example.com.", dns.TypeA)
		r, _, err := (&dns.Client{Timeout: 2 * time.Second}).Exchange(q, udp.LocalAddr().String())
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(r.Answer[0])
	}
	ask()

	zone.Records = append(zone.Records, &dns.TXT{
		Hdr: dns.RR_Header{Name: "www.example.com.", Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 60},
		Txt: []string{"v2"},
	})
	// The index keeps the records it was built from: change copies.
	soa := dns.Copy(zone.Records[0]).(*dns.SOA)
	soa.Serial = 2
	zone.Records[0] = soa
	if zones, err = server.Build([]server.Zone{zone}); err != nil {
		log.Fatal(err)
	}
	src.Set(zones)
	serial, _ := src.Zones().Serial("example.com.")
	fmt.Println("serial", serial)
	ask()

	stop()
	if err := <-done; err != nil {
		log.Fatal(err)
	}
	// Output:
	// www.example.com.	3600	IN	A	192.0.2.80
	// serial 2
	// www.example.com.	3600	IN	A	192.0.2.80
}

// ExampleConfig sets up a primary for secondaries: transfers only with
// the TSIG key, and a NOTIFY to the secondary whenever Set brings a zone
// with a new serial.
func ExampleConfig() {
	key := server.Key{Name: "xfr.", Algorithm: dns.HmacSHA256, Secret: "aGVsbG8gd29ybGQgdGhpcyBpcyBhIHRzaWcga2V5IQ=="}
	var src server.Dynamic
	srv := server.New(&src, server.Config{
		Keys:     []server.Key{key},
		Transfer: []server.ACL{{Key: key.Name}},
		NotifyTargets: func(zone string) []server.Target {
			return []server.Target{{Addr: "192.0.2.2:53", Key: key.Name}}
		},
		Logf: log.Printf,
	})
	_ = srv // srv.Serve(ctx, udp, tcp) runs it
}

// ExampleZone_WriteTo exports a zone in master-file format.
func ExampleZone_WriteTo() {
	zone, err := server.ParseZone(strings.NewReader(exampleZone), "example.com.")
	if err != nil {
		log.Fatal(err)
	}
	var b strings.Builder
	if _, err := zone.WriteTo(&b); err != nil {
		log.Fatal(err)
	}
	fmt.Print(b.String())
	// Output:
	// $ORIGIN example.com.
	// example.com.	3600	IN	SOA	ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 300
	// example.com.	3600	IN	NS	ns1.example.com.
	// ns1.example.com.	3600	IN	A	192.0.2.53
	// www.example.com.	3600	IN	A	192.0.2.80
}
