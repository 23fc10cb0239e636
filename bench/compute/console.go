package main

import (
	"bytes"
	"context"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The console marks a guest's serial log is watched for. SeaBIOS writes
// the first line within ~0.1 s of QEMU's start; the guest's own first
// line is the kernel's; the last of a boot is ready (after DHCP and the
// metadata service or config drive).
const (
	markKernel = "gostack-guest: kernel"
	markReady  = "gostack-guest: ready"
)

// marks are when a console showed each mark, from a start; zero when it
// did not within the watch.
type marks struct {
	first, kernel, ready time.Duration
}

// pollEvery is how often a console file is looked at: the resolution of
// every console figure.
const pollEvery = 20 * time.Millisecond

// watchConsole polls the serial log at path (which may not exist yet)
// until it shows the kernel's line, or ready too when wantReady, or ctx
// ends. Times are from start.
func watchConsole(ctx context.Context, path string, start time.Time, wantReady bool) marks {
	var m marks
	var size int64 = -1
	for {
		if fi, err := os.Stat(path); err == nil && fi.Size() != size {
			size = fi.Size()
			b, _ := os.ReadFile(path)
			now := time.Since(start)
			if m.first == 0 && bytes.IndexByte(b, '\n') >= 0 {
				m.first = now
			}
			if m.kernel == 0 && bytes.Contains(b, []byte(markKernel)) {
				m.kernel = now
			}
			if m.ready == 0 && bytes.Contains(b, []byte(markReady)) {
				m.ready = now
			}
		}
		if m.kernel != 0 && (!wantReady || m.ready != 0) {
			return m
		}
		select {
		case <-ctx.Done():
			return m
		case <-time.After(pollEvery):
		}
	}
}

// cpu is a process's CPU time: its own (user + system) and that of its
// children it waited for (qemu-img, QEMU's parent before it daemonizes,
// ovs-vsctl).
type cpu struct{ self, children time.Duration }

// procCPU reads /proc/<pid>/stat.
func procCPU(pid int) cpu {
	f := procStat(pid)
	if len(f) < 17 {
		return cpu{}
	}
	tick := func(i int) time.Duration {
		n, _ := strconv.ParseInt(f[i], 10, 64)
		return time.Duration(n) * time.Second / 100 // USER_HZ
	}
	return cpu{self: tick(13) + tick(14), children: tick(15) + tick(16)}
}

func (c cpu) sub(o cpu) cpu { return cpu{self: c.self - o.self, children: c.children - o.children} }

// startTime is the process's start time in clock ticks since boot: with
// the pid, what names one process for good.
func startTime(pid int) string {
	if f := procStat(pid); len(f) > 21 {
		return f[21]
	}
	return ""
}

// procStat is /proc/<pid>/stat's fields, counted from 0 (the command,
// which may hold spaces, is skipped as one field).
func procStat(pid int) []string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil
	}
	return append([]string{"pid", "comm"}, strings.Fields(s[i+1:])...)
}

// median of ds (the lower middle of an even count); 0 for none.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[(len(s)-1)/2]
}

// maxOf is the largest of ds, or 0 if any is 0 (a mark not seen).
func maxOf(ds []time.Duration) time.Duration {
	var m time.Duration
	for _, d := range ds {
		if d == 0 {
			return 0
		}
		m = max(m, d)
	}
	return m
}

func secs(d time.Duration) string {
	if d == 0 {
		return "—"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', 2, 64)
}
