package libvirt

import (
	"errors"
	"strings"
	"testing"

	"libvirt.org/go/libvirtxml"

	"github.com/gostack/gostack/compute/virt"
)

const testPassword = "s3cretPassw0rdXY"

// testVolume is an iSCSI volume with CHAP as the compute agent gives it.
func testVolume(id string) virt.Disk {
	return virt.Disk{Protocol: "iscsi", Serial: id, Connection: map[string]string{
		"target_portal": "192.0.2.10:3260", "target_iqn": "iqn.2010-10.org.openstack:volume-" + id, "target_lun": "1",
		"volume_id": id, "auth_method": "CHAP", "auth_username": "Zq8dW2nKp4Lm9Xv3Tb7R", "auth_password": testPassword,
	}}
}

// TestVolumeXML: a volume's disk as Nova's LibvirtNetVolumeDriver
// writes one (with CHAP, and without, on another initiator), and its
// secret; neither holds the password.
func TestVolumeXML(t *testing.T) {
	v := testVolume("5e0a1c2d-3b4f-4a5e-8f70-9a1b2c3d4e5f")
	tgt, err := checkVolume(v)
	if err != nil {
		t.Fatal(err)
	}
	chap := tgt.xml(testID, reach{}, "vdc", "virtio")
	disk, err := chap.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "volume-chap", disk)
	open := testVolume("a1b2c3d4-0000-4000-8000-000000000001")
	open.Connection["auth_method"] = "None"
	open.Connection["target_portal"] = "[2001:db8::1]:3261"
	tgt, err = checkVolume(open)
	if err != nil {
		t.Fatal(err)
	}
	plain := tgt.xml(testID, reach{initiator: "iqn.1993-08.org.debian:01:compute-1"}, "vdd", "virtio")
	noAuth, err := plain.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "volume-noauth", noAuth)
	secret, err := secretXML(testID, v.Serial)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "volume-secret", secret)
	// A volume's front-end QoS is the disk's <iotune>.
	limited := v
	limited.QoS = map[string]int64{"total_iops_sec": 100, "read_bytes_sec": 1 << 20}
	ltgt, err := checkVolume(limited)
	if err != nil {
		t.Fatal(err)
	}
	ld := ltgt.xml(testID, reach{}, "vdc", "virtio")
	iotune, err := ld.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(iotune, "<iotune>") || !strings.Contains(iotune, "<total_iops_sec>100</total_iops_sec>") ||
		!strings.Contains(iotune, "<read_bytes_sec>1048576</read_bytes_sec>") || strings.Contains(iotune, "write_iops_sec") {
		t.Errorf("a volume with QoS:\n%s", iotune)
	}
	for _, s := range []string{disk, noAuth, secret} {
		if strings.Contains(s, testPassword) {
			t.Errorf("the password is in\n%s", s)
		}
	}
}

// TestShareableVolumeXML: a multiattach volume's disk (the connection
// info's "multiattach": true, Disk.Shareable) has <shareable/>, as
// Nova's LibvirtBaseVolumeDriver writes it, iSCSI and RBD alike, cache
// none; a plain volume's has none.
func TestShareableVolumeXML(t *testing.T) {
	for _, c := range []struct {
		name   string
		v      virt.Disk
		golden string
	}{
		{"iscsi", testVolume("5e0a1c2d-3b4f-4a5e-8f70-9a1b2c3d4e5f"), "volume-shareable"},
		{"rbd", rbdVolume("a1b2c3d4-0000-4000-8000-000000000001"), ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			plain, err := checkVolume(c.v)
			if err != nil {
				t.Fatal(err)
			}
			c.v.Shareable = true
			shared, err := checkVolume(c.v)
			if err != nil {
				t.Fatal(err)
			}
			pd, sd := plain.xml(testID, reach{}, "vdc", "virtio"), shared.xml(testID, reach{}, "vdc", "virtio")
			if pd.Shareable != nil || sd.Shareable == nil || sd.Driver.Cache != "none" {
				t.Fatalf("plain %+v, shareable %+v (driver %+v)", pd.Shareable, sd.Shareable, sd.Driver)
			}
			doc, err := sd.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(doc, "<shareable></shareable>") {
				t.Fatalf("no <shareable/> in\n%s", doc)
			}
			if c.golden != "" {
				golden(t, c.golden, doc)
			}
		})
	}
}

// rbdVolume is an rbd volume as Cinder's RBD driver gives it, on two
// monitors, with cephx and discard.
func rbdVolume(id string) virt.Disk {
	return virt.Disk{Protocol: "rbd", Serial: id, Connection: map[string]string{
		"name": "volumes/volume-" + id, "hosts": "192.0.2.21,2001:db8::22", "ports": "6789,3300", "cluster_name": "ceph",
		"auth_enabled": "true", "auth_username": "cinder", "secret_type": "ceph", "secret_uuid": "457eb676-33da-42ec-9a8c-9293d545c337",
		"volume_id": id, "discard": "true",
	}}
}

// TestRBDVolumeXML: an rbd volume's disk as Nova's LibvirtNetVolumeDriver
// writes one (with cephx, discard and the driver's ceph.conf; without
// cephx, on librbd's default configuration), and the host's ceph secret
// of its uuid.
func TestRBDVolumeXML(t *testing.T) {
	v := rbdVolume("5e0a1c2d-3b4f-4a5e-8f70-9a1b2c3d4e5f")
	n, err := checkVolume(v)
	if err != nil {
		t.Fatal(err)
	}
	cephx := n.xml(testID, reach{cephConf: "/var/lib/gostack/libvirt/ceph.conf"}, "vdc", "virtio")
	doc, err := cephx.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "volume-rbd", doc)
	open := rbdVolume("a1b2c3d4-0000-4000-8000-000000000001")
	open.Connection["auth_enabled"], open.Connection["discard"] = "false", "false"
	if n, err = checkVolume(open); err != nil {
		t.Fatal(err)
	}
	plain := n.xml(testID, reach{}, "vdd", "virtio")
	if doc, err = plain.Marshal(); err != nil {
		t.Fatal(err)
	}
	golden(t, "volume-rbd-noauth", doc)
	secret, err := cephSecretXML(virt.RBD{User: "cinder", SecretUUID: "457eb676-33da-42ec-9a8c-9293d545c337"})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "volume-rbd-secret", secret)
}

func TestCheckVolume(t *testing.T) {
	for _, tc := range []struct {
		name         string
		change       func(*virt.Disk)
		want         string
		notSupported bool
	}{
		{"nbd", func(v *virt.Disk) { v.Protocol = "nbd" }, "nbd disk", true},
		{"rbd without a name", func(v *virt.Disk) { v.Protocol = "rbd" }, "want pool/image", false},
		{"a local file", func(v *virt.Disk) { v.Protocol = "" }, "not a network disk", false},
		{"a path too", func(v *virt.Disk) { v.Path = "/x" }, "with a path", false},
		{"qcow2", func(v *virt.Disk) { v.Format = "qcow2" }, "want raw", false},
		{"no volume id", func(v *virt.Disk) { v.Serial = ""; delete(v.Connection, "volume_id") }, "volume id", false},
		{"a volume id libvirt refuses", func(v *virt.Disk) { v.Serial = "a/b" }, "volume id", false},
		{"no password", func(v *virt.Disk) { delete(v.Connection, "auth_password") }, "auth_password", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := testVolume("v1")
			tc.change(&v)
			_, err := checkVolume(v)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("checkVolume: %v, want %q", err, tc.want)
			}
			if errors.Is(err, virt.ErrNotSupported) != tc.notSupported {
				t.Errorf("%v: ErrNotSupported %v, want %v", err, !tc.notSupported, tc.notSupported)
			}
		})
	}
}

// TestFreeTarget: a new volume's disk takes the first virtio name no
// disk of the definition or the running guest has.
func TestFreeTarget(t *testing.T) {
	dom := func(devs ...string) *libvirtxml.Domain {
		d := &libvirtxml.Domain{Devices: &libvirtxml.DomainDeviceList{}}
		for _, dev := range devs {
			d.Devices.Disks = append(d.Devices.Disks, libvirtxml.DomainDisk{Target: &libvirtxml.DomainDiskTarget{Dev: dev}})
		}
		return d
	}
	many := make([]string, 26)
	for i := range many {
		many[i] = "vd" + string(rune('a'+i))
	}
	for _, tc := range []struct {
		name string
		doms []*libvirtxml.Domain
		want string
	}{
		{"root and config drive", []*libvirtxml.Domain{dom("vda", "vdb")}, "vdc"},
		{"a gap", []*libvirtxml.Domain{dom("vda", "vdc")}, "vdb"},
		{"the running guest's too", []*libvirtxml.Domain{dom("vda", "vdb"), dom("vda", "vdb", "vdc")}, "vdd"},
		{"not running", []*libvirtxml.Domain{dom("vda"), nil}, "vdb"},
		{"scsi root disk", []*libvirtxml.Domain{dom("sda", "sdb")}, "vda"},
		{"past vdz", []*libvirtxml.Domain{dom(many...)}, "vdaa"},
	} {
		if got := freeTarget(tc.doms...); got != tc.want {
			t.Errorf("%s: freeTarget = %s, want %s", tc.name, got, tc.want)
		}
	}
	if got := diskLetters(26 + 26*26); got != "aaa" {
		t.Errorf("diskLetters(702) = %s, want aaa", got)
	}
}
