package scheduler

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"

	"github.com/gostack/gostack/compute/placement"
)

// The differential test's input: random but reproducible clusters and
// requests that exercise every built-in filter and weigher, with values
// Nova's objects accept (valid architectures, hypervisor types, version
// predicates, group policies).

// diffScenario is one cluster, one configuration and its requests.
type diffScenario struct {
	Config   Config     `json:"config"`
	Hosts    []*Host    `json:"hosts"`
	Requests []diffItem `json:"requests"`
}

type diffItem struct {
	Request Request `json:"request"`
	// Multi asks the harness for Nova's multi-create loop too.
	Multi bool `json:"multi,omitempty"`
}

// pipelineFilters are the filters a scenario may enable (PlacementFilter
// always runs).
var pipelineFilters = []string{
	"ComputeFilter", "ComputeCapabilitiesFilter", "ImagePropertiesFilter", "ServerGroupAntiAffinityFilter",
	"ServerGroupAffinityFilter", "SameHostFilter", "DifferentHostFilter", "AggregateInstanceExtraSpecsFilter",
	"AggregateMultiTenancyIsolation", "AggregateTypeAffinityFilter", "IsolatedHostsFilter", "IoOpsFilter",
	"AggregateIoOpsFilter", "NumInstancesFilter", "AggregateNumInstancesFilter", "JsonFilter", "AllHostsFilter",
}

type gen struct{ *rand.Rand }

func (g gen) pick(xs ...string) string { return xs[g.IntN(len(xs))] }

func (g gen) chance(p float64) bool { return g.Float64() < p }

func (g gen) float(xs ...float64) float64 { return xs[g.IntN(len(xs))] }

// some is a random subset of xs, in order.
func (g gen) some(p float64, xs ...string) []string {
	var out []string
	for _, x := range xs {
		if g.chance(p) {
			out = append(out, x)
		}
	}
	return out
}

func (g gen) scenario(i, nreq int) diffScenario {
	cfg := DefaultConfig()
	cfg.Seed, cfg.PercentageOfHostsToScore = 1, 100
	cfg.RAMWeightMultiplier = g.float(1, 1, -1, 0, 2.5)
	cfg.CPUWeightMultiplier = g.float(1, 1, -1, 0, 0.5)
	cfg.DiskWeightMultiplier = g.float(1, 1, -1, 0, 0.5)
	cfg.IOOpsWeightMultiplier = g.float(-1, -1, 1, 0)
	cfg.NumInstancesWeightMultiplier = g.float(0, 0, -1, 1)
	cfg.HypervisorVersionWeightMultiplier = g.float(1, 1, 0, -2)
	cfg.BuildFailureWeightMultiplier = g.float(1e6, 1e6, 0, 10)
	cfg.SoftAffinityWeightMultiplier = g.float(1, 0, 3)
	cfg.SoftAntiAffinityWeightMultiplier = g.float(1, 0, 3)
	cfg.MaxIOOpsPerHost = int64(g.pick("8", "4")[0] - '0')
	cfg.MaxInstancesPerHost = []int64{50, 20}[g.IntN(2)]
	cfg.IsolatedHosts = g.some(0.3, "h01", "h02")
	cfg.IsolatedImages = g.some(0.3, "img-iso")
	cfg.RestrictIsolatedHostsToIsolatedImages = g.chance(0.5)
	cfg.ImagePropertiesDefaultArchitecture = g.pick("", "", "x86_64")
	cfg.EnabledFilters = append([]string{PlacementFilterName}, g.some(g.float(0.1, 0.2, 0.35), pipelineFilters...)...)
	sc := diffScenario{Config: cfg}
	aggs := g.aggregates()
	owner := map[string]string{} // instance uuid -> host
	for j := range 10 + g.IntN(11) {
		sc.Hosts = append(sc.Hosts, g.host(fmt.Sprintf("h%02d", j), aggs, owner))
	}
	for range nreq {
		sc.Requests = append(sc.Requests, g.item(sc.Hosts, owner))
	}
	return sc
}

func (g gen) aggregates() []Aggregate {
	pools := []map[string][]string{
		{"availability_zone": {"az1", "az2"}},
		{"filter_tenant_id": {"p1", "p1,p2", "p3"}},
		{"instance_type": {"m1.small", "m1.small, m1.large", "m1.tiny"}},
		{"max_io_ops_per_host": {"5", "10", "x"}, "max_instances_per_host": {"10", "100", "5"}},
		{"ram_weight_multiplier": {"-1.0", "2", "0.5", "bad"}, "cpu_weight_multiplier": {"0", "3"}},
		{"io_ops_weight_multiplier": {"2"}, "build_failure_weight_multiplier": {"5"}, "num_instances_weight_multiplier": {"1"}},
		{"ssd": {"true", "false"}, "cores": {"8", "16", "4, 32"}, "class": {"gold, silver", "bronze"}, "gpu": {"2", "4"}},
	}
	var out []Aggregate
	for i, pool := range pools {
		for k := range 2 {
			md := map[string]string{}
			for _, key := range slices.Sorted(maps.Keys(pool)) {
				if g.chance(0.8) {
					md[key] = g.pick(pool[key]...)
				}
			}
			out = append(out, Aggregate{UUID: fmt.Sprintf("agg-%d-%d", i, k), Metadata: md})
		}
	}
	return out
}

func (g gen) host(name string, aggs []Aggregate, owner map[string]string) *Host {
	inv := func(total int64, ratio float64) placement.Inventory {
		i := placement.NewInventory(total)
		i.AllocationRatio = ratio
		return i
	}
	vcpus := []int64{8, 16, 32}[g.IntN(3)]
	ram := []int64{16384, 32768, 65536}[g.IntN(3)]
	disk := []int64{200, 500, 1000}[g.IntN(3)]
	cpu := inv(vcpus, g.float(1, 4, 16))
	mem := inv(ram, g.float(1, 1, 1.5))
	mem.Reserved = 512
	dsk := inv(disk, 1)
	dsk.Reserved = g.Int64N(20)
	h := &Host{
		Name: name, Node: name, UUID: "rp-" + name, Up: !g.chance(0.1), Disabled: g.chance(0.1),
		Resources: map[string]Resource{
			placement.VCPU:     {Inventory: cpu, Used: g.Int64N(cpu.Capacity() + 1)},
			placement.MemoryMB: {Inventory: mem, Used: g.Int64N(mem.Capacity() + 1)},
			placement.DiskGB:   {Inventory: dsk, Used: g.Int64N(dsk.Capacity() + 1)},
		},
		Traits:         NewSet(g.some(0.4, "HW_CPU_X86_AVX2", "CUSTOM_SSD", "HW_CPU_HYPERTHREADING", "CUSTOM_GPU")...),
		HypervisorType: g.pick("QEMU", "QEMU", "KVM", "xen", ""), HypervisorVersion: []int64{6000000, 7002000, 8002001, 9000000}[g.IntN(4)],
		NumInstances: g.Int64N(60), NumIOOps: g.Int64N(12), FailedBuilds: int64(g.IntN(8) / 6),
		Stats: map[string]string{"gpu": fmt.Sprint(g.IntN(5)), "rack": g.pick("r1", "r2", "r3")},
	}
	if g.chance(0.3) {
		h.Resources[placement.PCPU] = Resource{Inventory: inv(vcpus, 1), Used: g.Int64N(vcpus)}
	}
	if g.chance(0.3) {
		h.Resources["CUSTOM_GPU"] = Resource{Inventory: inv(2, 1), Used: g.Int64N(3)}
	}
	if g.chance(0.05) {
		h.Stats["weird"] = "abc"
	}
	if g.chance(0.8) {
		feats := g.some(0.6, `"avx2"`, `"aes"`, `"sse4_2"`)
		h.CPUInfo = fmt.Sprintf(`{"arch": "x86_64", "topology": {"cores": %d}, "features": [%s]}`,
			[]int{4, 8}[g.IntN(2)], joinComma(feats))
	}
	for _, si := range [][3]string{{"x86_64", "kvm", "hvm"}, {"x86_64", "qemu", "hvm"}, {"aarch64", "qemu", "hvm"}, {"i686", "xen", "xen"}} {
		if g.chance(0.4) {
			h.SupportedInstances = append(h.SupportedInstances, si)
		}
	}
	for _, a := range aggs {
		if g.chance(0.15) {
			h.Aggregates = append(h.Aggregates, a)
		}
	}
	h.Instances = Set{}
	for range g.IntN(4) {
		u := fmt.Sprintf("u-%02d", g.IntN(30))
		if _, taken := owner[u]; !taken {
			owner[u] = name
			h.Instances[u] = struct{}{}
		}
	}
	h.Figures = FiguresFrom(h.Resources)
	return h
}

func joinComma(xs []string) string {
	out := ""
	for i, x := range xs {
		if i > 0 {
			out += ", "
		}
		out += x
	}
	return out
}

// specPool are the extra specs a flavor draws from: every operator,
// scoped and unscoped, attributes, stats, JSON, aggregate keys, traits,
// resources and CPU policies.
var specPool = map[string][]string{
	"capabilities:hypervisor_type":         {"s== QEMU", "QEMU", "<or> KVM <or> xen", "s!= KVM"},
	"capabilities:hypervisor_version":      {">= 7000000", "<= 8002001", "== 9000000", "= 6000000"},
	"gpu":                                  {"= 2", ">= 1", "2", "<in> 1"},
	"capabilities:stats:rack":              {"s== r1", "<or> r1 <or> r3", "s> r1"},
	"rack":                                 {"r2", "s< r3"},
	"capabilities:cpu_info:features":       {"<in> avx2", "<all-in> avx2 aes", "<all-in> sse4_2"},
	"capabilities:cpu_info:topology:cores": {">= 8", "== 4"},
	"free_ram_mb":                          {">= 4096", "<= 20000"},
	"vcpus_total":                          {">= 16", "s== 16"},
	"num_instances":                        {"<= 30", "= 10"},
	"cpu_allocation_ratio":                 {"4.0", ">= 2", "s== 16.0"},
	"ssd":                                  {"true", "<or> true <or> false"},
	"aggregate_instance_extra_specs:cores": {">= 8", "16", "<in> 1"},
	"aggregate_instance_extra_specs:class": {"<in> gold", "silver", "<or> gold <or> bronze"},
	"trait:CUSTOM_SSD":                     {"required", "forbidden"},
	"trait:HW_CPU_X86_AVX2":                {"required"},
	"resources:CUSTOM_GPU":                 {"1", "0"},
	"resources:VCPU":                       {"2"},
	"resources:DISK_GB":                    {"0"},
	"hw:cpu_policy":                        {"dedicated", "shared"},
	"hw:cpu_thread_policy":                 {"isolate", "require", "prefer"},
	"hw:emulator_threads_policy":           {"isolate"},
	"capabilities:stats:weird":             {"= 2"},
}

// imagePool are image properties: a name and its possible values.
var imagePool = [][]string{
	{"hw_architecture", "x86_64", "aarch64", "AMD64", "i386"}, {"img_hv_type", "kvm", "qemu", "xen", "QEMU"},
	{"hw_vm_mode", "hvm", "xen", "hv"}, {"img_hv_requested_version", ">=7.0", "<8.2", ">=6.0, <9.0", "==8.2.1"},
	{"architecture", "x86_64"}, {"hw_cpu_policy", "dedicated"}, {"trait:CUSTOM_GPU", "required"},
}

var queryPool = []string{
	`[">=", "$free_ram_mb", 4096]`,
	`["and", ["<", "$num_instances", 30], ["=", "$hypervisor_type", "QEMU"]]`,
	`["or", ["in", "$host", "h01", "h03"], [">", "$vcpus_total", 16]]`,
	`["not", ["=", "$stats.rack", "r1"]]`,
	`["=", "$nope", 1]`,
	`["<=", "$free_disk_mb", 200000, 500000]`,
	`["in", "$cpu_allocation_ratio", 4.0, 16]`,
	`["and", ["not", ["<", "$num_io_ops", 3], true], [">=", "$hypervisor_version", 7002000]]`,
	`["<", "$host", 3]`,
}

func (g gen) item(hosts []*Host, owner map[string]string) diffItem {
	f := Flavor{Name: g.pick("m1.tiny", "m1.small", "m1.large"), VCPUs: 1 + g.Int64N(8), MemoryMB: 512 * (1 + g.Int64N(24)),
		RootGB: g.Int64N(80), EphemeralGB: g.Int64N(3) * 10, SwapMB: g.Int64N(3) * 700, ExtraSpecs: map[string]string{}}
	for _, k := range slices.Sorted(maps.Keys(specPool)) {
		if g.chance(0.07) {
			f.ExtraSpecs[k] = g.pick(specPool[k]...)
		}
	}
	req := Request{InstanceUUIDs: []string{"new-1"}, ProjectID: g.pick("p1", "p2", "p3"), Flavor: f,
		AvailabilityZone: g.pick("", "", "", "az1", "az2", "nova")}
	req.Image.ID = g.pick("", "img-1", "img-iso")
	req.Image.Properties = map[string]string{}
	for _, p := range imagePool {
		if g.chance(0.1) {
			req.Image.Properties[p[0]] = g.pick(p[1:]...)
		}
	}
	if g.chance(0.5) {
		req.Group = g.group(owner)
	}
	req.Hints = map[string][]string{}
	if g.chance(0.15) {
		req.Hints["same_host"] = []string{fmt.Sprintf("u-%02d", g.IntN(30)), fmt.Sprintf("u-%02d", g.IntN(30))}
	}
	if g.chance(0.15) {
		req.Hints["different_host"] = []string{fmt.Sprintf("u-%02d", g.IntN(30))}
	}
	if g.chance(0.2) {
		req.Hints["query"] = []string{g.pick(queryPool...)}
	}
	if g.chance(0.05) && req.Group != nil && len(req.Group.Members) > 0 {
		// A move: the instance is a group member sitting on its host.
		m := req.Group.Members[0]
		if h, ok := owner[m]; ok {
			req.InstanceUUIDs, req.Move, req.SourceHost = []string{m}, true, h
		}
	}
	item := diffItem{Request: req}
	if g.chance(0.15) && !req.Move {
		item.Multi = true
		item.Request.InstanceUUIDs = []string{"new-1", "new-2", "new-3"}[:2+g.IntN(2)]
		item.Request.Flavor = Flavor{Name: "m1.tiny", VCPUs: 1, MemoryMB: 512, RootGB: 1, ExtraSpecs: f.ExtraSpecs}
		if req.Group != nil {
			item.Request.Group.Members = append(item.Request.Group.Members, item.Request.InstanceUUIDs...)
		}
	}
	return item
}

// group is a server group whose hosts are where its members are, as
// Nova's InstanceGroup.get_hosts finds them.
func (g gen) group(owner map[string]string) *Group {
	grp := &Group{UUID: "g-1", Policy: g.pick(Affinity, AntiAffinity, SoftAffinity, SoftAntiAffinity)}
	if grp.Policy == AntiAffinity && g.chance(0.4) {
		grp.MaxServerPerHost = 2
	}
	hosts := Set{}
	for range g.IntN(5) {
		u := fmt.Sprintf("u-%02d", g.IntN(30))
		if slices.Contains(grp.Members, u) {
			continue
		}
		grp.Members = append(grp.Members, u)
		if h, ok := owner[u]; ok {
			hosts[h] = struct{}{}
		}
	}
	grp.Hosts = hosts.Sorted()
	return grp
}
