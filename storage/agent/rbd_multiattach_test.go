package agent_test

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	kitagent "github.com/gostack/gostack/kit/agent"
	"github.com/gostack/gostack/storage"
	"github.com/gostack/gostack/storage/agent"
)

// Multiattach on the RBD backend, on a real Ceph, as Cinder's RBD
// driver: the pool reports the capability, so a multiattach type's
// volume is placed on it, and its image goes without exclusive-lock,
// object-map, fast-diff and journaling (_enable_multiattach) while a
// plain volume keeps the cluster's defaults; a volume from its snapshot
// (of its type unless another is named) goes without them too; one of
// a plain type from its snapshot, and one cloned from it, have the
// cluster's default features again (Cinder clones with
// rbd_default_features), a multiattach clone of a plain volume goes
// without them; the
// multiattach volume backs up (its objects found without the object
// map) and restores into a plain volume; attached to two instances on
// two hosts it gives both its RBD connection info, and stays in-use
// until the last detach.
func TestRBDBackendMultiattach(t *testing.T) {
	cl, _ := rbdClient(t)
	store, url := controller(t)
	ctx, admin, user := context.Background(), storage.Viewer{Admin: true}, storage.Viewer{Project: "proj"}
	a := &agent.Agent{Config: agent.Config{Host: "node1@rbd#rbd", BackendName: "rbd", SyncInterval: 100 * time.Millisecond,
		BackupDir: filepath.Join(t.TempDir(), "backups")},
		Backend: &agent.RBD{Client: cl}, Session: kitagent.NewSession(kitagent.Credentials{AuthURL: url + "/v3", Username: "volume-agent", Password: "x"}),
		VolumeURL: url, FeedURL: url + "/v1/watch/volume"}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx) }()
	t.Cleanup(func() { cancel(); <-done })
	wait := func(what string, cond func() bool) {
		t.Helper()
		for end := time.Now().Add(30 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("not %s after 30 s", what)
			}
		}
	}
	wait("a pool", func() bool { bs, _ := store.Backends(ctx); return len(bs) == 1 })
	if bs, _ := store.Backends(ctx); !bs[0].Report.Multiattach {
		t.Fatalf("the RBD pool does not report multiattach: %+v", bs[0].Report)
	}
	if _, err := store.CreateVolumeType(ctx, storage.VolumeTypeCreate{Name: "multi",
		ExtraSpecs: map[string]string{storage.SpecMultiattach: "<is> True"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.CreateVolumeType(ctx, storage.VolumeTypeCreate{Name: "plain"}); err != nil {
		t.Fatal(err)
	}
	create := func(c storage.VolumeCreate) storage.Volume {
		t.Helper()
		c.UserID, c.Size = "u", 1
		v, err := store.CreateVolume(ctx, user, c)
		if err != nil {
			t.Fatal(err)
		}
		wait("available", func() bool { x, _ := store.Volume(ctx, admin, v.ID); return x.Status == storage.VolumeAvailable })
		v, _ = store.Volume(ctx, admin, v.ID)
		return v
	}
	features := func(id string) []string {
		t.Helper()
		in, err := cl.Info(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return in.Features
	}
	exclusions := []string{"exclusive-lock", "fast-diff", "journaling", "object-map"}
	without := func(what, id string) {
		t.Helper()
		f := features(id)
		if !slices.Contains(f, "layering") || slices.ContainsFunc(f, func(n string) bool { return slices.Contains(exclusions, n) }) {
			t.Errorf("%s's features %v: want layering and none of %v", what, f, exclusions)
		}
	}
	plain := create(storage.VolumeCreate{})
	defaults := features(plain.ID)
	if !slices.Contains(defaults, "exclusive-lock") {
		t.Fatalf("the cluster's default features %v have no exclusive-lock: nothing to take off", defaults)
	}
	multi := create(storage.VolumeCreate{VolumeType: "multi"})
	if !multi.Multiattach || multi.Host != "node1@rbd#rbd" {
		t.Fatalf("a multiattach type's volume: multiattach %v on %q", multi.Multiattach, multi.Host)
	}
	without("the multiattach volume", multi.ID)

	n, err := store.CreateSnapshot(ctx, user, storage.SnapshotCreate{VolumeID: multi.ID, UserID: "u"})
	if err != nil {
		t.Fatal(err)
	}
	wait("the snapshot available", func() bool { x, _ := store.Snapshot(ctx, admin, n.ID); return x.Status == storage.SnapshotAvailable })
	without("a volume from its snapshot, of its type", create(storage.VolumeCreate{SnapshotID: n.ID}).ID)
	fromSnap := create(storage.VolumeCreate{SnapshotID: n.ID, VolumeType: "plain"})
	cloned := create(storage.VolumeCreate{SourceVolID: multi.ID, VolumeType: "plain"})
	for what, id := range map[string]string{"a plain volume from its snapshot": fromSnap.ID, "a plain clone of it": cloned.ID} {
		if f := features(id); !slices.Equal(f, defaults) {
			t.Errorf("%s: features %v, want the cluster's defaults %v", what, f, defaults)
		}
	}
	without("a multiattach clone of a plain volume", create(storage.VolumeCreate{SourceVolID: plain.ID, VolumeType: "multi"}).ID)

	// A backup of the multiattach volume (its allocated objects found
	// without the object map), restored into a plain volume.
	written := bytes.Repeat([]byte{0x5a}, 1<<20)
	h, err := cl.OpenVolume(ctx, multi.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.WriteAt(written, 4<<20); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := store.CreateBackup(ctx, user, storage.BackupCreate{VolumeID: multi.ID, UserID: "u"})
	if err != nil {
		t.Fatal(err)
	}
	backedUp := func() bool { x, _ := store.Backup(ctx, admin, b.ID); return x.Status == storage.BackupAvailable }
	wait("the multiattach volume backed up", backedUp)
	into := create(storage.VolumeCreate{VolumeType: "plain"})
	if _, _, err := store.RestoreBackup(ctx, user, b.ID, into.ID); err != nil {
		t.Fatal(err)
	}
	wait("restored", func() bool {
		x, _ := store.Volume(ctx, admin, into.ID)
		return x.Status == storage.VolumeAvailable && backedUp()
	})
	if h, err = cl.OpenVolume(ctx, into.ID); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(written))
	_, err = h.ReadAt(got, 4<<20)
	h.Close()
	if err != nil || !bytes.Equal(got, written) {
		t.Fatalf("the restored backup of the multiattach volume differs (%v)", err)
	}

	var ats []string
	for i, inst := range []string{"11111111-2222-3333-4444-555555555555", "22222222-2222-3333-4444-555555555555"} {
		at, err := store.CreateAttachment(ctx, user, storage.AttachmentCreate{VolumeID: multi.ID, InstanceUUID: inst})
		if err != nil {
			t.Fatalf("attach to instance %d: %v", i+1, err)
		}
		got, err := store.UpdateAttachment(ctx, user, at.ID, map[string]any{"initiator": "iqn.x", "host": []string{"compute1", "compute2"}[i]})
		if err != nil {
			t.Fatal(err)
		}
		if got.ConnectionInfo["driver_volume_type"] != "rbd" {
			t.Fatalf("attachment %d's connection info: %v", i+1, got.ConnectionInfo)
		}
		if _, err := store.CompleteAttachment(ctx, user, at.ID); err != nil {
			t.Fatal(err)
		}
		ats = append(ats, at.ID)
	}
	for i, id := range ats {
		if _, err := store.DeleteAttachment(ctx, user, id); err != nil {
			t.Fatal(err)
		}
		want := storage.VolumeInUse
		if i == len(ats)-1 {
			want = storage.VolumeAvailable
		}
		if got, _ := store.Volume(ctx, admin, multi.ID); got.Status != want || len(got.Attachments) != len(ats)-1-i {
			t.Fatalf("after %d detaches: %s with %d attachments", i+1, got.Status, len(got.Attachments))
		}
	}
}
