//go:build cgo && (pacific || quincy || reef || squid)

package agent_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/compute/agent"
	"github.com/gostack/gostack/compute/guestimage/guesttest"
	"github.com/gostack/gostack/compute/qemu"
	"github.com/gostack/gostack/compute/virt"
	"github.com/gostack/gostack/internal/cephtest"
	"github.com/gostack/gostack/internal/testenv"
	kitagent "github.com/gostack/gostack/kit/agent"
	"github.com/gostack/gostack/kit/crashpoint"
	"github.com/gostack/gostack/storage/rbd"
)

var (
	cephOnce sync.Once
	cephC    *cephtest.Cluster
	cephErr  error
)

// cephCluster is the test binary's private Ceph cluster with the pools
// "vms" (root disks) and "images" (an RBD image store's), started on
// first use and stopped when the binary ends.
func cephCluster(t *testing.T) *cephtest.Cluster {
	t.Helper()
	if err := cephtest.Available(); err != nil {
		if testenv.CI() {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	cephOnce.Do(func() {
		cephC, cephErr = cephtest.Start(cephtest.Options{Pools: []string{"vms", "images"}})
		if cephErr == nil {
			testenv.OnExit(func() { cephC.Stop() })
		}
	})
	if cephErr != nil {
		t.Fatalf("cephtest: %v", cephErr)
	}
	return cephC
}

// rbdHost is a host whose agent keeps root disks in the cluster's "vms"
// pool as its cephx user, whose key the driver has under secret.
func (c *controller) rbdHost(name string, ceph *cephtest.Cluster, secret string) *host {
	h := c.newHost(name)
	h.cfg.ImagesType = agent.ImagesRBD
	h.cfg.RBD = rbd.Config{ConfFile: ceph.Conf, User: ceph.User, Keyring: ceph.Keyring, Pool: "vms", SecretUUID: secret}
	h.rbdSecrets = map[string]string{secret: ceph.Keyring}
	return h
}

// rbdInfo is what "rbd info" says of pool/name; ok false when there is
// no such image.
type rbdInfo struct {
	Size   int64 `json:"size"`
	Parent *struct {
		Pool     string `json:"pool"`
		Image    string `json:"image"`
		Snapshot string `json:"snapshot"`
	} `json:"parent"`
}

func rbdStat(t *testing.T, ceph *cephtest.Cluster, name string) (rbdInfo, bool) {
	t.Helper()
	out, err := ceph.RBD(context.Background(), "info", "--format", "json", name)
	if err != nil {
		if strings.Contains(string(out), "No such file") || strings.Contains(err.Error(), "No such file") {
			return rbdInfo{}, false
		}
		t.Fatalf("rbd info %s: %v: %s", name, err, out)
	}
	var in rbdInfo
	if err := json.Unmarshal(out, &in); err != nil {
		t.Fatalf("rbd info %s: %v: %s", name, err, out)
	}
	return in, true
}

func rbdRun(t *testing.T, ceph *cephtest.Cluster, args ...string) {
	t.Helper()
	if out, err := ceph.RBD(context.Background(), args...); err != nil {
		t.Fatalf("rbd %v: %v: %s", args, err, out)
	}
}

// TestRBDRootDisk: with images_type rbd, a server's root disk is the
// RBD image vms/<uuid>_disk of the flavor's size, which the real QEMU
// guest boots from through librbd: imported from the cached raw image
// when the image service keeps it elsewhere, a copy-on-write clone of
// the image's snapshot (never downloaded) when it keeps it on RBD in the
// same cluster. A snapshot of the running guest is a standalone qcow2
// a server boots from (imported, converted to raw). A delete removes the
// disk. An agent killed during a
// build converges after its restart; its first sync removes the
// half-made import of its instance and never touches images of
// instances it does not have.
func TestRBDRootDisk(t *testing.T) {
	ceph := cephCluster(t)
	c := newController(t)
	c.images.dir = t.TempDir()
	secret := uuid.NewString()
	h := c.rbdHost("cmp1", ceph, secret)
	raw := guesttest.Image(t)

	// build builds a server of image and waits for its guest's ready
	// line; it checks the disk's size and returns the instance and the
	// disk's info.
	build := func(t *testing.T, image string) (compute.Instance, rbdInfo) {
		t.Helper()
		start := time.Now()
		i := c.place(h.name, image, nil, nil)
		c.waitState(i.UUID, compute.Active, compute.PowerRunning, boot)
		t.Logf("placed to ACTIVE: %v", time.Since(start).Round(10*time.Millisecond))
		c.waitConsole(i.UUID, "gostack-guest: ready", boot)
		t.Logf("placed to the ready line: %v", time.Since(start).Round(10*time.Millisecond))
		in, ok := rbdStat(t, ceph, "vms/"+i.UUID+"_disk")
		if !ok {
			t.Fatal("no vms/<uuid>_disk")
		}
		if in.Size != 1<<30 {
			t.Errorf("vms/%s_disk has %d bytes, want the flavor's 1 GiB", i.UUID, in.Size)
		}
		if exists(filepath.Join(h.dir, "instances", i.UUID, "disk")) {
			t.Error("a local disk was made too")
		}
		return i, in
	}
	remove := func(t *testing.T, i compute.Instance) {
		t.Helper()
		c.action(i.UUID, "delete")
		c.waitGone(i.UUID, time.Minute)
		if _, ok := rbdStat(t, ceph, "vms/"+i.UUID+"_disk"); ok {
			t.Errorf("vms/%s_disk is left after the delete", i.UUID)
		}
	}

	t.Run("import", func(t *testing.T) {
		h.start()
		defer h.stop()
		image := c.images.add(t, raw, "raw", "")
		mark := c.reqs.mark()
		i, in := build(t, image)
		if in.Parent != nil {
			t.Errorf("the imported disk has a parent: %+v", *in.Parent)
		}
		if got := c.reqs.since(mark, "GET /internal/compute/images/"+image); len(got) != 1 {
			t.Errorf("downloads of the image: %v, want 1", got)
		}

		// A snapshot of the running guest: the disk read through librbd
		// and sent as a standalone qcow2 of its size; a server of it (a
		// qcow2 image: converted to raw into the cluster) boots.
		pid := qemuPid(h.qemuDir, i.UUID)
		img, err := c.images.CreateSnapshot(context.Background(), "proj", "snap", "qcow2", 1, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if _, err := c.store.StartSnapshot(context.Background(), admin, i.UUID, img.ID); err != nil {
			t.Fatal(err)
		}
		got := c.waitFor(i.UUID, "snapshot done", 2*time.Minute, func(i compute.Instance, err error) bool {
			return err == nil && i.TaskState == compute.NoTask
		})
		t.Logf("snapshot of a running guest on RBD: %v; %s", time.Since(start).Round(10*time.Millisecond), pauseLine(h.logs.String(), i.UUID))
		if left := rbdSnaps(t, ceph, "vms/"+i.UUID+"_disk"); len(left) != 0 {
			t.Errorf("RBD snapshots left by the snapshot: %v", left)
		}
		if got.VMState != compute.Active || got.PowerState != compute.PowerRunning || qemuPid(h.qemuDir, i.UUID) != pid {
			t.Fatalf("after the snapshot: %s, QEMU %d (was %d)", brief(got), qemuPid(h.qemuDir, i.UUID), pid)
		}
		c.images.mu.Lock()
		path := c.images.snapshots[img.ID]
		c.images.mu.Unlock()
		out, err := exec.Command("qemu-img", "info", "--output=json", path).Output()
		if err != nil {
			t.Fatalf("the snapshot's data %q: %v", path, err)
		}
		var info struct {
			Format      string `json:"format"`
			VirtualSize int64  `json:"virtual-size"`
			Backing     string `json:"backing-filename"`
		}
		if err := json.Unmarshal(out, &info); err != nil || info.Format != "qcow2" || info.Backing != "" || info.VirtualSize != 1<<30 {
			t.Fatalf("the snapshot: %s (%v)", out, err)
		}
		snap := c.images.add(t, path, "qcow2", "")
		j := c.place(h.name, snap, nil, func(i *compute.Instance) { i.Hostname = "vm-of-snap" })
		c.waitState(j.UUID, compute.Active, compute.PowerRunning, boot)
		c.waitConsole(j.UUID, "gostack-guest: hostname vm-of-snap", boot)
		remove(t, j)
		remove(t, i)
	})

	t.Run("clone", func(t *testing.T) {
		h.start()
		defer h.stop()
		// The image as Glance's RBD store keeps it: images/<id>, its
		// snapshot "snap", protected.
		image := c.images.add(t, raw, "raw", "")
		rbdRun(t, ceph, "import", "--no-progress", "--image-format", "2", raw, "images/"+image)
		rbdRun(t, ceph, "snap", "create", "images/"+image+"@snap")
		rbdRun(t, ceph, "snap", "protect", "images/"+image+"@snap")
		c.images.mu.Lock()
		c.images.locations = map[string][]string{image: {"rbd://" + ceph.FSID + "/images/" + image + "/snap"}}
		c.images.mu.Unlock()
		mark := c.reqs.mark()
		i, in := build(t, image)
		if in.Parent == nil || in.Parent.Pool != "images" || in.Parent.Image != image || in.Parent.Snapshot != "snap" {
			t.Errorf("the disk is not a clone of images/%s@snap: %+v", image, in.Parent)
		}
		if got := c.reqs.since(mark, "GET /internal/compute/images/"+image); len(got) != 0 {
			t.Errorf("an image the disk was cloned from was downloaded: %v", got)
		}
		remove(t, i)
		if _, ok := rbdStat(t, ceph, "images/"+image); !ok {
			t.Error("the image's own RBD image went with the clone")
		}
	})

	t.Run("clone-fails", func(t *testing.T) {
		// The image's RBD location is one the agent can open but not
		// clone (the image has no layering feature): the clone fails and
		// the image is fetched and imported instead, as Nova's fetch
		// after a failed clone; nothing of the clone is left. The agent
		// runs in a process of its own: after librbd's failed clone, a
		// later connection of the same process once crashed in rbd_open
		// (SIGSEGV in librbd), which this keeps from the tests after it.
		_, stop := h.spawnProcess()
		defer stop()
		image := c.images.add(t, raw, "raw", "")
		rbdRun(t, ceph, "import", "--no-progress", "--image-format", "2", "--image-feature", "exclusive-lock", raw, "images/"+image)
		rbdRun(t, ceph, "snap", "create", "images/"+image+"@snap")
		c.images.mu.Lock()
		c.images.locations = map[string][]string{image: {"rbd://" + ceph.FSID + "/images/" + image + "/snap"}}
		c.images.mu.Unlock()
		mark := c.reqs.mark()
		i, in := build(t, image)
		if in.Parent != nil {
			t.Errorf("the disk is a clone after all: %+v", *in.Parent)
		}
		if got := c.reqs.since(mark, "GET /internal/compute/images/"+image); len(got) != 1 {
			t.Errorf("downloads of the image: %v, want 1", got)
		}
		tried := false
		for _, l := range strings.Split(h.logs.String(), "\n") {
			if strings.Contains(l, "root disk not cloned; importing the image") && strings.Contains(l, i.UUID) {
				tried = true
				t.Logf("%s", l[strings.Index(l, "msg="):])
			}
		}
		if !tried {
			t.Error("no clone was tried")
		}
		if _, ok := rbdStat(t, ceph, "vms/"+i.UUID+"_disk.partial"); ok {
			t.Error("a half-made disk is left")
		}
		remove(t, i)
		rbdRun(t, ceph, "snap", "rm", "--no-progress", "images/"+image+"@snap")
		rbdRun(t, ceph, "rm", "--no-progress", "images/"+image)
	})

	t.Run("clone-crash", func(t *testing.T) {
		// librbd makes a clone's child before it attaches its parent: a
		// kill between the two leaves an empty image with no parent. The
		// clone is made as <uuid>_disk.partial and renamed once whole, so
		// what the kill leaves is under that name: the agent is killed
		// after the clone, before its rename, and the clone is put back
		// as librbd's half-made one (empty, no parent). The restarted
		// agent's sweep removes it, the build clones again, and the guest
		// boots from the image's bytes.
		image := c.images.add(t, raw, "raw", "")
		rbdRun(t, ceph, "import", "--no-progress", "--image-format", "2", raw, "images/"+image)
		rbdRun(t, ceph, "snap", "create", "images/"+image+"@snap")
		rbdRun(t, ceph, "snap", "protect", "images/"+image+"@snap")
		c.images.mu.Lock()
		c.images.locations = map[string][]string{image: {"rbd://" + ceph.FSID + "/images/" + image + "/snap"}}
		c.images.mu.Unlock()
		exited := h.startProcess(crashpoint.Env + "=storage.rbd.cloned")
		i := c.place(h.name, image, nil, nil)
		h.waitKilled(t, exited, "storage.rbd.cloned")
		if _, ok := rbdStat(t, ceph, "vms/"+i.UUID+"_disk"); ok {
			t.Fatal("killed before the clone's rename: vms/<uuid>_disk is there")
		}
		part, ok := rbdStat(t, ceph, "vms/"+i.UUID+"_disk.partial")
		if !ok || part.Parent == nil {
			t.Fatalf("killed before the clone's rename: vms/<uuid>_disk.partial %v, parent %+v", ok, part.Parent)
		}
		rbdRun(t, ceph, "rm", "--no-progress", "vms/"+i.UUID+"_disk.partial")
		rbdRun(t, ceph, "create", "--size", strconv.FormatInt(part.Size, 10)+"B", "vms/"+i.UUID+"_disk.partial")
		restart := time.Now()
		h.start()
		defer h.stop()
		c.waitState(i.UUID, compute.Active, compute.PowerRunning, boot)
		t.Logf("killed between the clone and its rename, restart to ACTIVE: %v", time.Since(restart).Round(time.Millisecond))
		c.waitConsole(i.UUID, "gostack-guest: ready", boot)
		in, ok := rbdStat(t, ceph, "vms/"+i.UUID+"_disk")
		if !ok || in.Parent == nil || in.Parent.Image != image || in.Size != 1<<30 {
			t.Fatalf("vms/<uuid>_disk after the restart: %v %+v, want a 1 GiB clone of images/%s@snap", ok, in, image)
		}
		if _, ok := rbdStat(t, ceph, "vms/"+i.UUID+"_disk.partial"); ok {
			t.Error("the half-made clone is left")
		}
		// The disk's first MiB is the image's.
		out := filepath.Join(t.TempDir(), "disk.raw")
		rbdRun(t, ceph, "export", "--no-progress", "vms/"+i.UUID+"_disk", out)
		if got, want := firstMiB(t, out), firstMiB(t, raw); got != want {
			t.Errorf("the disk's first MiB has sha256 %s, the image's %s", got, want)
		}
		remove(t, i)
	})

	t.Run("snapshot-crash", func(t *testing.T) {
		// A snapshot pauses the guest only while it takes the RBD
		// snapshot nova-snapshot-<image> of the disk: the agent killed
		// after that, before the export, leaves the guest running and
		// the RBD snapshot there. Its restart's first sync removes it,
		// the task is done again (a new RBD snapshot, read and removed),
		// the guest never restarted, and no RBD snapshot is left.
		image := c.images.add(t, raw, "raw", "")
		h.start()
		i := c.place(h.name, image, nil, nil)
		c.waitState(i.UUID, compute.Active, compute.PowerRunning, boot)
		h.stop()
		pid := qemuPid(h.qemuDir, i.UUID)
		exited := h.startProcess(crashpoint.Env + "=compute.agent.snapshot.taken")
		img, err := c.images.CreateSnapshot(context.Background(), "proj", "snap", "qcow2", 1, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.store.StartSnapshot(context.Background(), admin, i.UUID, img.ID); err != nil {
			t.Fatal(err)
		}
		h.waitKilled(t, exited, "compute.agent.snapshot.taken")
		d, err := qemu.New(qemu.Config{StateDir: h.qemuDir, Accel: "tcg"})
		if err != nil {
			t.Fatal(err)
		}
		if p, err := d.State(context.Background(), i.UUID); err != nil || p != virt.PowerRunning {
			t.Fatalf("killed after the RBD snapshot, before the export: the guest is %v (%v), want running", p, err)
		}
		if got := rbdSnaps(t, ceph, "vms/"+i.UUID+"_disk"); len(got) != 1 || got[0] != "nova-snapshot-"+img.ID {
			t.Fatalf("killed after the RBD snapshot: snapshots %v, want nova-snapshot-%s", got, img.ID)
		}
		h.start()
		defer h.stop()
		got := c.waitFor(i.UUID, "snapshot done", 2*time.Minute, func(i compute.Instance, err error) bool {
			return err == nil && i.TaskState == compute.NoTask
		})
		if got.VMState != compute.Active || got.PowerState != compute.PowerRunning || qemuPid(h.qemuDir, i.UUID) != pid {
			t.Fatalf("after the snapshot: %s, QEMU %d (was %d)", brief(got), qemuPid(h.qemuDir, i.UUID), pid)
		}
		if left := rbdSnaps(t, ceph, "vms/"+i.UUID+"_disk"); len(left) != 0 {
			t.Errorf("RBD snapshots left: %v", left)
		}
		c.images.mu.Lock()
		path := c.images.snapshots[img.ID]
		c.images.mu.Unlock()
		if out, err := exec.Command("qemu-img", "info", "--output=json", path).Output(); err != nil || !strings.Contains(string(out), `"format": "qcow2"`) {
			t.Fatalf("the snapshot's data %q: %s %v", path, out, err)
		}
		remove(t, i)
	})

	t.Run("data-file", func(t *testing.T) {
		// A qcow2 whose data is a file of the host (CVE-2024-32498): its
		// conversion to raw would copy that file into the disk. Refused
		// before qemu-img reads it, as the request's fault; no disk made.
		dir := t.TempDir()
		q, hostFile := filepath.Join(dir, "evil.qcow2"), filepath.Join(dir, "host-secret")
		qemuImg(t, "create", "-q", "-f", "qcow2", "-o", "data_file="+hostFile+",data_file_raw=on", q, "1M")
		if err := os.WriteFile(hostFile, []byte("a secret of the host\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		image := c.images.add(t, q, "qcow2", "")
		h.start()
		defer h.stop()
		i := c.place(h.name, image, nil, nil)
		got := c.waitFor(i.UUID, "in error", time.Minute, func(i compute.Instance, err error) bool {
			return err == nil && i.VMState == compute.Error
		})
		if got.Fault == nil || !strings.Contains(got.Fault.Message, "has an external data file: refused") {
			t.Fatalf("instance %s", brief(got))
		}
		t.Logf("fault: %s", got.Fault.Message)
		for _, name := range []string{"_disk", "_disk.partial"} {
			if _, ok := rbdStat(t, ceph, "vms/"+i.UUID+name); ok {
				t.Errorf("vms/%s%s made for a refused image", i.UUID, name)
			}
		}
		if exists(filepath.Join(h.dir, "instances", i.UUID)) {
			t.Error("the instance's directory is left")
		}
	})

	t.Run("crash", func(t *testing.T) {
		// A qcow2 image: converted to raw on its way into the cluster.
		q := filepath.Join(t.TempDir(), "guest.qcow2")
		qemuImg(t, "convert", "-q", "-f", "raw", "-O", "qcow2", raw, q)
		image := c.images.add(t, q, "qcow2", "")
		// Images of instances this host does not have: never touched.
		other := uuid.NewString()
		rbdRun(t, ceph, "create", "--size", "1M", "vms/"+other+"_disk.partial")
		rbdRun(t, ceph, "create", "--size", "1M", "vms/"+other+"_disk")
		defer ceph.RBD(context.Background(), "rm", "--no-progress", "vms/"+other+"_disk.partial")
		defer ceph.RBD(context.Background(), "rm", "--no-progress", "vms/"+other+"_disk")
		var built []compute.Instance
		for _, point := range []string{"compute.agent.image", "compute.agent.disk", "compute.agent.spawned"} {
			exited := h.startProcess(crashpoint.Env + "=" + point)
			i := c.place(h.name, image, nil, nil)
			h.waitKilled(t, exited, point)
			_, made := rbdStat(t, ceph, "vms/"+i.UUID+"_disk")
			if want := point != "compute.agent.image"; made != want {
				t.Fatalf("killed at %s: vms/<uuid>_disk there %v, want %v", point, made, want)
			}
			if point == "compute.agent.image" {
				// As an import cut short by a kill leaves it: the image,
				// and the watch of the killed client on it, which the
				// OSDs drop only after 30 s.
				rbdRun(t, ceph, "create", "--size", "4M", "vms/"+i.UUID+"_disk.partial")
				// rbd watch holds its watch until its standard input
				// says to stop.
				watch := exec.Command("rbd", "-c", ceph.Conf, "watch", "vms/"+i.UUID+"_disk.partial")
				stdin, err := watch.StdinPipe()
				if err != nil {
					t.Fatal(err)
				}
				defer stdin.Close()
				if err := watch.Start(); err != nil {
					t.Fatal(err)
				}
				eventually(t, "a watch on the half-made import", func() bool {
					out, err := ceph.RBD(context.Background(), "status", "vms/"+i.UUID+"_disk.partial")
					return err == nil && strings.Contains(string(out), "watcher=")
				})
				watch.Process.Kill() // the watch stays behind
				watch.Wait()
			}
			pid := qemuPid(h.qemuDir, i.UUID)
			restart := time.Now()
			h.start()
			c.waitState(i.UUID, compute.Active, compute.PowerRunning, boot)
			t.Logf("killed at %s, restart to ACTIVE: %v", point, time.Since(restart).Round(time.Millisecond))
			if point == "compute.agent.spawned" && qemuPid(h.qemuDir, i.UUID) != pid {
				t.Errorf("the guest was started again after the restart")
			}
			if _, ok := rbdStat(t, ceph, "vms/"+i.UUID+"_disk.partial"); ok {
				t.Error("the half-made import is left")
			}
			h.stop()
			built = append(built, i)
		}
		// A half-made import of an instance built since (a kill during
		// an import after which the disk was made all the same): the
		// first sync removes it, and leaves the guest alone.
		i := built[0]
		rbdRun(t, ceph, "create", "--size", "4M", "vms/"+i.UUID+"_disk.partial")
		pid := qemuPid(h.qemuDir, i.UUID)
		h.start()
		h.waitFirstSync()
		if _, ok := rbdStat(t, ceph, "vms/"+i.UUID+"_disk.partial"); ok {
			t.Error("the first sync left the half-made import of its instance")
		}
		if qemuPid(h.qemuDir, i.UUID) != pid {
			t.Error("the restart disturbed a running guest")
		}
		for _, name := range []string{other + "_disk.partial", other + "_disk"} {
			if _, ok := rbdStat(t, ceph, "vms/"+name); !ok {
				t.Errorf("vms/%s of an instance this host does not have was removed", name)
			}
		}
		for _, i := range built {
			remove(t, i)
		}
		h.stop()
	})
}

// heldDiskDriver fails every spawn after leaving on the guest's RBD
// disk the watch of a killed client (as QEMU killed by a clean-up leaves
// it, until the OSDs time it out after 30 s).
type heldDiskDriver struct {
	*fakeDriver
	ceph *cephtest.Cluster
}

func (d *heldDiskDriver) Spawn(ctx context.Context, g virt.Guest) error {
	d.call("spawn", g.ID)
	name := g.Disk.Connection["name"]
	watch := exec.Command("rbd", "-c", d.ceph.Conf, "watch", name)
	stdin, err := watch.StdinPipe()
	if err != nil {
		return err
	}
	defer stdin.Close()
	if err := watch.Start(); err != nil {
		return err
	}
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		out, err := d.ceph.RBD(ctx, "status", name)
		if err == nil && strings.Contains(string(out), "watcher=") {
			break
		}
		if time.Now().After(end) {
			watch.Process.Kill()
			watch.Wait()
			return fmt.Errorf("no watch on %s", name)
		}
	}
	watch.Process.Kill() // the watch stays behind
	watch.Wait()
	return fmt.Errorf("the guest of %s did not start", name)
}

// TestRBDFailedBuild: a failed build removes its RBD disk before it is
// rescheduled, waiting while a killed client's watch holds it, so the
// next host makes the disk anew rather than boot the one this build's
// guest wrote on.
func TestRBDFailedBuild(t *testing.T) {
	ceph := cephCluster(t)
	c := newController(t)
	c.store.MaxBuildAttempts = compute.DefaultMaxBuildAttempts
	d := &heldDiskDriver{fakeDriver: newFake(), ceph: ceph}
	h := c.rbdHost("cmp1", ceph, uuid.NewString())
	h.mods = append(h.mods, func(a *agent.Agent) { a.Driver = d })
	h.start()
	defer h.stop()
	start := time.Now()
	i := c.place(h.name, c.guestImage(), nil, nil)
	c.waitFor(i.UUID, "sent back to the scheduler", 3*time.Minute, func(i compute.Instance, err error) bool {
		return err == nil && i.TaskState == compute.Scheduling && i.Host == ""
	})
	t.Logf("a failed build with its disk held, to rescheduled: %v", time.Since(start).Round(10*time.Millisecond))
	if _, ok := rbdStat(t, ceph, "vms/"+i.UUID+"_disk"); ok {
		t.Fatal("rescheduled with vms/<uuid>_disk left for the next host")
	}
	if d.called("spawn", i.UUID) != 1 {
		t.Errorf("spawns: %d, want 1", d.called("spawn", i.UUID))
	}
	r, err := c.store.BuildRetry(context.Background(), i.UUID)
	if err != nil || len(r.Faults) != 1 || !strings.Contains(r.Faults[0], "did not start") || strings.Contains(r.Faults[0], "not removed") {
		t.Fatalf("retry record %+v %v", r, err)
	}
}

// TestRBDMove: a disk on RBD is shared: a resize to another host sends
// no disk (the destination grows the same image to the new flavor's
// size), a revert rolls it back to its size before the move, and after
// a confirmed move the resize snapshot goes and the guest starts on its
// new host from the same image; a resize on one host, reverted, rolls
// the image back too.
func TestRBDMove(t *testing.T) {
	ceph := cephCluster(t)
	c := newController(t)
	secret := uuid.NewString()
	h1, h2 := c.rbdHost("cmp1", ceph, secret), c.rbdHost("cmp2", ceph, secret)
	h1.start()
	h2.start()
	i := c.place(h1.name, c.images.add(t, guesttest.Image(t), "raw", ""), nil, nil)
	c.waitState(i.UUID, compute.Active, compute.PowerRunning, boot)
	c.waitConsole(i.UUID, "gostack-guest: ready", boot)
	c.action(i.UUID, "stop")
	c.waitState(i.UUID, compute.Stopped, compute.PowerShutdown, 2*time.Minute)
	disk := "vms/" + i.UUID + "_disk"

	bigger := i.Flavor
	bigger.ID, bigger.Name, bigger.RootGB = "2", "small", 2
	mark := c.reqs.mark()
	c.move(i.UUID, h2.name, &bigger)
	if in, _ := rbdStat(t, ceph, disk); in.Size != 2<<30 {
		t.Errorf("resized: %s has %d bytes, want 2 GiB", disk, in.Size)
	}
	if sent := c.reqs.since(mark, "/migration"); len(sent) > 0 {
		t.Errorf("a disk on RBD moved through the controller: %v", sent)
	}
	c.revert(i.UUID)
	if in, _ := rbdStat(t, ceph, disk); in.Size != 1<<30 {
		t.Errorf("reverted: %s has %d bytes, want 1 GiB again", disk, in.Size)
	}
	if out, err := ceph.RBD(context.Background(), "snap", "ls", disk); err != nil || strings.Contains(string(out), "nova-resize") {
		t.Errorf("after the revert: rbd snap ls %s: %v: %s", disk, err, out)
	}

	c.move(i.UUID, h2.name, &bigger)
	if _, _, err := c.store.ConfirmResize(context.Background(), admin, i.UUID); err != nil {
		t.Fatal(err)
	}
	c.waitState(i.UUID, compute.Stopped, compute.PowerShutdown, 2*time.Minute)
	eventually(t, "the resize snapshot gone after the confirm", func() bool {
		out, err := ceph.RBD(context.Background(), "snap", "ls", disk)
		return err == nil && !strings.Contains(string(out), "nova-resize")
	})
	c.action(i.UUID, "start")
	c.waitState(i.UUID, compute.Active, compute.PowerRunning, time.Minute)
	if in, _ := rbdStat(t, ceph, disk); in.Size != 2<<30 {
		t.Errorf("confirmed: %s has %d bytes, want 2 GiB", disk, in.Size)
	}

	// It boots there (its own console: the controller's tail has the
	// first boot's lines).
	deadline := time.Now().Add(boot)
	for {
		b, err := virt.ConsoleLog(context.Background(), h2.driver, i.UUID)
		if err == nil && strings.Contains(string(b), "gostack-guest: ready") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the moved guest did not boot to its ready line: %v\n%s", err, b)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// A resize on one host, reverted: the same image grown, then rolled
	// back.
	c.action(i.UUID, "stop")
	c.waitState(i.UUID, compute.Stopped, compute.PowerShutdown, 2*time.Minute)
	biggest := bigger
	biggest.ID, biggest.Name, biggest.RootGB = "3", "medium", 3
	c.move(i.UUID, h2.name, &biggest)
	if in, _ := rbdStat(t, ceph, disk); in.Size != 3<<30 {
		t.Errorf("resized on one host: %s has %d bytes, want 3 GiB", disk, in.Size)
	}
	c.revert(i.UUID)
	if in, _ := rbdStat(t, ceph, disk); in.Size != 2<<30 {
		t.Errorf("reverted on one host: %s has %d bytes, want 2 GiB again", disk, in.Size)
	}
	c.action(i.UUID, "delete")
	c.waitGone(i.UUID, time.Minute)
	if _, ok := rbdStat(t, ceph, disk); ok {
		t.Errorf("%s is left after the delete", disk)
	}
}

// TestRBDConfigRefused: an agent with an unknown images type does not
// run, saying why; a build on a root disks' cluster the agent cannot
// reach (its ceph.conf missing) fails with the reason and leaves
// nothing; and an image larger than the flavor's disk is refused before
// anything is written to the cluster.
func TestRBDConfigRefused(t *testing.T) {
	ceph := cephCluster(t)
	c := newController(t)

	bad := c.newHost("cmp0")
	bad.cfg.ImagesType = "nfs"
	a := &agent.Agent{Config: bad.cfg, Driver: newFake(), Session: kitagent.NewSession(c.creds)}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Run(ctx); err == nil || !strings.Contains(err.Error(), `images type "nfs": want qcow2 or rbd`) {
		t.Errorf("images type nfs: Run = %v", err)
	}

	for _, tc := range []struct {
		name string
		conf string
		big  bool
		want string
	}{
		{"no ceph.conf", filepath.Join(t.TempDir(), "missing.conf"), false, "root disks on rbd: rbd: configuration"},
		{"disk too small", ceph.Conf, true, "flavor's disk is too small for the image"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := c.rbdHost("cmp-"+strings.ReplaceAll(tc.name, " ", "-"), ceph, uuid.NewString())
			h.cfg.RBD.ConfFile = tc.conf
			h.start()
			defer h.stop()
			image := c.images.add(t, guesttest.Image(t), "raw", "")
			if tc.big {
				big := filepath.Join(t.TempDir(), "big.qcow2")
				qemuImg(t, "create", "-q", "-f", "qcow2", big, "2G")
				image = c.images.add(t, big, "qcow2", "")
			}
			i := c.place(h.name, image, nil, nil)
			got := c.waitFor(i.UUID, "in error", time.Minute, func(i compute.Instance, err error) bool {
				return err == nil && i.VMState == compute.Error
			})
			if got.Fault == nil || !strings.Contains(got.Fault.Message, tc.want) {
				t.Fatalf("instance %s, want a fault with %q", brief(got), tc.want)
			}
			t.Logf("fault: %s", got.Fault.Message)
			if tc.conf == ceph.Conf {
				for _, name := range []string{i.UUID + "_disk", i.UUID + "_disk.partial"} {
					if _, ok := rbdStat(t, ceph, "vms/"+name); ok {
						t.Errorf("vms/%s left by a refused build", name)
					}
				}
			}
			if exists(filepath.Join(h.qemuDir, i.UUID)) {
				t.Error("a guest was made")
			}
		})
	}
}

// firstMiB is the sha256 of the first MiB of the file at path.
func firstMiB(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1<<20)
	if _, err := io.ReadFull(f, b); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", sha256.Sum256(b))
}

// rbdSnaps are the names of image name's snapshots.
func rbdSnaps(t *testing.T, ceph *cephtest.Cluster, name string) []string {
	t.Helper()
	out, err := ceph.RBD(context.Background(), "snap", "ls", "--format", "json", name)
	if err != nil {
		t.Fatalf("rbd snap ls %s: %v: %s", name, err, out)
	}
	var snaps []struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(out, &snaps); err != nil {
		t.Fatalf("rbd snap ls %s: %v: %s", name, err, out)
	}
	var names []string
	for _, s := range snaps {
		names = append(names, s.Name)
	}
	return names
}

// pauseLine is how long the agent's log says instance id's guest was
// paused for its last snapshot.
func pauseLine(logs, id string) string {
	last := "no pause logged"
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, "resumed after the snapshot's pause") && strings.Contains(l, id) {
			if _, p, ok := strings.Cut(l, "paused="); ok {
				last = "guest paused " + p
			}
		}
	}
	return last
}
