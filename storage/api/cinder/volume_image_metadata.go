package cinder

import (
	"net/http"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/kit/pyjson"
)

// The schemas of Cinder's volume image metadata actions
// (api/schemas/volume_image_metadata.py).
var (
	setImageMetadataSchema = action("os-set_image_metadata", `{"type": "object", "properties": {"metadata": {"type": "object",
		"patternProperties": {"^[a-zA-Z0-9-_:. /]{1,255}$": {"type": "string", "maxLength": 255}}, "additionalProperties": false}},
		"required": ["metadata"], "additionalProperties": false}`)
	unsetImageMetadataSchema = action("os-unset_image_metadata", `{"type": "object", "properties": {"key": {"type": "string",
		"minLength": 1, "maxLength": 255}}, "required": ["key"], "additionalProperties": false}`)
)

// setImageMetadata is os-set_image_metadata (200, {"metadata": the
// volume's whole image metadata after}), in Cinder's order
// (contrib/volume_image_metadata.py): the body, the volume (404 when
// another project's), volume_image_metadata:set, then the volume API's
// get and volume:update_volume_metadata.
func (a *API) setImageMetadata(w http.ResponseWriter, r *http.Request, q *request, body *pyjson.Value) error {
	if err := setImageMetadataSchema.check(nil, body); err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := a.imageMetadataAllowed(r, q, id, "volume_extension:volume_image_metadata:set", "volume:update_volume_metadata"); err != nil {
		return err
	}
	md := map[string]string{}
	in := body.Get("os-set_image_metadata").Get("metadata")
	for i, k := range in.Keys {
		md[k] = in.Items[i].Text
	}
	out, err := a.Store.SetVolumeImageMetadata(r.Context(), q.viewer(), id, md)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"metadata": out})
	return nil
}

// unsetImageMetadata is os-unset_image_metadata (200, no body): as
// setImageMetadata, with volume_image_metadata:remove, then
// volume:get_volume_metadata, the key looked up (GlanceMetadataNotFound,
// 404, also when the volume has no image metadata), then
// volume:delete_volume_metadata.
func (a *API) unsetImageMetadata(w http.ResponseWriter, r *http.Request, q *request, body *pyjson.Value) error {
	if err := unsetImageMetadataSchema.check(nil, body); err != nil {
		return err
	}
	id, key := r.PathValue("id"), body.Get("os-unset_image_metadata").Get("key").Text
	if err := a.imageMetadataAllowed(r, q, id, "volume_extension:volume_image_metadata:remove", "volume:get_volume_metadata"); err != nil {
		return err
	}
	md, err := a.Store.VolumeImageMetadata(r.Context(), q.viewer(), id)
	if err != nil {
		return err
	}
	if _, ok := md[key]; !ok {
		return fault.New(fault.NotFound, "Glance metadata for volume/snapshot %s cannot be found.", id)
	}
	v, err := a.Store.Volume(r.Context(), q.viewer(), id)
	if err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, "volume:delete_volume_metadata", volumeTarget(q, v)); err != nil {
		return err
	}
	if err := a.Store.DeleteVolumeImageMetadata(r.Context(), q.viewer(), id, key); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// showImageMetadata is os-show_image_metadata (200, {"metadata": the
// volume's image metadata}; GlanceMetadataNotFound, 404, when it has
// none): the volume API's get, then volume:get_volume_metadata (not
// volume_image_metadata:show, which Cinder asks only to add
// volume_image_metadata to a volume's view).
func (a *API) showImageMetadata(w http.ResponseWriter, r *http.Request, q *request, _ *pyjson.Value) error {
	v, err := a.getVolume(r.Context(), q, r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, "volume:get_volume_metadata", volumeTarget(q, v)); err != nil {
		return err
	}
	md, err := a.Store.VolumeImageMetadata(r.Context(), q.viewer(), v.ID)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"metadata": md})
	return nil
}

// imageMetadataAllowed finds volume id as Cinder's image metadata
// actions do (by id, 404 when another project's), asks first, then the
// volume API's get (volume:get, 404), then each of rules.
func (a *API) imageMetadataAllowed(r *http.Request, q *request, id, first string, rules ...string) error {
	v, err := a.Store.Volume(r.Context(), q.viewer(), id)
	if err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, first, volumeTarget(q, v)); err != nil {
		return err
	}
	if v, err = a.getVolume(r.Context(), q, id); err != nil {
		return err
	}
	for _, rule := range rules {
		if err := a.authorize(r.Context(), q, rule, volumeTarget(q, v)); err != nil {
			return err
		}
	}
	return nil
}
