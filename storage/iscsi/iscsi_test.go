package iscsi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/storage/iscsi"
)

// Bytes written through the exported LUN with QEMU's initiator read back
// identical, through the LUN and in the backing file; the connection
// info is what Nova takes; a second Export changes nothing.
func TestExportReadWrite(t *testing.T) {
	l := newLab(t)
	ctx := context.Background()
	id := uuid()
	const size = 8 << 20
	path := l.volume(id, size)

	start := time.Now()
	c := l.export(iscsi.Export{VolumeID: id, Path: path})
	t.Logf("export: %v", time.Since(start).Round(time.Microsecond))

	iqn := "iqn.2010-10.org.openstack:volume-" + id
	if c.IQN != iqn || c.LUN != 1 || c.Portal != l.e.Portal || c.VolumeID != id || c.TID < 1 {
		t.Fatalf("connection %+v", c)
	}
	if len(c.CHAP.Username) != 20 || len(c.CHAP.Password) != 16 {
		t.Fatalf("credentials of %d and %d characters", len(c.CHAP.Username), len(c.CHAP.Password))
	}
	b, err := json.Marshal(c.Info())
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`{"data":{"auth_method":"CHAP","auth_password":%q,"auth_username":%q,"target_discovered":false,"target_iqn":%q,"target_lun":1,"target_portal":%q,"volume_id":%q},"driver_volume_type":"iscsi"}`,
		c.CHAP.Password, c.CHAP.Username, iqn, l.e.Portal.String(), id)
	if string(b) != want {
		t.Errorf("connection info\n%s\nwant\n%s", b, want)
	}

	tg, ok := l.target(iqn)
	lun, _ := func() (iscsi.LUN, bool) {
		for _, x := range tg.LUNs {
			if x.Number == 1 {
				return x, true
			}
		}
		return iscsi.LUN{}, false
	}()
	// The file is opened with O_DIRECT (Exporter.Buffered is false).
	if !ok || tg.TID != c.TID || lun.BackingPath != path || lun.Type != "disk" || lun.BackingFlags != "direct" ||
		!slices.Equal(tg.Accounts, []string{c.CHAP.Username}) || !slices.Equal(tg.ACL, []string{"ALL"}) {
		t.Fatalf("tgtd has %+v", tg)
	}
	if got := capacity(t, c); got != size {
		t.Errorf("READ CAPACITY: %d bytes, want %d", got, size)
	}
	if params := l.tgtadm("--mode", "target", "--op", "show", "--tid", fmt.Sprint(c.TID)); !strings.Contains(params, "\nMaxRecvDataSegmentLength=262144\n") {
		t.Errorf("target parameters:\n%s", params)
	}

	src, pattern := randomFile(t, 4<<20)
	writeLUN(t, c, src)
	checkData(t, "read through the LUN", readLUN(t, c), pattern, size)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	checkData(t, "backing file", raw, pattern, size)

	// Again, with the credentials it got: nothing changes.
	before := l.logs.String()
	start = time.Now()
	c2, err := l.e.Export(ctx, iscsi.Export{VolumeID: id, Path: path, CHAP: c.CHAP})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("export again (no change): %v", time.Since(start).Round(time.Microsecond))
	if c2 != c {
		t.Errorf("second Export: %+v, want %+v", c2, c)
	}
	if changes := strings.TrimPrefix(l.logs.String(), before); changes != "" {
		t.Errorf("a second Export changed tgtd:\n%s", changes)
	}
}

// A wrong or missing CHAP password is refused; so is an initiator the
// ACL does not name, by name or by address.
func TestRefusals(t *testing.T) {
	l := newLab(t)
	id := uuid()
	path := l.volume(id, 1<<20)
	c := l.export(iscsi.Export{VolumeID: id, Path: path})

	if out, err := login(c.URL(), ""); err != nil {
		t.Fatalf("right credentials: %v: %s", err, out)
	}
	for _, tc := range []struct{ name, user, password string }{
		{"wrong password", c.CHAP.Username, c.CHAP.Password + "x"},
		{"wrong user", c.CHAP.Username + "x", c.CHAP.Password},
		{"no credentials", "", ""},
	} {
		out, err := login(url(c, tc.user, tc.password), "")
		if err == nil {
			t.Errorf("%s: logged in: %s", tc.name, out)
		} else if !strings.Contains(out, "Authentication failure") {
			t.Errorf("%s: %v: %s (want an authentication failure)", tc.name, err, out)
		}
	}

	const allowed, other = "iqn.1994-05.com.redhat:allowed", "iqn.1994-05.com.redhat:other"
	c = l.export(iscsi.Export{VolumeID: id, Path: path, CHAP: c.CHAP, Initiators: []string{allowed}})
	if tg, _ := l.target(c.IQN); !slices.Equal(tg.ACL, []string{allowed}) {
		t.Fatalf("ACL %q, want only %s", tg.ACL, allowed)
	}
	if out, err := login(c.URL(), allowed); err != nil {
		t.Errorf("initiator in the ACL: %v: %s", err, out)
	}
	for _, name := range []string{other, ""} {
		if out, err := login(c.URL(), name); err == nil {
			t.Errorf("initiator %q not in the ACL logged in: %s", name, out)
		} else if !strings.Contains(out, "Target not found") {
			t.Errorf("initiator %q: %v: %s (want 'Target not found')", name, err, out)
		}
	}

	// Only, with nobody in it: nobody logs in.
	c = l.export(iscsi.Export{VolumeID: id, Path: path, CHAP: c.CHAP, Only: true})
	if tg, _ := l.target(c.IQN); len(tg.ACL) != 0 {
		t.Fatalf("ACL %q, want none", tg.ACL)
	}
	for _, name := range []string{allowed, ""} {
		if out, err := login(c.URL(), name); err == nil {
			t.Errorf("initiator %q logged in to a target open to nobody: %s", name, out)
		}
	}

	// By address: the loopback prefix lets any name in, another does not.
	c = l.export(iscsi.Export{VolumeID: id, Path: path, CHAP: c.CHAP, Addresses: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	if out, err := login(c.URL(), other); err != nil {
		t.Errorf("address in the ACL: %v: %s", err, out)
	}
	c = l.export(iscsi.Export{VolumeID: id, Path: path, CHAP: c.CHAP, Addresses: []netip.Prefix{netip.MustParsePrefix("192.0.2.7/32")}})
	if tg, _ := l.target(c.IQN); !slices.Equal(tg.ACL, []string{"192.0.2.7"}) {
		t.Fatalf("ACL %q, want only 192.0.2.7", tg.ACL)
	}
	if out, err := login(c.URL(), ""); err == nil {
		t.Errorf("address not in the ACL logged in: %s", out)
	}
	// No ACL again: anyone with the credentials.
	c = l.export(iscsi.Export{VolumeID: id, Path: path, CHAP: c.CHAP})
	if out, err := login(c.URL(), other); err != nil {
		t.Errorf("no ACL: %v: %s", err, out)
	}

}

// New credentials for an exported volume replace the old ones, and a new
// Exporter on the same Dir (a restarted agent) trusts the account it
// finds for the credentials it was made with.
func TestCredentialChange(t *testing.T) {
	l := newLab(t)
	ctx := context.Background()
	id := uuid()
	path := l.volume(id, 1<<20)
	c := l.export(iscsi.Export{VolumeID: id, Path: path})

	// The same user, another password: the old password stops working.
	next := iscsi.CHAP{Username: c.CHAP.Username, Password: "another-password-1"}
	l.secret(next.Password)
	c2 := l.export(iscsi.Export{VolumeID: id, Path: path, CHAP: next})
	if out, err := login(c.URL(), ""); err == nil {
		t.Errorf("old password still logs in: %s", out)
	}
	if out, err := login(c2.URL(), ""); err != nil {
		t.Errorf("new password: %v: %s", err, out)
	}
	// And new random ones (an Export without credentials): one account,
	// the old one deleted.
	c3 := l.export(iscsi.Export{VolumeID: id, Path: path})
	if c3.CHAP.Username == next.Username {
		t.Fatal("no new user")
	}
	if acc := l.accounts(); !slices.Equal(acc, []string{c3.CHAP.Username}) {
		t.Errorf("accounts %q, want only %s", acc, c3.CHAP.Username)
	}
	if out, err := login(c3.URL(), ""); err != nil {
		t.Errorf("new user: %v: %s", err, out)
	}

	// A new Exporter on the same Dir: the same Export changes nothing.
	fresh := &iscsi.Exporter{Dir: l.e.Dir, ControlPort: l.e.ControlPort, Portal: l.e.Portal, Tgtd: l.e.Tgtd, Tgtadm: l.e.Tgtadm, Log: l.e.Log}
	before := l.logs.String()
	if _, err := fresh.Export(ctx, iscsi.Export{VolumeID: id, Path: path, CHAP: c3.CHAP}); err != nil {
		t.Fatal(err)
	}
	if changes := strings.TrimPrefix(l.logs.String(), before); changes != "" {
		t.Errorf("a new Exporter changed tgtd:\n%s", changes)
	}
}

// tgtd killed (SIGKILL, by its pid) and started again by Reconcile has
// every wanted volume again under the same name and credentials, with
// its data; the targets of volumes no longer wanted go, and others'
// targets stay.
func TestRestartReconcile(t *testing.T) {
	l := newLab(t)
	ctx := context.Background()
	const n, size = 4, 2 << 20
	var want []iscsi.Export
	var conns []iscsi.Connection
	var patterns [][]byte
	for range n {
		id := uuid()
		x := iscsi.Export{VolumeID: id, Path: l.volume(id, size)}
		c := l.export(x)
		src, pattern := randomFile(t, 1<<20)
		writeLUN(t, c, src)
		x.CHAP = c.CHAP
		want, conns, patterns = append(want, x), append(conns, c), append(patterns, pattern)
	}
	pid, ok := l.e.PID()
	if !ok {
		t.Fatal("no tgtd pid")
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, ok := l.e.PID(); !ok {
			break
		}
		if time.Now().After(end) {
			t.Fatal("tgtd still runs after SIGKILL")
		}
	}
	if _, err := l.e.Targets(ctx); !errors.Is(err, iscsi.ErrNotRunning) {
		t.Fatalf("Targets with no tgtd: %v, want ErrNotRunning", err)
	}
	if err := l.e.Unexport(ctx, want[0].VolumeID); err != nil {
		t.Fatalf("Unexport with no tgtd: %v", err)
	}

	// The last volume is no longer wanted (its target was lost anyway).
	start := time.Now()
	got, err := l.e.Reconcile(ctx, want[:n-1])
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("tgtd started again and %d volumes exported by Reconcile: %v", n-1, time.Since(start).Round(time.Millisecond))
	if newPID, ok := l.e.PID(); !ok || newPID == pid {
		t.Fatalf("tgtd pid %d (%v), was %d", newPID, ok, pid)
	}
	for i, c := range got {
		old := conns[i]
		if c.IQN != old.IQN || c.CHAP != old.CHAP || c.LUN != 1 || c.Portal != old.Portal {
			t.Errorf("volume %d: %+v, was %+v", i, c, old)
		}
		checkData(t, "after the restart", readLUN(t, c), patterns[i], size)
	}

	if acc := l.accounts(); len(acc) != n-1 {
		t.Errorf("accounts %q, want %d", acc, n-1)
	}
}

// Changes made behind the Exporter's back (a target deleted, one made
// for a volume no longer wanted) are put right by Reconcile; a target
// that is not the Exporter's is left alone, and reconciling to nothing
// removes every volume's target and account.
func TestReconcileRepairs(t *testing.T) {
	l := newLab(t)
	ctx := context.Background()
	const n, size = 3, 1 << 20
	var want []iscsi.Export
	for range n {
		id := uuid()
		x := iscsi.Export{VolumeID: id, Path: l.volume(id, size)}
		x.CHAP = l.export(x).CHAP
		want = append(want, x)
	}
	src, pattern := randomFile(t, 4096)
	got, err := l.e.Reconcile(ctx, want)
	if err != nil {
		t.Fatal(err)
	}
	writeLUN(t, got[0], src)

	l.tgtadm("--mode", "target", "--op", "new", "--tid", "100", "--targetname", "iqn.2024-01.org.example:other")
	l.tgtadm("--mode", "target", "--op", "delete", "--force", "--tid", fmt.Sprint(got[0].TID))
	l.tgtadm("--mode", "target", "--op", "new", "--tid", "50", "--targetname", l.e.IQN(uuid()))
	got2, err := l.e.Reconcile(ctx, want)
	if err != nil {
		t.Fatal(err)
	}
	checkData(t, "target made again", readLUN(t, got2[0]), pattern, size)
	var names []string
	for _, tg := range l.targets() {
		names = append(names, tg.IQN)
	}
	slices.Sort(names)
	wantNames := []string{"iqn.2024-01.org.example:other"}
	for _, c := range got2 {
		wantNames = append(wantNames, c.IQN)
	}
	slices.Sort(wantNames)
	if !slices.Equal(names, wantNames) {
		t.Errorf("targets %q, want %q", names, wantNames)
	}
	var users []string
	for _, c := range got2 {
		users = append(users, c.CHAP.Username)
	}
	slices.Sort(users)
	if acc := l.accounts(); !slices.Equal(slices.Sorted(slices.Values(acc)), users) {
		t.Errorf("accounts %q, want %q", acc, users)
	}

	// Nothing wanted: every volume target goes, the other one stays.
	if _, err := l.e.Reconcile(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if ts := l.targets(); len(ts) != 1 || ts[0].IQN != "iqn.2024-01.org.example:other" {
		t.Errorf("targets after reconciling to nothing: %+v", ts)
	}
	if acc := l.accounts(); len(acc) != 0 {
		t.Errorf("accounts left: %q", acc)
	}
}

// Twenty Exports at once get twenty targets with distinct ids, all
// reachable with their own credentials.
func TestParallelExports(t *testing.T) {
	l := newLab(t)
	ctx := context.Background()
	const n = 20
	xs := make([]iscsi.Export, n)
	for i := range xs {
		id := uuid()
		xs[i] = iscsi.Export{VolumeID: id, Path: l.volume(id, 1<<20)}
	}
	conns := make([]iscsi.Connection, n)
	errs := make([]error, n)
	start := time.Now()
	done := make(chan int)
	for i := range xs {
		go func() {
			conns[i], errs[i] = l.e.Export(ctx, xs[i])
			done <- i
		}()
	}
	for range n {
		<-done
	}
	t.Logf("%d exports at once: %v", n, time.Since(start).Round(time.Millisecond))
	tids := map[int]bool{}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("export %d: %v", i, err)
		}
		l.secret(conns[i].CHAP.Password)
		tids[conns[i].TID] = true
	}
	if len(tids) != n {
		t.Fatalf("%d distinct target ids for %d exports", len(tids), n)
	}
	if ts := l.targets(); len(ts) != n {
		t.Fatalf("tgtd has %d targets, want %d", len(ts), n)
	}
	for _, c := range conns {
		if got := capacity(t, c); got != 1<<20 {
			t.Errorf("%s: %d bytes", c, got)
		}
	}
}

// A target made by someone else between the Exporter's read of tgtd and
// its own "new target" (tgt's "this target already exists", Cinder bug
// 1398078) makes the Export read tgtd again and take the next id: a
// tgtadm wrapper makes that race happen on every new target.
func TestTargetIDRace(t *testing.T) {
	l := newLab(t)
	ctx := context.Background()
	wrapper := t.TempDir() + "/racing-tgtadm"
	marks := t.TempDir()
	// Before the first attempt to make each target, another party takes
	// the id it asks for.
	script := `#!/bin/sh
case " $* " in *" --mode target --op new "*)
	tid=$(echo " $* " | sed 's/.* --tid \([0-9]*\) .*/\1/')
	name=$(echo " $* " | sed 's/.* --targetname \([^ ]*\) .*/\1/')
	if [ ! -e "` + marks + `/$name" ]; then
		touch "` + marks + `/$name"
		` + l.e.Tgtadm + ` "$1" "$2" --lld iscsi --mode target --op new --tid "$tid" --targetname "iqn.2024-01.org.example:racer-$tid" >/dev/null 2>&1
	fi
esac
exec ` + l.e.Tgtadm + ` "$@"
`
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	racer := &iscsi.Exporter{Dir: l.e.Dir, ControlPort: l.e.ControlPort, Portal: l.e.Portal, Tgtd: l.e.Tgtd, Tgtadm: wrapper, Log: l.e.Log}
	for range 3 {
		id := uuid()
		c, err := racer.Export(ctx, iscsi.Export{VolumeID: id, Path: l.volume(id, 1<<20)})
		if err != nil {
			t.Fatal(err)
		}
		l.secret(c.CHAP.Password)
		if out, err := login(c.URL(), ""); err != nil {
			t.Fatalf("%s: %v: %s", c, err, out)
		}
	}
	racers := 0
	for _, tg := range l.targets() {
		if strings.Contains(tg.IQN, ":racer-") {
			racers++
		}
	}
	if racers != 3 {
		t.Errorf("%d racing targets made, want 3: the race did not happen as planned", racers)
	}
}

// Unexport removes the target and its account; again, it is no error.
func TestUnexport(t *testing.T) {
	l := newLab(t)
	ctx := context.Background()
	id, keep := uuid(), uuid()
	c := l.export(iscsi.Export{VolumeID: id, Path: l.volume(id, 1<<20)})
	k := l.export(iscsi.Export{VolumeID: keep, Path: l.volume(keep, 1<<20)})
	// An initiator logged in (qemu-io waiting for commands) does not
	// stop the unexport: it is logged out.
	held := exec.Command("qemu-io", "-f", "raw", c.URL())
	stdin, err := held.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := held.Start(); err != nil {
		t.Fatal(err)
	}
	defer held.Wait()
	defer stdin.Close()
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if tg, _ := l.target(c.IQN); len(tg.Nexuses) == 1 {
			break
		}
		if time.Now().After(end) {
			t.Fatal("qemu-io did not log in")
		}
	}
	if err := l.e.Unexport(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, ok := l.target(c.IQN); ok {
		t.Error("target still there")
	}
	if acc := l.accounts(); !slices.Equal(acc, []string{k.CHAP.Username}) {
		t.Errorf("accounts %q, want only %s", acc, k.CHAP.Username)
	}
	if out, err := login(c.URL(), ""); err == nil {
		t.Errorf("unexported volume logs in: %s", out)
	}
	if err := l.e.Unexport(ctx, id); err != nil {
		t.Errorf("second Unexport: %v", err)
	}
	if err := l.e.Unexport(ctx, uuid()); err != nil {
		t.Errorf("Unexport of a volume never exported: %v", err)
	}
	if out, err := login(k.URL(), ""); err != nil {
		t.Errorf("the other volume: %v: %s", err, out)
	}
	if err := l.files.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
}

// A grown volume is seen at its new size after the next Export, with its
// data.
func TestExtend(t *testing.T) {
	l := newLab(t)
	ctx := context.Background()
	id := uuid()
	path := l.volume(id, 4<<20)
	c := l.export(iscsi.Export{VolumeID: id, Path: path})
	src, pattern := randomFile(t, 1<<20)
	writeLUN(t, c, src)

	// 4 MiB + 512 bytes: too little for tgtd's MB figure to change; the
	// state file knows the size the LUN was made at.
	for _, size := range []int64{4<<20 + 512, 64 << 20} {
		if err := l.files.Extend(ctx, id, size); err != nil {
			t.Fatal(err)
		}
		c = l.export(iscsi.Export{VolumeID: id, Path: path, CHAP: c.CHAP})
		if got := capacity(t, c); got != size {
			t.Errorf("after extending to %d: READ CAPACITY says %d", size, got)
		}
		checkData(t, "after extend", readLUN(t, c), pattern, int(size))
	}
}

// Start refuses a portal it cannot bind, says why, and leaves no tgtd;
// Stop refuses a tgtd another Dir started, and that Dir's Exporter can
// still use it.
func TestStart(t *testing.T) {
	l := newLab(t)
	ctx := context.Background()

	busy := &iscsi.Exporter{Dir: t.TempDir(), ControlPort: freeControlPort(t), Portal: l.e.Portal, Tgtd: l.e.Tgtd, Tgtadm: l.e.Tgtadm}
	t.Cleanup(func() { busy.Stop(context.Background()) })
	err := busy.Start(ctx)
	if err == nil || !strings.Contains(err.Error(), "Address already in use") {
		t.Fatalf("start on a busy portal: %v", err)
	}
	if pid, ok := busy.PID(); ok {
		t.Fatalf("tgtd %d left running", pid)
	}
	if err := busy.Stop(ctx); err != nil {
		t.Errorf("Stop with nothing running: %v", err)
	}

	other := &iscsi.Exporter{Dir: t.TempDir(), ControlPort: l.e.ControlPort, Portal: l.e.Portal, Tgtd: l.e.Tgtd, Tgtadm: l.e.Tgtadm}
	if err := other.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := other.Stop(ctx); !errors.Is(err, iscsi.ErrNotOwned) {
		t.Errorf("Stop of another Dir's tgtd: %v, want ErrNotOwned", err)
	}
	id := uuid()
	c, err := other.Export(ctx, iscsi.Export{VolumeID: id, Path: l.volume(id, 1<<20)})
	if err != nil {
		t.Fatal(err)
	}
	l.secret(c.CHAP.Password)
	if out, err := login(c.URL(), ""); err != nil {
		t.Errorf("export through an adopted tgtd: %v: %s", err, out)
	}
	// Start again: the same tgtd.
	pid, _ := l.e.PID()
	if err := l.e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if again, _ := l.e.PID(); again != pid {
		t.Errorf("a second Start replaced tgtd %d with %d", pid, again)
	}
}

// A block device (a loop device over a file: what an LVM logical volume
// would be) is exported as a file is.
func TestBlockDevice(t *testing.T) {
	l := newLab(t)
	ctx := context.Background()
	losetup := testenv.LookPath(t, "losetup", "mount")
	backing := l.volume(uuid(), 4<<20)
	out, err := exec.Command(losetup, "--find", "--show", backing).CombinedOutput()
	if err != nil {
		if testenv.CI() {
			t.Fatalf("losetup: %v: %s", err, out)
		}
		t.Skipf("no loop device: %v: %s", err, out)
	}
	dev := strings.TrimSpace(string(out))
	t.Cleanup(func() {
		if out, err := exec.Command(losetup, "--detach", dev).CombinedOutput(); err != nil {
			t.Errorf("losetup --detach %s: %v: %s", dev, err, out)
		}
	})
	id := uuid()
	c := l.export(iscsi.Export{VolumeID: id, Path: dev})
	if got := capacity(t, c); got != 4<<20 {
		t.Errorf("READ CAPACITY: %d", got)
	}
	src, pattern := randomFile(t, 1<<20)
	writeLUN(t, c, src)
	checkData(t, "through the LUN", readLUN(t, c), pattern, 4<<20)
	// The LUN is unexported before the device goes (tgtd holds it open).
	if err := l.e.Unexport(ctx, id); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(backing)
	if err != nil {
		t.Fatal(err)
	}
	checkData(t, "the loop device's file", raw, pattern, 4<<20)
}

// A Buffered Exporter makes LUNs without bsoflags (tgt's default: the page
// cache), and data moves through them as through direct ones.
func TestBuffered(t *testing.T) {
	l := newLab(t)
	l.e.Buffered = true
	id := uuid()
	const size = 4 << 20
	path := l.volume(id, size)
	c := l.export(iscsi.Export{VolumeID: id, Path: path})
	tg, _ := l.target(c.IQN)
	if len(tg.LUNs) != 2 || tg.LUNs[1].Number != 1 || tg.LUNs[1].BackingFlags != "" {
		t.Fatalf("tgtd has %+v, want LUN 1 without backing store flags", tg.LUNs)
	}
	src, pattern := randomFile(t, 1<<20)
	writeLUN(t, c, src)
	checkData(t, "through the LUN", readLUN(t, c), pattern, size)
}
