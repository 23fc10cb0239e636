package scheduler

import (
	"context"
	"fmt"
	"maps"
	"slices"
)

// Plugin is anything the scheduler runs: a filter, a weigher, or both.
// Its name is what Config lists.
type Plugin interface {
	Name() string
}

// PreFilter runs once per request, before any host is looked at. It
// parses what its Filter needs and stores it in the State (st.Write), and
// may:
//
//   - return a Status with code Skip: its Filter is not needed for this
//     request (no group, no hint, no extra spec it reads) and is not run;
//   - return a result naming hosts: only they are candidates (affinity
//     to the group's hosts), which spares looking at the others;
//   - return an Unschedulable or Error status: the request fails at once.
type PreFilter interface {
	Plugin
	PreFilter(ctx context.Context, st *State) (*PreFilterResult, *Status)
}

// PreFilterResult narrows a request's candidates.
type PreFilterResult struct {
	// Hosts are the host names (Host.Name) the request may go to; nil
	// means every host.
	Hosts Set
}

// Filter passes or rejects one host. It must be safe to call from
// several goroutines at once and must not write to st or h: the
// scheduler filters hosts in parallel. A rejection carries a reason for
// people ("8 I/O operations in progress, at most 8").
type Filter interface {
	Plugin
	Filter(st *State, h *Host) *Status
}

// OncePerRequest is implemented by filters whose answer cannot change
// between the instances of a multi-create (Nova's
// run_filter_once_per_request): they run for the first instance only.
type OncePerRequest interface {
	OncePerRequest() bool
}

// Weigher scores a host; higher wins. The scheduler clamps the raw
// values to the weigher's Bounds, normalises them over the current
// candidates to 0..1 (Nova's min-max normalisation: a bound, when set,
// stands in for the observed minimum or maximum; when all are equal
// every host scores 0), multiplies by the weigher's multiplier for each
// host and adds the products up.
type Weigher interface {
	Plugin
	Weigh(st *State, h *Host) float64
	// Multiplier is the weigher's multiplier for h: usually its
	// configured value, overridden by the host's aggregates (see
	// AggregateMultiplier).
	Multiplier(st *State, h *Host) float64
}

// Bounded is implemented by weighers with Nova's minval/maxval.
type Bounded interface {
	Bounds() Bounds
}

// Bounds clamp a weigher's raw values.
type Bounds struct {
	Min, Max       float64
	HasMin, HasMax bool
}

// PreWeigher lets a weigher opt out of a request (a Skip status), which
// is the same as every host scoring 0: the soft-affinity weighers do so
// when the request has no group of their policy.
type PreWeigher interface {
	PreWeigh(st *State) *Status
}

// Reserver claims the chosen host for the current instance (the caller's
// atomic Placement claim). When Reserve fails, the scheduler tries the
// next host in weight order, as Nova walks its sorted list; when a
// request is given up, every Reserve that succeeded is undone with
// Unreserve. The host passed is the caller's own snapshot *Host.
// Unreserve must be idempotent.
type Reserver interface {
	Reserve(ctx context.Context, st *State, h *Host) error
	Unreserve(ctx context.Context, st *State, h *Host)
}

// Code is a Status's kind. The zero Code is success, which a nil *Status
// also means.
type Code int

// Status codes.
const (
	Success Code = iota
	// Unschedulable: the host (or, from a PreFilter, the request) cannot
	// be placed.
	Unschedulable
	// Skip: the plugin has nothing to do for this request.
	Skip
	// Error: something went wrong that is not the host's fault; the
	// request fails with it.
	Error
)

// Status is a plugin's answer: nil for success, else a code and a
// reason. Build one with Reject, Rejectf, RejectErr, NewStatus or
// AsError.
type Status struct {
	code   Code
	reason string
	err    error
}

// NewStatus is a status with code and reason.
func NewStatus(code Code, reason string) *Status { return &Status{code: code, reason: reason} }

// Reject is an Unschedulable status with reason.
func Reject(reason string) *Status { return &Status{code: Unschedulable, reason: reason} }

// Rejectf is an Unschedulable status with a formatted reason.
func Rejectf(format string, args ...any) *Status {
	return &Status{code: Unschedulable, reason: fmt.Sprintf(format, args...)}
}

// RejectErr is an Unschedulable status whose reason is err's message,
// formatted only when someone reads it.
func RejectErr(err error) *Status { return &Status{code: Unschedulable, err: err} }

// AsError is an Error status carrying err.
func AsError(err error) *Status { return &Status{code: Error, err: err} }

// Code is s's code (Success for nil).
func (s *Status) Code() Code {
	if s == nil {
		return Success
	}
	return s.code
}

// Reason is s's reason for people.
func (s *Status) Reason() string {
	switch {
	case s == nil:
		return ""
	case s.reason == "" && s.err != nil:
		return s.err.Error()
	}
	return s.reason
}

// Err is the error s carries, if any.
func (s *Status) Err() error {
	if s == nil {
		return nil
	}
	if s.err == nil && s.code == Error {
		return fmt.Errorf("%s", s.reason)
	}
	return s.err
}

// Factory makes a plugin from the scheduler's configuration. Factories
// run once, in New; plugins are shared by concurrent requests, so they
// keep per-request data in the State, not in themselves.
type Factory func(cfg *Config) (Plugin, error)

// Registry maps plugin names to factories. It is a plain value: build
// one per scheduler (Builtins gives one with every built-in plugin) and
// add an embedder's own plugins to it.
type Registry struct {
	factories map[string]Factory
}

// NewRegistry is an empty registry.
func NewRegistry() *Registry { return &Registry{factories: map[string]Factory{}} }

// Register adds a factory under name; a name can be registered once.
func (r *Registry) Register(name string, f Factory) error {
	if name == "" || f == nil {
		return fmt.Errorf("%w: a plugin needs a name and a factory", ErrInvalidConfig)
	}
	if _, ok := r.factories[name]; ok {
		return fmt.Errorf("%w: %q", ErrDuplicatePlugin, name)
	}
	r.factories[name] = f
	return nil
}

// Names are the registered names, sorted.
func (r *Registry) Names() []string { return slices.Sorted(maps.Keys(r.factories)) }

// build makes the plugin registered as name.
func (r *Registry) build(name string, cfg *Config) (Plugin, error) {
	f, ok := r.factories[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q (registered: %v)", ErrUnknownPlugin, name, r.Names())
	}
	p, err := f(cfg)
	if err != nil {
		return nil, fmt.Errorf("scheduler: plugin %q: %w", name, err)
	}
	return p, nil
}

// Builtins is a fresh registry holding every built-in filter and weigher
// under Nova's class names (and PlacementFilter, the capacity filter).
func Builtins() *Registry {
	r := NewRegistry()
	for name, f := range builtinFactories() {
		// Names are distinct literals: Register cannot fail here.
		_ = r.Register(name, f)
	}
	return r
}

// builtinFactories are the built-in plugins by name.
func builtinFactories() map[string]Factory {
	plain := func(p Plugin) Factory { return func(*Config) (Plugin, error) { return p, nil } }
	return map[string]Factory{
		PlacementFilterName:                 newPlacementFilter,
		"ComputeFilter":                     plain(computeFilter{}),
		"ComputeCapabilitiesFilter":         plain(capabilitiesFilter{}),
		"ImagePropertiesFilter":             newImagePropertiesFilter,
		"ServerGroupAffinityFilter":         plain(affinityFilter{}),
		"ServerGroupAntiAffinityFilter":     plain(antiAffinityFilter{}),
		"SameHostFilter":                    plain(sameHostFilter{}),
		"DifferentHostFilter":               plain(differentHostFilter{}),
		"AggregateInstanceExtraSpecsFilter": plain(aggregateExtraSpecsFilter{}),
		"AggregateMultiTenancyIsolation":    plain(multiTenancyFilter{}),
		"AggregateTypeAffinityFilter":       plain(typeAffinityFilter{}),
		"IsolatedHostsFilter":               newIsolatedHostsFilter,
		"IoOpsFilter":                       newIoOpsFilter(false),
		"AggregateIoOpsFilter":              newIoOpsFilter(true),
		"NumInstancesFilter":                newNumInstancesFilter(false),
		"AggregateNumInstancesFilter":       newNumInstancesFilter(true),
		"JsonFilter":                        plain(jsonFilter{}),
		"AllHostsFilter":                    plain(allHostsFilter{}),

		"RAMWeigher":                         weigherFactory(ramWeigher),
		"CPUWeigher":                         weigherFactory(cpuWeigher),
		"DiskWeigher":                        weigherFactory(diskWeigher),
		"IoOpsWeigher":                       weigherFactory(ioOpsWeigher),
		"NumInstancesWeigher":                weigherFactory(numInstancesWeigher),
		"HypervisorVersionWeigher":           weigherFactory(hypervisorVersionWeigher),
		"BuildFailureWeigher":                weigherFactory(buildFailureWeigher),
		"ServerGroupSoftAffinityWeigher":     weigherFactory(softAffinityWeigher),
		"ServerGroupSoftAntiAffinityWeigher": weigherFactory(softAntiAffinityWeigher),
	}
}
