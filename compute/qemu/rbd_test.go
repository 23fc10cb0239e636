package qemu

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gostack/gostack/compute/virt"
	"github.com/gostack/gostack/compute/virt/virttest"
	"github.com/gostack/gostack/internal/cephtest"
	"github.com/gostack/gostack/internal/testenv"
)

// rbdSetup is the test binary's Ceph (one for all its tests) as the
// drivers see it: volumes made on it (virttest.RBD), the keyring of its
// user under a secret uuid, and a second uuid whose keyring holds a key
// the cluster does not know.
type rbdSetup struct {
	c                *cephtest.Cluster
	rbd              virttest.RBD
	secrets          virt.RBDSecrets
	wrongUUID, wrong string // the uuid of the unknown key, and the key
}

func rbdCluster(t *testing.T) rbdSetup {
	t.Helper()
	if mods, _ := filepath.Glob("/usr/lib/*/qemu/block-rbd.so"); len(mods) == 0 {
		testenv.Missing(t, "QEMU's rbd block driver (block-rbd.so)", "qemu-block-extra")
	}
	c := cephtest.Shared(t)
	s := rbdSetup{c: c, wrongUUID: uuid.NewString(), wrong: "AQBc2HNlAAAAABAAx0dk3t3z5jJvW3+0Ekx1wg=="}
	s.rbd = virttest.RBD{Pool: c.Pool, Hosts: c.MonHosts, Ports: c.MonPorts, User: c.User, SecretUUID: uuid.NewString(),
		Run: c.RBD}
	wrong := filepath.Join(t.TempDir(), "wrong.keyring")
	if err := os.WriteFile(wrong, []byte("[client."+c.User+"]\n\tkey = "+s.wrong+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s.secrets = virt.RBDSecrets{s.rbd.SecretUUID: c.Keyring, s.wrongUUID: wrong}
	return s
}

// refused is v with the secret uuid of the key the cluster does not
// know.
func (s rbdSetup) refused(v virt.Disk) virt.Disk {
	v.Connection = maps.Clone(v.Connection)
	v.Connection["secret_uuid"] = s.wrongUUID
	return v
}

// TestRBDHotplug: rbd volumes of a running guest, on the test's Ceph,
// under a QEMU whose guest (SeaBIOS, no OS) never acts on a hot-plug: a
// volume's disk is added at once with its block node (QEMU's rbd
// driver) and secret object, once, its key in its secret file only; a
// key the cluster refuses and an image it does not have fail the attach
// within the ceph.conf's client mount timeout and leave the guest as it
// was; a volume without a key on the host is refused before anything
// is written; the disks are there again after a restart (the command
// line, a key kept that the keyring no longer has written again from
// it) and a suspend and resume; an image grown on the cluster reaches
// QEMU (ResizeVolume), a smaller size is refused and the image keeps
// its size; a detach while off removes the
// volume and its secret file; no key is in a log, guest.json or QEMU's
// command line.
func TestRBDHotplug(t *testing.T) {
	s := rbdCluster(t)
	conf := filepath.Join(t.TempDir(), "ceph.conf")
	if err := os.WriteFile(conf, []byte("[global]\nclient mount timeout = 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &recorder{}
	d := newDriver(t, "", r.config(t), func(c *Config) { c.RBDSecrets, c.RBDConf = s.secrets, conf })
	g := tinyGuest()
	spawn(t, d, g)
	waitRunning(t, d, g.ID)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	f := guestFiles(d.cfg.StateDir, g.ID)
	a, b := s.rbd.Disk(t, []byte("gostack-a"), 1<<20), s.rbd.Disk(t, []byte("gostack-b"), 2<<20)

	start := time.Now()
	if err := d.AttachVolume(ctx, g.ID, a); err != nil {
		t.Fatal(err)
	}
	t.Logf("hot-plug of an rbd volume: %v", time.Since(start))
	if err := d.AttachVolume(ctx, g.ID, a); err != nil {
		t.Fatalf("attach again: %v", err)
	}
	want := map[string]int{volumeDeviceID(a.Serial): 2}
	wantNodes := func(blockNodes, objects []string) {
		t.Helper()
		gotNodes, gotObjects := nodes(t, d, g.ID)
		gotObjects = slices.DeleteFunc(gotObjects, func(o string) bool { return !strings.HasSuffix(o, "-secret") })
		if !slices.Equal(gotNodes, blockNodes) || !slices.Equal(gotObjects, objects) {
			t.Fatalf("block nodes %v and secrets %v, want %v and %v", gotNodes, gotObjects, blockNodes, objects)
		}
	}
	if got := layout(t, d, g.ID); !maps.Equal(got, want) {
		t.Fatalf("PCI devices %v, want %v", got, want)
	}
	wantNodes([]string{"vol2"}, []string{"vol2-secret"})
	fi, err := os.Stat(f.secret("vol2"))
	if err != nil {
		t.Fatal(err)
	}
	if key, _ := os.ReadFile(f.secret("vol2")); string(key) != s.c.Key || fi.Mode().Perm() != 0o600 {
		t.Fatalf("vol2.secret: the key %v, mode %v", string(key) == s.c.Key, fi.Mode())
	}
	// librbd opened the image: QEMU has its size.
	if got := nodeSize(t, d, g.ID, "vol2"); got != 1<<20 {
		t.Fatalf("QEMU's node of the volume is %d bytes, want %d", got, 1<<20)
	}

	// Refused by the cluster: a key it does not know, an image it does
	// not have. Nothing of either attach is left.
	before, _ := os.ReadFile(f.guest)
	missing := s.rbd.Disk(t, nil, 1<<20)
	missing.Connection["name"] = s.c.Pool + "/volume-" + uuid.NewString()
	for name, v := range map[string]virt.Disk{"an unknown key": s.refused(b), "no such image": missing} {
		start := time.Now()
		err := d.AttachVolume(ctx, g.ID, v)
		t.Logf("attach with %s: %v (after %v)", name, err, time.Since(start).Round(time.Millisecond))
		if err == nil {
			t.Fatalf("attach with %s succeeded", name)
		}
		if took := time.Since(start); took > 20*time.Second {
			t.Errorf("attach with %s took %v: the ceph.conf's mount timeout is 3 s", name, took)
		}
		if after, _ := os.ReadFile(f.guest); !bytes.Equal(after, before) || exists(f.secret("vol3")) {
			t.Fatalf("a refused attach changed the guest: secret file %v, guest.json\n%s", exists(f.secret("vol3")), after)
		}
		if got := layout(t, d, g.ID); !maps.Equal(got, want) {
			t.Fatalf("PCI devices %v after a refused attach, want %v", got, want)
		}
		wantNodes([]string{"vol2"}, []string{"vol2-secret"})
	}
	// No key on the host: refused before anything is written.
	nokey := maps.Clone(b.Connection)
	nokey["secret_uuid"] = uuid.NewString()
	if err := d.AttachVolume(ctx, g.ID, virt.Disk{Protocol: "rbd", Connection: nokey, Serial: b.Serial}); !errors.Is(err, virt.ErrNoKey) {
		t.Fatalf("attach without a key on the host: %v, want ErrNoKey", err)
	}
	if after, _ := os.ReadFile(f.guest); !bytes.Equal(after, before) {
		t.Fatalf("an attach without a key changed guest.json:\n%s", after)
	}

	if err := d.AttachVolume(ctx, g.ID, b); err != nil {
		t.Fatalf("attach after refused ones: %v", err)
	}
	want[volumeDeviceID(b.Serial)] = 3
	wantNodes([]string{"vol2", "vol3"}, []string{"vol2-secret", "vol3-secret"})

	// A restart connects again from guest.json and the secret files,
	// a key kept that is no longer the keyring's (rotated) written again
	// from the keyring first.
	if err := d.PowerOff(ctx, g.ID, false); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.secret("vol3"), []byte(s.wrong), 0o600); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	if err := d.PowerOn(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	t.Logf("power on with 2 rbd volumes: %v", time.Since(start))
	if got := layout(t, d, g.ID); !maps.Equal(got, want) {
		t.Fatalf("PCI devices %v after a restart, want %v", got, want)
	}
	if got := nodeSize(t, d, g.ID, "vol3"); got != 2<<20 {
		t.Fatalf("after a restart QEMU's node of the second volume is %d bytes, want %d", got, 2<<20)
	}
	if key, _ := os.ReadFile(f.secret("vol3")); string(key) != s.c.Key {
		t.Fatal("the start did not write the keyring's key again")
	}
	// Extended: the image grown on the cluster, then the guest told.
	// A smaller size is refused: QEMU would shrink the image.
	if out, err := s.c.RBD(ctx, "resize", "--size", "4", s.c.Pool+"/volume-"+b.Serial); err != nil {
		t.Fatalf("rbd resize: %v: %s", err, out)
	}
	if err := d.ResizeVolume(ctx, g.ID, b.Serial, 4<<20); err != nil {
		t.Fatal(err)
	}
	if got := nodeSize(t, d, g.ID, "vol3"); got != 4<<20 {
		t.Fatalf("after a resize QEMU's node of the volume is %d bytes, want %d", got, 4<<20)
	}
	if err := d.ResizeVolume(ctx, g.ID, b.Serial, 1<<20); err == nil || !strings.Contains(err.Error(), "only grows") {
		t.Fatalf("a resize to less: %v", err)
	}
	if out, err := s.c.RBD(ctx, "info", "--format", "json", s.c.Pool+"/volume-"+b.Serial); err != nil || !strings.Contains(string(out), `"size":4194304`) {
		t.Fatalf("rbd info after a refused shrink: %v: %s", err, out)
	}
	if err := d.Suspend(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	if err := d.Resume(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	wantNodes([]string{"vol2", "vol3"}, []string{"vol2-secret", "vol3-secret"})
	noPassword(t, d, r, g.ID, s.c.Key, s.wrong)

	// Off: a detach takes the volume and its key away.
	if err := d.PowerOff(ctx, g.ID, false); err != nil {
		t.Fatal(err)
	}
	if err := d.DetachVolume(ctx, g.ID, a.Serial); err != nil {
		t.Fatal(err)
	}
	if ids := volumeIDs(loaded(t, f)); !slices.Equal(ids, []string{b.Serial}) || exists(f.secret("vol2")) {
		t.Fatalf("after a detach while off: volumes %v, vol2.secret there: %v", ids, exists(f.secret("vol2")))
	}
}

// nodeSize is the size QEMU has of block node node's image, 0 if it
// has no such node.
func nodeSize(t *testing.T, d *Driver, id, node string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var n int64
	err := withMonitor(ctx, guestFiles(d.cfg.StateDir, id).qmp, func(m *monitor) (err error) {
		n, err = m.nodeSize(ctx, node)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRBDGuest: the drivers' volume steps (virttest.Volumes) with rbd
// volumes on the test's Ceph, reached through the driver's own
// ceph.conf (TestRBDHotplug has the refused attaches): the tiny guest
// sees a hot-plugged volume of the right size holding the bytes written
// before, sees it go at detach (QEMU keeps no block node, secret object
// or secret file of it) and come back at a second attach; a volume
// attached while off is read at the next boot; a guest boots from a
// volume holding the image.
func TestRBDGuest(t *testing.T) {
	testenv.LookPath(t, "genisoimage", "genisoimage")
	s := rbdCluster(t)
	d := newDriver(t, "", func(c *Config) { c.RBDSecrets = s.secrets })
	virttest.Volumes(t, d, t.TempDir(), virttest.VolumeHooks{
		Volume: func(t *testing.T) (virt.Disk, []byte, int64) {
			data := []byte(uuid.NewString())
			return s.rbd.Disk(t, data, 3<<20), data, 3 << 20
		},
		BootVolume: func(t *testing.T, image string) virt.Disk { return s.rbd.ImageDisk(t, image) },
		Detached: func(t *testing.T, id string, v virt.Disk) {
			blockNodes, objects := nodes(t, d, id)
			if slices.ContainsFunc(blockNodes, func(n string) bool { return strings.HasPrefix(n, "vol") }) ||
				slices.ContainsFunc(objects, func(o string) bool { return strings.HasPrefix(o, "vol") }) {
				t.Errorf("after detach QEMU has block nodes %v and objects %v", blockNodes, objects)
			}
			if left, _ := filepath.Glob(filepath.Join(guestFiles(d.cfg.StateDir, id).dir, "vol*.secret")); len(left) > 0 {
				t.Errorf("secret files after detach: %v", left)
			}
		},
	})
}

// TestRBDConfig: the driver writes its own ceph.conf (the client mount
// timeout) unless given one; the factory takes rbd_secrets and
// rbd_conf; a secret that is not a uuid is refused.
func TestRBDConfig(t *testing.T) {
	d := newDriver(t, "")
	b, err := os.ReadFile(filepath.Join(d.cfg.StateDir, "ceph.conf"))
	if err != nil || d.cfg.RBDConf != filepath.Join(d.cfg.StateDir, "ceph.conf") || !strings.Contains(string(b), "\nclient mount timeout = 10\n") {
		t.Fatalf("the driver's ceph.conf %s: %q, %v", d.cfg.RBDConf, b, err)
	}
	const id = "457eb676-33da-42ec-9a8c-9293d545c337"
	dir := t.TempDir()
	drv, err := Factory(context.Background(), map[string]string{"state_dir": dir, "accel": "tcg",
		"rbd_secrets": id + "=/etc/ceph/ceph.client.cinder.keyring", "rbd_conf": "/etc/ceph/ceph.conf"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg := drv.(*Driver).cfg; !maps.Equal(cfg.RBDSecrets, virt.RBDSecrets{id: "/etc/ceph/ceph.client.cinder.keyring"}) || cfg.RBDConf != "/etc/ceph/ceph.conf" {
		t.Fatalf("config %+v", cfg)
	}
	if exists(filepath.Join(dir, "ceph.conf")) {
		t.Fatal("a ceph.conf written beside the one given")
	}
	if _, err := Factory(context.Background(), map[string]string{"state_dir": dir, "rbd_secrets": "cinder=/etc/ceph/k"}); err == nil {
		t.Fatal("rbd_secrets without a uuid accepted")
	}
	if _, err := New(Config{StateDir: dir, RBDSecrets: virt.RBDSecrets{"cinder": "/etc/ceph/k"}}); err == nil {
		t.Fatal("Config.RBDSecrets without a uuid accepted")
	}
}
