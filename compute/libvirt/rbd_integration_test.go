//go:build cgo

package libvirt

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"libvirt.org/go/libvirt"

	"github.com/gostack/gostack/compute/virt"
	"github.com/gostack/gostack/compute/virt/virttest"
	"github.com/gostack/gostack/internal/cephtest"
	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/network/ovs/ovstest"
)

// libvirtCeph is the Ceph the system libvirtd's guests reach, one for
// the test binary: started in the daemons' network namespace when this
// binary started libvirtd there (its QEMUs' loopback is that
// namespace's), else the binary's shared one (cephtest.Shared).
var libvirtCeph struct {
	once sync.Once
	c    *cephtest.Cluster
	err  error
}

// rbdSetup is that Ceph as the driver sees it: volumes made on it, the
// keyring of its user under a secret uuid, and a second uuid whose
// keyring holds a key the cluster does not know.
type rbdSetup struct {
	c                *cephtest.Cluster
	rbd              virttest.RBD
	secrets          virt.RBDSecrets
	wrongUUID, wrong string
}

// rbdCluster is the test's Ceph; call systemLibvirt (qemuDriver) first.
func rbdCluster(t *testing.T) rbdSetup {
	t.Helper()
	if mods, _ := filepath.Glob("/usr/lib/*/qemu/block-rbd.so"); len(mods) == 0 {
		testenv.Missing(t, "QEMU's rbd block driver (block-rbd.so)", "qemu-block-extra")
	}
	var c *cephtest.Cluster
	run := func(ctx context.Context, args ...string) ([]byte, error) { return c.RBD(ctx, args...) }
	if daemons.dir == "" {
		c = cephtest.Shared(t)
	} else {
		if err := cephtest.Available(); err != nil {
			testenv.Missing(t, err.Error(), cephtest.Packages)
		}
		libvirtCeph.once.Do(func() {
			libvirtCeph.err = ovstest.In(daemons.ns, func() (err error) {
				libvirtCeph.c, err = cephtest.Start(cephtest.Options{})
				return err
			})
			if libvirtCeph.err == nil {
				testenv.OnExit(func() { libvirtCeph.c.Stop() })
			}
		})
		if libvirtCeph.err != nil {
			t.Fatalf("ceph in %s: %v", daemons.nsName, libvirtCeph.err)
		}
		c = libvirtCeph.c
		run = func(ctx context.Context, args ...string) (out []byte, err error) {
			err = ovstest.In(daemons.ns, func() (err error) {
				out, err = c.RBD(ctx, args...)
				return err
			})
			return out, err
		}
	}
	s := rbdSetup{c: c, wrongUUID: uuid.NewString(), wrong: "AQBc2HNlAAAAABAAx0dk3t3z5jJvW3+0Ekx1wg=="}
	s.rbd = virttest.RBD{Pool: c.Pool, Hosts: c.MonHosts, Ports: c.MonPorts, User: c.User, SecretUUID: uuid.NewString(), Run: run}
	wrong := filepath.Join(t.TempDir(), "wrong.keyring")
	if err := os.WriteFile(wrong, []byte("[client."+c.User+"]\n\tkey = "+s.wrong+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s.secrets = virt.RBDSecrets{s.rbd.SecretUUID: c.Keyring, s.wrongUUID: wrong}
	return s
}

// cephSecrets undefines, when the test ends, the ceph secrets of the
// uuids given: the host's, which the driver never undefines.
func cephSecrets(t *testing.T, d *Driver, uuids ...string) {
	t.Cleanup(func() {
		c, done, err := d.connect()
		if err != nil {
			t.Error(err)
			return
		}
		defer done()
		for _, u := range uuids {
			if s, err := c.LookupSecretByUUIDString(u); err == nil {
				if err := s.Undefine(); err != nil {
					t.Errorf("undefine ceph secret %s: %v", u, err)
				}
				s.Free()
			}
		}
	})
}

// cephSecretUsage is the usage type and name of the ceph secret uuid,
// "" if libvirt has none.
func cephSecretUsage(t *testing.T, d *Driver, id string) (libvirt.SecretUsageType, string) {
	t.Helper()
	c, done, err := d.connect()
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	s, err := c.LookupSecretByUUIDString(id)
	if isCode(err, libvirt.ERR_NO_SECRET) {
		return 0, ""
	}
	if err != nil {
		t.Fatal(err)
	}
	defer s.Free()
	typ, err := s.GetUsageType()
	if err != nil {
		t.Fatal(err)
	}
	name, err := s.GetUsageID()
	if err != nil {
		t.Fatal(err)
	}
	return typ, name
}

// TestRBDHotplugNoOS: rbd volumes of a running guest with no operating
// system (SeaBIOS on an empty disk), on the test's Ceph: an attach puts
// the disk in the running guest and its definition — <source
// protocol='rbd'> with the monitors and the ceph.conf, <auth> naming the
// host's ceph secret by uuid, which the driver defined (usage ceph)
// with the keyring's key — once; a key the cluster refuses fails the
// attach within the ceph.conf's mount timeout and leaves the guest as it
// was; a uuid with no keyring uses the secret the host has (as an
// operator defines it for Nova), and one the host lacks too is
// ErrNoKey; a restart connects to the volumes again; an image grown on
// the cluster reaches the guest and a smaller size is refused; a detach
// while off removes the disk and leaves the host's secret; no key is in
// the domain, libvirt's logs or QEMU's command line.
func TestRBDHotplugNoOS(t *testing.T) {
	dir := guestDirForQEMU(t)
	conf := filepath.Join(dir, "ceph.conf")
	if err := os.WriteFile(conf, []byte("[global]\nclient mount timeout = 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var s rbdSetup
	d := qemuDriver(t, dir, func(c *Config) { c.RBDConf = conf })
	s = rbdCluster(t)
	d.cfg.RBDSecrets = s.secrets
	operators := uuid.NewString() // a secret the host has, no keyring
	cephSecrets(t, d, s.rbd.SecretUUID, s.wrongUUID, operators)
	ctx := context.Background()
	disk := filepath.Join(dir, "empty.raw")
	if err := os.WriteFile(disk, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	id := uuid.NewString()
	leaveNothing(t, d, id)
	do(t, "spawn", func() error {
		return d.Spawn(ctx, virt.Guest{ID: id, VCPUs: 1, MemoryMB: 64, Disk: virt.Disk{Path: disk, Format: "raw"}})
	})
	a, b := s.rbd.Disk(t, []byte("a"), 1<<20), s.rbd.Disk(t, []byte("b"), 2<<20)
	both := func(v virt.Disk, want bool) {
		t.Helper()
		if live, defined := hasVolume(t, d, id, v.Serial, true), hasVolume(t, d, id, v.Serial, false); live != want || defined != want {
			t.Fatalf("volume %s: running %v, defined %v; want %v", v.Serial, live, defined, want)
		}
	}

	start := time.Now()
	do(t, "attach", func() error { return d.AttachVolume(ctx, id, a) })
	t.Logf("attach of an rbd volume to a running guest: %v", time.Since(start).Round(time.Millisecond))
	both(a, true)
	defined := domainXMLOf(t, d, id, false)
	for _, want := range []string{
		"<disk type='network' device='disk'>", "<driver name='qemu' type='raw' cache='none' discard='unmap'/>",
		"<source protocol='rbd' name='" + a.Connection["name"] + "'>", "<host name='" + s.c.MonHosts[0] + "' port='" + s.c.MonPorts[0] + "'/>",
		"<config file='" + conf + "'/>", "<auth username='" + s.c.User + "'>", "<secret type='ceph' uuid='" + s.rbd.SecretUUID + "'/>",
		"<serial>" + a.Serial + "</serial>",
	} {
		if !strings.Contains(defined, want) {
			t.Errorf("the definition lacks %q:\n%s", want, defined)
		}
	}
	if typ, name := cephSecretUsage(t, d, s.rbd.SecretUUID); typ != libvirt.SECRET_USAGE_TYPE_CEPH || name != "client."+s.c.User+" secret "+s.rbd.SecretUUID {
		t.Errorf("the ceph secret: usage %v %q", typ, name)
	}
	live := domainXMLOf(t, d, id, true)
	do(t, "attach again", func() error { return d.AttachVolume(ctx, id, a) })
	if again := domainXMLOf(t, d, id, true); strings.Count(again, "<disk ") != strings.Count(live, "<disk ") {
		t.Fatalf("a second attach changed the running guest:\n%s", again)
	}

	// A key the cluster does not know.
	before := domainXMLOf(t, d, id, false)
	start = time.Now()
	wrong := b
	wrong.Connection = maps.Clone(b.Connection)
	wrong.Connection["secret_uuid"] = s.wrongUUID
	err := d.AttachVolume(ctx, id, wrong)
	t.Logf("attach with a key the cluster does not know: %v (after %v)", err, time.Since(start).Round(time.Millisecond))
	if err == nil {
		t.Fatal("an attach with a key the cluster does not know succeeded")
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("the refused attach took %v: the ceph.conf's mount timeout is 3 s", took)
	}
	both(b, false)
	if after := domainXMLOf(t, d, id, false); after != before {
		t.Fatalf("a refused attach changed the definition:\n%s", after)
	}
	// No keyring, no secret: refused; no keyring, the operators' secret:
	// used.
	other := b
	other.Connection = maps.Clone(b.Connection)
	other.Connection["secret_uuid"] = operators
	if err := d.AttachVolume(ctx, id, other); !errors.Is(err, virt.ErrNoKey) {
		t.Fatalf("attach with a secret uuid the host has no key of: %v, want ErrNoKey", err)
	}
	defineOperatorsSecret(t, d, operators, s.c.User, s.c.Key)
	do(t, "attach with the operators' secret", func() error { return d.AttachVolume(ctx, id, other) })
	both(b, true)

	do(t, "power off", func() error { return d.PowerOff(ctx, id, false) })
	start = time.Now()
	do(t, "power on", func() error { return d.PowerOn(ctx, id) })
	t.Logf("power on with 2 rbd volumes: %v", time.Since(start).Round(time.Millisecond))
	both(a, true)
	both(b, true)

	// Extended: grown on the cluster, then the guest told; a smaller
	// size is refused and the image keeps its size.
	if out, err := s.rbd.Run(ctx, "resize", "--size", "4", b.Connection["name"]); err != nil {
		t.Fatalf("rbd resize: %v: %s", err, out)
	}
	do(t, "resize", func() error { return d.ResizeVolume(ctx, id, b.Serial, 4<<20) })
	if err := d.ResizeVolume(ctx, id, b.Serial, 1<<20); err == nil || !strings.Contains(err.Error(), "only grows") {
		t.Fatalf("a resize to less: %v", err)
	}
	if out, err := s.rbd.Run(ctx, "info", "--format", "json", b.Connection["name"]); err != nil || !bytes.Contains(out, []byte(`"size":4194304`)) {
		t.Fatalf("rbd info after a refused shrink: %v: %s", err, out)
	}
	noPassword(t, d, id, s.c.Key, s.wrong)

	do(t, "power off", func() error { return d.PowerOff(ctx, id, false) })
	do(t, "detach while off", func() error { return d.DetachVolume(ctx, id, a.Serial) })
	if hasVolume(t, d, id, a.Serial, false) {
		t.Fatal("the definition keeps a volume detached")
	}
	if typ, _ := cephSecretUsage(t, d, s.rbd.SecretUUID); typ != libvirt.SECRET_USAGE_TYPE_CEPH {
		t.Fatal("a detach undefined the host's ceph secret")
	}
}

// defineOperatorsSecret defines a ceph secret as an operator does for
// Nova (virsh secret-define, secret-set-value): uuid, usage ceph, the
// key's bytes.
func defineOperatorsSecret(t *testing.T, d *Driver, id, user, key string) {
	t.Helper()
	c, done, err := d.connect()
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	s, err := c.SecretDefineXML("<secret ephemeral='no' private='yes'><uuid>"+id+"</uuid><usage type='ceph'><name>client."+user+
		" operators "+id+"</name></usage></secret>", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Free()
	b, err := base64.StdEncoding.DecodeString(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetValue(b, 0); err != nil {
		t.Fatal(err)
	}
}

// TestRBDGuest: the drivers' volume steps (virttest.Volumes) on
// libvirt with rbd volumes on the test's Ceph (TestRBDHotplugNoOS has
// the refused attaches): the tiny guest sees a hot-plugged volume of the
// right size holding the bytes written before, sees it go at detach and
// come back at a second attach; a volume attached while off is read at
// the next boot; a guest boots from a volume holding the image.
func TestRBDGuest(t *testing.T) {
	testenv.LookPath(t, "genisoimage", "genisoimage")
	dir := guestDirForQEMU(t)
	d := qemuDriver(t, dir)
	s := rbdCluster(t)
	d.cfg.RBDSecrets = s.secrets
	cephSecrets(t, d, s.rbd.SecretUUID)
	virttest.Volumes(t, d, dir, virttest.VolumeHooks{
		Volume: func(t *testing.T) (virt.Disk, []byte, int64) {
			data := []byte(uuid.NewString())
			return s.rbd.Disk(t, data, 3<<20), data, 3 << 20
		},
		BootVolume: func(t *testing.T, image string) virt.Disk { return s.rbd.ImageDisk(t, image) },
		Detached: func(t *testing.T, id string, v virt.Disk) {
			if hasVolume(t, d, id, v.Serial, true) || hasVolume(t, d, id, v.Serial, false) {
				t.Errorf("volume %s is still in the guest after detach", v.Serial)
			}
		},
	})
}
