package agent_test

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/kit/fault"
)

// The image service's side of a snapshot, for the harness's fake: the
// image made queued, its data kept in a file.
func (f *fakeImages) CreateSnapshot(_ context.Context, _, name, diskFormat string, _, _ int64, _ map[string]string) (compute.ImageInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.snapshots == nil {
		f.snapshots = map[string]string{}
	}
	id := uuid.NewString()
	f.snapshots[id] = ""
	return compute.ImageInfo{ID: id, Name: name, Status: "queued", DiskFormat: diskFormat, ContainerFormat: "bare"}, nil
}

func (f *fakeImages) Upload(_ context.Context, id string, r io.Reader, _ int64) error {
	f.mu.Lock()
	_, ok := f.snapshots[id]
	dir := f.dir
	f.mu.Unlock()
	if !ok {
		return fault.New(fault.NotFound, "No image found with ID %s", id)
	}
	path := filepath.Join(dir, id)
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, r); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	f.mu.Lock()
	f.snapshots[id] = path
	f.mu.Unlock()
	return nil
}

func (f *fakeImages) Delete(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.snapshots, id)
	return nil
}

// A snapshot of a running guest: its disk, flattened, becomes the
// image's data (a qcow2 with no backing file) while the guest runs on
// in the same QEMU, and a server of that image boots.
func TestSnapshot(t *testing.T) {
	c := newController(t)
	c.images.dir = t.TempDir()
	h := c.newHost("cmp1")
	h.start()
	image := c.guestImage()
	i := c.place(h.name, image, nil, nil)
	c.waitState(i.UUID, compute.Active, compute.PowerRunning, boot)
	c.waitConsole(i.UUID, "gostack-guest: ready", boot)
	pid := qemuPid(h.qemuDir, i.UUID)

	img, err := c.images.CreateSnapshot(context.Background(), "proj", "snap", "qcow2", 1, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := c.store.StartSnapshot(context.Background(), admin, i.UUID, img.ID); err != nil {
		t.Fatal(err)
	}
	got := c.waitFor(i.UUID, "snapshot done", 2*time.Minute, func(i compute.Instance, err error) bool {
		return err == nil && i.TaskState == compute.NoTask
	})
	t.Logf("snapshot of a running guest: %v", time.Since(start).Round(10*time.Millisecond))
	if got.VMState != compute.Active || got.PowerState != compute.PowerRunning {
		t.Fatalf("after the snapshot: %s", brief(got))
	}
	if p := qemuPid(h.qemuDir, i.UUID); p != pid {
		t.Errorf("the guest's QEMU is %d after the snapshot, was %d", p, pid)
	}
	c.images.mu.Lock()
	path := c.images.snapshots[img.ID]
	c.images.mu.Unlock()
	if path == "" {
		t.Fatal("no data uploaded")
	}
	out, err := exec.Command("qemu-img", "info", "--output=json", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		Format  string `json:"format"`
		Backing string `json:"backing-filename"`
	}
	if err := json.Unmarshal(out, &info); err != nil || info.Format != "qcow2" || info.Backing != "" {
		t.Fatalf("the snapshot: %s (%v)", out, err)
	}
	if left, _ := filepath.Glob(filepath.Join(h.dir, "instances", i.UUID, "snapshot-*")); len(left) > 0 {
		t.Errorf("snapshot files left: %v", left)
	}

	// A server of the snapshot boots.
	snap := c.images.add(t, path, "qcow2", "")
	j := c.place(h.name, snap, nil, func(i *compute.Instance) { i.Hostname = "vm-of-snap" })
	c.waitState(j.UUID, compute.Active, compute.PowerRunning, boot)
	c.waitConsole(j.UUID, "gostack-guest: hostname vm-of-snap", boot)
}
