package ovs

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"strings"
)

// SyncResult counts what Sync did to the flows it owns.
type SyncResult struct {
	Kept, Added, Modified, Deleted int
}

// Sync makes the bridge's flows whose cookie&mask equals cookie&mask
// ("ours") exactly want, in one bundle (all or nothing):
//
//   - a wanted flow present with the same table, priority, match and
//     actions is kept untouched: not deleted, not re-added, its cookie
//     (an older generation's, perhaps) and its counters and duration stay;
//   - a wanted flow present with other actions is changed in place
//     (modify_strict): counters and duration stay, and so does its
//     cookie, which OpenFlow 1.2 and later cannot change on a modify;
//   - a missing one is added with cookie;
//   - ours that are not wanted are deleted (delete_strict).
//
// Flows of other owners are left alone; a wanted flow whose table,
// priority and match are another owner's is an error (ErrConflict), as
// are two wanted flows that differ only in actions. When nothing needs
// to change, Sync runs no write at all: it costs one dump-flows.
//
// Flows are compared in the form OVS prints them (see Canonical), so
// want may be written in any form ovs-ofctl accepts; the Cookie of want's
// flows is ignored.
func (o *OpenFlow) Sync(ctx context.Context, want []Flow, cookie, mask uint64) (SyncResult, error) {
	var res SyncResult
	canon, err := o.canonical(ctx, want, true)
	if err != nil {
		return res, err
	}
	wanted := make(map[flowKey]Flow, len(canon))
	order := make([]Flow, 0, len(canon))
	for i, f := range canon {
		if prev, ok := wanted[f.id()]; ok {
			if prev.Actions != f.Actions {
				return res, fmt.Errorf("ovs: sync %s: %w: %q and %q", o.Bridge, ErrConflict, want[i].String(), prev.String())
			}
			continue
		}
		f.Cookie = cookie
		wanted[f.id()] = f
		order = append(order, f)
	}
	have, err := o.Dump(ctx)
	if err != nil {
		return res, err
	}
	ours := func(f Flow) bool { return f.Cookie&mask == cookie&mask }

	var del, mod, add []string
	present := make(map[flowKey]Flow, len(have))
	for _, h := range have {
		present[h.id()] = h
		if _, ok := wanted[h.id()]; !ok && ours(h) {
			del = append(del, deleteLine(h))
			res.Deleted++
		}
	}
	for _, w := range order {
		h, ok := present[w.id()]
		switch {
		case !ok:
			add = append(add, "add "+w.String())
			res.Added++
		case !ours(h):
			return SyncResult{}, fmt.Errorf("ovs: sync %s: %w: %q is owned by cookie %#x", o.Bridge, ErrConflict, w.String(), h.Cookie)
		case h.Actions == w.Actions:
			res.Kept++
		default:
			mod = append(mod, modifyLine(w))
			res.Modified++
		}
	}
	if err := o.bundle(ctx, append(append(del, mod...), add...)); err != nil {
		return SyncResult{}, err
	}
	return res, nil
}

// Canonical returns flows as OVS would print them in a dump: the same
// order, table, priority and cookie, with the match and actions in OVS's
// own form ("dl_vlan=5" for "vlan_tci=0x1005/0x1fff", "output:3" for "3",
// "set_field:4099->vlan_vid" for "mod_vlan_vid:3", fields in OVS's order,
// prerequisites such as "ip" added...). It asks ovs-ofctl, which parses
// and prints each flow offline, touching no switch (the undocumented
// parse-flows command, which OVS's own test suite uses); its answers are
// remembered for the life of o. A flow that ovs-ofctl cannot parse, or
// that needs a port name (names are resolved by the switch), is an
// error.
//
// Sync needs no help: it compares flows in this form. An agent's tests
// can compare its flows with their Canonical form to keep them written as
// OVS prints them, which makes the flows read the same in the code,
// in ovs-ofctl dump-flows and in Sync's error messages.
func (o *OpenFlow) Canonical(ctx context.Context, flows []Flow) ([]Flow, error) {
	out, err := o.canonical(ctx, flows, false)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Cookie = flows[i].Cookie
	}
	return out, nil
}

// canonical returns flows in OVS's printed form, from the memo or from
// one ovs-ofctl parse-flows run for those it has not seen. prune forgets
// the memo's entries flows does not use once it has grown well past
// them (Sync's wanted set moves on as ports come and go).
func (o *OpenFlow) canonical(ctx context.Context, flows []Flow, prune bool) ([]Flow, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.canon == nil {
		o.canon = map[string]Flow{}
	}
	out := make([]Flow, len(flows))
	var missing []int
	var in bytes.Buffer
	for i, f := range flows {
		s := fmt.Sprintf("table=%d, %s", f.Table, f.spec())
		if c, ok := o.canon[s]; ok {
			out[i] = c
			continue
		}
		missing = append(missing, i)
		in.WriteString(s)
		in.WriteByte('\n')
	}
	if len(missing) > 0 {
		parsed, err := o.parseFlows(ctx, in.Bytes())
		if err != nil {
			return nil, err
		}
		if len(parsed) != len(missing) {
			return nil, fmt.Errorf("ovs: parse flows: %d flows in, %d out", len(missing), len(parsed))
		}
		for j, i := range missing {
			f := flows[i]
			c := parsed[j]
			if c.Table != f.Table || c.Priority != f.Priority {
				return nil, fmt.Errorf("ovs: parse flow %q: read back as %q", f.String(), c.String())
			}
			out[i] = c
			o.canon[fmt.Sprintf("table=%d, %s", f.Table, f.spec())] = c
		}
	}
	if prune && len(o.canon) > 2*len(flows)+1024 {
		keep := make(map[string]Flow, len(flows))
		for i, f := range flows {
			keep[fmt.Sprintf("table=%d, %s", f.Table, f.spec())] = out[i]
		}
		o.canon = keep
	}
	return out, nil
}

// parseFlows runs ovs-ofctl parse-flows on lines of flows and reads the
// flow mods it prints back, one per line in order.
func (o *OpenFlow) parseFlows(ctx context.Context, lines []byte) ([]Flow, error) {
	out, err := o.Run(ctx, lines, "ovs-ofctl", "-O", OpenFlowVersion, "parse-flows", "-")
	if err != nil {
		return nil, fmt.Errorf("ovs: parse flows: %w", err)
	}
	var flows []Flow
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "OFPT_FLOW_MOD") {
			continue // "usable protocols: ...", "chosen protocol: ..."
		}
		_, mod, ok := strings.Cut(line, "): ")
		if !ok || !strings.HasPrefix(mod, "ADD ") {
			return nil, fmt.Errorf("ovs: parse flows: unexpected %q", line)
		}
		f, err := parseFlow(strings.TrimPrefix(mod, "ADD "))
		if err != nil {
			return nil, fmt.Errorf("ovs: parse flows: %w", err)
		}
		flows = append(flows, f)
	}
	return flows, sc.Err()
}
