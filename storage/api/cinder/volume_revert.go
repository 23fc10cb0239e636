package cinder

import (
	"net/http"

	"github.com/gostack/gostack/kit/pyjson"
	"github.com/gostack/gostack/storage"
)

// volumeRevert is the microversion of the revert action.
const volumeRevert = 40

// revertVolume is the revert action (202, from 3.40; before, Cinder's
// version-gated action is not found): the volume back to its latest
// snapshot, by the volume's agent. Cinder's order: the body's revert
// element (a dict), the volume, its latest snapshot (the Store's
// checks), volume:revert_to_snapshot, then the statuses (409).
func (a *API) revertVolume(w http.ResponseWriter, r *http.Request, q *request, body *pyjson.Value) error {
	if !q.at(volumeRevert) {
		return notFound("The resource could not be found.")
	}
	rev, err := bodyElement(body, "revert")
	if err != nil {
		return err
	}
	snapshotID := ""
	if s := rev.Get("snapshot_id"); !s.Null() {
		snapshotID = s.Str()
	}
	allow := func(v storage.Volume) error {
		return a.authorize(r.Context(), q, "volume:revert_to_snapshot", volumeTarget(q, v))
	}
	if _, err := a.Store.RevertVolume(r.Context(), q.viewer(), r.PathValue("id"), snapshotID, allow); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}
