package ovs

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"
)

// BridgeOptions are the columns of a Bridge that EnsureBridge sets.
type BridgeOptions struct {
	// DatapathType is "netdev" for the userspace datapath, "" for the
	// kernel's ("system").
	DatapathType string
	// FailMode is "secure" (no flows, no forwarding, while no controller
	// has set any: what an agent wants), "standalone", or "" (unset: OVS
	// treats it as standalone, a learning switch).
	FailMode string
	// Protocols are the OpenFlow versions the bridge speaks, e.g.
	// {"OpenFlow10", "OpenFlow15"}; nil leaves OVS's default (1.0 to 1.5
	// in 3.x). OpenFlow requires "OpenFlow15" among them.
	Protocols []string
	// ExternalIDs and OtherConfig: the keys given are set, other keys the
	// bridge has are left alone.
	ExternalIDs, OtherConfig map[string]string
}

// EnsureBridge creates the bridge name (with its local internal port, as
// ovs-vsctl add-br does) or updates only the columns that differ from o.
// When the bridge is already right it sends nothing. On return the cache
// shows the bridge; WaitSwitch waits for ovs-vswitchd to have built it.
func (c *Client) EnsureBridge(ctx context.Context, name string, o BridgeOptions) error {
	err := c.apply(ctx, func(snap *snapshot, s *session) ([]ovsdb.Operation, error) {
		b := snap.bridge(name)
		if b == nil {
			return c.createBridge(s, snap, name, o)
		}
		return c.updateBridge(s, b, o)
	})
	if err != nil {
		return fmt.Errorf("ovs: ensure bridge %q: %w", name, err)
	}
	return nil
}

func (c *Client) createBridge(s *session, snap *snapshot, name string, o BridgeOptions) ([]ovsdb.Operation, error) {
	if snap.root == nil {
		return nil, fmt.Errorf("the database has no Open_vSwitch row")
	}
	iface := &ifaceRow{UUID: "newiface", Name: name, Type: "internal"}
	port := &portRow{UUID: "newport", Name: name, Interfaces: []string{iface.UUID}}
	br := &bridgeRow{
		UUID:         "newbridge",
		Name:         name,
		Ports:        []string{port.UUID},
		DatapathType: o.DatapathType,
		Protocols:    o.Protocols,
		ExternalIDs:  o.ExternalIDs,
		OtherConfig:  o.OtherConfig,
	}
	if o.FailMode != "" {
		br.FailMode = &o.FailMode
	}
	var ops []ovsdb.Operation
	for _, m := range []model.Model{iface, port, br} {
		op, err := s.cli.Create(m)
		if err != nil {
			return nil, err
		}
		ops = append(ops, op...)
	}
	r := &rootRow{UUID: snap.root.UUID}
	op, err := s.cli.Where(r).Mutate(r, model.Mutation{Field: &r.Bridges, Mutator: ovsdb.MutateOperationInsert, Value: []string{br.UUID}})
	if err != nil {
		return nil, err
	}
	return append(ops, op...), nil
}

func (c *Client) updateBridge(s *session, b *bridgeRow, o BridgeOptions) ([]ovsdb.Operation, error) {
	want := &bridgeRow{UUID: b.UUID, DatapathType: o.DatapathType, Protocols: o.Protocols}
	var fields []any
	if b.DatapathType != o.DatapathType {
		fields = append(fields, &want.DatapathType)
	}
	if deref(b.FailMode) != o.FailMode {
		if o.FailMode != "" {
			want.FailMode = &o.FailMode
		}
		fields = append(fields, &want.FailMode)
	}
	if o.Protocols != nil && !sameSet(b.Protocols, o.Protocols) {
		fields = append(fields, &want.Protocols)
	}
	var ops []ovsdb.Operation
	if len(fields) > 0 {
		op, err := s.cli.Where(want).Update(want, fields...)
		if err != nil {
			return nil, err
		}
		ops = append(ops, op...)
	}
	muts := append(setKeys(&want.ExternalIDs, b.ExternalIDs, o.ExternalIDs),
		setKeys(&want.OtherConfig, b.OtherConfig, o.OtherConfig)...)
	if len(muts) > 0 {
		op, err := s.cli.Where(want).Mutate(want, muts...)
		if err != nil {
			return nil, err
		}
		ops = append(ops, op...)
	}
	return ops, nil
}

// DeleteBridge deletes the bridge name with its ports; nothing when it is
// absent.
func (c *Client) DeleteBridge(ctx context.Context, name string) error {
	err := c.apply(ctx, func(snap *snapshot, s *session) ([]ovsdb.Operation, error) {
		b := snap.bridge(name)
		if b == nil {
			return nil, nil
		}
		// Ports and interfaces are not root tables: the database drops
		// them with the last reference.
		r := &rootRow{UUID: snap.root.UUID}
		return s.cli.Where(r).Mutate(r, model.Mutation{Field: &r.Bridges, Mutator: ovsdb.MutateOperationDelete, Value: []string{b.UUID}})
	})
	if err != nil {
		return fmt.Errorf("ovs: delete bridge %q: %w", name, err)
	}
	return nil
}

// Port is a port of a bridge with its one interface of the same name.
type Port struct {
	Name string
	// Type is the interface type: "" (system: a veth end, a tap, a NIC),
	// "internal", "patch", "vxlan", "geneve", ...
	Type string
	// Options are the interface's options, set exactly: peer (patch),
	// remote_ip, local_ip, key, in_key, out_key, dst_port (tunnels)...
	Options map[string]string
	// Tag is the port's VLAN tag (an access port), 0 for none.
	Tag int
	// ExternalIDs are the interface's external_ids (iface-id,
	// attached-mac, iface-status, vm-uuid...), OtherConfig the port's
	// other_config: the keys given are set, other keys are left alone.
	ExternalIDs map[string]string
	OtherConfig map[string]string
}

// EnsurePort creates the port p on bridge with its interface, or updates
// only what differs from p; it sends nothing when the port is right. A
// port of that name on another bridge is an error (ErrOtherBridge).
func (c *Client) EnsurePort(ctx context.Context, bridge string, p Port) error {
	err := c.apply(ctx, func(snap *snapshot, s *session) ([]ovsdb.Operation, error) {
		b := snap.bridge(bridge)
		if b == nil {
			return nil, ErrNoBridge
		}
		row, on := snap.port(p.Name)
		switch {
		case row == nil:
			return createPort(s, b, p)
		case on != nil && on.UUID != b.UUID:
			return nil, fmt.Errorf("%w %q", ErrOtherBridge, on.Name)
		}
		iface := snap.iface(row)
		if iface == nil {
			return nil, fmt.Errorf("port %q has no interface %q", p.Name, p.Name)
		}
		return updatePort(s, row, iface, p)
	})
	if err != nil {
		return fmt.Errorf("ovs: ensure port %q on %q: %w", p.Name, bridge, err)
	}
	return nil
}

func createPort(s *session, b *bridgeRow, p Port) ([]ovsdb.Operation, error) {
	iface := &ifaceRow{UUID: "newiface", Name: p.Name, Type: p.Type, Options: p.Options, ExternalIDs: p.ExternalIDs}
	port := &portRow{UUID: "newport", Name: p.Name, Interfaces: []string{iface.UUID}, OtherConfig: p.OtherConfig}
	if p.Tag != 0 {
		port.Tag = &p.Tag
	}
	var ops []ovsdb.Operation
	for _, m := range []model.Model{iface, port} {
		op, err := s.cli.Create(m)
		if err != nil {
			return nil, err
		}
		ops = append(ops, op...)
	}
	br := &bridgeRow{UUID: b.UUID}
	op, err := s.cli.Where(br).Mutate(br, model.Mutation{Field: &br.Ports, Mutator: ovsdb.MutateOperationInsert, Value: []string{port.UUID}})
	if err != nil {
		return nil, err
	}
	return append(ops, op...), nil
}

func updatePort(s *session, row *portRow, iface *ifaceRow, p Port) ([]ovsdb.Operation, error) {
	var ops []ovsdb.Operation
	wi := &ifaceRow{UUID: iface.UUID, Type: p.Type, Options: p.Options}
	var fields []any
	if iface.Type != p.Type {
		fields = append(fields, &wi.Type)
	}
	if !maps.Equal(iface.Options, p.Options) {
		if wi.Options == nil {
			wi.Options = map[string]string{}
		}
		fields = append(fields, &wi.Options)
	}
	if len(fields) > 0 {
		op, err := s.cli.Where(wi).Update(wi, fields...)
		if err != nil {
			return nil, err
		}
		ops = append(ops, op...)
	}
	if muts := setKeys(&wi.ExternalIDs, iface.ExternalIDs, p.ExternalIDs); len(muts) > 0 {
		op, err := s.cli.Where(wi).Mutate(wi, muts...)
		if err != nil {
			return nil, err
		}
		ops = append(ops, op...)
	}
	wp := &portRow{UUID: row.UUID}
	if deref(row.Tag) != p.Tag {
		op, err := tagOp(s, wp, p.Tag)
		if err != nil {
			return nil, err
		}
		ops = append(ops, op...)
	}
	if muts := setKeys(&wp.OtherConfig, row.OtherConfig, p.OtherConfig); len(muts) > 0 {
		op, err := s.cli.Where(wp).Mutate(wp, muts...)
		if err != nil {
			return nil, err
		}
		ops = append(ops, op...)
	}
	return ops, nil
}

func tagOp(s *session, wp *portRow, tag int) ([]ovsdb.Operation, error) {
	if tag != 0 {
		wp.Tag = &tag
	} else {
		wp.Tag = nil
	}
	return s.cli.Where(wp).Update(wp, &wp.Tag)
}

// DeletePort removes the port name from bridge with its interfaces;
// nothing when bridge has no such port (or there is no such bridge).
func (c *Client) DeletePort(ctx context.Context, bridge, name string) error {
	err := c.apply(ctx, func(snap *snapshot, s *session) ([]ovsdb.Operation, error) {
		row, on := snap.port(name)
		if row == nil || on == nil || on.Name != bridge {
			return nil, nil
		}
		br := &bridgeRow{UUID: on.UUID}
		return s.cli.Where(br).Mutate(br, model.Mutation{Field: &br.Ports, Mutator: ovsdb.MutateOperationDelete, Value: []string{row.UUID}})
	})
	if err != nil {
		return fmt.Errorf("ovs: delete port %q from %q: %w", name, bridge, err)
	}
	return nil
}

// SetTag sets the VLAN tag of port (0: none); nothing is sent when it has
// that tag already.
func (c *Client) SetTag(ctx context.Context, port string, tag int) error {
	err := c.apply(ctx, func(snap *snapshot, s *session) ([]ovsdb.Operation, error) {
		row, _ := snap.port(port)
		if row == nil {
			return nil, ErrNoPort
		}
		if deref(row.Tag) == tag {
			return nil, nil
		}
		return tagOp(s, &portRow{UUID: row.UUID}, tag)
	})
	if err != nil {
		return fmt.Errorf("ovs: set tag of %q to %d: %w", port, tag, err)
	}
	return nil
}

// SetTags sets the VLAN tag of many ports in one transaction (port name
// → tag, 0 to clear): what SetTag does for one, for the agent that tags
// every VIF of a host at once. Ports already right cost nothing; a port
// that does not exist is ErrNoPort and nothing is changed.
func (c *Client) SetTags(ctx context.Context, tags map[string]int) error {
	err := c.apply(ctx, func(snap *snapshot, s *session) ([]ovsdb.Operation, error) {
		byName := make(map[string]*portRow, len(snap.ports))
		for _, p := range snap.ports {
			byName[p.Name] = p
		}
		names := make([]string, 0, len(tags))
		for name := range tags {
			names = append(names, name)
		}
		slices.Sort(names)
		var ops []ovsdb.Operation
		for _, name := range names {
			row := byName[name]
			if row == nil {
				return nil, fmt.Errorf("%q: %w", name, ErrNoPort)
			}
			if deref(row.Tag) == tags[name] {
				continue
			}
			op, err := tagOp(s, &portRow{UUID: row.UUID}, tags[name])
			if err != nil {
				return nil, err
			}
			ops = append(ops, op...)
		}
		return ops, nil
	})
	if err != nil {
		return fmt.Errorf("ovs: set tags: %w", err)
	}
	return nil
}

// setKeys returns the mutations of a map column (field, whose value now
// is have) that set the keys of want: the keys whose value differs are
// deleted, then inserted with the new value; other keys are not touched.
func setKeys(field *map[string]string, have, want map[string]string) []model.Mutation {
	var del []string
	ins := map[string]string{}
	for k, v := range want {
		old, ok := have[k]
		if ok && old == v {
			continue
		}
		if ok {
			del = append(del, k)
		}
		ins[k] = v
	}
	if len(ins) == 0 {
		return nil
	}
	var muts []model.Mutation
	if len(del) > 0 {
		slices.Sort(del)
		muts = append(muts, model.Mutation{Field: field, Mutator: ovsdb.MutateOperationDelete, Value: del})
	}
	return append(muts, model.Mutation{Field: field, Mutator: ovsdb.MutateOperationInsert, Value: ins})
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}
