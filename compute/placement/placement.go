package placement

import (
	"fmt"
	"math"
	"regexp"
	"slices"
)

// Standard resource classes (os-resource-classes). Classes outside this
// list must be custom: CUSTOM_ followed by upper-case letters, digits and
// underscores.
const (
	VCPU     = "VCPU"
	MemoryMB = "MEMORY_MB"
	DiskGB   = "DISK_GB"
	PCPU     = "PCPU"
)

// StandardClasses are os-resource-classes' standard classes, in its order
// (Placement gives them ids in this order).
var standardClasses = []string{
	"VCPU", "MEMORY_MB", "DISK_GB", "PCI_DEVICE", "SRIOV_NET_VF", "NUMA_SOCKET", "NUMA_CORE",
	"NUMA_THREAD", "NUMA_MEMORY_MB", "IPV4_ADDRESS", "VGPU", "VGPU_DISPLAY_HEAD",
	"NET_BW_EGR_KILOBIT_PER_SEC", "NET_BW_IGR_KILOBIT_PER_SEC", "PCPU", "MEM_ENCRYPTION_CONTEXT",
	"FPGA", "PGPU", "NET_PACKET_RATE_KILOPACKET_PER_SEC", "NET_PACKET_RATE_EGR_KILOPACKET_PER_SEC",
	"NET_PACKET_RATE_IGR_KILOPACKET_PER_SEC",
}

// StandardClasses returns the standard resource classes.
func StandardClasses() []string { return slices.Clone(standardClasses) }

// IsStandardClass reports whether name is a standard resource class.
func IsStandardClass(name string) bool { return slices.Contains(standardClasses, name) }

var (
	customName = regexp.MustCompile(`^CUSTOM_[A-Z0-9_]+$`)
	anyName    = regexp.MustCompile(`^[A-Z0-9_]+$`)
)

// CheckCustomName reports whether name can be a custom resource class or
// trait: CUSTOM_ and then A-Z, 0-9 and _, at most 255 characters in all.
func CheckCustomName(name string) error {
	if len(name) > 255 || !customName.MatchString(name) {
		return fmt.Errorf("%w: %q must start with CUSTOM_ and have only A-Z, 0-9 and _ (at most 255 characters)", ErrInvalid, name)
	}
	return nil
}

// CheckClass reports whether name is a resource class name that can
// exist: a standard one or a well-formed custom one.
func CheckClass(name string) error {
	if IsStandardClass(name) {
		return nil
	}
	if len(name) <= 255 && anyName.MatchString(name) && !customName.MatchString(name) {
		return fmt.Errorf("%w: no such resource class %q (custom classes start with CUSTOM_)", ErrNotFound, name)
	}
	return CheckCustomName(name)
}

// Inventory is a provider's stock of one resource class. Its zero value
// is not valid: use NewInventory or set every field.
type Inventory struct {
	Total           int64   `json:"total"`
	Reserved        int64   `json:"reserved"`
	MinUnit         int64   `json:"min_unit"`
	MaxUnit         int64   `json:"max_unit"`
	StepSize        int64   `json:"step_size"`
	AllocationRatio float64 `json:"allocation_ratio"`
}

// NewInventory is an inventory of total with Placement's defaults:
// nothing reserved, units of 1 to total, ratio 1.0.
func NewInventory(total int64) Inventory {
	return Inventory{Total: total, MinUnit: 1, MaxUnit: total, StepSize: 1, AllocationRatio: 1}
}

// Capacity is what can be allocated in all: int((total - reserved) *
// allocation_ratio), Placement's rule (Python's int() truncates).
func (i Inventory) Capacity() int64 {
	c := float64(i.Total-i.Reserved) * i.AllocationRatio
	if c >= math.MaxInt64 { // a ratio Placement's schema allows can take it past int64
		return math.MaxInt64
	}
	return int64(c)
}

// Validate reports an inventory Placement would refuse.
func (i Inventory) Validate() error {
	switch {
	case i.Total < 1:
		return fmt.Errorf("%w: total must be at least 1", ErrInvalid)
	case i.Reserved < 0 || i.MinUnit < 1 || i.MaxUnit < 1 || i.StepSize < 1:
		return fmt.Errorf("%w: reserved must be at least 0, min_unit, max_unit and step_size at least 1", ErrInvalid)
	case i.AllocationRatio <= 0 || i.AllocationRatio > 3.40282e38:
		return fmt.Errorf("%w: allocation_ratio must be greater than 0", ErrInvalid)
	case i.MinUnit > i.MaxUnit:
		return fmt.Errorf("%w: min_unit %d is greater than max_unit %d", ErrInvalid, i.MinUnit, i.MaxUnit)
	case i.Reserved > i.Total:
		return fmt.Errorf("%w: reserved %d is greater than total %d", ErrInvalid, i.Reserved, i.Total)
	}
	return nil
}

// Fit reports why amount more units of class do not fit in i when used
// are already allocated: nil when they do. The error is a *CapacityError.
func (i Inventory) Fit(class string, used, amount int64) error {
	var reason string
	switch {
	case amount < i.MinUnit:
		reason = ReasonMinUnit
	case amount > i.MaxUnit:
		reason = ReasonMaxUnit
	case amount%i.StepSize != 0:
		reason = ReasonStepSize
	case used+amount > i.Capacity():
		reason = ReasonCapacity
	default:
		return nil // no error built: the scheduler asks this of every host
	}
	return &CapacityError{Class: class, Amount: amount, Used: used, Inventory: i, Reason: reason}
}

// Why a request does not fit an inventory.
const (
	ReasonCapacity = "capacity"
	ReasonMinUnit  = "min_unit"
	ReasonMaxUnit  = "max_unit"
	ReasonStepSize = "step_size"
	ReasonMissing  = "no inventory"
)

// CapacityError says why an amount does not fit a provider's inventory,
// with the figures, for people: "MEMORY_MB: 4096 requested, 1536 free of
// 15872 (total 16384, reserved 512, ratio 1.0)".
type CapacityError struct {
	Provider  string // name or uuid, when known
	Class     string
	Amount    int64
	Used      int64
	Reason    string
	Inventory Inventory
}

func (e *CapacityError) Error() string {
	p := ""
	if e.Provider != "" {
		p = e.Provider + ": "
	}
	i := e.Inventory
	switch e.Reason {
	case ReasonMissing:
		return fmt.Sprintf("%s%s: %d requested, none in its inventory", p, e.Class, e.Amount)
	case ReasonMinUnit:
		return fmt.Sprintf("%s%s: %d requested, less than min_unit %d", p, e.Class, e.Amount, i.MinUnit)
	case ReasonMaxUnit:
		return fmt.Sprintf("%s%s: %d requested, more than max_unit %d", p, e.Class, e.Amount, i.MaxUnit)
	case ReasonStepSize:
		return fmt.Sprintf("%s%s: %d requested, not a multiple of step_size %d", p, e.Class, e.Amount, i.StepSize)
	}
	return fmt.Sprintf("%s%s: %d requested, %d free of %d (total %d, reserved %d, ratio %g)", p, e.Class, e.Amount,
		max(i.Capacity()-e.Used, 0), i.Capacity(), i.Total, i.Reserved, i.AllocationRatio)
}

// Free is what is left of i with used allocated (never negative: a
// provider whose inventory shrank below its usage has none).
func (i Inventory) Free(used int64) int64 { return max(i.Capacity()-used, 0) }
