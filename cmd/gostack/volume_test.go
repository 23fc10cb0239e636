package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gostack/gostack/kit/crashpoint"
	"github.com/gostack/gostack/storage"
	"github.com/gostack/gostack/storage/iscsi"
)

// The block-storage area in the all-in-one, driven by the openstack
// CLI: volumes made by the in-process backend as sparse files exported
// by a tgtd the daemon starts (on a control port and portal of the
// test's own), extended, and deleted with their target and file; tgtd
// killed and every volume exported again by the agent, with the same
// target name.
func TestAllInOneVolumes(t *testing.T) {
	a := newVolumeAIO(t)
	// A Ceph beside it, for the RBD backend's subtest, started while
	// gostack starts and the iSCSI steps run.
	ceph := startRBD(a)
	a.start("")
	c, p, ex, data, tgtDir := a.cli, a.p, a.ex, a.data, a.tgtDir
	must, asJSON := c.must, c.json
	target, status := a.target, a.status

	start := time.Now()
	var v map[string]any
	asJSON(&v, "volume", "create", "--size", "1", "--description", "first", "v1")
	id := v["id"].(string)
	v = status("v1", "available")
	t.Logf("volume create to available: %s", time.Since(start).Round(time.Millisecond))
	if v["size"] != float64(1) || v["os-vol-host-attr:host"] != "aio@iscsi#iscsi" || v["type"] != "__DEFAULT__" {
		t.Errorf("v1: %v", v)
	}
	file := filepath.Join(data, "volume", "files", "volume-"+id)
	if fi, err := os.Stat(file); err != nil || fi.Size() != 1<<30 {
		t.Fatalf("the volume's file: %v %v", fi, err)
	}
	tg := target(id)
	if tg == nil || len(tg.LUNs) != 2 || tg.LUNs[1].BackingPath != file || len(tg.Accounts) != 1 {
		t.Fatalf("the target of v1: %+v", tg)
	}

	// Extend: the file and the LUN grow.
	must("volume", "set", "--size", "2", "v1")
	status("v1", "available")
	if fi, err := os.Stat(file); err != nil || fi.Size() != 2<<30 {
		t.Fatalf("the extended volume's file: %v %v", fi, err)
	}
	if tg := target(id); tg == nil || len(tg.LUNs) != 2 || tg.LUNs[1].SizeMB < 2000 {
		t.Fatalf("the target after the extend: %+v", tg)
	}

	// Snapshots and copies, checked through the export: a pattern in v1
	// at 4 MiB, a snapshot, another pattern over it; a volume from the
	// snapshot has the first, a clone of v1 the second.
	fillFile(t, file, 4<<20, 1<<20, 0x5a)
	start = time.Now()
	var snap map[string]any
	asJSON(&snap, "volume", "snapshot", "create", "--volume", "v1", "--description", "before", "s1")
	a.snapshotStatus("s1", "available")
	t.Logf("snapshot create to available (2 GiB volume, 1 MiB of data): %s", time.Since(start).Round(time.Millisecond))
	fillFile(t, file, 4<<20, 1<<20, 0xa5)
	start = time.Now()
	must("volume", "create", "--snapshot", "s1", "v3")
	v = status("v3", "available")
	t.Logf("volume from a snapshot to available: %s", time.Since(start).Round(time.Millisecond))
	if v["size"] != float64(2) || v["snapshot_id"] != snap["id"] {
		t.Errorf("v3: %v", v)
	}
	id3 := v["id"].(string)
	start = time.Now()
	must("volume", "create", "--source", "v1", "--size", "3", "v4")
	v = status("v4", "available")
	t.Logf("volume clone to available: %s", time.Since(start).Round(time.Millisecond))
	id4 := v["id"].(string)
	a.readPattern(id3, 4<<20, 1<<20, 0x5a)
	a.readPattern(id4, 4<<20, 1<<20, 0xa5)
	a.readPattern(id4, 2<<30, 1<<20, 0) // the clone's larger rest: zeros
	if out, err := c.run("volume", "delete", "v1"); err == nil || !strings.Contains(out, "have snapshots") {
		t.Errorf("v1 deleted while it has a snapshot: %v %s", err, out)
	}
	must("volume", "snapshot", "delete", "s1")
	waitFor(t, p, "the snapshot gone", func() error {
		out, _ := c.run("volume", "snapshot", "list", "-f", "value")
		if strings.TrimSpace(out) != "" {
			return fmt.Errorf("snapshots: %s", out)
		}
		return nil
	})
	if _, err := os.Stat(filepath.Join(data, "volume", "files", "snapshot-"+snap["id"].(string))); !os.IsNotExist(err) {
		t.Errorf("the snapshot's file after its delete: %v", err)
	}
	must("volume", "delete", "v3", "v4")

	// An image to a volume and back: a qcow2 image with a pattern at
	// 1 MiB becomes a bootable 1 GiB volume holding it (read through
	// iSCSI) that keeps the image's properties; uploaded as qcow2, the
	// new image holds the volume, and the properties.
	img := filepath.Join(t.TempDir(), "img")
	fillFile(t, img+".raw", 1<<20, 1<<20, 0x3c)
	if err := os.Truncate(img+".raw", 64<<20); err != nil {
		t.Fatal(err)
	}
	sh(t, "qemu-img", "convert", "-f", "raw", "-O", "qcow2", img+".raw", img+".qcow2")
	must("image", "create", "--disk-format", "qcow2", "--container-format", "bare", "--file", img+".qcow2", "--property", "os_distro=tiny", "imgq")
	start = time.Now()
	must("volume", "create", "--image", "imgq", "--size", "1", "vimg")
	v = status("vimg", "available")
	t.Logf("volume from a 64 MiB qcow2 image to available: %s", time.Since(start).Round(time.Millisecond))
	if md, _ := v["volume_image_metadata"].(map[string]any); v["bootable"] != "true" || md["os_distro"] != "tiny" || md["image_name"] != "imgq" {
		t.Errorf("vimg: bootable %v, image metadata %v", v["bootable"], v["volume_image_metadata"])
	}
	idImg := v["id"].(string)
	a.readPattern(idImg, 1<<20, 1<<20, 0x3c)
	a.readPattern(idImg, 64<<20, 1<<20, 0)
	start = time.Now()
	must("image", "create", "--volume", "vimg", "--disk-format", "qcow2", "vimg-copy")
	var im map[string]any
	waitFor(t, p, "the volume's image active", func() error {
		asJSON(&im, "image", "show", "vimg-copy")
		if im["status"] != "active" {
			return fmt.Errorf("status %v", im["status"])
		}
		return nil
	})
	t.Logf("volume upload to a qcow2 image to active: %s", time.Since(start).Round(time.Millisecond))
	if props, _ := im["properties"].(map[string]any); props["os_distro"] != "tiny" || im["disk_format"] != "qcow2" {
		t.Errorf("the volume's image: %v", im)
	}
	status("vimg", "available")
	must("image", "save", "--file", img+".copy", "vimg-copy")
	sh(t, "qemu-img", "convert", "-f", "qcow2", "-O", "raw", img+".copy", img+".back")
	back, err := os.ReadFile(img + ".back")
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != 1<<30 || back[1<<20] != 0x3c || back[2<<20-1] != 0x3c || back[2<<20] != 0 {
		t.Errorf("the volume's image: %d bytes, pattern %x..%x then %x", len(back), back[1<<20], back[2<<20-1], back[2<<20])
	}
	must("image", "delete", "imgq", "vimg-copy")
	must("volume", "delete", "vimg")

	// Backups, full and incremental, checked through the exports: a
	// pattern at 8 MiB of vb, a full backup; that pattern changed and
	// another at 16 MiB, an incremental backup; each restored to a new
	// volume holds what it backed up; the full one restored over vb
	// (--force) brings vb back.
	asJSON(&v, "volume", "create", "--size", "1", "vb")
	idB := status("vb", "available")["id"].(string)
	fileB := filepath.Join(data, "volume", "files", "volume-"+idB)
	fillFile(t, fileB, 8<<20, 1<<20, 0x21)
	start = time.Now()
	var bk map[string]any
	asJSON(&bk, "volume", "backup", "create", "--name", "b1", "--description", "full", "vb")
	b1 := a.backupStatus("b1", "available")
	t.Logf("full backup of a 1 GiB volume (1 MiB of data) to available: %s", time.Since(start).Round(time.Millisecond))
	status("vb", "available")
	fillFile(t, fileB, 8<<20, 1<<20, 0x22)
	fillFile(t, fileB, 16<<20, 1<<20, 0x23)
	start = time.Now()
	asJSON(&bk, "volume", "backup", "create", "--incremental", "--name", "b2", "vb")
	b2 := a.backupStatus("b2", "available")
	t.Logf("incremental backup (2 MiB changed) to available: %s", time.Since(start).Round(time.Millisecond))
	if b1["is_incremental"] != false || b2["is_incremental"] != true || b2["size"] != float64(1) {
		t.Errorf("backups: %v\n%v", b1, b2)
	}
	var backups []map[string]any
	asJSON(&backups, "volume", "backup", "list")
	if len(backups) != 2 {
		t.Errorf("backup list: %v", backups)
	}
	for _, x := range []struct {
		backup, volume string
		at8            byte
		at16           byte
	}{{"b1", "rb1", 0x21, 0}, {"b2", "rb2", 0x22, 0x23}} {
		start = time.Now()
		a.restore(x.backup, x.volume)
		rv := status(x.volume, "available")
		t.Logf("restore of %s to a new volume to available: %s", x.backup, time.Since(start).Round(time.Millisecond))
		a.backupStatus(x.backup, "available")
		a.readPattern(rv["id"].(string), 8<<20, 1<<20, x.at8)
		a.readPattern(rv["id"].(string), 16<<20, 1<<20, x.at16)
		a.readPattern(rv["id"].(string), 32<<20, 1<<20, 0)
	}
	// A volume made from the incremental backup (3.47, through
	// cinderclient: openstackclient 6.0 has no --backup): of the
	// backup's size, with its bytes.
	start = time.Now()
	if out, err := c.runTool("cinder", "--os-volume-api-version", "3.47", "create", "--backup-id", b2["id"].(string), "--name", "fb"); err != nil {
		t.Fatalf("cinder create --backup-id: %v\n%s", err, out)
	}
	fb := status("fb", "available")
	t.Logf("volume from an incremental backup to available: %s", time.Since(start).Round(time.Millisecond))
	a.backupStatus("b2", "available")
	if md, _ := fb["properties"].(map[string]any); fb["size"] != float64(1) || md["src_backup_id"] != b2["id"] {
		t.Errorf("the volume from b2: %v", fb)
	}
	a.readPattern(fb["id"].(string), 8<<20, 1<<20, 0x22)
	a.readPattern(fb["id"].(string), 16<<20, 1<<20, 0x23)
	must("volume", "delete", "fb")
	// The record of b1 (admins'), and its import refused while b1 is
	// here (the import itself is storage/agent's TestVolumeAgentBackupImport).
	var rec map[string]any
	asJSON(&rec, "volume", "backup", "record", "export", "b1")
	if rec["backup_service"] != "gostack.storage.chunked" || rec["backup_url"] == "" {
		t.Errorf("b1's record: %v", rec)
	}
	if url, _ := rec["backup_url"].(string); url != "" {
		if out, err := c.run("volume", "backup", "record", "import", "gostack.storage.chunked", url); err == nil ||
			!strings.Contains(out, "Backup already exists in database.") {
			t.Errorf("import of b1's record while b1 exists: %v %s", err, out)
		}
	}
	a.restore("--force", "b1", "vb")
	status("vb", "available")
	a.readPattern(idB, 8<<20, 1<<20, 0x21)
	a.readPattern(idB, 16<<20, 1<<20, 0)
	if out, err := c.run("volume", "backup", "delete", "b1"); err == nil || !strings.Contains(out, "Incremental backups exist") {
		t.Errorf("b1 deleted while b2 builds on it: %v %s", err, out)
	}
	must("volume", "backup", "delete", "b2")
	waitFor(t, p, "b2 gone", func() error {
		if out, _ := c.run("volume", "backup", "list", "-f", "value", "-c", "Name"); strings.Contains(out, "b2") {
			return fmt.Errorf("backups: %s", out)
		}
		return nil
	})
	must("volume", "backup", "delete", "b1")
	waitFor(t, p, "the backups gone", func() error {
		out, _ := c.run("volume", "backup", "list", "-f", "value")
		if strings.TrimSpace(out) != "" {
			return fmt.Errorf("backups: %s", out)
		}
		return nil
	})
	if left, _ := os.ReadDir(filepath.Join(data, "volume", "backups")); len(left) != 0 {
		t.Errorf("backup files left: %v", left)
	}
	must("volume", "delete", "vb", "rb1", "rb2")

	// The RBD backend, beside the iSCSI one (volume_rbd_test.go).
	t.Run("rbd", func(t *testing.T) {
		defer a.as(t)()
		rbdSubtest(t, a, ceph)
	})

	// tgtd killed: the agent starts it again and exports v1 with the same
	// target name and account.
	asJSON(&v, "volume", "create", "--size", "1", "v2")
	status("v2", "available")
	id2 := v["id"].(string)
	account := target(id).Accounts[0]
	pid, _ := ex.PID()
	killTgtd(tgtDir)
	start = time.Now()
	waitFor(t, p, "another tgtd", func() error {
		if now, ok := ex.PID(); !ok || now == pid {
			return errors.New("the same tgtd, or none yet")
		}
		return nil
	})
	waitFor(t, p, "both volumes exported again", func() error {
		ts, err := ex.Targets(context.Background())
		if err != nil {
			return err
		}
		if len(ts) != 2 {
			return fmt.Errorf("targets %v", ts)
		}
		return nil
	})
	t.Logf("tgtd killed: both volumes exported again after %s", time.Since(start).Round(time.Millisecond))
	if tg := target(id); tg == nil || len(tg.Accounts) != 1 || tg.Accounts[0] != account || len(tg.LUNs) != 2 || tg.LUNs[1].BackingPath != file {
		t.Fatalf("v1's target after tgtd's restart: %+v (account was %s)", tg, account)
	}

	// Delete: the target and the file go.
	must("volume", "delete", "v1", "v2")
	waitFor(t, p, "the volumes gone", func() error {
		out, _ := c.run("volume", "list", "-f", "value")
		if strings.TrimSpace(out) != "" {
			return fmt.Errorf("volumes: %s", out)
		}
		return nil
	})
	if target(id) != nil || target(id2) != nil {
		t.Errorf("targets left after the deletes")
	}
	for _, f := range []string{file, filepath.Join(data, "volume", "files", "volume-"+id2)} {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("%s after its volume's delete: %v", f, err)
		}
	}
}

// volumeAIO is an all-in-one with only its identity, image, DNS,
// network and compute APIs and the block-storage area with its
// in-process backend, in a network namespace of its own, with a tgtd of
// the test's own (control port and portal); it can be killed and
// started again on the same data.
type volumeAIO struct {
	t                *testing.T
	ns, data, tgtDir string
	control          int
	portal           string
	ex               *iscsi.Exporter
	p                *proc
	cli              *cli
	exited           bool
	// extra are more gostack flags (startRBD's).
	extra []string
}

// as makes t the test a's helpers fail (a subtest's), until restore.
func (a *volumeAIO) as(t *testing.T) (restore func()) {
	parent := a.t
	a.t, a.cli.t = t, t
	return func() { a.t, a.cli.t = parent, parent }
}

func newVolumeAIO(t *testing.T) *volumeAIO {
	if os.Geteuid() != 0 {
		t.Skip("needs root: a network namespace and tgtd")
	}
	for _, b := range []string{"tgtd", "tgtadm", "openstack", "curl"} {
		if _, err := exec.LookPath(b); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s not found: make test installs it", b)
			}
			t.Skipf("%s not found", b)
		}
	}
	sfx := os.Getpid() % 10000
	a := &volumeAIO{t: t, ns: "gsvol" + strconv.Itoa(sfx), data: t.TempDir(), control: 20000 + sfx,
		portal: "127.0.0.1:" + strconv.Itoa(33260+sfx%1000)}
	if strings.Contains(t.Name(), "Crash") { // its own tgtd and namespace, should both tests run at once
		a.ns, a.control, a.portal = a.ns+"c", a.control+1, "127.0.0.1:"+strconv.Itoa(34260+sfx%1000)
	}
	a.tgtDir = filepath.Join(a.data, "volume", "tgt")
	a.ex = &iscsi.Exporter{Dir: a.tgtDir, ControlPort: a.control, Portal: netip.MustParseAddrPort(a.portal)}
	sh(t, "ip", "netns", "add", a.ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", a.ns).Run() })
	sh(t, "ip", "netns", "exec", a.ns, "ip", "link", "set", "lo", "up")
	// gostack first, then the tgtd it started (it outlives gostack, as
	// in production): Stop also removes its socket.
	t.Cleanup(func() {
		if a.p != nil && !a.exited {
			a.p.cmd.Process.Kill()
			<-a.p.done
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := a.ex.Stop(ctx); err != nil && !errors.Is(err, iscsi.ErrNotRunning) {
			t.Errorf("stop tgtd: %v", err)
			killTgtd(a.tgtDir)
		}
	})
	return a
}

// start runs gostack on the data with crash point point armed ("" for
// none) and waits until the backend has reported (its zone available).
func (a *volumeAIO) start(point string) {
	t := a.t
	t.Helper()
	p := a.launch(point)
	waitFor(t, p, "healthy", func() error {
		out, err := exec.Command("ip", "netns", "exec", a.ns, "curl", "-sf", "http://127.0.0.1:8790/healthcheck").CombinedOutput()
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	})
	a.cli = &cli{t: t, ns: a.ns, env: openrcEnv(t, a.data), logs: func() string { return p.logs.String() }}
	// The backend's first capacity report makes its zone available, and
	// the backend a place for volumes.
	waitFor(t, p, "the backend up", func() error {
		out, err := a.cli.run("availability", "zone", "list", "--volume", "-f", "value")
		if err != nil || !strings.Contains(out, "nova available") {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	})
}

// launch runs gostack on the data with crash point point armed ("" for
// none) and returns at once: for a crash point that work resumed at
// start reaches by itself, maybe before the daemon has answered (crashed
// then waits for it).
func (a *volumeAIO) launch(point string) *proc {
	t := a.t
	t.Helper()
	cmd := exec.Command("nsenter", "--net=/run/netns/"+a.ns, os.Args[0], "-data-dir", a.data, "-set", "identity.password_hash_rounds=4",
		"-set", "network.agent.enabled=false", "-set", "compute.agent.enabled=false",
		"-set", "volume.agent.host=aio@iscsi#iscsi", "-set", "volume.agent.control_port="+strconv.Itoa(a.control),
		"-set", "volume.agent.portal="+a.portal)
	cmd.Args = append(cmd.Args, a.extra...)
	cmd.Env = append(os.Environ(), "BE_GOSTACK_MAIN=1", crashpoint.Env+"="+point)
	a.p, a.exited = startProc(t, cmd), false
	return a.p
}

// crashed waits for gostack to kill itself at its armed crash point.
func (a *volumeAIO) crashed(point string) {
	a.t.Helper()
	select {
	case err := <-a.p.done:
		a.exited = true
		if err == nil || !strings.Contains(err.Error(), "killed") {
			a.t.Fatalf("gostack ended with %v, want killed at %s\n%s", err, point, a.p.logs)
		}
	case <-time.After(time.Minute):
		a.t.Fatalf("%s never hit\n%s", point, a.p.logs)
	}
}

// target is tgtd's target of volume id, nil for none.
func (a *volumeAIO) target(id string) *iscsi.Target {
	a.t.Helper()
	ts, err := a.ex.Targets(context.Background())
	if err != nil {
		a.t.Fatalf("tgtd's targets: %v\n%s", err, a.p.logs)
	}
	for i := range ts {
		if ts[i].IQN == a.ex.IQN(id) {
			return &ts[i]
		}
	}
	return nil
}

// status waits for volume name to have status want, and returns it.
func (a *volumeAIO) status(name, want string) map[string]any {
	a.t.Helper()
	var v map[string]any
	waitFor(a.t, a.p, name+" "+want, func() error {
		a.cli.json(&v, "volume", "show", name)
		if v["status"] != want {
			return fmt.Errorf("status %v", v["status"])
		}
		return nil
	})
	return v
}

// The volume agent killed (the whole daemon, SIGKILL) after each of
// its steps' work and before the report: after a create made and
// exported the volume, after an extend grew it, after a revert to a
// snapshot wrote the snapshot's data over it, after a delete removed
// it. Started again, it converges: the volume available with one
// target and its file, extended, reverted, or gone with its target and
// file; nothing left creating, extending, reverting or deleting.
func TestAllInOneVolumeCrash(t *testing.T) {
	a := newVolumeAIO(t)
	a.start("volume.agent.created")
	var v map[string]any
	a.cli.json(&v, "volume", "create", "--size", "1", "vc")
	id := v["id"].(string)
	a.crashed("volume.agent.created")
	file := filepath.Join(a.data, "volume", "files", "volume-"+id)
	if _, err := os.Stat(file); err != nil {
		t.Fatalf("killed after the create: no file: %v", err)
	}
	a.start("volume.agent.extended")
	v = a.status("vc", "available")
	if tg := a.target(id); tg == nil || len(tg.LUNs) != 2 || tg.LUNs[1].BackingPath != file || len(tg.Accounts) != 1 {
		t.Fatalf("the volume's target after the restart: %+v", tg)
	}
	a.cli.must("volume", "set", "--size", "2", "vc")
	a.crashed("volume.agent.extended")
	a.start("volume.agent.reverted")
	v = a.status("vc", "available")
	if v["size"] != float64(2) {
		t.Fatalf("after the extend's restart: %v", v)
	}
	if fi, err := os.Stat(file); err != nil || fi.Size() != 2<<30 {
		t.Fatalf("the extended file: %v %v", fi, err)
	}
	// A revert to the volume's latest snapshot (cinderclient's
	// revert-to-snapshot, 3.40), killed after the revert: reverted again
	// at the restart, the snapshot's data read through the export.
	fillFile(t, file, 0, 1<<20, 0xaa)
	a.cli.must("volume", "snapshot", "create", "--volume", "vc", "vs")
	a.snapshotStatus("vs", "available")
	fillFile(t, file, 0, 1<<20, 0x55)
	if out, err := a.cli.runTool("cinder", "--os-volume-api-version", "3.40", "revert-to-snapshot", "vs"); err != nil {
		t.Fatalf("cinder revert-to-snapshot: %v\n%s", err, out)
	}
	a.crashed("volume.agent.reverted")
	a.start("volume.agent.deleted")
	a.status("vc", "available")
	a.snapshotStatus("vs", "available")
	a.readPattern(id, 0, 1<<20, 0xaa)
	a.cli.must("volume", "snapshot", "delete", "vs")
	waitFor(t, a.p, "the snapshot gone", func() error {
		out, _ := a.cli.run("volume", "snapshot", "list", "-f", "value")
		if strings.TrimSpace(out) != "" {
			return fmt.Errorf("snapshots: %s", out)
		}
		return nil
	})
	a.cli.must("volume", "delete", "vc")
	a.crashed("volume.agent.deleted")
	a.start("")
	waitFor(t, a.p, "the volume gone", func() error {
		out, _ := a.cli.run("volume", "list", "-f", "value")
		if strings.TrimSpace(out) != "" {
			return fmt.Errorf("volumes: %s", out)
		}
		return nil
	})
	if a.target(id) != nil {
		t.Errorf("a target left after the delete")
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("the file after the delete: %v", err)
	}
	left, _ := filepath.Glob(filepath.Join(a.data, "volume", "files", "*"))
	if len(left) != 0 {
		t.Errorf("files left: %v", left)
	}
}

// snapshotStatus waits for snapshot name to have status want, and
// returns it.
func (a *volumeAIO) snapshotStatus(name, want string) map[string]any {
	a.t.Helper()
	var v map[string]any
	waitFor(a.t, a.p, "snapshot "+name+" "+want, func() error {
		a.cli.json(&v, "volume", "snapshot", "show", name)
		if v["status"] != want {
			return fmt.Errorf("status %v", v["status"])
		}
		return nil
	})
	return v
}

// restore runs openstack volume backup restore with args. The restore
// is taken (202) and done; python3-openstackclient 6.0 then fails to
// print Cinder's answer ("cannot unpack non-iterable
// VolumeBackupsRestore object": its take_action returns the object, not
// columns and data), which is the only failure let through.
func (a *volumeAIO) restore(args ...string) {
	a.t.Helper()
	out, err := a.cli.run(append([]string{"volume", "backup", "restore"}, args...)...)
	if err != nil && !strings.Contains(out, "cannot unpack non-iterable VolumeBackupsRestore object") {
		a.t.Fatalf("openstack volume backup restore %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// backupStatus waits for backup name to have status want, and returns
// it.
func (a *volumeAIO) backupStatus(name, want string) map[string]any {
	a.t.Helper()
	var v map[string]any
	waitFor(a.t, a.p, "backup "+name+" "+want, func() error {
		a.cli.json(&v, "volume", "backup", "show", name)
		if v["status"] != want {
			return fmt.Errorf("status %v", v["status"])
		}
		return nil
	})
	return v
}

// readPattern reads n bytes at off of volume id through its iSCSI
// export (QEMU's initiator, with the export's CHAP account, in the
// daemon's namespace) and fails unless each is b. The export is read
// from the volume agents' internal API, as the admin.
func (a *volumeAIO) readPattern(id string, off, n int64, b byte) {
	a.t.Helper()
	tok := strings.TrimSpace(a.cli.must("token", "issue", "-f", "value", "-c", "id"))
	out, err := exec.Command("ip", "netns", "exec", a.ns, "curl", "-sf", "-H", "X-Auth-Token: "+tok,
		"http://127.0.0.1:8776/internal/volume/hosts/aio@iscsi%23iscsi").Output()
	if err != nil {
		a.t.Fatalf("the backend's state: %v", err)
	}
	var st storage.BackendState
	if err := json.Unmarshal(out, &st); err != nil {
		a.t.Fatal(err)
	}
	var url string
	for _, v := range st.Volumes {
		if v.ID == id {
			x, err := storage.ParseISCSIExport(v.ProviderLocation, v.ProviderAuth)
			if err != nil {
				a.t.Fatalf("volume %s's export: %v", id, err)
			}
			url = fmt.Sprintf("iscsi://%s%%%s@%s/%s/%d", x.AuthUsername, x.AuthPassword, x.Portals[0], x.IQN, x.LUN)
		}
	}
	if url == "" {
		a.t.Fatalf("volume %s is not on the backend", id)
	}
	out, err = exec.Command("ip", "netns", "exec", a.ns, "qemu-io", "-f", "raw", "-r",
		"-c", fmt.Sprintf("read -P 0x%02x %d %d", b, off, n), url).CombinedOutput()
	if err != nil || !strings.Contains(string(out), fmt.Sprintf("read %d/%d bytes", n, n)) || strings.Contains(string(out), "failed") {
		a.t.Fatalf("volume %s at %d through iSCSI, want %d bytes of 0x%02x: %v\n%s", id, off, n, b, err, out)
	}
}

// fillFile writes n bytes b at off of the file at path (made when
// missing).
func fillFile(t *testing.T, path string, off, n int64, b byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, n)
	for i := range buf {
		buf[i] = b
	}
	if _, err := f.WriteAt(buf, off); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
}

// killTgtd ends the tgtd whose pid file is in dir with SIGKILL (tgtd
// ignores SIGTERM).
func killTgtd(dir string) {
	b, err := os.ReadFile(filepath.Join(dir, "tgtd.pid"))
	if err != nil {
		return
	}
	if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}
