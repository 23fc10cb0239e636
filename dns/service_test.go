package dns_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gostack/gostack/dns"
	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/fault"
)

// Service statuses: a heartbeat makes one row per service and host and
// replaces it after; a row silent for MissedBeats intervals reads DOWN;
// heartbeats write nothing to the feed; filters and the unknown id.
func testServiceStatuses(t *testing.T, e *env) {
	rev, _, _ := e.feed.Head(e.ctx)
	first, err := e.s.Heartbeat(e.ctx, dns.ServiceStatus{ServiceName: "publisher", Hostname: "host1", Status: dns.ServiceUp,
		Stats: map[string]int64{"zones": 3}, Interval: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if first.ID == "" || first.Status != dns.ServiceUp || first.Stats["zones"] != 3 || !first.HeartbeatedAt.Equal(t0) {
		t.Fatalf("first heartbeat: %+v", first)
	}
	e.tick(10 * time.Second)
	again, err := e.s.Heartbeat(e.ctx, dns.ServiceStatus{ServiceName: "publisher", Hostname: "host1", Status: dns.ServiceWarning,
		Stats: map[string]int64{"zones": 4}, Interval: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != first.ID || again.Status != dns.ServiceWarning || again.Stats["zones"] != 4 || !again.CreatedAt.Equal(t0) ||
		!again.HeartbeatedAt.Equal(t0.Add(10*time.Second)) {
		t.Fatalf("second heartbeat: %+v", again)
	}
	if _, err := e.s.Heartbeat(e.ctx, dns.ServiceStatus{ServiceName: "api", Hostname: "host1", Status: dns.ServiceUp}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Heartbeat(e.ctx, dns.ServiceStatus{ServiceName: "api", Hostname: "host1", Status: "SLEEPY"}); err == nil {
		t.Error("a status Designate does not know was taken")
	}
	if kinds := feedKinds(t, e, rev); len(kinds) != 0 {
		t.Errorf("heartbeats in the feed: %v", kinds)
	}
	all, err := e.s.ListServiceStatuses(e.ctx, dns.ServiceStatusFilter{})
	if err != nil || len(all) != 2 || all[0].ServiceName != "api" || all[1].ServiceName != "publisher" {
		t.Fatalf("list: %+v %v", all, err)
	}
	// Silent for more than three intervals: DOWN, without a write.
	e.tick(30*time.Second + time.Microsecond)
	got, err := e.s.GetServiceStatus(e.ctx, first.ID)
	if err != nil || got.Status != dns.ServiceDown {
		t.Errorf("silent publisher: %+v %v", got, err)
	}
	down, _ := e.s.ListServiceStatuses(e.ctx, dns.ServiceStatusFilter{Status: dns.ServiceDown})
	if len(down) != 2 {
		t.Errorf("DOWN filter: %+v", down)
	}
	if got, _ := e.s.ListServiceStatuses(e.ctx, dns.ServiceStatusFilter{ServiceName: "api", Hostname: "host1"}); len(got) != 1 {
		t.Errorf("name and host filter: %+v", got)
	}
	_, err = e.s.GetServiceStatus(e.ctx, "0d4a7c9e-3c1f-4d2b-9a77-0f6b5f0e2a11")
	if fault.KindOf(err) != fault.NotFound || fault.TypeOf(err) != "service_status_not_found" {
		t.Errorf("unknown id: %v", err)
	}
}

// TestHeartbeater: the heartbeater reports what Check says at every
// interval and the service DOWN once it stops.
func TestHeartbeater(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newEnv(t, eng.DSN)
			e.s.Now = nil // real time: the heartbeater runs on its own clock
			var warn atomic.Bool
			var checks atomic.Int64
			h := &dns.Heartbeater{Store: e.s, Service: "dns-server", Host: "h1", Interval: 20 * time.Millisecond,
				Check: func(context.Context) (string, map[string]int64) {
					n := checks.Add(1)
					if warn.Load() {
						return dns.ServiceWarning, map[string]int64{"checks": n}
					}
					return dns.ServiceUp, map[string]int64{"checks": n}
				}}
			ctx, cancel := context.WithCancel(e.ctx)
			done := make(chan error)
			go func() { done <- h.Run(ctx) }()
			status := func() dns.ServiceStatus {
				sts, err := e.s.ListServiceStatuses(e.ctx, dns.ServiceStatusFilter{ServiceName: "dns-server"})
				if err != nil || len(sts) > 1 {
					t.Fatalf("statuses: %+v %v", sts, err)
				}
				if len(sts) == 0 {
					return dns.ServiceStatus{} // no heartbeat written yet
				}
				return sts[0]
			}
			waitFor(t, "UP", func() bool { return status().Status == dns.ServiceUp })
			warn.Store(true)
			waitFor(t, "WARNING", func() bool { return status().Status == dns.ServiceWarning })
			if st := status(); st.Stats["checks"] < 2 {
				t.Errorf("stats %v", st.Stats)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if st := status(); st.Status != dns.ServiceDown {
				t.Errorf("after stop: %s", st.Status)
			}
		})
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 5 s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
