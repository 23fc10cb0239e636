package ovs_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gostack/gostack/network/ovs"
	"github.com/gostack/gostack/network/ovs/ovstest"
)

// Neutron-style flows, each written in a form ovs-ofctl accepts but does
// not print: synonyms (dl_type=0x0800 for ip, mod_vlan_vid, load,
// strip_vlan, set_tunnel, in_port and normal as actions, a bare port
// number), fields out of OVS's order, NXM names.
var corpus = []ovs.Flow{
	{Table: 0, Priority: 65535, Match: "vlan_tci=0x0fff/0x1fff", Actions: "drop"},
	{Table: 0, Priority: 100, Match: "dl_vlan=5,in_port=1", Actions: "3"},
	{Table: 0, Priority: 3, Match: "in_port=4,vlan_tci=0x0000/0x1fff", Actions: "mod_vlan_vid:3,resubmit(,58)"},
	{Table: 0, Priority: 3, Match: "in_port=4,dl_vlan=100", Actions: "mod_vlan_vid:3,goto_table:58"},
	{Table: 2, Priority: 2, Match: "nw_dst=10.0.0.0/24,tcp,tp_dst=80", Actions: "resubmit(,3)"},
	{Table: 3, Priority: 1, Match: "dl_type=0x0806,arp_tpa=10.0.0.5,dl_vlan=5",
		Actions: "load:0x2->NXM_OF_ARP_OP[],move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],mod_dl_src:fa:16:3e:00:00:01,in_port"},
	{Table: 10, Priority: 1, Match: "",
		Actions: "learn(table=20,priority=1,hard_timeout=300,NXM_OF_VLAN_TCI[0..11],NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],load:0->NXM_OF_VLAN_TCI[],load:NXM_NX_TUN_ID[]->NXM_NX_TUN_ID[],output:NXM_OF_IN_PORT[]),output:1"},
	{Table: 10, Priority: 2, Match: "dl_type=0x0800,nw_dst=10.1.2.0/24", Actions: "load:5->NXM_NX_REG0[],resubmit(,20)"},
	{Table: 20, Priority: 2, Match: "dl_vlan=5,dl_dst=fa:16:3e:00:00:01", Actions: "strip_vlan,set_tunnel:0x64,output:2"},
	{Table: 22, Priority: 1, Match: "dl_vlan=5", Actions: "pop_vlan,set_field:0x64->tun_id,output:2,output:3"},
	{Table: 60, Priority: 3, Match: "", Actions: "normal"},
	{Table: 71, Priority: 5, Match: "ip,reg5=0x3,ct_state=+new-est", Actions: "ct(commit,zone=NXM_NX_REG6[0..15]),resubmit(,72)"},
	{Table: 82, Priority: 70, Match: "ct_state=+est-rel-rpl,ip,reg6=0x3,nw_src=10.0.0.0/24", Actions: "conjunction(1,1/2)"},
	{Table: 0, Priority: 10, Match: "icmp6,in_port=5,icmp_type=136", Actions: "resubmit(,24)"},
	{Table: 23, Priority: 0, Match: "", Actions: "drop"},
}

const (
	mask  = uint64(0xffff) << 48
	owner = uint64(0x1234) << 48
	other = uint64(0x0099)<<48 | 7
)

// recorder counts the ovs-ofctl commands run through it.
type recorder struct {
	run   ovs.Runner
	mu    sync.Mutex
	calls map[string]int
}

func newRecorder(run ovs.Runner) *recorder { return &recorder{run: run, calls: map[string]int{}} }

func (r *recorder) Run(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error) {
	cmd := name
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			cmd += " " + a // "ovs-ofctl OpenFlow15 dump-flows", ...
		}
	}
	for _, a := range args {
		if a == "--bundle" {
			cmd = "bundle"
		}
	}
	r.mu.Lock()
	for _, c := range []string{"dump-flows", "parse-flows", "bundle"} {
		if strings.Contains(cmd, c) {
			r.calls[c]++
		}
	}
	r.mu.Unlock()
	return r.run(ctx, stdin, name, args...)
}

func (r *recorder) take() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls
	r.calls = map[string]int{}
	return c
}

// stats dumps the bridge's flows with their statistics, keyed by table,
// priority and match as Dump prints them.
type stat struct {
	cookie   uint64
	duration float64
	actions  string
}

var (
	statRE   = regexp.MustCompile(`(duration|n_packets|n_bytes|idle_age|hard_age)=[^,]*, `)
	durRE    = regexp.MustCompile(`duration=([0-9.]+)s`)
	cookieRE = regexp.MustCompile(`cookie=(0x[0-9a-f]+)`)
)

func stats(t *testing.T, o *ovstest.OVS, bridge string) map[string]stat {
	t.Helper()
	out, err := o.Runner()(ctxFor(t), nil, "ovs-ofctl", "-O", ovs.OpenFlowVersion, "--no-names", "dump-flows", bridge)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]stat{}
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.Contains(line, "actions=") {
			continue
		}
		d := durRE.FindStringSubmatch(line)
		ck := cookieRE.FindStringSubmatch(line)
		if d == nil || ck == nil {
			t.Fatalf("dump line %q", line)
		}
		dur, _ := strconv.ParseFloat(d[1], 64)
		cookie, _ := strconv.ParseUint(ck[1], 0, 64)
		rest := strings.TrimSpace(statRE.ReplaceAllString(cookieRE.ReplaceAllString(line, ""), ""))
		rest = strings.TrimPrefix(rest, ", ")
		head, actions, _ := strings.Cut(rest, " actions=")
		m[head] = stat{cookie, dur, actions}
	}
	return m
}

// statKey is how stats keys a flow: "table=T, priority=P,MATCH".
func statKey(f ovs.Flow) string {
	k := fmt.Sprintf("table=%d, ", f.Table)
	if f.Priority != ovs.DefaultPriority {
		k += "priority=" + strconv.Itoa(f.Priority)
		if f.Match != "" {
			k += ","
		}
	}
	return k + f.Match
}

func TestSync(t *testing.T) {
	o := ovstest.Start(t)
	c := connect(t, o)
	netdevBridge(t, c, "br0")
	ctx := ctxFor(t)
	rec := newRecorder(o.Runner())
	of := &ovs.OpenFlow{Bridge: "br0", Run: rec.Run}

	// Another owner's flows, one in a table we also write.
	theirs := []ovs.Flow{
		{Cookie: other, Table: 0, Priority: 1, Match: "arp", Actions: "drop"},
		{Cookie: other, Table: 60, Priority: 9, Match: "ip", Actions: "NORMAL"},
	}
	if err := of.Apply(ctx, theirs, nil); err != nil {
		t.Fatal(err)
	}
	rec.take()

	gen1 := owner | 1
	res, err := of.Sync(ctx, corpus, gen1, mask)
	if err != nil {
		t.Fatal(err)
	}
	if want := (ovs.SyncResult{Added: len(corpus)}); res != want {
		t.Errorf("first Sync: %+v, want %+v", res, want)
	}
	if calls := rec.take(); calls["bundle"] != 1 || calls["parse-flows"] != 1 {
		t.Errorf("first Sync ran %v, want one parse-flows and one bundle", calls)
	}

	res, err = of.Sync(ctx, corpus, gen1, mask)
	if err != nil {
		t.Fatal(err)
	}
	if want := (ovs.SyncResult{Kept: len(corpus)}); res != want {
		t.Errorf("second Sync: %+v, want %+v", res, want)
	}
	if calls := rec.take(); calls["bundle"] != 0 || calls["parse-flows"] != 0 || calls["dump-flows"] != 1 {
		t.Errorf("second Sync ran %v, want one dump-flows and nothing else", calls)
	}

	// A new process: no memory, a new generation. Every flow is kept:
	// same cookie (the first generation's), duration still growing.
	before := stats(t, o, "br0")
	if len(before) != len(corpus)+len(theirs) {
		t.Fatalf("%d flows on br0, want %d", len(before), len(corpus)+len(theirs))
	}
	time.Sleep(1100 * time.Millisecond)
	fresh := &ovs.OpenFlow{Bridge: "br0", Run: rec.Run}
	res, err = fresh.Sync(ctx, corpus, owner|2, mask)
	if err != nil {
		t.Fatal(err)
	}
	if want := (ovs.SyncResult{Kept: len(corpus)}); res != want {
		t.Errorf("Sync after a restart: %+v, want %+v", res, want)
	}
	if calls := rec.take(); calls["bundle"] != 0 {
		t.Errorf("Sync after a restart wrote flows: %v", calls)
	}
	after := stats(t, o, "br0")
	for k, b := range before {
		a, ok := after[k]
		switch {
		case !ok:
			t.Errorf("flow %q gone", k)
		case a.cookie != b.cookie:
			t.Errorf("flow %q: cookie %#x -> %#x", k, b.cookie, a.cookie)
		case a.duration < b.duration+1:
			t.Errorf("flow %q: duration %.3fs -> %.3fs: re-added", k, b.duration, a.duration)
		}
	}
	if b := before[statKey(ovs.Flow{Table: 60, Priority: 3, Actions: "NORMAL"})]; b.cookie != gen1 {
		t.Errorf("normal flow: %+v, want cookie %#x", b, gen1)
	}

	// Change one flow's actions, drop one, add one.
	want := append([]ovs.Flow(nil), corpus...)
	changed := want[1]
	changed.Actions = "output:4"
	want[1] = changed
	dropped := want[len(want)-1]
	want = want[:len(want)-1]
	added := ovs.Flow{Table: 23, Priority: 5, Match: "udp,tp_dst=67", Actions: "drop"}
	want = append(want, added)
	gen3 := owner | 3
	res, err = fresh.Sync(ctx, want, gen3, mask)
	if err != nil {
		t.Fatal(err)
	}
	if w := (ovs.SyncResult{Kept: len(corpus) - 2, Added: 1, Modified: 1, Deleted: 1}); res != w {
		t.Errorf("Sync with changes: %+v, want %+v", res, w)
	}
	if calls := rec.take(); calls["bundle"] != 1 {
		t.Errorf("Sync with changes ran %v, want one bundle", calls)
	}
	now := stats(t, o, "br0")
	cs, err := of.Canonical(ctx, []ovs.Flow{changed, dropped})
	if err != nil {
		t.Fatal(err)
	}
	changed, dropped = cs[0], cs[1]
	if s := now[statKey(changed)]; s.actions != "output:4" || s.duration < 1 || s.cookie != gen1 {
		t.Errorf("modified flow: %+v, want output:4 in place (old duration and cookie)", s)
	}
	if s, ok := now[statKey(ovs.Flow{Table: 23, Priority: 5, Match: "udp,tp_dst=67"})]; !ok || s.cookie != gen3 {
		t.Errorf("added flow: %+v %v, want cookie %#x", s, ok, gen3)
	}
	if s, ok := now[statKey(dropped)]; ok {
		t.Errorf("dropped flow still there: %+v", s)
	}
	for _, f := range theirs {
		if s, ok := now[statKey(f)]; !ok || s.cookie != other || s.duration < 1 {
			t.Errorf("other owner's flow %v: %+v %v", f, s, ok)
		}
	}

	t.Run("conflicts", func(t *testing.T) {
		_, err := fresh.Sync(ctx, append(want, ovs.Flow{Table: 0, Priority: 1, Match: "arp", Actions: "NORMAL"}), gen3, mask)
		if !errors.Is(err, ovs.ErrConflict) {
			t.Errorf("Sync over another owner's flow: %v", err)
		}
		_, err = fresh.Sync(ctx, append(want, ovs.Flow{Table: 23, Priority: 5, Match: "udp,tp_dst=67", Actions: "NORMAL"}), gen3, mask)
		if !errors.Is(err, ovs.ErrConflict) {
			t.Errorf("Sync with two flows differing in actions only: %v", err)
		}
		if calls := rec.take(); calls["bundle"] != 0 {
			t.Errorf("a failed Sync wrote: %v", calls)
		}
	})

	t.Run("empty want deletes ours only", func(t *testing.T) {
		res, err := fresh.Sync(ctx, nil, owner|4, mask)
		if err != nil {
			t.Fatal(err)
		}
		if res.Deleted != len(want) || res.Kept+res.Added+res.Modified != 0 {
			t.Errorf("Sync(nil): %+v", res)
		}
		flows, err := of.Dump(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(flows) != len(theirs) {
			t.Errorf("left: %v", flows)
		}
	})
}

// Canonical's form is what dump-flows prints for the same flow, for
// every flow of the corpus: the property Sync's comparison rests on.
func TestCanonicalIsDumpForm(t *testing.T) {
	o := ovstest.Start(t)
	c := connect(t, o)
	netdevBridge(t, c, "br0")
	ctx := ctxFor(t)
	of := o.OpenFlow("br0")

	canon, err := of.Canonical(ctx, corpus)
	if err != nil {
		t.Fatal(err)
	}
	if err := of.Apply(ctx, corpus, nil); err != nil {
		t.Fatal(err)
	}
	dumped, err := of.Dump(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(dumped) != len(corpus) {
		t.Fatalf("dumped %d flows, want %d", len(dumped), len(corpus))
	}
	byKey := map[string]ovs.Flow{}
	for _, f := range dumped {
		byKey[statKey(f)] = f
	}
	differ := 0
	for i, f := range canon {
		d, ok := byKey[statKey(f)]
		if !ok || d.Actions != f.Actions {
			t.Errorf("wrote    %v\ncanonical %v\ndumped   %v", corpus[i], f, d)
		}
		if f != corpus[i] {
			differ++
		}
	}
	t.Logf("%d of %d corpus flows are written otherwise than OVS prints them", differ, len(corpus))
	if differ < len(corpus)/2 {
		t.Errorf("only %d of %d corpus flows are non-canonical", differ, len(corpus))
	}
	// Canonical flows are their own canonical form.
	again, err := of.Canonical(ctx, canon)
	if err != nil {
		t.Fatal(err)
	}
	for i := range canon {
		if again[i] != canon[i] {
			t.Errorf("not a fixed point: %v -> %v", canon[i], again[i])
		}
	}
	// Port names need the switch: Canonical refuses them.
	if _, err := of.Canonical(ctx, []ovs.Flow{{Table: 0, Priority: 1, Match: "in_port=br0", Actions: "drop"}}); err == nil {
		t.Error("Canonical accepted a port name")
	}
}

// A bundle with one flow the switch refuses changes nothing.
func TestApplyAtomic(t *testing.T) {
	o := ovstest.Start(t)
	c := connect(t, o)
	netdevBridge(t, c, "br0")
	ctx := ctxFor(t)
	of := o.OpenFlow("br0")

	keep := ovs.Flow{Cookie: 1, Table: 0, Priority: 10, Match: "arp", Actions: "NORMAL"}
	if err := of.Apply(ctx, []ovs.Flow{keep}, nil); err != nil {
		t.Fatal(err)
	}
	good := ovs.Flow{Cookie: 1, Table: 1, Priority: 10, Match: "ip", Actions: "drop"}
	// ovs-ofctl sends it; the switch refuses it, as group 99 does not exist.
	bad := ovs.Flow{Cookie: 1, Table: 5, Priority: 10, Match: "ip", Actions: "group:99"}
	err := of.Apply(ctx, []ovs.Flow{good, bad}, []ovs.Flow{keep})
	if err == nil || !strings.Contains(err.Error(), "OFPBAC_BAD_OUT_GROUP") {
		t.Fatalf("Apply with a flow the switch refuses: %v", err)
	}
	flows, err := of.Dump(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(flows) != 1 || flows[0] != keep {
		t.Errorf("after a refused bundle: %v, want only %v", flows, keep)
	}
	// Without the bad flow the same bundle goes through.
	if err := of.Apply(ctx, []ovs.Flow{good}, []ovs.Flow{keep}); err != nil {
		t.Fatal(err)
	}
	if flows, _ := of.Dump(ctx); len(flows) != 1 || flows[0] != good {
		t.Errorf("after the bundle: %v, want only %v", flows, good)
	}
	if err := of.Apply(ctx, nil, nil); err != nil {
		t.Errorf("empty Apply: %v", err)
	}
}

// BenchmarkSync: 1,000 flows. "first" is a process's first Sync onto an
// empty bridge (parse-flows, dump-flows, one bundle of 1,000 adds);
// "noop" is a Sync that finds every flow right (one dump-flows);
// "canonical" is parse-flows of the 1,000 alone; "exec" is one ovs-ofctl
// run that does next to nothing (dump-flows of a bridge without flows):
// the fixed cost of going through a program.
func BenchmarkSync(b *testing.B) {
	o := ovstest.Start(b)
	c := connect(b, o)
	netdevBridge(b, c, "br0")
	ctx := ctxFor(b)
	want := make([]ovs.Flow, 1000)
	for i := range want {
		want[i] = ovs.Flow{Table: 10 + i%4, Priority: 100, Match: fmt.Sprintf("dl_type=0x0800,nw_dst=10.%d.%d.0/24", i/256, i%256),
			Actions: fmt.Sprintf("load:%d->NXM_NX_REG0[],resubmit(,20)", i)}
	}
	b.Run("first", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			if _, err := o.Runner()(ctx, nil, "ovs-ofctl", "-O", ovs.OpenFlowVersion, "del-flows", "br0"); err != nil {
				b.Fatal(err)
			}
			of := o.OpenFlow("br0")
			b.StartTimer()
			res, err := of.Sync(ctx, want, owner|1, mask)
			if err != nil || res.Added != len(want) {
				b.Fatal(res, err)
			}
		}
	})
	b.Run("canonical", func(b *testing.B) {
		for b.Loop() {
			of := o.OpenFlow("br0")
			if _, err := of.Canonical(ctx, want); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("exec", func(b *testing.B) {
		netdevBridge(b, c, "empty")
		of := o.OpenFlow("empty")
		for b.Loop() {
			if _, err := of.Dump(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("noop", func(b *testing.B) {
		of := o.OpenFlow("br0")
		if _, err := of.Sync(ctx, want, owner|1, mask); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			res, err := of.Sync(ctx, want, owner|1, mask)
			if err != nil || res.Kept != len(want) {
				b.Fatal(res, err)
			}
		}
	})
}
