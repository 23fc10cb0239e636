package iscsi_test

import (
	"os/exec"
	"regexp"
	"strconv"
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
