package storage

import (
	"context"
	"slices"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
)

// VolumeUpload is an upload of a volume to an image under way (Cinder's
// os-volume_upload_image): the image, made queued by the caller, that
// the volume's agent writes the volume's content into, in DiskFormat.
type VolumeUpload struct {
	ImageID    string `json:"image_id"`
	DiskFormat string `json:"disk_format"`
	// PreviousStatus is the volume's status before the upload (Cinder's
	// previous_status), which it returns to.
	PreviousStatus VolumeStatus `json:"previous_status"`
}

// UploadFormats are the disk formats an upload may write (what
// image/convert writes).
var UploadFormats = []string{"raw", "qcow2"}

// BeginUpload is Cinder's copy_volume_to_image's conditional update: the
// volume, one v sees, must be available (or in-use, with force when the
// Store's EnableForceUpload allows it; otherwise force is ignored, as
// Cinder's enable_force_upload is false by default); it goes to
// uploading with u (its image's id and disk format) for its agent.
func (s *Store) BeginUpload(ctx context.Context, v Viewer, id string, imageID, diskFormat string, force bool) (Volume, error) {
	if err := checkText("image_id", imageID, maxText); err != nil || imageID == "" {
		return Volume{}, invalidInput("an upload needs its image's id")
	}
	if !slices.Contains(UploadFormats, diskFormat) {
		return Volume{}, invalidInput("Cannot upload a volume as %q: the formats are raw and qcow2.", diskFormat)
	}
	force = force && s.EnableForceUpload
	return s.writeVolume(ctx, id, func(_ *sqlstore.Tx, vol *Volume) error {
		if !v.sees(vol.ProjectID) {
			return volumeNotFound(id)
		}
		ok := vol.Status == VolumeAvailable || force && vol.Status == VolumeInUse
		if !ok || vol.Host == "" {
			statuses := "available"
			if force {
				statuses = "available or in-use"
			}
			return invalidVolume("Volume %s status must be %s", id, statuses)
		}
		if vol.migrating() {
			return errMigrating(id)
		}
		vol.Upload = &VolumeUpload{ImageID: imageID, DiskFormat: diskFormat, PreviousStatus: vol.Status}
		vol.Status = VolumeUploading
		return nil
	})
}

// endUpload is the end of vol's upload: back to the status it had, as
// its attachments now give it when it had some.
func endUpload(vol *Volume) error {
	if vol.Upload == nil {
		return cinderError(fault.Conflict, "InvalidVolume", "Invalid volume: volume %s has no upload under way.", vol.ID)
	}
	vol.Status = vol.Upload.PreviousStatus
	if vol.Status == VolumeInUse || len(vol.Attachments) > 0 {
		vol.Status, _ = attachmentStatuses(vol.Attachments)
	}
	vol.Upload = nil
	return nil
}
