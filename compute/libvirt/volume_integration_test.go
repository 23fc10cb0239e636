//go:build cgo

package libvirt

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"libvirt.org/go/libvirt"

	"github.com/gostack/gostack/compute/virt"
	"github.com/gostack/gostack/compute/virt/virttest"
	"github.com/gostack/gostack/network/ovs/ovstest"
)

// iscsiTarget is a private tgtd that the system libvirtd's guests
// reach: started in the daemons' network namespace when this binary
// started libvirtd there (its QEMUs' 127.0.0.1 is that namespace's),
// else in the test's own. Call systemLibvirt (qemuDriver) first.
func iscsiTarget(t *testing.T) *virttest.ISCSI {
	t.Helper()
	var within func(func() error) error
	if daemons.dir != "" {
		within = func(f func() error) error { return ovstest.In(daemons.ns, f) }
	}
	return virttest.StartISCSI(t, within)
}

// secretDefined says whether libvirt has guest id's secret of a volume.
func secretDefined(t *testing.T, d *Driver, id, volumeID string) bool {
	t.Helper()
	c, done, err := d.connect()
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	s, err := c.LookupSecretByUsage(libvirt.SECRET_USAGE_TYPE_ISCSI, secretUsage(id, volumeID))
	if isCode(err, libvirt.ERR_NO_SECRET) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	s.Free()
	return true
}

// guestSecrets are the usages of guest id's secrets libvirt has.
func guestSecrets(t *testing.T, d *Driver, id string) []string {
	t.Helper()
	c, done, err := d.connect()
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	secrets, err := c.ListAllSecrets(0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := range secrets {
		if usage, err := secrets[i].GetUsageID(); err == nil && strings.HasPrefix(usage, secretPrefix(id)) {
			out = append(out, usage)
		}
		secrets[i].Free()
	}
	return out
}

// hasVolume says whether a guest's running domain (live) or definition
// has the volume's disk.
func hasVolume(t *testing.T, d *Driver, id, volumeID string, live bool) bool {
	t.Helper()
	dom, err := parseDomain(domainXMLOf(t, d, id, live))
	if err != nil {
		t.Fatal(err)
	}
	return volumeDisk(dom, volumeID) != nil
}

// noPassword fails if a password is in the guest's domain (running and
// defined), libvirt's log of its QEMU, the log of the libvirtd this
// binary started, or its QEMU's command line (libvirt hands QEMU the
// secret encrypted with the domain's key).
func noPassword(t *testing.T, d *Driver, id string, passwords ...string) {
	t.Helper()
	where := map[string][]byte{
		"the definition":    []byte(domainXMLOf(t, d, id, false)),
		"the running guest": []byte(domainXMLOf(t, d, id, true)),
	}
	where["libvirt's QEMU log"], _ = os.ReadFile("/var/log/libvirt/qemu/" + domainName(id) + ".log")
	if daemons.dir != "" {
		where["libvirtd's log"], _ = os.ReadFile(filepath.Join(daemons.dir, "libvirtd.log"))
	}
	for _, pid := range qemuProcesses(domainName(id)) {
		where["QEMU's command line"], _ = os.ReadFile(filepath.Join("/proc", pid, "cmdline"))
	}
	for what, b := range where {
		for _, p := range passwords {
			if bytes.Contains(b, []byte(p)) {
				t.Errorf("a password is in %s", what)
			}
		}
	}
}

// TestVolumeStopped: a stopped guest's volumes are its definition's: an
// attach defines the volume's secret and adds the network disk (no
// password in it), a second is nothing, a detach removes both, a second
// is nothing; a guest whose root disk is a volume is defined with it
// (validated against libvirt's schema) and its secret, refuses to
// attach or detach that volume, and its destroy undefines the secret.
func TestVolumeStopped(t *testing.T) {
	dir := guestDirForQEMU(t)
	d := qemuDriver(t, dir)
	ctx := context.Background()
	disk := filepath.Join(dir, "empty.raw")
	if err := os.WriteFile(disk, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	id := uuid.NewString()
	leaveNothing(t, d, id)
	do(t, "spawn stopped", func() error {
		return d.Spawn(ctx, virt.Guest{ID: id, VCPUs: 1, MemoryMB: 64, Disk: virt.Disk{Path: disk, Format: "raw"}, Stopped: true})
	})
	v := testVolume(uuid.NewString())
	do(t, "attach", func() error { return virt.AttachVolume(ctx, d, id, v) })
	defined := domainXMLOf(t, d, id, false)
	for _, want := range []string{
		"<disk type='network' device='disk'>", "<driver name='qemu' type='raw' cache='none'/>",
		"<source protocol='iscsi' name='" + v.Connection["target_iqn"] + "/1'>", "<host name='192.0.2.10' port='3260'/>",
		"<auth username='" + v.Connection["auth_username"] + "'>", "<secret type='iscsi' usage='" + secretUsage(id, v.Serial) + "'/>",
		"<target dev='vdb' bus='virtio'/>", "<serial>" + v.Serial + "</serial>", "<iqn name='iqn.2008-11.org.linux-kvm:" + id + "'/>",
	} {
		if !strings.Contains(defined, want) {
			t.Errorf("the definition lacks %q:\n%s", want, defined)
		}
	}
	if strings.Contains(defined, testPassword) || !secretDefined(t, d, id, v.Serial) {
		t.Fatalf("the password is in the definition (%v), or no secret (defined: %v)", strings.Contains(defined, testPassword), secretDefined(t, d, id, v.Serial))
	}
	do(t, "attach again", func() error { return virt.AttachVolume(ctx, d, id, v) })
	if again := domainXMLOf(t, d, id, false); again != defined {
		t.Errorf("a second attach changed the definition:\n%s", again)
	}
	wantState(t, d, id, virt.PowerShutdown)
	do(t, "detach", func() error { return virt.DetachVolume(ctx, d, id, v.Serial) })
	if hasVolume(t, d, id, v.Serial, false) || secretDefined(t, d, id, v.Serial) {
		t.Errorf("after detach: disk %v, secret %v; want neither", hasVolume(t, d, id, v.Serial, false), secretDefined(t, d, id, v.Serial))
	}
	do(t, "detach again", func() error { return virt.DetachVolume(ctx, d, id, v.Serial) })

	// A guest that boots from a volume, defined only.
	root := testVolume(uuid.NewString())
	bfv := uuid.NewString()
	leaveNothing(t, d, bfv)
	do(t, "spawn stopped from a volume", func() error {
		return d.Spawn(ctx, virt.Guest{ID: bfv, VCPUs: 1, MemoryMB: 64, Disk: root, Stopped: true})
	})
	if !hasVolume(t, d, bfv, root.Serial, false) || !secretDefined(t, d, bfv, root.Serial) {
		t.Fatalf("a guest spawned from a volume: disk %v, secret %v", hasVolume(t, d, bfv, root.Serial, false), secretDefined(t, d, bfv, root.Serial))
	}
	if err := d.AttachVolume(ctx, bfv, root); !errors.Is(err, virt.ErrNotSupported) {
		t.Errorf("attach of the root volume: %v, want virt.ErrNotSupported", err)
	}
	if err := d.DetachVolume(ctx, bfv, root.Serial); !errors.Is(err, virt.ErrNotSupported) {
		t.Errorf("detach of the root volume: %v, want virt.ErrNotSupported", err)
	}
	do(t, "destroy", func() error { return d.Destroy(ctx, bfv) })
	if secretDefined(t, d, bfv, root.Serial) {
		t.Error("the root volume's secret outlived Destroy")
	}
}

// TestVolumeHotplugNoOS: volumes hot-plugged into a running guest with
// no operating system (SeaBIOS on an empty disk), which never lets go
// of one, from a private tgtd: an attach puts the disk in the running
// guest and its definition, once; a wrong CHAP password fails with the
// target's refusal and leaves the guest, its definition and its secrets
// as they were; a paused guest gets a disk and refuses to lose one; a
// detach the guest does not answer ends with ErrStillAttached and keeps
// the disk; a restart logs in to every volume again from the
// definition and the secrets; a suspended guest refuses an attach;
// Destroy undefines every secret; no password is in the domain,
// libvirt's logs or QEMU's command line.
func TestVolumeHotplugNoOS(t *testing.T) {
	dir := guestDirForQEMU(t)
	d := qemuDriver(t, dir)
	tg := iscsiTarget(t)
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
	a, b, c := tg.Disk(t, []byte("a")), tg.Disk(t, []byte("b")), tg.Disk(t, []byte("c"))
	passwords := []string{a.Connection["auth_password"], b.Connection["auth_password"], c.Connection["auth_password"], "notThePassw0rd42"}
	both := func(v virt.Disk, want bool) {
		t.Helper()
		if live, defined := hasVolume(t, d, id, v.Serial, true), hasVolume(t, d, id, v.Serial, false); live != want || defined != want {
			t.Fatalf("volume %s: running %v, defined %v; want %v", v.Serial, live, defined, want)
		}
	}

	start := time.Now()
	do(t, "attach", func() error { return d.AttachVolume(ctx, id, a) })
	t.Logf("attach to a running guest: %v", time.Since(start).Round(time.Millisecond))
	both(a, true)
	live := domainXMLOf(t, d, id, true)
	do(t, "attach again", func() error { return d.AttachVolume(ctx, id, a) })
	if again := domainXMLOf(t, d, id, true); strings.Count(again, "<disk ") != strings.Count(live, "<disk ") {
		t.Fatalf("a second attach changed the running guest:\n%s", again)
	}

	before := domainXMLOf(t, d, id, false)
	wrong := b
	wrong.Connection = maps.Clone(b.Connection)
	wrong.Connection["auth_password"] = "notThePassw0rd42"
	err := d.AttachVolume(ctx, id, wrong)
	t.Logf("attach with a wrong password: %v", err)
	if err == nil || !strings.Contains(err.Error(), "Authentication failure") {
		t.Fatalf("attach with a wrong password: %v, want the target's authentication failure", err)
	}
	both(b, false)
	if after := domainXMLOf(t, d, id, false); after != before || secretDefined(t, d, id, b.Serial) {
		t.Fatalf("a refused attach changed the guest: secret %v, definition\n%s", secretDefined(t, d, id, b.Serial), after)
	}
	// With its front-end QoS: libvirt takes the <iotune> and the running
	// guest's disk has it.
	b.QoS = map[string]int64{"total_iops_sec": 100}
	do(t, "attach with the right password", func() error { return d.AttachVolume(ctx, id, b) })
	both(b, true)
	if live := domainXMLOf(t, d, id, true); !strings.Contains(live, "<total_iops_sec>100</total_iops_sec>") {
		t.Fatalf("the running guest's disk lacks the volume's I/O limit:\n%s", live)
	}

	do(t, "pause", func() error { return d.Pause(ctx, id) })
	do(t, "attach to a paused guest", func() error { return d.AttachVolume(ctx, id, c) })
	both(c, true)
	if err := d.DetachVolume(ctx, id, c.Serial); !errors.Is(err, ErrPowerState) {
		t.Errorf("detach from a paused guest: %v, want ErrPowerState", err)
	}
	both(c, true)
	do(t, "unpause", func() error { return d.Unpause(ctx, id) })

	start = time.Now()
	dctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	err = d.DetachVolume(dctx, id, a.Serial)
	cancel()
	t.Logf("detach from a guest with no OS: %v after %v", err, time.Since(start).Round(time.Millisecond))
	if !errors.Is(err, ErrStillAttached) {
		t.Fatalf("detach that the guest does not answer: %v, want ErrStillAttached", err)
	}
	both(a, true)
	if !secretDefined(t, d, id, a.Serial) {
		t.Fatal("a detach the guest did not answer undefined the secret")
	}

	do(t, "power off", func() error { return d.PowerOff(ctx, id, false) })
	start = time.Now()
	do(t, "power on", func() error { return d.PowerOn(ctx, id) })
	t.Logf("power on with 3 volumes: %v", time.Since(start).Round(time.Millisecond))
	for _, v := range []virt.Disk{a, b, c} {
		both(v, true)
	}
	noPassword(t, d, id, passwords...)

	do(t, "suspend", func() error { return d.Suspend(ctx, id) })
	if err := d.AttachVolume(ctx, id, tg.Disk(t, []byte("d"))); !errors.Is(err, ErrPowerState) {
		t.Errorf("attach to a suspended guest: %v, want ErrPowerState", err)
	}
	do(t, "resume", func() error { return d.Resume(ctx, id) })
	both(a, true)

	if n := len(guestSecrets(t, d, id)); n != 3 {
		t.Errorf("%d secrets for 3 volumes", n)
	}
	do(t, "destroy", func() error { return d.Destroy(ctx, id) })
	if left := guestSecrets(t, d, id); len(left) > 0 {
		t.Errorf("secrets outlived Destroy: %v", left)
	}
}
