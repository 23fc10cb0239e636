package scheduler

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/gostack/gostack/compute/placement"
)

// Request is what to place: Nova's RequestSpec as plain values.
type Request struct {
	// InstanceUUIDs name the instances, one each. When empty, MaxCount
	// instances are placed without uuids.
	InstanceUUIDs []string `json:"instance_uuids,omitempty"`
	// MinCount and MaxCount are the server create's min_count and
	// max_count: MaxCount instances are wanted (default 1, or
	// len(InstanceUUIDs)), and the request fails unless at least MinCount
	// (default: all of them) can be placed.
	MinCount int `json:"min_count,omitempty"`
	MaxCount int `json:"max_count,omitempty"`

	ProjectID string `json:"project_id,omitempty"`
	UserID    string `json:"user_id,omitempty"`
	Flavor    Flavor `json:"flavor"`
	Image     Image  `json:"image"`
	// BootFromVolume leaves the root disk out of DISK_GB (Nova's is_bfv).
	BootFromVolume bool `json:"is_bfv,omitempty"`
	// AvailabilityZone restricts the request to hosts in that zone ("" =
	// any).
	AvailabilityZone string `json:"availability_zone,omitempty"`
	// Group is the server group the instances join, if any.
	Group *Group `json:"group,omitempty"`
	// Hints are the scheduler hints: same_host and different_host (lists
	// of instance uuids), query (JsonFilter, one JSON string), and any an
	// embedder's plugins read.
	Hints map[string][]string `json:"scheduler_hints,omitempty"`
	// RequiredTraits and ForbiddenTraits add to the traits the flavor's
	// trait:NAME extra specs and the image's trait:NAME properties ask for.
	RequiredTraits  []string `json:"required_traits,omitempty"`
	ForbiddenTraits []string `json:"forbidden_traits,omitempty"`

	// Move is set for resize, migration, evacuation and unshelve of an
	// existing instance, which sits on SourceHost: anti-affinity lets the
	// source host pass.
	Move       bool   `json:"move,omitempty"`
	SourceHost string `json:"source_host,omitempty"`
	// Destination, when its Host is set, keeps the request to that host
	// (and Node, if set): Nova's requested_destination. Filters still run.
	Destination *Destination `json:"requested_destination,omitempty"`
	// IgnoreHosts are hosts the request must not land on (Nova's
	// ignore_hosts, e.g. the source of a resize to another host).
	IgnoreHosts []string `json:"ignore_hosts,omitempty"`
	// Alternates asks for up to max_attempts-1 alternate hosts for each
	// instance, for the caller to retry a failed build on.
	Alternates bool `json:"return_alternates,omitempty"`
}

// Flavor is the instance type.
type Flavor struct {
	Name        string            `json:"name"`
	VCPUs       int64             `json:"vcpus"`
	MemoryMB    int64             `json:"memory_mb"`
	RootGB      int64             `json:"root_gb"`
	EphemeralGB int64             `json:"ephemeral_gb"`
	SwapMB      int64             `json:"swap"`
	ExtraSpecs  map[string]string `json:"extra_specs,omitempty"`
}

// Image is the boot image: its id and Glance properties.
type Image struct {
	ID         string            `json:"id,omitempty"`
	Properties map[string]string `json:"properties,omitempty"`
}

// Server group policies.
const (
	Affinity         = "affinity"
	AntiAffinity     = "anti-affinity"
	SoftAffinity     = "soft-affinity"
	SoftAntiAffinity = "soft-anti-affinity"
)

// Group is a server group as the request sees it.
type Group struct {
	UUID   string `json:"uuid"`
	Policy string `json:"policy"`
	// MaxServerPerHost is the anti-affinity rule max_server_per_host (0
	// means Nova's default, 1).
	MaxServerPerHost int `json:"max_server_per_host,omitempty"`
	// Hosts are the hosts that already hold members.
	Hosts []string `json:"hosts,omitempty"`
	// Members are the instance uuids in the group.
	Members []string `json:"members,omitempty"`
}

// Destination is a requested host and, optionally, node.
type Destination struct {
	Host string `json:"host"`
	Node string `json:"node,omitempty"`
}

// count is the number of instances wanted and the least acceptable.
func (r *Request) count() (want, least int, err error) {
	want = r.MaxCount
	if n := len(r.InstanceUUIDs); n > 0 {
		if want != 0 && want != n {
			return 0, 0, fmt.Errorf("%w: max_count %d but %d instance uuids", ErrInvalidRequest, want, n)
		}
		want = n
	}
	if want == 0 {
		want = 1
	}
	least = r.MinCount
	if least == 0 {
		least = want
	}
	if least < 1 || least > want {
		return 0, 0, fmt.Errorf("%w: min_count %d not between 1 and %d", ErrInvalidRequest, least, want)
	}
	return want, least, nil
}

// hint is Nova's get_scheduler_hint: the hint's values, nil when absent.
func (r *Request) hint(name string) []string { return r.Hints[name] }

// ResourceRequest is what a request asks Placement for, flattened onto
// one provider (the compute node): amounts by resource class and the
// traits that provider must and must not have.
type ResourceRequest struct {
	Resources       map[string]int64
	RequiredTraits  []string
	ForbiddenTraits []string
}

// extraSpecKey is Nova's ResourceRequest.XS_KEYPAT: resources[$S]:CLASS
// and trait[$S]:NAME, with an optional group suffix.
var extraSpecKey = regexp.MustCompile(`^(resources|trait)([a-zA-Z0-9_-]{1,64})?:(.*)$`)

// Resources derives what the request asks Placement for, as Nova's
// ResourceRequest.from_request_spec does:
//
//   - resources[$S]:CLASS=N extra specs set amounts (an invalid class or
//     amount is ignored, as Nova ignores it with a warning); amounts in
//     numbered groups add up, since one provider serves them all here;
//   - trait[$S]:NAME=required|forbidden extra specs, image properties
//     trait:NAME=required, hw:cpu_thread_policy (isolate forbids
//     HW_CPU_HYPERTHREADING, require requires it) and the request's own
//     traits;
//   - hw:cpu_policy (or the image's hw_cpu_policy) dedicated asks PCPU =
//     vcpus (+1 with hw:emulator_threads_policy=isolate) instead of
//     VCPU; mixed splits vcpus by hw:cpu_dedicated_mask;
//   - VCPU = vcpus, MEMORY_MB = ram and DISK_GB = root (unless booted
//     from volume) + ephemeral + swap rounded up to GB, each unless the
//     extra specs already set it;
//   - classes whose amount is 0 are dropped (resources:CLASS=0 removes a
//     class the flavor would ask for).
func (r *Request) Resources() (ResourceRequest, error) {
	res := map[string]int64{}
	req, forb := NewSet(r.RequiredTraits...), NewSet(r.ForbiddenTraits...)
	f := r.Flavor
	for _, k := range slices.Sorted(maps.Keys(f.ExtraSpecs)) {
		m := extraSpecKey.FindStringSubmatch(k)
		if m == nil {
			continue
		}
		v := f.ExtraSpecs[k]
		if m[1] == "trait" {
			addTrait(req, forb, m[3], v)
			continue
		}
		n, err := pyInt(v)
		if err != nil || n < 0 || !(strings.HasPrefix(m[3], "CUSTOM_") || placement.IsStandardClass(m[3])) {
			continue
		}
		// Nova sets the amount per group and merges groups by adding.
		res[m[3]] += n
	}
	for k, v := range r.Image.Properties {
		if name, ok := strings.CutPrefix(k, "trait:"); ok && v == "required" {
			req[name] = struct{}{}
		}
	}
	if err := r.translatePinning(res, req, forb); err != nil {
		return ResourceRequest{}, err
	}
	if _, v := res[placement.VCPU]; !v {
		if _, p := res[placement.PCPU]; !p {
			res[placement.VCPU] = f.VCPUs
		}
	}
	if _, ok := res[placement.MemoryMB]; !ok {
		res[placement.MemoryMB] = f.MemoryMB
	}
	if _, ok := res[placement.DiskGB]; !ok {
		disk := f.EphemeralGB + (f.SwapMB+1023)/1024
		if !r.BootFromVolume {
			disk += f.RootGB
		}
		res[placement.DiskGB] = disk
	}
	maps.DeleteFunc(res, func(_ string, n int64) bool { return n == 0 })
	return ResourceRequest{Resources: res, RequiredTraits: req.Sorted(), ForbiddenTraits: forb.Sorted()}, nil
}

func addTrait(req, forb Set, name, how string) {
	switch how {
	case "required":
		req[name] = struct{}{}
	case "forbidden":
		forb[name] = struct{}{}
	}
}

// translatePinning is Nova's _translate_pinning_policies.
func (r *Request) translatePinning(res map[string]int64, req, forb Set) error {
	f := r.Flavor
	policy, err := r.cpuPolicy()
	if err != nil {
		return err
	}
	var pcpus int64
	switch policy {
	case "", "shared":
	case "dedicated":
		pcpus = f.VCPUs
	case "mixed":
		mask := f.ExtraSpecs["hw:cpu_dedicated_mask"]
		n, err := dedicatedCount(mask, f.VCPUs)
		if err != nil {
			return fmt.Errorf("%w: hw:cpu_dedicated_mask %q: %v", ErrInvalidRequest, mask, err)
		}
		pcpus = n
		res[placement.VCPU] = f.VCPUs - n
	}
	if policy == "dedicated" || policy == "mixed" {
		if f.ExtraSpecs["hw:emulator_threads_policy"] == "isolate" {
			pcpus++
		}
		res[placement.PCPU] = pcpus
	}
	thread, err := r.threadPolicy()
	if err != nil {
		return err
	}
	switch thread {
	case "isolate":
		forb["HW_CPU_HYPERTHREADING"] = struct{}{}
	case "require":
		req["HW_CPU_HYPERTHREADING"] = struct{}{}
	}
	return nil
}

// cpuPolicy is Nova's get_cpu_policy_constraint: the flavor's
// hw:cpu_policy, or the image's hw_cpu_policy when the flavor sets none;
// an image may not ask for more pinning than the flavor's policy.
func (r *Request) cpuPolicy() (string, error) {
	fp, ip := r.Flavor.ExtraSpecs["hw:cpu_policy"], r.Image.Properties["hw_cpu_policy"]
	valid := func(p string) bool { return p == "" || p == "shared" || p == "dedicated" || p == "mixed" }
	if !valid(fp) || !valid(ip) {
		return "", fmt.Errorf("%w: CPU policy %q is not shared, dedicated or mixed", ErrInvalidRequest, fp+ip)
	}
	switch {
	case fp == "mixed" && ip == "dedicated", fp == "shared" && (ip == "dedicated" || ip == "mixed"):
		return "", fmt.Errorf("%w: image hw_cpu_policy %s may not override the flavor's %s", ErrInvalidRequest, ip, fp)
	case fp != "":
		return fp, nil
	}
	return ip, nil
}

// threadPolicy is Nova's get_cpu_thread_policy_constraint.
func (r *Request) threadPolicy() (string, error) {
	fp, ip := r.Flavor.ExtraSpecs["hw:cpu_thread_policy"], r.Image.Properties["hw_cpu_thread_policy"]
	valid := func(p string) bool { return p == "" || p == "prefer" || p == "isolate" || p == "require" }
	if !valid(fp) || !valid(ip) {
		return "", fmt.Errorf("%w: CPU thread policy %q is not prefer, isolate or require", ErrInvalidRequest, fp+ip)
	}
	switch {
	case fp == "" || fp == "prefer":
		if fp == "" || ip != "" {
			return ip, nil
		}
		return fp, nil
	case ip != "" && ip != fp:
		return "", fmt.Errorf("%w: image hw_cpu_thread_policy %s may not override the flavor's %s", ErrInvalidRequest, ip, fp)
	}
	return fp, nil
}

// dedicatedCount is how many of vcpus guest CPUs a mixed instance's
// dedicated mask pins ("2-3", or "^0-1" for all but those).
func dedicatedCount(mask string, vcpus int64) (int64, error) {
	spec := strings.TrimSpace(mask)
	if strings.HasPrefix(spec, "^") {
		spec = fmt.Sprintf("0-%d,%s", vcpus-1, spec)
	}
	set, err := parseCPUSpec(spec)
	if err != nil {
		return 0, err
	}
	n := int64(len(set))
	for c := range set {
		if c < 0 || int64(c) >= vcpus {
			return 0, fmt.Errorf("CPU %d is not one of the flavor's %d", c, vcpus)
		}
	}
	if n == 0 || n == vcpus {
		return 0, fmt.Errorf("a mixed instance needs both dedicated and shared CPUs")
	}
	return n, nil
}

// parseCPUSpec reads Nova's CPU set syntax: comma-separated CPUs and
// ranges, "^N" or "^N-M" excluding.
func parseCPUSpec(spec string) (map[int]bool, error) {
	in, out := map[int]bool{}, map[int]bool{}
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		dst := in
		if p, ok := strings.CutPrefix(part, "^"); ok {
			dst, part = out, p
		}
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(strings.TrimSpace(lo))
		if err != nil {
			return nil, fmt.Errorf("invalid CPU %q", part)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(strings.TrimSpace(hi)); err != nil || b < a {
				return nil, fmt.Errorf("invalid CPU range %q", part)
			}
		}
		for c := a; c <= b; c++ {
			dst[c] = true
		}
	}
	for c := range out {
		delete(in, c)
	}
	return in, nil
}
