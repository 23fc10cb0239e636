package watch_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/watch"
)

// BenchmarkAppend measures feed writes: one transaction, one change.
func BenchmarkAppend(b *testing.B) {
	for _, e := range testenv.Engines(b) {
		b.Run(e.Name, func(b *testing.B) {
			db, l := openLog(b, e.DSN)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				appendOne(b, db, l, "a", fmt.Sprint(i))
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
		})
	}
}

// BenchmarkAppendParallel measures feed writes from concurrent writers.
func BenchmarkAppendParallel(b *testing.B) {
	for _, e := range testenv.Engines(b) {
		b.Run(e.Name, func(b *testing.B) {
			db, l := openLog(b, e.DSN)
			b.SetParallelism(4)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for i := 0; pb.Next(); i++ {
					appendOne(b, db, l, "a", fmt.Sprint(i))
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
		})
	}
}

// BenchmarkDelivery measures commit-to-delivery latency: a watcher is
// blocked in Wait; one op is an append plus the watcher receiving it.
// "local" wakes in-process; "remote" (PostgreSQL only) is a watcher on a
// separate pool woken by LISTEN/NOTIFY, as in another controller.
func BenchmarkDelivery(b *testing.B) {
	for _, e := range testenv.Engines(b) {
		modes := []string{"local"}
		if e.Name == "postgres" {
			modes = append(modes, "remote")
		}
		for _, mode := range modes {
			b.Run(e.Name+"/"+mode, func(b *testing.B) { benchDelivery(b, e.DSN, mode) })
		}
	}
}

func benchDelivery(b *testing.B, dsn, mode string) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db, writer := openLog(b, dsn, watch.WithPollInterval(never))
	watcher := writer
	if mode == "remote" {
		_, watcher = openLog(b, dsn, watch.WithPollInterval(never))
		go watcher.Run(ctx, watch.Retention{}, 0, nil)
		time.Sleep(200 * time.Millisecond) // let LISTEN start
	}
	got := make(chan time.Time, 1)
	go func() {
		var since int64
		for ctx.Err() == nil {
			batch, err := watcher.Wait(ctx, watch.Query{Since: since}, time.Minute)
			if err != nil || len(batch.Changes) == 0 {
				continue
			}
			since = batch.Revision
			got <- time.Now()
		}
	}()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		appendOne(b, db, writer, "a", fmt.Sprint(i))
		lat = append(lat, (<-got).Sub(start))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
