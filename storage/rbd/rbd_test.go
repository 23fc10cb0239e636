package rbd_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gostack/gostack/internal/cephtest"
	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/storage/rbd"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const mib = 1 << 20

// client connects to the test binary's Ceph as its test user, with cfg's
// settings; the build must have Ceph support (scripts/test passes the
// release tag), else the test skips (fails with CI=true).
func client(t *testing.T, cfg rbd.Config) (*rbd.Client, *cephtest.Cluster) {
	t.Helper()
	if !rbd.Available {
		msg := "built without Ceph support: go test -tags $(scripts/cephtag) (scripts/test does)"
		if testenv.CI() {
			t.Fatal(msg + " [CI=true: integration tests may not skip]")
		}
		t.Skip(msg)
	}
	c := cephtest.Shared(t)
	cfg.ConfFile, cfg.User, cfg.Keyring, cfg.Pool = c.Conf, c.User, c.Keyring, c.Pool
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := rbd.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl, c
}

func newID() string { return uuid.NewString() }

// content is a raw file of n bytes: random data in its first and third
// MiB, zeros elsewhere.
func content(t *testing.T, n int64) (string, []byte) {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b[:mib])
	if n > 3*mib {
		rand.Read(b[2*mib : 3*mib])
	}
	p := filepath.Join(t.TempDir(), "content.raw")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p, b
}

// read is volume id's content.
func read(t *testing.T, cl *rbd.Client, id string) []byte {
	t.Helper()
	p := filepath.Join(t.TempDir(), id+".raw")
	n, err := cl.Export(context.Background(), id, p)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil || int64(len(b)) != n {
		t.Fatalf("export of %d bytes: %d read, %v", n, len(b), err)
	}
	return b
}

func info(t *testing.T, cl *rbd.Client, id string) rbd.Info {
	t.Helper()
	in, err := cl.Info(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// A volume's life: made (again: no error; with another size:
// ErrExists), grown (again: no error; shrunk: ErrInvalid), removed
// (again: no error); an image's content in and out, thin.
func TestVolume(t *testing.T) {
	cl, c := client(t, rbd.Config{})
	ctx := context.Background()
	id := newID()
	start := time.Now()
	if err := cl.Create(ctx, id, 64*mib); err != nil {
		t.Fatal(err)
	}
	t.Logf("create: %s", time.Since(start))
	if err := cl.Create(ctx, id, 64*mib); err != nil {
		t.Errorf("a create done again: %v", err)
	}
	if err := cl.Create(ctx, id, 32*mib); !errors.Is(err, rbd.ErrExists) {
		t.Errorf("a create of another size: %v", err)
	}
	if in := info(t, cl, id); in.Name != "volume-"+id || in.Size != 64*mib || in.Parent != "" || len(in.Snapshots) != 0 {
		t.Errorf("info: %+v", in)
	}
	out, err := c.RBD(ctx, "info", "--format", "json", c.Pool+"/volume-"+id)
	if err != nil {
		t.Fatal(err)
	}
	var ri struct {
		Order int `json:"order"`
	}
	if json.Unmarshal(out, &ri); ri.Order != 22 {
		t.Errorf("order %d, not Cinder's 22: %s", ri.Order, out)
	}
	if err := cl.Resize(ctx, id, 128*mib); err != nil {
		t.Fatal(err)
	}
	if err := cl.Resize(ctx, id, 128*mib); err != nil {
		t.Errorf("a resize done again: %v", err)
	}
	if err := cl.Resize(ctx, id, 64*mib); !errors.Is(err, rbd.ErrInvalid) {
		t.Errorf("a shrink: %v", err)
	}
	if in := info(t, cl, id); in.Size != 128*mib {
		t.Errorf("size after the resize: %d", in.Size)
	}
	if err := cl.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := cl.Delete(ctx, id); err != nil {
		t.Errorf("a delete done again: %v", err)
	}
	if _, err := cl.Info(ctx, id); !errors.Is(err, rbd.ErrNotFound) {
		t.Errorf("info of the deleted volume: %v", err)
	}
	if err := cl.Resize(ctx, id, 128*mib); !errors.Is(err, rbd.ErrNotFound) {
		t.Errorf("a resize of the deleted volume: %v", err)
	}
	if err := cl.Create(ctx, "../x", mib); !errors.Is(err, rbd.ErrInvalid) {
		t.Errorf("a bad id: %v", err)
	}

	// Content: 5 MiB of a file into a 16 MiB volume, and back.
	path, want := content(t, 5*mib)
	imp := newID()
	if err := cl.Import(ctx, imp, path, 5*mib, 16*mib); err != nil {
		t.Fatal(err)
	}
	if err := cl.Import(ctx, imp, path, 5*mib, 16*mib); err != nil {
		t.Errorf("an import done again: %v", err)
	}
	got := read(t, cl, imp)
	if len(got) != 16*mib || !bytes.Equal(got[:5*mib], want) || !bytes.Equal(got[5*mib:], make([]byte, 11*mib)) {
		t.Error("the volume's content is not the file's, then zeros")
	}
	out, err = c.RBD(ctx, "du", "--format", "json", c.Pool+"/volume-"+imp)
	if err != nil {
		t.Fatal(err)
	}
	var du struct {
		Images []struct {
			Used int64 `json:"used_size"`
		} `json:"images"`
	}
	if err := json.Unmarshal(out, &du); err != nil || len(du.Images) != 1 || du.Images[0].Used > 8*mib {
		t.Errorf("the imported volume is not thin (2 MiB of data): %s %v", out, err)
	}
	if err := cl.Delete(ctx, imp); err != nil {
		t.Fatal(err)
	}
}

// Snapshots and clones from them: a snapshot is protected; a volume from
// it is a copy-on-write clone with the snapshot's content, grown; the
// snapshot's delete is refused while the clone holds it (a BusyError
// naming it, the snapshot left as it was), the volume's while it has the
// snapshot; after a flatten the snapshot goes, then the volume.
func TestSnapshotClone(t *testing.T) {
	cl, c := client(t, rbd.Config{})
	ctx := context.Background()
	path, want := content(t, 4*mib)
	vol, snap, clone := newID(), newID(), newID()
	if err := cl.Import(ctx, vol, path, 4*mib, 8*mib); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := cl.CreateSnapshot(ctx, vol, snap); err != nil {
			t.Fatal(err)
		}
	}
	out, err := c.RBD(ctx, "snap", "ls", "--format", "json", c.Pool+"/volume-"+vol)
	if err != nil {
		t.Fatal(err)
	}
	var snaps []struct {
		Name      string `json:"name"`
		Protected string `json:"protected"`
	}
	if json.Unmarshal(out, &snaps); len(snaps) != 1 || snaps[0].Name != "snapshot-"+snap || snaps[0].Protected != "true" {
		t.Fatalf("the volume's snapshots: %s", out)
	}
	// Written after the snapshot: not in the clone.
	if err := cl.Delete(ctx, vol); !errors.Is(err, rbd.ErrBusy) {
		t.Fatalf("a volume with a snapshot deleted: %v", err)
	} else if be := (*rbd.BusyError)(nil); !errors.As(err, &be) || !slices.Equal(be.Snapshots, []string{"snapshot-" + snap}) {
		t.Errorf("the refusal: %v", err)
	}
	start := time.Now()
	if err := cl.CreateFromSnapshot(ctx, clone, vol, snap, 16*mib); err != nil {
		t.Fatal(err)
	}
	t.Logf("clone from a snapshot: %s", time.Since(start))
	if err := cl.CreateFromSnapshot(ctx, clone, vol, snap, 16*mib); err != nil {
		t.Errorf("a clone done again: %v", err)
	}
	in := info(t, cl, clone)
	if in.Parent != c.Pool+"/volume-"+vol+"@snapshot-"+snap || in.Size != 16*mib {
		t.Errorf("the clone: %+v", in)
	}
	if got := read(t, cl, clone); !bytes.Equal(got[:4*mib], want) || !bytes.Equal(got[4*mib:], make([]byte, 12*mib)) {
		t.Error("the clone's content is not the snapshot's")
	}
	other := newID()
	if err := cl.Create(ctx, other, mib); err != nil {
		t.Fatal(err)
	}
	if err := cl.CreateFromSnapshot(ctx, other, vol, snap, 16*mib); !errors.Is(err, rbd.ErrExists) {
		t.Errorf("a clone onto another volume: %v", err)
	}
	err = cl.DeleteSnapshot(ctx, vol, snap)
	var be *rbd.BusyError
	if !errors.As(err, &be) || !slices.Equal(be.Children, []string{c.Pool + "/volume-" + clone}) {
		t.Fatalf("the delete of a snapshot with a clone: %v", err)
	}
	t.Logf("refused: %v", err)
	if in := info(t, cl, vol); !slices.Equal(in.Snapshots, []string{"snapshot-" + snap}) {
		t.Fatalf("the refused delete changed the snapshots: %v", in.Snapshots)
	}
	if out, _ := c.RBD(ctx, "snap", "ls", "--format", "json", c.Pool+"/volume-"+vol); !strings.Contains(string(out), `"protected":"true"`) {
		t.Errorf("the refused delete left the snapshot unprotected: %s", out)
	}
	start = time.Now()
	if err := cl.Flatten(ctx, clone); err != nil {
		t.Fatal(err)
	}
	t.Logf("flatten of a 16 MiB clone: %s", time.Since(start))
	if err := cl.Flatten(ctx, clone); err != nil {
		t.Errorf("a flatten done again: %v", err)
	}
	if in := info(t, cl, clone); in.Parent != "" {
		t.Errorf("the flattened clone's parent: %q", in.Parent)
	}
	for range 2 {
		if err := cl.DeleteSnapshot(ctx, vol, snap); err != nil {
			t.Fatal(err)
		}
	}
	if got := read(t, cl, clone); !bytes.Equal(got[:4*mib], want) {
		t.Error("the flattened clone lost its content with the snapshot")
	}
	for _, id := range []string{vol, clone, other} {
		if err := cl.Delete(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := cl.DeleteSnapshot(ctx, vol, snap); err != nil {
		t.Errorf("a snapshot of a deleted volume: %v", err)
	}

	// FlattenFromSnapshot: the clone holds nothing.
	fcl, _ := client(t, rbd.Config{FlattenFromSnapshot: true})
	vol, snap, clone = newID(), newID(), newID()
	if err := fcl.Import(ctx, vol, path, 4*mib, 4*mib); err != nil {
		t.Fatal(err)
	}
	if err := fcl.CreateSnapshot(ctx, vol, snap); err != nil {
		t.Fatal(err)
	}
	if err := fcl.CreateFromSnapshot(ctx, clone, vol, snap, 4*mib); err != nil {
		t.Fatal(err)
	}
	if in := info(t, fcl, clone); in.Parent != "" {
		t.Errorf("flatten_volume_from_snapshot: the clone's parent %q", in.Parent)
	}
	for _, f := range []func() error{func() error { return fcl.DeleteSnapshot(ctx, vol, snap) },
		func() error { return fcl.Delete(ctx, vol) }, func() error { return fcl.Delete(ctx, clone) }} {
		if err := f(); err != nil {
			t.Fatal(err)
		}
	}
}

// Volumes from volumes, as Cinder's create_cloned_volume: clones through
// "<new>.clone_snap", flattened once the chain is MaxCloneDepth long; a
// source deleted while clones hold it is renamed .deleted and goes with
// its last clone, up the chain; a negative depth makes full copies.
func TestCloneVolume(t *testing.T) {
	cl, c := client(t, rbd.Config{MaxCloneDepth: 2})
	ctx := context.Background()
	path, want := content(t, 4*mib)
	v := []string{newID(), newID(), newID(), newID()}
	if err := cl.Import(ctx, v[0], path, 4*mib, 4*mib); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(v); i++ {
		start := time.Now()
		if err := cl.CloneVolume(ctx, v[i], v[i-1], 8*mib); err != nil {
			t.Fatal(err)
		}
		t.Logf("volume %d from volume %d: %s", i, i-1, time.Since(start))
		if err := cl.CloneVolume(ctx, v[i], v[i-1], 8*mib); err != nil {
			t.Errorf("clone %d done again: %v", i, err)
		}
	}
	for i, wantDepth := range []int{0, 1, 2, 0} {
		d, err := cl.Depth(ctx, v[i])
		if err != nil || d != wantDepth {
			t.Errorf("volume %d: depth %d %v, want %d", i, d, err, wantDepth)
		}
		if got := read(t, cl, v[i]); !bytes.Equal(got[:4*mib], want) {
			t.Errorf("volume %d: not the first one's content", i)
		}
	}
	if in := info(t, cl, v[1]); in.Parent != c.Pool+"/volume-"+v[0]+"@volume-"+v[1]+".clone_snap" || in.Size != 8*mib {
		t.Errorf("the first clone: %+v", in)
	}
	// The third clone was flattened: its source keeps no snapshot for it.
	if in := info(t, cl, v[2]); len(in.Snapshots) != 0 {
		t.Errorf("the flattened clone's source kept %v", in.Snapshots)
	}
	// Deleting the held volumes: renamed, their data still the clones'.
	for _, i := range []int{0, 1} {
		if err := cl.Delete(ctx, v[i]); err != nil {
			t.Fatalf("delete of volume %d, held by its clone: %v", i, err)
		}
		if _, err := cl.Info(ctx, v[i]); !errors.Is(err, rbd.ErrNotFound) {
			t.Errorf("volume %d is still there: %v", i, err)
		}
	}
	kinds := func() map[rbd.ImageKind][]string {
		imgs, err := cl.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		m := map[rbd.ImageKind][]string{}
		for _, im := range imgs {
			if slices.Contains(v, im.VolumeID) {
				m[im.Kind] = append(m[im.Kind], im.VolumeID)
			}
		}
		return m
	}
	if k := kinds(); len(k[rbd.KindDeleted]) != 2 || len(k[rbd.KindVolume]) != 2 {
		t.Errorf("images after the deletes: %v", k)
	}
	if got := read(t, cl, v[2]); !bytes.Equal(got[:4*mib], want) {
		t.Error("the clone lost its content with its parents' deletes")
	}
	// The last clone of the chain goes: its deleted parents with it.
	if err := cl.Delete(ctx, v[2]); err != nil {
		t.Fatal(err)
	}
	if k := kinds(); len(k[rbd.KindDeleted]) != 0 || !slices.Equal(k[rbd.KindVolume], []string{v[3]}) {
		t.Errorf("images after the chain's end went: %v", k)
	}
	if err := cl.Delete(ctx, v[3]); err != nil {
		t.Fatal(err)
	}

	// Full copies (Cinder's rbd_max_clone_depth 0).
	ccl, _ := client(t, rbd.Config{MaxCloneDepth: -1})
	src, dst := newID(), newID()
	if err := ccl.Import(ctx, src, path, 4*mib, 4*mib); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for range 2 {
		if err := ccl.CloneVolume(ctx, dst, src, 8*mib); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("full copy of 4 MiB: %s", time.Since(start))
	if in := info(t, ccl, dst); in.Parent != "" || in.Size != 8*mib || len(info(t, ccl, src).Snapshots) != 0 {
		t.Errorf("the copy: %+v", in)
	}
	if got := read(t, ccl, dst); !bytes.Equal(got[:4*mib], want) {
		t.Error("the copy's content")
	}
	for _, id := range []string{src, dst} {
		if err := ccl.Delete(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
}

// A volume a client has open (a guest's QEMU) is not removed: a
// BusyError with its watcher, the volume left.
func TestDeleteOpenVolume(t *testing.T) {
	cl, c := client(t, rbd.Config{})
	qemuIO, err := exec.LookPath("qemu-io")
	if err != nil {
		testenv.Missing(t, "qemu-io", "qemu-utils")
	}
	ctx := context.Background()
	id := newID()
	if err := cl.Create(ctx, id, 16*mib); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(qemuIO, "-f", "raw", "rbd:"+c.Pool+"/volume-"+id+":conf="+c.Conf+":id="+c.User+":keyring="+c.Keyring)
	stdin, _ := cmd.StdinPipe()
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Process.Kill(); cmd.Wait() }()
	io.WriteString(stdin, "write -P 0xab 0 1M\n")
	// Open once rbd status shows its watch.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		out, err := c.RBD(ctx, "status", "--format", "json", c.Pool+"/volume-"+id)
		if err == nil && strings.Contains(string(out), `"address"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("qemu-io did not open the volume: %s %v (qemu-io: %s)", out, err, stdout.String())
		}
	}
	derr := cl.Delete(ctx, id)
	var be *rbd.BusyError
	if !errors.As(derr, &be) || be.Watchers != 1 {
		t.Fatalf("the delete of an open volume: %v (qemu-io: %s)", derr, stdout.String())
	}
	t.Logf("refused: %v", derr)
	if _, err := cl.Info(ctx, id); err != nil {
		t.Fatalf("the refused delete removed the volume: %v", err)
	}
	stdin.Close()
	cmd.Wait()
	if err := cl.Delete(ctx, id); err != nil {
		t.Fatalf("the delete once closed: %v", err)
	}
}

// Sweep removes what a killed agent left: a half-filled volume, a
// .clone_snap snapshot no clone uses; it keeps volumes and their
// snapshots, and a .clone_snap a clone uses.
func TestSweep(t *testing.T) {
	cl, c := client(t, rbd.Config{})
	ctx := context.Background()
	vol, snap, clone, gone := newID(), newID(), newID(), newID()
	if err := cl.Create(ctx, vol, 4*mib); err != nil {
		t.Fatal(err)
	}
	if err := cl.CreateSnapshot(ctx, vol, snap); err != nil {
		t.Fatal(err)
	}
	if err := cl.CloneVolume(ctx, clone, vol, 4*mib); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"create", "--size", "4", c.Pool + "/volume-" + gone + ".partial"},
		{"snap", "create", c.Pool + "/volume-" + vol + "@volume-" + gone + ".clone_snap"},
		{"snap", "protect", c.Pool + "/volume-" + vol + "@volume-" + gone + ".clone_snap"},
		{"create", "--size", "4", c.Pool + "/not-a-volume"},
	} {
		if _, err := c.RBD(ctx, args...); err != nil {
			t.Fatal(err)
		}
	}
	if err := cl.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if in := info(t, cl, vol); !slices.Equal(in.Snapshots, []string{"snapshot-" + snap, "volume-" + clone + ".clone_snap"}) {
		t.Errorf("the volume's snapshots after the sweep: %v", in.Snapshots)
	}
	imgs, err := cl.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, im := range imgs {
		names = append(names, im.Name)
	}
	if slices.Contains(names, "volume-"+gone+".partial") || !slices.Contains(names, "not-a-volume") ||
		!slices.Contains(names, "volume-"+clone) {
		t.Errorf("images after the sweep: %v", names)
	}
	if err := cl.Delete(ctx, clone); err != nil {
		t.Fatal(err)
	}
	if err := cl.DeleteSnapshot(ctx, vol, snap); err != nil {
		t.Fatal(err)
	}
	if err := cl.Delete(ctx, vol); err != nil {
		t.Fatal(err)
	}
	if in, err := cl.Info(ctx, vol); !errors.Is(err, rbd.ErrNotFound) {
		t.Errorf("the volume after its clone and snapshot went: %+v %v", in, err)
	}
	c.RBD(ctx, "rm", c.Pool+"/not-a-volume")
}

// The pool's capacity as Cinder's driver reports it (the cluster's 1 GiB
// memstore; the pool's quota when it has one), and Cinder's connection
// info with the monitors from "mon dump".
func TestCapacityConnection(t *testing.T) {
	cl, c := client(t, rbd.Config{})
	ctx := context.Background()
	cp, err := cl.Capacity(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cp.TotalGB < 0.9 || cp.TotalGB > 1.01 || cp.FreeGB > cp.TotalGB || cp.FreeGB < 0.5 {
		t.Errorf("capacity of a 1 GiB cluster: %+v", cp)
	}
	if _, err := c.Ceph(ctx, "osd", "pool", "set-quota", c.Pool, "max_bytes", "536870912"); err != nil {
		t.Fatal(err)
	}
	defer c.Ceph(ctx, "osd", "pool", "set-quota", c.Pool, "max_bytes", "0")
	if cp, err := cl.Capacity(ctx); err != nil || cp.TotalGB > 0.5 || cp.FreeGB > 0.5 {
		t.Errorf("capacity with a 0.5 GiB quota: %+v %v", cp, err)
	}
	id := newID()
	conn, err := cl.Connection(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	data := conn.Data()
	wantData := map[string]any{"name": c.Pool + "/volume-" + id, "hosts": c.MonHosts, "ports": c.MonPorts, "cluster_name": "ceph",
		"auth_enabled": true, "auth_username": c.User, "secret_type": "ceph", "secret_uuid": c.FSID, "volume_id": id, "discard": true}
	gb, _ := json.Marshal(data)
	wb, _ := json.Marshal(wantData)
	if !bytes.Equal(gb, wb) {
		t.Errorf("connection data\n got %s\nwant %s", gb, wb)
	}
	if cl.FSID() != c.FSID || cl.Config().SecretUUID != c.FSID {
		t.Errorf("fsid %s, secret uuid %s; the cluster's %s", cl.FSID(), cl.Config().SecretUUID, c.FSID)
	}
	// A configured secret uuid is the connection's.
	scl, _ := client(t, rbd.Config{SecretUUID: "457eb676-33da-42ec-9a8c-9293d545c337"})
	if conn, err := scl.Connection(ctx, id); err != nil || conn.SecretUUID != "457eb676-33da-42ec-9a8c-9293d545c337" {
		t.Errorf("secret uuid: %+v %v", conn, err)
	}
}

// holdOpen has qemu-io open image (a name of the pool) read-write, as a
// killed agent's client holds what it had open until the OSDs time its
// watch out; release closes it.
func holdOpen(t *testing.T, c *cephtest.Cluster, image string) (release func()) {
	t.Helper()
	qemuIO, err := exec.LookPath("qemu-io")
	if err != nil {
		testenv.Missing(t, "qemu-io", "qemu-utils")
	}
	ctx := context.Background()
	cmd := exec.Command(qemuIO, "-f", "raw", "rbd:"+c.Pool+"/"+image+":conf="+c.Conf+":id="+c.User+":keyring="+c.Keyring)
	stdin, _ := cmd.StdinPipe()
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stdout
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
		out, err := c.RBD(ctx, "status", "--format", "json", c.Pool+"/"+image)
		if err == nil && strings.Contains(string(out), `"address"`) {
			return release
		}
		if time.Now().After(deadline) {
			t.Fatalf("qemu-io did not open %s: %s %v (qemu-io: %s)", image, out, err, stdout.String())
		}
	}
}

func imageNames(t *testing.T, cl *rbd.Client) []string {
	t.Helper()
	imgs, err := cl.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, im := range imgs {
		names = append(names, im.Name)
	}
	return names
}

// A half-filled volume a dead client still holds (its watch lasts until
// the OSDs time it out) is a leftover, never the volume's fault: an
// import (and a full copy) of the volume says ErrLeftover, not ErrBusy,
// and leaves it; a delete of the volume is done (ErrLeftover, not
// ErrBusy); Sweep keeps it until it is released, then removes it, and
// the import goes through.
func TestLeftoverHeld(t *testing.T) {
	cl, c := client(t, rbd.Config{})
	ctx := context.Background()
	id := newID()
	part := "volume-" + id + ".partial"
	if _, err := c.RBD(ctx, "create", "--size", "4", c.Pool+"/"+part); err != nil {
		t.Fatal(err)
	}
	release := holdOpen(t, c, part)
	path, want := content(t, 4*mib)
	err := cl.Import(ctx, id, path, 4*mib, 8*mib)
	if !errors.Is(err, rbd.ErrLeftover) || errors.Is(err, rbd.ErrBusy) {
		t.Fatalf("an import over a held leftover: %v", err)
	}
	t.Logf("import: %v", err)
	err = cl.Delete(ctx, id)
	if !errors.Is(err, rbd.ErrLeftover) || errors.Is(err, rbd.ErrBusy) {
		t.Fatalf("a delete of the volume: %v", err)
	}
	t.Logf("delete: %v", err)
	if err := cl.Sweep(ctx); !errors.Is(err, rbd.ErrLeftover) {
		t.Errorf("a sweep with the leftover held: %v", err)
	}
	if !slices.Contains(imageNames(t, cl), part) {
		t.Fatal("the held leftover is gone")
	}
	// A full copy's leftover likewise.
	ccl, _ := client(t, rbd.Config{MaxCloneDepth: -1})
	src := newID()
	if err := ccl.Create(ctx, src, 4*mib); err != nil {
		t.Fatal(err)
	}
	if err := ccl.CloneVolume(ctx, id, src, 8*mib); !errors.Is(err, rbd.ErrLeftover) || errors.Is(err, rbd.ErrBusy) {
		t.Errorf("a full copy over a held leftover: %v", err)
	}
	release()
	if err := cl.Sweep(ctx); err != nil {
		t.Fatalf("a sweep once released: %v", err)
	}
	if slices.Contains(imageNames(t, cl), part) {
		t.Fatal("the released leftover survived the sweep")
	}
	if err := cl.Import(ctx, id, path, 4*mib, 8*mib); err != nil {
		t.Fatal(err)
	}
	if got := read(t, cl, id); !bytes.Equal(got[:4*mib], want) || !isZeros(got[4*mib:]) {
		t.Error("the imported volume's content differs")
	}
	for _, v := range []string{id, src} {
		if err := cl.Delete(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
}

func isZeros(b []byte) bool { return bytes.Count(b, []byte{0}) == len(b) }

// A clone that fails leaves no .clone_snap on its source (Cinder's
// create_cloned_volume removes it on its error path): a source without
// the layering feature cannot be cloned.
func TestCloneVolumeFailure(t *testing.T) {
	cl, c := client(t, rbd.Config{})
	ctx := context.Background()
	src, dst := newID(), newID()
	if _, err := c.RBD(ctx, "create", "--size", "4", "--image-feature", "exclusive-lock", c.Pool+"/volume-"+src); err != nil {
		t.Fatal(err)
	}
	err := cl.CloneVolume(ctx, dst, src, 4*mib)
	if err == nil {
		t.Fatal("a clone of an image without layering succeeded")
	}
	t.Logf("clone: %v", err)
	if in := info(t, cl, src); len(in.Snapshots) != 0 {
		t.Errorf("the failed clone left snapshots on its source: %v", in.Snapshots)
	}
	if _, err := cl.Info(ctx, dst); !errors.Is(err, rbd.ErrNotFound) {
		t.Errorf("the failed clone: %v", err)
	}
	if err := cl.Delete(ctx, src); err != nil {
		t.Fatal(err)
	}
}

// A clone's delete that removes the clone but cannot release its
// deleted parent (a client holds it) is done — ErrLeftover, not ErrBusy
// — and Sweep removes the parent once released.
func TestDeleteParentLeftover(t *testing.T) {
	cl, c := client(t, rbd.Config{})
	ctx := context.Background()
	src, clone := newID(), newID()
	if err := cl.Create(ctx, src, 4*mib); err != nil {
		t.Fatal(err)
	}
	if err := cl.CloneVolume(ctx, clone, src, 4*mib); err != nil {
		t.Fatal(err)
	}
	if err := cl.Delete(ctx, src); err != nil {
		t.Fatal(err)
	}
	deleted := "volume-" + src + ".deleted"
	if !slices.Contains(imageNames(t, cl), deleted) {
		t.Fatalf("the held source is not kept as %s: %v", deleted, imageNames(t, cl))
	}
	release := holdOpen(t, c, deleted)
	err := cl.Delete(ctx, clone)
	if !errors.Is(err, rbd.ErrLeftover) || errors.Is(err, rbd.ErrBusy) {
		t.Fatalf("the clone's delete with its parent held: %v", err)
	}
	t.Logf("delete: %v", err)
	if _, err := cl.Info(ctx, clone); !errors.Is(err, rbd.ErrNotFound) {
		t.Fatalf("the clone after its delete: %v", err)
	}
	if err := cl.Delete(ctx, clone); err != nil {
		t.Errorf("the delete done again: %v", err)
	}
	release()
	if err := cl.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if names := imageNames(t, cl); slices.Contains(names, deleted) {
		t.Errorf("the released parent survived the sweep: %v", names)
	}
}
