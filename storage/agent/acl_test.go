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
	backend := &agent.ISCSI{Files: iscsi.Files{Dir: filepath.Join(dir, "volumes")}, Exporter: ex, ACL: true}
	a := &agent.Agent{Config: agent.Config{Host: "node1@iscsi#iscsi", BackendName: "iscsi", SyncInterval: 200 * time.Millisecond},
		Backend: backend, Session: kitagent.NewSession(kitagent.Credentials{AuthURL: url + "/v3", Username: "volume-agent", Password: "x"}),
		VolumeURL: url, FeedURL: url + "/v1/watch/volume"}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	wait := func(what string, cond func() bool) {
		t.Helper()
		for end := time.Now().Add(20 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("not %s after 20 s", what)
			}
		}
	}
	user, adm := storage.Viewer{Project: "proj"}, storage.Viewer{Admin: true}
	wait("a pool that exports per initiator", func() bool {
		bs, _ := store.Backends(ctx)
		return len(bs) == 1 && bs[0].Report.Capabilities[storage.CapInitiatorACL] == true
	})
	v, err := store.CreateVolume(ctx, user, storage.VolumeCreate{UserID: "u", Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	wait("available", func() bool { x, _ := store.Volume(ctx, adm, v.ID); return x.Status == storage.VolumeAvailable })
	v, _ = store.Volume(ctx, adm, v.ID)
	exp, err := storage.ParseISCSIExport(v.ProviderLocation, v.ProviderAuth)
	if err != nil {
		t.Fatal(err)
	}
	lun := fmt.Sprintf("iscsi://%s%%%s@%s/%s/%d", exp.AuthUsername, exp.AuthPassword, exp.Portals[0], exp.IQN, exp.LUN)
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
