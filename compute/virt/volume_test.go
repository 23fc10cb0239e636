package virt_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/gostack/gostack/compute/virt"
)

const password = "s3cretPassw0rdXY"

// chap is an iSCSI volume's connection with CHAP, as Cinder's tgt
// target gives it, with changes.
func chap(change func(map[string]string)) virt.Disk {
	c := map[string]string{
		"target_portal": "192.0.2.10:3260", "target_iqn": "iqn.2010-10.org.openstack:volume-5e0a", "target_lun": "1",
		"volume_id": "5e0a1c2d-3b4f-4a5e-8f70-9a1b2c3d4e5f", "auth_method": "CHAP", "auth_username": "u20chars",
		"auth_password": password, "target_discovered": "false",
	}
	if change != nil {
		change(c)
	}
	return virt.Disk{Protocol: "iscsi", Connection: c}
}

func TestISCSI(t *testing.T) {
	for _, c := range []struct {
		name   string
		disk   virt.Disk
		want   virt.ISCSI
		portal string
		err    string
	}{
		{name: "CHAP", disk: chap(nil),
			want:   virt.ISCSI{Host: "192.0.2.10", Port: 3260, IQN: "iqn.2010-10.org.openstack:volume-5e0a", LUN: 1, Username: "u20chars", Password: password},
			portal: "192.0.2.10:3260"},
		{name: "no port", disk: chap(func(c map[string]string) { c["target_portal"] = "storage-1" }),
			want:   virt.ISCSI{Host: "storage-1", Port: 3260, IQN: "iqn.2010-10.org.openstack:volume-5e0a", LUN: 1, Username: "u20chars", Password: password},
			portal: "storage-1:3260"},
		{name: "IPv6", disk: chap(func(c map[string]string) { c["target_portal"] = "[2001:db8::1]:3261" }),
			want:   virt.ISCSI{Host: "2001:db8::1", Port: 3261, IQN: "iqn.2010-10.org.openstack:volume-5e0a", LUN: 1, Username: "u20chars", Password: password},
			portal: "[2001:db8::1]:3261"},
		{name: "IPv6 without a port", disk: chap(func(c map[string]string) { c["target_portal"] = "[2001:db8::1]" }),
			want:   virt.ISCSI{Host: "2001:db8::1", Port: 3260, IQN: "iqn.2010-10.org.openstack:volume-5e0a", LUN: 1, Username: "u20chars", Password: password},
			portal: "[2001:db8::1]:3260"},
		{name: "no authentication", disk: chap(func(c map[string]string) { c["auth_method"] = "None"; c["target_lun"] = "0" }),
			want:   virt.ISCSI{Host: "192.0.2.10", Port: 3260, IQN: "iqn.2010-10.org.openstack:volume-5e0a"},
			portal: "192.0.2.10:3260"},
		{name: "not iscsi", disk: virt.Disk{Protocol: "rbd"}, err: "not iscsi"},
		{name: "no portal", disk: chap(func(c map[string]string) { delete(c, "target_portal") }), err: "no target_portal"},
		{name: "bad port", disk: chap(func(c map[string]string) { c["target_portal"] = "192.0.2.10:99999" }), err: "want host:port"},
		{name: "no host", disk: chap(func(c map[string]string) { c["target_portal"] = ":3260" }), err: "want host:port"},
		{name: "no target", disk: chap(func(c map[string]string) { delete(c, "target_iqn") }), err: "target_iqn"},
		{name: "a target with a slash", disk: chap(func(c map[string]string) { c["target_iqn"] = "iqn.2010-10.org.openstack:a/b" }), err: "target_iqn"},
		{name: "not a target name", disk: chap(func(c map[string]string) { c["target_iqn"] = "volume-1" }), err: "target_iqn"},
		{name: "no LUN", disk: chap(func(c map[string]string) { delete(c, "target_lun") }), err: "target_lun"},
		{name: "negative LUN", disk: chap(func(c map[string]string) { c["target_lun"] = "-1" }), err: "target_lun"},
		{name: "CHAP without a password", disk: chap(func(c map[string]string) { delete(c, "auth_password") }), err: "without auth_username and auth_password"},
		{name: "a password with a newline", disk: chap(func(c map[string]string) { c["auth_password"] = password + "\n" }), err: "auth_password has control"},
		{name: "another method", disk: chap(func(c map[string]string) { c["auth_method"] = "kerberos" }), err: "want CHAP or none"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.disk.ISCSI()
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) || !errors.Is(err, virt.ErrBadVolume) {
					t.Fatalf("ISCSI() = %v, %v; want an ErrBadVolume with %q", got, err, c.err)
				}
				if strings.Contains(err.Error(), password) {
					t.Fatalf("the error holds the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want || got.Portal() != c.portal {
				t.Fatalf("ISCSI() = %+v (portal %s), want %+v (portal %s)", got, got.Portal(), c.want, c.portal)
			}
		})
	}
}

// TestNoPassword: printing or logging a volume shows no password.
func TestNoPassword(t *testing.T) {
	d := chap(nil)
	c, err := d.ISCSI()
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	slog.New(slog.NewTextHandler(&log, nil)).Info("attach", "disk", d, "target", c)
	g := virt.Guest{ID: "g1", Disk: d}
	for _, s := range []string{
		fmt.Sprint(d), fmt.Sprintf("%v %+v %#v %s", d, d, d, d), fmt.Sprintf("%v %+v", g, g),
		fmt.Sprint(c), fmt.Sprintf("%+v %#v", c, c), log.String(),
	} {
		if strings.Contains(s, password) {
			t.Errorf("the password is in %q", s)
		}
	}
	if !strings.Contains(fmt.Sprint(d), "iqn.2010-10.org.openstack:volume-5e0a") {
		t.Errorf("the disk prints without its target: %v", d)
	}
	if d.Connection["auth_password"] != password {
		t.Error("printing changed the disk")
	}
}

func TestVolumeDisk(t *testing.T) {
	want := chap(func(c map[string]string) { c["encrypted"] = "false" })
	want.Serial = want.Connection["volume_id"]
	data := map[string]any{}
	for k, v := range want.Connection {
		data[k] = v
	}
	data["target_lun"], data["target_discovered"], data["encrypted"] = 1, false, false
	data["target_portals"] = []any{"192.0.2.10:3260"} // multipath lists are not read
	data["qos_specs"] = nil
	built := map[string]any{"driver_volume_type": "iscsi", "data": data}
	b, err := json.Marshal(built)
	if err != nil {
		t.Fatal(err)
	}
	var decoded map[string]any
	if err := json.Unmarshal(b, &decoded); err != nil {
		t.Fatal(err)
	}
	for name, info := range map[string]map[string]any{"built in Go": built, "decoded from JSON": decoded} {
		got, err := virt.VolumeDisk(info)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got.Protocol != want.Protocol || got.Serial != want.Serial || fmt.Sprint(got.Connection) != fmt.Sprint(want.Connection) ||
			got.Connection["auth_password"] != password {
			t.Errorf("%s: VolumeDisk = %v, want %v", name, got, want)
		}
		if _, err := got.ISCSI(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, bad := range []map[string]any{
		{"data": data},
		{"driver_volume_type": "iscsi"},
		{"driver_volume_type": "iscsi", "data": map[string]any{"target_lun": 1.5}},
	} {
		if d, err := virt.VolumeDisk(bad); !errors.Is(err, virt.ErrBadVolume) {
			t.Errorf("VolumeDisk(%v) = %v, %v; want ErrBadVolume", bad, d, err)
		}
	}
}

// The connection info's qos_specs (Cinder's front-end QoS, values as
// strings or numbers) become the disk's limits, by the keys drivers
// apply; others are not read, and a value that is no whole number is
// refused.
func TestVolumeDiskQoS(t *testing.T) {
	info := func(q any) map[string]any {
		return map[string]any{"driver_volume_type": "iscsi", "data": map[string]any{"target_iqn": "iqn.x", "qos_specs": q}}
	}
	d, err := virt.VolumeDisk(info(map[string]any{"total_iops_sec": "100", "read_bytes_sec": 1048576.0, "write_iops_sec": json.Number("7"),
		"consumer": "front-end", "total_bytes_sec": "0"}))
	want := map[string]int64{"total_iops_sec": 100, "read_bytes_sec": 1 << 20, "write_iops_sec": 7}
	if err != nil || fmt.Sprint(d.QoS) != fmt.Sprint(want) {
		t.Fatalf("QoS %v, %v; want %v", d.QoS, err, want)
	}
	if d, err := virt.VolumeDisk(info(nil)); err != nil || d.QoS != nil {
		t.Fatalf("no qos_specs: %v %v", d.QoS, err)
	}
	for _, bad := range []any{map[string]any{"total_iops_sec": "ten"}, map[string]any{"total_iops_sec": 1.5},
		map[string]any{"read_iops_sec": -1}, map[string]any{"write_bytes_sec": []any{1}}} {
		if _, err := virt.VolumeDisk(info(bad)); !errors.Is(err, virt.ErrBadVolume) {
			t.Errorf("qos_specs %v: %v, want ErrBadVolume", bad, err)
		}
	}
}

// Nova's "multiattach": true beside driver_volume_type and data (its
// stash for a multiattach volume) makes the disk shareable; its
// absence, false, or a "multiattach" inside data does not.
func TestVolumeDiskShareable(t *testing.T) {
	data := map[string]any{"target_iqn": "iqn.x", "volume_id": "v"}
	for _, c := range []struct {
		name string
		info map[string]any
		want bool
	}{
		{"multiattach", map[string]any{"driver_volume_type": "iscsi", "data": data, "multiattach": true}, true},
		{"rbd multiattach", map[string]any{"driver_volume_type": "rbd", "data": map[string]any{"name": "p/i"}, "multiattach": true}, true},
		{"absent", map[string]any{"driver_volume_type": "iscsi", "data": data}, false},
		{"false", map[string]any{"driver_volume_type": "iscsi", "data": data, "multiattach": false}, false},
		{"in data", map[string]any{"driver_volume_type": "iscsi", "data": map[string]any{"target_iqn": "iqn.x", "multiattach": true}}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, err := virt.VolumeDisk(c.info)
			if err != nil || d.Shareable != c.want {
				t.Fatalf("Shareable %v, %v; want %v", d.Shareable, err, c.want)
			}
		})
	}
}

func TestVolumeID(t *testing.T) {
	d := chap(nil)
	if got := d.VolumeID(); got != d.Connection["volume_id"] {
		t.Errorf("VolumeID without a serial = %q", got)
	}
	d.Serial = "other"
	if got := d.VolumeID(); got != "other" {
		t.Errorf("VolumeID with a serial = %q", got)
	}
	if got := (virt.Disk{Path: "/d"}).VolumeID(); got != "" {
		t.Errorf("a local disk's VolumeID = %q", got)
	}
}
