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

// reach is how a guest's QEMU reaches its network disks.
type reach struct {
	initiator string // iSCSI initiator name; "" for QEMU's own (defaultInitiator)
	cephConf  string // the ceph.conf librbd reads; "" for librbd's default
}

// netVolume is a network volume this driver can attach or boot from, as
// checkVolume read it: its disk and, by its protocol, its iSCSI target
// or its RBD image.
type netVolume struct {
	disk  virt.Disk
	iscsi virt.ISCSI // Protocol iscsi
	rbd   virt.RBD   // Protocol rbd
}

// String names the volume's target or image, with no secret.
func (n netVolume) String() string {
	if n.disk.Protocol == virt.ProtocolRBD {
		return n.rbd.String()
	}
	return n.iscsi.String()
}

// xml is the volume's <disk type='network'> for guest id.
func (n netVolume) xml(id string, r reach, dev, bus string) libvirtxml.DomainDisk {
	if n.disk.Protocol == virt.ProtocolRBD {
		return rbdDisk(n.disk, n.rbd, r.cephConf, dev, bus)
	}
	return iscsiDisk(id, n.disk, n.iscsi, r.initiator, dev, bus)
}

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
	return networkDisk(v, src, dev, bus)
}

// rbdDisk is an rbd volume as a libvirt network disk, as Nova's
// LibvirtNetVolumeDriver writes one for QEMU's own librbd: protocol
// rbd, name "pool/image", each monitor as a <host>, with cephx <auth>
// naming the user and the ceph secret by uuid (the host's: its value is
// in libvirt's secret store, never in the domain), discard unmap when
// the connection asks, raw, cache none, on the bus given, the volume id
// as serial, its front-end QoS as <iotune>; and, unlike Nova, the
// ceph.conf librbd reads (<config file>), when there is one.
func rbdDisk(v virt.Disk, c virt.RBD, conf, dev, bus string) libvirtxml.DomainDisk {
	src := &libvirtxml.DomainDiskSourceNetwork{Protocol: "rbd", Name: c.Name()}
	for _, m := range c.Monitors {
		src.Hosts = append(src.Hosts, libvirtxml.DomainDiskSourceHost{Name: m.Host, Port: strconv.Itoa(m.Port)})
	}
	if conf != "" {
		src.Config = &libvirtxml.DomainDiskSourceNetworkConfig{File: conf}
	}
	disk := networkDisk(v, src, dev, bus)
	if c.User != "" {
		disk.Auth = &libvirtxml.DomainDiskAuth{Username: c.User, Secret: &libvirtxml.DomainDiskSecret{Type: "ceph", UUID: c.SecretUUID}}
	}
	if v.Connection["discard"] == "true" {
		disk.Driver.Discard = "unmap"
	}
	return disk
}

// networkDisk is the <disk type='network'> of volume v with source
// src: raw, cache none, the target given, the volume id as serial, its
// front-end QoS as <iotune>, and <shareable/> for a multiattach
// volume's (Nova's LibvirtBaseVolumeDriver: libvirt then gives QEMU's
// device share-rw=on, and the cache stays none).
func networkDisk(v virt.Disk, src *libvirtxml.DomainDiskSourceNetwork, dev, bus string) libvirtxml.DomainDisk {
	disk := libvirtxml.DomainDisk{
		Device: "disk",
		Driver: &libvirtxml.DomainDiskDriver{Name: "qemu", Type: "raw", Cache: "none"},
		Source: &libvirtxml.DomainDiskSource{Network: src},
		Target: &libvirtxml.DomainDiskTarget{Dev: dev, Bus: bus},
		Serial: v.VolumeID(),
	}
	if v.Shareable {
		disk.Shareable = &libvirtxml.DomainDiskShareable{}
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
// iscsi network disk whose connection reads (password included) or an
// rbd one, raw, without a path, with a volume id libvirt takes as a
// serial (letters, digits and "_.+-").
func checkVolume(v virt.Disk) (netVolume, error) {
	if v.Protocol != virt.ProtocolISCSI && v.Protocol != virt.ProtocolRBD {
		if v.Protocol == "" {
			return netVolume{}, fmt.Errorf("not a network disk: a volume has a Protocol (iscsi, rbd)")
		}
		return netVolume{}, fmt.Errorf("%s disk: %w", v.Protocol, virt.ErrNotSupported)
	}
	if v.Path != "" {
		return netVolume{}, fmt.Errorf("an %s disk with a path (%s) too", v.Protocol, v.Path)
	}
	if v.Format != "" && v.Format != "raw" {
		return netVolume{}, fmt.Errorf("an %s disk of format %q: want raw", v.Protocol, v.Format)
	}
	id := v.VolumeID()
	if id == "" || strings.IndexFunc(id, func(r rune) bool {
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("_.+-", r))
	}) >= 0 {
		return netVolume{}, fmt.Errorf("volume id %q: want letters, digits, '_', '.', '+' or '-'", id)
	}
	n := netVolume{disk: v}
	var err error
	if v.Protocol == virt.ProtocolRBD {
		n.rbd, err = v.RBD()
	} else {
		n.iscsi, err = v.ISCSI()
	}
	return n, err
}

// cephSecretXML is the libvirt secret of an rbd volume's cephx key, as
// operators define it for Nova (usage ceph, by the connection's secret
// uuid), persistent and private: libvirt gives its value to QEMU, and
// to no API caller. One secret per uuid serves every guest of the host.
func cephSecretXML(c virt.RBD) (string, error) {
	s := libvirtxml.Secret{
		Ephemeral:   "no",
		Private:     "yes",
		Description: fmt.Sprintf("gostack: cephx key of client.%s", c.User),
		UUID:        c.SecretUUID,
		Usage:       &libvirtxml.SecretUsage{Type: "ceph", Name: "client." + c.User + " secret " + c.SecretUUID},
	}
	doc, err := s.Marshal()
	if err != nil {
		return "", fmt.Errorf("compute/libvirt: ceph secret %s: %w", c.SecretUUID, err)
	}
	return doc, nil
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
