package scheduler

import (
	"fmt"
	"slices"
)

// PlacementFilterName is the capacity filter's name. It always runs, and
// first: it does what Placement's allocation candidates do for Nova.
const PlacementFilterName = "PlacementFilter"

// Config is the scheduler's configuration, with Nova's option names (the
// JSON names are Nova's [filter_scheduler] and [scheduler] options).
// Start from DefaultConfig: the zero value of several fields differs from
// Nova's default.
type Config struct {
	// EnabledFilters are the filters to run, in order. PlacementFilter is
	// run first whether listed or not.
	EnabledFilters []string `json:"enabled_filters"`
	// Weighers are the weighers to run (Nova's weight_classes).
	Weighers []string `json:"weight_classes"`

	// HostSubsetSize: the host is picked at random among this many best
	// hosts (at least 1).
	HostSubsetSize int `json:"host_subset_size"`
	// ShuffleBestSameWeighedHosts shuffles the hosts tied for the best
	// weight before picking.
	ShuffleBestSameWeighedHosts bool `json:"shuffle_best_same_weighed_hosts"`
	// MaxAttempts bounds alternates: max_attempts-1 per instance.
	MaxAttempts int `json:"max_attempts"`

	MaxIOOpsPerHost     int64 `json:"max_io_ops_per_host"`
	MaxInstancesPerHost int64 `json:"max_instances_per_host"`

	IsolatedHosts                         []string `json:"isolated_hosts"`
	IsolatedImages                        []string `json:"isolated_images"`
	RestrictIsolatedHostsToIsolatedImages bool     `json:"restrict_isolated_hosts_to_isolated_images"`
	// ImagePropertiesDefaultArchitecture is assumed for images without
	// hw_architecture ("" for none).
	ImagePropertiesDefaultArchitecture string `json:"image_properties_default_architecture"`
	// DefaultAvailabilityZone is the zone of hosts in no zone aggregate.
	DefaultAvailabilityZone string `json:"default_availability_zone"`

	RAMWeightMultiplier               float64 `json:"ram_weight_multiplier"`
	CPUWeightMultiplier               float64 `json:"cpu_weight_multiplier"`
	DiskWeightMultiplier              float64 `json:"disk_weight_multiplier"`
	IOOpsWeightMultiplier             float64 `json:"io_ops_weight_multiplier"`
	NumInstancesWeightMultiplier      float64 `json:"num_instances_weight_multiplier"`
	HypervisorVersionWeightMultiplier float64 `json:"hypervisor_version_weight_multiplier"`
	BuildFailureWeightMultiplier      float64 `json:"build_failure_weight_multiplier"`
	SoftAffinityWeightMultiplier      float64 `json:"soft_affinity_weight_multiplier"`
	SoftAntiAffinityWeightMultiplier  float64 `json:"soft_anti_affinity_weight_multiplier"`

	// PercentageOfHostsToScore: once this share of the hosts has passed
	// the filters, filtering stops and only those are weighed (as
	// kube-scheduler's percentageOfNodesToScore). 0 is adaptive: 50% at
	// 100 hosts, falling by 1% per 125 hosts to 5%, and never fewer than
	// 100 hosts; 100 looks at every host, as Nova does.
	PercentageOfHostsToScore int `json:"percentage_of_hosts_to_score"`
	// Seed makes the random choices (host subset, shuffles, where the
	// scan of a large cluster starts) reproducible; 0 picks a random seed.
	Seed uint64 `json:"seed"`
	// Parallelism is how many goroutines filter one request's hosts
	// (0: GOMAXPROCS).
	Parallelism int `json:"parallelism"`
}

// DefaultFilters are Nova's default enabled_filters, after our capacity
// filter.
func DefaultFilters() []string {
	return []string{
		PlacementFilterName, "ComputeFilter", "ComputeCapabilitiesFilter", "ImagePropertiesFilter",
		"ServerGroupAntiAffinityFilter", "ServerGroupAffinityFilter",
	}
}

// AllWeighers are the built-in weighers, in the order they run.
func AllWeighers() []string {
	return []string{
		"RAMWeigher", "CPUWeigher", "DiskWeigher", "IoOpsWeigher", "NumInstancesWeigher",
		"HypervisorVersionWeigher", "BuildFailureWeigher",
		"ServerGroupSoftAffinityWeigher", "ServerGroupSoftAntiAffinityWeigher",
	}
}

// DefaultConfig is Nova's defaults (nova/conf/scheduler.py), every
// weigher enabled, and an adaptive share of hosts scored.
func DefaultConfig() Config {
	return Config{
		EnabledFilters:                        DefaultFilters(),
		Weighers:                              AllWeighers(),
		HostSubsetSize:                        1,
		MaxAttempts:                           3,
		MaxIOOpsPerHost:                       8,
		MaxInstancesPerHost:                   50,
		RestrictIsolatedHostsToIsolatedImages: true,
		DefaultAvailabilityZone:               "nova",
		RAMWeightMultiplier:                   1,
		CPUWeightMultiplier:                   1,
		DiskWeightMultiplier:                  1,
		IOOpsWeightMultiplier:                 -1,
		NumInstancesWeightMultiplier:          0,
		HypervisorVersionWeightMultiplier:     1,
		BuildFailureWeightMultiplier:          1000000,
		SoftAffinityWeightMultiplier:          1,
		SoftAntiAffinityWeightMultiplier:      1,
	}
}

// validate reports a configuration New refuses.
func (c *Config) validate() error {
	switch {
	case c.HostSubsetSize < 1:
		return fmt.Errorf("%w: host_subset_size %d must be at least 1", ErrInvalidConfig, c.HostSubsetSize)
	case c.MaxAttempts < 1:
		return fmt.Errorf("%w: max_attempts %d must be at least 1", ErrInvalidConfig, c.MaxAttempts)
	case c.MaxIOOpsPerHost < 0:
		return fmt.Errorf("%w: max_io_ops_per_host %d must be at least 0", ErrInvalidConfig, c.MaxIOOpsPerHost)
	case c.MaxInstancesPerHost < 1:
		return fmt.Errorf("%w: max_instances_per_host %d must be at least 1", ErrInvalidConfig, c.MaxInstancesPerHost)
	case c.PercentageOfHostsToScore < 0 || c.PercentageOfHostsToScore > 100:
		return fmt.Errorf("%w: percentage_of_hosts_to_score %d must be 0 to 100", ErrInvalidConfig, c.PercentageOfHostsToScore)
	case c.SoftAffinityWeightMultiplier < 0 || c.SoftAntiAffinityWeightMultiplier < 0:
		return fmt.Errorf("%w: the soft (anti-)affinity weight multipliers must be at least 0", ErrInvalidConfig)
	case c.Parallelism < 0:
		return fmt.Errorf("%w: parallelism %d must be at least 0", ErrInvalidConfig, c.Parallelism)
	}
	return nil
}

// filterNames is EnabledFilters with PlacementFilter first and
// duplicates dropped.
func (c *Config) filterNames() []string {
	names := []string{PlacementFilterName}
	for _, n := range c.EnabledFilters {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names
}

// hostsToFind is how many feasible hosts to look for among n candidates
// before weighing (kube-scheduler's numFeasibleNodesToFind).
func (c *Config) hostsToFind(n int) int {
	const minHosts, minPercent = 100, 5
	pct := c.PercentageOfHostsToScore
	if n < minHosts || pct >= 100 {
		return n
	}
	if pct == 0 {
		pct = max(50-n/125, minPercent)
	}
	return max(n*pct/100, minHosts)
}
