package nova

import (
	"net/http"
	"slices"

	"github.com/google/uuid"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

func (a *API) eventRoutes(rt *httpapi.Router) {
	rt.HandleFunc("POST /os-server-external-events", a.op(a.externalEvents))
}

// eventNames are the event names Nova's schema takes, with the
// microversion each came with.
var eventNames = []struct {
	name  string
	since int
}{{"network-changed", 0}, {"network-vif-plugged", 0}, {"network-vif-unplugged", 0}, {"network-vif-deleted", 0},
	{"volume-extended", 51}, {"power-update", 76}, {"accelerator-request-bound", 82}, {"volume-reimaged", 93}}

// externalEvents is Nova's os-server-external-events (admins by default
// policy): each event answered with its status and code as Nova's
// controller answers them — 404 for a server that does not exist, 400
// for a volume event without its volume (tag), 422 for a server no host
// has, 200 otherwise; 207 when any event failed. A volume-extended event
// (the volume grew in the block-storage service) has the server's host
// tell the guest (compute.Store.VolumeExtended; a volume the server does
// not have, or one with an operation under way, fails with 404 or 409).
// The network and power events are accepted and change nothing: the
// compute agent learns its ports' state from the network service, and
// powers guests itself.
func (a *API) externalEvents(w http.ResponseWriter, r *http.Request, q *request) error {
	if err := a.authorize(r.Context(), q, "os_compute_api:os-server-external-events:create", map[string]any{}); err != nil {
		return err
	}
	v, err := readBody(w, r)
	if err != nil {
		return err
	}
	body, ok := v.(map[string]any)
	if !ok {
		return badRequest("Invalid input for field/attribute . Value: %s. %s is not of type 'object'", py(v), py(v))
	}
	top := object{m: body}
	if err := top.only("events"); err != nil {
		return err
	}
	if err := top.required("events"); err != nil {
		return err
	}
	list, ok := body["events"].([]any)
	if !ok {
		return badRequest("Invalid input for field/attribute events. Value: %s. %s is not of type 'array'", pyBare(body["events"]), py(body["events"]))
	}
	if len(list) == 0 {
		return badRequest("Invalid input for field/attribute events. Value: []. [] is too short")
	}
	names := []string{}
	for _, n := range eventNames {
		if q.at(n.since) {
			names = append(names, n.name)
		}
	}
	type event struct {
		m                 map[string]any
		server, name, tag string
	}
	var events []event
	for _, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			return badRequest("Invalid input for field/attribute events. Value: %s. %s is not of type 'object'", py(list), py(item))
		}
		o := object{m: m}
		if err := o.only("server_uuid", "name", "status", "tag"); err != nil {
			return err
		}
		if err := o.required("server_uuid", "name"); err != nil {
			return err
		}
		e := event{m: m}
		for _, f := range []struct {
			key  string
			into *string
		}{{"server_uuid", &e.server}, {"name", &e.name}, {"tag", &e.tag}} {
			s, _, err := o.str(f.key)
			if err != nil {
				return err
			}
			*f.into = s
		}
		if _, err := uuid.Parse(e.server); err != nil {
			return badRequest("Invalid input for field/attribute server_uuid. Value: %s. %s is not a 'uuid'", e.server, py(e.server))
		}
		if !slices.Contains(names, e.name) {
			return badRequest("Invalid input for field/attribute name. Value: %s. %s is not one of %s", e.name, py(e.name), pyStrings(names))
		}
		if st, ok := m["status"]; ok {
			s, _ := st.(string)
			if !slices.Contains([]string{"failed", "completed", "in-progress"}, s) {
				return badRequest("Invalid input for field/attribute status. Value: %s. %s is not one of ['failed', 'completed', 'in-progress']", pyBare(st), py(st))
			}
		}
		if len(e.tag) > 255 {
			return badRequest("Invalid input for field/attribute tag. Value: %s. %s is too long", e.tag, py(e.tag))
		}
		events = append(events, e)
	}
	result, out := http.StatusOK, make([]any, 0, len(events))
	for _, e := range events {
		status, code := "completed", http.StatusOK
		i, err := a.Store.Instance(r.Context(), compute.Viewer{Admin: true}, e.server)
		switch {
		case fault.KindOf(err) == fault.NotFound:
			status, code = "failed", http.StatusNotFound
		case err != nil:
			return err
		case (e.name == "volume-extended" || e.name == "volume-reimaged") && e.tag == "":
			status, code = "failed", http.StatusBadRequest
		case i.Host == "":
			status, code = "failed", http.StatusUnprocessableEntity
		case e.name == "volume-extended":
			code = a.volumeExtended(r, i, e.tag)
			if code != http.StatusOK {
				status = "failed"
			}
		case e.name == "volume-reimaged":
			status, code = "failed", http.StatusUnprocessableEntity // no rebuild of volume-backed servers here
		}
		if code != http.StatusOK {
			result = http.StatusMultiStatus
		}
		e.m["status"], e.m["code"] = status, code
		out = append(out, e.m)
	}
	httpapi.WriteJSON(w, result, map[string]any{"events": out})
	return nil
}

// volumeExtended hands a volume-extended event to the server's host: the
// volume's new size is read from the block-storage service, as Nova's
// compute manager reads it. It returns the event's code.
func (a *API) volumeExtended(r *http.Request, i compute.Instance, volume string) int {
	if a.Volumes == nil {
		return http.StatusUnprocessableEntity
	}
	v, err := a.Volumes.Volume(r.Context(), "", volume)
	if err != nil {
		return http.StatusNotFound
	}
	_, err = a.Store.VolumeExtended(r.Context(), i.UUID, volume, v.Size<<30)
	switch {
	case err == nil:
		return http.StatusOK
	case fault.KindOf(err) == fault.NotFound:
		return http.StatusNotFound
	case fault.KindOf(err) == fault.Conflict:
		return http.StatusConflict
	case fault.KindOf(err) == fault.BadRequest:
		return http.StatusBadRequest
	}
	httpapi.Logger(r.Context()).Warn("compute: a volume-extended event failed", "instance", i.UUID, "volume", volume, "err", err)
	return http.StatusInternalServerError
}
