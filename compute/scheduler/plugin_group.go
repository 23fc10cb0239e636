package scheduler

import (
	"context"
	"strings"
)

// affinityFilter is Nova's ServerGroupAffinityFilter: with an affinity
// group that already has hosts, the host must be one of them (the first
// instance of a new group goes anywhere; the next ones follow it). Its
// PreFilter narrows the candidates to those hosts, so a large cluster is
// not scanned for them.
type affinityFilter struct{}

var _ PreFilter = affinityFilter{}

func (affinityFilter) Name() string { return "ServerGroupAffinityFilter" }

func (affinityFilter) PreFilter(_ context.Context, st *State) (*PreFilterResult, *Status) {
	if st.GroupPolicy() != Affinity {
		return nil, NewStatus(Skip, "")
	}
	if len(st.GroupHosts()) == 0 {
		return nil, nil
	}
	return &PreFilterResult{Hosts: st.GroupHosts()}, nil
}

func (affinityFilter) Filter(st *State, h *Host) *Status {
	hosts := st.GroupHosts()
	if len(hosts) == 0 || hosts.Has(h.Name) {
		return nil
	}
	return Rejectf("not a host of affinity group %s (%s)", st.req.Group.UUID, someOf(hosts))
}

// someOf names a few members of s for a message.
func someOf(s Set) string {
	names := s.Sorted()
	if len(names) > 3 {
		return strings.Join(names[:3], ", ") + ", ..."
	}
	return strings.Join(names, ", ")
}

// antiAffinityFilter is Nova's ServerGroupAntiAffinityFilter: with an
// anti-affinity group, the host must hold fewer than the group's
// max_server_per_host members (default 1), counting this request's
// instances already placed. The host the instance is on (a move's
// source) always passes.
type antiAffinityFilter struct{}

var _ PreFilter = antiAffinityFilter{}

func (antiAffinityFilter) Name() string { return "ServerGroupAntiAffinityFilter" }

func (antiAffinityFilter) PreFilter(_ context.Context, st *State) (*PreFilterResult, *Status) {
	if st.GroupPolicy() != AntiAffinity {
		return nil, NewStatus(Skip, "")
	}
	return nil, nil
}

func (antiAffinityFilter) Filter(st *State, h *Host) *Status {
	if st.uuid != "" && h.Instances.Has(st.uuid) {
		return nil
	}
	if st.req.Move && st.req.SourceHost != "" && h.Name == st.req.SourceHost {
		return nil
	}
	limit := max(st.req.Group.MaxServerPerHost, 1)
	if n := st.GroupMembersOn(h); n >= limit {
		return Rejectf("holds %d member(s) of anti-affinity group %s (max_server_per_host %d)", n, st.req.Group.UUID, limit)
	}
	return nil
}

// sameHostFilter is Nova's SameHostFilter: with a same_host hint, the
// host must hold one of the listed instances.
type sameHostFilter struct{}

var (
	_ PreFilter      = sameHostFilter{}
	_ OncePerRequest = sameHostFilter{}
)

func (sameHostFilter) Name() string         { return "SameHostFilter" }
func (sameHostFilter) OncePerRequest() bool { return true }

func (sameHostFilter) PreFilter(_ context.Context, st *State) (*PreFilterResult, *Status) {
	if len(st.req.hint("same_host")) == 0 {
		return nil, NewStatus(Skip, "")
	}
	return nil, nil
}

func (sameHostFilter) Filter(st *State, h *Host) *Status {
	for _, id := range st.req.hint("same_host") {
		if h.Instances.Has(id) {
			return nil
		}
	}
	return Reject("holds none of the same_host instances")
}

// differentHostFilter is Nova's DifferentHostFilter: with a
// different_host hint, the host must hold none of the listed instances.
type differentHostFilter struct{}

var (
	_ PreFilter      = differentHostFilter{}
	_ OncePerRequest = differentHostFilter{}
)

func (differentHostFilter) Name() string         { return "DifferentHostFilter" }
func (differentHostFilter) OncePerRequest() bool { return true }

func (differentHostFilter) PreFilter(_ context.Context, st *State) (*PreFilterResult, *Status) {
	if len(st.req.hint("different_host")) == 0 {
		return nil, NewStatus(Skip, "")
	}
	return nil, nil
}

func (differentHostFilter) Filter(st *State, h *Host) *Status {
	for _, id := range st.req.hint("different_host") {
		if h.Instances.Has(id) {
			return Rejectf("holds different_host instance %s", id)
		}
	}
	return nil
}
