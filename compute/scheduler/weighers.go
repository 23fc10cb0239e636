package scheduler

// weigher is a built-in weigher: a raw value per host, Nova's
// minval when it has one, and a configured multiplier that the host's
// aggregates can override under the option's own name.
type weigher struct {
	name   string
	key    string // Nova's option name, also the aggregate metadata key
	def    float64
	bounds Bounds
	raw    func(st *State, h *Host) float64
	// negate makes the multiplier negative (BuildFailureWeigher: more
	// failures, lower weight).
	negate bool
	// policy, when set, is the group policy the weigher is for.
	policy string
}

var (
	_ Weigher    = (*weigher)(nil)
	_ Bounded    = (*weigher)(nil)
	_ PreWeigher = (*weigher)(nil)
)

func (w *weigher) Name() string   { return w.name }
func (w *weigher) Bounds() Bounds { return w.bounds }

func (w *weigher) Weigh(st *State, h *Host) float64 { return w.raw(st, h) }

func (w *weigher) Multiplier(_ *State, h *Host) float64 {
	m := w.def
	if len(h.Aggregates) > 0 {
		m = AggregateMultiplier(h, w.key, w.def)
	}
	if w.negate {
		return -m
	}
	return m
}

func (w *weigher) PreWeigh(st *State) *Status {
	if w.policy != "" && st.GroupPolicy() != w.policy {
		return NewStatus(Skip, "")
	}
	return nil
}

func weigherFactory(mk func(cfg *Config) *weigher) Factory {
	return func(cfg *Config) (Plugin, error) { return mk(cfg), nil }
}

// atLeastZero is the minval 0 of Nova's RAM, CPU, disk and I/O weighers.
var atLeastZero = Bounds{HasMin: true}

// ramWeigher is Nova's RAMWeigher: free_ram_mb; a positive multiplier
// spreads, a negative one stacks.
func ramWeigher(cfg *Config) *weigher {
	return &weigher{name: "RAMWeigher", key: "ram_weight_multiplier", def: cfg.RAMWeightMultiplier, bounds: atLeastZero,
		raw: func(_ *State, h *Host) float64 { return float64(h.FreeRAMMB) }}
}

// cpuWeigher is Nova's CPUWeigher: vcpus_total * cpu_allocation_ratio -
// vcpus_used.
func cpuWeigher(cfg *Config) *weigher {
	return &weigher{name: "CPUWeigher", key: "cpu_weight_multiplier", def: cfg.CPUWeightMultiplier, bounds: atLeastZero,
		raw: func(_ *State, h *Host) float64 {
			return float64(h.VCPUsTotal)*h.CPUAllocationRatio - float64(h.VCPUsUsed)
		}}
}

// diskWeigher is Nova's DiskWeigher: free_disk_mb.
func diskWeigher(cfg *Config) *weigher {
	return &weigher{name: "DiskWeigher", key: "disk_weight_multiplier", def: cfg.DiskWeightMultiplier, bounds: atLeastZero,
		raw: func(_ *State, h *Host) float64 { return float64(h.FreeDiskMB) }}
}

// ioOpsWeigher is Nova's IoOpsWeigher: num_io_ops, with a negative
// default multiplier (prefer idle hosts).
func ioOpsWeigher(cfg *Config) *weigher {
	return &weigher{name: "IoOpsWeigher", key: "io_ops_weight_multiplier", def: cfg.IOOpsWeightMultiplier, bounds: atLeastZero,
		raw: func(_ *State, h *Host) float64 { return float64(h.NumIOOps) }}
}

// numInstancesWeigher is Nova's NumInstancesWeigher: num_instances (off
// by default).
func numInstancesWeigher(cfg *Config) *weigher {
	return &weigher{name: "NumInstancesWeigher", key: "num_instances_weight_multiplier", def: cfg.NumInstancesWeightMultiplier,
		raw: func(_ *State, h *Host) float64 { return float64(h.NumInstances) }}
}

// hypervisorVersionWeigher is Nova's HypervisorVersionWeigher:
// hypervisor_version (prefer newer).
func hypervisorVersionWeigher(cfg *Config) *weigher {
	return &weigher{name: "HypervisorVersionWeigher", key: "hypervisor_version_weight_multiplier",
		def: cfg.HypervisorVersionWeightMultiplier,
		raw: func(_ *State, h *Host) float64 { return float64(h.HypervisorVersion) }}
}

// buildFailureWeigher is Nova's BuildFailureWeigher: failed_builds
// against a large negated multiplier, so a failing host sinks.
func buildFailureWeigher(cfg *Config) *weigher {
	return &weigher{name: "BuildFailureWeigher", key: "build_failure_weight_multiplier", def: cfg.BuildFailureWeightMultiplier,
		negate: true, raw: func(_ *State, h *Host) float64 { return float64(h.FailedBuilds) }}
}

// softAffinityWeigher is Nova's ServerGroupSoftAffinityWeigher: the
// group's members on the host, for soft-affinity groups.
func softAffinityWeigher(cfg *Config) *weigher {
	return &weigher{name: "ServerGroupSoftAffinityWeigher", key: "soft_affinity_weight_multiplier",
		def: cfg.SoftAffinityWeightMultiplier, policy: SoftAffinity,
		raw: func(st *State, h *Host) float64 { return float64(st.GroupMembersOn(h)) }}
}

// softAntiAffinityWeigher is Nova's ServerGroupSoftAntiAffinityWeigher:
// minus the group's members on the host, for soft-anti-affinity groups.
func softAntiAffinityWeigher(cfg *Config) *weigher {
	return &weigher{name: "ServerGroupSoftAntiAffinityWeigher", key: "soft_anti_affinity_weight_multiplier",
		def: cfg.SoftAntiAffinityWeightMultiplier, policy: SoftAntiAffinity,
		raw: func(st *State, h *Host) float64 { return -float64(st.GroupMembersOn(h)) }}
}
