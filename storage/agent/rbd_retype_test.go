package agent_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	kitagent "github.com/gostack/gostack/kit/agent"
	"github.com/gostack/gostack/storage"
	"github.com/gostack/gostack/storage/agent"
	"github.com/gostack/gostack/storage/iscsi"
	"github.com/gostack/gostack/storage/rbd"
)

// Retypes on a real Ceph and a real tgtd, an RBD pool and an iSCSI pool
// beside each other, each with its agent:
//
//   - in place on RBD, multiattach on then off: the image loses
//     exclusive-lock, object-map and fast-diff (Cinder's
//     _enable_multiattach), then has the cluster's defaults of them
//     back (_disable_multiattach), as `rbd info` shows;
//   - with the never policy to the other pool: nothing changes (Cinder
//     fails it after its 202);
//   - on demand, an iSCSI volume to the RBD pool (the RBD agent reads it
//     through its iSCSI export with qemu-img) and back (the RBD agent
//     writes it into the iSCSI pool's new export): the bytes written
//     are there after each move, the old copy (file and target, or
//     image) is gone, and the volume keeps its id.
func TestRetypeRBDAndISCSI(t *testing.T) {
	cl, c := rbdClient(t)
	store, url := controller(t)
	ctx, admin, user := context.Background(), storage.Viewer{Admin: true}, storage.Viewer{Project: "proj"}
	files, ex := iscsiPool(t, url)
	session := kitagent.NewSession(kitagent.Credentials{AuthURL: url + "/v3", Username: "volume-agent", Password: "x"})
	ra := &agent.Agent{Config: agent.Config{Host: "node1@rbd#rbd", BackendName: "rbd", SyncInterval: 100 * time.Millisecond,
		ImageDir: filepath.Join(t.TempDir(), "images")},
		Backend: &agent.RBD{Client: cl, TempDir: t.TempDir()}, Session: session, VolumeURL: url, FeedURL: url + "/v1/watch/volume"}
	runAgent(t, ra)
	wait := func(what string, cond func() bool) {
		t.Helper()
		for end := time.Now().Add(60 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("not %s after 60 s", what)
			}
		}
	}
	wait("two pools", func() bool { bs, _ := store.Backends(ctx); return len(bs) == 2 })
	for _, vt := range []storage.VolumeTypeCreate{
		{Name: "ceph", ExtraSpecs: map[string]string{"volume_backend_name": "rbd"}},
		{Name: "ceph-multi", ExtraSpecs: map[string]string{"volume_backend_name": "rbd", storage.SpecMultiattach: "<is> True"}},
		{Name: "tgt", ExtraSpecs: map[string]string{"volume_backend_name": "iscsi"}},
	} {
		if _, err := store.CreateVolumeType(ctx, vt); err != nil {
			t.Fatal(err)
		}
	}
	retype := func(id, to, policy string) storage.Volume {
		t.Helper()
		start := time.Now()
		v, err := store.RetypeVolume(ctx, user, id, storage.VolumeRetypeRequest{NewType: to, MigrationPolicy: policy})
		if err != nil {
			t.Fatal(err)
		}
		wait("retyped to "+to, func() bool {
			v, _ = store.Volume(ctx, admin, id)
			return v.Status == storage.VolumeAvailable && v.Retype == nil
		})
		t.Logf("retype to %s (%s): %s", to, policy, time.Since(start).Round(time.Millisecond))
		return v
	}
	features := func(id string) []string {
		t.Helper()
		out, err := c.RBD(ctx, "info", "--format", "json", c.Pool+"/volume-"+id)
		if err != nil {
			t.Fatal(err)
		}
		var m struct{ Features []string }
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatal(err)
		}
		return m.Features
	}
	create := func(typ string) storage.Volume {
		t.Helper()
		v, err := store.CreateVolume(ctx, user, storage.VolumeCreate{UserID: "u", Size: 1, VolumeType: typ})
		if err != nil {
			t.Fatal(err)
		}
		wait("available", func() bool { v, _ = store.Volume(ctx, admin, v.ID); return v.Status == storage.VolumeAvailable })
		return v
	}

	// In place on RBD: multiattach on, then off.
	plain := create("ceph")
	defaults := features(plain.ID)
	exclusions := []string{"exclusive-lock", "fast-diff", "object-map"}
	for _, f := range exclusions {
		if !slices.Contains(defaults, f) {
			t.Fatalf("the cluster's default features %v lack %s", defaults, f)
		}
	}
	v := retype(plain.ID, "ceph-multi", storage.MigrationNever)
	if f := features(plain.ID); slices.ContainsFunc(f, func(n string) bool { return slices.Contains(exclusions, n) }) || !v.Multiattach {
		t.Fatalf("retyped to multiattach: features %v, multiattach %v", f, v.Multiattach)
	}
	v = retype(plain.ID, "ceph", storage.MigrationNever)
	if f := features(plain.ID); !slices.Equal(f, defaults) || v.Multiattach || v.Host != "node1@rbd#rbd" {
		t.Fatalf("retyped back: features %v, want %v; multiattach %v on %s", f, defaults, v.Multiattach, v.Host)
	}

	// Never: the volume stays.
	vol := create("tgt")
	if v, err := store.RetypeVolume(ctx, user, vol.ID, storage.VolumeRetypeRequest{NewType: "ceph"}); err != nil ||
		v.Status != storage.VolumeAvailable || v.VolumeTypeID != vol.VolumeTypeID || v.Message == "" {
		t.Fatalf("never: %s %s %q (%v)", v.Status, v.VolumeTypeID, v.Message, err)
	}

	// On demand: iSCSI to RBD, the data kept.
	pattern := make([]byte, 1<<20)
	rand.Read(pattern)
	fill := bytes.Repeat([]byte{0x5a}, 64<<10)
	writeFile(t, files.Path(vol.ID), 4<<20, pattern)
	writeFile(t, files.Path(vol.ID), 900<<20, fill)
	v = retype(vol.ID, "ceph", storage.MigrationOnDemand)
	if v.Host != "node1@rbd#rbd" || !storage.IsRBDLocation(v.ProviderLocation) || v.Message != "" {
		t.Fatalf("moved to RBD: %+v", v)
	}
	h, err := cl.OpenVolume(ctx, vol.ID)
	if err != nil {
		t.Fatal(err)
	}
	readAt(t, h, 4<<20, pattern)
	readAt(t, h, 900<<20, fill)
	readAt(t, h, 0, make([]byte, 1<<20))
	more := bytes.Repeat([]byte{0xa5}, 1<<20)
	if _, err := h.WriteAt(more, 100<<20); err != nil {
		t.Fatal(err)
	}
	h.Close()
	if _, err := os.Stat(files.Path(vol.ID)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the iSCSI file after the move: %v", err)
	}
	if tg := findTarget(t, ex, vol.ID); tg != nil {
		t.Fatalf("the iSCSI target after the move: %+v", tg)
	}

	// And back: the RBD agent writes into the iSCSI pool's export.
	v = retype(vol.ID, "tgt", storage.MigrationOnDemand)
	if v.Host != "node1@iscsi#iscsi" || storage.IsRBDLocation(v.ProviderLocation) {
		t.Fatalf("moved back to iSCSI: %+v", v)
	}
	got, err := os.ReadFile(files.Path(vol.ID))
	if err != nil || len(got) != 1<<30 {
		t.Fatalf("the iSCSI file after the move back: %d bytes (%v)", len(got), err)
	}
	for _, p := range []struct {
		off  int
		want []byte
	}{{4 << 20, pattern}, {900 << 20, fill}, {100 << 20, more}, {200 << 20, make([]byte, 1<<20)}} {
		if !bytes.Equal(got[p.off:p.off+len(p.want)], p.want) {
			t.Fatalf("the data at %d MiB differs after the move back", p.off>>20)
		}
	}
	if tg := findTarget(t, ex, vol.ID); tg == nil {
		t.Fatal("no iSCSI target after the move back")
	}
	if _, err := cl.Info(ctx, vol.ID); !errors.Is(err, rbd.ErrNotFound) {
		t.Fatalf("the RBD image after the move back: %v", err)
	}
}

// iscsiPool starts tgtd and the iSCSI pool's agent (node1@iscsi#iscsi,
// volume_backend_name iscsi) against the controller at url.
func iscsiPool(t *testing.T, url string) (iscsi.Files, *iscsi.Exporter) {
	t.Helper()
	return iscsiPoolAt(t, url, "node1@iscsi#iscsi")
}

// iscsiPoolAt is iscsiPool with the agent's host (its backend name the
// host's backend part), a tgtd of its own.
func iscsiPoolAt(t *testing.T, url, host string) (iscsi.Files, *iscsi.Exporter) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: tgtd")
	}
	for _, b := range []string{"tgtd", "tgtadm", "qemu-img"} {
		if _, err := exec.LookPath(b); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s not found: make test installs it", b)
			}
			t.Skipf("%s not found", b)
		}
	}
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
	files := iscsi.Files{Dir: filepath.Join(dir, "volumes")}
	backend, _, _ := strings.Cut(host, "#")
	_, backend, _ = strings.Cut(backend, "@")
	runAgent(t, &agent.Agent{Config: agent.Config{Host: host, BackendName: backend, SyncInterval: 100 * time.Millisecond},
		Backend:   &agent.ISCSI{Files: files, Exporter: ex},
		Session:   kitagent.NewSession(kitagent.Credentials{AuthURL: url + "/v3", Username: "volume-agent", Password: "x"}),
		VolumeURL: url, FeedURL: url + "/v1/watch/volume"})
	return files, ex
}

// runAgent runs a until the test ends.
func runAgent(t *testing.T, a *agent.Agent) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

func writeFile(t *testing.T, path string, off int64, p []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(p, off); err != nil {
		t.Fatal(err)
	}
}

func readAt(t *testing.T, h *rbd.Handle, off int64, want []byte) {
	t.Helper()
	got := make([]byte, len(want))
	if _, err := h.ReadAt(got, off); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("the image's data at %d MiB differs (%v)", off>>20, err)
	}
}

func findTarget(t *testing.T, ex *iscsi.Exporter, id string) *iscsi.Target {
	t.Helper()
	ts, err := ex.Targets(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for i := range ts {
		if ts[i].IQN == ex.IQN(id) {
			return &ts[i]
		}
	}
	return nil
}

// An RBD retype in place that leaves multiattach as it was (gold to
// silver, both single-writer; or two multiattach types) does nothing to
// the image's features, as Cinder's retype calls _disable_multiattach
// only when the old type was multiattach: an image made with fewer than
// the cluster's defaults (or one a running guest has open) keeps them.
// Turning multiattach off still puts the defaults back.
func TestRBDRetypeKeepsFeatures(t *testing.T) {
	cl, c := rbdClient(t)
	ctx := context.Background()
	b := &agent.RBD{Client: cl, TempDir: t.TempDir()}
	v := storage.Volume{ID: uuid.NewString(), Size: 1}
	if _, err := b.Create(ctx, v, agent.Source{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Delete(context.Background(), v.ID) })
	features := func() []string {
		t.Helper()
		out, err := c.RBD(ctx, "info", "--format", "json", c.Pool+"/volume-"+v.ID)
		if err != nil {
			t.Fatal(err)
		}
		var m struct{ Features []string }
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatal(err)
		}
		return m.Features
	}
	defaults := features()
	if _, err := c.RBD(ctx, "feature", "disable", c.Pool+"/volume-"+v.ID, "fast-diff", "object-map"); err != nil {
		t.Fatal(err)
	}
	fewer := features()
	if slices.Contains(fewer, "object-map") || !slices.Contains(fewer, "exclusive-lock") {
		t.Fatalf("features after disabling object-map and fast-diff: %v", fewer)
	}
	if err := b.Retype(ctx, v, false); err != nil {
		t.Fatal(err)
	}
	if f := features(); !slices.Equal(f, fewer) {
		t.Fatalf("a retype that keeps single-writer changed the features: %v, were %v", f, fewer)
	}
	// Multiattach on, again multiattach (nothing), then off.
	if err := b.Retype(ctx, v, true); err != nil {
		t.Fatal(err)
	}
	v.Multiattach = true
	multi := features()
	if slices.Contains(multi, "exclusive-lock") {
		t.Fatalf("multiattach on: %v", multi)
	}
	if err := b.Retype(ctx, v, true); err != nil || !slices.Equal(features(), multi) {
		t.Fatalf("multiattach kept: %v (%v)", features(), err)
	}
	if err := b.Retype(ctx, v, false); err != nil {
		t.Fatal(err)
	}
	if f := features(); !slices.Equal(f, defaults) {
		t.Fatalf("multiattach off: %v, want the defaults %v", f, defaults)
	}
}
