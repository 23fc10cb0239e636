package cinder

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/kit/pyjson"
	"github.com/gostack/gostack/storage"
)

// Microversions of the snapshots API (cinder/api/microversions.py).
const (
	groupSnapshots      = 14 // group_snapshot_id in the view
	snapshotMetaFilter  = 22 // the metadata filter
	snapshotListUserID  = 41 // user_id in the view
	snapshotConsumesQuo = 65 // consumes_quota in the view, the consumes_quota filter
	snapshotInUse       = 66 // an in-use volume is snapshotted without force
)

// snapshotRoutes are Cinder's snapshots (v3/snapshots.py, the snapshot
// admin actions of contrib/admin_actions.py, v3/snapshot_metadata.py).
func (a *API) snapshotRoutes(rt *httpapi.Router) {
	rt.HandleFunc("POST /snapshots", a.op(a.createSnapshot))
	rt.HandleFunc("GET /snapshots", a.op(a.listSnapshots(false)))
	rt.HandleFunc("GET /snapshots/detail", a.op(a.listSnapshots(true)))
	rt.HandleFunc("GET /snapshots/{id}", a.op(a.showSnapshot))
	rt.HandleFunc("PUT /snapshots/{id}", a.op(a.updateSnapshot))
	rt.HandleFunc("DELETE /snapshots/{id}", a.op(a.deleteSnapshot))
	rt.HandleFunc("POST /snapshots/{id}/action", a.op(a.snapshotAction))
	a.snapshotMetadataRoutes(rt)
}

// snapshotTarget is the policy target of a snapshot (Cinder's
// target_obj).
func snapshotTarget(n storage.Snapshot) map[string]any {
	return map[string]any{"project_id": n.ProjectID, "user_id": n.UserID, "id": n.ID, "volume_id": n.VolumeID,
		"status": string(n.Status)}
}

// getSnapshot is Cinder's volume_api.get_snapshot: the snapshot if the
// caller sees it (else SnapshotNotFound), then volume:get_snapshot on
// it, whose refusal is a 403 (Cinder does not hide it as a 404, as it
// does a volume's).
func (a *API) getSnapshot(ctx context.Context, q *request, id string) (storage.Snapshot, error) {
	n, err := a.Store.Snapshot(ctx, q.viewer(), id)
	if err != nil {
		return storage.Snapshot{}, err
	}
	if err := a.authorize(ctx, q, "volume:get_snapshot", snapshotTarget(n)); err != nil {
		return storage.Snapshot{}, err
	}
	return n, nil
}

// snapshotSummary is Cinder's summary view of a snapshot
// (api/views/snapshots.py): the index's, with no links.
func snapshotSummary(n storage.Snapshot) map[string]any {
	md := n.Metadata
	if md == nil {
		md = map[string]string{}
	}
	return map[string]any{"id": n.ID, "created_at": isoTime(n.CreatedAt), "updated_at": isoTime(n.UpdatedAt),
		"name": n.Name, "description": n.Description, "volume_id": n.VolumeID, "status": string(n.Status),
		"size": n.VolumeSize, "metadata": md}
}

// snapshotView is Cinder's detail view at the request's microversion
// (v3/views/snapshots.py).
func (q *request) snapshotView(n storage.Snapshot) map[string]any {
	out := snapshotSummary(n)
	if q.at(groupSnapshots) {
		out["group_snapshot_id"] = nil
	}
	if q.at(snapshotListUserID) {
		out["user_id"] = n.UserID
	}
	if q.at(snapshotConsumesQuo) {
		out["consumes_quota"] = true // every snapshot counts against the quotas
	}
	return out
}

// snapshotExtensions reports whether the extended snapshot attributes
// extension adds the project and progress to show and detail (its
// policy with the caller's own target).
func (a *API) snapshotExtensions(ctx context.Context, q *request) bool {
	return a.allowed(ctx, q, "volume_extension:extended_snapshot_attributes", nil)
}

func addSnapshotExtensions(n storage.Snapshot, view map[string]any) {
	view["os-extended-snapshot-attributes:project_id"] = n.ProjectID
	view["os-extended-snapshot-attributes:progress"] = n.Progress
}

func (a *API) showSnapshot(w http.ResponseWriter, r *http.Request, q *request) error {
	n, err := a.getSnapshot(r.Context(), q, r.PathValue("id"))
	if err != nil {
		return err
	}
	view := q.snapshotView(n)
	if a.snapshotExtensions(r.Context(), q) {
		addSnapshotExtensions(n, view)
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"snapshot": view})
	return nil
}

// snapshotInUseMsg is Cinder's refusal of a false force from 3.66.
const snapshotInUseMsg = "Since microversion 3.66 the 'force' flag is invalid for this request.  For backward compatability, " +
	"however, when the 'force' flag is passed with a value evaluating to True, it is silently ignored."

// createSnapshot is Cinder's create, in its order: the schema, the
// volume (one the caller sees and volume:get allows), the force flag,
// volume:create_snapshot on the volume, then the Store's checks (the
// volume's host and status, the quotas).
func (a *API) createSnapshot(w http.ResponseWriter, r *http.Request, q *request) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	if body == nil {
		return errNoBody
	}
	if err := snapshotCreateSchema.check(nil, body); err != nil {
		return err
	}
	snap := body.Get("snapshot")
	volID := "None" // Python's str(None): the schema lets a null volume_id through
	if v := snap.Get("volume_id"); !v.Null() {
		volID = v.Text
	}
	vol, err := a.getVolume(r.Context(), q, volID)
	if err != nil {
		return err
	}
	force := false
	if f := snap.Get("force"); f != nil {
		force = boolOf(f)
		if q.at(snapshotInUse) && !force {
			return badRequest("%s", snapshotInUseMsg)
		}
	}
	c := storage.SnapshotCreate{VolumeID: vol.ID, UserID: q.caller.UserID, Force: force, AllowInUse: q.at(snapshotInUse),
		Name: textField(snap, "name", "display_name"), Description: textField(snap, "description"), Metadata: map[string]string{}}
	if md := snap.Get("metadata"); md != nil && md.Kind == '{' {
		for i, k := range md.Keys {
			c.Metadata[k] = md.Items[i].Text
		}
	}
	if err := a.authorize(r.Context(), q, "volume:create_snapshot", volumeTarget(q, vol)); err != nil {
		return err
	}
	n, err := a.Store.CreateSnapshot(r.Context(), q.viewer(), c)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusAccepted, map[string]any{"snapshot": q.snapshotView(n)})
	return nil
}

// updateSnapshot is Cinder's update of a snapshot's name and
// description: name wins over display_name and description over
// display_description when both are given; null clears.
func (a *API) updateSnapshot(w http.ResponseWriter, r *http.Request, q *request) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	if body == nil {
		return errNoBody
	}
	if err := snapshotUpdateSchema.check(nil, body); err != nil {
		return err
	}
	id := r.PathValue("id")
	n, err := a.getSnapshot(r.Context(), q, id)
	if err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, "volume:update_snapshot", snapshotTarget(n)); err != nil {
		return err
	}
	snap := body.Get("snapshot")
	var u storage.SnapshotUpdate
	for _, f := range []struct {
		keys  []string
		dst   **string
		clear *bool
	}{{[]string{"name", "display_name"}, &u.Name, &u.ClearName}, {[]string{"description", "display_description"}, &u.Description, &u.ClearDescription}} {
		if slices.ContainsFunc(f.keys, snap.Has) {
			*f.dst = textField(snap, f.keys...)
			*f.clear = *f.dst == nil
		}
	}
	if n, err = a.Store.UpdateSnapshot(r.Context(), q.viewer(), id, u); err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"snapshot": q.snapshotView(n)})
	return nil
}

// deleteSnapshot is Cinder's delete (202): available or error, for the
// agent of the snapshot's pool.
func (a *API) deleteSnapshot(w http.ResponseWriter, r *http.Request, q *request) error {
	return a.removeSnapshot(w, r, q, false)
}

// removeSnapshot is a delete, or (force) an admin's os-force_delete
// after its own policy.
func (a *API) removeSnapshot(w http.ResponseWriter, r *http.Request, q *request, force bool) error {
	id := r.PathValue("id")
	n, err := a.getSnapshot(r.Context(), q, id)
	if err != nil {
		return err
	}
	if force {
		if err := a.authorize(r.Context(), q, "volume_extension:snapshot_admin_actions:force_delete", snapshotTarget(n)); err != nil {
			return err
		}
	}
	if err := a.authorize(r.Context(), q, "volume:delete_snapshot", snapshotTarget(n)); err != nil {
		return err
	}
	if _, err := a.Store.DeleteSnapshot(r.Context(), q.viewer(), id, force); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// snapshotActions are the actions of POST /snapshots/{id}/action
// served: the admin actions. os-update_snapshot_status (Nova's assisted
// snapshots of volumes on file backends) and os-unmanage are not.
var snapshotActions = map[string]func(a *API, w http.ResponseWriter, r *http.Request, q *request, body *pyjson.Value) error{
	"os-reset_status": (*API).resetSnapshotStatus,
	"os-force_delete": func(a *API, w http.ResponseWriter, r *http.Request, q *request, _ *pyjson.Value) error {
		return a.removeSnapshot(w, r, q, true)
	},
}

func (a *API) snapshotAction(w http.ResponseWriter, r *http.Request, q *request) error {
	name, body, err := readAction(w, r)
	if err != nil {
		return err
	}
	act, ok := snapshotActions[name]
	if !ok {
		return noSuchAction(name)
	}
	return act(a, w, r, q, body)
}

// resetSnapshotStatus is an admin's os-reset_status (202): the body
// checked, the snapshot found, then the policy on it, as Cinder's
// SnapshotAdminController does; the status is set lowercased.
func (a *API) resetSnapshotStatus(w http.ResponseWriter, r *http.Request, q *request, body *pyjson.Value) error {
	if err := snapshotResetSchema.check(nil, body); err != nil {
		return err
	}
	id := r.PathValue("id")
	n, err := a.Store.Snapshot(r.Context(), q.viewer(), id)
	if err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, "volume_extension:snapshot_admin_actions:reset_status", snapshotTarget(n)); err != nil {
		return err
	}
	status := storage.SnapshotStatus(strings.ToLower(body.Get("os-reset_status").Get("status").Text))
	if _, err := a.Store.ResetSnapshotStatus(r.Context(), q.viewer(), id, status); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}
