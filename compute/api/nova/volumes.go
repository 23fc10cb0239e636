package nova

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

// Nova's os-volume_attachments (api/openstack/compute/volumes.py): the
// volumes of a server, attached and detached through Cinder's v3
// attachments. An attach answers at once with the device name (the
// host's agent connects and hot-plugs the volume after), a detach with
// 202. Swapping a volume (PUT) is not served.
func (a *API) volumeRoutes(rt *httpapi.Router) {
	rt.HandleFunc("GET /servers/{id}/os-volume_attachments", a.op(a.listVolumeAttachments))
	rt.HandleFunc("GET /servers/{id}/os-volume_attachments/{volume}", a.op(a.showVolumeAttachment))
	rt.HandleFunc("POST /servers/{id}/os-volume_attachments", a.op(a.attachVolume))
	rt.HandleFunc("DELETE /servers/{id}/os-volume_attachments/{volume}", a.op(a.detachVolume))
}

const ruleVolumeAttachments = "os_compute_api:os-volumes-attachments:"

// volumeAttachmentView is Nova's _translate_attachment_detail_view.
func volumeAttachmentView(q *request, server string, x compute.InstanceVolume) map[string]any {
	out := map[string]any{"volumeId": x.VolumeID, "serverId": server}
	if !q.at(89) {
		out["id"] = x.VolumeID
	}
	if x.Device != "" {
		out["device"] = x.Device
	}
	if q.at(70) {
		out["tag"] = nilIfEmpty(x.Tag)
	}
	if q.at(79) {
		out["delete_on_termination"] = x.DeleteOnTermination
	}
	if q.at(89) {
		out["attachment_id"], out["bdm_uuid"] = x.AttachmentID, x.ID
	}
	return out
}

func (a *API) listVolumeAttachments(w http.ResponseWriter, r *http.Request, q *request) error {
	i, err := a.serverFor(r, q, ruleVolumeAttachments+"index")
	if err != nil {
		return err
	}
	// Nova's common.limited: offset and limit (at most max_limit).
	vols := i.Volumes
	offset, limit := 0, maxLimit
	for _, k := range []string{"offset", "limit"} {
		if v := lastQuery(r, k); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return badRequest("%s param must be an integer", k)
			}
			if k == "offset" {
				offset = n
			} else {
				limit = min(n, maxLimit)
			}
		}
	}
	vols = vols[min(offset, len(vols)):]
	vols = vols[:min(limit, len(vols))]
	out := make([]any, 0, len(vols))
	for _, x := range vols {
		out = append(out, volumeAttachmentView(q, i.UUID, x))
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"volumeAttachments": out})
	return nil
}

func (a *API) showVolumeAttachment(w http.ResponseWriter, r *http.Request, q *request) error {
	i, err := a.serverFor(r, q, ruleVolumeAttachments+"show")
	if err != nil {
		return err
	}
	volume := r.PathValue("volume")
	k := slices.IndexFunc(i.Volumes, func(x compute.InstanceVolume) bool { return x.VolumeID == volume })
	if k < 0 {
		return notFound("Instance %s is not attached to volume %s", i.UUID, volume)
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"volumeAttachment": volumeAttachmentView(q, i.UUID, i.Volumes[k])})
	return nil
}

// devicePattern is Nova's schema for a device name.
var devicePattern = regexp.MustCompile(`(^/dev/x{0,1}[a-z]{0,1}d{0,1})([a-z]+)[0-9]*$`)

// attachVolume reserves the volume in Cinder for the server and adds it
// to the server for its host's agent; 200 with the device name. A
// multiattach volume is refused below 2.60, as Nova refuses it.
func (a *API) attachVolume(w http.ResponseWriter, r *http.Request, q *request) error {
	i, err := a.serverFor(r, q, ruleVolumeAttachments+"create")
	if err != nil {
		return err
	}
	v, err := readBody(w, r)
	if err != nil {
		return err
	}
	att, err := topObject(v, "volumeAttachment")
	if err != nil {
		return err
	}
	allowed := []string{"volumeId", "device"}
	if q.at(49) {
		allowed = append(allowed, "tag")
	}
	if q.at(79) {
		allowed = append(allowed, "delete_on_termination")
	}
	if err := att.only(allowed...); err != nil {
		return err
	}
	if err := att.required("volumeId"); err != nil {
		return err
	}
	volume, _, err := att.str("volumeId")
	if err != nil {
		return err
	}
	if _, err := uuid.Parse(volume); err != nil {
		return badRequest("Invalid input for field/attribute volumeId. Value: %s. %s is not a 'uuid'", volume, py(volume))
	}
	x := compute.InstanceVolume{VolumeID: volume, ID: uuid.NewString()}
	if dv, ok := att.m["device"]; ok && dv != nil {
		d, isStr := dv.(string)
		if !isStr {
			return badRequest("Invalid input for field/attribute device. Value: %s. %s is not of type 'string', 'null'", py(dv), py(dv))
		}
		if !devicePattern.MatchString(d) {
			return badRequest("Invalid input for field/attribute device. Value: %s. %s does not match '(^/dev/x{0,1}[a-z]{0,1}d{0,1})([a-z]+)[0-9]*$'", d, py(d))
		}
		x.Device = d
	}
	if tv, ok := att.m["tag"]; ok {
		tag, isStr := tv.(string)
		if !isStr || !validTag(tag) {
			return badRequest("Invalid input for field/attribute tag. Value: %s. %s does not match '^[^,/]*$'", py(tv), py(tv))
		}
		x.Tag = tag
	}
	if dv, ok := att.m["delete_on_termination"]; ok {
		b, isBool := dv.(bool)
		if !isBool {
			return badRequest("Invalid input for field/attribute delete_on_termination. Value: %s. %s is not of type 'boolean'", py(dv), py(dv))
		}
		x.DeleteOnTermination = b
	}
	if a.Volumes == nil {
		return fault.New(fault.NotImplemented, "No block-storage service is configured.")
	}
	ctx := r.Context()
	deadline := time.Now().Add(interfaceWait)
	if i, err = busyWait(r, deadline, func() (compute.Instance, error) {
		return a.Store.CheckAttachVolume(ctx, q.viewer(), i.UUID, volume)
	}); err != nil {
		return stateError(err, "attach_volume", i.UUID)
	}
	// Nova's _check_attach_and_reserve_volume: a multiattach volume
	// only from 2.60 (MultiattachNotSupportedOldMicroversion).
	vol, err := a.Volumes.Volume(ctx, i.ProjectID, volume)
	if err != nil {
		if fault.KindOf(err) == fault.NotFound {
			return notFound("Volume %s could not be found.", volume)
		}
		return err
	}
	if vol.Multiattach && !q.at(60) {
		return badRequest("Multiattach volumes are only supported starting with compute API version 2.60.")
	}
	attachment, err := a.Volumes.Reserve(ctx, i.ProjectID, volume, i.UUID)
	if err != nil {
		if fault.KindOf(err) == fault.NotFound {
			return notFound("Volume %s could not be found.", volume)
		}
		return err
	}
	x.AttachmentID = attachment
	got, err := busyWait(r, deadline, func() (compute.Instance, error) {
		return a.Store.AttachVolume(ctx, q.viewer(), i.UUID, x)
	})
	if err != nil {
		// The request may be gone (the client went away while it waited):
		// the reservation is given back all the same.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if rerr := a.Volumes.Release(rctx, attachment); rerr != nil {
			httpapi.Logger(ctx).Warn("compute: the attachment of a refused attach was not deleted", "attachment", attachment, "err", rerr)
		}
		return stateError(err, "attach_volume", i.UUID)
	}
	k := slices.IndexFunc(got.Volumes, func(o compute.InstanceVolume) bool { return o.VolumeID == volume })
	x = got.Volumes[k]
	// Nova's create answer: id, serverId, volumeId, device; tag from
	// 2.70, delete_on_termination from 2.79 (never 2.89's fields).
	out := map[string]any{"id": volume, "serverId": got.UUID, "volumeId": volume, "device": x.Device}
	if q.at(70) {
		out["tag"] = nilIfEmpty(x.Tag)
	}
	if q.at(79) {
		out["delete_on_termination"] = x.DeleteOnTermination
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"volumeAttachment": out})
	return nil
}

// detachVolume marks the volume for the host's agent to unplug: 202;
// its attachment goes once the agent has taken it out of the guest.
func (a *API) detachVolume(w http.ResponseWriter, r *http.Request, q *request) error {
	i, err := a.serverFor(r, q, ruleVolumeAttachments+"delete")
	if err != nil {
		return err
	}
	volume := r.PathValue("volume")
	if _, err := busyWait(r, time.Now().Add(interfaceWait), func() (compute.Instance, error) {
		return a.Store.DetachVolume(r.Context(), q.viewer(), i.UUID, volume)
	}); err != nil {
		var fe *fault.Error
		if errors.As(err, &fe) && fe.Type == "VolumeBDMNotFound" {
			return notFound("%s", fe.Message)
		}
		return stateError(err, "detach_volume", i.UUID)
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}
