package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gostack/gostack/compute/placement"
)

// threeHosts are a (most free), b, c (least free).
func threeHosts() []*Host {
	return []*Host{
		testHost("a", 16, 65536, 500),
		testHost("b", 16, 32768, 500),
		testHost("c", 16, 16384, 500),
	}
}

// When the best host's reservation fails (another scheduler won the
// race), the next best is tried, as Nova walks its sorted hosts.
func TestReserveFailureMovesOn(t *testing.T) {
	r := newFakeReserver("a")
	s := newTestScheduler(t, nil, r)
	res, err := s.Schedule(context.Background(), threeHosts(), &Request{InstanceUUIDs: []string{"i-1"}, Flavor: smallFlavor()})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Placements[0].Host.Name; got != "b" {
		t.Errorf("placed on %s, want b", got)
	}
	if want := []string{"reserve 0 a", "reserve 0 b"}; !slices.Equal(r.log, want) {
		t.Errorf("reservations %q, want %q", r.log, want)
	}
}

func TestReserveFailsEverywhere(t *testing.T) {
	r := newFakeReserver("a", "b", "c")
	s := newTestScheduler(t, nil, r)
	_, err := s.Schedule(context.Background(), threeHosts(), &Request{Flavor: smallFlavor()})
	var nvh *NoValidHost
	if !errors.As(err, &nvh) || !errors.Is(err, ErrNoValidHost) {
		t.Fatalf("got %v, want a *NoValidHost", err)
	}
	if nvh.ReserveFailed != 3 || !strings.Contains(err.Error(), "reservation failed on all 3 hosts") {
		t.Errorf("got %v (%d failed)", err, nvh.ReserveFailed)
	}
	if !strings.Contains(nvh.Explain(), "a: placement: consumer generation conflict on a") {
		t.Errorf("explanation lacks the reserve error:\n%s", nvh.Explain())
	}
}

// A second Reserver failing undoes the first one's reservation on that
// host before the next host is tried.
func TestReserversUndoEachOther(t *testing.T) {
	first, second := newFakeReserver(), newFakeReserver("a")
	s := newTestScheduler(t, nil, first, second)
	if _, err := s.Schedule(context.Background(), threeHosts(), &Request{Flavor: smallFlavor()}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"reserve 0 a", "unreserve 0 a", "reserve 0 b"}; !slices.Equal(first.log, want) {
		t.Errorf("first reserver %q, want %q", first.log, want)
	}
}

// Multi-create consumes from private copies: the caller's hosts do not
// change, and a host fills up.
func TestMultiCreateConsumes(t *testing.T) {
	hosts := []*Host{testHost("a", 16, 8704, 500), testHost("b", 16, 8704, 500)}
	before, _ := json.Marshal(hosts)
	r := newFakeReserver()
	s := newTestScheduler(t, nil, r)
	flavor := Flavor{Name: "big", VCPUs: 2, MemoryMB: 4096, RootGB: 10}
	res, err := s.Schedule(context.Background(), hosts, &Request{MaxCount: 4, Flavor: flavor})
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, p := range res.Placements {
		count[p.Host.Name]++
		if p.Host != hosts[0] && p.Host != hosts[1] {
			t.Error("a placement's host is not one of the caller's hosts")
		}
	}
	if count["a"] != 2 || count["b"] != 2 {
		t.Errorf("placements %v, want two on each", count)
	}
	after, _ := json.Marshal(hosts)
	if string(before) != string(after) {
		t.Error("the caller's hosts changed")
	}
}

// All or nothing below min_count: every reservation is undone, last
// first; above it, what was placed is returned with the shortfall.
func TestMinCount(t *testing.T) {
	hosts := func() []*Host { return []*Host{testHost("a", 16, 8704, 500), testHost("b", 16, 4608, 500)} }
	flavor := Flavor{Name: "big", VCPUs: 2, MemoryMB: 4096}
	r := newFakeReserver()
	s := newTestScheduler(t, nil, r)
	_, err := s.Schedule(context.Background(), hosts(), &Request{MaxCount: 4, MinCount: 4, Flavor: flavor})
	var nvh *NoValidHost
	if !errors.As(err, &nvh) || nvh.Placed != 3 || nvh.MinCount != 4 {
		t.Fatalf("got %v, want 3 placed below min_count 4", err)
	}
	if len(r.reserved) != 0 {
		t.Errorf("reservations left: %v", r.reserved)
	}
	if !strings.Contains(err.Error(), "only 3 of 4 instances could be placed, min_count is 4") {
		t.Errorf("error %q does not say so", err)
	}
	res, err := s.Schedule(context.Background(), hosts(), &Request{MaxCount: 4, MinCount: 2, Flavor: flavor})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Placements) != 3 || res.Shortfall == nil || res.Shortfall.Instance != 3 {
		t.Errorf("got %d placements, shortfall %v", len(res.Placements), res.Shortfall)
	}
}

// Anti-affinity sees the instances this request already placed.
func TestMultiCreateAntiAffinity(t *testing.T) {
	s := newTestScheduler(t, nil)
	req := &Request{InstanceUUIDs: []string{"i-1", "i-2", "i-3"}, Flavor: smallFlavor(),
		Group: &Group{UUID: "g", Policy: AntiAffinity, Members: []string{"i-1", "i-2", "i-3"}}}
	res, err := s.Schedule(context.Background(), threeHosts(), req)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range res.Placements {
		got = append(got, p.Host.Name)
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("placed on %v, want one each", got)
	}
	req.InstanceUUIDs = append(req.InstanceUUIDs, "i-4")
	if _, err := s.Schedule(context.Background(), threeHosts(), req); !errors.Is(err, ErrNoValidHost) {
		t.Errorf("a fourth instance on three hosts: %v", err)
	}
}

// Alternates: max_attempts-1 hosts that no instance was placed on.
func TestAlternates(t *testing.T) {
	hosts := append(threeHosts(), testHost("d", 16, 8192, 500), testHost("e", 16, 4096, 500))
	s := newTestScheduler(t, nil)
	res, err := s.Schedule(context.Background(), hosts, &Request{MaxCount: 2, Flavor: smallFlavor(), Alternates: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range res.Placements {
		if len(p.Alternates) != 2 {
			t.Fatalf("%d alternates, want 2", len(p.Alternates))
		}
		for _, a := range p.Alternates {
			for _, q := range res.Placements {
				if a == q.Host {
					t.Errorf("alternate %s is a chosen host", a.Name)
				}
			}
		}
	}
}

// Filtering in parallel gives what filtering on one goroutine gives,
// with the adaptive share and with every host, for requests that pass
// and that fail.
func TestParallelMatchesSequential(t *testing.T) {
	hosts := synthHosts(6000, 42)
	reqs := []*Request{
		{MaxCount: 3, Flavor: smallFlavor()},
		{MaxCount: 2, Flavor: Flavor{Name: "big", VCPUs: 8, MemoryMB: 65536, RootGB: 100}, AvailabilityZone: "az1"},
		{InstanceUUIDs: []string{"x", "y"}, Flavor: smallFlavor(),
			Group: &Group{Policy: AntiAffinity, Members: []string{"m-0", "m-1", "m-2"}}},
		{Flavor: Flavor{Name: "huge", VCPUs: 512, MemoryMB: 1 << 30}},
	}
	for _, pct := range []int{0, 100} {
		var runs []string
		for _, par := range []int{1, 2, 8} {
			s := newTestScheduler(t, func(c *Config) {
				c.Parallelism, c.PercentageOfHostsToScore, c.HostSubsetSize = par, pct, 3
			})
			var b strings.Builder
			for _, req := range reqs {
				res, err := s.Schedule(context.Background(), hosts, req)
				if err != nil {
					fmt.Fprintf(&b, "error %v\n", err)
					continue
				}
				for _, p := range res.Placements {
					fmt.Fprintf(&b, "%s %.12f\n", p.Host.Name, p.Weight)
				}
			}
			runs = append(runs, b.String())
		}
		for i := 1; i < len(runs); i++ {
			if runs[i] != runs[0] {
				t.Errorf("percentage %d: parallel run %d differs:\n%s\nvs\n%s", pct, i, runs[i], runs[0])
			}
		}
	}
}

func TestHostsToFind(t *testing.T) {
	cfg := DefaultConfig()
	for n, want := range map[int]int{10: 10, 100: 100, 1000: 420, 5000: 500, 10000: 500, 50000: 2500} {
		if got := cfg.hostsToFind(n); got != want {
			t.Errorf("%d hosts: %d, want %d", n, got, want)
		}
	}
	cfg.PercentageOfHostsToScore = 30
	if got := cfg.hostsToFind(1000); got != 300 {
		t.Errorf("30%% of 1000: %d", got)
	}
}

// On a large cluster a scan stops early and the next request starts
// where it stopped.
func TestScanRotates(t *testing.T) {
	hosts := synthHosts(10000, 1)
	s := newTestScheduler(t, nil)
	req := &Request{Flavor: smallFlavor()}
	c, err := s.begin(context.Background(), hosts, req)
	if err != nil {
		t.Fatal(err)
	}
	start := c.off
	if _, nvh, err := c.feasible(context.Background(), 0); err != nil || nvh != nil {
		t.Fatal(err, nvh)
	}
	if c.scanned >= len(hosts)/2 || c.scanned < 500 {
		t.Errorf("scanned %d of %d hosts to find 500", c.scanned, len(hosts))
	}
	c.finish()
	c2, _ := s.begin(context.Background(), hosts, req)
	if want := (start + c.scanned) % len(hosts); c2.off != want {
		t.Errorf("next scan starts at %d, want %d", c2.off, want)
	}
}

// Affinity narrows to the group's hosts, so a partial scan cannot miss
// them on a large cluster.
func TestAffinityFindsItsHostInALargeCluster(t *testing.T) {
	hosts := synthHosts(10000, 3)
	last := hosts[len(hosts)-1]
	last.Up, last.Disabled = true, false
	last.use(placement.MemoryMB, 0)
	s := newTestScheduler(t, nil)
	res, err := s.Schedule(context.Background(), hosts, &Request{Flavor: smallFlavor(),
		Group: &Group{Policy: Affinity, Hosts: []string{last.Name}}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Placements[0].Host != last {
		t.Errorf("placed on %s, want %s", res.Placements[0].Host.Name, last.Name)
	}
}

// The random pick among host_subset_size is reproducible by seed.
func TestSeededSubset(t *testing.T) {
	hosts := synthHosts(300, 5)
	pick := func(seed uint64) []string {
		s := newTestScheduler(t, func(c *Config) { c.Seed, c.HostSubsetSize = seed, 10 })
		var out []string
		for range 5 {
			res, err := s.Schedule(context.Background(), hosts, &Request{Flavor: smallFlavor()})
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, res.Placements[0].Host.Name)
		}
		return out
	}
	if a, b := pick(7), pick(7); !slices.Equal(a, b) {
		t.Errorf("same seed, different picks: %v %v", a, b)
	}
	if a, b := pick(7), pick(8); slices.Equal(a, b) {
		t.Errorf("different seeds, same picks: %v", a)
	}
}

// shuffle_best_same_weighed_hosts spreads ties for the top weight.
func TestShuffleBestSameWeighed(t *testing.T) {
	var hosts []*Host
	for i := range 8 {
		hosts = append(hosts, testHost(fmt.Sprintf("h%d", i), 16, 16384, 100))
	}
	seen := map[string]bool{}
	s := newTestScheduler(t, func(c *Config) { c.ShuffleBestSameWeighedHosts = true })
	for range 40 {
		res, err := s.Schedule(context.Background(), hosts, &Request{Flavor: smallFlavor()})
		if err != nil {
			t.Fatal(err)
		}
		seen[res.Placements[0].Host.Name] = true
	}
	if len(seen) < 4 {
		t.Errorf("only %d of 8 tied hosts chosen in 40 requests", len(seen))
	}
}

func TestContextCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := newTestScheduler(t, nil)
	_, err := s.Schedule(ctx, synthHosts(2000, 1), &Request{Flavor: smallFlavor()})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

// countingFilter counts its calls and rejects nothing; with once set it
// runs for the first instance only.
type countingFilter struct {
	calls *atomic.Int64
	once  bool
	fail  bool
}

func (f countingFilter) Name() string         { return "Counting" }
func (f countingFilter) OncePerRequest() bool { return f.once }
func (f countingFilter) Filter(_ *State, h *Host) *Status {
	f.calls.Add(1)
	if f.fail {
		return AsError(fmt.Errorf("backend unavailable"))
	}
	return nil
}

func TestOncePerRequest(t *testing.T) {
	for _, once := range []bool{true, false} {
		var calls atomic.Int64
		reg := Builtins()
		if err := reg.Register("Counting", func(*Config) (Plugin, error) { return countingFilter{calls: &calls, once: once}, nil }); err != nil {
			t.Fatal(err)
		}
		cfg := DefaultConfig()
		cfg.EnabledFilters = []string{"Counting"}
		s, err := New(cfg, reg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Schedule(context.Background(), threeHosts(), &Request{MaxCount: 3, Flavor: smallFlavor()}); err != nil {
			t.Fatal(err)
		}
		want := int64(9)
		if once {
			want = 3
		}
		if calls.Load() != want {
			t.Errorf("once %v: %d calls, want %d", once, calls.Load(), want)
		}
	}
}

// A filter's Error fails the request with that error, not NoValidHost.
func TestFilterError(t *testing.T) {
	var calls atomic.Int64
	reg := Builtins()
	_ = reg.Register("Counting", func(*Config) (Plugin, error) { return countingFilter{calls: &calls, fail: true}, nil })
	cfg := DefaultConfig()
	cfg.EnabledFilters = []string{"Counting"}
	s, err := New(cfg, reg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Schedule(context.Background(), synthHosts(3000, 1), &Request{Flavor: smallFlavor()})
	if err == nil || errors.Is(err, ErrNoValidHost) || !strings.Contains(err.Error(), "backend unavailable") {
		t.Errorf("got %v", err)
	}
}

func TestRegistry(t *testing.T) {
	reg := Builtins()
	if err := reg.Register("RAMWeigher", weigherFactory(ramWeigher)); !errors.Is(err, ErrDuplicatePlugin) {
		t.Errorf("duplicate: %v", err)
	}
	for _, tc := range []struct {
		edit func(*Config)
		want error
	}{
		{func(c *Config) { c.EnabledFilters = []string{"NoSuchFilter"} }, ErrUnknownPlugin},
		{func(c *Config) { c.EnabledFilters = []string{"RAMWeigher"} }, ErrInvalidConfig},
		{func(c *Config) { c.Weighers = []string{"ComputeFilter"} }, ErrInvalidConfig},
		{func(c *Config) { c.HostSubsetSize = 0 }, ErrInvalidConfig},
		{func(c *Config) { c.PercentageOfHostsToScore = 101 }, ErrInvalidConfig},
	} {
		cfg := DefaultConfig()
		tc.edit(&cfg)
		if _, err := New(cfg, reg); !errors.Is(err, tc.want) {
			t.Errorf("got %v, want %v", err, tc.want)
		}
	}
	// The capacity filter runs first whatever the list says.
	cfg := DefaultConfig()
	cfg.EnabledFilters = []string{"ComputeFilter", PlacementFilterName}
	s, err := New(cfg, reg)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Filters(); !slices.Equal(got, []string{PlacementFilterName, "ComputeFilter"}) {
		t.Errorf("filters %v", got)
	}
}

func TestRequestValidation(t *testing.T) {
	s := newTestScheduler(t, nil)
	for _, req := range []*Request{
		{MinCount: 3, MaxCount: 2, Flavor: smallFlavor()},
		{InstanceUUIDs: []string{"a"}, MaxCount: 2, Flavor: smallFlavor()},
		{Flavor: Flavor{VCPUs: 2, ExtraSpecs: map[string]string{"hw:cpu_policy": "mixed", "hw:cpu_dedicated_mask": "0-1"}}},
		{Flavor: Flavor{VCPUs: 2, ExtraSpecs: map[string]string{"hw:cpu_policy": "bogus"}}},
		// Nova's get_cpu_policy_constraint and thread policy conflicts.
		{Flavor: Flavor{VCPUs: 2, ExtraSpecs: map[string]string{"hw:cpu_policy": "shared"}},
			Image: Image{Properties: map[string]string{"hw_cpu_policy": "dedicated"}}},
		{Flavor: Flavor{VCPUs: 2, ExtraSpecs: map[string]string{"hw:cpu_policy": "mixed", "hw:cpu_dedicated_mask": "1"}},
			Image: Image{Properties: map[string]string{"hw_cpu_policy": "dedicated"}}},
		{Flavor: Flavor{VCPUs: 2, ExtraSpecs: map[string]string{"hw:cpu_thread_policy": "isolate"}},
			Image: Image{Properties: map[string]string{"hw_cpu_thread_policy": "require"}}},
	} {
		if _, err := s.Schedule(context.Background(), threeHosts(), req); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("%+v: got %v", req, err)
		}
	}
}

// Nova's resources_from_request_spec, case by case.
func TestRequestResources(t *testing.T) {
	for _, tc := range []struct {
		name string
		req  Request
		want map[string]int64
		reqT []string
		forb []string
	}{
		{name: "flavor", req: Request{Flavor: Flavor{VCPUs: 2, MemoryMB: 4096, RootGB: 20, EphemeralGB: 5, SwapMB: 1025}},
			want: map[string]int64{"VCPU": 2, "MEMORY_MB": 4096, "DISK_GB": 27}},
		{name: "boot from volume", req: Request{BootFromVolume: true, Flavor: Flavor{VCPUs: 2, MemoryMB: 4096, RootGB: 20}},
			want: map[string]int64{"VCPU": 2, "MEMORY_MB": 4096}},
		{name: "overrides and zero", req: Request{Flavor: Flavor{VCPUs: 2, MemoryMB: 4096, RootGB: 20, ExtraSpecs: map[string]string{
			"resources:VCPU": "4", "resources:DISK_GB": "0", "resources:CUSTOM_FPGA": "1", "resources1:CUSTOM_FPGA": "2",
			"resources:NOT_A_CLASS": "1", "resources:MEMORY_MB": "-1"}}},
			want: map[string]int64{"VCPU": 4, "MEMORY_MB": 4096, "CUSTOM_FPGA": 3}},
		{name: "dedicated", req: Request{Flavor: Flavor{VCPUs: 4, MemoryMB: 1024, ExtraSpecs: map[string]string{
			"hw:cpu_policy": "dedicated", "hw:emulator_threads_policy": "isolate", "hw:cpu_thread_policy": "isolate"}}},
			want: map[string]int64{"PCPU": 5, "MEMORY_MB": 1024}, forb: []string{"HW_CPU_HYPERTHREADING"}},
		{name: "dedicated from the image", req: Request{Flavor: Flavor{VCPUs: 4, MemoryMB: 1024},
			Image: Image{Properties: map[string]string{"hw_cpu_policy": "dedicated", "trait:CUSTOM_A": "required"}}},
			want: map[string]int64{"PCPU": 4, "MEMORY_MB": 1024}, reqT: []string{"CUSTOM_A"}},
		{name: "mixed", req: Request{Flavor: Flavor{VCPUs: 4, MemoryMB: 1024, ExtraSpecs: map[string]string{
			"hw:cpu_policy": "mixed", "hw:cpu_dedicated_mask": "^0"}}},
			want: map[string]int64{"VCPU": 1, "PCPU": 3, "MEMORY_MB": 1024}},
		{name: "traits", req: Request{Flavor: Flavor{VCPUs: 1, MemoryMB: 1, ExtraSpecs: map[string]string{
			"trait:A": "required", "trait1:B": "forbidden", "trait:C": "optional"}}, RequiredTraits: []string{"D"}},
			want: map[string]int64{"VCPU": 1, "MEMORY_MB": 1}, reqT: []string{"A", "D"}, forb: []string{"B"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rr, err := tc.req.Resources()
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(rr.Resources) != fmt.Sprint(tc.want) {
				t.Errorf("resources %v, want %v", rr.Resources, tc.want)
			}
			if !slices.Equal(rr.RequiredTraits, tc.reqT) || !slices.Equal(rr.ForbiddenTraits, tc.forb) {
				t.Errorf("traits %v / %v, want %v / %v", rr.RequiredTraits, rr.ForbiddenTraits, tc.reqT, tc.forb)
			}
		})
	}
}

// The explanation stays within bounds on a large failure, and Error is
// one line.
func TestExplainBounded(t *testing.T) {
	s := newTestScheduler(t, nil)
	_, err := s.Schedule(context.Background(), synthHosts(3000, 9), &Request{Flavor: Flavor{Name: "x", VCPUs: 1024, MemoryMB: 1}})
	var nvh *NoValidHost
	if !errors.As(err, &nvh) {
		t.Fatalf("got %v", err)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("Error has several lines: %q", err)
	}
	x := nvh.Explain()
	if len(x) > maxExplainLen || !strings.Contains(x, "PlacementFilter: (start: 3000, end: 0)") || !strings.Contains(x, "and 2995 more") {
		t.Errorf("explanation (%d bytes):\n%s", len(x), x)
	}
	if !strings.Contains(x, "host-00000: VCPU: 1024 requested") {
		t.Errorf("samples are not the first hosts by name:\n%s", x)
	}
}

func TestSetJSON(t *testing.T) {
	b, _ := json.Marshal(NewSet("b", "a"))
	if string(b) != `["a","b"]` {
		t.Errorf("got %s", b)
	}
	var s Set
	if err := json.Unmarshal([]byte(`["x","y"]`), &s); err != nil || !s.Has("x") || len(s) != 2 {
		t.Errorf("got %v %v", s, err)
	}
}
