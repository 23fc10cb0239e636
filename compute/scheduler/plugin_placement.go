package scheduler

import (
	"fmt"
	"strings"

	"github.com/gostack/gostack/compute/placement"
)

// placementFilter is PlacementFilter: what Placement's GET
// /allocation_candidates decides for Nova before its filters run. Every
// requested class must fit the host's inventory (Placement's capacity
// rule, with the figures when it does not), the required traits must be
// there and the forbidden ones absent, and a requested availability zone
// must be one of the host's (Nova maps zones to aggregates; a host in no
// zone aggregate is in default_availability_zone, as Nova's
// AvailabilityZoneFilter has it). It runs for every instance, since each
// placed instance uses up capacity.
type placementFilter struct{ defaultAZ string }

var _ Filter = placementFilter{}

func newPlacementFilter(cfg *Config) (Plugin, error) {
	return placementFilter{defaultAZ: cfg.DefaultAvailabilityZone}, nil
}

func (placementFilter) Name() string { return PlacementFilterName }

func (f placementFilter) Filter(st *State, h *Host) *Status {
	for _, a := range st.amts {
		r, ok := h.Resources[a.class]
		if !ok {
			return RejectErr(&placement.CapacityError{Class: a.class, Amount: a.n, Reason: placement.ReasonMissing})
		}
		inv := effective(r.Inventory)
		if !fits(inv, r.Used, a.n) {
			return RejectErr(inv.Fit(a.class, r.Used, a.n))
		}
	}
	for _, t := range st.rr.RequiredTraits {
		if !h.Traits.Has(t) {
			return Rejectf("lacks required trait %s", t)
		}
	}
	for _, t := range st.rr.ForbiddenTraits {
		if h.Traits.Has(t) {
			return Rejectf("has forbidden trait %s", t)
		}
	}
	if az := st.req.AvailabilityZone; az != "" && !inAZ(h, az, f.defaultAZ) {
		return Rejectf("not in availability zone %q (its zones: %s)", az, hostAZs(h, f.defaultAZ))
	}
	return nil
}

// effective fills the fields an embedder left at zero with Placement's
// defaults (min_unit and step_size 1, max_unit the total, ratio 1.0), so
// that a Resource{Inventory{Total: n}} means what it says.
func effective(inv placement.Inventory) placement.Inventory {
	if inv.MinUnit == 0 {
		inv.MinUnit = 1
	}
	if inv.MaxUnit == 0 {
		inv.MaxUnit = inv.Total
	}
	if inv.StepSize == 0 {
		inv.StepSize = 1
	}
	if inv.AllocationRatio == 0 {
		inv.AllocationRatio = 1
	}
	return inv
}

// fits is placement.Inventory.Fit without building the error, for the
// hot path: Fit allocates its error whether or not it returns it.
func fits(inv placement.Inventory, used, n int64) bool {
	return n >= inv.MinUnit && n <= inv.MaxUnit && n%inv.StepSize == 0 && used+n <= inv.Capacity()
}

// inAZ reports whether h is in availability zone az.
func inAZ(h *Host, az, defaultAZ string) bool {
	match := false
	inAny := h.eachAZ(func(z string) bool {
		match = z == az
		return !match
	})
	if !inAny {
		return az == defaultAZ
	}
	return match
}

// hostAZs lists h's zones for a message.
func hostAZs(h *Host, defaultAZ string) string {
	var zs []string
	if !h.eachAZ(func(z string) bool { zs = append(zs, fmt.Sprintf("%q", z)); return true }) {
		return fmt.Sprintf("%q, the default", defaultAZ)
	}
	return strings.Join(zs, ", ")
}
