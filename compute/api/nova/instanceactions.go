package nova

import (
	"errors"
	"net/http"
	"time"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/kit/pyjson"
)

// Nova's os-instance-actions (api/openstack/compute/instance_actions.py):
// the actions recorded for a server, and one of them with its events.
func (a *API) instanceActionRoutes(rt *httpapi.Router) {
	rt.HandleFunc("GET /servers/{id}/os-instance-actions", a.op(a.listInstanceActions))
	rt.HandleFunc("GET /servers/{id}/os-instance-actions/{request_id}", a.op(a.showInstanceAction))
}

const (
	ruleActionsList          = "os_compute_api:os-instance-actions:list"
	ruleActionsShow          = "os_compute_api:os-instance-actions:show"
	ruleActionsEvents        = "os_compute_api:os-instance-actions:events"
	ruleActionsEventsDetails = "os_compute_api:os-instance-actions:events:details"
	ruleResetState           = "os_compute_api:os-admin-actions:reset_state"
)

// perfectTime is how Nova's JSON shows the datetimes of instance
// actions (oslo's PERFECT_TIME_FORMAT, no zone).
func perfectTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000") }

// actionView is Nova's _format_action: ACTION_KEYS, with updated_at
// from 2.58.
func actionView(q *request, act compute.InstanceAction) map[string]any {
	out := map[string]any{"action": act.Action, "instance_uuid": act.InstanceID, "request_id": act.RequestID,
		"user_id": nilIfEmpty(act.UserID), "project_id": nilIfEmpty(act.ProjectID), "start_time": perfectTime(act.StartTime),
		"message": nilIfEmpty(act.Message)}
	if q.at(58) {
		out["updated_at"] = perfectTime(act.UpdatedAt)
	}
	return out
}

// actionQuery is the list's query from 2.58 (Nova's
// list_query_params_v258, with changes-before from 2.66), checked in
// the schema's order before anything else, unknown parameters refused;
// before 2.58 the query is ignored.
func actionQuery(r *http.Request, q *request) (compute.ActionFilter, error) {
	f := compute.ActionFilter{Deleted: q.at(21)}
	if !q.at(58) {
		return f, nil
	}
	allowed := []string{"limit", "marker", "changes-since"}
	if q.at(66) {
		allowed = append(allowed, "changes-before")
	}
	checks := map[string]func(string) error{"limit": nonNegative("limit"), "marker": anyString,
		"changes-since": dateTime("changes-since"), "changes-before": dateTime("changes-before")}
	for _, k := range allowed {
		if err := queryItems(r, k, true, checks[k]); err != nil {
			return f, err
		}
	}
	if err := strictQuery(r, allowed...); err != nil {
		return f, err
	}
	query := r.URL.Query()
	if vs, ok := query["changes-since"]; ok {
		f.ChangesSince, _ = parseISOTime(vs[0])
	}
	if vs, ok := query["changes-before"]; ok {
		f.ChangesBefore, _ = parseISOTime(vs[0])
	}
	return f, nil
}

// dateTime is the 'date-time' format of a query value, as Nova's
// validator checks it (oslo's parse_isotime).
func dateTime(key string) func(string) error {
	return func(v string) error {
		if _, err := parseISOTime(v); err != nil {
			return badRequest("Invalid input for query parameters %s. Value: %s. %s is not a 'date-time'", key, v, py(v))
		}
		return nil
	}
}

// isoLayouts are the ISO 8601 forms iso8601.parse_date reads (a date,
// or a date and a time with "T" or a space, parts of the time optional,
// fractions and a zone optional: UTC when absent; the basic forms too).
var isoLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04Z07:00", "2006-01-02T15:04",
	"2006-01-02T15Z07:00", "2006-01-02T15", "2006-01-02T15:04:05.999999999Z0700", "2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999", "2006-01-02 15:04", "2006-01-02", "2006-01", "2006", "20060102T150405Z07:00",
	"20060102T150405", "20060102"}

func parseISOTime(s string) (time.Time, error) {
	var err error
	for _, layout := range isoLayouts {
		var t time.Time
		if t, err = time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, err
}

// listInstanceActions is GET /servers/{id}/os-instance-actions: newest
// first; from 2.58 paged by request id with updated_at and
// changes-since (changes-before from 2.66), the server possibly
// deleted from 2.21.
func (a *API) listInstanceActions(w http.ResponseWriter, r *http.Request, q *request) error {
	f, err := actionQuery(r, q)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	i, err := a.Store.ActionInstance(r.Context(), q.viewer(), id, f.Deleted)
	if err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, ruleActionsList, map[string]any{"project_id": i.ProjectID}); err != nil {
		return err
	}
	if q.at(58) {
		if !f.ChangesSince.IsZero() && !f.ChangesBefore.IsZero() && f.ChangesBefore.Before(f.ChangesSince) {
			return badRequest("The value of changes-since must be less than or equal to changes-before.")
		}
		if f.Limit, f.Marker, err = actionPage(r); err != nil {
			return err
		}
	}
	acts := []compute.InstanceAction{}
	if !q.at(58) || f.Limit > 0 { // Nova's LIMIT 0 lists nothing, before the marker is looked for
		if acts, err = a.Store.InstanceActions(r.Context(), q.viewer(), i.UUID, f); err != nil {
			var fe *fault.Error
			if errors.As(err, &fe) && fe.Type == "MarkerNotFound" {
				// Nova's actions_get raises MarkerNotFound after replacing
				// the marker with the None its lookup found.
				return badRequest("Marker None could not be found.")
			}
			return err
		}
	}
	list := make([]any, len(acts))
	for n, act := range acts {
		list[n] = actionView(q, act)
	}
	body := map[string]any{"instanceActions": list}
	if q.at(58) && len(acts) > 0 {
		if l := nextLinks(r, "servers/"+i.UUID+"/os-instance-actions", len(acts), acts[len(acts)-1].RequestID); l != nil {
			body["links"] = l
		}
	}
	httpapi.WriteJSON(w, http.StatusOK, body)
	return nil
}

// actionPage is Nova's get_limit_and_marker for the actions (the query
// checked already): the limit capped at maxLimit, maxLimit when absent.
// A marker no text column can hold, or an empty one when a page is
// asked for (Nova's limit 0 lists nothing before looking), is Nova's
// MarkerNotFound.
func actionPage(r *http.Request) (limit int, marker string, err error) {
	limit, marker, err = pageLimit(r)
	_, given := r.URL.Query()["marker"]
	if err != nil || limit > 0 && given && marker == "" {
		return 0, "", badRequest("Marker None could not be found.")
	}
	return limit, marker, nil
}

// showInstanceAction is GET /servers/{id}/os-instance-actions/{request_id}:
// the action, and its events for whom Nova shows them — callers passing
// os-instance-actions:events (admins) at every version, with traceback,
// and host from 2.62; anyone else from 2.51, without. hostId from 2.62;
// details from 2.84 by os-instance-actions:events:details.
func (a *API) showInstanceAction(w http.ResponseWriter, r *http.Request, q *request) error {
	id, request := r.PathValue("id"), r.PathValue("request_id")
	i, err := a.Store.ActionInstance(r.Context(), q.viewer(), id, q.at(21))
	if err != nil {
		return err
	}
	target := map[string]any{"project_id": i.ProjectID}
	if err := a.authorize(r.Context(), q, ruleActionsShow, target); err != nil {
		return err
	}
	act, err := a.Store.InstanceAction(r.Context(), q.viewer(), i.UUID, request, q.at(21))
	if err != nil {
		return err
	}
	out := actionView(q, act)
	showEvents, showTraceback, showHost := false, false, false
	if a.authorize(r.Context(), q, ruleActionsEvents, target) == nil {
		showEvents, showTraceback, showHost = true, true, q.at(62)
	} else if q.at(51) {
		showEvents = true
	}
	if showEvents {
		showDetails := q.at(84) && a.authorize(r.Context(), q, ruleActionsEventsDetails, target) == nil
		project := act.ProjectID
		if project == "" {
			project = i.ProjectID
		}
		events := make([]any, len(act.Events))
		for n, e := range act.Events {
			ev := map[string]any{"event": e.Event, "start_time": perfectTime(e.StartTime), "finish_time": nil, "result": nilIfEmpty(e.Result)}
			if e.FinishTime != nil {
				ev["finish_time"] = perfectTime(*e.FinishTime)
			}
			if showTraceback {
				ev["traceback"] = nilIfEmpty(e.Traceback)
			}
			if showHost {
				ev["host"] = nilIfEmpty(e.Host)
			}
			if q.at(62) {
				ev["hostId"] = hostID(project, e.Host)
			}
			if showDetails {
				ev["details"] = nilIfEmpty(e.Details)
			}
			events[n] = ev
		}
		out["events"] = events
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"instanceAction": out})
	return nil
}

// resetState is the os-resetState server action (Nova's
// admin_actions.py): the body's schema, the server, the admin-only
// policy, then vm_state active or error with no task.
func (a *API) resetState(w http.ResponseWriter, r *http.Request, q *request, data []byte) error {
	body, err := pyjson.Parse(data)
	if err != nil {
		return badRequest("Malformed request body")
	}
	if err := resetStateSchema.check(body, true); err != nil {
		return err
	}
	i, err := a.server(r, q)
	if err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, ruleResetState, map[string]any{"project_id": i.ProjectID}); err != nil {
		return err
	}
	state := compute.VMState(body.Get("os-resetState").Get("state").Text)
	if _, err := a.Store.ResetState(r.Context(), q.viewer(), i.UUID, state); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// resetStateSchema is Nova's reset_server_state.reset_state.
var resetStateSchema = closedObject([]schemaProp{{"os-resetState", closedObject([]schemaProp{{"state",
	&jsonSchema{types: []string{"string"}, enum: []*pyjson.Value{{Kind: '"', Text: "active"}, {Kind: '"', Text: "error"}}}}}, "state")}},
	"os-resetState")
