package storage

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/gostack/gostack/kit/pyrepr"
)

// Capacity is a capacity figure as a Cinder driver reports it: a number
// of GiB, or one of the words "infinite" and "unknown" for a backend
// that cannot tell. The zero value is a figure never reported (Cinder's
// None), which the CapacityFilter refuses to place on. It reads and
// writes JSON as a number, the word, or null.
type Capacity struct {
	gb   float64
	word string // "", "infinite", "unknown", or "gb" for a number
}

// GB is a capacity of n GiB.
func GB(n float64) Capacity { return Capacity{gb: n, word: "gb"} }

// The capacities a backend that cannot tell reports.
var (
	CapacityInfinite = Capacity{word: "infinite"}
	CapacityUnknown  = Capacity{word: "unknown"}
)

// Number is the capacity in GiB, and false for infinite, unknown and
// never reported.
func (c Capacity) Number() (float64, bool) { return c.gb, c.word == "gb" }

// Reported is false for the zero Capacity.
func (c Capacity) Reported() bool { return c.word != "" }

// String is the number as Python prints it, the word, or None.
func (c Capacity) String() string {
	switch c.word {
	case "gb":
		return pyrepr.Float(c.gb)
	case "":
		return "None"
	}
	return c.word
}

// MarshalJSON writes the number, the word or null.
func (c Capacity) MarshalJSON() ([]byte, error) {
	switch c.word {
	case "gb":
		return json.Marshal(c.gb)
	case "":
		return []byte("null"), nil
	}
	return json.Marshal(c.word)
}

// UnmarshalJSON reads a number, "infinite", "unknown" or null.
func (c *Capacity) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*c = Capacity{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		switch s {
		case "infinite":
			*c = CapacityInfinite
		case "unknown":
			*c = CapacityUnknown
		default:
			return fmt.Errorf("storage: capacity %q: not a number, infinite or unknown", s)
		}
		return nil
	}
	var n float64
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("storage: capacity %s: not a number, infinite or unknown", b)
	}
	*c = GB(n)
	return nil
}

// CapacityFactors are the figures of Cinder's
// utils.calculate_capacity_factors, rounded to two places where Cinder
// rounds them.
type CapacityFactors struct {
	TotalCapacity                  float64
	FreeCapacity                   float64
	ReservedCapacity               float64
	TotalReservedAvailableCapacity float64
	// MaxOverSubscriptionRatio is set for thin provisioning only.
	MaxOverSubscriptionRatio *float64
	TotalAvailableCapacity   float64
	ProvisionedCapacity      float64
	CalculatedFreeCapacity   float64
	VirtualFreeCapacity      float64
	FreePercent              float64
	ProvisionedRatio         float64
	// ProvisionedType is "thin" or "thick".
	ProvisionedType string
}

// CalculateCapacityFactors is Cinder's utils.calculate_capacity_factors,
// the arithmetic of its CapacityFilter and CapacityWeigher: reserved
// space is floor(total * reserved%); thin provisioning (when the volume
// is thin and the backend supports it) multiplies what is left by the
// over-subscription ratio and takes the provisioned capacity off; thick
// takes the provisioned capacity off what is left, and no more than
// the backend reports free.
func CalculateCapacityFactors(total, free, provisioned float64, thinSupport bool, maxOverSubscriptionRatio float64,
	reservedPercentage float64, thin bool) CapacityFactors {
	reserved := reservedPercentage / 100
	reservedCapacity := math.Floor(total * reserved)
	totalReservedAvailable := total - reservedCapacity
	f := CapacityFactors{TotalCapacity: total, FreeCapacity: free, ReservedCapacity: reservedCapacity,
		TotalReservedAvailableCapacity: pyRound2(totalReservedAvailable), ProvisionedCapacity: provisioned}
	var totalAvailable, calculatedFree, virtualFree float64
	if thin && thinSupport {
		totalAvailable = totalReservedAvailable * maxOverSubscriptionRatio
		calculatedFree = totalAvailable - provisioned
		virtualFree = calculatedFree
		ratio := maxOverSubscriptionRatio
		f.MaxOverSubscriptionRatio, f.ProvisionedType = &ratio, "thin"
	} else {
		totalAvailable = totalReservedAvailable
		calculatedFree = totalAvailable - provisioned
		virtualFree = calculatedFree
		if free < calculatedFree {
			virtualFree = free
		}
		f.ProvisionedType = "thick"
	}
	var provisionedRatio, freePercent float64
	if totalAvailable != 0 {
		provisionedRatio = provisioned / totalAvailable
		freePercent = virtualFree / totalAvailable * 100
	}
	f.TotalAvailableCapacity = pyRound2(totalAvailable)
	f.CalculatedFreeCapacity = pyRound2(calculatedFree)
	f.VirtualFreeCapacity = pyRound2(virtualFree)
	f.FreePercent = pyRound2(freePercent)
	f.ProvisionedRatio = pyRound2(provisionedRatio)
	return f
}

// pyRound2 is Python's round(x, 2): the float nearest the decimal
// rounding of x's exact value to two places, ties to even.
func pyRound2(x float64) float64 {
	if math.IsInf(x, 0) || math.IsNaN(x) {
		return x
	}
	r, err := strconv.ParseFloat(strconv.FormatFloat(x, 'f', 2, 64), 64)
	if err != nil {
		return x
	}
	return r
}
