package api

import (
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/gostack/gostack/dns"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

func (a *API) taskRoutes(rt *httpapi.Router) {
	rt.HandleFunc("POST /v2/zones/tasks/imports", a.authed(a.createImport))
	rt.HandleFunc("GET /v2/zones/tasks/imports", a.authed(a.listTasks(dns.TaskImport)))
	rt.HandleFunc("GET /v2/zones/tasks/imports/{zone_import_id}", a.authed(a.showTask(dns.TaskImport)))
	rt.HandleFunc("DELETE /v2/zones/tasks/imports/{zone_import_id}", a.authed(a.deleteTask(dns.TaskImport)))
	rt.HandleFunc("POST /v2/zones/{zone_id}/tasks/export", a.authed(a.createExport))
	rt.HandleFunc("GET /v2/zones/tasks/exports", a.authed(a.listTasks(dns.TaskExport)))
	rt.HandleFunc("GET /v2/zones/tasks/exports/{zone_export_id}", a.authed(a.showTask(dns.TaskExport)))
	rt.HandleFunc("DELETE /v2/zones/tasks/exports/{zone_export_id}", a.authed(a.deleteTask(dns.TaskExport)))
	rt.HandleFunc("GET /v2/zones/tasks/exports/{zone_export_id}/export", a.authed(a.exportFile))
}

// taskKind is what differs between imports and exports: the collection,
// the path parameter and the policy rules.
type taskKind struct {
	collection, param, find, get, del string
}

var taskKinds = map[string]taskKind{
	dns.TaskImport: {"imports", "zone_import_id", "find_zone_imports", "get_zone_import", "delete_zone_import"},
	dns.TaskExport: {"exports", "zone_export_id", "find_zone_exports", "get_zone_export", "delete_zone_export"},
}

// taskView is ZoneImportAPIv2Adapter's and ZoneExportAPIv2Adapter's
// rendering; location is an export's only.
type taskView struct {
	ID        string     `json:"id"`
	Status    string     `json:"status"`
	Message   *string    `json:"message"`
	ZoneID    *string    `json:"zone_id"`
	Location  *string    `json:"location,omitempty"`
	ProjectID string     `json:"project_id"`
	CreatedAt string     `json:"created_at"`
	UpdatedAt *string    `json:"updated_at"`
	Version   int        `json:"version"`
	Links     taskLinked `json:"links"`
}

type taskLinked struct {
	Self   string `json:"self"`
	Zone   string `json:"zone,omitempty"`
	Export string `json:"export,omitempty"`
}

func renderTask(r *http.Request, t dns.ZoneTask) taskView {
	k := taskKinds[t.Type]
	v := taskView{ID: t.ID, Status: t.Status, Message: nullable(t.Message), ZoneID: nullable(t.ZoneID), ProjectID: t.ProjectID,
		CreatedAt: timestamp(t.CreatedAt), UpdatedAt: updatedAt(t.CreatedAt, t.UpdatedAt), Version: t.Version,
		Links: taskLinked{Self: href(r, "zones", "tasks", k.collection, t.ID)}}
	if t.Type == dns.TaskExport {
		loc := t.Location
		v.Location = &loc
		if rest, ok := strings.CutPrefix(loc, "designate://"); ok {
			v.Links.Export = httpapi.BaseURL(r) + "/" + rest
		}
	} else if t.ZoneID != "" {
		v.Links.Zone = href(r, "zones", t.ZoneID)
	}
	return v
}

// importBody reads a zone file: text/dns, or application/json with
// "zonefile" (and "attributes", accepted and not kept), as Designate's
// import controller reads it.
func importBody(w http.ResponseWriter, r *http.Request) (string, error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "text/dns" && mt != "application/json" {
		return "", &fault.Error{Kind: fault.UnsupportedMedia, Type: "unsupported_content_type",
			Message: "Content-type must be text/dns or application/json"}
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxZoneFile))
	if err != nil {
		return "", tooLarge(maxZoneFile)
	}
	if mt == "text/dns" {
		return string(b), nil
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(b, &body); err != nil || body == nil {
		return "", badRequestError("Invalid JSON body")
	}
	raw, ok := body["zonefile"]
	if !ok {
		return "", badRequestError(`The "zonefile" field is required when using application/json content type`)
	}
	s, ok := jsonString(raw)
	if !ok {
		return "", invalidObject("zonefile", "%s is not of type 'string'", raw)
	}
	return s, nil
}

func badRequestError(msg string) error {
	return &fault.Error{Kind: fault.BadRequest, Type: "bad_request", Message: msg}
}

// createImport is central's create_zone_import, done within the request:
// the answer (202) is already COMPLETE or ERROR. The zone's name is
// checked against the TLDs and blacklists as a zone create checks it.
func (a *API) createImport(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	if err := a.enforce(ctx, q, "create_zone_import", projectTarget(q.project)); err != nil {
		fail(w, r, err)
		return
	}
	text, err := importBody(w, r)
	if err != nil {
		fail(w, r, err)
		return
	}
	check := func(name string) error {
		target := projectTarget(q.project)
		target["zone_name"] = name
		return a.checkZoneName(ctx, q, name, target)
	}
	t, err := a.Store.ImportZone(ctx, q.viewer(), text, check)
	if err != nil {
		fail(w, r, err)
		return
	}
	v := renderTask(r, t)
	writeCreated(w, http.StatusAccepted, v.Links.Self, v)
}

func (a *API) createExport(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	z, err := a.loadZone(ctx, r, q, "create_zone_export")
	if err != nil {
		fail(w, r, err)
		return
	}
	t, err := a.Store.CreateExport(ctx, q.viewer(), z.ID)
	if err != nil {
		fail(w, r, err)
		return
	}
	v := renderTask(r, t)
	writeCreated(w, http.StatusAccepted, v.Links.Self, v)
}

func (a *API) listTasks(typ string) handler {
	k := taskKinds[typ]
	return func(w http.ResponseWriter, r *http.Request, q *request) {
		ctx := r.Context()
		if err := a.enforce(ctx, q, k.find, projectTarget(q.project)); err != nil {
			fail(w, r, err)
			return
		}
		lq, err := parseList(r, q, transferSortKeys, "status", "message", "zone_id")
		if err != nil {
			fail(w, r, err)
			return
		}
		ts, err := a.Store.ListTasks(ctx, q.viewer(), typ, lq.filters["status"])
		if err != nil {
			fail(w, r, err)
			return
		}
		var match []dns.ZoneTask
		for _, t := range ts {
			if wildcard(lq.filters["message"], t.Message) && wildcard(lq.filters["zone_id"], t.ZoneID) {
				match = append(match, t)
			}
		}
		writeMemoryList(w, r, lq, k.collection, true, match, func(t dns.ZoneTask) taskKeys {
			return taskKeys{id: t.ID, created: t.CreatedAt, updated: t.UpdatedAt}
		}, func(r *http.Request, t dns.ZoneTask) any { return renderTask(r, t) })
	}
}

// loadTask checks rule for the caller's project (central's target), then
// reads the task of the path.
func (a *API) loadTask(r *http.Request, q *request, typ, rule string) (dns.ZoneTask, error) {
	ids, err := pathIDs(r, taskKinds[typ].param)
	if err != nil {
		return dns.ZoneTask{}, err
	}
	if err := a.enforce(r.Context(), q, rule, projectTarget(q.project)); err != nil {
		return dns.ZoneTask{}, err
	}
	return a.Store.GetTask(r.Context(), q.viewer(), typ, ids[0])
}

func (a *API) showTask(typ string) handler {
	return func(w http.ResponseWriter, r *http.Request, q *request) {
		t, err := a.loadTask(r, q, typ, taskKinds[typ].get)
		if err != nil {
			fail(w, r, err)
			return
		}
		httpapi.WriteJSON(w, http.StatusOK, renderTask(r, t))
	}
}

func (a *API) deleteTask(typ string) handler {
	return func(w http.ResponseWriter, r *http.Request, q *request) {
		t, err := a.loadTask(r, q, typ, taskKinds[typ].del)
		if err == nil {
			err = a.Store.DeleteTask(r.Context(), q.viewer(), typ, t.ID)
		}
		if err != nil {
			fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// exportFile is ZoneExportController: the zone file, text/dns.
func (a *API) exportFile(w http.ResponseWriter, r *http.Request, q *request) {
	t, err := a.loadTask(r, q, dns.TaskExport, "zone_export")
	if err != nil {
		fail(w, r, err)
		return
	}
	text, err := a.Store.ExportFile(r.Context(), q.viewer(), t.ID)
	if err != nil {
		fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/dns; charset=UTF-8")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, text)
}
