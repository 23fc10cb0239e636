package api

import (
	"encoding/json"
	"maps"
	"net/http"

	"github.com/gostack/gostack/dns"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

func (a *API) transferRoutes(rt *httpapi.Router) {
	rt.HandleFunc("POST /v2/zones/{zone_id}/tasks/transfer_requests", a.authed(a.createTransferRequest))
	rt.HandleFunc("GET /v2/zones/tasks/transfer_requests", a.authed(a.listTransferRequests))
	rt.HandleFunc("GET /v2/zones/tasks/transfer_requests/{transfer_request_id}", a.authed(a.showTransferRequest))
	rt.HandleFunc("PATCH /v2/zones/tasks/transfer_requests/{transfer_request_id}", a.authed(a.updateTransferRequest))
	rt.HandleFunc("DELETE /v2/zones/tasks/transfer_requests/{transfer_request_id}", a.authed(a.deleteTransferRequest))
	rt.HandleFunc("POST /v2/zones/tasks/transfer_accepts", a.authed(a.createTransferAccept))
	rt.HandleFunc("GET /v2/zones/tasks/transfer_accepts", a.authed(a.listTransferAccepts))
	rt.HandleFunc("GET /v2/zones/tasks/transfer_accepts/{transfer_accept_id}", a.authed(a.showTransferAccept))
}

// transferSortKeys are the SORT_KEYS of both transfer controllers.
var transferSortKeys = []string{"created_at", "id", "updated_at"}

// transferRequestSchema is ZoneTransferRequestAPIv2Adapter's fields:
// description writable, target_project_id, zone_id and zone_name
// immutable (set while unset), the rest read-only.
var transferRequestSchema = schema{resource: "transfer_request", fields: map[string]access{
	"id": readOnly, "zone_id": immutable, "zone_name": immutable, "project_id": readOnly, "target_project_id": immutable,
	"description": writable, "key": readOnly, "status": readOnly, "created_at": readOnly, "updated_at": readOnly,
}}

// transferAcceptSchema is ZoneTransferAcceptAPIv2Adapter's fields.
var transferAcceptSchema = schema{resource: "transfer_accept", fields: map[string]access{
	"id": readOnly, "zone_transfer_request_id": immutable, "project_id": readOnly, "key": writable, "status": readOnly,
	"zone_id": readOnly, "created_at": readOnly, "updated_at": readOnly,
}}

// transferTarget is the policy target central builds for a request.
func transferTarget(t dns.TransferRequest) map[string]any {
	target := map[string]any{"project_id": t.ProjectID, "tenant_id": t.ProjectID,
		"target_project_id": nil, "target_tenant_id": nil}
	if t.TargetProjectID != "" {
		target["target_project_id"], target["target_tenant_id"] = t.TargetProjectID, t.TargetProjectID
	}
	return target
}

// renderTransferRequest is the adapter's rendering. Who fails
// get_zone_transfer_request_detailed (anyone but the owner's readers and
// admins: the target project, say) is not shown the key, the projects or
// the times.
func (a *API) renderTransferRequest(r *http.Request, q *request, t dns.TransferRequest) map[string]any {
	v := map[string]any{
		"id": t.ID, "zone_id": t.ZoneID, "zone_name": t.ZoneName, "description": nullable(t.Description), "status": t.Status,
		"links": selfLink{href(r, "zones", "tasks", "transfer_requests", t.ID)},
	}
	if a.enforce(r.Context(), q, "get_zone_transfer_request_detailed", projectTarget(t.ProjectID)) == nil {
		v["project_id"], v["target_project_id"], v["key"] = t.ProjectID, nullable(t.TargetProjectID), t.Key
		v["created_at"], v["updated_at"] = timestamp(t.CreatedAt), updatedAt(t.CreatedAt, t.UpdatedAt)
	}
	return v
}

// optionalBody is decode for a body that may be left out (Designate's
// EmptyRequestBody becomes {}).
func optionalBody(w http.ResponseWriter, r *http.Request, s schema) (object, error) {
	if r.ContentLength == 0 {
		return object{resource: s.resource, raw: map[string]json.RawMessage{}}, nil
	}
	return decode(w, r, s, nil)
}

// transferFields reads description and target_project_id into t.
func transferFields(o object, t *dns.TransferRequest) error {
	var err error
	if o.has("description") {
		if t.Description, err = o.str("description", true); err != nil {
			return err
		}
	}
	if o.has("target_project_id") {
		if t.TargetProjectID, err = o.str("target_project_id", true); err != nil {
			return err
		}
	}
	return nil
}

func (a *API) createTransferRequest(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	z, err := a.loadZone(ctx, r, q, "get_zone")
	if err != nil {
		fail(w, r, err)
		return
	}
	o, err := optionalBody(w, r, transferRequestSchema)
	if err != nil {
		fail(w, r, err)
		return
	}
	var t dns.TransferRequest
	if err := transferFields(o, &t); err != nil {
		fail(w, r, err)
		return
	}
	if z.Action == dns.ActionDelete {
		fail(w, r, &fault.Error{Kind: fault.BadRequest, Type: "bad_request", Message: "Can not transfer a deleting zone"})
		return
	}
	if err := a.enforce(ctx, q, "create_zone_transfer_request", projectTarget(z.ProjectID)); err != nil {
		fail(w, r, err)
		return
	}
	t, err = a.Store.CreateTransferRequest(ctx, q.viewer(), z.ID, t)
	if err != nil {
		fail(w, r, err)
		return
	}
	v := a.renderTransferRequest(r, q, t)
	writeCreated(w, http.StatusCreated, v["links"].(selfLink).Self, v)
}

func (a *API) listTransferRequests(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	if err := a.enforce(ctx, q, "find_zone_transfer_requests", projectTarget(q.project)); err != nil {
		fail(w, r, err)
		return
	}
	lq, err := parseList(r, q, transferSortKeys, "status")
	if err != nil {
		fail(w, r, err)
		return
	}
	ts, err := a.Store.ListTransferRequests(ctx, q.viewer(), lq.filters["status"])
	if err != nil {
		fail(w, r, err)
		return
	}
	writeMemoryList(w, r, lq, "transfer_requests", false, ts, func(t dns.TransferRequest) taskKeys {
		return taskKeys{id: t.ID, created: t.CreatedAt, updated: t.UpdatedAt}
	}, func(r *http.Request, t dns.TransferRequest) any { return a.renderTransferRequest(r, q, t) })
}

// loadTransferRequest reads the request of the path, if the caller may
// see it, and checks get_zone_transfer_request on it.
func (a *API) loadTransferRequest(r *http.Request, q *request) (dns.TransferRequest, error) {
	ids, err := pathIDs(r, "transfer_request_id")
	if err != nil {
		return dns.TransferRequest{}, err
	}
	t, err := a.Store.GetTransferRequest(r.Context(), q.viewer(), ids[0])
	if err != nil {
		return t, err
	}
	return t, a.enforce(r.Context(), q, "get_zone_transfer_request", transferTarget(t))
}

func (a *API) showTransferRequest(w http.ResponseWriter, r *http.Request, q *request) {
	t, err := a.loadTransferRequest(r, q)
	if err != nil {
		fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, a.renderTransferRequest(r, q, t))
}

func (a *API) updateTransferRequest(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	if err := jsonPatch(r); err != nil {
		fail(w, r, err)
		return
	}
	t, err := a.loadTransferRequest(r, q)
	if err != nil {
		fail(w, r, err)
		return
	}
	cur := map[string]any{"id": t.ID, "zone_id": t.ZoneID, "zone_name": t.ZoneName, "project_id": t.ProjectID,
		"target_project_id": nullable(t.TargetProjectID), "key": t.Key, "status": t.Status,
		"created_at": timestamp(t.CreatedAt), "updated_at": updatedAt(t.CreatedAt, t.UpdatedAt)}
	s := transferRequestSchema
	if t.TargetProjectID == "" { // immutable only once set
		s = schema{resource: s.resource, fields: maps.Clone(s.fields)}
		s.fields["target_project_id"] = writable
	}
	o, err := decode(w, r, s, cur)
	if err != nil {
		fail(w, r, err)
		return
	}
	if err := transferFields(o, &t); err != nil {
		fail(w, r, err)
		return
	}
	if err := a.enforce(ctx, q, "update_zone_transfer_request", projectTarget(t.ProjectID)); err != nil {
		fail(w, r, err)
		return
	}
	t, err = a.Store.UpdateTransferRequest(ctx, q.viewer(), t)
	if err != nil {
		fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, a.renderTransferRequest(r, q, t))
}

func (a *API) deleteTransferRequest(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	ids, err := pathIDs(r, "transfer_request_id")
	if err != nil {
		fail(w, r, err)
		return
	}
	t, err := a.Store.GetTransferRequest(ctx, q.viewer(), ids[0])
	if err == nil {
		err = a.enforce(ctx, q, "delete_zone_transfer_request", projectTarget(t.ProjectID))
	}
	if err == nil {
		err = a.Store.DeleteTransferRequest(ctx, q.viewer(), t.ID)
	}
	if err != nil {
		fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type transferAcceptView struct {
	ID        string     `json:"id"`
	RequestID string     `json:"zone_transfer_request_id"`
	ProjectID string     `json:"project_id"`
	Key       string     `json:"key"`
	Status    string     `json:"status"`
	ZoneID    string     `json:"zone_id"`
	CreatedAt string     `json:"created_at"`
	UpdatedAt *string    `json:"updated_at"`
	Links     zoneLinked `json:"links"`
}

// zoneLinked is a task's links: itself and, once it has one, its zone.
type zoneLinked struct {
	Self string `json:"self"`
	Zone string `json:"zone,omitempty"`
}

func renderTransferAccept(r *http.Request, t dns.TransferAccept) transferAcceptView {
	return transferAcceptView{
		ID: t.ID, RequestID: t.RequestID, ProjectID: t.ProjectID, Key: t.Key, Status: t.Status, ZoneID: t.ZoneID,
		CreatedAt: timestamp(t.CreatedAt), UpdatedAt: updatedAt(t.CreatedAt, t.UpdatedAt),
		Links: zoneLinked{Self: href(r, "zones", "tasks", "transfer_accepts", t.ID), Zone: href(r, "zones", t.ZoneID)},
	}
}

// createTransferAccept is central's create_zone_transfer_accept: the
// request must be one the caller may see (get_zone_transfer_request),
// then the store checks its status and key, and the caller must pass
// create_zone_transfer_accept (the target project, anyone for an
// untargeted request, or an admin).
func (a *API) createTransferAccept(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	o, err := decode(w, r, transferAcceptSchema, nil)
	if err != nil {
		fail(w, r, err)
		return
	}
	key, err := o.requiredStr("key")
	if err != nil {
		fail(w, r, err)
		return
	}
	if len(key) > 160 {
		fail(w, r, invalidObject("key", "'%s' is too long", key))
		return
	}
	var id string
	if o.has("zone_transfer_request_id") {
		if id, err = o.str("zone_transfer_request_id", true); err != nil {
			fail(w, r, err)
			return
		}
		if id != "" && !uuidPattern.MatchString(id) {
			fail(w, r, invalidObject("zone_transfer_request_id", "'%s' is not a 'uuid'", id))
			return
		}
	}
	if id == "" {
		fail(w, r, &fault.Error{Kind: fault.NotFound, Type: "zone_transfer_request_not_found", Message: "Could not find ZoneTransferRequest"})
		return
	}
	t, err := a.Store.GetTransferRequest(ctx, q.viewer(), id)
	if err == nil {
		err = a.enforce(ctx, q, "get_zone_transfer_request", transferTarget(t))
	}
	if err == nil {
		target := transferTarget(t)
		delete(target, "project_id") // central's target names only the target project
		delete(target, "tenant_id")
		err = a.enforce(ctx, q, "create_zone_transfer_accept", target)
	}
	if err != nil {
		fail(w, r, err)
		return
	}
	acc, err := a.Store.AcceptTransfer(ctx, q.viewer(), t.ID, key)
	if err != nil {
		fail(w, r, err)
		return
	}
	v := renderTransferAccept(r, acc)
	writeCreated(w, http.StatusCreated, v.Links.Self, v)
}

func (a *API) listTransferAccepts(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	if err := a.enforce(ctx, q, "find_zone_transfer_accepts", projectTarget(q.project)); err != nil {
		fail(w, r, err)
		return
	}
	lq, err := parseList(r, q, transferSortKeys, "status")
	if err != nil {
		fail(w, r, err)
		return
	}
	as, err := a.Store.ListTransferAccepts(ctx, q.viewer(), lq.filters["status"])
	if err != nil {
		fail(w, r, err)
		return
	}
	writeMemoryList(w, r, lq, "transfer_accepts", true, as, func(t dns.TransferAccept) taskKeys {
		return taskKeys{id: t.ID, created: t.CreatedAt, updated: t.UpdatedAt}
	}, func(r *http.Request, t dns.TransferAccept) any { return renderTransferAccept(r, t) })
}

func (a *API) showTransferAccept(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	ids, err := pathIDs(r, "transfer_accept_id")
	if err != nil {
		fail(w, r, err)
		return
	}
	acc, err := a.Store.GetTransferAccept(ctx, q.viewer(), ids[0])
	if err == nil {
		err = a.enforce(ctx, q, "get_zone_transfer_accept", projectTarget(acc.ProjectID))
	}
	if err != nil {
		fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, renderTransferAccept(r, acc))
}
