package qemu

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/gostack/gostack/compute/virt"
)

// maxSocketPath is the longest path a unix socket can have (sun_path
// less its NUL): StateDir must be short enough for StateDir/<id>/console.sock.
const maxSocketPath = 107

// incomingFD is the descriptor a resumed QEMU reads its memory state
// from: the first of exec.Cmd's ExtraFiles.
const incomingFD = 3

// commandLine is QEMU's arguments for g, whose ports and volumes all
// have their slots (loadGuest and Spawn fill them). incoming starts it
// paused (-S), loading the saved memory state from incomingFD. r is how
// its network disks are reached: r.initiator the iSCSI initiator name
// they log in with, "" for QEMU's own (defaultInitiator), r.cephConf
// the ceph.conf of its rbd volumes.
func commandLine(g *definition, f files, accel string, r reach, incoming bool) ([]string, error) {
	if err := checkGuest(&g.Guest); err != nil {
		return nil, err
	}
	if r.initiator == "" {
		r.initiator = defaultInitiator(g.ID)
	}
	for _, p := range []string{f.qmp, f.consoleSock} {
		if len(p) > maxSocketPath {
			return nil, fmt.Errorf("compute/qemu: socket path %s is longer than %d bytes: use a shorter state dir", p, maxSocketPath)
		}
	}
	vcpus := max(g.VCPUs, 1)
	args := []string{
		"-name", "guest=" + optEscape(g.Name) + ",debug-threads=on",
		"-uuid", g.ID,
		"-machine", "pc,accel=" + accel,
		"-m", strconv.FormatInt(g.MemoryMB, 10),
		"-smp", strconv.Itoa(vcpus),
		"-nodefaults", "-no-user-config", "-nographic",
		"-chardev", "socket,id=console,path=" + optEscape(f.consoleSock) + ",server=on,wait=off,logfile=" + optEscape(f.console) + ",logappend=on",
		"-serial", "chardev:console",
		"-chardev", "socket,id=qmp,path=" + optEscape(f.qmp) + ",server=on,wait=off",
		"-mon", "chardev=qmp,mode=control",
		"-pidfile", f.pid,
		// -D keeps QEMU's stderr (its error messages) in this file once
		// it has daemonized, instead of /dev/null.
		"-D", f.log,
		"-daemonize",
	}
	root, config, _ := g.diskSlots()
	switch d := g.Disk; {
	case d.Protocol != "":
		// Boot from volume: checkGuest read its connection.
		nd, _ := storedDisk(d, "root", r)
		args = append(args, networkDisk(f, "root", nd)...)
		args = append(args, "-device", device(shareRW(d, map[string]any{"driver": "virtio-blk-pci", "id": "root", "drive": "root", "bootindex": 1, "serial": d.VolumeID(), "addr": pciAddr(root)})))
	case d.Path != "":
		format := d.Format
		if format == "" {
			format = "raw"
		}
		args = append(args, "-blockdev", blockdev("root", format, d.Path, false),
			"-device", device(map[string]any{"driver": "virtio-blk-pci", "id": "root", "drive": "root", "bootindex": 1, "serial": d.Serial, "addr": pciAddr(root)}))
	}
	if g.ConfigISO != "" {
		// cloud-init finds the config drive by its filesystem label.
		args = append(args, "-blockdev", blockdev("config", "raw", g.ConfigISO, true),
			"-device", device(map[string]any{"driver": "virtio-blk-pci", "id": "config", "drive": "config", "addr": pciAddr(config)}))
	}
	for _, p := range g.Ports {
		slot, ok := g.Slots[p.ID]
		if !ok {
			return nil, fmt.Errorf("compute/qemu: guest %s: port %s has no PCI slot", g.ID, p.ID)
		}
		args = append(args, "-netdev", keyval(netdev(p)), "-device", device(nic(p, slot)))
	}
	for _, v := range g.Volumes {
		slot, ok := g.VolumeSlots[v.VolumeID()]
		if !ok {
			return nil, fmt.Errorf("compute/qemu: guest %s: volume %s has no PCI slot", g.ID, v.VolumeID())
		}
		nd, err := storedDisk(v, volumeNode(slot), r)
		if err != nil {
			return nil, fmt.Errorf("compute/qemu: guest %s: volume %s: %w", g.ID, v.VolumeID(), err)
		}
		args = append(args, networkDisk(f, volumeNode(slot), nd)...)
		args = append(args, "-device", device(volumeDevice(v, slot)))
	}
	if incoming {
		args = append(args, "-S", "-incoming", "fd:"+strconv.Itoa(incomingFD))
	}
	return args, nil
}

// checkGuest refuses what the command line cannot express.
func checkGuest(g *virt.Guest) error {
	if !validID(g.ID) {
		return fmt.Errorf("compute/qemu: guest id %q is not a uuid", g.ID)
	}
	if g.MemoryMB <= 0 {
		return fmt.Errorf("compute/qemu: guest %s: memory %d MiB", g.ID, g.MemoryMB)
	}
	if g.Disk.Protocol != "" {
		if err := checkNetworkDisk(g.Disk); err != nil {
			return fmt.Errorf("compute/qemu: guest %s: root disk: %w", g.ID, err)
		}
	}
	switch g.Disk.Format {
	case "", "raw", "qcow2":
	default:
		return fmt.Errorf("compute/qemu: guest %s: disk format %q: want raw or qcow2", g.ID, g.Disk.Format)
	}
	seen := map[string]bool{}
	for _, p := range g.Ports {
		if err := checkPort(p); err != nil {
			return fmt.Errorf("compute/qemu: guest %s: %w", g.ID, err)
		}
		if seen[p.ID] {
			return fmt.Errorf("compute/qemu: guest %s: port %s twice", g.ID, p.ID)
		}
		seen[p.ID] = true
	}
	return nil
}

// checkPort refuses a port whose id cannot name a QEMU device (letters,
// digits, '-', '.' and '_': a Neutron port's uuid is one) or whose MAC
// is not one.
func checkPort(p virt.GuestPort) error {
	if p.ID == "" {
		return errors.New("a port without an id")
	}
	if strings.IndexFunc(p.ID, func(r rune) bool {
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '.' || r == '_')
	}) >= 0 {
		return fmt.Errorf("port id %q: want letters, digits, '-', '.' or '_'", p.ID)
	}
	if _, err := net.ParseMAC(p.MAC); err != nil {
		return fmt.Errorf("port %s: %w", p.ID, err)
	}
	return nil
}

// PCI slots of bus 0 a guest's devices may take: slot 0 is the i440fx
// host bridge, slot 1 the PIIX3 (ISA, IDE, ACPI); -nodefaults leaves
// the rest free.
const firstSlot, lastSlot = 2, 31

// diskSlots are the root disk's and the config drive's PCI slots (0 for
// one the guest lacks) and the first slot a NIC or a volume may take.
// The disks come first, in the slots QEMU gave them when it chose (the
// command line's order), so a guest started before slots were chosen
// here keeps its machine.
func (g *definition) diskSlots() (root, config, nics int) {
	next := firstSlot
	if g.Disk.Path != "" || g.Disk.Protocol != "" {
		root, next = next, next+1
	}
	if g.ConfigISO != "" {
		config, next = next, next+1
	}
	return root, config, next
}

// fillSlots gives each port, then each volume, without a slot the
// lowest free one from the first NIC slot on, in the order of Ports and
// Volumes, and forgets the slots of ports and volumes that went. NICs
// and volumes share bus 0, and each keeps its slot while it is
// attached. Ports of a guest.json written before slots were chosen get,
// that way, the slots QEMU gave them (one after another, in the command
// line's order).
func (g *definition) fillSlots() error {
	_, _, first := g.diskSlots()
	used := map[int]bool{}
	keep := func(kind, id string, have map[string]int, out map[string]int) error {
		s, ok := have[id]
		if !ok {
			return nil
		}
		if s < first || s > lastSlot || used[s] {
			return fmt.Errorf("compute/qemu: guest %s: %s %s: PCI slot %d is taken or out of range", g.ID, kind, id, s)
		}
		out[id], used[s] = s, true
		return nil
	}
	take := func(kind, id string, out map[string]int) error {
		if _, ok := out[id]; ok {
			return nil
		}
		s := first
		for used[s] {
			s++
		}
		if s > lastSlot {
			return fmt.Errorf("compute/qemu: guest %s: %s %s: no free PCI slot", g.ID, kind, id)
		}
		out[id], used[s] = s, true
		return nil
	}
	slots := make(map[string]int, len(g.Ports))
	volumes := make(map[string]int, len(g.Volumes))
	for _, p := range g.Ports {
		if err := keep("port", p.ID, g.Slots, slots); err != nil {
			return err
		}
	}
	for _, v := range g.Volumes {
		if err := keep("volume", v.VolumeID(), g.VolumeSlots, volumes); err != nil {
			return err
		}
	}
	for _, p := range g.Ports {
		if err := take("port", p.ID, slots); err != nil {
			return err
		}
	}
	for _, v := range g.Volumes {
		if err := take("volume", v.VolumeID(), volumes); err != nil {
			return err
		}
	}
	g.Slots, g.VolumeSlots = slots, volumes
	return nil
}

// pciAddr is a slot as QEMU's addr property takes it.
func pciAddr(slot int) string { return fmt.Sprintf("%#x", slot) }

// nicID is the QEMU id of a port's NIC and of its netdev: the port's
// own, so it stays the NIC's whatever is attached or detached beside it.
func nicID(portID string) string { return "net-" + portID }

// netdev is a port's tap backend, for -netdev and netdev_add alike: the
// tap the driver made (ensureTap), with no scripts.
func netdev(p virt.GuestPort) map[string]any {
	return map[string]any{"type": "tap", "id": nicID(p.ID), "ifname": tapName(p.ID), "script": "no", "downscript": "no"}
}

// nic is a port's NIC in slot, for -device and device_add alike.
func nic(p virt.GuestPort, slot int) map[string]any {
	// No checksum offload either way: Open vSwitch's userspace datapath
	// (what runs without kernel modules) reads the tap with a packet
	// socket and forwards a partial checksum as it is, which the other
	// end drops (ICMP passes, TCP does not). The guest computes its
	// own, and is given packets whose checksums are whole.
	dev := map[string]any{"driver": "virtio-net-pci", "id": nicID(p.ID), "netdev": nicID(p.ID), "mac": p.MAC,
		"csum": false, "guest_csum": false, "addr": pciAddr(slot)}
	if p.MTU > 0 {
		dev["host_mtu"] = p.MTU
	}
	return dev
}

// blockdev is a -blockdev in JSON (no escaping of the path needed): a
// format node over a file node.
func blockdev(node, format, path string, readOnly bool) string {
	file := map[string]any{"driver": "file", "filename": path}
	opts := map[string]any{"node-name": node, "driver": format, "file": file}
	if readOnly {
		file["read-only"] = true
		opts["read-only"] = true
	} else {
		opts["discard"] = "unmap"
	}
	return jsonArg(opts)
}

// device is a -device in JSON; an empty serial is left out.
func device(opts map[string]any) string {
	if s, ok := opts["serial"].(string); ok && s == "" {
		delete(opts, "serial")
	}
	return jsonArg(opts)
}

// jsonArg is an option in JSON, as -device and -blockdev take it: no
// escaping of values needed.
func jsonArg(opts map[string]any) string {
	b, _ := json.Marshal(opts) // maps of strings, bools and ints
	return string(b)
}

// keyval is a -netdev in the key=value form every QEMU takes (older
// ones take no JSON there): its type, then the other options sorted by
// key.
func keyval(opts map[string]any) string {
	out := []string{fmt.Sprint(opts["type"])}
	for _, k := range slices.Sorted(maps.Keys(opts)) {
		if k != "type" {
			out = append(out, k+"="+optEscape(fmt.Sprint(opts[k])))
		}
	}
	return strings.Join(out, ",")
}

// optEscape escapes a value in QEMU's key=value,key=value options: a
// comma is written twice.
func optEscape(s string) string { return strings.ReplaceAll(s, ",", ",,") }
