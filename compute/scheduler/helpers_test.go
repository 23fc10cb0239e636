package scheduler

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/gostack/gostack/compute/placement"
)

// testHost is an up, enabled host with VCPU, MEMORY_MB (512 reserved)
// and DISK_GB inventories and its figures derived from them.
func testHost(name string, vcpus, ramMB, diskGB int64) *Host {
	mem := placement.NewInventory(ramMB)
	mem.Reserved = 512
	cpu := placement.NewInventory(vcpus)
	cpu.AllocationRatio = 4
	cpu.MaxUnit = vcpus
	h := &Host{
		Name: name, Node: name, UUID: "rp-" + name, Up: true,
		Resources: map[string]Resource{
			placement.VCPU:     {Inventory: cpu},
			placement.MemoryMB: {Inventory: mem},
			placement.DiskGB:   {Inventory: placement.NewInventory(diskGB)},
		},
		HypervisorType: "QEMU", HypervisorVersion: 8002000,
		SupportedInstances: [][3]string{{"x86_64", "kvm", "hvm"}},
	}
	h.Figures = FiguresFrom(h.Resources)
	return h
}

// use sets a class's usage and derives the figures again.
func (h *Host) use(class string, n int64) *Host {
	r := h.Resources[class]
	r.Used = n
	h.Resources[class] = r
	h.Figures = FiguresFrom(h.Resources)
	return h
}

func smallFlavor() Flavor {
	return Flavor{Name: "m1.small", VCPUs: 1, MemoryMB: 2048, RootGB: 20}
}

// newTestScheduler is a scheduler with the default configuration, a
// fixed seed and cfg changed by edit.
func newTestScheduler(t testing.TB, edit func(*Config), reservers ...Reserver) *Scheduler {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Seed = 1
	if edit != nil {
		edit(&cfg)
	}
	s, err := New(cfg, Builtins(), reservers...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fakeReserver records reservations and refuses the hosts in fail (a
// lost race).
type fakeReserver struct {
	mu       sync.Mutex
	fail     map[string]bool
	reserved map[string][]string // host -> instance uuids
	log      []string
}

func newFakeReserver(fail ...string) *fakeReserver {
	r := &fakeReserver{fail: map[string]bool{}, reserved: map[string][]string{}}
	for _, h := range fail {
		r.fail[h] = true
	}
	return r
}

func (r *fakeReserver) Reserve(_ context.Context, st *State, h *Host) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.log = append(r.log, fmt.Sprintf("reserve %d %s", st.Index(), h.Name))
	if r.fail[h.Name] {
		return fmt.Errorf("placement: consumer generation conflict on %s", h.Name)
	}
	r.reserved[h.Name] = append(r.reserved[h.Name], st.InstanceUUID())
	return nil
}

func (r *fakeReserver) Unreserve(_ context.Context, st *State, h *Host) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.log = append(r.log, fmt.Sprintf("unreserve %d %s", st.Index(), h.Name))
	l := r.reserved[h.Name]
	for i, id := range l {
		if id == st.InstanceUUID() {
			r.reserved[h.Name] = append(l[:i:i], l[i+1:]...)
			break
		}
	}
	if len(r.reserved[h.Name]) == 0 {
		delete(r.reserved, h.Name)
	}
}

// hostNames are the names of hosts.
func hostNames(hs []*Host) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.Name
	}
	return out
}

// synthHosts is a reproducible cluster of n hosts: mixed sizes and
// usage, a few disabled or down, zones and aggregates, members of a
// group here and there.
func synthHosts(n int, seed uint64) []*Host {
	rng := rand.New(rand.NewPCG(seed, 7))
	hosts := make([]*Host, n)
	for i := range hosts {
		vcpus := []int64{16, 32, 64, 96}[rng.IntN(4)]
		ram := vcpus * 4096
		h := testHost(fmt.Sprintf("host-%05d", i), vcpus, ram, 2000)
		h.use(placement.VCPU, rng.Int64N(vcpus*4+1))
		h.use(placement.MemoryMB, rng.Int64N(ram))
		h.use(placement.DiskGB, rng.Int64N(2000))
		h.NumInstances = rng.Int64N(40)
		h.NumIOOps = rng.Int64N(10)
		h.FailedBuilds = int64(rng.IntN(50) / 49)
		h.HypervisorVersion = []int64{6002000, 7002000, 8002000}[rng.IntN(3)]
		h.Disabled = rng.IntN(100) == 0
		h.Up = rng.IntN(200) != 0
		h.Aggregates = []Aggregate{{UUID: "az", Metadata: map[string]string{"availability_zone": fmt.Sprintf("az%d", i%3)}}}
		if i%10 == 0 {
			h.Aggregates = append(h.Aggregates, Aggregate{UUID: "agg", Metadata: map[string]string{"ram_weight_multiplier": "2"}})
		}
		if i%97 == 0 {
			h.Instances = NewSet(fmt.Sprintf("m-%d", i%3))
		}
		hosts[i] = h
	}
	return hosts
}
