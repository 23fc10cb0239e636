package api_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"runtime"
	"testing"

	"github.com/gostack/gostack/identity/middleware"
	"github.com/gostack/gostack/identity/middleware/middlewaretest"
	"github.com/gostack/gostack/internal/apitest"
	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
	"github.com/gostack/gostack/network"
	"github.com/gostack/gostack/network/api"
)

// BenchmarkCreatePort is `port create` through the API with IPAM (the
// next free address of a /16, a unique MAC, the feed entry) on each
// engine, by 1 and by 8 clients at once: creates/s.
func BenchmarkCreatePort(b *testing.B) {
	for _, eng := range testenv.Engines(b) {
		for _, clients := range []int{1, 8} {
			b.Run(fmt.Sprintf("%s/clients=%d", eng.Name, clients), func(b *testing.B) {
				c := benchAPI(b, eng.New(b))
				n := c.Must(b, 201, "POST", "/v2.0/networks", memberA, map[string]any{"network": map[string]any{"name": "n"}})["network"].(map[string]any)
				c.Must(b, 201, "POST", "/v2.0/subnets", memberA, map[string]any{"subnet": map[string]any{
					"network_id": n["id"], "cidr": "10.0.0.0/16", "ip_version": 4}})
				body := map[string]any{"port": map[string]any{"network_id": n["id"]}}
				b.ResetTimer()
				if clients == 1 {
					for range b.N {
						c.Must(b, 201, "POST", "/v2.0/ports", memberA, body)
					}
				} else {
					b.SetParallelism((clients + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							if r := c.Do(b, "POST", "/v2.0/ports", memberA, body); r.Code != 201 {
								b.Errorf("create: %s", r)
							}
						}
					})
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "creates/s")
			})
		}
	}
}

func benchAPI(b *testing.B, dsn string) *apitest.Client {
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx, watch.Migrations(), network.Migrations()); err != nil {
		b.Fatal(err)
	}
	enf, err := api.NewEnforcer()
	if err != nil {
		b.Fatal(err)
	}
	tokens := middlewaretest.Tokens{memberA: middlewaretest.Caller("alice", "proj-a", "member", "reader")}
	store := network.NewStore(db, watch.New(db))
	store.Quotas = map[string]int{network.QuotaPort: network.Unlimited} // b.N ports of one project
	h := (&api.API{Store: store, Policy: enf}).Handler()
	srv := httptest.NewServer((&middleware.Middleware{Validator: tokens, Style: httpapi.Neutron, Optional: true}).Wrap(h))
	b.Cleanup(srv.Close)
	return &apitest.Client{URL: srv.URL, NoRedirect: true}
}
