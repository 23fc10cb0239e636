package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// An admin's migration in the all-in-one, an iSCSI pool and an RBD
// pool, driven by the openstack CLI (openstack volume migrate --host):
//
//   - to the volume's own pool: refused (400, Cinder's message);
//   - an iSCSI volume holding a pattern to the RBD pool, the daemon
//     killed (SIGKILL) once the data is copied and before that is
//     reported (volume.agent.migrate-copied), then, started again, once
//     the old copy is removed and before that is reported
//     (volume.agent.migrate-cleaned); started again it converges: the
//     volume available on the RBD pool, of its type, migration_status
//     success, the pattern in its image (QEMU's RBD driver), the iSCSI
//     file and target gone;
//   - back with --lock-volume, killed once the iSCSI copy is made and
//     exported and before that is reported
//     (volume.agent.migrate-created): available again, the pattern in
//     the iSCSI file, one target, the image gone.
func TestAllInOneVolumeMigrateCrash(t *testing.T) {
	a := newVolumeAIO(t)
	r := startRBD(a)
	a.start("volume.agent.migrate-copied")
	ceph := r.need(t)
	ctx := context.Background()
	c := a.cli
	c.must("volume", "type", "create", "--property", "volume_backend_name=iscsi", "tgt")
	c.must("volume", "type", "create", "anywhere")
	a.waitRBDPool()
	// Made on the iSCSI pool, then of a type both pools take (a retype
	// in place).
	var v map[string]any
	c.json(&v, "volume", "create", "--type", "tgt", "--size", "1", "mv")
	id := v["id"].(string)
	a.status("mv", "available")
	c.must("volume", "set", "--type", "anywhere", "mv")
	retypedName(t, a, "mv", "anywhere")
	file := filepath.Join(a.data, "volume", "files", "volume-"+id)
	fillFile(t, file, 4<<20, 1<<20, 0x5a)
	fillFile(t, file, 700<<20, 64<<10, 0xa5)

	if out, err := c.run("volume", "migrate", "--host", "aio@iscsi#iscsi", "mv"); err == nil ||
		!strings.Contains(out, "destination host/cluster must be different than the current one (HTTP 400)") {
		t.Fatalf("a migration to the volume's own pool: %v\n%s", err, out)
	}
	migrated := func(host string) {
		t.Helper()
		waitFor(t, a.p, "mv migrated to "+host, func() error {
			c.json(&v, "volume", "show", "mv")
			if v["os-vol-host-attr:host"] != host || v["status"] != "available" || v["migration_status"] != "success" || v["type"] != "anywhere" {
				return fmt.Errorf("mv: on %v, %v, migration %v, type %v", v["os-vol-host-attr:host"], v["status"], v["migration_status"], v["type"])
			}
			return nil
		})
	}
	start := time.Now()
	c.must("volume", "migrate", "--host", "aio@rbd#rbd", "mv")
	a.crashed("volume.agent.migrate-copied")
	a.launch("volume.agent.migrate-cleaned")
	a.crashed("volume.agent.migrate-cleaned")
	a.start("volume.agent.migrate-created")
	migrated("aio@rbd#rbd")
	t.Logf("migration iSCSI to RBD, killed after the copy and after the old copy's removal, converged: %s", time.Since(start).Round(time.Millisecond))
	if v["id"] != id {
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
	c.must("volume", "migrate", "--host", "aio@iscsi#iscsi", "--lock-volume", "mv")
	a.crashed("volume.agent.migrate-created")
	a.start("")
	migrated("aio@iscsi#iscsi")
	t.Logf("migration RBD to iSCSI (locked), killed after the destination's copy was made, converged: %s", time.Since(start).Round(time.Millisecond))
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
}
