package storage_test

import (
	"context"
	"maps"
	"testing"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
	"github.com/gostack/gostack/storage"
)

const imageID = "7c3b2a5e-7d0f-4bde-9a53-0f6f3f0c2a11"

func tinyImage() storage.ImageInfo {
	return storage.ImageInfo{ID: imageID, Name: "tiny", Status: "active", DiskFormat: "qcow2", ContainerFormat: "bare",
		Checksum: "abc", Size: 20 << 20, VirtualSize: 1 << 30, MinDisk: 1, MinRAM: 64,
		Properties: map[string]string{"os_distro": "debian", "image_id": "a property cannot override the id"}}
}

// Cinder's check_image_metadata, message for message.
func TestCheckImage(t *testing.T) {
	img := tinyImage()
	if err := storage.CheckImage(img, 1); err != nil {
		t.Fatalf("a 1 GiB volume of a 1 GiB image: %v", err)
	}
	for _, c := range []struct {
		name   string
		change func(*storage.ImageInfo)
		size   int64
		want   refusal
	}{
		{"queued", func(i *storage.ImageInfo) { i.Status = "queued" }, 1,
			refusal{fault.BadRequest, "Invalid input received: Image " + imageID + " is not active.", false}},
		{"larger than the volume", func(i *storage.ImageInfo) { i.Size = 3<<30 + 1 }, 3,
			refusal{fault.BadRequest, "Invalid input received: Size of specified image 4GB is larger than volume size 3GB.", false}},
		{"min_disk", func(i *storage.ImageInfo) { i.MinDisk = 5 }, 4,
			refusal{fault.BadRequest, "Invalid input received: Volume size 4GB cannot be smaller than the image minDisk size 5GB.", false}},
		{"virtual size", func(i *storage.ImageInfo) { i.VirtualSize = 2<<30 + 512 }, 2,
			refusal{fault.BadRequest, "Image " + imageID + " is unacceptable: Image virtual size is 3GB and doesn't fit in a volume of size 2GB.", false}},
	} {
		t.Run(c.name, func(t *testing.T) {
			i := tinyImage()
			c.change(&i)
			c.want.check(t, storage.CheckImage(i, c.size))
		})
	}
}

// A volume of an image keeps what the image said (Cinder's
// volume_image_metadata) and is bootable; its clones and the volumes of
// its snapshots inherit both.
func TestVolumeFromImage(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		md := storage.ImageMetadata(tinyImage())
		want := map[string]string{"image_id": imageID, "image_name": "tiny", "checksum": "abc", "container_format": "bare",
			"disk_format": "qcow2", "min_disk": "1", "min_ram": "64", "size": "20971520", "os_distro": "debian"}
		if !maps.Equal(md, want) {
			t.Fatalf("image metadata %v, want %v", md, want)
		}
		v := mustCreate(t, s, alice, storage.VolumeCreate{Size: 1, ImageID: imageID, ImageMetadata: md})
		if !v.Bootable || v.ImageID != imageID || !maps.Equal(v.ImageMetadata, want) {
			t.Fatalf("created: %+v", v)
		}
		got, err := s.Volume(ctx, alice, v.ID)
		if err != nil || !maps.Equal(got.ImageMetadata, want) {
			t.Fatalf("read back: %v %v", got.ImageMetadata, err)
		}
		if _, err := s.ReportVolume(ctx, defaultPool, v.ID, storage.VolumeReport{Status: storage.VolumeCreating,
			ProviderLocation: "x", ProviderAuth: "CHAP a b"}); err != nil {
			t.Fatal(err)
		}
		clone := mustCreate(t, s, alice, storage.VolumeCreate{SourceVolID: v.ID})
		n := made(t, s, alice, storage.SnapshotCreate{VolumeID: v.ID})
		fromSnap := mustCreate(t, s, alice, storage.VolumeCreate{SnapshotID: n.ID})
		for _, c := range []storage.Volume{clone, fromSnap} {
			if !c.Bootable || !maps.Equal(c.ImageMetadata, want) || c.ImageID != "" {
				t.Errorf("a copy of the image's volume: bootable %v, image %q, metadata %v", c.Bootable, c.ImageID, c.ImageMetadata)
			}
		}
		plain := mustCreate(t, s, alice, storage.VolumeCreate{Size: 1})
		if plain.Bootable || plain.ImageMetadata != nil {
			t.Errorf("a blank volume: %+v", plain)
		}
		before := snapRows(t, db, feed)
		_, err = s.CreateVolume(ctx, alice, storage.VolumeCreate{Size: 1, ImageID: imageID, ImageMetadata: map[string]string{"image_id": "other"}})
		refusal{fault.BadRequest, "Invalid input received: the image metadata of a volume must be its image's", true}.check(t, err)
		_, err = s.CreateVolume(ctx, alice, storage.VolumeCreate{Size: 1, ImageID: imageID, SourceVolID: v.ID})
		refusal{fault.BadRequest, "Invalid input received: May specify only one of backup, imageRef, snapshot, source volume", false}.check(t, err)
		before.same(t, db, feed)
	})
}
