package agent_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	kitagent "github.com/gostack/gostack/kit/agent"
	"github.com/gostack/gostack/storage"
	"github.com/gostack/gostack/storage/agent"
	"github.com/gostack/gostack/storage/chunked"
	"github.com/gostack/gostack/storage/rbd"
)

// Backups of RBD volumes through the agent, on a real Ceph, into the
// chunked file store the iSCSI backend's agent shares: a full backup of
// a volume with a pattern restored into another RBD volume holding
// other bytes gives the same bytes (read back with the rbd CLI); an
// incremental one after one region changed stores that region's object
// only and restores; a snapshot's backup holds the snapshot's bytes, not
// the live volume's; a volume made from a backup on the RBD backend; an
// RBD backup restored into a file volume of the other backend and a
// file volume's backup into a new RBD volume; an in-use volume's
// backup (read at a temporary snapshot) made after a kill that left
// that snapshot and a partial directory, nothing left on the image; a
// backup of a volume whose image is gone in error with the reason.
func TestRBDBackups(t *testing.T) {
	cl, c := rbdClient(t)
	store, url := controller(t)
	ctx, admin, user := context.Background(), storage.Viewer{Admin: true}, storage.Viewer{Project: "proj"}
	dir := t.TempDir()
	backups := filepath.Join(dir, "backups")
	files := &fileBackend{fakeBackend: &fakeBackend{vols: map[string]int64{}, failing: map[string]error{}}, dir: dir}
	run := func(host, name string, b agent.Backend) (stop func()) {
		a := &agent.Agent{Config: agent.Config{Host: host, BackendName: name, SyncInterval: 100 * time.Millisecond, BackupDir: backups},
			Backend: b, Session: kitagent.NewSession(kitagent.Credentials{AuthURL: url + "/v3", Username: "volume-agent", Password: "x"}),
			VolumeURL: url, FeedURL: url + "/v1/watch/volume"}
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- a.Run(runCtx) }()
		stopped := false
		stop = func() {
			if !stopped {
				stopped = true
				cancel()
				<-done
			}
		}
		t.Cleanup(stop)
		return stop
	}
	stopRBD := run("node1@rbd#rbd", "rbd", &agent.RBD{Client: cl})
	run("node1@file#file", "file", files)
	wait := func(what string, cond func() bool) {
		t.Helper()
		for end := time.Now().Add(30 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("not %s after 30 s", what)
			}
		}
	}
	wait("two pools", func() bool { bs, _ := store.Backends(ctx); return len(bs) == 2 })
	types := map[string]string{}
	for _, name := range []string{"rbd", "file"} {
		vt, err := store.CreateVolumeType(ctx, storage.VolumeTypeCreate{Name: name, ExtraSpecs: map[string]string{storage.SpecBackendName: name}})
		if err != nil {
			t.Fatal(err)
		}
		types[name] = vt.ID
	}
	volume := func(id string) storage.Volume { v, _ := store.Volume(ctx, admin, id); return v }
	backup := func(id string) storage.Backup { b, _ := store.Backup(ctx, admin, id); return b }
	create := func(typ string, backupID string) storage.Volume {
		t.Helper()
		v, err := store.CreateVolume(ctx, user, storage.VolumeCreate{UserID: "u", Size: 1, VolumeType: types[typ], BackupID: backupID})
		if err != nil {
			t.Fatal(err)
		}
		wait("volume available", func() bool { return volume(v.ID).Status == storage.VolumeAvailable })
		if v = volume(v.ID); !strings.HasPrefix(v.Host, "node1@"+typ) {
			t.Fatalf("a %s volume on %s", typ, v.Host)
		}
		return v
	}
	write := func(id string, off int64, n int, b byte) {
		t.Helper()
		h, err := cl.OpenVolume(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.WriteAt(bytes.Repeat([]byte{b}, n), off); err != nil {
			t.Fatal(err)
		}
		if err := h.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// digest is the sha256 of an RBD volume's (or snapshot's) bytes as
	// the rbd CLI exports them.
	digest := func(image string) string {
		t.Helper()
		p := filepath.Join(dir, "export")
		os.Remove(p)
		if out, err := c.RBD(ctx, "export", c.Pool+"/"+image, p); err != nil {
			t.Fatalf("rbd export %s: %s %v", image, out, err)
		}
		defer os.Remove(p)
		return fileDigest(t, p)
	}
	doBackup := func(bc storage.BackupCreate) storage.Backup {
		t.Helper()
		bc.UserID = "u"
		b, err := store.CreateBackup(ctx, user, bc)
		if err != nil {
			t.Fatal(err)
		}
		wait("backed up", func() bool { return backup(b.ID).Status == storage.BackupAvailable })
		return backup(b.ID)
	}
	restore := func(b storage.Backup, into storage.Volume) {
		t.Helper()
		if _, _, err := store.RestoreBackup(ctx, user, b.ID, into.ID); err != nil {
			t.Fatal(err)
		}
		wait("restored", func() bool {
			return volume(into.ID).Status == storage.VolumeAvailable && backup(b.ID).Status == storage.BackupAvailable
		})
	}

	// A full backup, restored into another RBD volume over what it held.
	v := create("rbd", "")
	write(v.ID, 4<<20, 1<<20, 0x31)
	write(v.ID, 700<<20+12345, 5000, 0x32)
	fullDigest := digest("volume-" + v.ID)
	start := time.Now()
	full := doBackup(storage.BackupCreate{VolumeID: v.ID})
	t.Logf("full backup of a 1 GiB RBD volume holding 1 MiB: %s", time.Since(start))
	if full.ObjectCount != 2 || volume(v.ID).Status != storage.VolumeAvailable {
		t.Fatalf("full backup: %d objects, the volume %s", full.ObjectCount, volume(v.ID).Status)
	}
	dst := create("rbd", "")
	write(dst.ID, 4<<20, 8<<20, 0xee)
	write(dst.ID, 900<<20, 1<<20, 0xee)
	restore(full, dst)
	if got := digest("volume-" + dst.ID); got != fullDigest {
		t.Fatal("the restored RBD volume's bytes are not the backed up volume's")
	}

	// An incremental one after one region changed: that region only.
	write(v.ID, 4<<20+64<<10, 100<<10, 0x41)
	incDigest := digest("volume-" + v.ID)
	inc := doBackup(storage.BackupCreate{VolumeID: v.ID, Incremental: true})
	if inc.ParentID != full.ID || inc.ObjectCount != 1 {
		t.Fatalf("incremental: parent %s, %d objects", inc.ParentID, inc.ObjectCount)
	}
	m, err := (&chunked.Store{Dir: backups}).Metadata(inc.ID)
	held := int64(0)
	for _, o := range m.Objects {
		for _, x := range o {
			held += x.Length
		}
	}
	if err != nil || held != 4*chunked.BlockSize {
		t.Fatalf("the incremental holds %d bytes (%v), want the 4 changed blocks", held, err)
	}
	restore(inc, dst)
	if got := digest("volume-" + dst.ID); got != incDigest {
		t.Fatal("the volume restored from the incremental backup is not the volume")
	}

	// A snapshot's backup: the snapshot's bytes, not the live volume's.
	n, err := store.CreateSnapshot(ctx, user, storage.SnapshotCreate{VolumeID: v.ID, UserID: "u"})
	if err != nil {
		t.Fatal(err)
	}
	wait("the snapshot available", func() bool { s, _ := store.Snapshot(ctx, admin, n.ID); return s.Status == storage.SnapshotAvailable })
	write(v.ID, 0, 2<<20, 0x55)
	liveDigest := digest("volume-" + v.ID)
	ofSnap := doBackup(storage.BackupCreate{VolumeID: v.ID, SnapshotID: n.ID})
	restore(ofSnap, dst)
	if got := digest("volume-" + dst.ID); got != incDigest || got == liveDigest {
		t.Fatal("the snapshot's backup does not hold the snapshot's bytes")
	}

	// A volume made from a backup on the RBD backend.
	made := create("rbd", inc.ID)
	if got := digest("volume-" + made.ID); got != incDigest {
		t.Fatal("the volume made from the backup does not hold its bytes")
	}

	// Across backends: the RBD backup into a file volume, a file
	// volume's backup into a new RBD volume.
	fv := create("file", "")
	restore(inc, fv)
	if got := fileDigest(t, files.path(fv.ID)); got != incDigest {
		t.Fatal("the file volume restored from the RBD backup does not hold its bytes")
	}
	f, err := os.OpenFile(files.path(fv.ID), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt(bytes.Repeat([]byte{0x66}, 3<<20), 300<<20)
	f.Close()
	fileBackup := doBackup(storage.BackupCreate{VolumeID: fv.ID})
	fromFile := create("rbd", fileBackup.ID)
	if got, want := digest("volume-"+fromFile.ID), fileDigest(t, files.path(fv.ID)); got != want {
		t.Fatal("the RBD volume made from the file volume's backup does not hold its bytes")
	}

	// An in-use volume's backup, read at a temporary snapshot: the agent
	// killed after taking it and writing part of the backup; started
	// again, it makes the backup whole and leaves no snapshot.
	if _, err := store.AttachVolume(ctx, user, v.ID, storage.VolumeAttach{InstanceUUID: "5d2c9f0a-3b7e-4c1d-9e8f-0a1b2c3d4e5f"}); err != nil {
		t.Fatal(err)
	}
	stopRBD()
	live, err := store.CreateBackup(ctx, user, storage.BackupCreate{VolumeID: v.ID, UserID: "u", Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if live.PreviousStatus != string(storage.VolumeInUse) {
		t.Fatalf("the in-use volume's backup: previous status %q", live.PreviousStatus)
	}
	if out, err := c.RBD(ctx, "snap", "create", c.Pool+"/volume-"+v.ID+"@"+rbd.BackupSnapshotName(live.ID)); err != nil {
		t.Fatalf("%s %v", out, err)
	}
	partial := filepath.Join(backups, ".partial-"+live.ID)
	os.MkdirAll(partial, 0o700)
	os.WriteFile(filepath.Join(partial, "backup-00001"), []byte("half"), 0o600)
	run("node1@rbd#rbd", "rbd", &agent.RBD{Client: cl})
	wait("the in-use volume backed up", func() bool { return backup(live.ID).Status == storage.BackupAvailable })
	if got := volume(v.ID).Status; got != storage.VolumeInUse {
		t.Fatalf("the volume after its backup: %s", got)
	}
	in, err := cl.Info(ctx, v.ID)
	if err != nil || slices.ContainsFunc(in.Snapshots, func(s string) bool { return strings.HasSuffix(s, ".backup_snap") }) {
		t.Fatalf("the volume's snapshots after an in-use backup: %v %v", in.Snapshots, err)
	}
	if _, err := os.Stat(partial); !os.IsNotExist(err) {
		t.Fatalf("the partial directory: %v", err)
	}
	restore(live, dst)
	if got := digest("volume-" + dst.ID); got != liveDigest {
		t.Fatal("the in-use volume's backup does not hold its bytes")
	}

	// A volume whose image is gone: the backup fails with the reason.
	gone := create("rbd", "")
	if out, err := c.RBD(ctx, "rm", c.Pool+"/volume-"+gone.ID); err != nil {
		t.Fatalf("%s %v", out, err)
	}
	bad, err := store.CreateBackup(ctx, user, storage.BackupCreate{VolumeID: gone.ID, UserID: "u"})
	if err != nil {
		t.Fatal(err)
	}
	wait("the backup in error", func() bool { return backup(bad.ID).Status == storage.BackupError })
	if r := backup(bad.ID).FailReason; r == nil || !strings.Contains(*r, "not found") || volume(gone.ID).Status != storage.VolumeAvailable {
		t.Fatalf("the failed backup's reason %v, the volume %s", r, volume(gone.ID).Status)
	}
}

// fileDigest is the sha256 of the file at p.
func fileDigest(t *testing.T, p string) string {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}
