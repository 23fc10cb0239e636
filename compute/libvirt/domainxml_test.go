package libvirt

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gostack/gostack/compute/virt"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const testID = "3f0e7a0c-8a5e-4d5e-9a59-2d3c1c2b7f10"

func testGuest() virt.Guest {
	return virt.Guest{
		ID:       testID,
		Name:     "web-1",
		VCPUs:    2,
		MemoryMB: 512,
		Disk:     virt.Disk{Path: "/var/lib/gostack/instances/" + testID + "/disk", Format: "qcow2"},
	}
}

// TestDomainXML compares the domain of each guest with its golden file
// (go test -update rewrites them).
func TestDomainXML(t *testing.T) {
	ports := []virt.GuestPort{
		{ID: "8d1f5a8e-7c2b-4e6f-9a1d-5b3c2e1f0a9b", MAC: "fa:16:3e:12:34:56", Bridge: "br-int", MTU: 1450},
		{ID: "short", MAC: "fa:16:3e:ab:cd:ef", Bridge: "br-ex"},
	}
	with := func(f func(*virt.Guest)) virt.Guest {
		g := testGuest()
		f(&g)
		return g
	}
	for _, tc := range []struct {
		name, virtType string
		g              virt.Guest
	}{
		{"qemu-minimal", "qemu", testGuest()},
		{"kvm-ports-configdrive", "kvm", with(func(g *virt.Guest) {
			g.Ports = ports
			g.ConfigISO = "/var/lib/gostack/instances/" + testID + "/disk.config"
			g.Disk.Serial = "vol-1"
			g.Name = `a <name> & "quotes"`
		})},
		{"ide-e1000", "qemu", with(func(g *virt.Guest) {
			g.Disk.Format = "raw"
			g.ConfigISO = "/srv/config.iso"
			g.Ports = ports[:1]
			g.Properties = map[string]string{"hw_disk_bus": "ide", "hw_vif_model": "e1000"}
		})},
		{"scsi", "qemu", with(func(g *virt.Guest) {
			g.ConfigISO = "/srv/config.iso"
			g.Properties = map[string]string{"hw_disk_bus": "scsi"}
		})},
		{"test-driver", "test", with(func(g *virt.Guest) { g.Ports = ports })},
		// Boot from volume: the root disk a network disk, its secret by
		// usage, the initiator written out.
		{"boot-from-volume", "kvm", with(func(g *virt.Guest) {
			g.Disk = testVolume("5e0a1c2d-3b4f-4a5e-8f70-9a1b2c3d4e5f")
			g.ConfigISO = "/var/lib/gostack/instances/" + testID + "/disk.config"
		})},
		// Boot from an rbd volume: its monitors, the ceph.conf, the
		// host's ceph secret by uuid.
		{"boot-from-rbd", "kvm", with(func(g *virt.Guest) {
			g.Disk = rbdVolume("5e0a1c2d-3b4f-4a5e-8f70-9a1b2c3d4e5f")
			g.ConfigISO = "/var/lib/gostack/instances/" + testID + "/disk.config"
		})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := domainXML(tc.g, tc.virtType, "/var/lib/gostack/state", reach{cephConf: "/var/lib/gostack/state/ceph.conf"})
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", tc.name+".xml")
			if *update {
				if err := os.WriteFile(golden, []byte(got+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test -update writes it)", err)
			}
			if got+"\n" != string(want) {
				t.Errorf("domain differs from %s:\n%s", golden, got)
			}
		})
	}
}

func TestDomainXMLRefuses(t *testing.T) {
	for _, tc := range []struct {
		name         string
		change       func(*virt.Guest)
		notSupported bool
	}{
		{"nbd", func(g *virt.Guest) {
			g.Disk = virt.Disk{Protocol: "nbd", Connection: map[string]string{"name": "vms/x"}}
		}, true},
		{"rbd without monitors", func(g *virt.Guest) {
			g.Disk = virt.Disk{Protocol: "rbd", Serial: "v1", Connection: map[string]string{"name": "vms/x"}}
		}, false},
		{"iscsi without a connection", func(g *virt.Guest) { g.Disk = virt.Disk{Protocol: "iscsi", Serial: "v1"} }, false},
		{"iscsi without a volume id", func(g *virt.Guest) { g.Disk = testVolume(""); g.Disk.Serial = "" }, false},
		{"qcow2 iscsi", func(g *virt.Guest) { g.Disk = testVolume("v1"); g.Disk.Format = "qcow2" }, false},
		{"disk bus", func(g *virt.Guest) { g.Properties = map[string]string{"hw_disk_bus": "xen"} }, true},
		{"vif model", func(g *virt.Guest) { g.Properties = map[string]string{"hw_vif_model": "vmxnet3"} }, true},
		{"no format", func(g *virt.Guest) { g.Disk.Format = "" }, false},
		{"vmdk", func(g *virt.Guest) { g.Disk.Format = "vmdk" }, false},
		{"no path", func(g *virt.Guest) { g.Disk.Path = "" }, false},
		{"no vcpus", func(g *virt.Guest) { g.VCPUs = 0 }, false},
		{"no memory", func(g *virt.Guest) { g.MemoryMB = 0 }, false},
		{"port without bridge", func(g *virt.Guest) { g.Ports = []virt.GuestPort{{ID: "p1"}} }, false},
		{"port without id", func(g *virt.Guest) { g.Ports = []virt.GuestPort{{Bridge: "br-int"}} }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := testGuest()
			tc.change(&g)
			_, err := domainXML(g, "qemu", "/state", reach{})
			if err == nil {
				t.Fatal("no error")
			}
			if got := errors.Is(err, virt.ErrNotSupported); got != tc.notSupported {
				t.Errorf("%v: ErrNotSupported %v, want %v", err, got, tc.notSupported)
			}
		})
	}
}

func TestCanonicalID(t *testing.T) {
	for in, want := range map[string]string{
		testID:                                    testID,
		"3F0E7A0C-8A5E-4D5E-9A59-2D3C1C2B7F10":    testID,
		"3f0e7a0c8a5e4d5e9a592d3c1c2b7f10":        "",
		"urn:uuid:3f0e7a0c-8a5e-4d5e-9a59-2d3c1c": "",
		"../etc": "",
		"":       "",
	} {
		got, err := canonicalID(in)
		if got != want || (err != nil) != (want == "") {
			t.Errorf("canonicalID(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestTapName(t *testing.T) {
	for in, want := range map[string]string{
		"8d1f5a8e-7c2b-4e6f-9a1d-5b3c2e1f0a9b": "tap8d1f5a8e-7c",
		"short":                                "tapshort",
	} {
		if got := tapName(in); got != want || len(got) > 15 {
			t.Errorf("tapName(%q) = %q, want %q", in, got, want)
		}
	}
}

// The metadata reads back whatever prefix libvirt gives it.
func TestMetadata(t *testing.T) {
	m := metadata{ID: testID, Name: `a <b> & "c"`, VIFModel: "e1000"}
	for _, doc := range []string{
		metadataXML(m),
		// What GetMetadata returns: the element without its namespace.
		"<instance>\n  <id>" + testID + "</id>\n  <name>a &lt;b&gt; &amp; \"c\"</name>\n  <vif-model>e1000</vif-model>\n</instance>",
	} {
		got, err := parseMetadata(doc)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != m.ID || got.Name != m.Name || got.VIFModel != m.VIFModel {
			t.Errorf("%s: read %+v", doc, got)
		}
	}
	// A domain defined before the model was recorded.
	if got, err := parseMetadata("<instance><id>" + testID + "</id><name>x</name></instance>"); err != nil || got.VIFModel != "" {
		t.Errorf("metadata without vif-model: %+v, %v", got, err)
	}
	if s := metadataXML(metadata{ID: testID, Name: "x"}); strings.Contains(s, "vif-model") {
		t.Errorf("metadata with no model writes one: %s", s)
	}
	if _, err := parseMetadata(`<other><id>x</id></other>`); err == nil {
		t.Error("another element read as gostack's")
	}
}

func TestPickDomainType(t *testing.T) {
	caps := func(hostArch string, guests ...string) string {
		s := `<capabilities><host><cpu><arch>` + hostArch + `</arch></cpu></host>`
		for _, g := range guests {
			s += g
		}
		return s + `</capabilities>`
	}
	guest := func(osType, arch string, types ...string) string {
		s := `<guest><os_type>` + osType + `</os_type><arch name="` + arch + `">`
		for _, ty := range types {
			s += `<domain type="` + ty + `"/>`
		}
		return s + `</arch></guest>`
	}
	for _, tc := range []struct {
		name, caps, want string
	}{
		{"kvm host", caps("x86_64", guest("hvm", "i686", "qemu", "kvm"), guest("hvm", "x86_64", "qemu", "kvm")), "kvm"},
		{"tcg only", caps("x86_64", guest("hvm", "x86_64", "qemu")), "qemu"},
		{"kvm for another arch only", caps("x86_64", guest("hvm", "aarch64", "kvm"), guest("hvm", "x86_64", "qemu")), "qemu"},
		{"test driver", caps("i686", guest("hvm", "i686", "test"), guest("xen", "i686", "test")), "test"},
		{"nothing", caps("x86_64", guest("xen", "x86_64", "xen")), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := pickDomainType(tc.caps)
			if got != tc.want || (err != nil) != (tc.want == "") {
				t.Errorf("pickDomainType = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestTail(t *testing.T) {
	dir := t.TempDir()
	if b, err := tail(filepath.Join(dir, "missing"), 10); err != nil || len(b) != 0 {
		t.Fatalf("missing file: %q, %v", b, err)
	}
	p := filepath.Join(dir, "log")
	if err := os.WriteFile(p, []byte("0123456789abcdef"), 0o600); err != nil {
		t.Fatal(err)
	}
	for max, want := range map[int64]string{4: "cdef", 16: "0123456789abcdef", 100: "0123456789abcdef"} {
		if b, err := tail(p, max); err != nil || string(b) != want {
			t.Errorf("tail %d: %q, %v; want %q", max, b, err, want)
		}
	}
}
