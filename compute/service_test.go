package compute_test

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/fault"
)

func TestServices(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newNovaEnv(t, eng.DSN)
			start := e.head(t)
			c1, err := e.s.ReportService(e.ctx, compute.NovaCompute, "h1", 66)
			if err != nil {
				t.Fatal(err)
			}
			if c1.ID != 1 || c1.UUID == "" || c1.Disabled || c1.ForcedDown || c1.Version != 66 || c1.ReportCount != 1 ||
				c1.Zone != compute.DefaultAvailabilityZone || !c1.LastSeenUp.Equal(e.now) {
				t.Fatalf("first report = %+v", c1)
			}
			// A heartbeat moves last_seen_up and does not go to the feed;
			// a new version does.
			e.now = e.now.Add(10 * time.Second)
			head := e.head(t)
			beat, err := e.s.ReportService(e.ctx, compute.NovaCompute, "h1", 66)
			if err != nil || beat.UUID != c1.UUID || beat.ReportCount != 2 || !beat.LastSeenUp.Equal(e.now) || e.head(t) != head {
				t.Fatalf("heartbeat = %+v, %v (feed head %d → %d)", beat, err, head, e.head(t))
			}
			if _, err := e.s.ReportService(e.ctx, compute.NovaCompute, "h1", 67); err != nil {
				t.Fatal(err)
			}
			c2, _ := e.s.ReportService(e.ctx, compute.NovaCompute, "h2", 67)
			sched, _ := e.s.ReportService(e.ctx, compute.NovaScheduler, "h1", 67)

			// Lists, filtered by binary and host.
			for _, tt := range []struct {
				binary, host string
				want         []int64
			}{{"", "", []int64{1, 2, 3}}, {compute.NovaCompute, "", []int64{1, 2}}, {"", "h1", []int64{1, 3}},
				{compute.NovaScheduler, "h1", []int64{3}}, {"nova-conductor", "", nil}} {
				svcs, err := e.s.Services(e.ctx, tt.binary, tt.host)
				var ids []int64
				for _, sv := range svcs {
					ids = append(ids, sv.ID)
				}
				if err != nil || svcs == nil || !slices.Equal(ids, tt.want) {
					t.Fatalf("Services(%q, %q) = %v, %v; want %v", tt.binary, tt.host, ids, err, tt.want)
				}
			}

			// PUT /os-services/{id}: disable with a reason, force down,
			// enable (which clears the reason).
			yes, no := true, false
			got, err := e.s.UpdateService(e.ctx, c2.UUID, compute.ServiceUpdate{Disabled: &yes, DisabledReason: novaStr("maintenance")})
			if err != nil || !got.Disabled || got.DisabledReason != "maintenance" || got.ForcedDown {
				t.Fatalf("disable = %+v, %v", got, err)
			}
			if got, err = e.s.UpdateService(e.ctx, c2.UUID, compute.ServiceUpdate{ForcedDown: &yes}); err != nil ||
				!got.ForcedDown || !got.Disabled || got.DisabledReason != "maintenance" {
				t.Fatalf("force down = %+v, %v", got, err)
			}
			if got, err = e.s.UpdateService(e.ctx, c2.UUID, compute.ServiceUpdate{Disabled: &no, ForcedDown: &no}); err != nil ||
				got.Disabled || got.DisabledReason != "" || got.ForcedDown {
				t.Fatalf("enable = %+v, %v", got, err)
			}
			if got, err = e.s.Service(e.ctx, c2.UUID); err != nil || got.Disabled || got.Host != "h2" {
				t.Fatalf("service = %+v, %v", got, err)
			}
			if err := e.s.DeleteService(e.ctx, sched.UUID); err != nil {
				t.Fatal(err)
			}
			want := []string{"service create", "service update", "service create", "service create", "service update",
				"service update", "service update", "service delete"}
			if got := e.changes(t, start); !slices.Equal(got, want) {
				t.Fatalf("feed:\n%q\nwant\n%q", got, want)
			}
		})
	}
}

func TestServiceRefusals(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newNovaEnv(t, eng.DSN)
			c1, _ := e.s.ReportService(e.ctx, compute.NovaCompute, "h1", 66)
			sched, _ := e.s.ReportService(e.ctx, compute.NovaScheduler, "ctl", 66)
			yes, no := true, false
			update := func(id string, u compute.ServiceUpdate) func() error {
				return func() error { _, err := e.s.UpdateService(e.ctx, id, u); return err }
			}
			e.refuses(t, []novaRefusal{
				{"no such service", update("nope", compute.ServiceUpdate{Disabled: &yes}),
					fault.NotFound, "ServiceNotFound", "Service nope could not be found."},
				{"not a compute service", update(sched.UUID, compute.ServiceUpdate{Disabled: &yes}),
					fault.BadRequest, "", "Updating a nova-scheduler service is not supported. Only nova-compute services can be updated."},
				{"enable with a reason", update(c1.UUID, compute.ServiceUpdate{Disabled: &no, DisabledReason: novaStr("why")}),
					fault.BadRequest, "", "Specifying 'disabled_reason' with status 'enabled' is invalid."},
				{"nothing to update", update(c1.UUID, compute.ServiceUpdate{DisabledReason: novaStr("why")}),
					fault.BadRequest, "", "No updates were requested. Fields 'status' or 'forced_down' should be specified."},
				{"empty reason", update(c1.UUID, compute.ServiceUpdate{Disabled: &yes, DisabledReason: novaStr("")}),
					fault.BadRequest, "ValidationError", "Invalid input for field/attribute disabled_reason. Value: . '' is too short"},
				{"long reason", update(c1.UUID, compute.ServiceUpdate{Disabled: &yes, DisabledReason: novaStr(strings.Repeat("r", 256))}),
					fault.BadRequest, "ValidationError", "Invalid input for field/attribute disabled_reason. Value: rrr…"},
				{"get of no service", func() error { _, err := e.s.Service(e.ctx, "nope"); return err },
					fault.NotFound, "ServiceNotFound", "Service nope could not be found."},
				{"delete of no service", func() error { return e.s.DeleteService(e.ctx, "nope") },
					fault.NotFound, "ServiceNotFound", "Service nope could not be found."},
				{"report without binary", func() error { _, err := e.s.ReportService(e.ctx, "", "h1", 1); return err },
					fault.BadRequest, "ValidationError", "Invalid input for field/attribute binary. Value: . '' is too short"},
				{"report with a bad host", func() error { _, err := e.s.ReportService(e.ctx, compute.NovaCompute, "h 1", 1); return err },
					fault.BadRequest, "ValidationError", "Invalid input for field/attribute host. Value: h 1. 'h 1' does not match '^[a-zA-Z0-9-._]*$'"},
			})
		})
	}
}

// Nova's servicegroup db driver: up within service_down_time of the last
// heartbeat, either way; forced down is down.
func TestServiceUp(t *testing.T) {
	beat := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		forcedDown bool
		now        time.Time
		downTime   time.Duration
		want       bool
	}{
		{"just reported", false, beat, 0, true},
		{"60 s later (default)", false, beat.Add(60 * time.Second), 0, true},
		{"61 s later (default)", false, beat.Add(61 * time.Second), 0, false},
		{"61 s later, 120 s down time", false, beat.Add(61 * time.Second), 2 * time.Minute, true},
		{"heartbeat 30 s ahead of the clock", false, beat.Add(-30 * time.Second), 0, true},
		{"heartbeat 90 s ahead of the clock", false, beat.Add(-90 * time.Second), 0, false},
		{"forced down", true, beat, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sv := compute.Service{LastSeenUp: beat, CreatedAt: beat.Add(-time.Hour), ForcedDown: tt.forcedDown}
			if got := sv.Up(tt.now, tt.downTime); got != tt.want {
				t.Fatalf("Up = %v, want %v", got, tt.want)
			}
		})
	}
	// Up on a stored service with the store's clock.
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newNovaEnv(t, eng.DSN)
			sv, _ := e.s.ReportService(e.ctx, compute.NovaCompute, "h1", 66)
			e.now = e.now.Add(2 * time.Minute)
			svcs, err := e.s.Services(e.ctx, "", "h1")
			if err != nil || len(svcs) != 1 || svcs[0].Up(e.now, 0) || !svcs[0].LastSeenUp.Equal(sv.LastSeenUp) {
				t.Fatalf("2 min without a report: %+v, %v", svcs, err)
			}
			if sv, _ = e.s.ReportService(e.ctx, compute.NovaCompute, "h1", 66); !sv.Up(e.now, 0) {
				t.Fatalf("after a report: %+v", sv)
			}
		})
	}
}

// A deleted compute service's host leaves its aggregates, in the feed.
func TestDeleteComputeService(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newNovaEnv(t, eng.DSN)
			e.computeHost(t, "h1", "h2")
			a := e.aggregate(t, "a", "az1", "h1", "h2")
			b := e.aggregate(t, "b", "", "h1")
			svcs, _ := e.s.Services(e.ctx, compute.NovaCompute, "h1")
			head := e.head(t)
			if err := e.s.DeleteService(e.ctx, svcs[0].UUID); err != nil {
				t.Fatal(err)
			}
			if got := e.changes(t, head); !slices.Equal(got, []string{"aggregate update", "aggregate update", "service delete"}) {
				t.Fatalf("feed: %q", got)
			}
			if got, _ := e.s.Aggregate(e.ctx, a.ID); !slices.Equal(got.Hosts, []string{"h2"}) {
				t.Fatalf("a's hosts: %v", got.Hosts)
			}
			if got, _ := e.s.Aggregate(e.ctx, b.ID); len(got.Hosts) != 0 {
				t.Fatalf("b's hosts: %v", got.Hosts)
			}
			if left, _ := e.s.Services(e.ctx, "", ""); len(left) != 1 || left[0].Host != "h2" {
				t.Fatalf("services left: %+v", left)
			}
			// Its next report makes it again, a new service.
			again, err := e.s.ReportService(e.ctx, compute.NovaCompute, "h1", 66)
			if err != nil || again.UUID == svcs[0].UUID || again.ID != 3 {
				t.Fatalf("report after delete = %+v, %v", again, err)
			}
		})
	}
}

// The first reports of one service, at once, make one row and no error.
func TestServiceFirstReportsRace(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newNovaEnv(t, eng.DSN)
			var wg sync.WaitGroup
			errs := make(chan error, 8)
			for range 8 {
				wg.Go(func() {
					_, err := e.s.ReportService(e.ctx, compute.NovaCompute, "h1", 66)
					errs <- err
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			svcs, err := e.s.Services(e.ctx, "", "")
			if err != nil || len(svcs) != 1 || svcs[0].ReportCount != 8 {
				t.Fatalf("services = %+v, %v", svcs, err)
			}
		})
	}
}
