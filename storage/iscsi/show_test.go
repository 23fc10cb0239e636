package iscsi

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// The testdata/show-*.txt files are tgtadm --mode target --op show of a
// real tgtd 1.0.85 (Debian 12): show-targets.txt has a target with two
// initiators logged in, one with address, prefix and name ACL entries,
// an outgoing account and a direct-I/O LUN, and one with no LUN and no
// ACL. testdata/show-*.golden are what parseTargets makes of them (go
// test -run TestParseTargets -update rewrites them).
func TestParseTargets(t *testing.T) {
	files, _ := filepath.Glob("testdata/show-*.txt")
	if len(files) == 0 {
		t.Fatal("no testdata/show-*.txt")
	}
	for _, in := range files {
		name := strings.TrimSuffix(filepath.Base(in), ".txt")
		t.Run(name, func(t *testing.T) {
			f, err := os.Open(in)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, err := parseTargets(f)
			if err != nil {
				t.Fatal(err)
			}
			b, err := json.MarshalIndent(got, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden := strings.TrimSuffix(in, ".txt") + ".golden"
			if *update {
				if err := os.WriteFile(golden, append(b, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if string(want) != string(b)+"\n" {
				t.Errorf("parse %s:\n%s\nwant (%s):\n%s", in, b, golden, want)
			}
		})
	}
}

// The values the package relies on, checked by hand rather than through
// the golden file.
func TestParseTargetsFields(t *testing.T) {
	f, err := os.Open("testdata/show-targets.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ts, err := parseTargets(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 3 || ts[0].TID != 1 || ts[1].TID != 3 || ts[2].TID != 4 {
		t.Fatalf("targets %+v", ts)
	}
	t1, t3, t4 := ts[0], ts[1], ts[2]
	if t1.IQN != "iqn.2010-10.org.openstack:volume-5b4c1e2a-8f0d-4c5e-9a51-0b7e6d3c2f10" || t1.State != "ready" || t1.Driver != "iscsi" {
		t.Errorf("target 1: %+v", t1)
	}
	if len(t1.Nexuses) != 2 || t1.Nexuses[1].ID != 2 || t1.Nexuses[1].Initiator != "iqn.2008-11.org.linux-kvm" ||
		t1.Nexuses[1].Alias != "none" || len(t1.Nexuses[1].Connections) != 1 || t1.Nexuses[1].Connections[0].Address != "127.0.0.1" {
		t.Errorf("target 1 nexuses: %+v", t1.Nexuses)
	}
	l, ok := t1.lun(1)
	if !ok || l.Type != "disk" || l.BackingPath != "/tmp/tgtexp/vol1" || l.BackingType != "rdwr" || l.BackingFlags != "" ||
		l.SizeMB != 67 || l.BlockSize != 512 || !l.Online || l.Readonly {
		t.Errorf("target 1 LUN 1: %+v", l)
	}
	if l0, ok := t1.lun(0); !ok || l0.Type != "controller" || l0.BackingPath != "None" {
		t.Errorf("target 1 LUN 0: %+v", l0)
	}
	if len(t1.Accounts) != 1 || t1.Accounts[0] != "Xq3yZ8pLm2Nc7RvT4bWd" || len(t1.ACL) != 1 || t1.ACL[0] != "ALL" {
		t.Errorf("target 1 accounts %q, ACL %q", t1.Accounts, t1.ACL)
	}
	if l, _ := t3.lun(1); l.BackingFlags != "direct" || l.SizeMB != 1074 {
		t.Errorf("target 3 LUN 1: %+v", l)
	}
	if len(t3.Accounts) != 1 || t3.Accounts[0] != "user3" || t3.Outgoing != "mutual3" {
		t.Errorf("target 3 accounts %q, outgoing %q", t3.Accounts, t3.Outgoing)
	}
	wantACL := []string{"192.0.2.7", "10.0.0.0/8", "2001:db8::/32", "iqn.1994-05.com.redhat:host1"}
	if strings.Join(t3.ACL, " ") != strings.Join(wantACL, " ") {
		t.Errorf("target 3 ACL %q, want %q", t3.ACL, wantACL)
	}
	if _, ok := t4.lun(1); ok || len(t4.ACL) != 0 || len(t4.Accounts) != 0 || len(t4.Nexuses) != 0 {
		t.Errorf("target 4: %+v", t4)
	}
}

func TestParseTargetsErrors(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"not a target", "Target x: iqn.a\n", "not a target"},
		{"tid 0", "Target 0: iqn.a\n", "not a target"},
		{"before target", "    LUN information:\n", "before the first target"},
		{"bad LUN", "Target 1: iqn.a\n    LUN information:\n        LUN: one\n", "not a LUN"},
		{"bad size", "Target 1: iqn.a\n    LUN information:\n        LUN: 1\n            Size: big\n", "not a size"},
		{"bad nexus", "Target 1: iqn.a\n    I_T nexus information:\n        I_T nexus: x\n", "not a nexus"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseTargets(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
}

// tgtdSizeMB is tgt's print_disksize: the figures tgtd printed for
// these sizes.
func TestTgtdSizeMB(t *testing.T) {
	for size, want := range map[int64]int64{
		0:        0,
		64 << 20: 67,
		1 << 30:  1074,
		16 << 20: 17,
	} {
		if got := tgtdSizeMB(size); got != want {
			t.Errorf("tgtdSizeMB(%d) = %d, want %d", size, got, want)
		}
	}
}
