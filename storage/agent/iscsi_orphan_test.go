package agent_test

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gostack/gostack/storage"
	"github.com/gostack/gostack/storage/agent"
	"github.com/gostack/gostack/storage/iscsi"
)

// A pool that exports nothing any more, with tgtd running: its
// Reconcile still removes the target and CHAP account of a copy no
// delete unexported (a migration's copy whose removal an admin's
// os-reset_status dropped), and leaves a target not its own; with tgtd
// stopped, a Reconcile of nothing does not start it.
func TestISCSIReconcileNothingRemovesOrphan(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: tgtd")
	}
	for _, b := range []string{"tgtd", "tgtadm"} {
		if _, err := exec.LookPath(b); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s not found: make test installs it", b)
			}
			t.Skipf("%s not found", b)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	ex := &iscsi.Exporter{Dir: filepath.Join(dir, "tgt"), ControlPort: freeTgtPort(t),
		Portal: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), freeTCPPort(t))}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := ex.Stop(ctx); err != nil && !errors.Is(err, iscsi.ErrNotRunning) {
			t.Errorf("stop tgtd: %v", err)
		}
	})
	b := &agent.ISCSI{Files: iscsi.Files{Dir: filepath.Join(dir, "volumes")}, Exporter: ex}
	tgtadm := func(args ...string) string {
		t.Helper()
		out, err := exec.CommandContext(ctx, "tgtadm", append([]string{"-C", strconv.Itoa(ex.ControlPort), "--lld", "iscsi"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("tgtadm %q: %v: %s", args, err, out)
		}
		return string(out)
	}
	accounts := func() []string {
		var users []string
		for _, line := range strings.Split(tgtadm("--mode", "account", "--op", "show"), "\n") {
			if strings.HasPrefix(line, "    ") {
				users = append(users, strings.TrimSpace(line))
			}
		}
		return users
	}

	// Nothing exported, tgtd not running: nothing started.
	if err := b.Reconcile(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if pid, ok := ex.PID(); ok {
		t.Fatalf("Reconcile of nothing started tgtd (pid %d)", pid)
	}

	// The destination's copy of a migration, exported to its source.
	v := storage.Volume{ID: uuid.NewString(), Size: 1}
	x, err := b.CreateClaimed(ctx, v, "migration-"+uuid.NewString())
	if err != nil {
		t.Fatal(err)
	}
	iqn := ex.IQN(v.ID)
	if !strings.Contains(x.Location, iqn) {
		t.Fatalf("location %q does not name %s", x.Location, iqn)
	}
	user := strings.Fields(x.Auth)[1]
	// Someone else's target on the same tgtd, which stays.
	tgtadm("--mode", "target", "--op", "new", "--tid", "90", "--targetname", "iqn.2024-01.org.example:theirs")
	if acc := accounts(); !slices.Contains(acc, user) {
		t.Fatalf("accounts %q: no %s", acc, user)
	}

	// The reset dropped the copy's removal: the pool lists no volume.
	if err := b.Reconcile(ctx, nil); err != nil {
		t.Fatal(err)
	}
	ts, err := ex.Targets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tg := range ts {
		names = append(names, tg.IQN)
	}
	if !slices.Equal(names, []string{"iqn.2024-01.org.example:theirs"}) {
		t.Errorf("targets %q, want only theirs (%s unexported)", names, iqn)
	}
	if acc := accounts(); slices.Contains(acc, user) {
		t.Errorf("the orphan copy's CHAP account %s is left: %q", user, acc)
	}
	if _, ok := ex.PID(); !ok {
		t.Error("tgtd stopped")
	}
	// The copy's file is the operator's to remove: Reconcile keeps it.
	if _, err := os.Stat(b.Files.Path(v.ID)); err != nil {
		t.Errorf("the copy's file: %v", err)
	}
}
