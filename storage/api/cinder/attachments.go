package cinder

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gostack/gostack/identity/middleware"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/kit/pyjson"
	"github.com/gostack/gostack/storage"
)

// ServerVolumes is what the API asks compute before a user deletes an
// attachment a server may still use (Cinder's check of bug #2004555,
// which asks Nova).
type ServerVolumes interface {
	// ServerVolumeAttachment is Nova's get_server_volume as the caller
	// of ctx: the id of the attachment by which server uses volume;
	// found is false when the server, or its use of the volume, is not
	// there.
	ServerVolumeAttachment(ctx context.Context, serverID, volumeID string) (attachmentID string, found bool, err error)
}

// Cinder's microversions of the attachments API.
const (
	newAttach           = 27 // the attachments API
	newAttachCompletion = 44 // os-complete
	attachmentModeArg   = 54 // create's mode
	resourceFilter      = 31 // filters judged by resource_filters.json
)

// attachmentRoutes are Cinder's v3 attachments (v3/attachments.py).
func (a *API) attachmentRoutes(rt *httpapi.Router) {
	rt.HandleFunc("POST /attachments", a.since(newAttach, a.createAttachment))
	rt.HandleFunc("GET /attachments", a.since(newAttach, a.listAttachments(false)))
	rt.HandleFunc("GET /attachments/detail", a.since(newAttach, a.listAttachments(true)))
	rt.HandleFunc("GET /attachments/{id}", a.since(newAttach, a.showAttachment))
	rt.HandleFunc("PUT /attachments/{id}", a.since(newAttach, a.updateAttachment))
	rt.HandleFunc("DELETE /attachments/{id}", a.since(newAttach, a.deleteAttachment))
	rt.HandleFunc("POST /attachments/{id}/action", a.since(newAttach, a.attachmentAction))
}

// attachmentTarget is the policy target of an attachment: the caller's
// user, the attachment's fields and its volume's project (Cinder's
// authorize with target_obj).
func attachmentTarget(q *request, at storage.Attachment) map[string]any {
	return map[string]any{"project_id": at.ProjectID, "user_id": q.caller.UserID, "id": at.ID, "volume_id": at.VolumeID,
		"instance_uuid": orNull(at.InstanceUUID), "attach_status": string(at.AttachStatus), "attach_mode": orNull(at.AttachMode),
		"attached_host": orNull(at.AttachedHost), "mountpoint": orNull(at.Mountpoint)}
}

// attachmentSummary is Cinder's summary view of an attachment.
func attachmentSummary(at storage.Attachment) map[string]any {
	return map[string]any{"id": at.ID, "status": string(at.AttachStatus), "instance": orNull(at.InstanceUUID), "volume_id": at.VolumeID}
}

// attachmentDetail is Cinder's detail view: the summary, the times
// ("" for none), the mode and the connection info.
func attachmentDetail(at storage.Attachment) map[string]any {
	out := attachmentSummary(at)
	out["attached_at"], out["detached_at"] = timeOrEmpty(at.AttachTime), timeOrEmpty(at.DetachTime)
	out["attach_mode"] = orNull(at.AttachMode)
	var info any
	if at.ConnectionInfo != nil {
		info = at.ConnectionInfo
	}
	out["connection_info"] = info
	return out
}

// timeOrEmpty is a time as Cinder's attachment views give it: "" when
// there is none.
func timeOrEmpty(t *time.Time) string {
	if t == nil {
		return ""
	}
	return isoTime(*t)
}

// native is v as encoding/json decodes it with UseNumber: the connector
// as the Store keeps it.
func native(v *pyjson.Value) any {
	switch v.Kind {
	case '{':
		m := make(map[string]any, len(v.Keys))
		for i, k := range v.Keys {
			m[k] = native(v.Items[i])
		}
		return m
	case '[':
		l := make([]any, len(v.Items))
		for i, item := range v.Items {
			l[i] = native(item)
		}
		return l
	case '"':
		return v.Text
	case '0':
		return json.Number(v.Text)
	case 't':
		return true
	case 'f':
		return false
	}
	return nil
}

// connectorOf is an attachment's connector (a JSON object) as the Store
// keeps it. A number a float64 cannot hold (1e400, which Python reads as
// inf) is refused: the Store could write it but not read it back.
func connectorOf(v *pyjson.Value) (map[string]any, error) {
	if n := outOfRange(v); n != "" {
		return nil, badRequest("Invalid input received: connector has a number out of range: %s", n)
	}
	return native(v).(map[string]any), nil
}

// outOfRange is the first number in v that is beyond a float64's range
// ("" when none is).
func outOfRange(v *pyjson.Value) string {
	switch v.Kind {
	case '0':
		if _, err := strconv.ParseFloat(v.Text, 64); err != nil {
			return v.Text
		}
	case '{', '[':
		for _, item := range v.Items {
			if n := outOfRange(item); n != "" {
				return n
			}
		}
	}
	return ""
}

// createAttachment is Cinder's attachment create: the schema (3.54's
// with mode), the volume (its project's; no volume:get), the policy on
// the volume (and, for an in-use bootable multiattach volume,
// volume:multiattach_bootable_volume), then the Store's reserve and,
// with a connector, its connection. 200 with the detail view.
func (a *API) createAttachment(w http.ResponseWriter, r *http.Request, q *request) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	if body == nil {
		return errNoBody
	}
	s := attachmentCreateSchema
	if q.at(attachmentModeArg) {
		s = attachmentCreateV354Schema
	}
	if err := s.check(nil, body); err != nil {
		return err
	}
	att := body.Get("attachment")
	c := storage.AttachmentCreate{VolumeID: att.Get("volume_uuid").Text}
	if i := att.Get("instance_uuid"); i != nil {
		c.InstanceUUID = i.Text
	}
	if conn := att.Get("connector"); !conn.Null() {
		if c.Connector, err = connectorOf(conn); err != nil {
			return err
		}
	}
	if m := att.Get("mode"); m != nil && q.at(attachmentModeArg) {
		c.Mode = m.Text
	}
	vol, err := a.Store.Volume(r.Context(), q.viewer(), c.VolumeID)
	if err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, "volume:attachment_create", volumeTarget(q, vol)); err != nil {
		return err
	}
	if vol.Multiattach && vol.Status == storage.VolumeInUse && vol.Bootable {
		if err := a.authorize(r.Context(), q, "volume:multiattach_bootable_volume", volumeTarget(q, vol)); err != nil {
			return err
		}
	}
	at, err := a.Store.CreateAttachment(r.Context(), q.viewer(), c)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"attachment": attachmentDetail(at)})
	return nil
}

func (a *API) showAttachment(w http.ResponseWriter, r *http.Request, q *request) error {
	at, err := a.Store.Attachment(r.Context(), q.viewer(), r.PathValue("id"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"attachment": attachmentDetail(at)})
	return nil
}

// updateAttachment is Cinder's attachment update: the schema, the
// attachment, the policy on it, then the Store's connection. 200 with
// the detail view.
func (a *API) updateAttachment(w http.ResponseWriter, r *http.Request, q *request) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	if body == nil {
		return errNoBody
	}
	if err := attachmentUpdateSchema.check(nil, body); err != nil {
		return err
	}
	id := r.PathValue("id")
	at, err := a.Store.Attachment(r.Context(), q.viewer(), id)
	if err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, "volume:attachment_update", attachmentTarget(q, at)); err != nil {
		return err
	}
	connector, err := connectorOf(body.Get("attachment").Get("connector"))
	if err != nil {
		return err
	}
	if at, err = a.Store.UpdateAttachment(r.Context(), q.viewer(), id, connector); err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"attachment": attachmentDetail(at)})
	return nil
}

// deleteAttachment is Cinder's attachment delete: the attachment, the
// policy on it, Cinder's check that no server still uses it (unless
// a service asks), the Store's detach; 200 with the summaries of the
// volume's attachments left.
func (a *API) deleteAttachment(w http.ResponseWriter, r *http.Request, q *request) error {
	id := r.PathValue("id")
	at, err := a.Store.Attachment(r.Context(), q.viewer(), id)
	if err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, "volume:attachment_delete", attachmentTarget(q, at)); err != nil {
		return err
	}
	if err := a.deletionAllowed(r.Context(), &at, nil); err != nil {
		return err
	}
	left, err := a.Store.DeleteAttachment(r.Context(), q.viewer(), id)
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(left))
	for i, l := range left {
		out[i] = attachmentSummary(l)
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"attachments": out})
	return nil
}

// attachmentAction is POST /attachments/{id}/action: os-complete from
// 3.44 (before, Cinder's version-gated action is not found).
func (a *API) attachmentAction(w http.ResponseWriter, r *http.Request, q *request) error {
	name, _, err := readAction(w, r)
	if err != nil {
		return err
	}
	if name != "os-complete" {
		return noSuchAction(name)
	}
	if !q.at(newAttachCompletion) {
		return notFound("The resource could not be found.")
	}
	id := r.PathValue("id")
	at, err := a.Store.Attachment(r.Context(), q.viewer(), id)
	if err != nil {
		return err
	}
	if _, err := a.Store.Volume(r.Context(), q.viewer(), at.VolumeID); err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, "volume:attachment_complete", attachmentTarget(q, at)); err != nil {
		return err
	}
	if _, err := a.Store.CompleteAttachment(r.Context(), q.viewer(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// attachmentFilters are the filters Cinder's resource_filters.json lets
// every user give on attachments; admins may give any.
var attachmentFilters = []string{"volume_id", "status", "instance_id", "attach_status"}

// attachmentColumns are the attributes of Cinder's VolumeAttachment
// model, which its database layer filters on.
var attachmentColumns = []string{"attach_mode", "attach_status", "attach_time", "attached_host", "connection_info", "connector",
	"created_at", "deleted", "deleted_at", "detach_time", "id", "instance_uuid", "mountpoint", "updated_at", "volume", "volume_id"}

// listAttachments is GET /attachments and /attachments/detail, as
// Cinder's _items reads its query: sort and pages, then the filters
// (from 3.31 a user's unknown filter is refused, before it is dropped;
// instance_id is instance_uuid; an admin's all_tenants, whatever its
// value, lists every project's). A filter that is no attribute of an
// attachment (status included) gives Cinder's empty list.
func (a *API) listAttachments(detail bool) handler {
	return func(w http.ResponseWriter, r *http.Request, q *request) error {
		query := newListQuery(r.URL.Query())
		keys, dirs, err := query.readSort()
		if err != nil {
			return err
		}
		p, err := query.readPage()
		if err != nil {
			return err
		}
		f, none, err := attachmentFilter(q, query)
		if err != nil {
			return err
		}
		f.SortKeys, f.SortDirs, f.Marker = keys, dirs, p.marker
		var list []storage.Attachment
		if p.limit > 0 && !none {
			f.Limit = p.limit + p.offset
			if list, _, err = a.Store.Attachments(r.Context(), q.viewer(), f); err != nil {
				return err
			}
			list = list[min(p.offset, len(list)):]
		}
		out := make([]map[string]any, len(list))
		for i, at := range list {
			if detail {
				out[i] = attachmentDetail(at)
			} else {
				out[i] = attachmentSummary(at)
			}
		}
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"attachments": out})
		return nil
	}
}

// attachmentFilter reads an attachment list's filters at the request's
// microversion.
func attachmentFilter(q *request, query listQuery) (f storage.AttachmentFilter, none bool, err error) {
	for k := range query.Values {
		if q.at(resourceFilter) && strings.IndexFunc(k, func(r rune) bool { return r >= 0x80 }) >= 0 {
			return f, false, badRequest("Filter keys can only contain ASCII characters.")
		}
	}
	if !q.admin {
		var invalid []string
		for k := range query.Values {
			if !slices.Contains(attachmentFilters, k) {
				if q.at(resourceFilter) && k != "all_tenants" {
					invalid = append(invalid, k)
				}
				delete(query.Values, k)
			}
		}
		if len(invalid) > 0 {
			slices.Sort(invalid)
			return f, false, badRequest("Invalid filters %s are found in query options.", strings.Join(invalid, ","))
		}
	}
	if _, ok := query.Values["all_tenants"]; ok && q.admin {
		f.AllProjects = true
		delete(query.Values, "all_tenants")
	}
	if s, ok := query.pop("instance_id"); ok {
		query.Values.Set("instance_uuid", s)
	}
	if s, ok := query.pop("volume_id"); ok {
		f.VolumeID = s
	}
	if s, ok := query.pop("instance_uuid"); ok {
		f.InstanceUUID = s
	}
	if s, ok := query.pop("attach_status"); ok {
		f.AttachStatus = storage.AttachStatus(s)
	}
	none, err = leftFilters(query, attachmentColumns, "attachment")
	return f, none, err
}

// deletionAllowed is Cinder's attachment_deletion_allowed: a call with
// a service's token (X-Service-Token with the service role: Nova's)
// may delete any attachment; a user may delete one that is not for an
// instance or not connected, or one compute (Servers) says the server
// no longer uses by it. at is the attachment (nil: the volume's only
// one, or none found, which is refused). Without Servers, compute
// cannot be asked, and a connected attachment of an instance is
// refused as one Nova still uses.
func (a *API) deletionAllowed(ctx context.Context, at *storage.Attachment, vol *storage.Volume) error {
	if sc, ok := middleware.ServiceCallerFrom(ctx); ok && sc.HasRole("service") {
		return nil
	}
	if at == nil && vol != nil {
		switch len(vol.Attachments) {
		case 0:
			return nil
		case 1:
			at = &vol.Attachments[0]
		}
	}
	if at == nil {
		return novaUsing("")
	}
	if vol != nil && vol.ID != at.VolumeID {
		return badRequest("Invalid input received: Mismatched volume and attachment")
	}
	if at.InstanceUUID == "" || at.ConnectionInfo == nil {
		return nil
	}
	if a.Servers == nil {
		return novaUsing(at.InstanceUUID)
	}
	id, found, err := a.Servers.ServerVolumeAttachment(ctx, at.InstanceUUID, at.VolumeID)
	if err != nil {
		return err
	}
	if !found || id != at.ID {
		return nil
	}
	return novaUsing(at.InstanceUUID)
}

// novaUsing is Cinder's ConflictNovaUsingAttachment.
func novaUsing(server string) error {
	return &fault.Error{Kind: fault.Conflict, Type: "ConflictNovaUsingAttachment",
		Message: "Detach volume from instance " + server + " using the Compute API"}
}
