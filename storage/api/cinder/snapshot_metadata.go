package cinder

import (
	"net/http"
	"unicode/utf8"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/kit/pyjson"
	"github.com/gostack/gostack/storage"
)

// snapshotMetadataRoutes are a snapshot's metadata items
// (v3/snapshot_metadata.py). Unlike a volume's, their bodies have no
// schema (the controller asserts the element is a dict) and no ETags.
func (a *API) snapshotMetadataRoutes(rt *httpapi.Router) {
	rt.HandleFunc("GET /snapshots/{id}/metadata", a.op(a.listSnapshotMetadata))
	rt.HandleFunc("POST /snapshots/{id}/metadata", a.op(a.setSnapshotMetadata(false)))
	rt.HandleFunc("PUT /snapshots/{id}/metadata", a.op(a.setSnapshotMetadata(true)))
	rt.HandleFunc("GET /snapshots/{id}/metadata/{key}", a.op(a.showSnapshotMetadata))
	rt.HandleFunc("PUT /snapshots/{id}/metadata/{key}", a.op(a.updateSnapshotMetadataItem))
	rt.HandleFunc("DELETE /snapshots/{id}/metadata/{key}", a.op(a.deleteSnapshotMetadata))
}

// snapshotMetadata is the snapshot of the request's path and its
// metadata, after Cinder's get_snapshot and volume:get_snapshot_metadata.
func (a *API) snapshotMetadata(r *http.Request, q *request) (storage.Snapshot, map[string]string, error) {
	n, err := a.getSnapshot(r.Context(), q, r.PathValue("id"))
	if err != nil {
		return storage.Snapshot{}, nil, err
	}
	if err := a.authorize(r.Context(), q, "volume:get_snapshot_metadata", snapshotTarget(n)); err != nil {
		return storage.Snapshot{}, nil, err
	}
	if n.Metadata == nil {
		n.Metadata = map[string]string{}
	}
	return n, n.Metadata, nil
}

func (a *API) listSnapshotMetadata(w http.ResponseWriter, r *http.Request, q *request) error {
	_, md, err := a.snapshotMetadata(r, q)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"metadata": md})
	return nil
}

func (a *API) showSnapshotMetadata(w http.ResponseWriter, r *http.Request, q *request) error {
	n, md, err := a.snapshotMetadata(r, q)
	if err != nil {
		return err
	}
	key := r.PathValue("key")
	val, ok := md[key]
	if !ok {
		return notFound("Snapshot %s has no metadata with key %s.", n.ID, key)
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"meta": map[string]string{key: val}})
	return nil
}

// bodyElement is Cinder's assert_valid_body: the body's element name,
// which must be a dict.
func bodyElement(body *pyjson.Value, name string) (*pyjson.Value, error) {
	if e := body.Get(name); e != nil && e.Kind == '{' {
		return e, nil
	}
	return nil, badRequest("Missing required element '%s' in request body.", name)
}

// setSnapshotMetadata is POST (keys added or changed) and PUT (the
// whole metadata replaced) of /snapshots/{id}/metadata; the answer is
// the metadata after.
func (a *API) setSnapshotMetadata(replace bool) handler {
	return func(w http.ResponseWriter, r *http.Request, q *request) error {
		body, err := readBody(w, r)
		if err != nil {
			return err
		}
		if body == nil {
			return errNoBody
		}
		md, err := bodyElement(body, "metadata")
		if err != nil {
			return err
		}
		out, err := a.writeSnapshotMetadata(r, q, md, replace)
		if err != nil {
			return err
		}
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"metadata": out})
		return nil
	}
}

// updateSnapshotMetadataItem is PUT /snapshots/{id}/metadata/{key}: a
// body of that one key.
func (a *API) updateSnapshotMetadataItem(w http.ResponseWriter, r *http.Request, q *request) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	if body == nil {
		return errNoBody
	}
	meta, err := bodyElement(body, "meta")
	if err != nil {
		return err
	}
	key := r.PathValue("key")
	if !meta.Has(key) {
		return badRequest("Request body and URI mismatch")
	}
	if len(meta.Keys) > 1 {
		return badRequest("Request body contains too many items")
	}
	if _, err := a.writeSnapshotMetadata(r, q, meta, false); err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"meta": map[string]string{key: meta.Get(key).Text}})
	return nil
}

// writeSnapshotMetadata is Cinder's _update_snapshot_metadata: the
// snapshot, volume:update_snapshot_metadata on it, then the items
// checked as check_metadata_properties does, then written.
func (a *API) writeSnapshotMetadata(r *http.Request, q *request, in *pyjson.Value, replace bool) (map[string]string, error) {
	n, err := a.getSnapshot(r.Context(), q, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	if err := a.authorize(r.Context(), q, "volume:update_snapshot_metadata", snapshotTarget(n)); err != nil {
		return nil, err
	}
	md := map[string]string{}
	for i, k := range in.Keys {
		if err := checkMetadataItem(k, in.Items[i]); err != nil {
			return nil, err
		}
		md[k] = in.Items[i].Text
	}
	return a.Store.UpdateSnapshotMetadata(r.Context(), q.viewer(), n.ID, md, replace)
}

// checkMetadataItem is Cinder's check_metadata_properties of one item:
// a key of at least one character and a string value (InvalidVolumeMetadata,
// 400), neither over 255 characters (InvalidVolumeMetadataSize, which the
// snapshot metadata controller answers with a 413).
func checkMetadataItem(k string, v *pyjson.Value) error {
	switch {
	case k == "":
		return badRequest("Invalid metadata: Invalid input received: Metadata key:  has 0 characters, less than 1.")
	case v.Kind != '"':
		return badRequest("Invalid metadata: Invalid input received: Value for metadata key: %s is not a string or unicode", k)
	case utf8.RuneCountInString(k) > 255:
		return fault.New(fault.TooLarge, "Invalid metadata size: Metadata property key %s greater than 255 characters.", k)
	case utf8.RuneCountInString(v.Text) > 255:
		return fault.New(fault.TooLarge, "Invalid metadata size: Metadata property key %s value greater than 255 characters.", k)
	}
	return nil
}

func (a *API) deleteSnapshotMetadata(w http.ResponseWriter, r *http.Request, q *request) error {
	n, md, err := a.snapshotMetadata(r, q)
	if err != nil {
		return err
	}
	key := r.PathValue("key")
	if _, ok := md[key]; !ok {
		return notFound("Snapshot %s has no metadata with key %s.", n.ID, key)
	}
	if err := a.authorize(r.Context(), q, "volume:delete_snapshot_metadata", snapshotTarget(n)); err != nil {
		return err
	}
	if err := a.Store.DeleteSnapshotMetadata(r.Context(), q.viewer(), n.ID, key); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
