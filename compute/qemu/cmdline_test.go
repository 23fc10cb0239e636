package qemu

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gostack/gostack/compute/virt"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestCommandLine compares QEMU's arguments with testdata/<case>.args,
// one argument a line.
func TestCommandLine(t *testing.T) {
	const id = "6b0a7d3e-2f41-4c8e-9d2a-51f3c0e8a7b4"
	f := guestFiles("/var/lib/gostack/qemu", id)
	for _, c := range []struct {
		name      string
		g         virt.Guest
		volumes   []virt.Disk
		accel     string
		initiator string
		incoming  bool
	}{
		{name: "diskless", accel: "tcg", g: virt.Guest{ID: id, Name: "tiny", MemoryMB: 64}},
		{name: "full", accel: "kvm", g: virt.Guest{
			ID: id, Name: "web,1", VCPUs: 2, MemoryMB: 2048,
			Disk:      virt.Disk{Path: "/var/lib/gostack/images/root, with comma.qcow2", Format: "qcow2", Serial: "vol-1"},
			ConfigISO: "/var/lib/gostack/qemu/" + id + "/config.iso",
			Ports: []virt.GuestPort{
				{ID: "3f8a2c1e-5b7d-4e0f-9a61-2d4c8b7e6f10", MAC: "fa:16:3e:11:22:33", MTU: 1450},
				{ID: "9c1d4e2f-0a3b-4c5d-8e6f-7a8b9c0d1e2f", MAC: "fa:16:3e:44:55:66"},
			},
		}},
		{name: "resume", accel: "tcg", incoming: true, g: virt.Guest{ID: id, Name: "tiny", MemoryMB: 64,
			Disk: virt.Disk{Path: "/var/lib/gostack/images/root.raw"}}},
		// The root disk a volume (boot from volume), two volumes
		// attached (one without CHAP) beside a NIC, as guest.json keeps
		// them: no password.
		{name: "volumes", accel: "kvm", initiator: "iqn.1993-08.org.debian:01:compute-1", g: virt.Guest{
			ID: id, Name: "from-volume", VCPUs: 1, MemoryMB: 512,
			Disk:      storedVolume("0d0c3a52-7e1b-4f6e-9a35-c2b1d0e9f8a7", true),
			ConfigISO: "/var/lib/gostack/qemu/" + id + "/config.iso",
			Ports:     []virt.GuestPort{{ID: "3f8a2c1e-5b7d-4e0f-9a61-2d4c8b7e6f10", MAC: "fa:16:3e:11:22:33"}},
		}, volumes: []virt.Disk{storedVolume("5e0a1c2d-3b4f-4a5e-8f70-9a1b2c3d4e5f", true), storedVolume("a1b2c3d4-0000-4000-8000-000000000001", false)}},
		// RBD: the root disk an image with cephx (its key in
		// root.secret), two volumes attached, one with cephx and
		// discard, one without either.
		{name: "rbd", accel: "kvm", g: virt.Guest{
			ID: id, Name: "from-rbd", VCPUs: 1, MemoryMB: 512,
			Disk: rbdVolume("0d0c3a52-7e1b-4f6e-9a35-c2b1d0e9f8a7", true),
		}, volumes: []virt.Disk{rbdVolume("5e0a1c2d-3b4f-4a5e-8f70-9a1b2c3d4e5f", true), rbdVolume("a1b2c3d4-0000-4000-8000-000000000001", false)}},
		// Multiattach volumes (shareable disks): the root volume and
		// an iSCSI and an RBD volume with share-rw=on on their devices,
		// as libvirt gives a <shareable/> disk; a plain volume without.
		{name: "multiattach", accel: "kvm", initiator: "iqn.1993-08.org.debian:01:compute-1", g: virt.Guest{
			ID: id, Name: "shared", VCPUs: 1, MemoryMB: 512,
			Disk: shareable(storedVolume("0d0c3a52-7e1b-4f6e-9a35-c2b1d0e9f8a7", true)),
		}, volumes: []virt.Disk{shareable(storedVolume("5e0a1c2d-3b4f-4a5e-8f70-9a1b2c3d4e5f", true)),
			shareable(rbdVolume("a1b2c3d4-0000-4000-8000-000000000001", true)), storedVolume("b1b2c3d4-0000-4000-8000-000000000002", false)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := &definition{Guest: c.g, Volumes: c.volumes}
			if err := g.fillSlots(); err != nil {
				t.Fatal(err)
			}
			args, err := commandLine(g, f, c.accel, reach{initiator: c.initiator, cephConf: "/var/lib/gostack/qemu/ceph.conf"}, c.incoming)
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(args, "\n") + "\n"
			golden := filepath.Join("testdata", c.name+".args")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Fatalf("arguments differ from %s (go test -update rewrites it):\n%s", golden, got)
			}
		})
	}
}

// shareable is d as a multiattach volume's disk.
func shareable(d virt.Disk) virt.Disk { d.Shareable = true; return d }

func TestCommandLineSocketPath(t *testing.T) {
	g := virt.Guest{ID: "6b0a7d3e-2f41-4c8e-9d2a-51f3c0e8a7b4", MemoryMB: 64}
	f := guestFiles("/"+strings.Repeat("d", 80), g.ID)
	if _, err := commandLine(&definition{Guest: g}, f, "tcg", reach{}, false); err == nil || !strings.Contains(err.Error(), "shorter state dir") {
		t.Fatalf("long socket path: %v", err)
	}
}

func TestParseVersion(t *testing.T) {
	for _, c := range []struct {
		out  string
		want int64
	}{
		{"QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\nCopyright (c) 2003-2022 Fabrice Bellard", 7002022},
		{"QEMU emulator version 8.2.2 (Debian 1:8.2.2+ds-0ubuntu1)", 8002002},
		{"QEMU emulator version 10.0.0", 10000000},
		{"QEMU emulator version 9.1", 9001000},
	} {
		got, err := parseVersion(c.out)
		if err != nil || got != c.want {
			t.Errorf("parseVersion(%q) = %d, %v; want %d", c.out, got, err, c.want)
		}
	}
	if _, err := parseVersion("not qemu"); err == nil {
		t.Error("a version read from nothing")
	}
}

func TestPowerState(t *testing.T) {
	for status, want := range map[string]virt.PowerState{
		"running":        virt.PowerRunning,
		"paused":         virt.PowerPaused,
		"suspended":      virt.PowerPaused,
		"prelaunch":      virt.PowerPaused,
		"inmigrate":      virt.PowerPaused,
		"postmigrate":    virt.PowerPaused,
		"io-error":       virt.PowerPaused,
		"shutdown":       virt.PowerShutdown,
		"internal-error": virt.PowerCrashed,
		"guest-panicked": virt.PowerCrashed,
	} {
		if got := powerState(status); got != want {
			t.Errorf("powerState(%q) = %d, want %d", status, got, want)
		}
	}
}

// storedVolume is an iSCSI volume as guest.json keeps it: its password
// in its secret file.
func storedVolume(id string, chap bool) virt.Disk {
	c := map[string]string{"target_portal": "192.0.2.10:3260", "target_iqn": "iqn.2010-10.org.openstack:volume-" + id,
		"target_lun": "1", "volume_id": id, "target_discovered": "false"}
	if chap {
		c["auth_method"], c["auth_username"] = "CHAP", "Zq8dW2nKp4Lm9Xv3Tb7R"
	}
	return virt.Disk{Protocol: "iscsi", Connection: c, Serial: id}
}

// rbdSecretUUID is the secret uuid of rbdVolume's cephx user.
const rbdSecretUUID = "457eb676-33da-42ec-9a8c-9293d545c337"

// rbdVolume is an rbd volume as Cinder's RBD driver gives it (and
// guest.json keeps it: no key is in it), on two monitors, with cephx
// and discard or neither.
func rbdVolume(id string, cephx bool) virt.Disk {
	c := map[string]string{"name": "volumes/volume-" + id, "hosts": "192.0.2.21,2001:db8::22", "ports": "6789,3300",
		"cluster_name": "ceph", "volume_id": id, "auth_enabled": "false"}
	if cephx {
		c["auth_enabled"], c["auth_username"], c["secret_type"], c["secret_uuid"], c["discard"] = "true", "cinder", "ceph", rbdSecretUUID, "true"
	}
	return virt.Disk{Protocol: "rbd", Connection: c, Serial: id}
}
