package nova_test

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/internal/apitest"
	"github.com/gostack/gostack/kit/fault"
)

// snapshotImages is fakeImages that also takes snapshots (the image
// service's side of createImage).
type snapshotImages struct {
	fakeImages
	mu      sync.Mutex
	made    map[string]compute.ImageInfo
	data    map[string][]byte
	deleted []string
}

func (s *snapshotImages) CreateSnapshot(_ context.Context, project, name, diskFormat string, minDisk, minRAM int64, props map[string]string) (compute.ImageInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	img := compute.ImageInfo{ID: uuid.NewString(), Name: name, Status: "queued", DiskFormat: diskFormat, ContainerFormat: "bare",
		MinDisk: minDisk, MinRAM: minRAM, Properties: props}
	img.Properties["owner"] = project
	s.made[img.ID] = img
	return img, nil
}

func (s *snapshotImages) Upload(_ context.Context, id string, r io.Reader, _ int64) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.made[id]; !ok {
		return fault.New(fault.NotFound, "No image found with ID %s", id)
	}
	s.data[id] = b
	return nil
}

func (s *snapshotImages) Delete(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.made, id)
	s.deleted = append(s.deleted, id)
	return nil
}

func (s *snapshotImages) image(id string) (compute.ImageInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	img, ok := s.made[id]
	return img, ok
}

// createImage: Nova's body checks before the server is looked up, the
// state rules, the image made with the instance's properties, 2.45's
// body and the Location header before it; the host's data goes into
// the image through the internal API; a failed snapshot's image goes.
func TestCreateImage(t *testing.T) {
	e := newServerAPI(t)
	ctx := context.Background()
	id := e.must(t, 202, "2.1", alice, "POST", "/servers", serverBody(nil))["server"].(map[string]any)["id"].(string)
	action := func(v, token string, body any) apitest.Reply {
		return e.call(t, v, token, "POST", "/servers/"+id+"/action", body)
	}
	for _, c := range []struct {
		body any
		want string
	}{
		{map[string]any{"createImage": map[string]any{}}, "'name' is a required property"},
		{map[string]any{"createImage": map[string]any{"name": ""}}, "is too short"},
		{map[string]any{"createImage": map[string]any{"name": " lead"}}, "Can not start or end with whitespace"},
		{map[string]any{"createImage": map[string]any{"name": "x", "other": 1}}, "Additional properties are not allowed ('other' was unexpected)"},
		{map[string]any{"createImage": map[string]any{"name": "x", "metadata": map[string]any{"k": 1}}}, "is not of type 'string'"},
		{map[string]any{"createImage": map[string]any{"name": "x", "metadata": map[string]any{"bad/key": "v"}}}, "Additional properties are not allowed"},
		{map[string]any{"createImage": "x"}, "is not of type 'object'"},
	} {
		if r := action("2.1", alice, c.body); r.Code != 400 || !strings.Contains(string(r.Body), c.want) {
			t.Errorf("%v: %s", c.body, r)
		}
	}
	good := map[string]any{"createImage": map[string]any{"name": "snap", "metadata": map[string]any{"purpose": "test"}}}
	// Building: no snapshot yet; another project's server is not found.
	if r := action("2.45", alice, good); r.Code != 409 || !strings.Contains(string(r.Body), "Cannot 'createImage' instance "+id+" while it is in vm_state building") {
		t.Fatalf("while building: %s", r)
	}
	if r := action("2.45", bob, good); r.Code != 404 {
		t.Fatalf("another project's: %s", r)
	}
	if err := e.builder.BuildWaiting(ctx); err != nil {
		t.Fatal(err)
	}
	e.report(t, id, compute.Spawning, compute.Active, compute.PowerRunning)

	r := action("2.45", alice, good)
	if r.Code != 202 {
		t.Fatalf("createImage: %s", r)
	}
	img := r.JSON(t)["image_id"].(string)
	made, ok := e.images.image(img)
	if !ok || made.Name != "snap" || made.DiskFormat != "qcow2" || made.MinDisk != 1 || made.Properties["image_type"] != "snapshot" ||
		made.Properties["instance_uuid"] != id || made.Properties["base_image_ref"] != tinyImage || made.Properties["purpose"] != "test" ||
		made.Properties["user_id"] != "alice" || made.Properties["owner"] != "proj-a" {
		t.Fatalf("the snapshot's image: %+v", made)
	}
	s := e.show(t, alice, id)
	if s["OS-EXT-STS:task_state"] != "image_snapshot_pending" || s["status"] != "ACTIVE" {
		t.Fatalf("during the snapshot: %v %v", s["status"], s["OS-EXT-STS:task_state"])
	}
	// One at a time.
	if r := action("2.45", alice, good); r.Code != 409 {
		t.Fatalf("a second snapshot at once: %s", r)
	}
	i, _ := e.store.Instance(ctx, compute.Viewer{Admin: true}, id)
	// The host's data: only the instance's host, only while it snapshots.
	upload := func(host string) apitest.Reply {
		return e.Call(t, apitest.Call{Method: "PUT", Path: "/internal/compute/hosts/" + host + "/instances/" + id + "/snapshot", Token: service,
			Type: "application/octet-stream", Body: []byte("QFI\xfbdata")})
	}
	other := "host1"
	if i.Host == "host1" {
		other = "host2"
	}
	if r := upload(other); r.Code != 404 {
		t.Fatalf("another host's upload: %s", r)
	}
	if r := upload(i.Host); r.Code != 204 {
		t.Fatalf("upload: %s", r)
	}
	if r := e.agentCall(t, service, "PUT", "/internal/compute/hosts/"+i.Host+"/instances/"+id,
		compute.InstanceReport{Task: compute.ImageSnapshotPending, VMState: compute.Active, PowerState: compute.PowerRunning}); r.Code != 200 {
		t.Fatalf("report: %s", r)
	}
	if s := e.show(t, alice, id); s["OS-EXT-STS:task_state"] != nil || s["status"] != "ACTIVE" {
		t.Fatalf("after the snapshot: %v %v", s["status"], s["OS-EXT-STS:task_state"])
	}
	if r := upload(i.Host); r.Code != 404 {
		t.Fatalf("an upload after the snapshot: %s", r)
	}

	// Before 2.45: the Location of the image; a failure deletes it and
	// leaves the server as it was.
	r = action("2.44", alice, good)
	loc := r.Header.Get("Location")
	if r.Code != 202 || !strings.HasPrefix(loc, "http://image.test/images/") || len(r.Body) != 0 {
		t.Fatalf("createImage at 2.44: %s (Location %q)", r, loc)
	}
	failed := strings.TrimPrefix(loc, "http://image.test/images/")
	if r := e.agentCall(t, service, "PUT", "/internal/compute/hosts/"+i.Host+"/instances/"+id,
		compute.InstanceReport{Task: compute.ImageSnapshotPending, VMState: compute.Active, PowerState: compute.PowerRunning,
			Error: "Snapshot of instance " + id + " failed: qemu-img convert: no space"}); r.Code != 200 {
		t.Fatalf("report a failure: %s", r)
	}
	if _, ok := e.images.image(failed); ok {
		t.Errorf("the failed snapshot's image is kept")
	}
	if s := e.show(t, alice, id); s["OS-EXT-STS:task_state"] != nil || s["status"] != "ACTIVE" {
		t.Fatalf("after a failed snapshot: %v %v", s["status"], s["OS-EXT-STS:task_state"])
	}
	acts := e.must(t, 200, "2.84", admin, "GET", "/servers/"+id+"/os-instance-actions", nil)["instanceActions"].([]any)
	if len(acts) < 3 || acts[0].(map[string]any)["action"] != "createImage" || acts[0].(map[string]any)["message"] != "Error" {
		t.Fatalf("actions: %v", acts)
	}
}
