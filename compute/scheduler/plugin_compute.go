package scheduler

import (
	"context"
	"strings"
)

// computeFilter is Nova's ComputeFilter: the host's compute service must
// be enabled and up.
type computeFilter struct{}

var (
	_ Filter         = computeFilter{}
	_ OncePerRequest = computeFilter{}
)

func (computeFilter) Name() string         { return "ComputeFilter" }
func (computeFilter) OncePerRequest() bool { return true }

func (computeFilter) Filter(_ *State, h *Host) *Status {
	switch {
	case h.Disabled && h.DisabledReason != "":
		return Rejectf("compute service is disabled: %s", h.DisabledReason)
	case h.Disabled:
		return Reject("compute service is disabled")
	case !h.Up:
		return Reject("compute service is down (not heard from)")
	}
	return nil
}

// capabilitiesFilter is Nova's ComputeCapabilitiesFilter: flavor extra
// specs that are unscoped or scoped "capabilities:" are matched against
// the host's HostState attributes and stats. An unscoped key that is
// neither an attribute nor a stat is ignored; a scoped one that cannot be
// found rejects the host. Nested scopes walk into dicts and JSON strings
// ("capabilities:cpu_info:features" reads the features list out of
// cpu_info). Values are compared as Python's str() writes them.
type capabilitiesFilter struct{}

var (
	_ PreFilter      = capabilitiesFilter{}
	_ OncePerRequest = capabilitiesFilter{}
)

func (capabilitiesFilter) Name() string         { return "ComputeCapabilitiesFilter" }
func (capabilitiesFilter) OncePerRequest() bool { return true }

type capSpec struct {
	key      string
	scope    []string
	unscoped bool
	m        specMatcher
}

func (f capabilitiesFilter) PreFilter(_ context.Context, st *State) (*PreFilterResult, *Status) {
	var specs []capSpec
	for _, s := range st.ExtraSpecs() {
		scope := strings.Split(s.Key, ":")
		unscoped := len(scope) == 1
		if !unscoped {
			if scope[0] != "capabilities" {
				continue
			}
			scope = scope[1:]
		}
		specs = append(specs, capSpec{key: s.Key, scope: scope, unscoped: unscoped, m: parseSpec(s.Value)})
	}
	if len(specs) == 0 {
		return nil, NewStatus(Skip, "")
	}
	st.Write(f.Name(), specs)
	return nil, nil
}

func (f capabilitiesFilter) Filter(st *State, h *Host) *Status {
	specs, _ := st.Read(f.Name()).([]capSpec)
	for _, sp := range specs {
		if sp.unscoped && !hasCapability(h, sp.key) {
			continue
		}
		c := capability(h, sp.scope)
		if c == nil {
			return Rejectf("extra spec %s: the host has no such capability", sp.key)
		}
		v := pyStr(c)
		ok, err := sp.m.match(v)
		if err != nil {
			return Rejectf("extra spec %s=%q against %q: %v", sp.key, sp.m.req, v, err)
		}
		if !ok {
			return Rejectf("extra spec %s=%q does not match %q", sp.key, sp.m.req, v)
		}
	}
	return nil
}
