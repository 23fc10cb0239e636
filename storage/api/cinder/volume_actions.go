package cinder

import (
	"net/http"
	"strings"

	"github.com/gostack/gostack/kit/pyjson"
	"github.com/gostack/gostack/storage"
)

// volumeActions are the actions of POST /volumes/{id}/action served
// (the volume actions and admin actions extensions); any other is
// Cinder's "There is no such action".
var volumeActions = map[string]func(a *API, w http.ResponseWriter, r *http.Request, q *request, body *pyjson.Value) error{
	"os-extend":       (*API).extendVolume,
	"os-set_bootable": (*API).setBootable,
	"os-reset_status": (*API).resetVolumeStatus,
	"os-force_delete": (*API).forceDeleteVolume,
	"os-retype":       (*API).retypeVolume,
	"revert":          (*API).revertVolume,
	// The image metadata a volume keeps (volume_image_metadata.go).
	"os-set_image_metadata":   (*API).setImageMetadata,
	"os-unset_image_metadata": (*API).unsetImageMetadata,
	"os-show_image_metadata":  (*API).showImageMetadata,
	// An admin's migration to another pool (volume_migrate.go).
	"os-migrate_volume": (*API).migrateVolume,
	// Copies to the image service (volume_upload.go).
	"os-volume_upload_image": (*API).uploadImage,
	// The legacy attach flow (volume_attach.go).
	"os-reserve":               moveStatus("volume_extension:volume_actions:reserve", (*storage.Store).ReserveVolume),
	"os-unreserve":             moveStatus("volume_extension:volume_actions:unreserve", (*storage.Store).UnreserveVolume),
	"os-begin_detaching":       moveStatus("volume_extension:volume_actions:begin_detaching", (*storage.Store).BeginDetaching),
	"os-roll_detaching":        moveStatus("volume_extension:volume_actions:roll_detaching", (*storage.Store).RollDetaching),
	"os-attach":                (*API).attachVolume,
	"os-detach":                (*API).detachVolume,
	"os-initialize_connection": (*API).initializeConnection,
	"os-terminate_connection":  (*API).terminateConnection,
}

func (a *API) volumeAction(w http.ResponseWriter, r *http.Request, q *request) error {
	name, body, err := readAction(w, r)
	if err != nil {
		return err
	}
	act, ok := volumeActions[name]
	if !ok {
		return noSuchAction(name)
	}
	return act(a, w, r, q, body)
}

// extendVolume is os-extend: the volume goes to extending for its
// backend's agent (202); from 3.42 an in-use one too
// (extend_attached_volume).
func (a *API) extendVolume(w http.ResponseWriter, r *http.Request, q *request, body *pyjson.Value) error {
	if err := extendSchema.check(nil, body); err != nil {
		return err
	}
	id := r.PathValue("id")
	v, err := a.getVolume(r.Context(), q, id)
	if err != nil {
		return err
	}
	size, _ := pyjson.Int(body.Get("os-extend").Get("new_size").Str())
	rule, extend := "volume:extend", a.Store.ExtendVolume
	if q.at(42) && v.Status == storage.VolumeInUse {
		rule, extend = "volume:extend_attached_volume", a.Store.ExtendAttachedVolume
	}
	if err := a.authorize(r.Context(), q, rule, volumeTarget(q, v)); err != nil {
		return err
	}
	n := size.Int64()
	if !size.IsInt64() {
		n = 1 << 62 // over any size the Store takes: its refusal names the limit
	}
	if _, err := extend(r.Context(), q.viewer(), id, n); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// retypeVolume is os-retype (202): the body checked, the volume found,
// volume:retype, then the Store's retype (volume:multiattach asked when
// the new type makes the volume multiattach), as Cinder's.
func (a *API) retypeVolume(w http.ResponseWriter, r *http.Request, q *request, body *pyjson.Value) error {
	if err := retypeSchema.check(nil, body); err != nil {
		return err
	}
	id := r.PathValue("id")
	v, err := a.getVolume(r.Context(), q, id)
	if err != nil {
		return err
	}
	target := volumeTarget(q, v)
	if err := a.authorize(r.Context(), q, "volume:retype", target); err != nil {
		return err
	}
	rt := body.Get("os-retype")
	req := storage.VolumeRetypeRequest{NewType: rt.Get("new_type").Text,
		AllowMultiattach: func(storage.VolumeType) error { return a.authorize(r.Context(), q, "volume:multiattach", target) }}
	if p := rt.Get("migration_policy"); p != nil && p.Truthy() {
		req.MigrationPolicy = p.Text
	}
	if _, err := a.Store.RetypeVolume(r.Context(), q.viewer(), id, req); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// setBootable is os-set_bootable (200, no body), an update of the
// volume for Cinder's policy.
func (a *API) setBootable(w http.ResponseWriter, r *http.Request, q *request, body *pyjson.Value) error {
	if err := setBootableSchema.check(nil, body); err != nil {
		return err
	}
	id := r.PathValue("id")
	v, err := a.getVolume(r.Context(), q, id)
	if err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, "volume:update", volumeTarget(q, v)); err != nil {
		return err
	}
	if _, err := a.Store.SetBootable(r.Context(), q.viewer(), id, boolOf(body.Get("os-set_bootable").Get("bootable"))); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// resetVolumeStatus is an admin's os-reset_status (202): the body
// checked first, then the volume found, then the policy, as Cinder's
// admin actions do.
func (a *API) resetVolumeStatus(w http.ResponseWriter, r *http.Request, q *request, body *pyjson.Value) error {
	if err := resetStatusSchema.check(nil, body); err != nil {
		return err
	}
	id := r.PathValue("id")
	v, err := a.Store.Volume(r.Context(), q.viewer(), id)
	if err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, "volume_extension:volume_admin_actions:reset_status", volumeTarget(q, v)); err != nil {
		return err
	}
	reset := body.Get("os-reset_status")
	var sr storage.StatusReset
	if s := reset.Get("status"); s != nil && s.Truthy() {
		sr.Status = storage.VolumeStatus(strings.ToLower(s.Text))
	}
	if s := reset.Get("attach_status"); s != nil && s.Truthy() {
		sr.AttachStatus = storage.AttachStatus(strings.ToLower(s.Text))
	}
	if s := reset.Get("migration_status"); s != nil && s.Truthy() {
		if strings.ToLower(s.Text) != "none" {
			return badRequest("Resetting a volume's migration_status to other than none is not supported: a volume migrates only in a retype or an admin's migration, which a reset of its status abandons.")
		}
		sr.ClearMigrationStatus = true
	}
	if _, err := a.Store.ResetStatus(r.Context(), q.viewer(), id, sr); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// forceDeleteVolume is an admin's os-force_delete (202): a delete
// whatever the volume's status.
func (a *API) forceDeleteVolume(w http.ResponseWriter, r *http.Request, q *request, _ *pyjson.Value) error {
	id := r.PathValue("id")
	v, err := a.getVolume(r.Context(), q, id)
	if err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, "volume_extension:volume_admin_actions:force_delete", volumeTarget(q, v)); err != nil {
		return err
	}
	if _, err := a.Store.DeleteVolume(r.Context(), q.viewer(), id, storage.DeleteOptions{Force: true}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}
