package cinder_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/url"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/gostack/gostack/internal/apitest"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/storage"
)

// fakeImages is an image service: images by id with their owner and
// data; what uploads made, wrote and deleted.
type fakeImages struct {
	mu      sync.Mutex
	images  map[string]storage.ImageInfo
	owners  map[string]string // "" for public
	data    map[string][]byte
	created []storage.ImageSpec
	deleted []string
}

func newImages() *fakeImages {
	return &fakeImages{images: map[string]storage.ImageInfo{}, owners: map[string]string{}, data: map[string][]byte{}}
}

func (f *fakeImages) add(owner string, img storage.ImageInfo, data []byte) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if img.ID == "" {
		img.ID = uuid.NewString()
	}
	img.Size = int64(len(data))
	f.images[img.ID], f.owners[img.ID], f.data[img.ID] = img, owner, data
	return img.ID
}

func (f *fakeImages) Image(_ context.Context, project, id string) (storage.ImageInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	img, ok := f.images[id]
	if !ok || f.owners[id] != "" && f.owners[id] != project {
		return storage.ImageInfo{}, fault.New(fault.NotFound, "No image found with ID %s", id)
	}
	return img, nil
}

func (f *fakeImages) Open(_ context.Context, id string) (io.ReadCloser, storage.ImageInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	img, ok := f.images[id]
	if !ok {
		return nil, storage.ImageInfo{}, fault.New(fault.NotFound, "No image found with ID %s", id)
	}
	return io.NopCloser(bytes.NewReader(f.data[id])), img, nil
}

func (f *fakeImages) Create(_ context.Context, project string, spec storage.ImageSpec) (storage.ImageInfo, error) {
	f.mu.Lock()
	f.created = append(f.created, spec)
	f.mu.Unlock()
	id := f.add(project, storage.ImageInfo{Name: spec.Name, Status: "queued", DiskFormat: spec.DiskFormat,
		ContainerFormat: spec.ContainerFormat, Properties: spec.Properties}, nil)
	return f.images[id], nil
}

func (f *fakeImages) Upload(_ context.Context, id string, r io.Reader, size int64) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if int64(len(b)) != size {
		return fmt.Errorf("%d bytes of %d", len(b), size)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.data[id] = b
	img := f.images[id]
	img.Status = "active"
	f.images[id] = img
	return nil
}

func (f *fakeImages) Delete(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deleted = append(f.deleted, id)
	delete(f.images, id)
	return nil
}

// Volumes from images: by id or a URL ending in one, checked as
// Cinder's create flow checks them, keeping the image's metadata
// (shown to those who may read it); refusals change nothing.
func TestVolumeFromImage(t *testing.T) {
	c := newAPI(t)
	imgs := newImages()
	c.api.Images = imgs
	tiny := imgs.add(projA, storage.ImageInfo{Name: "tiny", Status: "active", DiskFormat: "qcow2", ContainerFormat: "bare",
		Checksum: "c", VirtualSize: 1 << 30, MinDisk: 1, Properties: map[string]string{"hw_disk_bus": "virtio"}}, make([]byte, 4096))
	queued := imgs.add(projA, storage.ImageInfo{Name: "q", Status: "queued", DiskFormat: "raw"}, nil)
	big := imgs.add("", storage.ImageInfo{Name: "big", Status: "active", DiskFormat: "raw", VirtualSize: 3 << 30}, nil)
	other := imgs.add(projB, storage.ImageInfo{Name: "theirs", Status: "active", DiskFormat: "raw"}, nil)

	v := c.must(t, 202, "3.70", alice, "POST", "/volumes", map[string]any{"volume": map[string]any{"size": 1, "imageRef": tiny}})["volume"].(map[string]any)
	if v["bootable"] != "true" {
		t.Errorf("a volume of an image: %v", v)
	}
	id := v["id"].(string)
	show := c.must(t, 200, "3.70", alice, "GET", "/volumes/"+id, nil)["volume"].(map[string]any)
	md, _ := show["volume_image_metadata"].(map[string]any)
	if md["image_id"] != tiny || md["image_name"] != "tiny" || md["hw_disk_bus"] != "virtio" || md["disk_format"] != "qcow2" || md["min_disk"] != "1" {
		t.Errorf("volume_image_metadata: %v", show["volume_image_metadata"])
	}
	detail := c.must(t, 200, "3.70", alice, "GET", "/volumes/detail", nil)["volumes"].([]any)
	if len(detail) != 1 || detail[0].(map[string]any)["volume_image_metadata"] == nil {
		t.Errorf("detail: %v", detail)
	}
	// Nova's imageRef is a URL.
	c.must(t, 202, "3.70", alice, "POST", "/volumes", map[string]any{"volume": map[string]any{"size": 1,
		"imageRef": "http://image.example/v2/images/" + tiny}})

	for _, r := range []struct {
		name   string
		body   map[string]any
		status int
		key    string
		msg    string
	}{
		{"another project's image", map[string]any{"size": 1, "imageRef": other}, 400, "badRequest", "Invalid image identifier or unable to access requested image."},
		{"a name", map[string]any{"size": 1, "imageRef": "tiny"}, 400, "badRequest", "Invalid image identifier or unable to access requested image."},
		{"queued", map[string]any{"size": 1, "imageRef": queued}, 400, "badRequest", "Image " + queued + " is not active."},
		{"too small", map[string]any{"size": 2, "imageRef": big}, 400, "badRequest", "Image virtual size is 3GB and doesn't fit in a volume of size 2GB."},
		{"no size", map[string]any{"imageRef": tiny}, 400, "badRequest", "Volume size 'None' must be an integer and greater than 0"},
		{"and a source volume", map[string]any{"size": 1, "imageRef": tiny, "source_volid": id}, 400, "badRequest", "May specify only one of"},
		{"and a source volume, no size", map[string]any{"imageRef": big, "source_volid": id}, 400, "badRequest", "May specify only one of"},
	} {
		t.Run(r.name, func(t *testing.T) {
			c.unchanged(t, func() {
				wantError(t, c.call(t, "3.70", alice, "POST", "/volumes", map[string]any{"volume": r.body}), r.status, r.key, r.msg)
			})
		})
	}
	c.api.Images = nil
	c.unchanged(t, func() {
		wantError(t, c.call(t, "3.70", alice, "POST", "/volumes", map[string]any{"volume": map[string]any{"size": 1, "imageRef": tiny}}),
			400, "badRequest", "no image service")
	})
}

// os-volume_upload_image: a queued image with the volume's image
// properties, the volume uploading for its agent, whose data reaches the
// image through the agents' route and whose report returns the volume;
// a failed upload's image is deleted. Refusals make no image.
func TestVolumeUploadImage(t *testing.T) {
	c := newAPI(t)
	imgs := newImages()
	c.api.Images = imgs
	tiny := imgs.add(projA, storage.ImageInfo{Name: "tiny", Status: "active", DiskFormat: "raw", Properties: map[string]string{"os_distro": "debian"}},
		make([]byte, 512))
	id := c.newVolume(t, alice, map[string]any{"size": 1, "imageRef": tiny})
	hostPath := "/internal/volume/hosts/" + url.PathEscape(pool)
	// The agent reads the image of its volume being made, and only that.
	r := c.Call(t, apitest.Call{Method: "GET", Path: hostPath + "/images/" + tiny, Token: service})
	if r.Code != 200 || len(r.Body) != 512 || r.Header.Get("X-Image-Disk-Format") != "raw" {
		t.Fatalf("the image's data: %s", r)
	}
	wantError(t, c.Call(t, apitest.Call{Method: "GET", Path: "/internal/volume/hosts/" + url.PathEscape("host9@lvm#p") + "/images/" + tiny,
		Token: service}), 404, "itemNotFound", "No volume on host9@lvm#p")
	c.agentDone(t, id)

	body := map[string]any{"os-volume_upload_image": map[string]any{"image_name": "copy", "disk_format": "qcow2"}}
	up := c.must(t, 202, "3.70", alice, "POST", "/volumes/"+id+"/action", body)["os-volume_upload_image"].(map[string]any)
	imageID, _ := up["image_id"].(string)
	if up["status"] != "uploading" || up["disk_format"] != "qcow2" || up["container_format"] != "bare" || up["image_name"] != "copy" ||
		up["visibility"] != "private" || imageID == "" {
		t.Fatalf("the upload's answer: %v", up)
	}
	if len(imgs.created) != 1 || imgs.created[0].Properties["os_distro"] != "debian" || imgs.created[0].Properties["image_id"] != "" {
		t.Fatalf("the image made: %+v", imgs.created)
	}
	if v, _ := c.store.Volume(context.Background(), storage.Viewer{Admin: true}, id); v.Status != storage.VolumeUploading {
		t.Fatalf("the volume: %s", v.Status)
	}
	// A second upload, a bad format, a public image by a member: no
	// image made.
	for _, r := range []struct {
		v      string
		body   map[string]any
		status int
		key    string
		msg    string
	}{
		{"3.70", body, 400, "badRequest", "Invalid volume: Volume " + id + " status must be available"},
		{"3.70", map[string]any{"os-volume_upload_image": map[string]any{"image_name": "x", "disk_format": "vmdk"}}, 400, "badRequest", `Cannot upload a volume as "vmdk"`},
		{"3.70", map[string]any{"os-volume_upload_image": map[string]any{"image_name": "x", "visibility": "public"}}, 403, "forbidden", ""},
		{"3.0", map[string]any{"os-volume_upload_image": map[string]any{"image_name": "x", "visibility": "private"}}, 400, "badRequest", "Additional properties are not allowed"},
		{"3.70", map[string]any{"os-volume_upload_image": map[string]any{}}, 400, "badRequest", "'image_name' is a required property"},
		{"3.70", map[string]any{"os-volume_upload_image": map[string]any{"image_name": "x", "container_format": "compressed"}}, 400, "badRequest",
			"Image compression upload disallowed, but container_format is compressed"},
	} {
		c.unchanged(t, func() {
			wantError(t, c.call(t, r.v, alice, "POST", "/volumes/"+id+"/action", r.body), r.status, r.key, r.msg)
		})
	}
	if len(imgs.created) != 1 {
		t.Fatalf("refused uploads made images: %+v", imgs.created)
	}
	wantError(t, c.call(t, "3.70", bob, "POST", "/volumes/"+id+"/action", body), 404, "itemNotFound")

	// The agent's data reaches the image; another image is not its to write.
	put := func(image string, data []byte) apitest.Reply {
		return c.Call(t, apitest.Call{Method: "PUT", Path: hostPath + "/images/" + image + "/file", Token: service, Body: data,
			Type: "application/octet-stream"})
	}
	wantError(t, put(tiny, []byte("evil")), 404, "itemNotFound")
	if r := put(imageID, []byte("qcow2 data")); r.Code != 204 {
		t.Fatalf("the upload's data: %s", r)
	}
	if string(imgs.data[imageID]) != "qcow2 data" || string(imgs.data[tiny]) != string(make([]byte, 512)) {
		t.Fatal("the data did not reach the upload's image alone")
	}
	// The agent killed before its report sends the data again: the image,
	// active, is not written again; a failure it then reports leaves the
	// active image alone.
	if r := put(imageID, []byte("other data")); r.Code != 204 || string(imgs.data[imageID]) != "qcow2 data" {
		t.Fatalf("an upload sent again: %s, data %q", r, imgs.data[imageID])
	}
	r = c.Call(t, apitest.Call{Method: "PUT", Path: hostPath + "/volumes/" + id, Token: service,
		Body: storage.VolumeReport{Status: storage.VolumeUploading, ImageID: imageID, Error: "retries ran out"}})
	if r.Code != 200 || len(imgs.deleted) != 0 {
		t.Fatalf("a failure reported for an image that is active: %s, deleted %v", r, imgs.deleted)
	}
	if v, _ := c.store.Volume(context.Background(), storage.Viewer{Admin: true}, id); v.Status != storage.VolumeAvailable {
		t.Fatalf("after the upload: %s", v.Status)
	}
	// A failed upload: the volume back, its image deleted.
	up = c.must(t, 202, "3.70", alice, "POST", "/volumes/"+id+"/action", body)["os-volume_upload_image"].(map[string]any)
	failed := up["image_id"].(string)
	r = c.Call(t, apitest.Call{Method: "PUT", Path: hostPath + "/volumes/" + id, Token: service,
		Body: storage.VolumeReport{Status: storage.VolumeUploading, ImageID: failed, Error: "qemu-img: no space left"}})
	if r.Code != 200 {
		t.Fatalf("the failure's report: %s", r)
	}
	if len(imgs.deleted) != 1 || imgs.deleted[0] != failed {
		t.Fatalf("deleted images: %v, want %s", imgs.deleted, failed)
	}
	if v, _ := c.store.Volume(context.Background(), storage.Viewer{Admin: true}, id); v.Status != storage.VolumeAvailable {
		t.Fatalf("after the failed upload: %s", v.Status)
	}
}
