package storage

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/pyrepr"
)

// PoolState is what the scheduler knows of one backend pool
// (host@backend#pool) when a request arrives: Cinder's PoolState, from
// the pool's last report and what was placed on it since.
type PoolState struct {
	Host             string `json:"host"`
	AvailabilityZone string `json:"availability_zone"`
	// TotalCapacityGB and FreeCapacityGB are the reported figures, free
	// less what was placed on the pool since the report (Cinder's
	// consume_from_volume).
	TotalCapacityGB Capacity `json:"total_capacity_gb"`
	FreeCapacityGB  Capacity `json:"free_capacity_gb"`
	// AllocatedCapacityGB is what the volumes placed on the pool take.
	AllocatedCapacityGB float64 `json:"allocated_capacity_gb"`
	// ProvisionedCapacityGB is the reported figure (the allocated one
	// when the pool reports none) plus what was placed since.
	ProvisionedCapacityGB    float64 `json:"provisioned_capacity_gb"`
	ThinProvisioningSupport  bool    `json:"thin_provisioning_support"`
	ThickProvisioningSupport bool    `json:"thick_provisioning_support"`
	MaxOverSubscriptionRatio float64 `json:"max_over_subscription_ratio"`
	ReservedPercentage       int     `json:"reserved_percentage"`
	// Capabilities are what CapabilitiesFilter matches extra specs
	// against: the report's figures and flags under Cinder's names,
	// and the driver's other capabilities.
	Capabilities map[string]any `json:"capabilities"`
}

// Scheduling operations (Cinder's request_spec operation).
const (
	OpCreateVolume = "create_volume"
	OpExtendVolume = "extend_volume"
	// OpRetypeVolume finds a pool for a volume's new type: its own pool
	// (Size 0: the volume is there already) or, to migrate it, another.
	OpRetypeVolume = "retype"
	// OpMigrateVolume checks an admin's migration's destination pool
	// (Cinder's backend_passes_filters).
	OpMigrateVolume = "migrate_volume"
)

// ScheduleRequest is what to place: Cinder's request_spec and
// filter_properties as plain values.
type ScheduleRequest struct {
	// Operation is OpCreateVolume, OpExtendVolume, OpRetypeVolume or
	// OpMigrateVolume.
	Operation string
	VolumeID  string
	// Size is the GiB to find room for (an extend's growth; 0, a manage
	// request in Cinder, fits anywhere).
	Size int64
	// AvailabilityZones are the zones the volume may go to (empty: any).
	AvailabilityZones []string
	// VolumeType is the volume's type (nil: none), whose extra specs
	// CapabilitiesFilter matches and whose provisioning:type says thin or
	// thick.
	VolumeType *VolumeType
}

// thin is whether the request's volume is thin (its type's
// provisioning:type is not "thick").
func (r *ScheduleRequest) thin() bool {
	return r.VolumeType == nil || r.VolumeType.ExtraSpecs[SpecProvisioningType] != "thick"
}

// BackendFilter passes or rejects one pool for a request: nil passes,
// an error says why not (for people). It must be safe for concurrent
// use and must not change the request or the pool.
type BackendFilter interface {
	Name() string
	Filter(req *ScheduleRequest, p *PoolState) error
}

// BackendWeigher scores the pools that passed the filters; higher wins.
// Weigh returns a raw value per pool (in order); the scheduler
// normalises them over the pools to 0..1 (Cinder's normalize: all equal
// is 0), multiplies by Multiplier and adds the weighers up.
type BackendWeigher interface {
	Name() string
	Multiplier() float64
	Weigh(req *ScheduleRequest, pools []*PoolState) []float64
}

// Scheduler is Cinder's filter scheduler: filters in order, then
// weighers; the best pool first, ties in the order the pools came.
type Scheduler struct {
	Filters  []BackendFilter
	Weighers []BackendWeigher
}

// Plugins are filters and weighers by name (Cinder's class names): an
// embedder's registry, to which it adds its own plugins or replaces a
// weigher with another multiplier before building a Scheduler.
type Plugins struct {
	Filters  map[string]BackendFilter
	Weighers map[string]BackendWeigher
}

// BuiltinPlugins are fresh maps of the built-in plugins: the filters
// AvailabilityZoneFilter, CapacityFilter, CapabilitiesFilter, and the
// weighers CapacityWeigher (capacity_weight_multiplier 1.0) and
// AllocatedCapacityWeigher (allocated_capacity_weight_multiplier -1.0).
func BuiltinPlugins() Plugins {
	return Plugins{
		Filters: map[string]BackendFilter{
			"AvailabilityZoneFilter": AvailabilityZoneFilter{},
			"CapacityFilter":         CapacityFilter{},
			"CapabilitiesFilter":     CapabilitiesFilter{},
		},
		Weighers: map[string]BackendWeigher{
			"CapacityWeigher":          CapacityWeigher{WeightMultiplier: 1},
			"AllocatedCapacityWeigher": AllocatedCapacityWeigher{WeightMultiplier: -1},
		},
	}
}

// Scheduler builds a scheduler of the named filters and weighers, in
// order (Cinder's scheduler_default_filters and
// scheduler_default_weighers); an unknown name is an error.
func (p Plugins) Scheduler(filters, weighers []string) (*Scheduler, error) {
	s := &Scheduler{}
	for _, n := range filters {
		f, ok := p.Filters[n]
		if !ok {
			return nil, fmt.Errorf("storage: no scheduler filter %q (known: %s)", n, strings.Join(slices.Sorted(maps.Keys(p.Filters)), ", "))
		}
		s.Filters = append(s.Filters, f)
	}
	for _, n := range weighers {
		w, ok := p.Weighers[n]
		if !ok {
			return nil, fmt.Errorf("storage: no scheduler weigher %q (known: %s)", n, strings.Join(slices.Sorted(maps.Keys(p.Weighers)), ", "))
		}
		s.Weighers = append(s.Weighers, w)
	}
	return s, nil
}

// DefaultScheduler is Cinder's default: AvailabilityZoneFilter,
// CapacityFilter, CapabilitiesFilter, then CapacityWeigher.
func DefaultScheduler() *Scheduler {
	return &Scheduler{
		Filters:  []BackendFilter{AvailabilityZoneFilter{}, CapacityFilter{}, CapabilitiesFilter{}},
		Weighers: []BackendWeigher{CapacityWeigher{WeightMultiplier: 1}},
	}
}

// Weighed is a pool that passed, with its weight.
type Weighed struct {
	Pool   *PoolState
	Weight float64
}

// FilterResult is what one filter did to a request: how many pools it
// was given and passed, and why it rejected the pools it did (by host).
type FilterResult struct {
	Name    string
	Start   int
	End     int
	Reasons map[string]string
}

// NoValidBackend is Cinder's NoValidBackend: no pool can take the
// request. Its message is Cinder's; Filters say what each filter did.
// It is a Conflict (409) at the API edge: the request was sound, the
// backends cannot take it now, and nothing changed.
type NoValidBackend struct {
	Reason  string
	Filters []FilterResult
}

func (e *NoValidBackend) Error() string { return "No valid backend was found. " + e.Reason }

// Is makes the error a fault.Conflict (fault.KindOf).
func (e *NoValidBackend) Is(target error) bool { return target == fault.ErrConflict }

// Explain is what each filter did, for operators: "CapacityFilter
// (start: 3, end: 1)" and each rejected pool's reason.
func (e *NoValidBackend) Explain() string {
	var b strings.Builder
	for _, f := range e.Filters {
		fmt.Fprintf(&b, "%s (start: %d, end: %d)\n", f.Name, f.Start, f.End)
		for _, h := range slices.Sorted(maps.Keys(f.Reasons)) {
			fmt.Fprintf(&b, "  %s: %s\n", h, f.Reasons[h])
		}
	}
	return b.String()
}

// passes runs every filter on p.
func (s *Scheduler) passes(req *ScheduleRequest, p *PoolState) error {
	for _, f := range s.Filters {
		if err := f.Filter(req, p); err != nil {
			return fmt.Errorf("%s: %w", f.Name(), err)
		}
	}
	return nil
}

// Rank filters the pools for req and weighs those that passed: best
// first, ties in the order given (Python's stable sort). When none
// passes the error is a *NoValidBackend.
func (s *Scheduler) Rank(req *ScheduleRequest, pools []*PoolState) ([]Weighed, error) {
	left := pools
	var results []FilterResult
	for _, f := range s.Filters {
		r := FilterResult{Name: f.Name(), Start: len(left), Reasons: map[string]string{}}
		var kept []*PoolState
		for _, p := range left {
			if err := f.Filter(req, p); err != nil {
				r.Reasons[p.Host] = err.Error()
				continue
			}
			kept = append(kept, p)
		}
		r.End, left = len(kept), kept
		results = append(results, r)
	}
	if len(left) == 0 {
		return nil, &NoValidBackend{Reason: "No weighed backends available", Filters: results}
	}
	out := make([]Weighed, len(left))
	for i, p := range left {
		out[i].Pool = p
	}
	for _, w := range s.Weighers {
		raw := w.Weigh(req, left)
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, x := range raw {
			lo, hi = math.Min(lo, x), math.Max(hi, x)
		}
		m := w.Multiplier()
		for i, x := range raw {
			if hi != lo {
				out[i].Weight += m * ((x - lo) / (hi - lo))
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Weight > out[j].Weight })
	return out, nil
}

// AvailabilityZoneFilter is Cinder's: a pool in one of the request's
// zones (any pool when the request names none).
type AvailabilityZoneFilter struct{}

// Name is the filter's class name.
func (AvailabilityZoneFilter) Name() string { return "AvailabilityZoneFilter" }

// Filter passes a pool of the request's zones.
func (AvailabilityZoneFilter) Filter(req *ScheduleRequest, p *PoolState) error {
	if len(req.AvailabilityZones) == 0 || slices.Contains(req.AvailabilityZones, p.AvailabilityZone) {
		return nil
	}
	return fmt.Errorf("availability zone %q is not %s", p.AvailabilityZone, strings.Join(req.AvailabilityZones, " or "))
}

// CapacityFilter is Cinder's (cinder/scheduler/filters/capacity_filter.py)
// with its arithmetic: room for the request's size after the reserved
// percentage, with thin provisioning's over-subscription ratio when the
// pool supports it and the type is not thick. Its reasons are Cinder's
// log lines.
type CapacityFilter struct{}

// Name is the filter's class name.
func (CapacityFilter) Name() string { return "CapacityFilter" }

// Filter passes a pool with room for the request.
func (CapacityFilter) Filter(req *ScheduleRequest, p *PoolState) error {
	requested := float64(req.Size)
	if requested == 0 {
		return nil
	}
	if !p.FreeCapacityGB.Reported() {
		return fmt.Errorf("Free capacity not set: volume node info collection broken.")
	}
	free, freeKnown := p.FreeCapacityGB.Number()
	if !freeKnown {
		// The pool cannot tell: Cinder assumes it can serve.
		return nil
	}
	total, totalKnown := p.TotalCapacityGB.Number()
	if !p.TotalCapacityGB.Reported() {
		total, totalKnown = 0, true // Cinder's BackendState starts at 0
	}
	if !totalKnown {
		if p.ReservedPercentage == 0 {
			return nil
		}
		return fmt.Errorf("Cannot calculate GB of reserved space (%d%%) with backend's reported total capacity '%s'",
			p.ReservedPercentage, p.TotalCapacityGB)
	}
	if total <= 0 {
		return fmt.Errorf("Insufficient free space for volume creation. Total capacity is %.2f on host %s.", total, p.Host)
	}
	thin := req.thin()
	mosr := 1.0
	if p.ThinProvisioningSupport {
		mosr = p.MaxOverSubscriptionRatio
	}
	f := CalculateCapacityFactors(total, free, p.ProvisionedCapacityGB, p.ThinProvisioningSupport, mosr,
		float64(p.ReservedPercentage), thin)
	virtualFree := f.VirtualFreeCapacity
	switch {
	case thin && p.ThinProvisioningSupport && p.MaxOverSubscriptionRatio >= 1:
		if f.TotalAvailableCapacity == 0 {
			// Cinder divides by zero here and fails the request.
			return fmt.Errorf("No capacity available for thin provisioning on host %s.", p.Host)
		}
		ratio := (p.ProvisionedCapacityGB + requested) / f.TotalAvailableCapacity
		if ratio > p.MaxOverSubscriptionRatio {
			return fmt.Errorf("Insufficient free space for thin provisioning. The ratio of provisioned capacity over total capacity "+
				"%.2f has exceeded the maximum over subscription ratio %.2f on host %s.", ratio, p.MaxOverSubscriptionRatio, p.Host)
		}
		if virtualFree < requested {
			return fmt.Errorf("Insufficient free virtual space (%sGB) to accommodate thin provisioned %dGB volume on host %s.",
				pyrepr.Float(virtualFree), req.Size, p.Host)
		}
		return nil
	case thin && p.ThinProvisioningSupport:
		return fmt.Errorf("Filtering out host %s with an invalid maximum over subscription ratio of %.2f. The ratio should be a minimum of 1.0.",
			p.Host, p.MaxOverSubscriptionRatio)
	}
	if virtualFree < requested {
		return fmt.Errorf("Insufficient free space for volume creation on host %s (requested / avail): %d/%s",
			p.Host, req.Size, pyrepr.Float(virtualFree))
	}
	return nil
}

// CapabilitiesFilter is Cinder's: each extra spec of the request's type
// that is not scoped, or scoped "capabilities:", must be met by the
// pool's capability of that name (nested scopes read nested maps; a
// list is met by any item) with MatchSpec; specs of other scopes
// (vendor ones, provisioning:type, RESKEY:...) are left alone.
type CapabilitiesFilter struct{}

// Name is the filter's class name.
func (CapabilitiesFilter) Name() string { return "CapabilitiesFilter" }

// Filter passes a pool whose capabilities meet the type's extra specs.
func (CapabilitiesFilter) Filter(req *ScheduleRequest, p *PoolState) error {
	if req.VolumeType == nil {
		return nil
	}
	for _, key := range slices.Sorted(maps.Keys(req.VolumeType.ExtraSpecs)) {
		want := req.VolumeType.ExtraSpecs[key]
		scope := strings.Split(key, ":")
		if len(scope) > 1 && scope[0] != "capabilities" {
			continue
		}
		if scope[0] == "capabilities" {
			scope = scope[1:]
		}
		var cap any = p.Capabilities
		for _, s := range scope {
			m, ok := cap.(map[string]any)
			if !ok {
				return fmt.Errorf("Backend doesn't provide capability '%s'", s)
			}
			if cap, ok = m[s]; !ok {
				return fmt.Errorf("Backend doesn't provide capability '%s'", s)
			}
		}
		values := []any{cap}
		if list, ok := cap.([]any); ok {
			values = list
		}
		met := false
		for _, v := range values {
			if MatchSpec(v, want) {
				met = true
				break
			}
		}
		if !met {
			return fmt.Errorf("Volume type extra spec requirement \"%s=%s\" does not match reported capability \"%v\"", key, want, cap)
		}
	}
	return nil
}

// Cinder's OFFSET_MULT and OFFSET_MIN: what an infinite pool weighs when
// the smallest free capacity wins.
const (
	capacityOffsetMult = 100
	capacityOffsetMin  = 10000
)

// CapacityWeigher is Cinder's (cinder/scheduler/weights/capacity.py):
// the pool's virtual free capacity (thin provisioning's, as
// CalculateCapacityFactors computes it, unless the type is thick); a
// pool reporting infinite or unknown capacity (or, here, no free
// capacity at all where Cinder's thick arithmetic cannot weigh it)
// weighs least (-1) with a positive multiplier, and most with a
// negative one.
type CapacityWeigher struct {
	// WeightMultiplier is capacity_weight_multiplier (Cinder's default
	// 1.0 spreads; negative stacks).
	WeightMultiplier float64
}

// Name is the weigher's class name.
func (CapacityWeigher) Name() string { return "CapacityWeigher" }

// Multiplier is capacity_weight_multiplier.
func (w CapacityWeigher) Multiplier() float64 { return w.WeightMultiplier }

// Weigh is each pool's virtual free capacity.
func (w CapacityWeigher) Weigh(req *ScheduleRequest, pools []*PoolState) []float64 {
	out := make([]float64, len(pools))
	thin := req.thin()
	for i, p := range pools {
		free, ok1 := p.FreeCapacityGB.Number()
		total, ok2 := p.TotalCapacityGB.Number()
		if !p.TotalCapacityGB.Reported() {
			total, ok2 = 0, true
		}
		if !p.FreeCapacityGB.Reported() && thin && p.ThinProvisioningSupport {
			free, ok1 = 0, true // thin provisioning does not read it
		}
		switch {
		case !ok1 || !ok2:
			if w.WeightMultiplier > 0 {
				out[i] = -1
			} else {
				out[i] = math.Inf(1)
			}
		default:
			out[i] = CalculateCapacityFactors(total, free, p.ProvisionedCapacityGB, p.ThinProvisioningSupport,
				p.MaxOverSubscriptionRatio, float64(p.ReservedPercentage), thin).VirtualFreeCapacity
		}
	}
	// Cinder's weigh_objects: an infinite weight becomes the largest
	// finite one plus 100 times the spread (10000 without a spread).
	lo, hi := math.Inf(1), math.Inf(-1)
	finite := false
	for _, x := range out {
		lo = math.Min(lo, x)
		if !math.IsInf(x, 1) {
			hi, finite = math.Max(hi, x), true
		}
	}
	if !finite {
		return make([]float64, len(out)) // all infinite: all equal
	}
	offset := (hi - lo) * capacityOffsetMult
	if offset == 0 {
		offset = capacityOffsetMin
	}
	for i, x := range out {
		if math.IsInf(x, 1) {
			out[i] = hi + offset
		}
	}
	return out
}

// AllocatedCapacityWeigher is Cinder's: the capacity allocated on the
// pool, with a negative multiplier by default so the least allocated
// pool wins.
type AllocatedCapacityWeigher struct {
	// WeightMultiplier is allocated_capacity_weight_multiplier (Cinder's
	// default -1.0).
	WeightMultiplier float64
}

// Name is the weigher's class name.
func (AllocatedCapacityWeigher) Name() string { return "AllocatedCapacityWeigher" }

// Multiplier is allocated_capacity_weight_multiplier.
func (w AllocatedCapacityWeigher) Multiplier() float64 { return w.WeightMultiplier }

// Weigh is each pool's allocated capacity.
func (AllocatedCapacityWeigher) Weigh(_ *ScheduleRequest, pools []*PoolState) []float64 {
	out := make([]float64, len(pools))
	for i, p := range pools {
		out[i] = p.AllocatedCapacityGB
	}
	return out
}
