package agent_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	kitagent "github.com/gostack/gostack/kit/agent"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/storage"
	"github.com/gostack/gostack/storage/agent"
	"github.com/gostack/gostack/storage/iscsi"
)

// Exports per initiator, with tgtd and libiscsi's initiator: a volume
// attached to nothing lets nobody in; an attachment's update answers
// once the agent let its host's initiator in, which then logs in while
// another initiator with the same credentials cannot; the attachment
// deleted, the agent takes the host out again.
func TestISCSIInitiatorACL(t *testing.T) {
	store, wait := aclAgent(t)
	ctx := context.Background()
	user := storage.Viewer{Project: "proj"}
	v, lun := madeISCSI(t, store, wait, user, storage.VolumeCreate{UserID: "u", Size: 1})
	const host, other = "iqn.2005-03.org.gostack:acl-host", "iqn.2005-03.org.gostack:acl-other"
	login := func(initiator string) error {
		out, err := exec.Command("iscsi-inq", "-i", initiator, lun).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%v: %s", err, strings.TrimSpace(string(out)))
		}
		return nil
	}
	wait("nobody let in", func() bool { in, _ := store.ExportedTo(ctx, v.ID); return in != nil && len(in) == 0 })
	if err := login(host); err == nil {
		t.Fatal("an initiator logged in to a volume attached to nothing")
	}

	at, err := store.CreateAttachment(ctx, user, storage.AttachmentCreate{VolumeID: v.ID, InstanceUUID: "11111111-2222-3333-4444-555555555555"})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := store.UpdateAttachment(ctx, user, at.ID, map[string]any{"initiator": host, "host": "compute1", "ip": "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	t.Logf("attachment update answered after the host was let in: %s", time.Since(start).Round(time.Millisecond))
	if err := login(host); err != nil {
		t.Fatalf("the attached host's initiator: %v", err)
	}
	if err := login(other); err == nil {
		t.Fatal("another initiator with the volume's credentials logged in")
	}

	if _, err := store.DeleteAttachment(ctx, user, at.ID); err != nil {
		t.Fatal(err)
	}
	wait("the host taken out", func() bool { in, _ := store.ExportedTo(ctx, v.ID); return in != nil && len(in) == 0 })
	if err := login(host); err == nil {
		t.Fatal("the detached host's initiator still logs in")
	}
}

// A multiattach volume on the agent's pool (which reports the
// multiattach capability, so the CapabilitiesFilter places a
// multiattach type's volume on it), with tgtd and libiscsi's
// initiator: one target, attached to two instances on two hosts, lets
// both hosts' initiators in; detached from the first, only the second
// host logs in and the volume stays in-use; detached from the last, it
// is available and lets nobody in. A second attach of a volume that is
// not multiattach is refused with Cinder's InvalidVolume.
func TestISCSIMultiattachACL(t *testing.T) {
	store, wait := aclAgent(t)
	ctx := context.Background()
	user, adm := storage.Viewer{Project: "proj"}, storage.Viewer{Admin: true}
	if bs, _ := store.Backends(ctx); !bs[0].Report.Multiattach {
		t.Fatalf("the iSCSI pool does not report multiattach: %+v", bs[0].Report)
	}
	if _, err := store.CreateVolumeType(ctx, storage.VolumeTypeCreate{Name: "multi",
		ExtraSpecs: map[string]string{storage.SpecMultiattach: "<is> True"}}); err != nil {
		t.Fatal(err)
	}
	v, lun := madeISCSI(t, store, wait, user, storage.VolumeCreate{UserID: "u", Size: 1, VolumeType: "multi"})
	if !v.Multiattach || v.Host != "node1@iscsi#iscsi" {
		t.Fatalf("a multiattach type's volume: multiattach %v on %q", v.Multiattach, v.Host)
	}
	login := func(initiator string) error {
		out, err := exec.Command("iscsi-inq", "-i", initiator, lun).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%v: %s", err, strings.TrimSpace(string(out)))
		}
		return nil
	}
	hosts := []string{"iqn.2005-03.org.gostack:multi-host1", "iqn.2005-03.org.gostack:multi-host2"}
	insts := []string{"11111111-2222-3333-4444-555555555555", "22222222-2222-3333-4444-555555555555"}
	var ats []string
	for i, h := range hosts {
		at, err := store.CreateAttachment(ctx, user, storage.AttachmentCreate{VolumeID: v.ID, InstanceUUID: insts[i]})
		if err != nil {
			t.Fatalf("attach to instance %d: %v", i+1, err)
		}
		if _, err := store.UpdateAttachment(ctx, user, at.ID, map[string]any{"initiator": h, "host": fmt.Sprintf("compute%d", i+1), "ip": "127.0.0.1"}); err != nil {
			t.Fatal(err)
		}
		if _, err := store.CompleteAttachment(ctx, user, at.ID); err != nil {
			t.Fatal(err)
		}
		ats = append(ats, at.ID)
	}
	got, _ := store.Volume(ctx, adm, v.ID)
	if got.Status != storage.VolumeInUse || len(got.Attachments) != 2 {
		t.Fatalf("attached twice: %s with %d attachments", got.Status, len(got.Attachments))
	}
	if in, _ := store.ExportedTo(ctx, v.ID); len(in) != 2 {
		t.Fatalf("the export lets in %v, want both hosts", in)
	}
	for _, h := range hosts {
		if err := login(h); err != nil {
			t.Fatalf("host %s: %v", h, err)
		}
	}

	if _, err := store.DeleteAttachment(ctx, user, ats[0]); err != nil {
		t.Fatal(err)
	}
	wait("the first host taken out", func() bool { in, _ := store.ExportedTo(ctx, v.ID); return len(in) == 1 && in[0] == hosts[1] })
	if got, _ := store.Volume(ctx, adm, v.ID); got.Status != storage.VolumeInUse || len(got.Attachments) != 1 || got.Attachments[0].ID != ats[1] {
		t.Fatalf("detached from one: %s with %+v", got.Status, got.Attachments)
	}
	if err := login(hosts[0]); err == nil {
		t.Fatal("the detached host's initiator still logs in")
	}
	if err := login(hosts[1]); err != nil {
		t.Fatalf("the host still attached: %v", err)
	}
	if _, err := store.DeleteAttachment(ctx, user, ats[1]); err != nil {
		t.Fatal(err)
	}
	wait("nobody let in", func() bool { in, _ := store.ExportedTo(ctx, v.ID); return in != nil && len(in) == 0 })
	if got, _ := store.Volume(ctx, adm, v.ID); got.Status != storage.VolumeAvailable || len(got.Attachments) != 0 {
		t.Fatalf("detached from both: %s with %+v", got.Status, got.Attachments)
	}

	single, err := store.CreateVolume(ctx, user, storage.VolumeCreate{UserID: "u", Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	wait("available", func() bool { x, _ := store.Volume(ctx, adm, single.ID); return x.Status == storage.VolumeAvailable })
	at, err := store.CreateAttachment(ctx, user, storage.AttachmentCreate{VolumeID: single.ID, InstanceUUID: insts[0]})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.UpdateAttachment(ctx, user, at.ID, map[string]any{"initiator": hosts[0], "host": "compute1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.CompleteAttachment(ctx, user, at.ID); err != nil {
		t.Fatal(err)
	}
	_, err = store.CreateAttachment(ctx, user, storage.AttachmentCreate{VolumeID: single.ID, InstanceUUID: insts[1]})
	want := "Invalid volume: Volume " + single.ID + " status must be available or downloading to reserve, but the current status is in-use."
	if fault.KindOf(err) != fault.BadRequest || fault.Message(err) != want {
		t.Fatalf("a second attach of a volume that is not multiattach: %v, want %q", err, want)
	}
}

// aclAgent starts tgtd and an iSCSI volume agent exporting per
// initiator, with its controller; it returns the controller and a wait
// for a condition (20 s at most) once the pool is reported.
// madeISCSI creates volume c as user, waits for the agent to make it
// available, and returns it with its LUN's iscsi:// URL (the export's
// CHAP account in it).
func madeISCSI(t *testing.T, store *storage.Store, wait func(string, func() bool), user storage.Viewer, c storage.VolumeCreate) (storage.Volume, string) {
	t.Helper()
	ctx, adm := context.Background(), storage.Viewer{Admin: true}
	v, err := store.CreateVolume(ctx, user, c)
	if err != nil {
		t.Fatal(err)
	}
	wait("available", func() bool { x, _ := store.Volume(ctx, adm, v.ID); return x.Status == storage.VolumeAvailable })
	v, _ = store.Volume(ctx, adm, v.ID)
	exp, err := storage.ParseISCSIExport(v.ProviderLocation, v.ProviderAuth)
	if err != nil {
		t.Fatal(err)
	}
	return v, fmt.Sprintf("iscsi://%s%%%s@%s/%s/%d", exp.AuthUsername, exp.AuthPassword, exp.Portals[0], exp.IQN, exp.LUN)
}

func aclAgent(t *testing.T) (*storage.Store, func(string, func() bool)) {
	t.Helper()
	return iscsiAgent(t, true)
}

// iscsiAgent is an agent of the iSCSI backend on files, with a tgtd of
// its own (stopped at the end), exporting per initiator when acl is
// set, running until the test ends; the store, and a wait of up to 20 s
// for a condition.
func iscsiAgent(t *testing.T, acl bool) (*storage.Store, func(string, func() bool)) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: tgtd")
	}
	for _, b := range []string{"tgtd", "tgtadm", "iscsi-inq"} {
		if _, err := exec.LookPath(b); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s not found: make test installs it", b)
			}
			t.Skipf("%s not found", b)
		}
	}
	store, url := controller(t)
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
	backend := &agent.ISCSI{Files: iscsi.Files{Dir: filepath.Join(dir, "volumes")}, Exporter: ex, ACL: acl}
	a := &agent.Agent{Config: agent.Config{Host: "node1@iscsi#iscsi", BackendName: "iscsi", SyncInterval: 200 * time.Millisecond},
		Backend: backend, Session: kitagent.NewSession(kitagent.Credentials{AuthURL: url + "/v3", Username: "volume-agent", Password: "x"}),
		VolumeURL: url, FeedURL: url + "/v1/watch/volume"}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	wait := func(what string, cond func() bool) {
		for end := time.Now().Add(20 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("not %s after 20 s", what)
			}
		}
	}
	wait("a pool", func() bool {
		bs, _ := store.Backends(ctx)
		return len(bs) == 1 && (bs[0].Report.Capabilities[storage.CapInitiatorACL] == true) == acl
	})
	return store, wait
}

func freeTgtPort(t *testing.T) int {
	t.Helper()
	for range 100 {
		n, _ := rand.Int(rand.Reader, big.NewInt(12768))
		port := 20000 + int(n.Int64())
		if c, err := net.Dial("unix", "/var/run/tgtd/socket."+strconv.Itoa(port)); err == nil {
			c.Close()
			continue
		}
		return port
	}
	t.Fatal("no free tgtd control port")
	return 0
}

func freeTCPPort(t *testing.T) uint16 {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return uint16(l.Addr().(*net.TCPAddr).Port)
}
