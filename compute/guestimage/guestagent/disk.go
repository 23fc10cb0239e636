package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// firstBytes is how much of a disk's start the agent says, in hex: what
// a test wrote there, read back through the whole path (hypervisor,
// network, target).
const firstBytes = 16

// blockDisk is a whole disk as /sys/block lists it.
type blockDisk struct {
	serial string
	size   int64 // bytes
}

// disks is the guest's disks by name (vda, sdb...), loop and RAM disks
// left out.
func disks() map[string]blockDisk {
	entries, _ := os.ReadDir("/sys/block")
	out := map[string]blockDisk{}
	for _, e := range entries {
		n := e.Name()
		if strings.HasPrefix(n, "loop") || strings.HasPrefix(n, "ram") || strings.HasPrefix(n, "zram") {
			continue
		}
		out[n] = blockDisk{serial: diskSerial(n), size: diskSize(n)}
	}
	return out
}

// diskSerial is the serial a virtio disk carries (virtio-blk keeps 20
// bytes of it), or a SCSI one's; "" if it has none.
func diskSerial(n string) string {
	for _, p := range []string{"/sys/block/" + n + "/serial", "/sys/block/" + n + "/device/serial"} {
		if b, err := os.ReadFile(p); err == nil {
			return strings.TrimRight(string(b), " \n\x00")
		}
	}
	return ""
}

// diskSize is the disk's size in bytes (/sys counts 512-byte sectors).
func diskSize(n string) int64 {
	b, _ := os.ReadFile("/sys/block/" + n + "/size")
	sectors, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return sectors * 512
}

// head reads the disk's first bytes through its device node; fs.ErrNotExist
// while devtmpfs has not made the node yet.
func head(n string) ([]byte, error) {
	f, err := os.Open(filepath.Join("/dev", n))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, firstBytes)
	k, err := io.ReadFull(f, b)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, err
	}
	return b[:k], nil
}

// describe is a disk as the agent says it: serial, size and first bytes.
func describe(d blockDisk, first []byte, err error) string {
	s := fmt.Sprintf("serial=%s size=%d", d.serial, d.size)
	if err != nil {
		return s + " first=unreadable: " + err.Error()
	}
	return fmt.Sprintf("%s first=%x", s, first)
}

// bootDisks says the disks the guest booted with and returns them.
func bootDisks() map[string]blockDisk {
	now := disks()
	for _, n := range slices.Sorted(maps.Keys(now)) {
		first, err := head(n)
		say("disk %s at boot %s", n, describe(now[n], first, err))
	}
	return now
}

// watchDisks looks at the disks every second, from those of the boot
// on, for ever: one that appears (hot-plugged: a volume attached) is
// said with its serial, size and first bytes once its device node is
// there; one that goes (a volume detached) is said, and so is one whose
// size changed (a volume extended). A disk whose serial changed between
// two looks went and another came.
func watchDisks(known map[string]blockDisk) {
	for range time.Tick(time.Second) {
		now := disks()
		for _, n := range slices.Sorted(maps.Keys(known)) {
			d, ok := now[n]
			switch {
			case !ok || d.serial != known[n].serial:
				say("disk %s gone serial=%s", n, known[n].serial)
				delete(known, n)
			case d.size != known[n].size:
				// A volume extended while attached (virtio-blk's capacity
				// change).
				say("disk %s resized serial=%s size=%d", n, d.serial, d.size)
				known[n] = d
			}
		}
		for _, n := range slices.Sorted(maps.Keys(now)) {
			if _, ok := known[n]; ok {
				continue
			}
			first, err := head(n)
			if errors.Is(err, fs.ErrNotExist) {
				continue // its node comes next; said at the next look
			}
			if err == nil && int64(len(first)) < min(firstBytes, now[n].size) {
				// Read while the kernel was still setting the new disk up
				// (its node's size not yet the disk's): a short read, not
				// its content. Read again at the next look.
				continue
			}
			known[n] = now[n]
			say("disk %s appeared %s", n, describe(now[n], first, err))
		}
	}
}
