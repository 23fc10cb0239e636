package compute_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// novaEnv is a migrated compute Store for the Nova objects' tests, with
// a clock that only moves when told.
type novaEnv struct {
	s    *compute.Store
	feed *watch.Log
	ctx  context.Context
	now  time.Time
}

func newNovaEnv(t testing.TB, dsn string) *novaEnv {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx, watch.Migrations(), compute.Migrations()); err != nil {
		t.Fatal(err)
	}
	e := &novaEnv{feed: watch.New(db), ctx: ctx, now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	e.s = compute.NewStore(db, e.feed)
	e.s.Now = func() time.Time { return e.now }
	return e
}

// computeHost reports a nova-compute service on each host.
func (e *novaEnv) computeHost(t testing.TB, hosts ...string) {
	t.Helper()
	for _, h := range hosts {
		if _, err := e.s.ReportService(e.ctx, compute.NovaCompute, h, 66); err != nil {
			t.Fatal(err)
		}
	}
}

func (e *novaEnv) aggregate(t testing.TB, name, az string, hosts ...string) compute.Aggregate {
	t.Helper()
	a, err := e.s.CreateAggregate(e.ctx, name, az)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hosts {
		if a, err = e.s.AddAggregateHost(e.ctx, a.ID, h); err != nil {
			t.Fatal(err)
		}
	}
	return a
}

// changes are the feed's changes of the compute area after rev, as
// "kind op" lines.
func (e *novaEnv) changes(t testing.TB, since int64) []string {
	t.Helper()
	b, err := e.feed.Since(e.ctx, watch.Query{Area: "compute", Since: since})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range b.Changes {
		out = append(out, string(c.Kind)+" "+string(c.Op))
	}
	return out
}

func (e *novaEnv) head(t testing.TB) int64 {
	t.Helper()
	h, _, err := e.feed.Head(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// wantNova checks err is Nova's refusal: kind, exception class (or ""
// for a plain HTTP error) and message (a prefix when it ends in "…").
func wantNova(t *testing.T, err error, kind fault.Kind, typ, msg string) {
	t.Helper()
	var fe *fault.Error
	if !errors.As(err, &fe) || fe.Kind != kind || fe.Type != typ {
		t.Fatalf("got %v, want %s %q", err, kind, typ)
	}
	if p, ok := strings.CutSuffix(msg, "…"); ok && strings.HasPrefix(fe.Message, p) {
		return
	}
	if fe.Message != msg {
		t.Fatalf("message %q, want %q", fe.Message, msg)
	}
}

func novaStr(s string) *string { return &s }

func TestAggregates(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newNovaEnv(t, eng.DSN)
			e.computeHost(t, "h1", "h2")
			start := e.head(t)
			a1 := e.aggregate(t, "agg1", "az1", "h1")
			if a1.ID != 1 || a1.UUID == "" || a1.AvailabilityZone != "az1" || a1.Metadata["availability_zone"] != "az1" ||
				!slices.Equal(a1.Hosts, []string{"h1"}) || a1.UpdatedAt != nil || !a1.CreatedAt.Equal(e.now) {
				t.Fatalf("agg1 = %+v", a1)
			}
			a2 := e.aggregate(t, "agg2", "az2")
			a3 := e.aggregate(t, "plain", "", "h1") // no zone: no zone check
			if a3.AvailabilityZone != "" || len(a3.Metadata) != 0 {
				t.Fatalf("plain = %+v", a3)
			}

			// A zone set on an aggregate of h1 must be h1's zone.
			if _, err := e.s.SetAggregateMetadata(e.ctx, a3.ID, map[string]*string{"availability_zone": novaStr("az1")}); err != nil {
				t.Fatal(err)
			}
			// Metadata: set, then a null deletes and the rest stay.
			e.now = e.now.Add(time.Minute)
			got, err := e.s.SetAggregateMetadata(e.ctx, a2.ID, map[string]*string{"ssd": novaStr("true"), "gpu": novaStr("1")})
			if err != nil {
				t.Fatal(err)
			}
			got, err = e.s.SetAggregateMetadata(e.ctx, a2.ID, map[string]*string{"gpu": nil, "ssd": novaStr("false"), "absent": nil})
			if err != nil || fmt.Sprint(got.Metadata) != "map[availability_zone:az2 ssd:false]" || got.UpdatedAt == nil || !got.UpdatedAt.Equal(e.now) {
				t.Fatalf("metadata = %+v, %v", got, err)
			}
			// Rename (spaces stripped, as Nova's API strips them); the name
			// is free again once its aggregate is gone.
			got, err = e.s.UpdateAggregate(e.ctx, a2.ID, compute.AggregateUpdate{Name: novaStr("  second ")})
			if err != nil || got.Name != "second" || got.AvailabilityZone != "az2" {
				t.Fatalf("rename = %+v, %v", got, err)
			}
			got, err = e.s.UpdateAggregate(e.ctx, a2.ID, compute.AggregateUpdate{AvailabilityZone: novaStr("az3")})
			if err != nil || got.AvailabilityZone != "az3" || got.Metadata["availability_zone"] != "az3" {
				t.Fatalf("new zone = %+v, %v", got, err)
			}
			if _, err := e.s.AddAggregateHost(e.ctx, a2.ID, "h2"); err != nil {
				t.Fatal(err)
			}
			if got, err = e.s.RemoveAggregateHost(e.ctx, a2.ID, "h2"); err != nil || len(got.Hosts) != 0 {
				t.Fatalf("remove host = %+v, %v", got, err)
			}
			if err := e.s.DeleteAggregate(e.ctx, a2.ID); err != nil {
				t.Fatal(err)
			}
			// Nova's name pattern lets one final newline through (Python's
			// '$'), and normalize_name strips it.
			if again := e.aggregate(t, "second\n", ""); again.ID != 4 || again.Name != "second" {
				t.Fatalf("ids are not reused, or the name is not stripped: %+v", again)
			}
			all, err := e.s.Aggregates(e.ctx)
			if err != nil || len(all) != 3 || all[0].ID != 1 || all[1].ID != 3 || all[2].ID != 4 {
				t.Fatalf("aggregates = %+v, %v", all, err)
			}
			want := []string{"aggregate create", "aggregate update", "aggregate create", "aggregate create", "aggregate update",
				"aggregate update", "aggregate update", "aggregate update", "aggregate update", "aggregate update", "aggregate update",
				"aggregate update", "aggregate delete", "aggregate create"}
			if got := e.changes(t, start); !slices.Equal(got, want) {
				t.Fatalf("feed:\n%q\nwant\n%q", got, want)
			}
		})
	}
}

// novaRefusal is a call Nova refuses, with its kind, class and message.
type novaRefusal struct {
	name     string
	call     func() error
	kind     fault.Kind
	typ, msg string
}

// refuses runs each call, checks its refusal, and that none of them
// wrote to the feed.
func (e *novaEnv) refuses(t *testing.T, tests []novaRefusal) {
	t.Helper()
	head := e.head(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantNova(t, tt.call(), tt.kind, tt.typ, tt.msg) })
	}
	if h := e.head(t); h != head {
		t.Fatalf("refusals wrote to the feed: head %d → %d", head, h)
	}
}

// Every refusal of the aggregate calls, with Nova's class and message.
func TestAggregateRefusals(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newNovaEnv(t, eng.DSN)
			e.computeHost(t, "h1", "h2")
			a1 := e.aggregate(t, "agg1", "az1", "h1")
			a2 := e.aggregate(t, "agg2", "az2")
			a3 := e.aggregate(t, "plain", "", "h1", "h2")
			e.refuses(t, aggregateRefusals(e, a1, a2, a3))
			// Nothing changed.
			if got, err := e.s.Aggregate(e.ctx, a1.ID); err != nil || got.Name != "agg1" || got.AvailabilityZone != "az1" ||
				!slices.Equal(got.Hosts, []string{"h1"}) || len(got.Metadata) != 1 {
				t.Fatalf("agg1 after refusals = %+v, %v", got, err)
			}
		})
	}
}

// aggregateRefusals are the refused calls on agg1 (az1, h1), agg2 (az2)
// and plain (no zone, h1 and h2).
func aggregateRefusals(e *novaEnv, a1, a2, a3 compute.Aggregate) []novaRefusal {
	long := strings.Repeat("x", 256)
	return []novaRefusal{
		{"name taken", func() error { _, err := e.s.CreateAggregate(e.ctx, "agg1", ""); return err },
			fault.Conflict, "AggregateNameExists", "Aggregate agg1 already exists."},
		{"empty name", func() error { _, err := e.s.CreateAggregate(e.ctx, "", ""); return err },
			fault.BadRequest, "ValidationError", "Invalid input for field/attribute name. Value: . '' is too short"},
		{"long name", func() error { _, err := e.s.CreateAggregate(e.ctx, long, ""); return err },
			fault.BadRequest, "ValidationError", "Invalid input for field/attribute name. Value: xxx…"},
		{"name with a leading space", func() error { _, err := e.s.CreateAggregate(e.ctx, " x", ""); return err },
			fault.BadRequest, "ValidationError",
			"An invalid 'name' value was provided. The name must be: printable characters. Can not start or end with whitespace."},
		{"name with an emoji (Nova's printable characters stop at U+FFFF)", func() error {
			_, err := e.s.CreateAggregate(e.ctx, "a\U0001F600", "")
			return err
		}, fault.BadRequest, "ValidationError",
			"An invalid 'name' value was provided. The name must be: printable characters. Can not start or end with whitespace."},
		{"name with a control character", func() error { _, err := e.s.CreateAggregate(e.ctx, "a\x01b", ""); return err },
			fault.BadRequest, "ValidationError",
			"An invalid 'name' value was provided. The name must be: printable characters. Can not start or end with whitespace."},
		{"zone with a colon", func() error { _, err := e.s.CreateAggregate(e.ctx, "x", "a:b"); return err },
			fault.BadRequest, "ValidationError",
			"Invalid input for field/attribute availability_zone. Value: a:b. 'a:b' is not valid under any of the given schemas"},
		{"zone with a leading space", func() error { _, err := e.s.CreateAggregate(e.ctx, "x", " a"); return err },
			fault.BadRequest, "ValidationError",
			"Invalid input for field/attribute availability_zone. Value:  a. ' a' is not valid under any of the given schemas"},
		{"long zone", func() error { _, err := e.s.CreateAggregate(e.ctx, "x", long); return err },
			fault.BadRequest, "ValidationError", "Invalid input for field/attribute availability_zone. Value: xxx…"},
		{"rename to spaces only", func() error {
			_, err := e.s.UpdateAggregate(e.ctx, a2.ID, compute.AggregateUpdate{Name: novaStr("   ")})
			return err
		}, fault.BadRequest, "ValidationError",
			"An invalid 'name' value was provided. The name must be: printable characters with at least one non space character"},
		{"rename to an empty name", func() error {
			_, err := e.s.UpdateAggregate(e.ctx, a2.ID, compute.AggregateUpdate{Name: novaStr("")})
			return err
		}, fault.BadRequest, "ValidationError", "Invalid input for field/attribute name. Value: . '' is too short"},
		{"new zone with a colon", func() error {
			_, err := e.s.UpdateAggregate(e.ctx, a2.ID, compute.AggregateUpdate{AvailabilityZone: novaStr("a:b")})
			return err
		}, fault.BadRequest, "ValidationError",
			"Invalid input for field/attribute availability_zone. Value: a:b. 'a:b' is not valid under any of the given schemas"},
		{"no such aggregate", func() error { _, err := e.s.Aggregate(e.ctx, 99); return err },
			fault.NotFound, "AggregateNotFound", "Aggregate 99 could not be found."},
		{"host without compute service", func() error { _, err := e.s.AddAggregateHost(e.ctx, a1.ID, "h9"); return err },
			fault.NotFound, "ComputeHostNotFound", "Compute host h9 could not be found."},
		{"bad host name", func() error { _, err := e.s.AddAggregateHost(e.ctx, a1.ID, "h/1"); return err },
			fault.BadRequest, "ValidationError", "Invalid input for field/attribute host. Value: h/1. 'h/1' does not match '^[a-zA-Z0-9-._]*$'"},
		{"empty host name", func() error { _, err := e.s.AddAggregateHost(e.ctx, a1.ID, ""); return err },
			fault.BadRequest, "ValidationError", "Invalid input for field/attribute host. Value: . '' is too short"},
		{"host twice", func() error { _, err := e.s.AddAggregateHost(e.ctx, a1.ID, "h1"); return err },
			fault.Conflict, "AggregateHostExists", "Aggregate 1 already has host h1."},
		{"host in another zone", func() error { _, err := e.s.AddAggregateHost(e.ctx, a2.ID, "h1"); return err },
			fault.Conflict, "InvalidAggregateActionAdd",
			"Cannot add host to aggregate 2. Reason: One or more hosts already in availability zone(s) ['az1']."},
		{"host not there", func() error { _, err := e.s.RemoveAggregateHost(e.ctx, a1.ID, "h2"); return err },
			fault.NotFound, "AggregateHostNotFound", "Aggregate 1 has no host h2."},
		{"rename to a taken name", func() error {
			_, err := e.s.UpdateAggregate(e.ctx, a2.ID, compute.AggregateUpdate{Name: novaStr("agg1")})
			return err
		}, fault.Conflict, "AggregateNameExists", "Aggregate agg1 already exists."},
		{"update of nothing", func() error { _, err := e.s.UpdateAggregate(e.ctx, a2.ID, compute.AggregateUpdate{}); return err },
			fault.BadRequest, "ValidationError", "Invalid input for field/attribute aggregate. Value: {}. {} is not valid under any of the given schemas"},
		{"zone its hosts cannot take", func() error {
			_, err := e.s.UpdateAggregate(e.ctx, a3.ID, compute.AggregateUpdate{AvailabilityZone: novaStr("az9")})
			return err
		}, fault.BadRequest, "InvalidAggregateActionUpdate",
			"Cannot update aggregate 3. Reason: One or more hosts already in availability zone(s) ['az1']."},
		{"empty zone", func() error {
			_, err := e.s.UpdateAggregate(e.ctx, a1.ID, compute.AggregateUpdate{AvailabilityZone: novaStr("")})
			return err
		}, fault.BadRequest, "InvalidAggregateActionUpdate",
			"Cannot update aggregate 1. Reason: Aggregate agg1 does not support empty named availability zone."},
		{"zone metadata its hosts cannot take", func() error {
			_, err := e.s.SetAggregateMetadata(e.ctx, a3.ID, map[string]*string{"availability_zone": novaStr("az2")})
			return err
		}, fault.BadRequest, "InvalidAggregateActionUpdateMeta",
			"Cannot update metadata of aggregate 3. Reason: One or more hosts already in availability zone(s) ['az1']."},
		{"zone metadata removed", func() error {
			_, err := e.s.SetAggregateMetadata(e.ctx, a1.ID, map[string]*string{"availability_zone": nil})
			return err
		}, fault.BadRequest, "InvalidAggregateActionUpdateMeta",
			"Cannot update metadata of aggregate 1. Reason: Aggregate agg1 does not support empty named availability zone."},
		{"bad metadata key", func() error {
			_, err := e.s.SetAggregateMetadata(e.ctx, a1.ID, map[string]*string{"a/b": novaStr("1")})
			return err
		}, fault.BadRequest, "ValidationError",
			"Invalid input for field/attribute metadata. Value: {'a/b': '1'}. 'a/b' does not match any of the regexes: '^[a-zA-Z0-9-_:. ]{1,255}$'"},
		{"bad metadata keys", func() error {
			_, err := e.s.SetAggregateMetadata(e.ctx, a1.ID, map[string]*string{"a/b": novaStr("1"), "": nil, "ok": novaStr("2")})
			return err
		}, fault.BadRequest, "ValidationError",
			"Invalid input for field/attribute metadata. Value: {'': None, 'a/b': '1', 'ok': '2'}. '', 'a/b' do not match any of the regexes: '^[a-zA-Z0-9-_:. ]{1,255}$'"},
		{"long value before a bad key", func() error {
			_, err := e.s.SetAggregateMetadata(e.ctx, a1.ID, map[string]*string{"a/b": novaStr("1"), "k": &long})
			return err
		}, fault.BadRequest, "ValidationError", "Invalid input for field/attribute k. Value: xxx…"},
		{"long metadata value", func() error {
			_, err := e.s.SetAggregateMetadata(e.ctx, a1.ID, map[string]*string{"k": &long})
			return err
		}, fault.BadRequest, "ValidationError", "Invalid input for field/attribute k. Value: xxx…"},
		{"metadata of no aggregate", func() error {
			_, err := e.s.SetAggregateMetadata(e.ctx, 99, map[string]*string{"k": novaStr("v")})
			return err
		}, fault.NotFound, "AggregateNotFound", "Aggregate 99 could not be found."},
		{"delete with hosts", func() error { return e.s.DeleteAggregate(e.ctx, a1.ID) },
			fault.BadRequest, "InvalidAggregateActionDelete", "Cannot remove host from aggregate 1. Reason: Host aggregate is not empty."},
		{"delete of no aggregate", func() error { return e.s.DeleteAggregate(e.ctx, 99) },
			fault.NotFound, "AggregateNotFound", "Aggregate 99 could not be found."},
	}
}

// The scheduler's views: one host's aggregates, and every host's; and
// the zone of the services on those hosts.
func TestAggregatesByHost(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newNovaEnv(t, eng.DSN)
			e.computeHost(t, "h1", "h2", "h3")
			if _, err := e.s.ReportService(e.ctx, compute.NovaScheduler, "ctl", 66); err != nil {
				t.Fatal(err)
			}
			fast := e.aggregate(t, "fast", "", "h1", "h2")
			east := e.aggregate(t, "east", "az-east", "h2")
			if _, err := e.s.SetAggregateMetadata(e.ctx, fast.ID, map[string]*string{"ssd": novaStr("true")}); err != nil {
				t.Fatal(err)
			}
			ids := func(aggs []compute.Aggregate) []int64 {
				var out []int64
				for _, a := range aggs {
					out = append(out, a.ID)
				}
				return out
			}
			h2, err := e.s.HostAggregates(e.ctx, "h2")
			if err != nil || !slices.Equal(ids(h2), []int64{fast.ID, east.ID}) || h2[0].Metadata["ssd"] != "true" ||
				!slices.Equal(h2[0].Hosts, []string{"h1", "h2"}) {
				t.Fatalf("h2's aggregates = %+v, %v", h2, err)
			}
			if none, err := e.s.HostAggregates(e.ctx, "h3"); err != nil || none == nil || len(none) != 0 {
				t.Fatalf("h3's aggregates = %+v, %v", none, err)
			}
			byHost, err := e.s.AggregatesByHost(e.ctx)
			if err != nil || len(byHost) != 2 || !slices.Equal(ids(byHost["h1"]), []int64{fast.ID}) ||
				!slices.Equal(ids(byHost["h2"]), []int64{fast.ID, east.ID}) || byHost["h2"][1].AvailabilityZone != "az-east" {
				t.Fatalf("by host = %+v, %v", byHost, err)
			}
			svcs, err := e.s.Services(e.ctx, "", "")
			if err != nil {
				t.Fatal(err)
			}
			zones := map[string]string{}
			for _, sv := range svcs {
				zones[sv.Host] = sv.Zone
			}
			if fmt.Sprint(zones) != "map[ctl:internal h1:nova h2:az-east h3:nova]" {
				t.Fatalf("zones = %v", zones)
			}
		})
	}
}

// Parallel adds of one host to two aggregates of different zones: the
// host ends up in one zone, whoever wins.
func TestAggregateZoneRace(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newNovaEnv(t, eng.DSN)
			e.computeHost(t, "h1")
			aggs := []compute.Aggregate{e.aggregate(t, "a", "az-a"), e.aggregate(t, "b", "az-b")}
			var wg sync.WaitGroup
			var mu sync.Mutex
			results := map[string]int{}
			for i := range 8 {
				wg.Go(func() {
					_, err := e.s.AddAggregateHost(e.ctx, aggs[i%2].ID, "h1")
					what := "ok"
					if err != nil {
						what = fault.TypeOf(err)
						if what == "" {
							what = err.Error()
						}
					}
					mu.Lock()
					results[what]++
					mu.Unlock()
				})
			}
			wg.Wait()
			if results["ok"] != 1 || results["AggregateHostExists"] != 3 || results["InvalidAggregateActionAdd"] != 4 {
				t.Fatalf("results = %v", results)
			}
			byHost, err := e.s.AggregatesByHost(e.ctx)
			if err != nil || len(byHost["h1"]) != 1 {
				t.Fatalf("h1 is in %+v, %v", byHost["h1"], err)
			}
		})
	}
}
