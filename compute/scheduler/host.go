package scheduler

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"

	"github.com/gostack/gostack/compute/placement"
)

// Set is a set of strings (traits, instance uuids). It reads and writes
// JSON as a sorted array.
type Set map[string]struct{}

// NewSet is a set of items.
func NewSet(items ...string) Set {
	s := make(Set, len(items))
	for _, x := range items {
		s[x] = struct{}{}
	}
	return s
}

// Has reports whether x is in s (a nil set has nothing).
func (s Set) Has(x string) bool {
	_, ok := s[x]
	return ok
}

// Sorted is the members of s in order.
func (s Set) Sorted() []string { return slices.Sorted(maps.Keys(s)) }

// MarshalJSON writes s as a sorted array.
func (s Set) MarshalJSON() ([]byte, error) {
	if s == nil {
		return []byte("[]"), nil
	}
	return json.Marshal(s.Sorted())
}

// UnmarshalJSON reads an array of strings.
func (s *Set) UnmarshalJSON(b []byte) error {
	var items []string
	if err := json.Unmarshal(b, &items); err != nil {
		return err
	}
	*s = NewSet(items...)
	return nil
}

// Resource is a host's inventory of one resource class and the amount
// already allocated from it (Placement's usage). Build the inventory with
// placement.NewInventory; fields left at zero (min_unit, max_unit,
// step_size, allocation_ratio) are read as Placement's defaults.
type Resource struct {
	placement.Inventory
	Used int64 `json:"used"`
}

// Aggregate is a host aggregate the host belongs to. Nova keys several
// behaviours on its metadata: availability_zone, filter_tenant_id,
// instance_type, the weight multipliers, max_io_ops_per_host,
// max_instances_per_host and the flavor extra specs matched by
// AggregateInstanceExtraSpecsFilter.
type Aggregate struct {
	UUID     string            `json:"uuid"`
	Name     string            `json:"name"`
	Metadata map[string]string `json:"metadata"`
}

// AZ is the availability zone the aggregate defines ("" for none):
// Nova stores it as the metadata key availability_zone.
func (a Aggregate) AZ() string { return a.Metadata["availability_zone"] }

// Host is a snapshot of one compute host (a Nova HostState): what an
// embedder knows about it when a request arrives. The scheduler never
// modifies a Host it is given; multi-create works on private copies.
type Host struct {
	Name     string `json:"host"`     // Nova's service host
	Node     string `json:"nodename"` // hypervisor_hostname
	UUID     string `json:"uuid"`     // the compute node's resource provider
	HostIP   string `json:"host_ip,omitempty"`
	Disabled bool   `json:"disabled,omitempty"`
	// DisabledReason is the operator's reason, shown in explanations.
	DisabledReason string `json:"disabled_reason,omitempty"`
	// Up is the service's liveness (Nova's servicegroup is_up). The zero
	// value is down: ComputeFilter rejects a host whose Up is false.
	Up bool `json:"up"`

	// Resources are the host's inventories by resource class, with usage.
	Resources map[string]Resource `json:"resources"`
	Traits    Set                 `json:"traits,omitempty"`
	// Aggregates are the aggregates the host is in.
	Aggregates []Aggregate `json:"aggregates,omitempty"`

	HypervisorType string `json:"hypervisor_type,omitempty"`
	// HypervisorVersion is Nova's integer form: major*1000000 +
	// minor*1000 + micro.
	HypervisorVersion int64 `json:"hypervisor_version,omitempty"`
	// SupportedInstances are (architecture, hypervisor type, vm mode)
	// triples, as Nova's supported_hv_specs.
	SupportedInstances [][3]string `json:"supported_instances,omitempty"`
	// CPUInfo is the driver's JSON description of the host CPU.
	CPUInfo string `json:"cpu_info,omitempty"`
	// Stats are the compute node's free-form stats (ComputeCapabilities
	// and JsonFilter can read them).
	Stats map[string]string `json:"stats,omitempty"`

	NumInstances int64 `json:"num_instances"`
	NumIOOps     int64 `json:"num_io_ops"`
	FailedBuilds int64 `json:"failed_builds"`
	// Instances are the uuids of the instances on the host.
	Instances Set `json:"instances,omitempty"`

	// Figures are Nova's HostState numbers the weighers and some filters
	// read. FiguresFrom derives them from Resources.
	Figures
}

// Figures are the resource numbers of a Nova HostState, named as Nova
// names them (JsonFilter queries and capabilities extra specs use those
// names). They are physical figures, before allocation ratios, except
// where a weigher applies a ratio itself (CPUWeigher).
type Figures struct {
	TotalUsableRAMMB    int64   `json:"total_usable_ram_mb"`
	FreeRAMMB           int64   `json:"free_ram_mb"`
	TotalUsableDiskGB   int64   `json:"total_usable_disk_gb"`
	FreeDiskMB          int64   `json:"free_disk_mb"`
	DiskMBUsed          int64   `json:"disk_mb_used"`
	VCPUsTotal          int64   `json:"vcpus_total"`
	VCPUsUsed           int64   `json:"vcpus_used"`
	CPUAllocationRatio  float64 `json:"cpu_allocation_ratio"`
	RAMAllocationRatio  float64 `json:"ram_allocation_ratio"`
	DiskAllocationRatio float64 `json:"disk_allocation_ratio"`
}

// FiguresFrom derives a host's Figures from its Placement inventories the
// way Nova's compute node reports them (host_manager.HostState
// _update_from_compute_node reading the resource tracker's ComputeNode):
//
//   - total_usable_ram_mb = MEMORY_MB total; free_ram_mb = total -
//     reserved - used (the tracker counts reserved_host_memory_mb as
//     used; no ratio, so it can go negative when overcommitted).
//   - total_usable_disk_gb = DISK_GB total; free_disk_mb = (total -
//     reserved - used) * 1024; disk_mb_used = (used + reserved) * 1024.
//   - vcpus_total = VCPU total, vcpus_used = VCPU used (reserved host
//     CPUs are not counted as used, as in the tracker).
//   - the three ratios are the inventories' allocation ratios (1.0 when
//     the class is absent).
//
// PCPU inventory is not folded into vcpus_*: Nova's vcpus figure counts
// the shared CPU set.
func FiguresFrom(res map[string]Resource) Figures {
	f := Figures{CPUAllocationRatio: 1, RAMAllocationRatio: 1, DiskAllocationRatio: 1}
	if r, ok := res[placement.MemoryMB]; ok {
		f.TotalUsableRAMMB = r.Total
		f.FreeRAMMB = r.Total - r.Reserved - r.Used
		f.RAMAllocationRatio = effective(r.Inventory).AllocationRatio
	}
	if r, ok := res[placement.DiskGB]; ok {
		f.TotalUsableDiskGB = r.Total
		f.FreeDiskMB = (r.Total - r.Reserved - r.Used) * 1024
		f.DiskMBUsed = (r.Used + r.Reserved) * 1024
		f.DiskAllocationRatio = effective(r.Inventory).AllocationRatio
	}
	if r, ok := res[placement.VCPU]; ok {
		f.VCPUsTotal = r.Total
		f.VCPUsUsed = r.Used
		f.CPUAllocationRatio = effective(r.Inventory).AllocationRatio
	}
	return f
}

// AZs calls fn with each availability zone the host's aggregates put it
// in, as Nova's AvailabilityZoneFilter reads them: every aggregate's
// availability_zone value, split on commas and trimmed. It reports
// whether there was any.
func (h *Host) eachAZ(fn func(az string) bool) bool {
	found := false
	for i := range h.Aggregates {
		v, ok := h.Aggregates[i].Metadata["availability_zone"]
		if !ok {
			continue
		}
		found = true
		if !eachCSV(v, fn) {
			return true
		}
	}
	return found
}

// eachCSV calls fn with each comma-separated, space-trimmed piece of v
// (Nova's aggregate_metadata_get_by_host splitting) until fn returns
// false; it reports whether it went through all of them.
func eachCSV(v string, fn func(string) bool) bool {
	for {
		i := strings.IndexByte(v, ',')
		piece := v
		if i >= 0 {
			piece = v[:i]
		}
		if !fn(strings.TrimSpace(piece)) {
			return false
		}
		if i < 0 {
			return true
		}
		v = v[i+1:]
	}
}

// clone is a copy of h the scheduler may consume from: the struct and
// its Resources map are copied; the rest is shared and never written.
func (h *Host) clone() *Host {
	c := *h
	c.Resources = maps.Clone(h.Resources)
	return &c
}

// label names the host in messages: "host" or "host/node" when the node
// differs from the host name (Ironic-style hosts with many nodes).
func (h *Host) label() string {
	if h.Node == "" || h.Node == h.Name {
		return h.Name
	}
	return h.Name + "/" + h.Node
}
