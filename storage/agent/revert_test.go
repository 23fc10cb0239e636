package agent_test

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	kitagent "github.com/gostack/gostack/kit/agent"
	"github.com/gostack/gostack/storage"
	"github.com/gostack/gostack/storage/agent"
)

// agentOn runs an agent of pool host (host@backend#pool) on backend
// against the controller at url until the test ends, waits for its
// pool, and returns a wait of up to 30 s for a condition.
func agentOn(t *testing.T, store *storage.Store, url, host string, backend agent.Backend) func(string, func() bool) {
	t.Helper()
	name, _, _ := strings.Cut(host, "#")
	_, name, _ = strings.Cut(name, "@")
	runAgent(t, &agent.Agent{Config: agent.Config{Host: host, BackendName: name, SyncInterval: 100 * time.Millisecond},
		Backend: backend, Session: kitagent.NewSession(kitagent.Credentials{AuthURL: url + "/v3", Username: "volume-agent", Password: "x"}),
		VolumeURL: url, FeedURL: url + "/v1/watch/volume"})
	wait := func(what string, cond func() bool) {
		t.Helper()
		for end := time.Now().Add(30 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("not %s after 30 s", what)
			}
		}
	}
	wait("a pool", func() bool { bs, _ := store.Backends(context.Background()); return len(bs) == 1 })
	return wait
}

// revertTo asks the revert of volume id to snapshot snap and waits for
// the agent to make both available again.
func revertTo(t *testing.T, store *storage.Store, wait func(string, func() bool), user storage.Viewer, id, snap string) {
	t.Helper()
	ctx, adm := context.Background(), storage.Viewer{Admin: true}
	if _, err := store.RevertVolume(ctx, user, id, snap, nil); err != nil {
		t.Fatal(err)
	}
	wait("reverted", func() bool {
		v, _ := store.Volume(ctx, adm, id)
		n, _ := store.Snapshot(ctx, adm, snap)
		return v.Status == storage.VolumeAvailable && n.Status == storage.SnapshotAvailable
	})
}

// A revert on the iSCSI backend, with tgtd and QEMU's initiator: data
// written through the volume's export, a snapshot, other data written
// over it and where the snapshot has a hole, then the revert: through
// the same export (tgtd kept the file open) the first data reads back
// and the hole reads as zeros; the volume's file takes no more space
// than the snapshot's data.
func TestISCSIRevert(t *testing.T) {
	store, wait := iscsiAgent(t, false)
	ctx, adm, user := context.Background(), storage.Viewer{Admin: true}, storage.Viewer{Project: "proj"}
	v, lun := madeISCSI(t, store, wait, user, storage.VolumeCreate{UserID: "u", Size: 1})
	qemuIO := func(cmds ...string) string {
		t.Helper()
		args := []string{"-f", "raw"}
		for _, c := range cmds {
			args = append(args, "-c", c)
		}
		out, err := exec.Command("qemu-io", append(args, lun)...).CombinedOutput()
		if err != nil || strings.Contains(string(out), "failed") {
			t.Fatalf("qemu-io %v: %v\n%s", cmds, err, out)
		}
		return string(out)
	}
	qemuIO("write -P 0xaa 0 4M", "write -P 0xbb 100M 1M")
	n, err := store.CreateSnapshot(ctx, user, storage.SnapshotCreate{VolumeID: v.ID})
	if err != nil {
		t.Fatal(err)
	}
	wait("the snapshot made", func() bool { x, _ := store.Snapshot(ctx, adm, n.ID); return x.Status == storage.SnapshotAvailable })
	qemuIO("write -P 0x11 1M 2M", "write -P 0x22 500M 3M", "write -z 100M 1M")
	start := time.Now()
	revertTo(t, store, wait, user, v.ID, n.ID)
	t.Logf("revert of a 1 GiB volume with 5 MiB of data: %s", time.Since(start).Round(time.Millisecond))
	qemuIO("read -P 0xaa 0 4M", "read -P 0xbb 100M 1M", "read -P 0 4M 96M", "read -P 0 500M 3M")
}

// A revert on the RBD backend, on a real Ceph: the volume's image
// rolled back to the snapshot's RBD snapshot, in place (its other
// snapshot and the clone of it kept), and a revert to a later snapshot
// after that; the data read through librbd.
func TestRBDRevert(t *testing.T) {
	cl, _ := rbdClient(t)
	store, url := controller(t)
	ctx, adm, user := context.Background(), storage.Viewer{Admin: true}, storage.Viewer{Project: "proj"}
	wait := agentOn(t, store, url, "node1@rbd#rbd", &agent.RBD{Client: cl, TempDir: t.TempDir()})
	v, err := store.CreateVolume(ctx, user, storage.VolumeCreate{UserID: "u", Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	wait("available", func() bool { x, _ := store.Volume(ctx, adm, v.ID); return x.Status == storage.VolumeAvailable })
	write := func(off int64, b byte, n int) {
		t.Helper()
		h, err := cl.OpenVolume(ctx, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		if _, err := h.WriteAt(bytes.Repeat([]byte{b}, n), off); err != nil {
			t.Fatal(err)
		}
	}
	check := func(off int64, b byte, n int) {
		t.Helper()
		h, err := cl.OpenVolume(ctx, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		got := make([]byte, n)
		if _, err := h.ReadAt(got, off); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, bytes.Repeat([]byte{b}, n)) {
			t.Fatalf("at %d: not %d bytes of %#x", off, n, b)
		}
	}
	snapshot := func() storage.Snapshot {
		t.Helper()
		n, err := store.CreateSnapshot(ctx, user, storage.SnapshotCreate{VolumeID: v.ID})
		if err != nil {
			t.Fatal(err)
		}
		wait("the snapshot made", func() bool { x, _ := store.Snapshot(ctx, adm, n.ID); return x.Status == storage.SnapshotAvailable })
		return n
	}
	write(0, 0xaa, 1<<20)
	first := snapshot()
	clone, err := store.CreateVolume(ctx, user, storage.VolumeCreate{UserID: "u", Size: 1, SnapshotID: first.ID})
	if err != nil {
		t.Fatal(err)
	}
	wait("the clone available", func() bool { x, _ := store.Volume(ctx, adm, clone.ID); return x.Status == storage.VolumeAvailable })
	write(0, 0x11, 1<<20)
	second := snapshot()
	write(0, 0x22, 1<<20)
	write(64<<20, 0x33, 1<<20)
	revertTo(t, store, wait, user, v.ID, second.ID)
	check(0, 0x11, 1<<20)
	check(64<<20, 0, 1<<20)
	if in, err := cl.Info(ctx, v.ID); err != nil || in.Size != 1<<30 {
		t.Fatalf("the volume's image after the revert: %+v %v", in, err)
	}
	// The first snapshot is no longer the latest: its clone gone and
	// the second snapshot deleted, the volume reverts to it.
	for _, id := range []string{clone.ID} {
		if _, err := store.DeleteVolume(ctx, user, id, storage.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := store.DeleteSnapshot(ctx, user, second.ID, false); err != nil {
		t.Fatal(err)
	}
	wait("the second snapshot gone", func() bool { _, err := store.Snapshot(ctx, adm, second.ID); return err != nil })
	revertTo(t, store, wait, user, v.ID, first.ID)
	check(0, 0xaa, 1<<20)
}

// A backend that cannot revert (the stand-in has no Reverter): the
// revert fails at once, the volume in error saying why, its snapshot
// available again and the data untouched.
func TestRevertOnBackendWithoutRevert(t *testing.T) {
	store, url := controller(t)
	b := &fakeBackend{vols: map[string]int64{}, failing: map[string]error{}}
	wait := agentOn(t, store, url, "node1@fake#fake", b)
	ctx, adm, user := context.Background(), storage.Viewer{Admin: true}, storage.Viewer{Project: "proj"}
	v, err := store.CreateVolume(ctx, user, storage.VolumeCreate{UserID: "u", Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	wait("available", func() bool { x, _ := store.Volume(ctx, adm, v.ID); return x.Status == storage.VolumeAvailable })
	n, err := store.CreateSnapshot(ctx, user, storage.SnapshotCreate{VolumeID: v.ID})
	if err != nil {
		t.Fatal(err)
	}
	wait("the snapshot made", func() bool { x, _ := store.Snapshot(ctx, adm, n.ID); return x.Status == storage.SnapshotAvailable })
	if _, err := store.RevertVolume(ctx, user, v.ID, n.ID, nil); err != nil {
		t.Fatal(err)
	}
	wait("the revert failed", func() bool { x, _ := store.Volume(ctx, adm, v.ID); return x.Status == storage.VolumeError })
	if x, _ := store.Volume(ctx, adm, v.ID); !strings.Contains(x.Message, "cannot revert a volume to a snapshot") {
		t.Errorf("the volume's message: %q", x.Message)
	}
	if x, _ := store.Snapshot(ctx, adm, n.ID); x.Status != storage.SnapshotAvailable {
		t.Errorf("the snapshot: %s", x.Status)
	}
	b.mu.Lock()
	_, ok := b.vols[v.ID]
	b.mu.Unlock()
	if !ok {
		t.Error("the volume is gone from the backend")
	}
}
