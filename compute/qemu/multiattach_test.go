package qemu

import (
	"context"
	"encoding/json"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gostack/gostack/compute/virt"
	"github.com/gostack/gostack/compute/virt/virttest"
	"github.com/gostack/gostack/internal/testenv"
)

// TestMultiattachGuests: one multiattach iSCSI volume of a real tgtd in
// two tiny guests of one host at once (virttest.Multiattach), both
// logging in with the host's initiator name, two sessions on the
// target: what guest A writes
// guest B reads; A's detach leaves B's device in B's QEMU, where it
// still has share-rw=on (as device_add gave it, read back with
// qom-get), and B's detach takes it.
func TestMultiattachGuests(t *testing.T) {
	testenv.LookPath(t, "genisoimage", "genisoimage")
	tg := virttest.StartISCSI(t, nil)
	// Both guests log in as the host, as the compute agent configures
	// the driver (the connector's initiator, which an ACL lets in): two
	// sessions of one initiator name to one target.
	d := newDriver(t, "", func(c *Config) { c.InitiatorName = "iqn.1993-08.org.debian:01:multiattach-host" })
	data := []byte(uuid.NewString())
	virttest.Multiattach(t, d, t.TempDir(), tg.SharedDisk(t, data), data, virttest.MultiattachHooks{
		Both: func(t *testing.T, v virt.Disk) {
			// One session per guest (libiscsi gives each its own ISID):
			// B's login did not take A's place.
			out, err := exec.Command("tgtadm", "-C", strconv.Itoa(tg.Exporter.ControlPort), "--lld", "iscsi", "--op", "show", "--mode", "target").CombinedOutput()
			if err != nil {
				t.Fatalf("tgtadm: %v: %s", err, out)
			}
			if n := strings.Count(string(out), "I_T nexus:"); n != 2 {
				t.Fatalf("%d sessions on the target, want the two guests':\n%s", n, out)
			}
		},
		Attached: func(t *testing.T, id string, v virt.Disk) {
			if _, ok := layout(t, d, id)[volumeDeviceID(v.VolumeID())]; !ok {
				t.Fatalf("guest %s's QEMU has no device of volume %s", id, v.VolumeID())
			}
			if !shareRWOn(t, d, id, volumeDeviceID(v.VolumeID())) {
				t.Fatalf("guest %s's device of volume %s is not share-rw", id, v.VolumeID())
			}
		},
	})
}

// TestRBDMultiattachGuests: the same with a multiattach rbd volume on
// the test's Ceph, its image without exclusive-lock, object-map,
// fast-diff and journaling as Cinder's RBD driver makes one: both
// guests' librbd have it open at once (two watchers), what A writes B
// reads, and A's detach leaves B's device.
func TestRBDMultiattachGuests(t *testing.T) {
	testenv.LookPath(t, "genisoimage", "genisoimage")
	s := rbdCluster(t)
	d := newDriver(t, "", func(c *Config) { c.RBDSecrets = s.secrets })
	data := []byte(uuid.NewString())
	virttest.Multiattach(t, d, t.TempDir(), s.rbd.SharedDisk(t, data, 3<<20), data, virttest.MultiattachHooks{
		Both: func(t *testing.T, v virt.Disk) {
			out, err := s.c.RBD(context.Background(), "status", "--format", "json", v.Connection["name"])
			if err != nil {
				t.Fatalf("rbd status: %v: %s", err, out)
			}
			var st struct {
				Watchers []any `json:"watchers"`
			}
			if err := json.Unmarshal(out, &st); err != nil || len(st.Watchers) != 2 {
				t.Fatalf("the image's watchers, want the two guests': %s (%v)", out, err)
			}
		},
		Attached: func(t *testing.T, id string, v virt.Disk) {
			if !shareRWOn(t, d, id, volumeDeviceID(v.VolumeID())) {
				t.Fatalf("guest %s's device of volume %s is not share-rw", id, v.VolumeID())
			}
		},
	})
}

// shareRWOn reads the share-rw property of device dev of the running
// guest id.
func shareRWOn(t *testing.T, d *Driver, id, dev string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var on bool
	err := withMonitor(ctx, guestFiles(d.cfg.StateDir, id).qmp, func(m *monitor) error {
		return m.run(ctx, "qom-get", map[string]any{"path": "/machine/peripheral/" + dev, "property": "share-rw"}, &on)
	})
	if err != nil {
		t.Fatal(err)
	}
	return on
}
