package publish_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/gostack/gostack/dns"
	"github.com/gostack/gostack/dns/publish"
	"github.com/gostack/gostack/dns/server"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// A zone written to the store is served by a DNS server through the
// publisher, which then sees the server answer with the zone's serial and
// marks the zone ACTIVE. Run does what Sync does here, and again at every
// change in the feed, and bumps serials every BumpInterval.
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir, _ := os.MkdirTemp("", "publish-example")
	defer os.RemoveAll(dir)
	db, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(dir, "gostack.db"))
	if err != nil {
		panic(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx, watch.Migrations(), dns.Migrations()); err != nil {
		panic(err)
	}
	feed := watch.New(db)
	zones := dns.NewStore(db, feed)
	zones.Now = func() time.Time { return time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC) }
	if _, err := zones.EnsureDefaultPool(ctx, []string{"ns1.example.net."}); err != nil {
		panic(err)
	}
	zone, err := zones.CreateZone(ctx, dns.Zone{ProjectID: "p1", Name: "example.org.", Email: "hostmaster@example.org", TTL: 600})
	if err != nil {
		panic(err)
	}
	if _, err := zones.BumpSerials(ctx); err != nil { // what Run's loop does every second
		panic(err)
	}

	// The DNS server, on a socket the caller opened.
	var target server.Dynamic
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	served := make(chan error, 1)
	go func() { served <- server.New(&target, server.Config{}).Serve(ctx, udp, nil) }()
	addr := udp.LocalAddr().String()

	p := &publish.Publisher{Store: zones, Feed: feed, Target: &target, Servers: []string{addr}, BumpInterval: -1}
	if _, err := p.Sync(ctx); err != nil {
		panic(err)
	}
	fmt.Println("serving", target.Zones().Names())
	serial, err := publish.SOASerial(addr, "example.org.")
	fmt.Println("serial", serial, err)

	// The publisher polls the servers in the background.
	owner := dns.Viewer{Project: "p1"}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if zone, err = zones.GetZone(ctx, owner, zone.ID); err != nil || zone.Status == dns.Active {
			break
		}
	}
	fmt.Println(zone.Name, zone.Status, zone.Serial == serial)

	cancel()
	if err := <-served; err != nil {
		panic(err)
	}
	// Output:
	// serving [example.org.]
	// serial 1748779200 <nil>
	// example.org. ACTIVE true
}
