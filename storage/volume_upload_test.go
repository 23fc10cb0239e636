package storage_test

import (
	"context"
	"testing"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
	"github.com/gostack/gostack/storage"
)

// An upload to an image: an available volume goes to uploading with its
// image and format for the agent, whose report returns it to available
// (a failure's words kept); an in-use volume only with force, when the
// Store allows it (Cinder's enable_force_upload), and back to in-use.
func TestVolumeUpload(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		vol := exported(t, s, alice, storage.VolumeCreate{Size: 1})
		used := exported(t, s, alice, storage.VolumeCreate{Size: 1})
		attach(t, s, alice, used.ID, "11111111-2222-3333-4444-555555555555")
		before := fullSnapshot(t, db, feed)
		for _, c := range []struct {
			name string
			call func() error
			want refusal
		}{
			{"in-use", func() error { _, err := s.BeginUpload(ctx, alice, used.ID, imageID, "raw", false); return err },
				refusal{fault.BadRequest, "Invalid volume: Volume " + used.ID + " status must be available", false}},
			{"in-use, force not allowed", func() error { _, err := s.BeginUpload(ctx, alice, used.ID, imageID, "raw", true); return err },
				refusal{fault.BadRequest, "Invalid volume: Volume " + used.ID + " status must be available", false}},
			{"another project's", func() error { _, err := s.BeginUpload(ctx, bob, vol.ID, imageID, "raw", false); return err },
				refusal{fault.NotFound, "Volume " + vol.ID + " could not be found.", false}},
			{"vmdk", func() error { _, err := s.BeginUpload(ctx, alice, vol.ID, imageID, "vmdk", false); return err },
				refusal{fault.BadRequest, "Invalid input received: Cannot upload a volume as \"vmdk\": the formats are raw and qcow2.", false}},
			{"no image", func() error { _, err := s.BeginUpload(ctx, alice, vol.ID, "", "raw", false); return err },
				refusal{fault.BadRequest, "Invalid input received: an upload needs its image's id", false}},
			{"a report with no upload", func() error {
				_, err := s.ReportVolume(ctx, defaultPool, vol.ID, storage.VolumeReport{Status: storage.VolumeUploading})
				return err
			}, refusal{fault.Conflict, "Conflict updating volume " + vol.ID + ". Expected: {'status': 'uploading'}. Actual: {'status': 'available'}", false}},
		} {
			t.Run(c.name, func(t *testing.T) {
				c.want.check(t, c.call())
				before.same(t, db, feed)
			})
		}
		v, err := s.BeginUpload(ctx, alice, vol.ID, imageID, "qcow2", false)
		if err != nil || v.Status != storage.VolumeUploading || v.Upload == nil ||
			*v.Upload != (storage.VolumeUpload{ImageID: imageID, DiskFormat: "qcow2", PreviousStatus: storage.VolumeAvailable}) {
			t.Fatalf("begin: %+v %v", v, err)
		}
		st, _ := s.BackendState(ctx, defaultPool)
		for _, sv := range st.Volumes {
			if sv.ID == vol.ID && (sv.Upload == nil || sv.Upload.ImageID != imageID) {
				t.Fatalf("the agent's view of the upload: %+v", sv.Upload)
			}
		}
		if _, err := s.BeginUpload(ctx, alice, vol.ID, imageID, "raw", false); fault.KindOf(err) != fault.BadRequest {
			t.Fatalf("a second upload at once: %v", err)
		}
		_, err = s.ReportVolume(ctx, defaultPool, vol.ID, storage.VolumeReport{Status: storage.VolumeUploading, ImageID: "another"})
		refusal{fault.Conflict, "Invalid volume: volume " + vol.ID + " is not uploading to image another.", false}.check(t, err)
		v, err = s.ReportVolume(ctx, defaultPool, vol.ID, storage.VolumeReport{Status: storage.VolumeUploading, ImageID: imageID})
		if err != nil || v.Status != storage.VolumeAvailable || v.Upload != nil {
			t.Fatalf("uploaded: %+v %v", v, err)
		}
		if _, err := s.BeginUpload(ctx, alice, vol.ID, imageID, "raw", false); err != nil {
			t.Fatal(err)
		}
		v, err = s.ReportVolume(ctx, defaultPool, vol.ID, storage.VolumeReport{Status: storage.VolumeUploading, ImageID: imageID, Error: "the image service refused it"})
		if err != nil || v.Status != storage.VolumeAvailable || v.Message != "the image service refused it" {
			t.Fatalf("a failed upload: %+v %v", v, err)
		}
		s.EnableForceUpload = true
		v, err = s.BeginUpload(ctx, alice, used.ID, imageID, "raw", true)
		if err != nil || v.Upload.PreviousStatus != storage.VolumeInUse {
			t.Fatalf("a forced upload of an in-use volume: %+v %v", v, err)
		}
		v, err = s.ReportVolume(ctx, defaultPool, used.ID, storage.VolumeReport{Status: storage.VolumeUploading, ImageID: imageID})
		if err != nil || v.Status != storage.VolumeInUse || v.AttachStatus != storage.AttachAttached {
			t.Fatalf("after the in-use volume's upload: %+v %v", v, err)
		}
		// An admin's reset abandons an upload.
		if _, err := s.BeginUpload(ctx, alice, vol.ID, imageID, "raw", false); err != nil {
			t.Fatal(err)
		}
		if v, err := s.ResetStatus(ctx, admin, vol.ID, storage.StatusReset{Status: storage.VolumeAvailable}); err != nil || v.Upload != nil {
			t.Fatalf("reset: %+v %v", v, err)
		}
	})
}
