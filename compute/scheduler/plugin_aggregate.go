package scheduler

import (
	"context"
	"strings"
)

// aggregateExtraSpecsFilter is Nova's AggregateInstanceExtraSpecsFilter:
// every flavor extra spec that is unscoped or scoped
// "aggregate_instance_extra_specs:" must be matched (with the extra spec
// operators) by a value of that key in one of the host's aggregates'
// metadata (values split on commas); a key no aggregate has rejects the
// host.
type aggregateExtraSpecsFilter struct{}

var (
	_ PreFilter      = aggregateExtraSpecsFilter{}
	_ OncePerRequest = aggregateExtraSpecsFilter{}
)

func (aggregateExtraSpecsFilter) Name() string         { return "AggregateInstanceExtraSpecsFilter" }
func (aggregateExtraSpecsFilter) OncePerRequest() bool { return true }

type aggSpec struct {
	key string
	m   specMatcher
}

func (f aggregateExtraSpecsFilter) PreFilter(_ context.Context, st *State) (*PreFilterResult, *Status) {
	var specs []aggSpec
	for _, s := range st.ExtraSpecs() {
		key := s.Key
		if scope, rest, scoped := strings.Cut(s.Key, ":"); scoped {
			if scope != "aggregate_instance_extra_specs" {
				continue
			}
			key = rest
		}
		specs = append(specs, aggSpec{key: key, m: parseSpec(s.Value)})
	}
	if len(specs) == 0 {
		return nil, NewStatus(Skip, "")
	}
	st.Write(f.Name(), specs)
	return nil, nil
}

func (f aggregateExtraSpecsFilter) Filter(st *State, h *Host) *Status {
	specs, _ := st.Read(f.Name()).([]aggSpec)
	for _, sp := range specs {
		found, matched := false, false
		var matchErr error
		for i := range h.Aggregates {
			v, ok := h.Aggregates[i].Metadata[sp.key]
			if !ok {
				continue
			}
			found = true
			eachCSV(v, func(x string) bool {
				ok, err := sp.m.match(x)
				if err != nil && matchErr == nil {
					matchErr = err
				}
				matched = ok
				return !ok
			})
			if matched {
				break
			}
		}
		switch {
		case !found:
			return Rejectf("extra spec %s: no aggregate of the host has metadata %s", sp.key, sp.key)
		case matchErr != nil && !matched:
			return Rejectf("extra spec %s=%q: %v", sp.key, sp.m.req, matchErr)
		case !matched:
			return Rejectf("extra spec %s=%q matches no aggregate value", sp.key, sp.m.req)
		}
	}
	return nil
}

// multiTenancyFilter is Nova's AggregateMultiTenancyIsolation: a host in
// aggregates with filter_tenant_id metadata takes only the projects
// listed there (comma-separated, across all of them); other hosts take
// everyone.
type multiTenancyFilter struct{}

var _ OncePerRequest = multiTenancyFilter{}

func (multiTenancyFilter) Name() string         { return "AggregateMultiTenancyIsolation" }
func (multiTenancyFilter) OncePerRequest() bool { return true }

func (multiTenancyFilter) Filter(st *State, h *Host) *Status {
	restricted, allowed := false, false
	for i := range h.Aggregates {
		v, ok := h.Aggregates[i].Metadata["filter_tenant_id"]
		if !ok {
			continue
		}
		restricted = true
		eachCSV(v, func(p string) bool {
			allowed = p == st.req.ProjectID
			return !allowed
		})
		if allowed {
			return nil
		}
	}
	if restricted {
		return Rejectf("its aggregates take only other projects than %q (filter_tenant_id)", st.req.ProjectID)
	}
	return nil
}

// typeAffinityFilter is Nova's AggregateTypeAffinityFilter: a host in
// aggregates with instance_type metadata takes only the flavors named
// there (comma-separated).
type typeAffinityFilter struct{}

var _ OncePerRequest = typeAffinityFilter{}

func (typeAffinityFilter) Name() string         { return "AggregateTypeAffinityFilter" }
func (typeAffinityFilter) OncePerRequest() bool { return true }

func (typeAffinityFilter) Filter(st *State, h *Host) *Status {
	restricted, allowed := false, false
	for i := range h.Aggregates {
		v, ok := h.Aggregates[i].Metadata["instance_type"]
		if !ok {
			continue
		}
		restricted = true
		eachCSV(v, func(name string) bool {
			allowed = name == st.req.Flavor.Name
			return !allowed
		})
		if allowed {
			return nil
		}
	}
	if restricted {
		return Rejectf("its aggregates take only other flavors than %q (instance_type)", st.req.Flavor.Name)
	}
	return nil
}

// ioOpsFilter is Nova's IoOpsFilter (and, with perAggregate,
// AggregateIoOpsFilter): the host must have fewer than
// max_io_ops_per_host I/O-heavy operations in progress; the aggregate
// variant takes the least max_io_ops_per_host of the host's aggregates.
type ioOpsFilter struct {
	perAggregate bool
	limit        int64
}

func newIoOpsFilter(perAggregate bool) Factory {
	return func(cfg *Config) (Plugin, error) {
		return ioOpsFilter{perAggregate: perAggregate, limit: cfg.MaxIOOpsPerHost}, nil
	}
}

func (f ioOpsFilter) Name() string {
	if f.perAggregate {
		return "AggregateIoOpsFilter"
	}
	return "IoOpsFilter"
}

func (f ioOpsFilter) Filter(_ *State, h *Host) *Status {
	limit := f.limit
	if f.perAggregate {
		limit = aggregateInt(h, "max_io_ops_per_host", limit)
	}
	if h.NumIOOps < limit {
		return nil
	}
	return Rejectf("%d I/O operations in progress, max_io_ops_per_host is %d", h.NumIOOps, limit)
}

// numInstancesFilter is Nova's NumInstancesFilter (and, with
// perAggregate, AggregateNumInstancesFilter): the host must have fewer
// than max_instances_per_host instances.
type numInstancesFilter struct {
	perAggregate bool
	limit        int64
}

func newNumInstancesFilter(perAggregate bool) Factory {
	return func(cfg *Config) (Plugin, error) {
		return numInstancesFilter{perAggregate: perAggregate, limit: cfg.MaxInstancesPerHost}, nil
	}
}

func (f numInstancesFilter) Name() string {
	if f.perAggregate {
		return "AggregateNumInstancesFilter"
	}
	return "NumInstancesFilter"
}

func (f numInstancesFilter) Filter(_ *State, h *Host) *Status {
	limit := f.limit
	if f.perAggregate {
		limit = aggregateInt(h, "max_instances_per_host", limit)
	}
	if h.NumInstances < limit {
		return nil
	}
	return Rejectf("%d instances, max_instances_per_host is %d", h.NumInstances, limit)
}

// allHostsFilter is Nova's AllHostsFilter: every host passes.
type allHostsFilter struct{}

var _ OncePerRequest = allHostsFilter{}

func (allHostsFilter) Name() string                 { return "AllHostsFilter" }
func (allHostsFilter) OncePerRequest() bool         { return true }
func (allHostsFilter) Filter(*State, *Host) *Status { return nil }
