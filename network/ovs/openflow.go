package ovs

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// OpenFlowVersion is the protocol every ovs-ofctl call of this package
// speaks (-O): bundles need 1.4 or later, and one version everywhere
// keeps the printed form of flows stable. A bridge's Protocols must
// include it (OVS enables 1.0 to 1.5 when the column is empty).
const OpenFlowVersion = "OpenFlow15"

// DefaultPriority is the priority of a flow written without one, which
// ovs-ofctl does not print.
const DefaultPriority = 32768

// Flow is one OpenFlow flow: its table, priority and match (OVS's flow
// syntax without table, priority or cookie, e.g. "ip,in_port=3" or "" for
// all packets) and its actions ("output:3", "drop", ...). Write ports by
// number: names cannot be checked without the switch (see Canonical).
type Flow struct {
	Cookie          uint64
	Table, Priority int
	Match, Actions  string
}

// String is the flow in ovs-ofctl's syntax, close to how dump-flows
// prints it: "cookie=0x1, table=2, priority=10,ip actions=drop".
func (f Flow) String() string {
	var b strings.Builder
	if f.Cookie != 0 {
		fmt.Fprintf(&b, "cookie=%#x, ", f.Cookie)
	}
	fmt.Fprintf(&b, "table=%d, ", f.Table)
	b.WriteString(f.spec())
	return b.String()
}

// spec is "priority=P[,MATCH] actions=A", the part ovs-ofctl prints the
// same for a flow mod and a dumped flow.
func (f Flow) spec() string {
	return f.key() + " actions=" + f.Actions
}

// key is "priority=P[,MATCH]", what delete_strict needs besides the
// table.
func (f Flow) key() string {
	s := "priority=" + strconv.Itoa(f.Priority)
	if f.Match != "" {
		s += "," + f.Match
	}
	return s
}

// flowKey identifies a flow in a switch: no two flows share one.
type flowKey struct {
	table, priority int
	match           string
}

func (f Flow) id() flowKey { return flowKey{f.Table, f.Priority, f.Match} }

// OpenFlow programs one bridge's flows through ovs-ofctl, speaking
// OpenFlowVersion. Run must reach the bridge's instance (Daemons.Runner);
// the zero value of the rest is ready to use.
type OpenFlow struct {
	Bridge string
	Run    Runner

	mu    sync.Mutex
	canon map[string]Flow // written spec -> OVS's form; see Canonical
}

// Dump returns every flow of the bridge (ovs-ofctl dump-flows --no-stats
// --no-names), ports by number, as OVS prints them.
func (o *OpenFlow) Dump(ctx context.Context) ([]Flow, error) {
	out, err := o.Run(ctx, nil, "ovs-ofctl", "-O", OpenFlowVersion, "--no-stats", "--no-names", "dump-flows", o.Bridge)
	if err != nil {
		return nil, fmt.Errorf("ovs: dump flows of %s: %w", o.Bridge, err)
	}
	var flows []Flow
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "OFPST_FLOW reply") {
			continue
		}
		f, err := parseFlow(line)
		if err != nil {
			return nil, fmt.Errorf("ovs: dump flows of %s: %w", o.Bridge, err)
		}
		flows = append(flows, f)
	}
	return flows, sc.Err()
}

// Apply deletes del (matched strictly: table, priority and match; their
// cookies and actions are not looked at) and then adds add, replacing a
// flow with the same table, priority and match, in one OpenFlow bundle
// (ovs-ofctl --bundle add-flows): the switch takes all of it or, if any
// flow is refused, none of it. Nothing is run when both are empty.
func (o *OpenFlow) Apply(ctx context.Context, add, del []Flow) error {
	lines := make([]string, 0, len(add)+len(del))
	for _, f := range del {
		lines = append(lines, deleteLine(f))
	}
	for _, f := range add {
		lines = append(lines, "add "+f.String())
	}
	return o.bundle(ctx, lines)
}

func deleteLine(f Flow) string { return fmt.Sprintf("delete_strict table=%d, %s", f.Table, f.key()) }

func modifyLine(f Flow) string { return fmt.Sprintf("modify_strict table=%d, %s", f.Table, f.spec()) }

func (o *OpenFlow) bundle(ctx context.Context, lines []string) error {
	if len(lines) == 0 {
		return nil
	}
	var in bytes.Buffer
	for _, l := range lines {
		in.WriteString(l)
		in.WriteByte('\n')
	}
	if _, err := o.Run(ctx, in.Bytes(), "ovs-ofctl", "-O", OpenFlowVersion, "--bundle", "add-flows", o.Bridge, "-"); err != nil {
		return fmt.Errorf("ovs: flow bundle on %s: %w", o.Bridge, err)
	}
	return nil
}

// parseFlow reads one flow as ovs-ofctl prints it, in a dump
// (" cookie=0x1, table=2, idle_timeout=5, priority=10,ip actions=drop")
// or in a flow mod ("ADD table:2 priority=10,ip actions=drop"): the
// "key=value," and "key:value" fields and flags before the match, then
// the match, which ovs-ofctl prints without spaces, then the actions.
func parseFlow(line string) (Flow, error) {
	i := strings.Index(line, "actions=")
	if i < 0 {
		return Flow{}, fmt.Errorf("flow %q: no actions", line)
	}
	f := Flow{Priority: DefaultPriority, Actions: strings.TrimSpace(line[i+len("actions="):])}
	var match []string
	for _, tok := range strings.Fields(line[:i]) {
		if k, v, ok := metaField(tok); ok {
			var err error
			switch k {
			case "cookie":
				f.Cookie, err = strconv.ParseUint(strings.TrimPrefix(v, "0x"), 16, 64)
			case "table":
				f.Table, err = strconv.Atoi(v)
			case "pri":
				f.Priority, err = strconv.Atoi(v)
			}
			if err != nil {
				return Flow{}, fmt.Errorf("flow %q: %s: %w", line, k, err)
			}
			continue
		}
		if flowFlags[tok] {
			continue
		}
		match = append(match, tok)
	}
	if len(match) > 1 {
		return Flow{}, fmt.Errorf("flow %q: cannot tell the match", line)
	}
	if len(match) == 1 {
		m := match[0]
		if rest, ok := strings.CutPrefix(m, "priority="); ok {
			p, after, _ := strings.Cut(rest, ",")
			n, err := strconv.Atoi(p)
			if err != nil {
				return Flow{}, fmt.Errorf("flow %q: priority: %w", line, err)
			}
			f.Priority, m = n, after
		}
		f.Match = m
	}
	return f, nil
}

// metaField recognises the fields ovs-ofctl prints before a match:
// "key=value," in dumps (the comma tells them from the match, which never
// ends with one) and "key:value" in flow mods.
func metaField(tok string) (key, value string, ok bool) {
	if s, ok := strings.CutSuffix(tok, ","); ok {
		return strings.Cut(s, "=")
	}
	if k, v, ok := strings.Cut(tok, ":"); ok && flowModFields[k] {
		return k, v, true
	}
	return "", "", false
}

// The flags and flow-mod fields ovs-ofctl may print before a match.
var (
	flowFlags = map[string]bool{
		"send_flow_rem": true, "check_overlap": true, "reset_counts": true,
		"no_packet_counts": true, "no_byte_counts": true, "ADD": true,
	}
	flowModFields = map[string]bool{
		"table": true, "cookie": true, "idle": true, "hard": true, "importance": true,
		"pri": true, "buf": true, "out_port": true, "out_group": true,
	}
)
