package scheduler

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"
)

// BenchmarkSchedule places one instance with the default filters and
// weighers on synthetic clusters, reporting the p99 decision time
// besides ns/op. "all" scores every host, as Nova does; "adaptive" is
// the default share.
func BenchmarkSchedule(b *testing.B) {
	for _, n := range []int{1000, 10000, 50000} {
		hosts := synthHosts(n, 1)
		for _, mode := range []struct {
			name string
			pct  int
		}{{"adaptive", 0}, {"all", 100}} {
			b.Run(fmt.Sprintf("hosts=%d/%s", n, mode.name), func(b *testing.B) {
				s := newTestScheduler(b, func(c *Config) { c.PercentageOfHostsToScore = mode.pct })
				benchSchedule(b, s, hosts, &Request{InstanceUUIDs: []string{"i-1"}, Flavor: smallFlavor()})
			})
		}
	}
}

// BenchmarkScheduleGroup is a three-instance anti-affinity request with
// capabilities extra specs: more filters, consumption between instances.
func BenchmarkScheduleGroup(b *testing.B) {
	hosts := synthHosts(10000, 1)
	s := newTestScheduler(b, nil)
	f := smallFlavor()
	f.ExtraSpecs = map[string]string{"capabilities:hypervisor_version": ">= 7000000", "hw:cpu_policy": "shared"}
	benchSchedule(b, s, hosts, &Request{InstanceUUIDs: []string{"i-1", "i-2", "i-3"}, Flavor: f,
		Group: &Group{Policy: AntiAffinity, Members: []string{"m-0", "m-1", "i-1", "i-2", "i-3"}}})
}

func benchSchedule(b *testing.B, s *Scheduler, hosts []*Host, req *Request) {
	ctx := context.Background()
	var lat []time.Duration
	b.ReportAllocs()
	for b.Loop() {
		t0 := time.Now()
		if _, err := s.Schedule(ctx, hosts, req); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
