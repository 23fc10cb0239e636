package rbd_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/gostack/gostack/kit/crashpoint"
	"github.com/gostack/gostack/storage/rbd"
)

// cloneChild is the environment variable that makes this test binary
// the process TestCloneCrash kills: "<op> <conf> <user> <keyring> <pool>
// <flatten-from-snapshot> <max-clone-depth> <id> <src> [<snap>]".
const cloneChild = "GOSTACK_RBD_CLONE_CHILD"

// runCloneChild does what cloneChild says and exits: 0 when the clone
// returned nil, 1 when it failed (a kill at the armed crash point exits
// by SIGKILL before either).
func runCloneChild(v string) {
	f := strings.Fields(v)
	depth, _ := strconv.Atoi(f[6])
	ctx := context.Background()
	cl, err := rbd.New(ctx, rbd.Config{ConfFile: f[1], User: f[2], Keyring: f[3], Pool: f[4], FlattenFromSnapshot: f[5] == "true", MaxCloneDepth: depth})
	if err == nil {
		switch f[0] {
		case "snapshot":
			err = cl.CreateFromSnapshot(ctx, f[7], f[8], f[9], 8*mib)
		case "volume":
			err = cl.CloneVolume(ctx, f[7], f[8], 8*mib)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

func init() {
	if v := os.Getenv(cloneChild); v != "" {
		runCloneChild(v)
	}
}

// TestCloneCrash kills a client at storage.rbd.cloned while it clones a
// volume from a snapshot (CreateFromSnapshot) and from a volume
// (CloneVolume), flattened and not: the final name is not there yet
// (librbd's clone, which creates the child before it attaches the
// parent, worked on "volume-<id>.partial"). The image the clone made is
// then put back as a kill inside librbd's clone leaves it (an empty
// image with no parent), and the next try must remove it, clone again
// and end with the source's bytes under the final name — not take the
// empty image for a clone flattened before the kill, nor fail with
// ErrExists — no .partial left, a clone or flattened as asked, and the
// .clone_snap of a flattened clone of a volume removed. Done once more,
// it is done.
func TestCloneCrash(t *testing.T) {
	_, c := client(t, rbd.Config{})
	ctx := context.Background()
	cli := func(args ...string) {
		t.Helper()
		if out, err := c.RBD(ctx, args...); err != nil {
			t.Fatalf("rbd %v: %v: %s", args, err, out)
		}
	}
	path, want := content(t, 4*mib)
	base := newID()
	setup, _ := client(t, rbd.Config{})
	if err := setup.Import(ctx, base, path, 4*mib, 4*mib); err != nil {
		t.Fatal(err)
	}
	snap := newID()
	if err := setup.CreateSnapshot(ctx, base, snap); err != nil {
		t.Fatal(err)
	}
	// depth1 is a clone of base through its .clone_snap: depth 1.
	depth1 := newID()
	if err := setup.CloneVolume(ctx, depth1, base, 4*mib); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name, op, src, snap string
		flatten             bool // FlattenFromSnapshot
		maxDepth            int
		parent              string // want, "" when flattened
	}{
		{"snapshot-flattened", "snapshot", base, snap, true, 5, ""},
		{"snapshot", "snapshot", base, snap, false, 5, c.Pool + "/volume-" + base + "@snapshot-" + snap},
		{"volume-flattened", "volume", depth1, "", false, 1, ""},
		{"volume", "volume", depth1, "", false, 5, c.Pool + "/volume-" + depth1 + "@volume-%s.clone_snap"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := newID()
			parent := tc.parent
			if strings.Contains(parent, "%s") {
				parent = fmt.Sprintf(parent, id)
			}
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), crashpoint.Env+"=storage.rbd.cloned", cloneChild+"="+strings.Join([]string{
				tc.op, c.Conf, c.User, c.Keyring, c.Pool, strconv.FormatBool(tc.flatten), strconv.Itoa(tc.maxDepth), id, tc.src, tc.snap}, " "))
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Errorf("the client was not killed at storage.rbd.cloned: %v: %s", err, out)
			}
			cl, _ := client(t, rbd.Config{FlattenFromSnapshot: tc.flatten, MaxCloneDepth: tc.maxDepth})
			// What a kill inside librbd's clone leaves: an empty image
			// with no parent under the name the clone was made as.
			made := ""
			for _, n := range []string{"volume-" + id + ".partial", "volume-" + id} {
				if _, err := c.RBD(ctx, "info", c.Pool+"/"+n); err == nil {
					made = n
				}
			}
			switch made {
			case "":
				t.Fatal("the killed client made no image")
			case "volume-" + id:
				t.Errorf("volume-%s is there before its clone is whole", id)
			}
			cli("rm", c.Pool+"/"+made)
			cli("create", "--size", "4M", c.Pool+"/"+made)
			for try := range 2 {
				var err error
				if tc.op == "snapshot" {
					err = cl.CreateFromSnapshot(ctx, id, tc.src, tc.snap, 8*mib)
				} else {
					err = cl.CloneVolume(ctx, id, tc.src, 8*mib)
				}
				if err != nil {
					t.Fatalf("try %d: %v", try+1, err)
				}
			}
			in := info(t, cl, id)
			if in.Parent != parent || in.Size != 8*mib {
				t.Errorf("the volume: %+v, want parent %q and 8 MiB", in, parent)
			}
			if got := read(t, cl, id); !bytes.Equal(got[:4*mib], want) || !bytes.Equal(got[4*mib:], make([]byte, 4*mib)) {
				t.Error("the volume's content is not its source's")
			}
			if _, err := c.RBD(ctx, "info", c.Pool+"/volume-"+id+".partial"); err == nil {
				t.Error("volume-" + id + ".partial is left")
			}
			if tc.op == "volume" && parent == "" {
				if src := info(t, cl, tc.src); strings.Contains(strings.Join(src.Snapshots, " "), id) {
					t.Errorf("the flattened clone's snapshot is left: %v", src.Snapshots)
				}
			}
		})
	}
}
