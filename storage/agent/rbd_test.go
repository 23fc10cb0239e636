package agent_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gostack/gostack/internal/cephtest"
	"github.com/gostack/gostack/internal/testenv"
	kitagent "github.com/gostack/gostack/kit/agent"
	"github.com/gostack/gostack/storage"
	"github.com/gostack/gostack/storage/agent"
	"github.com/gostack/gostack/storage/rbd"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// rbdClient connects to the test binary's Ceph as its test user; the
// build must have Ceph support (scripts/test passes the release tag).
func rbdClient(t *testing.T) (*rbd.Client, *cephtest.Cluster) {
	t.Helper()
	if !rbd.Available {
		msg := "built without Ceph support: go test -tags $(scripts/cephtag) (scripts/test does)"
		if testenv.CI() {
			t.Fatal(msg + " [CI=true: integration tests may not skip]")
		}
		t.Skip(msg)
	}
	c := cephtest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := rbd.New(ctx, rbd.Config{ConfFile: c.Conf, User: c.User, Keyring: c.Keyring, Pool: c.Pool})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl, c
}

// The RBD backend through the agent, on a real Ceph: the pool reported
// as Cinder's RBD driver reports it; a volume made, its connection info
// Cinder's RBD one with the cluster's monitors; a snapshot; a volume
// from it and one from the volume, copy-on-write clones; an extend; the
// snapshot's delete refused while a volume is cloned from it (back to
// available, saying why), done once that volume is gone; the source
// volume deleted while its clone holds it, then the clone, leaving
// nothing in the pool; what a killed agent left swept at start.
func TestRBDBackend(t *testing.T) {
	cl, c := rbdClient(t)
	store, url := controller(t)
	ctx, admin, user := context.Background(), storage.Viewer{Admin: true}, storage.Viewer{Project: "proj"}
	// Left by a killed agent: a half-filled volume.
	leftover := "volume-0b8c5ad9-5d55-4b1e-9c5f-7ec1f1d3a0b2.partial"
	if _, err := c.RBD(ctx, "create", "--size", "4", c.Pool+"/"+leftover); err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	os.WriteFile(filepath.Join(tmp, "x.rbd-export"), []byte("left"), 0o600)
	b := &agent.RBD{Client: cl, TempDir: tmp}
	a := &agent.Agent{Config: agent.Config{Host: "node1@rbd#rbd", BackendName: "rbd", SyncInterval: 100 * time.Millisecond},
		Backend: b, Session: kitagent.NewSession(kitagent.Credentials{AuthURL: url + "/v3", Username: "volume-agent", Password: "x"}),
		VolumeURL: url, FeedURL: url + "/v1/watch/volume"}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx) }()
	t.Cleanup(func() { cancel(); <-done })
	wait := func(what string, cond func() bool) {
		t.Helper()
		for end := time.Now().Add(20 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("not %s after 20 s", what)
			}
		}
	}
	vol := func(id string) storage.Volume { v, _ := store.Volume(ctx, admin, id); return v }
	snap := func(id string) storage.Snapshot { n, _ := store.Snapshot(ctx, admin, id); return n }
	gone := func(id string) bool { _, err := store.Volume(ctx, admin, id); return err != nil }
	wait("a pool", func() bool { bs, _ := store.Backends(ctx); return len(bs) == 1 })
	bs, _ := store.Backends(ctx)
	if r := bs[0].Report; r.StorageProtocol != "ceph" || !r.ThinProvisioningSupport || r.VolumeBackendName != "rbd" ||
		r.TotalCapacityGB.String() == "unknown" {
		t.Errorf("the pool's report: %+v", r)
	}
	// The cluster's monitors, which the connection info takes.
	if !slices.Equal(bs[0].Report.RBDMonitors, c.MonAddrs) {
		t.Errorf("the pool's monitors %v, the cluster's %v", bs[0].Report.RBDMonitors, c.MonAddrs)
	}
	imgs, _ := cl.List(ctx)
	if slices.ContainsFunc(imgs, func(im rbd.Image) bool { return im.Name == leftover }) {
		t.Error("the half-filled volume a killed agent left is still there")
	}
	if _, err := os.Stat(filepath.Join(tmp, "x.rbd-export")); err == nil {
		t.Error("the export a killed agent left is still there")
	}

	// A volume: create → available.
	start := time.Now()
	v, err := store.CreateVolume(ctx, user, storage.VolumeCreate{UserID: "u", Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	wait("available", func() bool { return vol(v.ID).Status == storage.VolumeAvailable })
	t.Logf("create → available: %s", time.Since(start))
	if in, err := cl.Info(ctx, v.ID); err != nil || in.Size != 1<<30 {
		t.Fatalf("the volume's image: %+v %v", in, err)
	}
	got := vol(v.ID)
	if !storage.IsRBDLocation(got.ProviderLocation) || got.ProviderAuth != "" {
		t.Errorf("the export: %q %q", got.ProviderLocation, got.ProviderAuth)
	}
	info, err := store.InitializeConnection(ctx, user, v.ID, map[string]any{"initiator": "iqn.x", "host": "h"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"name": c.Pool + "/volume-" + v.ID, "hosts": c.MonHosts, "ports": c.MonPorts, "cluster_name": "ceph",
		"auth_enabled": true, "auth_username": c.User, "secret_type": "ceph", "secret_uuid": c.FSID, "volume_id": v.ID,
		"discard": true, "qos_specs": nil, "access_mode": "rw", "encrypted": false, "cacheable": false}
	if info.DriverVolumeType != "rbd" || jsonOf(info.Data) != jsonOf(want) {
		t.Errorf("connection info %s %s\nwant %s", info.DriverVolumeType, jsonOf(info.Data), jsonOf(want))
	}

	// A snapshot, a volume from it, a volume from the volume.
	n, err := store.CreateSnapshot(ctx, user, storage.SnapshotCreate{VolumeID: v.ID, UserID: "u"})
	if err != nil {
		t.Fatal(err)
	}
	wait("the snapshot available", func() bool { return snap(n.ID).Status == storage.SnapshotAvailable })
	start = time.Now()
	fromSnap, err := store.CreateVolume(ctx, user, storage.VolumeCreate{UserID: "u", Size: 2, SnapshotID: n.ID})
	if err != nil {
		t.Fatal(err)
	}
	wait("the volume from the snapshot available", func() bool { return vol(fromSnap.ID).Status == storage.VolumeAvailable })
	t.Logf("volume from a snapshot, create → available: %s", time.Since(start))
	start = time.Now()
	clone, err := store.CreateVolume(ctx, user, storage.VolumeCreate{UserID: "u", SourceVolID: v.ID})
	if err != nil {
		t.Fatal(err)
	}
	wait("the clone available", func() bool { return vol(clone.ID).Status == storage.VolumeAvailable })
	t.Logf("volume from a volume, create → available: %s", time.Since(start))
	for id, parent := range map[string]string{fromSnap.ID: "@snapshot-" + n.ID, clone.ID: "@volume-" + clone.ID + ".clone_snap"} {
		if in, err := cl.Info(ctx, id); err != nil || in.Parent != c.Pool+"/volume-"+v.ID+parent {
			t.Errorf("volume %s: %+v %v, want a clone of %s", id, in, err, parent)
		}
	}
	if in, _ := cl.Info(ctx, fromSnap.ID); in.Size != 2<<30 {
		t.Errorf("the volume from the snapshot has %d bytes", in.Size)
	}
	if _, err := store.ExtendVolume(ctx, user, v.ID, 3); err != nil {
		t.Fatal(err)
	}
	wait("extended", func() bool { s := vol(v.ID); return s.Status == storage.VolumeAvailable && s.Size == 3 })
	if in, _ := cl.Info(ctx, v.ID); in.Size != 3<<30 {
		t.Errorf("the extended volume has %d bytes", in.Size)
	}

	// The snapshot a volume is cloned from: its delete is refused, the
	// snapshot available again.
	if _, err := store.DeleteSnapshot(ctx, user, n.ID, false); err != nil {
		t.Fatal(err)
	}
	wait("the busy snapshot available", func() bool { return snap(n.ID).Status == storage.SnapshotAvailable })
	if m := snap(n.ID).Message; !strings.Contains(m, "clones "+c.Pool+"/volume-"+fromSnap.ID) {
		t.Errorf("the busy snapshot's message: %q", m)
	}
	if _, err := store.DeleteVolume(ctx, user, fromSnap.ID, storage.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	wait("the volume from the snapshot deleted", func() bool { return gone(fromSnap.ID) })
	if _, err := store.DeleteSnapshot(ctx, user, n.ID, false); err != nil {
		t.Fatal(err)
	}
	wait("the snapshot deleted", func() bool { _, err := store.Snapshot(ctx, admin, n.ID); return err != nil })

	// The source, held by its clone: deleted all the same; then the clone.
	if _, err := store.DeleteVolume(ctx, user, v.ID, storage.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	wait("the source deleted", func() bool { return gone(v.ID) })
	imgs, _ = cl.List(ctx)
	if !slices.Contains(imgs, rbd.Image{Name: "volume-" + v.ID + ".deleted", Kind: rbd.KindDeleted, VolumeID: v.ID}) {
		t.Errorf("the deleted source its clone holds: %v", imgs)
	}
	if _, err := store.DeleteVolume(ctx, user, clone.ID, storage.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	wait("the clone deleted", func() bool { return gone(clone.ID) })
	imgs, _ = cl.List(ctx)
	for _, im := range imgs {
		if slices.Contains([]string{v.ID, clone.ID, fromSnap.ID}, im.VolumeID) {
			t.Errorf("left in the pool: %s", im.Name)
		}
	}
}

// A volume from an image's raw file and its content for an upload, and
// every create, extend and delete done twice (as after a crash) with the
// same outcome.
func TestRBDBackendContent(t *testing.T) {
	cl, _ := rbdClient(t)
	ctx := context.Background()
	b := &agent.RBD{Client: cl, TempDir: t.TempDir()}
	raw := make([]byte, 3<<20)
	rand.Read(raw[1<<20 : 2<<20])
	file := filepath.Join(t.TempDir(), "image.raw")
	if err := os.WriteFile(file, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	v := storage.Volume{ID: "7c4b2a6e-0c8e-4f6e-9d0b-3a4c5d6e7f80", Size: 1}
	var exp agent.Export
	for range 2 {
		e, err := b.Create(ctx, v, agent.Source{ImageID: "i", File: file, Bytes: int64(len(raw))})
		if err != nil {
			t.Fatal(err)
		}
		if exp.Location != "" && e != exp {
			t.Errorf("the export changed: %+v, then %+v", exp, e)
		}
		exp = e
	}
	path, release, err := b.Content(ctx, v)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(raw)+4096)
	_, err = f.ReadAt(got, 0)
	fi, _ := f.Stat()
	f.Close()
	if err != nil || fi.Size() != 1<<30 || !bytes.Equal(got[:len(raw)], raw) || !bytes.Equal(got[len(raw):], make([]byte, 4096)) {
		t.Errorf("the volume's content (%d bytes) is not the image's: %v", fi.Size(), err)
	}
	release()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Error("the content's file is left after release")
	}
	for range 2 {
		if _, err := b.Extend(ctx, v, 2); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Extend(ctx, v, 1); !b.Permanent(err) {
		t.Errorf("a shrink: %v, permanent %v", err, b.Permanent(err))
	}
	for range 2 {
		if err := b.Delete(ctx, v.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Create(ctx, storage.Volume{ID: "8c4b2a6e-0c8e-4f6e-9d0b-3a4c5d6e7f80", Size: 1},
		agent.Source{SnapshotID: "9c4b2a6e-0c8e-4f6e-9d0b-3a4c5d6e7f80", SnapshotOf: v.ID}); !b.Permanent(err) {
		t.Errorf("a volume from a snapshot that is gone: %v", err)
	}
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	var m any
	json.Unmarshal(b, &m)
	b, _ = json.Marshal(m)
	return string(b)
}

// holdOpen has qemu-io open image (of the cluster's pool) read-write, as
// a killed agent's client holds what it had open until the OSDs time its
// watch out (30 s); release closes it.
func holdOpen(t *testing.T, c *cephtest.Cluster, image string) (release func()) {
	t.Helper()
	qemuIO, err := exec.LookPath("qemu-io")
	if err != nil {
		testenv.Missing(t, "qemu-io", "qemu-utils")
	}
	cmd := exec.Command(qemuIO, "-f", "raw", "rbd:"+c.Pool+"/"+image+":conf="+c.Conf+":id="+c.User+":keyring="+c.Keyring)
	stdin, _ := cmd.StdinPipe()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	release = func() {
		if cmd.ProcessState == nil {
			stdin.Close()
			cmd.Wait()
		}
	}
	t.Cleanup(func() { cmd.Process.Kill(); release() })
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		st, err := c.RBD(context.Background(), "status", "--format", "json", c.Pool+"/"+image)
		if err == nil && strings.Contains(string(st), `"address"`) {
			return release
		}
		if time.Now().After(deadline) {
			t.Fatalf("qemu-io did not open %s: %s %v (qemu-io: %s)", image, st, err, out.String())
		}
	}
}

// An agent started again after a kill during a copy: the half-made copy
// (volume-<id>.partial) is still held by the dead agent's client. The
// volume's create waits for it — not counted toward the agent's three
// attempts, so the volume stays creating, not error — and is made once
// it is released; a volume deleted while its leftover is held is
// deleted, not reported busy back to available; the periodic sweep
// removes the released leftover.
func TestRBDBackendLeftover(t *testing.T) {
	_, c := rbdClient(t)
	ctx, admin, user := context.Background(), storage.Viewer{Admin: true}, storage.Viewer{Project: "proj"}
	cctx, ccancel := context.WithTimeout(ctx, 30*time.Second)
	defer ccancel()
	// Full copies: a clone is made through volume-<id>.partial.
	cl, err := rbd.New(cctx, rbd.Config{ConfFile: c.Conf, User: c.User, Keyring: c.Keyring, Pool: c.Pool, MaxCloneDepth: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	store, url := controller(t)
	var synced sync.Mutex
	syncs := 0
	run := func() (stop func()) {
		a := &agent.Agent{Config: agent.Config{Host: "node1@rbd#rbd", BackendName: "rbd", SyncInterval: 100 * time.Millisecond,
			SweepInterval: 300 * time.Millisecond},
			Backend: &agent.RBD{Client: cl}, Session: kitagent.NewSession(kitagent.Credentials{AuthURL: url + "/v3", Username: "volume-agent", Password: "x"}),
			VolumeURL: url, FeedURL: url + "/v1/watch/volume",
			Synced: func(agent.SyncStats) { synced.Lock(); syncs++; synced.Unlock() }}
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- a.Run(runCtx) }()
		var once sync.Once
		stop = func() { once.Do(func() { cancel(); <-done }) }
		t.Cleanup(stop)
		return stop
	}
	wait := func(what string, cond func() bool) {
		t.Helper()
		for end := time.Now().Add(20 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("not %s after 20 s", what)
			}
		}
	}
	vol := func(id string) storage.Volume { v, _ := store.Volume(ctx, admin, id); return v }
	gone := func(id string) bool { _, err := store.Volume(ctx, admin, id); return err != nil }
	held := func(name string) bool {
		imgs, _ := cl.List(ctx)
		return slices.ContainsFunc(imgs, func(im rbd.Image) bool { return im.Name == name })
	}

	stop := run()
	wait("a pool", func() bool { bs, _ := store.Backends(ctx); return len(bs) == 1 })
	src, err := store.CreateVolume(ctx, user, storage.VolumeCreate{UserID: "u", Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	wait("the source available", func() bool { return vol(src.ID).Status == storage.VolumeAvailable })
	stop()
	// Two copies of it, the agent killed while making them: their
	// .partial images held by its dead client.
	var copies []storage.Volume
	var releases []func()
	for range 2 {
		v, err := store.CreateVolume(ctx, user, storage.VolumeCreate{UserID: "u", SourceVolID: src.ID})
		if err != nil {
			t.Fatal(err)
		}
		part := "volume-" + v.ID + ".partial"
		if _, err := c.RBD(ctx, "create", "--size", "4", c.Pool+"/"+part); err != nil {
			t.Fatal(err)
		}
		copies = append(copies, v)
		releases = append(releases, holdOpen(t, c, part))
	}
	run()
	// One deleted while its leftover is held: deleted.
	if _, err := store.DeleteVolume(ctx, admin, copies[1].ID, storage.DeleteOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	wait("the copy deleted", func() bool { return gone(copies[1].ID) })
	// The other waits: after many more syncs than the agent's three
	// attempts, still creating.
	synced.Lock()
	from := syncs
	synced.Unlock()
	wait("ten syncs", func() bool { synced.Lock(); defer synced.Unlock(); return syncs >= from+10 })
	if got := vol(copies[0].ID); got.Status != storage.VolumeCreating {
		t.Fatalf("the copy whose leftover is held: %s %q", got.Status, got.Message)
	}
	start := time.Now()
	releases[0]()
	wait("the copy available once released", func() bool { return vol(copies[0].ID).Status == storage.VolumeAvailable })
	t.Logf("released → available: %s", time.Since(start))
	if in, err := cl.Info(ctx, copies[0].ID); err != nil || in.Size != 1<<30 {
		t.Errorf("the copy: %+v %v", in, err)
	}
	// The deleted copy's leftover: kept while held, swept once released.
	if !held("volume-" + copies[1].ID + ".partial") {
		t.Fatal("the held leftover of the deleted copy is gone")
	}
	releases[1]()
	start = time.Now()
	wait("the released leftover swept", func() bool { return !held("volume-" + copies[1].ID + ".partial") })
	t.Logf("released → swept: %s", time.Since(start))
	for _, id := range []string{copies[0].ID, src.ID} {
		if _, err := store.DeleteVolume(ctx, user, id, storage.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		wait("deleted", func() bool { return gone(id) })
	}
}
