package iscsi_test

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gostack/gostack/storage/iscsi"
)

// Sequential write and read of a 128 MiB volume in 1 MiB requests, 8 in
// flight, with qemu-img bench (cache=writeback, QEMU's default): through
// the export (QEMU's initiator over loopback TCP, tgtd, the backing file
// in the page cache) and on a backing file directly (through the page
// cache, and with O_DIRECT: the disk), in the same run; the figures and ratios are logged (go test -v
// -run TestThroughput), the best of three runs each, as the page cache's
// writeback makes single runs vary. The first write to each file
// allocates its blocks. It fails only if the export moves no data.
func TestThroughput(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	l := newLab(t)
	const size = 128 << 20
	direct := l.volume(uuid(), size)
	id := uuid()
	c := l.export(iscsi.Export{VolumeID: id, Path: l.volume(id, size)})

	bench := func(target string, write bool, cache string) float64 {
		t.Helper()
		args := []string{"bench", "-f", "raw", "-t", cache, "-c", strconv.Itoa(size >> 20), "-s", "1M", "-d", "8"}
		if write {
			args = append(args, "-w", "--pattern=165")
		}
		out, err := exec.Command("qemu-img", append(args, target)...).CombinedOutput()
		if err != nil {
			t.Fatalf("qemu-img bench: %v: %s", err, out)
		}
		m := regexp.MustCompile(`Run completed in ([0-9.]+) seconds`).FindSubmatch(out)
		if m == nil {
			t.Fatalf("qemu-img bench said %q", out)
		}
		secs, _ := strconv.ParseFloat(string(m[1]), 64)
		return float64(size) / (1 << 20) / secs
	}
	for _, write := range []bool{true, false} {
		op := map[bool]string{true: "write", false: "read"}[write]
		var raw, disk, lun float64
		for range 3 {
			raw = max(raw, bench(direct, write, "writeback"))
			disk = max(disk, bench(direct, write, "none"))
			lun = max(lun, bench(c.URL(), write, "writeback"))
		}
		t.Logf("sequential %s, 1 MiB x 8: export %.0f MiB/s; backing file %.0f MiB/s (ratio %.2f), with O_DIRECT %.0f MiB/s (ratio %.2f)",
			op, lun, raw, lun/raw, disk, lun/disk)
		if lun <= 0 {
			t.Errorf("%s: nothing moved through the export", op)
		}
	}
}

// tgtd reuses its commands' data buffers: once 64 MiB of 1 MiB writes
// and reads, 8 in flight, have grown its heap, 64 MiB more of each cost
// it almost no page faults. With glibc's default malloc settings every
// 1 MiB buffer was new memory, 257 minor faults a command (16448 for
// 64 MiB), each page zeroed by the kernel in tgtd's event loop.
func TestTgtdReusesBuffers(t *testing.T) {
	l := newLab(t)
	const size = 64 << 20
	id := uuid()
	c := l.export(iscsi.Export{VolumeID: id, Path: l.volume(id, size)})
	pid, ok := l.e.PID()
	if !ok {
		t.Fatal("no tgtd pid")
	}
	faults := func() int64 {
		t.Helper()
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			t.Fatal(err)
		}
		// Fields after the command's closing parenthesis: state is 3,
		// minflt 10.
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
		n, err := strconv.ParseInt(f[7], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	bench := func(write bool) {
		t.Helper()
		args := []string{"bench", "-f", "raw", "-c", strconv.Itoa(size >> 20), "-s", "1M", "-d", "8"}
		if write {
			args = append(args, "-w", "--pattern=165")
		}
		if out, err := exec.Command("qemu-img", append(args, c.URL())...).CombinedOutput(); err != nil {
			t.Fatalf("qemu-img bench: %v: %s", err, out)
		}
	}
	bench(true)
	bench(false)
	for _, write := range []bool{true, false} {
		before := faults()
		bench(write)
		n := faults() - before
		t.Logf("write %v: %d minor faults in tgtd for %d MiB", write, n, size>>20)
		// 1 MiB is 256 pages: a fault for every 64th page at most.
		if limit := int64(size / 4096 / 64); n > limit {
			t.Errorf("write %v: tgtd took %d page faults for %d MiB in 1 MiB commands, want at most %d: its data buffers are not reused",
				write, n, size>>20, limit)
		}
	}
}
