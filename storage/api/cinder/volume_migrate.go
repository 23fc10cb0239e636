package cinder

import (
	"net/http"

	"github.com/gostack/gostack/kit/pyjson"
	"github.com/gostack/gostack/storage"
)

// migrateVolume is an admin's os-migrate_volume (202), in Cinder's
// order: the body checked against the schema of the request's version
// (3.16 adds cluster), the volume found, the policy
// (volume_extension:volume_admin_actions:migrate_volume, admins only by
// default), exactly one of host and cluster (InvalidInput), then the
// Store's checks and the destination's scheduling.
func (a *API) migrateVolume(w http.ResponseWriter, r *http.Request, q *request, body *pyjson.Value) error {
	sch := migrateVolumeSchema
	if q.at(16) {
		sch = migrateVolumeV316Schema
	}
	if err := sch.check(nil, body); err != nil {
		return err
	}
	id := r.PathValue("id")
	v, err := a.getVolume(r.Context(), q, id)
	if err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, "volume_extension:volume_admin_actions:migrate_volume", volumeTarget(q, v)); err != nil {
		return err
	}
	params := body.Get("os-migrate_volume")
	text := func(name string) string {
		if p := params.Get(name); p != nil && p.Truthy() {
			return p.Text
		}
		return ""
	}
	req := storage.VolumeMigrateRequest{Host: text("host")}
	msg := "Host field is missing."
	if q.at(16) {
		req.Cluster, msg = text("cluster"), "One and only one of cluster and host must be set."
	}
	if (req.Cluster != "") == (req.Host != "") {
		return badRequest("Invalid input received: %s", msg)
	}
	if p := params.Get("force_host_copy"); p != nil {
		req.ForceHostCopy = boolOf(p)
	}
	if p := params.Get("lock_volume"); p != nil {
		req.LockVolume = boolOf(p)
	}
	if _, err := a.Store.MigrateVolume(r.Context(), q.viewer(), id, req); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}
