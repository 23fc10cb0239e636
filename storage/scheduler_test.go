package storage_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/storage"
)

func pool(host, az string, total, free float64) *storage.PoolState {
	return &storage.PoolState{Host: host, AvailabilityZone: az, TotalCapacityGB: storage.GB(total),
		FreeCapacityGB: storage.GB(free), MaxOverSubscriptionRatio: 1, Capabilities: map[string]any{}}
}

func hosts(ws []storage.Weighed) []string {
	var out []string
	for _, w := range ws {
		out = append(out, w.Pool.Host)
	}
	return out
}

func TestRank(t *testing.T) {
	a, b, c := pool("a", "az1", 100, 10), pool("b", "az1", 100, 60), pool("c", "az2", 100, 60)
	a.Capabilities = map[string]any{"volume_backend_name": "lvm", "storage_protocol": "iSCSI", "nested": map[string]any{"tier": "gold"},
		"modes": []any{"ro", "rw"}}
	b.Capabilities = map[string]any{"volume_backend_name": "lvm", "storage_protocol": "iSCSI", "nested": map[string]any{"tier": "silver"}}
	c.Capabilities = map[string]any{"volume_backend_name": "rbd"}
	s := storage.DefaultScheduler()
	typed := func(specs map[string]string) *storage.VolumeType {
		return &storage.VolumeType{Name: "t", ExtraSpecs: specs}
	}
	for _, tc := range []struct {
		name string
		req  storage.ScheduleRequest
		want []string
	}{
		{"most free first, ties as given", storage.ScheduleRequest{Size: 5}, []string{"b", "c", "a"}},
		{"zone", storage.ScheduleRequest{Size: 5, AvailabilityZones: []string{"az1"}}, []string{"b", "a"}},
		{"zones", storage.ScheduleRequest{Size: 5, AvailabilityZones: []string{"az2", "az1"}}, []string{"b", "c", "a"}},
		{"capacity", storage.ScheduleRequest{Size: 20}, []string{"b", "c"}},
		{"backend name", storage.ScheduleRequest{Size: 5, VolumeType: typed(map[string]string{"volume_backend_name": "lvm"})}, []string{"b", "a"}},
		{"capabilities scope", storage.ScheduleRequest{Size: 5, VolumeType: typed(map[string]string{"capabilities:storage_protocol": "<in> iSC"})}, []string{"b", "a"}},
		{"nested scope", storage.ScheduleRequest{Size: 5, VolumeType: typed(map[string]string{"capabilities:nested:tier": "<or> gold <or> bronze"})}, []string{"a"}},
		{"a list", storage.ScheduleRequest{Size: 5, VolumeType: typed(map[string]string{"modes": "rw"})}, []string{"a"}},
		{"other scopes are not the filter's", storage.ScheduleRequest{Size: 5, VolumeType: typed(map[string]string{"provisioning:type": "thick", "vendor:x": "1"})}, []string{"b", "c", "a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Rank(&tc.req, []*storage.PoolState{a, b, c})
			if err != nil || strings.Join(hosts(got), " ") != strings.Join(tc.want, " ") {
				t.Fatalf("%v %v, want %v", hosts(got), err, tc.want)
			}
		})
	}

	_, err := s.Rank(&storage.ScheduleRequest{Size: 70, VolumeType: typed(map[string]string{"volume_backend_name": "lvm"})}, []*storage.PoolState{a, b, c})
	var nvh *storage.NoValidBackend
	if !errors.As(err, &nvh) || err.Error() != "No valid backend was found. No weighed backends available" || fault.KindOf(err) != fault.Conflict {
		t.Fatalf("nothing fits: %v", err)
	}
	want := "AvailabilityZoneFilter (start: 3, end: 3)\nCapacityFilter (start: 3, end: 0)\n" +
		"  a: Insufficient free space for volume creation on host a (requested / avail): 70/10.0\n" +
		"  b: Insufficient free space for volume creation on host b (requested / avail): 70/60.0\n" +
		"  c: Insufficient free space for volume creation on host c (requested / avail): 70/60.0\n" +
		"CapabilitiesFilter (start: 0, end: 0)\n"
	if got := nvh.Explain(); got != want {
		t.Fatalf("explain:\n%s\nwant:\n%s", got, want)
	}

	// The allocated capacity weigher, by name from the registry.
	plugins := storage.BuiltinPlugins()
	a.AllocatedCapacityGB, b.AllocatedCapacityGB, c.AllocatedCapacityGB = 5, 50, 1
	byAllocation, err := plugins.Scheduler([]string{"CapacityFilter"}, []string{"AllocatedCapacityWeigher"})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := byAllocation.Rank(&storage.ScheduleRequest{Size: 1}, []*storage.PoolState{a, b, c}); strings.Join(hosts(got), " ") != "c a b" {
		t.Fatalf("least allocated first: %v", hosts(got))
	}
	plugins.Weighers["CapacityWeigher"] = storage.CapacityWeigher{WeightMultiplier: -1}
	stack, _ := plugins.Scheduler(nil, []string{"CapacityWeigher"})
	if got, _ := stack.Rank(&storage.ScheduleRequest{Size: 1}, []*storage.PoolState{a, b, c}); strings.Join(hosts(got), " ") != "a b c" {
		t.Fatalf("stacking: %v", hosts(got))
	}
	if _, err := plugins.Scheduler([]string{"NopeFilter"}, nil); err == nil || !strings.Contains(err.Error(), `no scheduler filter "NopeFilter"`) {
		t.Fatalf("unknown filter: %v", err)
	}
	if _, err := plugins.Scheduler(nil, []string{"NopeWeigher"}); err == nil {
		t.Fatal("unknown weigher taken")
	}
}

func TestCapacityWeigherInfinite(t *testing.T) {
	inf := &storage.PoolState{Host: "inf", TotalCapacityGB: storage.CapacityInfinite, FreeCapacityGB: storage.CapacityInfinite}
	a, b := pool("a", "", 100, 10), pool("b", "", 100, 60)
	req := &storage.ScheduleRequest{Size: 1}
	// Spreading: an infinite pool weighs least.
	got, _ := (&storage.Scheduler{Weighers: []storage.BackendWeigher{storage.CapacityWeigher{WeightMultiplier: 1}}}).Rank(req, []*storage.PoolState{inf, a, b})
	if strings.Join(hosts(got), " ") != "b a inf" {
		t.Fatalf("spreading: %v", hosts(got))
	}
	// Stacking: it weighs as the largest finite one plus 100 times the
	// spread, so it still comes last.
	w := storage.CapacityWeigher{WeightMultiplier: -1}.Weigh(req, []*storage.PoolState{inf, a, b})
	if w[0] != 60+50*100 || w[1] != 10 || w[2] != 60 {
		t.Fatalf("stacking weights %v", w)
	}
	if w := (storage.CapacityWeigher{WeightMultiplier: -1}).Weigh(req, []*storage.PoolState{inf, a, a}); w[0] != 10+10000 {
		t.Fatalf("no spread: %v", w)
	}
}

func TestCapacityJSON(t *testing.T) {
	for _, c := range []struct {
		c    storage.Capacity
		json string
	}{{storage.GB(1.5), "1.5"}, {storage.CapacityInfinite, `"infinite"`}, {storage.CapacityUnknown, `"unknown"`}, {storage.Capacity{}, "null"}} {
		b, err := c.c.MarshalJSON()
		if err != nil || string(b) != c.json {
			t.Fatalf("%v: %s %v", c.c, b, err)
		}
		var back storage.Capacity
		if err := back.UnmarshalJSON(b); err != nil || back != c.c {
			t.Fatalf("%s: %v %v", b, back, err)
		}
	}
	var c storage.Capacity
	for _, bad := range []string{`"lots"`, `true`, `{}`} {
		if err := c.UnmarshalJSON([]byte(bad)); err == nil {
			t.Fatalf("%s taken", bad)
		}
	}
	if storage.GB(2).String() != "2.0" || (storage.Capacity{}).String() != "None" || storage.CapacityUnknown.String() != "unknown" {
		t.Fatal("strings")
	}
}
