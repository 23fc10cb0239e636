package cinder

import (
	"context"
	"net/http"

	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/kit/pyjson"
	"github.com/gostack/gostack/storage"
)

// The volume actions of the legacy attach flow (the volume actions
// extension): each checks its schema, finds the volume as
// volume_api.get does (volume:get), checks its policy on the volume and
// calls the Store; 202 without a body, but initialize_connection's 200
// with the connection info.

// volumeFor is the volume of the request's path as volume_api.get finds
// it, once rule allows the caller on it.
func (a *API) volumeFor(r *http.Request, q *request, rule string) (storage.Volume, error) {
	v, err := a.getVolume(r.Context(), q, r.PathValue("id"))
	if err != nil {
		return storage.Volume{}, err
	}
	return v, a.authorize(r.Context(), q, rule, volumeTarget(q, v))
}

// statusMove is a Store call that moves a volume's status.
type statusMove func(*storage.Store, context.Context, storage.Viewer, string) (storage.Volume, error)

// moveStatus is an action that only moves the volume's status (no
// schema: the body's value is not read): os-reserve (available, or
// in-use and multiattach, to attaching), os-unreserve (attaching back to
// in-use or available), os-begin_detaching (in-use and attached to
// detaching), os-roll_detaching (detaching back to in-use).
func moveStatus(rule string, move statusMove) func(a *API, w http.ResponseWriter, r *http.Request, q *request, _ *pyjson.Value) error {
	return func(a *API, w http.ResponseWriter, r *http.Request, q *request, _ *pyjson.Value) error {
		v, err := a.volumeFor(r, q, rule)
		if err != nil {
			return err
		}
		if _, err := move(a.Store, r.Context(), q.viewer(), v.ID); err != nil {
			return err
		}
		w.WriteHeader(http.StatusAccepted)
		return nil
	}
}

// attachVolume is os-attach: the volume attached to the instance (or
// host) at once, in the mode asked (rw by default).
func (a *API) attachVolume(w http.ResponseWriter, r *http.Request, q *request, body *pyjson.Value) error {
	if err := attachSchema.check(nil, body); err != nil {
		return err
	}
	v, err := a.volumeFor(r, q, "volume_extension:volume_actions:attach")
	if err != nil {
		return err
	}
	b := body.Get("os-attach")
	at := storage.VolumeAttach{Mountpoint: b.Get("mountpoint").Text}
	for _, f := range []struct {
		key string
		dst *string
	}{{"instance_uuid", &at.InstanceUUID}, {"host_name", &at.HostName}, {"mode", &at.Mode}} {
		if x := b.Get(f.key); x != nil {
			*f.dst = x.Text
		}
	}
	if _, err := a.Store.AttachVolume(r.Context(), q.viewer(), v.ID, at); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// detachVolume is os-detach: Cinder's check that no server still uses
// the attachment (unless a service asks), then the attachment named
// (or the volume's only one) detached.
func (a *API) detachVolume(w http.ResponseWriter, r *http.Request, q *request, body *pyjson.Value) error {
	if err := detachSchema.check(nil, body); err != nil {
		return err
	}
	v, err := a.volumeFor(r, q, "volume_extension:volume_actions:detach")
	if err != nil {
		return err
	}
	id := ""
	if x := body.Get("os-detach").Get("attachment_id"); !x.Null() {
		id = x.Text
	}
	var at *storage.Attachment
	vol := &v
	if id != "" {
		// An attachment not found is Cinder's refusal unless a service
		// asks.
		if found, err := a.Store.Attachment(r.Context(), q.viewer(), id); err == nil {
			at = &found
		} else {
			vol = nil
		}
	}
	if err := a.deletionAllowed(r.Context(), at, vol); err != nil {
		return err
	}
	if _, err := a.Store.DetachVolume(r.Context(), q.viewer(), v.ID, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// initializeConnection is os-initialize_connection: the volume's
// connection info for the connector (200 {"connection_info": ...}).
func (a *API) initializeConnection(w http.ResponseWriter, r *http.Request, q *request, body *pyjson.Value) error {
	if err := initializeConnectionSchema.check(nil, body); err != nil {
		return err
	}
	v, err := a.volumeFor(r, q, "volume_extension:volume_actions:initialize_connection")
	if err != nil {
		return err
	}
	connector, ok := native(body.Get("os-initialize_connection").Get("connector")).(map[string]any)
	if !ok {
		// A string: Cinder looks for "initiator" in it as in a dict's keys.
		connector = map[string]any{}
	}
	info, err := a.Store.InitializeConnection(r.Context(), q.viewer(), v.ID, connector)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"connection_info": info})
	return nil
}

// terminateConnection is os-terminate_connection: Cinder's check that
// no server still uses the volume's attachment (unless a service
// asks), nothing to do on the tgt target, then the volume unreserved
// (attaching back to in-use or available).
func (a *API) terminateConnection(w http.ResponseWriter, r *http.Request, q *request, body *pyjson.Value) error {
	if err := terminateConnectionSchema.check(nil, body); err != nil {
		return err
	}
	v, err := a.volumeFor(r, q, "volume_extension:volume_actions:terminate_connection")
	if err != nil {
		return err
	}
	if err := a.deletionAllowed(r.Context(), nil, &v); err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, "volume_extension:volume_actions:unreserve", volumeTarget(q, v)); err != nil {
		return err
	}
	if _, err := a.Store.UnreserveVolume(r.Context(), q.viewer(), v.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}
