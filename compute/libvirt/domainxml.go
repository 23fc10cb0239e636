package libvirt

import (
	"encoding/xml"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/google/uuid"
	"libvirt.org/go/libvirtxml"

	"github.com/gostack/gostack/compute/virt"
)

// Namespace is the XML namespace of the <metadata> element that marks a
// domain as gostack's: List returns only domains that carry it, and
// Destroy refuses a domain without it.
const Namespace = "https://github.com/gostack/gostack/xmlns/libvirt/instance/1"

// metadata is gostack's element in a domain's <metadata>. libvirt's
// GetMetadata selects it by Namespace and returns it without one, so
// the names here carry none.
type metadata struct {
	XMLName xml.Name `xml:"instance"`
	ID      string   `xml:"id"`
	Name    string   `xml:"name"`
	// VIFModel is the NIC model of the guest's image (hw_vif_model) at
	// spawn, which NICs attached later get too (Nova keeps the image's
	// properties with the instance for the same reason); "" in a domain
	// defined before gostack recorded it.
	VIFModel string `xml:"vif-model,omitempty"`
	// RootVolume is the volume the guest boots from (its root disk is
	// that network disk), "" for a local root disk: neither
	// AttachVolume nor DetachVolume touch it.
	RootVolume string `xml:"root-volume,omitempty"`
}

// metadataXML writes the element with the prefix "gostack" (libvirt
// keeps the prefix it is given; encoding/xml would declare a default
// namespace on every element instead).
func metadataXML(m metadata) string {
	var b strings.Builder
	b.WriteString(`<gostack:instance xmlns:gostack="` + Namespace + `">`)
	b.WriteString("<gostack:id>")
	xml.EscapeText(&b, []byte(m.ID))
	b.WriteString("</gostack:id><gostack:name>")
	xml.EscapeText(&b, []byte(m.Name))
	b.WriteString("</gostack:name>")
	if m.VIFModel != "" {
		b.WriteString("<gostack:vif-model>")
		xml.EscapeText(&b, []byte(m.VIFModel))
		b.WriteString("</gostack:vif-model>")
	}
	if m.RootVolume != "" {
		b.WriteString("<gostack:root-volume>")
		xml.EscapeText(&b, []byte(m.RootVolume))
		b.WriteString("</gostack:root-volume>")
	}
	b.WriteString("</gostack:instance>")
	return b.String()
}

// parseMetadata reads the element as libvirt's GetMetadata returns it
// (or as metadataXML wrote it).
func parseMetadata(s string) (metadata, error) {
	var m metadata
	if err := xml.Unmarshal([]byte(s), &m); err != nil {
		return m, fmt.Errorf("compute/libvirt: gostack metadata: %w", err)
	}
	return m, nil
}

// domainName is a guest's libvirt domain name.
func domainName(id string) string { return "instance-" + id }

// guestDir is where a guest's files live (its console log).
func guestDir(stateDir, id string) string { return filepath.Join(stateDir, id) }

// consolePath is the serial console's log.
func consolePath(stateDir, id string) string {
	return filepath.Join(guestDir(stateDir, id), "console.log")
}

// canonicalID is a guest id as libvirt spells uuids; anything else is
// an error.
func canonicalID(id string) (string, error) {
	u, err := uuid.Parse(id)
	if err != nil || len(id) != 36 {
		return "", fmt.Errorf("compute/libvirt: guest id %q is not a uuid", id)
	}
	return u.String(), nil
}

// diskBuses are the hw_disk_bus values honoured: the target device
// prefix, and whether the config drive is a cdrom (IDE and SATA disks
// cannot be read-only in QEMU).
var diskBuses = map[string]struct {
	prefix string
	cdrom  bool
}{
	"virtio": {"vd", false},
	"scsi":   {"sd", false},
	"sata":   {"sd", true},
	"ide":    {"hd", true},
}

// vifModels are the hw_vif_model values honoured.
var vifModels = map[string]bool{"virtio": true, "e1000": true, "e1000e": true, "rtl8139": true}

// domainXML is the libvirt domain of a guest. virtType is <domain type>:
// "kvm" or "qemu", or "test" for libvirt's test driver, which goes
// through the same code. The guest's id must be canonical (canonicalID).
// r is how a root disk that is a volume is reached: r.initiator the
// iSCSI initiator name ("" for QEMU's own, defaultInitiator), r.cephConf
// the ceph.conf of an rbd one.
func domainXML(g virt.Guest, virtType, stateDir string, r reach) (string, error) {
	d, err := domain(g, virtType, stateDir, r)
	if err != nil {
		return "", err
	}
	s, err := d.Marshal()
	if err != nil {
		return "", fmt.Errorf("compute/libvirt: guest %s: %w", g.ID, err)
	}
	return s, nil
}

func domain(g virt.Guest, virtType, stateDir string, r reach) (*libvirtxml.Domain, error) {
	if g.VCPUs <= 0 || g.MemoryMB <= 0 {
		return nil, fmt.Errorf("compute/libvirt: guest %s: %d vcpus and %d MiB: both must be positive", g.ID, g.VCPUs, g.MemoryMB)
	}
	busName := prop(g, "hw_disk_bus", "virtio")
	bus, ok := diskBuses[busName]
	if !ok {
		return nil, fmt.Errorf("compute/libvirt: guest %s: hw_disk_bus %q: %w", g.ID, busName, virt.ErrNotSupported)
	}
	vif := prop(g, "hw_vif_model", "virtio")
	if !vifModels[vif] {
		return nil, fmt.Errorf("compute/libvirt: guest %s: hw_vif_model %q: %w", g.ID, vif, virt.ErrNotSupported)
	}
	root, err := rootDisk(g, busName, bus.prefix+"a", r)
	if err != nil {
		return nil, err
	}
	var rootVolume string
	if g.Disk.Protocol != "" {
		rootVolume = g.Disk.VolumeID()
	}
	dev := &libvirtxml.DomainDeviceList{Disks: []libvirtxml.DomainDisk{root}}
	if g.ConfigISO != "" {
		dev.Disks = append(dev.Disks, configDrive(g.ConfigISO, busName, bus.prefix+"b", bus.cdrom))
	}
	if busName == "scsi" {
		dev.Controllers = []libvirtxml.DomainController{{Type: "scsi", Model: "virtio-scsi"}}
	}
	for _, p := range g.Ports {
		nic, err := bridgeInterface(p, vif)
		if err != nil {
			return nil, fmt.Errorf("compute/libvirt: guest %s: %w", g.ID, err)
		}
		dev.Interfaces = append(dev.Interfaces, nic)
	}
	port := uint(0)
	dev.Serials = []libvirtxml.DomainSerial{{
		Source: &libvirtxml.DomainChardevSource{Pty: &libvirtxml.DomainChardevSourcePty{}},
		Target: &libvirtxml.DomainSerialTarget{Port: &port},
		Log:    &libvirtxml.DomainChardevLog{File: consolePath(stateDir, g.ID), Append: "on"},
	}}
	d := &libvirtxml.Domain{
		Type:     virtType,
		Name:     domainName(g.ID),
		UUID:     g.ID,
		Metadata: &libvirtxml.DomainMetadata{XML: metadataXML(metadata{ID: g.ID, Name: g.Name, VIFModel: vif, RootVolume: rootVolume})},
		Memory:   &libvirtxml.DomainMemory{Value: uint(g.MemoryMB), Unit: "MiB"},
		VCPU:     &libvirtxml.DomainVCPU{Value: uint(g.VCPUs)},
		OS: &libvirtxml.DomainOS{
			Type:        &libvirtxml.DomainOSType{Type: "hvm"},
			BootDevices: []libvirtxml.DomainBootDevice{{Dev: "hd"}},
		},
		Features:   &libvirtxml.DomainFeatureList{ACPI: &libvirtxml.DomainFeature{}, APIC: &libvirtxml.DomainFeatureAPIC{}},
		Clock:      &libvirtxml.DomainClock{Offset: "utc"},
		OnPoweroff: "destroy",
		OnReboot:   "restart",
		OnCrash:    "destroy",
		Devices:    dev,
	}
	if virtType == "kvm" {
		// Nova's default for kvm; TCG emulates its own CPU model.
		d.CPU = &libvirtxml.DomainCPU{Mode: "host-model"}
	}
	return d, nil
}

func prop(g virt.Guest, key, def string) string {
	if v := g.Properties[key]; v != "" {
		return v
	}
	return def
}

// rootDisk is the guest's first disk: its image file, or the volume it
// boots from (a network disk, whose secret Spawn defines).
func rootDisk(g virt.Guest, bus, dev string, r reach) (libvirtxml.DomainDisk, error) {
	disk := g.Disk
	if disk.Protocol != "" {
		n, err := checkVolume(disk)
		if err != nil {
			return libvirtxml.DomainDisk{}, fmt.Errorf("compute/libvirt: guest %s: root disk: %w", g.ID, err)
		}
		return n.xml(g.ID, r, dev, bus), nil
	}
	if disk.Path == "" {
		return libvirtxml.DomainDisk{}, fmt.Errorf("compute/libvirt: guest %s: root disk has no path", g.ID)
	}
	// The format is always given: letting QEMU probe it lets a guest
	// that writes a qcow2 header into a raw disk read host files.
	if disk.Format != "raw" && disk.Format != "qcow2" {
		return libvirtxml.DomainDisk{}, fmt.Errorf("compute/libvirt: guest %s: root disk format %q (want raw or qcow2)", g.ID, disk.Format)
	}
	return libvirtxml.DomainDisk{
		Device: "disk",
		Driver: &libvirtxml.DomainDiskDriver{Name: "qemu", Type: disk.Format, Cache: "none"},
		Source: &libvirtxml.DomainDiskSource{File: &libvirtxml.DomainDiskSourceFile{File: disk.Path}},
		Target: &libvirtxml.DomainDiskTarget{Dev: dev, Bus: bus},
		Serial: disk.Serial,
	}, nil
}

// configDrive is the config drive: a read-only disk on the root disk's
// bus, or a cdrom where that bus has no read-only disks.
func configDrive(path, bus, dev string, cdrom bool) libvirtxml.DomainDisk {
	d := libvirtxml.DomainDisk{
		Device:   "disk",
		Driver:   &libvirtxml.DomainDiskDriver{Name: "qemu", Type: "raw"},
		Source:   &libvirtxml.DomainDiskSource{File: &libvirtxml.DomainDiskSourceFile{File: path}},
		Target:   &libvirtxml.DomainDiskTarget{Dev: dev, Bus: bus},
		ReadOnly: &libvirtxml.DomainDiskReadOnly{},
	}
	if cdrom {
		d.Device = "cdrom"
	}
	return d
}

// bridgeInterface is a NIC on an Open vSwitch bridge as Nova writes it:
// libvirt adds the tap to the bridge and sets external_ids:iface-id to
// the port id, which is what the network agent matches.
func bridgeInterface(p virt.GuestPort, model string) (libvirtxml.DomainInterface, error) {
	if p.ID == "" || p.Bridge == "" {
		return libvirtxml.DomainInterface{}, fmt.Errorf("port %q on bridge %q: both are required", p.ID, p.Bridge)
	}
	nic := libvirtxml.DomainInterface{
		Source: &libvirtxml.DomainInterfaceSource{Bridge: &libvirtxml.DomainInterfaceSourceBridge{Bridge: p.Bridge}},
		VirtualPort: &libvirtxml.DomainInterfaceVirtualPort{Params: &libvirtxml.DomainInterfaceVirtualPortParams{
			OpenVSwitch: &libvirtxml.DomainInterfaceVirtualPortParamsOpenVSwitch{InterfaceID: p.ID},
		}},
		Target: &libvirtxml.DomainInterfaceTarget{Dev: tapName(p.ID)},
		Model:  &libvirtxml.DomainInterfaceModel{Type: model},
	}
	if model == "virtio" {
		// No checksum offload, as compute/qemu's NICs: Open vSwitch's
		// userspace datapath forwards partial checksums as they are, and
		// the guest's TCP (the metadata service, HTTP) fails where its
		// DHCP and ping pass.
		nic.Driver = &libvirtxml.DomainInterfaceDriver{Host: &libvirtxml.DomainInterfaceDriverHost{CSum: "off"},
			Guest: &libvirtxml.DomainInterfaceDriverGuest{CSum: "off"}}
	}
	if p.MAC != "" {
		nic.MAC = &libvirtxml.DomainInterfaceMAC{Address: p.MAC}
	}
	if p.MTU > 0 {
		nic.MTU = &libvirtxml.DomainInterfaceMTU{Size: uint(p.MTU)}
	}
	return nic, nil
}

// tapName is Nova's: "tap" and the port id's first 11 characters, 14 in
// all, under Linux's 15.
func tapName(portID string) string {
	if len(portID) > 11 {
		portID = portID[:11]
	}
	return "tap" + portID
}

// virtTypes in order of preference.
var virtTypes = []string{"kvm", "qemu", "test"}

// pickDomainType is the best <domain type> the capabilities offer for
// hvm guests of the host's architecture: kvm where the host has it.
func pickDomainType(capsXML string) (string, error) {
	var caps libvirtxml.Caps
	if err := caps.Unmarshal(capsXML); err != nil {
		return "", fmt.Errorf("compute/libvirt: capabilities: %w", err)
	}
	offered := map[string]bool{}
	for _, g := range caps.Guests {
		if g.OSType != "hvm" || (caps.Host.CPU != nil && g.Arch.Name != caps.Host.CPU.Arch) {
			continue
		}
		for _, d := range g.Arch.Domains {
			offered[d.Type] = true
		}
	}
	for _, t := range virtTypes {
		if offered[t] {
			return t, nil
		}
	}
	return "", fmt.Errorf("compute/libvirt: the host offers no hvm guest of its architecture (want one of %v)", virtTypes)
}
