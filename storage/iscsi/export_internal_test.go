package iscsi

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gostack/gostack/internal/testenv"
)

// ACL entries as tgtd shows them are told apart (addresses and prefixes
// are bound with -I, names with -Q), and an Export's ACL is written the
// way tgtd shows it back, so that comparing the two finds no change.
func TestACLEntries(t *testing.T) {
	f, err := os.Open("testdata/show-targets.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ts, err := parseTargets(f)
	if err != nil {
		t.Fatal(err)
	}
	shown := append(ts[1].ACL, ts[0].ACL...) // 3 addresses, 1 name, ALL
	for i, a := range shown {
		if got, want := isAddressEntry(a), i != 3; got != want {
			t.Errorf("isAddressEntry(%q) = %v", a, got)
		}
	}
	x := Export{
		Initiators: []string{"iqn.1994-05.com.redhat:host1", "iqn.1994-05.com.redhat:host1"},
		Addresses: []netip.Prefix{
			netip.MustParsePrefix("192.0.2.7/32"),
			netip.MustParsePrefix("10.1.2.3/8"),
			netip.MustParsePrefix("2001:db8::/32"),
		},
	}
	got := x.acl()
	want := slices.Sorted(slices.Values(ts[1].ACL))
	if !slices.Equal(got, want) {
		t.Errorf("acl %q, want %q", got, want)
	}
	if got := (&Export{}).acl(); !slices.Equal(got, []string{"ALL"}) {
		t.Errorf("no ACL: %q, want ALL", got)
	}
}

// directOK: a file on a filesystem that takes O_DIRECT (the test's
// temporary directory, ext4 here) is; a missing one is not.
func TestDirectOK(t *testing.T) {
	f := filepath.Join(t.TempDir(), "v")
	if err := os.WriteFile(f, make([]byte, 4096), 0o600); err != nil {
		t.Fatal(err)
	}
	if !directOK(f) {
		t.Errorf("directOK(%s) = false on a regular file", f)
	}
	if directOK(f + ".missing") {
		t.Errorf("directOK of a missing file = true")
	}
	// A device of 4 KiB logical blocks takes O_DIRECT but not the LUN's
	// 512-byte blocks: not direct.
	if err := os.Truncate(f, 1<<20); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("losetup", "--find", "--show", "--sector-size", "4096", f).CombinedOutput()
	if err != nil {
		if testenv.CI() {
			t.Fatalf("losetup: %v: %s", err, out)
		}
		t.Skipf("no loop device: %v: %s", err, out)
	}
	dev := strings.TrimSpace(string(out))
	defer exec.Command("losetup", "--detach", dev).Run()
	if directOK(dev) {
		t.Errorf("directOK(%s), a device of 4 KiB sectors, = true", dev)
	}
}

// tgtd's environment gets the malloc tunables that make it reuse its
// data buffers, after any GLIBC_TUNABLES already set; a malloc tunable
// already set keeps its value.
func TestTgtdEnv(t *testing.T) {
	tun := func(env []string) (string, int) {
		var v string
		n := 0
		for _, kv := range env {
			if s, ok := strings.CutPrefix(kv, "GLIBC_TUNABLES="); ok {
				v, n = s, n+1
			}
		}
		return v, n
	}
	for _, c := range []struct {
		env  []string
		want string
	}{
		{[]string{"PATH=/usr/sbin"}, "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=67108864"},
		{[]string{"GLIBC_TUNABLES=glibc.malloc.arena_max=1", "PATH=/usr/sbin"},
			"glibc.malloc.arena_max=1:glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=67108864"},
		{[]string{"GLIBC_TUNABLES=glibc.malloc.trim_threshold=1048576"},
			"glibc.malloc.trim_threshold=1048576:glibc.malloc.mmap_threshold=33554432"},
		{[]string{"GLIBC_TUNABLES="}, "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=67108864"},
	} {
		got := tgtdEnv(c.env)
		v, n := tun(got)
		if v != c.want || n != 1 {
			t.Errorf("tgtdEnv(%q) = %q: GLIBC_TUNABLES %q (%d times), want %q once", c.env, got, v, n, c.want)
		}
		if !slices.Contains(c.env, "PATH=/usr/sbin") == slices.Contains(got, "PATH=/usr/sbin") {
			t.Errorf("tgtdEnv(%q) = %q: PATH changed", c.env, got)
		}
	}
}
