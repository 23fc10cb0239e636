package scheduler

import (
	"maps"
	"slices"
)

// State is one request's scheduling state: what was parsed from the
// request once (resources, traits, extra specs, group, hints), which
// instance of a multi-create is being placed, and what PreFilters stored
// for their Filters. Filters and weighers read it concurrently and must
// not write to it; PreFilters, which run alone, may Write.
type State struct {
	req   *Request
	cfg   *Config
	rr    ResourceRequest
	amts  []amount
	specs []Spec

	count, least int
	index        int
	uuid         string

	members    Set
	groupHosts Set
	newOn      map[hostKey]int

	data map[string]any
}

// amount is a requested resource class and amount.
type amount struct {
	class string
	n     int64
}

// Spec is a flavor extra spec.
type Spec struct{ Key, Value string }

// hostKey identifies a HostState: Nova keys them by (host, node).
type hostKey struct{ name, node string }

func newState(req *Request, cfg *Config) (*State, error) {
	want, least, err := req.count()
	if err != nil {
		return nil, err
	}
	rr, err := req.Resources()
	if err != nil {
		return nil, err
	}
	st := &State{req: req, cfg: cfg, rr: rr, count: want, least: least, newOn: map[hostKey]int{}}
	for _, c := range slices.Sorted(maps.Keys(rr.Resources)) {
		st.amts = append(st.amts, amount{c, rr.Resources[c]})
	}
	for _, k := range slices.Sorted(maps.Keys(req.Flavor.ExtraSpecs)) {
		st.specs = append(st.specs, Spec{k, req.Flavor.ExtraSpecs[k]})
	}
	if g := req.Group; g != nil {
		st.members = NewSet(g.Members...)
		st.groupHosts = NewSet(g.Hosts...)
	}
	st.setInstance(0)
	return st, nil
}

// setInstance moves the state to the index-th instance.
func (st *State) setInstance(index int) {
	st.index = index
	st.uuid = ""
	if index < len(st.req.InstanceUUIDs) {
		st.uuid = st.req.InstanceUUIDs[index]
	}
}

// placed records that the current instance went to h: for the group
// filters and weighers of the next instances, as Nova's
// _consume_selected_host adds the host to the group's hosts and the
// instance to the host.
func (st *State) placed(h *Host) {
	st.newOn[hostKey{h.Name, h.Node}]++
	if st.req.Group != nil {
		st.groupHosts[h.Name] = struct{}{}
	}
}

// Request is the request being placed. Read it; do not change it.
func (st *State) Request() *Request { return st.req }

// Index is which instance of the request is being placed, from 0.
func (st *State) Index() int { return st.index }

// InstanceUUID is the uuid of the instance being placed ("" when the
// request gave none).
func (st *State) InstanceUUID() string { return st.uuid }

// Count is how many instances the request wants.
func (st *State) Count() int { return st.count }

// Resources is what each instance asks Placement for. Read it; do not
// change it.
func (st *State) Resources() ResourceRequest { return st.rr }

// ExtraSpecs are the flavor's extra specs, sorted by key.
func (st *State) ExtraSpecs() []Spec { return st.specs }

// GroupPolicy is the request's server group policy ("" without a group).
func (st *State) GroupPolicy() string {
	if st.req.Group == nil {
		return ""
	}
	return st.req.Group.Policy
}

// GroupHosts are the hosts holding members of the request's group,
// including where earlier instances of this request went.
func (st *State) GroupHosts() Set { return st.groupHosts }

// GroupMembersOn is how many members of the request's group are on h:
// its instances that are group members (Nova intersects
// HostState.instances with the group's members) plus the instances of
// this request already placed there.
func (st *State) GroupMembersOn(h *Host) int {
	n := st.newOn[hostKey{h.Name, h.Node}]
	a, b := h.Instances, st.members
	if len(a) > len(b) {
		a, b = b, a
	}
	for x := range a {
		if b.Has(x) {
			n++
		}
	}
	return n
}

// Write stores a PreFilter's per-request data under key.
func (st *State) Write(key string, v any) {
	if st.data == nil {
		st.data = map[string]any{}
	}
	st.data[key] = v
}

// Read is what was written under key (nil if nothing).
func (st *State) Read(key string) any { return st.data[key] }
