package watchprom_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
	"github.com/gostack/gostack/kit/watch/watchprom"
)

// The feed reports its measurements to an Observer; Metrics is one that
// keeps them as Prometheus collectors on the caller's registry (serve it
// with promhttp).
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "watchprom-example")
	defer os.RemoveAll(dir)
	db, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(dir, "example.db"))
	if err != nil {
		panic(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx, watch.Migrations()); err != nil {
		panic(err)
	}

	reg := prometheus.NewRegistry()
	metrics, err := watchprom.New(reg)
	if err != nil {
		panic(err)
	}
	feed := watch.New(db, watch.WithObserver(metrics))

	for _, id := range []string{"z1", "z2", "z3"} {
		err := db.Tx(ctx, func(tx *sqlstore.Tx) error {
			_, err := feed.Append(ctx, tx, watch.Change{Area: "dns", Kind: "zone", ID: id, Op: watch.Create})
			return err
		})
		if err != nil {
			panic(err)
		}
	}
	if _, err := feed.Wait(ctx, watch.Query{Area: "dns"}, 0); err != nil { // delivers 3 changes
		panic(err)
	}
	if _, err := feed.Compact(ctx, 1); err != nil {
		panic(err)
	}

	families, err := reg.Gather()
	if err != nil {
		panic(err)
	}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			switch {
			case m.GetGauge() != nil:
				fmt.Println(f.GetName(), m.GetGauge().GetValue())
			case m.GetHistogram() != nil:
				fmt.Println(f.GetName(), m.GetLabel()[0].GetValue(), m.GetHistogram().GetSampleCount(), "observations")
			}
		}
	}
	// Output:
	// gostack_watch_compacted_revision 1
	// gostack_watch_delivery_seconds dns 3 observations
	// gostack_watch_head_revision 3
	// gostack_watch_waiters 0
}
