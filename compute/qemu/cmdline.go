package qemu

import (
	"encoding/json"
	"fmt"
	"net"
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

// commandLine is QEMU's arguments for g. incoming starts it paused
// (-S), loading the saved memory state from incomingFD.
func commandLine(g *virt.Guest, f files, accel string, incoming bool) ([]string, error) {
	if err := checkGuest(g); err != nil {
		return nil, err
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
	if d := g.Disk; d.Path != "" {
		format := d.Format
		if format == "" {
			format = "raw"
		}
		args = append(args, "-blockdev", blockdev("root", format, d.Path, false),
			"-device", device(map[string]any{"driver": "virtio-blk-pci", "id": "root", "drive": "root", "bootindex": 1, "serial": d.Serial}))
	}
	if g.ConfigISO != "" {
		// cloud-init finds the config drive by its filesystem label.
		args = append(args, "-blockdev", blockdev("config", "raw", g.ConfigISO, true),
			"-device", device(map[string]any{"driver": "virtio-blk-pci", "id": "config", "drive": "config"}))
	}
	for i, p := range g.Ports {
		id := "net" + strconv.Itoa(i)
		args = append(args, "-netdev", "tap,id="+id+",ifname="+tapName(p.ID)+",script=no,downscript=no")
		// No checksum offload either way: Open vSwitch's userspace datapath
		// (what runs without kernel modules) reads the tap with a packet
		// socket and forwards a partial checksum as it is, which the other
		// end drops (ICMP passes, TCP does not). The guest computes its
		// own, and is given packets whose checksums are whole.
		dev := map[string]any{"driver": "virtio-net-pci", "id": id, "netdev": id, "mac": p.MAC, "csum": false, "guest_csum": false}
		if p.MTU > 0 {
			dev["host_mtu"] = p.MTU
		}
		args = append(args, "-device", device(dev))
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
		return fmt.Errorf("compute/qemu: guest %s: %s disk: network disks are not supported yet: %w", g.ID, g.Disk.Protocol, virt.ErrNotSupported)
	}
	switch g.Disk.Format {
	case "", "raw", "qcow2":
	default:
		return fmt.Errorf("compute/qemu: guest %s: disk format %q: want raw or qcow2", g.ID, g.Disk.Format)
	}
	for _, p := range g.Ports {
		if p.ID == "" {
			return fmt.Errorf("compute/qemu: guest %s: a port without an id", g.ID)
		}
		if _, err := net.ParseMAC(p.MAC); err != nil {
			return fmt.Errorf("compute/qemu: guest %s: port %s: %w", g.ID, p.ID, err)
		}
		if strings.ContainsAny(p.ID, ",=/ ") {
			return fmt.Errorf("compute/qemu: guest %s: port id %q", g.ID, p.ID)
		}
	}
	return nil
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
	b, _ := json.Marshal(opts) // maps of strings, bools and ints
	return string(b)
}

// device is a -device in JSON; an empty serial is left out.
func device(opts map[string]any) string {
	if s, ok := opts["serial"].(string); ok && s == "" {
		delete(opts, "serial")
	}
	b, _ := json.Marshal(opts)
	return string(b)
}

// optEscape escapes a value in QEMU's key=value,key=value options: a
// comma is written twice.
func optEscape(s string) string { return strings.ReplaceAll(s, ",", ",,") }
