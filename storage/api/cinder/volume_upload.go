package cinder

import (
	"net/http"
	"slices"

	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/kit/pyjson"
	"github.com/gostack/gostack/storage"
)

// uploadImage is os-volume_upload_image (202): Cinder's
// copy_volume_to_image. The volume must be available (force is ignored,
// as with Cinder's default enable_force_upload, unless the Store allows
// it); a queued image is made in the caller's project with the volume's
// image properties (less Glance's core ones), and the volume goes to
// uploading for its backend's agent, which writes the image and returns
// the volume to its status. The image's formats are raw and qcow2
// (Cinder also writes vmdk, vdi, vhd, vhdx and ploop).
func (a *API) uploadImage(w http.ResponseWriter, r *http.Request, q *request, body *pyjson.Value) error {
	s := uploadImageSchema
	if q.at(1) {
		s = uploadImageV31Schema
	}
	if err := s.check(nil, body); err != nil {
		return err
	}
	params := body.Get("os-volume_upload_image")
	force := false
	if f := params.Get("force"); f != nil {
		force = boolOf(f)
	}
	id := r.PathValue("id")
	v, err := a.getVolume(r.Context(), q, id)
	if err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, "volume_extension:volume_actions:upload_image", nil); err != nil {
		return err
	}
	spec := storage.ImageSpec{Name: params.Get("image_name").Text, DiskFormat: "raw", ContainerFormat: "bare",
		Visibility: "private", Properties: storage.UploadProperties(v)}
	if f := params.Get("disk_format"); f != nil {
		spec.DiskFormat = f.Text
	}
	if c := params.Get("container_format"); c != nil {
		if c.Null() {
			return badRequest("container_format may not be null.")
		}
		spec.ContainerFormat = c.Text
	}
	if q.at(1) {
		if vis := params.Get("visibility"); vis != nil {
			spec.Visibility = vis.Text
		}
		if p := params.Get("protected"); p != nil {
			spec.Protected = boolOf(p)
		}
		if spec.Visibility == "public" {
			if err := a.authorize(r.Context(), q, "volume_extension:volume_actions:upload_public", nil); err != nil {
				return err
			}
		}
	}
	if spec.ContainerFormat == "compressed" {
		// Cinder's default allow_compression_on_image_upload is false.
		return badRequest("Image compression upload disallowed, but container_format is compressed")
	}
	if !slices.Contains(storage.UploadFormats, spec.DiskFormat) {
		return badRequest("Cannot upload a volume as %q: the formats are raw and qcow2.", spec.DiskFormat)
	}
	if a.Images == nil {
		return badRequest("Uploading a volume to an image is not possible: this cloud has no image service.")
	}
	// Cinder's conditional update comes first: a volume in another
	// status makes no image.
	if v.Status != storage.VolumeAvailable && !(force && a.Store.EnableForceUpload && v.Status == storage.VolumeInUse) {
		_, err := a.Store.BeginUpload(r.Context(), q.viewer(), id, "-", spec.DiskFormat, force)
		return err
	}
	img, err := a.Images.Create(r.Context(), q.caller.ProjectID, spec)
	if err != nil {
		return badRequest("%s", err.Error())
	}
	v, err = a.Store.BeginUpload(r.Context(), q.viewer(), id, img.ID, spec.DiskFormat, force)
	if err != nil {
		if derr := a.Images.Delete(r.Context(), img.ID); derr != nil {
			httpapi.Logger(r.Context()).Warn("the image of a refused upload is left", "image", img.ID, "err", derr)
		}
		return err
	}
	var vt any
	if t, err := a.Store.VolumeType(r.Context(), storage.Viewer{Admin: true}, v.VolumeTypeID); err == nil {
		vt = map[string]any{"id": t.ID, "name": t.Name, "description": t.Description, "is_public": t.IsPublic,
			"extra_specs": t.ExtraSpecs, "qos_specs_id": nil, "created_at": isoTime(t.CreatedAt), "deleted": false}
	}
	httpapi.WriteJSON(w, http.StatusAccepted, map[string]any{"os-volume_upload_image": map[string]any{
		"id": v.ID, "updated_at": isoTime(v.UpdatedAt), "status": "uploading", "display_description": v.Description,
		"size": v.Size, "volume_type": vt, "image_id": img.ID, "container_format": img.ContainerFormat,
		"disk_format": img.DiskFormat, "image_name": img.Name, "protected": spec.Protected, "visibility": spec.Visibility}})
	return nil
}
