// Package scheduler decides which compute host takes an instance, with
// Nova's filters and weighers and their semantics, over a snapshot of
// hosts an embedder fills in as plain values. It is pure Go: no
// database, no HTTP, no cgo. The caller brings the hosts (Host, with
// Placement inventories and usage) and the claim (a Reserver); the
// scheduler brings the decision and, when there is none, an explanation.
//
// # Pipeline
//
// For each request, Schedule:
//
//  1. parses the request once into a State: resources asked of Placement
//     (Request.Resources, Nova's resources_from_request_spec), traits,
//     sorted extra specs, the server group, hints;
//  2. runs every PreFilter once; each may skip its Filter for this
//     request, narrow the candidates (affinity to the group's hosts), or
//     refuse the request;
//  3. filters the hosts in parallel chunks, kube-scheduler style. On a
//     large cluster it stops once enough hosts have passed
//     (Config.PercentageOfHostsToScore; adaptive by default: 50% at 100
//     hosts down to 5%, never fewer than 100), starting where the
//     previous request stopped. The answer does not depend on the
//     parallelism;
//  4. weighs the hosts that passed: each weigher's raw values are
//     clamped, min-max normalised over the candidates (Nova's
//     normalize: a bound stands in for the observed extreme, all equal
//     is 0), multiplied by the weigher's multiplier for the host (its
//     configured value, or the least value the host's aggregates give
//     under the option's name) and summed;
//  5. picks one of the best host_subset_size at random (seeded), after
//     shuffling the hosts tied for best when
//     shuffle_best_same_weighed_hosts is set;
//  6. reserves it through the Reservers (the caller's atomic Placement
//     claim), walking down the ranking when a claim loses a race;
//  7. for a multi-create, consumes the instance's resources from a
//     private copy of the host and repeats from 3 over the hosts that
//     passed, running only the filters that can change between instances
//     (Nova's run_filter_once_per_request). Below Request.MinCount every
//     reservation is undone and the error is a *NoValidHost.
//
// Rank does 1 to 4 for a first instance and returns the whole ranking,
// each weigher's part and each filter's counts: for tests and tools.
//
// # Extension points
//
// Plugins are found by name in a Registry the embedder owns (Builtins
// returns one with every built-in; Register adds more, refusing
// duplicates), and enabled by name in Config.EnabledFilters and
// Config.Weighers. There is no global registry: two schedulers with
// different plugins can live in one process.
//
//	PreFilter       once per request: parse, skip, narrow, or refuse
//	Filter          pass or reject one host, with a reason
//	OncePerRequest  the filter runs for a multi-create's first instance only
//	Weigher         a raw value and a multiplier per host
//	Bounded         a weigher's minval/maxval
//	PreWeigher      a weigher opts out of a request
//	Reserver        claim the chosen host; undo the claim
//
// # Built-in plugins
//
//	PlacementFilter                    capacity of every requested class (Placement's rule,
//	                                   placement.Inventory.Fit), required/forbidden traits,
//	                                   availability zone; always first
//	ComputeFilter                      service enabled and up
//	ComputeCapabilitiesFilter          extra specs against host attributes and stats
//	ImagePropertiesFilter              image arch / hypervisor type / vm mode / version
//	ServerGroupAffinityFilter          affinity: only the group's hosts
//	ServerGroupAntiAffinityFilter      anti-affinity: fewer than max_server_per_host members
//	SameHostFilter, DifferentHostFilter  same_host / different_host hints
//	AggregateInstanceExtraSpecsFilter  extra specs against aggregate metadata
//	AggregateMultiTenancyIsolation     filter_tenant_id aggregates take only their projects
//	AggregateTypeAffinityFilter        instance_type aggregates take only their flavors
//	IsolatedHostsFilter                isolated images on isolated hosts
//	IoOpsFilter, AggregateIoOpsFilter  fewer than max_io_ops_per_host I/O operations
//	NumInstancesFilter, AggregateNumInstancesFilter  fewer than max_instances_per_host
//	JsonFilter                         the query hint over host attributes
//	AllHostsFilter                     passes everything
//
//	RAMWeigher           free_ram_mb, minval 0                         ram_weight_multiplier 1.0
//	CPUWeigher           vcpus_total*cpu_allocation_ratio-vcpus_used   cpu_weight_multiplier 1.0
//	DiskWeigher          free_disk_mb, minval 0                        disk_weight_multiplier 1.0
//	IoOpsWeigher         num_io_ops, minval 0                          io_ops_weight_multiplier -1.0
//	NumInstancesWeigher  num_instances                                 num_instances_weight_multiplier 0.0
//	HypervisorVersionWeigher  hypervisor_version                       hypervisor_version_weight_multiplier 1.0
//	BuildFailureWeigher  failed_builds, multiplier negated             build_failure_weight_multiplier 1e6
//	ServerGroupSoftAffinityWeigher      group members on the host      soft_affinity_weight_multiplier 1.0
//	ServerGroupSoftAntiAffinityWeigher  minus group members on the host  soft_anti_affinity_weight_multiplier 1.0
//
// # What it does not do
//
// It keeps no state between requests beyond two counters: the embedder
// snapshots hosts (from its Store) for each call, and the claim, not the
// scheduler, is what keeps two schedulers from overcommitting a host. It
// has no NUMA topology, PCI, metrics, cross-cell or image-properties
// weighers, no NUMATopology, PciPassthrough, Metrics,
// AggregateImagePropertiesIsolation or SimpleCIDRAffinity filters, and
// no rebuild mode (Nova's RUN_ON_REBUILD). Hosts are single resource
// providers: Placement's nested and sharing providers, and numbered
// request groups (whose amounts are added up), are out of scope.
// TestNovaDifferential lists where it knowingly differs from Nova.
package scheduler
