package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// Retype in the all-in-one, an iSCSI pool and an RBD pool, driven by
// the openstack CLI (openstack volume set --type T --retype-policy P):
//
//   - an iSCSI volume holding a pattern moves to the RBD pool (on-demand),
//     the daemon killed (SIGKILL) once the data is copied and before
//     that is reported (volume.agent.migrate-copied), then, started
//     again, once the old copy is removed and before that is reported
//     (volume.agent.migrate-cleaned); started again it converges: the
//     volume available on the RBD pool, of its new type, the pattern in
//     its image (read through QEMU's RBD driver), the iSCSI file and
//     target gone;
//   - back to the iSCSI pool, killed once the iSCSI copy is made and
//     exported and before that is reported
//     (volume.agent.migrate-created): the pattern in the iSCSI file,
//     one target, the image gone, nothing retyping;
//   - with the never policy a retype that needs a migration leaves the
//     volume where it was;
//   - in place on RBD, multiattach on (the daemon killed once the
//     features are off and before that is reported,
//     volume.agent.retyped) then off: the image's exclusive-lock,
//     object-map and fast-diff taken off, then back (rbd info).
func TestAllInOneVolumeRetypeCrash(t *testing.T) {
	a := newVolumeAIO(t)
	r := startRBD(a)
	a.start("volume.agent.migrate-copied")
	ceph := r.need(t)
	ctx := context.Background()
	c := a.cli
	c.must("volume", "type", "create", "--property", "volume_backend_name=rbd", "ceph")
	c.must("volume", "type", "create", "--property", "volume_backend_name=rbd", "--property", "multiattach=<is> True", "ceph-multi")
	c.must("volume", "type", "create", "--property", "volume_backend_name=iscsi", "tgt")
	a.waitRBDPool()
	c.must("volume", "create", "--type", "ceph", "--size", "1", "probe")
	a.status("probe", "available")

	var v map[string]any
	c.json(&v, "volume", "create", "--type", "tgt", "--size", "1", "rv")
	id := v["id"].(string)
	a.status("rv", "available")
	file := filepath.Join(a.data, "volume", "files", "volume-"+id)
	fillFile(t, file, 4<<20, 1<<20, 0x5a)
	fillFile(t, file, 700<<20, 64<<10, 0xa5)

	start := time.Now()
	c.must("volume", "set", "--type", "ceph", "--retype-policy", "on-demand", "rv")
	a.crashed("volume.agent.migrate-copied")
	// Started again, the copy is made again, then the old copy removed:
	// killed there too.
	a.launch("volume.agent.migrate-cleaned")
	a.crashed("volume.agent.migrate-cleaned")
	a.start("volume.agent.migrate-created")
	retyped := func(typ string) {
		t.Helper()
		waitFor(t, a.p, "rv of type "+typ, func() error {
			c.json(&v, "volume", "show", "rv")
			if v["type"] != typ || v["status"] != "available" {
				return fmt.Errorf("rv: %v %v", v["type"], v["status"])
			}
			return nil
		})
	}
	retyped("ceph")
	t.Logf("retype iSCSI to RBD, killed after the copy and after the old copy's removal, converged: %s", time.Since(start).Round(time.Millisecond))
	if v["id"] != id || v["os-vol-host-attr:host"] != "aio@rbd#rbd" {
		t.Fatalf("moved to RBD: %v", v)
	}
	qemuIO := func(cmd string) { t.Helper(); rbdQemuIO(t, a.ns, ceph, id, cmd) }
	qemuIO("read -P 0x5a 4M 1M")
	qemuIO("read -P 0xa5 700M 64k")
	qemuIO("read -P 0 0 4M")
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Fatalf("the iSCSI file after the move: %v", err)
	}
	if a.target(id) != nil {
		t.Fatal("the iSCSI target after the move")
	}
	qemuIO("write -P 0x3c 100M 1M")

	start = time.Now()
	c.must("volume", "set", "--type", "tgt", "--retype-policy", "on-demand", "rv")
	a.crashed("volume.agent.migrate-created")
	a.start("volume.agent.retyped")
	retyped("tgt")
	t.Logf("retype RBD to iSCSI, killed after the destination's copy was made, converged: %s", time.Since(start).Round(time.Millisecond))
	if v["os-vol-host-attr:host"] != "aio@iscsi#iscsi" {
		t.Fatalf("moved back: %v", v)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct {
		off, n int
		b      byte
	}{{4 << 20, 1 << 20, 0x5a}, {700 << 20, 64 << 10, 0xa5}, {100 << 20, 1 << 20, 0x3c}, {0, 4 << 20, 0}} {
		if i := slices.IndexFunc(data[p.off:p.off+p.n], func(x byte) bool { return x != p.b }); i >= 0 {
			t.Fatalf("the iSCSI file at %d MiB + %d: %#x, want %#x", p.off>>20, i, data[p.off+i], p.b)
		}
	}
	if tg := a.target(id); tg == nil {
		t.Fatal("no iSCSI target after the move back")
	}
	if out, err := ceph.RBD(ctx, "ls", ceph.Pool); err != nil || strings.Contains(string(out), id) {
		t.Fatalf("the pool after the move back: %v\n%s", err, out)
	}

	// Never: a retype that needs a migration leaves the volume.
	c.must("volume", "set", "--type", "ceph", "--retype-policy", "never", "rv")
	time.Sleep(time.Second)
	if c.json(&v, "volume", "show", "rv"); v["type"] != "tgt" || v["status"] != "available" {
		t.Fatalf("never: %v %v", v["type"], v["status"])
	}

	// In place on RBD: multiattach on, then off.
	features := func(name string) []string {
		t.Helper()
		c.json(&v, "volume", "show", name)
		out, err := ceph.RBD(ctx, "info", "--format", "json", ceph.Pool+"/volume-"+v["id"].(string))
		if err != nil {
			t.Fatal(err)
		}
		var m struct{ Features []string }
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatal(err)
		}
		return m.Features
	}
	defaults := features("probe")
	c.must("volume", "set", "--type", "ceph-multi", "probe")
	a.crashed("volume.agent.retyped")
	a.start("")
	retypedName(t, a, "probe", "ceph-multi")
	if f := features("probe"); slices.Contains(f, "exclusive-lock") || slices.Contains(f, "object-map") || slices.Contains(f, "fast-diff") {
		t.Fatalf("multiattach: features %v", f)
	}
	c.must("volume", "set", "--type", "ceph", "probe")
	retypedName(t, a, "probe", "ceph")
	if f := features("probe"); !slices.Equal(f, defaults) {
		t.Fatalf("multiattach off: features %v, want %v", f, defaults)
	}
}

// retypedName waits for volume name to be available of type typ.
func retypedName(t *testing.T, a *volumeAIO, name, typ string) {
	t.Helper()
	var v map[string]any
	waitFor(t, a.p, name+" of type "+typ, func() error {
		a.cli.json(&v, "volume", "show", name)
		if v["type"] != typ || v["status"] != "available" {
			return fmt.Errorf("%s: %v %v", name, v["type"], v["status"])
		}
		return nil
	})
}
