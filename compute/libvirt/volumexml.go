package libvirt

import (
	"fmt"
	"strconv"
	"strings"

	"libvirt.org/go/libvirtxml"

	"github.com/gostack/gostack/compute/virt"
)

// secretUsage is the usage of the libvirt secret holding the CHAP
// password of guest id's volume, "gostack:<guest id>:<volume id>" (no
// '/': libvirt's schema refuses one in a usage): one secret per guest
// and volume, so a volume attached to two guests has two, and each goes
// with its own guest (DetachVolume, Destroy).
func secretUsage(id, volumeID string) string { return secretPrefix(id) + volumeID }

// secretPrefix begins the usage of every secret of guest id.
func secretPrefix(id string) string { return "gostack:" + id + ":" }

// secretXML is a volume's secret as Nova's libvirt driver defines it
// (usage iscsi), persistent (the guest's next start needs it) and
// private: libvirt gives its value to QEMU, and to no API caller.
func secretXML(id, volumeID string) (string, error) {
	s := libvirtxml.Secret{
		Ephemeral:   "no",
		Private:     "yes",
		Description: fmt.Sprintf("gostack: CHAP secret of volume %s of instance %s", volumeID, id),
		Usage:       &libvirtxml.SecretUsage{Type: "iscsi", Target: secretUsage(id, volumeID)},
	}
	doc, err := s.Marshal()
	if err != nil {
		return "", fmt.Errorf("compute/libvirt: secret of volume %s: %w", volumeID, err)
	}
	return doc, nil
}

// defaultInitiator is the iSCSI initiator name QEMU gives a guest of
// that uuid (libvirt passes -uuid), written out so that both drivers log
// in as the same guest alike.
func defaultInitiator(id string) string { return "iqn.2008-11.org.linux-kvm:" + id }

// iscsiDisk is a volume as a libvirt network disk, as Nova's
// LibvirtNetVolumeDriver writes one for QEMU's own initiator: protocol
// iscsi, name "<iqn>/<lun>", the portal as its host, the initiator
// name, with CHAP the user and the secret by usage (its value is in
// libvirt's secret store, never in the domain), raw, cache none, on
// the bus given, the volume id as serial, and its front-end QoS as
// <iotune>.
func iscsiDisk(id string, v virt.Disk, t virt.ISCSI, initiator, dev, bus string) libvirtxml.DomainDisk {
	if initiator == "" {
		initiator = defaultInitiator(id)
	}
	src := &libvirtxml.DomainDiskSourceNetwork{
		Protocol:  "iscsi",
		Name:      t.IQN + "/" + strconv.Itoa(t.LUN),
		Hosts:     []libvirtxml.DomainDiskSourceHost{{Name: t.Host, Port: strconv.Itoa(t.Port)}},
		Initiator: &libvirtxml.DomainDiskSourceNetworkInitiator{IQN: &libvirtxml.DomainDiskSourceNetworkIQN{Name: initiator}},
	}
	if t.Username != "" {
		src.Auth = &libvirtxml.DomainDiskAuth{Username: t.Username,
			Secret: &libvirtxml.DomainDiskSecret{Type: "iscsi", Usage: secretUsage(id, v.VolumeID())}}
	}
	disk := libvirtxml.DomainDisk{
		Device: "disk",
		Driver: &libvirtxml.DomainDiskDriver{Name: "qemu", Type: "raw", Cache: "none"},
		Source: &libvirtxml.DomainDiskSource{Network: src},
		Target: &libvirtxml.DomainDiskTarget{Dev: dev, Bus: bus},
		Serial: v.VolumeID(),
	}
	if q := v.QoS; len(q) > 0 {
		// The volume's front-end QoS, as Nova's libvirt driver writes it.
		u := func(k string) uint64 { return uint64(max(q[k], 0)) }
		disk.IOTune = &libvirtxml.DomainDiskIOTune{TotalBytesSec: u("total_bytes_sec"), ReadBytesSec: u("read_bytes_sec"),
			WriteBytesSec: u("write_bytes_sec"), TotalIopsSec: u("total_iops_sec"), ReadIopsSec: u("read_iops_sec"),
			WriteIopsSec: u("write_iops_sec")}
	}
	return disk
}

// checkVolume reads a volume this driver can attach or boot from: an
// iscsi network disk whose connection reads (password included), raw,
// without a path, with a volume id libvirt takes as a serial (letters,
// digits and "_.+-").
func checkVolume(v virt.Disk) (virt.ISCSI, error) {
	if v.Protocol != virt.ProtocolISCSI {
		if v.Protocol == "" {
			return virt.ISCSI{}, fmt.Errorf("not a network disk: a volume has a Protocol (iscsi)")
		}
		return virt.ISCSI{}, fmt.Errorf("%s disk: %w", v.Protocol, virt.ErrNotSupported)
	}
	if v.Path != "" {
		return virt.ISCSI{}, fmt.Errorf("an iscsi disk with a path (%s) too", v.Path)
	}
	if v.Format != "" && v.Format != "raw" {
		return virt.ISCSI{}, fmt.Errorf("an iscsi disk of format %q: want raw", v.Format)
	}
	id := v.VolumeID()
	if id == "" || strings.IndexFunc(id, func(r rune) bool {
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("_.+-", r))
	}) >= 0 {
		return virt.ISCSI{}, fmt.Errorf("volume id %q: want letters, digits, '_', '.', '+' or '-'", id)
	}
	return v.ISCSI()
}

// volumeDisk is the disk of volume volumeID in a domain (its serial);
// nil when the domain has none.
func volumeDisk(d *libvirtxml.Domain, volumeID string) *libvirtxml.DomainDisk {
	if d == nil || d.Devices == nil || volumeID == "" {
		return nil
	}
	for i := range d.Devices.Disks {
		if disk := &d.Devices.Disks[i]; disk.Serial == volumeID {
			return disk
		}
	}
	return nil
}

// freeTarget is the first virtio disk name (vda, vdb, ... vdz, vdaa,
// ...) no disk of the domains has. It is libvirt's name for the disk,
// and its order among the domain's; the guest's kernel names disks in
// the order it finds them.
func freeTarget(doms ...*libvirtxml.Domain) string {
	used := map[string]bool{}
	for _, d := range doms {
		if d == nil || d.Devices == nil {
			continue
		}
		for _, disk := range d.Devices.Disks {
			if disk.Target != nil {
				used[disk.Target.Dev] = true
			}
		}
	}
	for n := 0; ; n++ {
		if name := "vd" + diskLetters(n); !used[name] {
			return name
		}
	}
}

// diskLetters is the n-th disk suffix: a..z, then aa..zz, as the kernel
// and libvirt count.
func diskLetters(n int) string {
	s := ""
	for n++; n > 0; n = (n - 1) / 26 {
		s = string(rune('a'+(n-1)%26)) + s
	}
	return s
}
