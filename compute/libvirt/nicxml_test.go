package libvirt

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"libvirt.org/go/libvirtxml"

	"github.com/gostack/gostack/compute/virt"
)

var (
	portA = virt.GuestPort{ID: "8d1f5a8e-7c2b-4e6f-9a1d-5b3c2e1f0a9b", MAC: "fa:16:3e:12:34:56", Bridge: "br-int", MTU: 1450}
	portB = virt.GuestPort{ID: "0b6c3f2e-1d4a-4c8b-9e7f-a2b3c4d5e6f7", MAC: "fa:16:3e:ab:cd:ef", Bridge: "br-int", MTU: 1450}
)

// built is the definition domainXML makes of a guest with ports and
// image properties, as attachNIC reads it back.
func built(t *testing.T, props map[string]string, ports ...virt.GuestPort) (*libvirtxml.Domain, metadata) {
	t.Helper()
	g := testGuest()
	g.Ports, g.Properties = ports, props
	doc, err := domainXML(g, "qemu", "/var/lib/gostack/state", reach{})
	if err != nil {
		t.Fatal(err)
	}
	d, err := parseDomain(doc)
	if err != nil {
		t.Fatal(err)
	}
	m, err := parseMetadata(d.Metadata.XML)
	if err != nil {
		t.Fatal(err)
	}
	return d, m
}

// olderDomain is a domain as libvirt dumps one that gostack defined
// before it recorded the image's NIC model: one rtl8139 NIC, found by
// its tap alone (no virtualport).
const olderDomain = `<domain type='qemu' id='7'>
  <name>instance-` + testID + `</name>
  <uuid>` + testID + `</uuid>
  <devices>
    <interface type='bridge'>
      <mac address='fa:16:3e:00:00:09'/>
      <source bridge='br-int'/>
      <target dev='tap0b6c3f2e-1d'/>
      <model type='rtl8139'/>
      <alias name='net0'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x0'/>
    </interface>
  </devices>
</domain>`

// TestAttachNIC: the NIC attaching a port adds, or the definition's
// own when it has the port; the new one is Spawn's in the image's
// model (golden files in testdata/nic-*.xml, go test -update).
func TestAttachNIC(t *testing.T) {
	older, err := parseDomain(olderDomain)
	if err != nil {
		t.Fatal(err)
	}
	bareOld, err := parseDomain(`<domain type='qemu'><name>x</name></domain>`)
	if err != nil {
		t.Fatal(err)
	}
	e1000, e1000Meta := built(t, map[string]string{"hw_vif_model": "e1000"}, portA)
	none, noneMeta := built(t, nil)
	upper := portA
	upper.ID, upper.MAC = strings.ToUpper(portA.ID), strings.ToUpper(portA.MAC)
	noMAC := portA
	noMAC.MAC = ""
	otherMAC := portA
	otherMAC.MAC = "fa:16:3e:99:99:99"
	sameMAC := portB
	sameMAC.MAC = portA.MAC
	noBridge := portB
	noBridge.Bridge = ""
	for _, tc := range []struct {
		name    string
		def     *libvirtxml.Domain
		m       metadata
		p       virt.GuestPort
		present bool
		golden  string // the new NIC's file; "" when there is none
		err     string // a part of the error's text
	}{
		{name: "present", def: e1000, m: e1000Meta, p: portA, present: true},
		{name: "present, the port id and MAC in upper case", def: e1000, m: e1000Meta, p: upper, present: true},
		{name: "present, no MAC asked", def: e1000, m: e1000Meta, p: noMAC, present: true},
		{name: "present by its tap", def: older, m: metadata{ID: testID}, p: virt.GuestPort{ID: portB.ID, MAC: "fa:16:3e:00:00:09"}, present: true},
		{name: "new in the image's model", def: e1000, m: e1000Meta, p: portB, golden: "nic-e1000"},
		{name: "new, virtio by default", def: none, m: noneMeta, p: portA, golden: "nic-virtio"},
		{name: "new, no model recorded: the NICs' model", def: older, m: metadata{ID: testID}, p: portA, golden: "nic-older"},
		{name: "new, no model recorded and no NICs: virtio", def: bareOld, m: metadata{ID: testID}, p: portA, golden: "nic-virtio"},
		{name: "the port's NIC has another MAC", def: e1000, m: e1000Meta, p: otherMAC, err: "has a NIC with MAC fa:16:3e:12:34:56, not fa:16:3e:99:99:99"},
		{name: "another port's NIC has the MAC", def: e1000, m: e1000Meta, p: sameMAC, err: "is another NIC's (port " + portA.ID + ")"},
		{name: "no bridge", def: none, m: noneMeta, p: noBridge, err: "both are required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nic, present, err := attachNIC(tc.def, tc.m, tc.p)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if present != tc.present {
				t.Fatalf("present = %v, want %v", present, tc.present)
			}
			if present {
				if have := portNIC(tc.def, tc.p.ID); have == nil || have.MAC.Address != nic.MAC.Address {
					t.Errorf("returned %+v, not the definition's NIC %+v", nic, have)
				}
				return
			}
			got, err := nic.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tc.golden, got)
		})
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	file := filepath.Join("testdata", name+".xml")
	if *update {
		if err := os.WriteFile(file, []byte(got+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if got+"\n" != string(want) {
		t.Errorf("differs from %s:\n%s", file, got)
	}
}

// TestAttachedAsSpawned: a NIC attached later is the one Spawn would
// have written for the port.
func TestAttachedAsSpawned(t *testing.T) {
	for _, model := range []string{"virtio", "e1000"} {
		before, m := built(t, map[string]string{"hw_vif_model": model})
		nic, _, err := attachNIC(before, m, portA)
		if err != nil {
			t.Fatal(err)
		}
		spawned, _ := built(t, map[string]string{"hw_vif_model": model}, portA)
		want, err := spawned.Devices.Interfaces[0].Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if got, err := nic.Marshal(); err != nil || got != want {
			t.Errorf("%s: attached %s (%v), spawned %s", model, got, err, want)
		}
	}
}

func TestPortNIC(t *testing.T) {
	d, _ := built(t, nil, portA, portB)
	older, err := parseDomain(olderDomain)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		def  *libvirtxml.Domain
		port string
		mac  string // the NIC found; "" for none
	}{
		{"first", d, portA.ID, portA.MAC},
		{"second", d, portB.ID, portB.MAC},
		{"upper case", d, strings.ToUpper(portB.ID), portB.MAC},
		{"by the tap", older, portB.ID, "fa:16:3e:00:00:09"},
		{"none", d, "3c0a1b2c-0000-4000-8000-000000000000", ""},
		{"no port id", d, "", ""},
		{"no devices", &libvirtxml.Domain{}, portA.ID, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nic := portNIC(tc.def, tc.port)
			switch {
			case tc.mac == "" && nic != nil:
				t.Errorf("found %+v", nic)
			case tc.mac != "" && (nic == nil || nic.MAC == nil || nic.MAC.Address != tc.mac):
				t.Errorf("found %+v, want the NIC with MAC %s", nic, tc.mac)
			}
		})
	}
}
