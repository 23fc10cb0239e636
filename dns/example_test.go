package dns_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gostack/gostack/dns"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// A zone from creation to what the DNS server serves: create it, add a
// recordset, let the serial batch run, and turn the zone into records.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "dns-example")
	defer os.RemoveAll(dir)
	db, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(dir, "gostack.db"))
	if err != nil {
		panic(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx, watch.Migrations(), dns.Migrations()); err != nil {
		panic(err)
	}
	s := dns.NewStore(db, watch.New(db))
	s.Now = func() time.Time { return time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC) }

	// At start, a daemon gives the default pool its nameservers.
	if _, err := s.EnsureDefaultPool(ctx, []string{"ns1.example.net.", "ns2.example.net."}); err != nil {
		panic(err)
	}
	// What the API does for POST /v2/zones and POST /v2/zones/{id}/recordsets.
	zone, err := s.CreateZone(ctx, dns.Zone{ProjectID: "p1", Name: "example.org.", Email: "hostmaster@example.org", TTL: 600})
	if err != nil {
		panic(err)
	}
	owner := dns.Viewer{Project: "p1"}
	if _, err := s.CreateRecordSet(ctx, owner, zone.ID, dns.RecordSet{Name: "www.example.org.", Type: "A", Records: []string{"192.0.2.10"}}); err != nil {
		panic(err)
	}
	// Another project does not see the zone.
	_, err = s.GetZone(ctx, dns.Viewer{Project: "p2"}, zone.ID)
	fmt.Println("p2:", err)

	// A controller's periodic task: bump the serials of changed zones.
	bumped, _ := s.BumpSerials(ctx)
	fmt.Println("bumped:", len(bumped), bumped[0].Serial-zone.Serial)

	// The DNS server's view.
	served, _ := s.ServedZones(ctx)
	rrs, _ := served[0].RRs()
	for _, rr := range rrs {
		fmt.Println(rr)
	}
	// Once every nameserver answers with the new serial:
	z, _ := s.MarkActive(ctx, zone.ID, bumped[0].Serial)
	fmt.Println(z.Status, z.Action)
	// Output:
	// p2: Could not find Zone
	// bumped: 1 1
	// example.org.	600	IN	SOA	ns1.example.net. hostmaster.example.org. 1748779201 3600 600 86400 3600
	// example.org.	600	IN	NS	ns1.example.net.
	// example.org.	600	IN	NS	ns2.example.net.
	// www.example.org.	600	IN	A	192.0.2.10
	// ACTIVE NONE
}
