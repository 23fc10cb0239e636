package cinder

import (
	"net/http"
	"slices"
	"strings"

	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/storage"
)

// Cinder's microversions of the messages API.
const (
	messagesVersion    = 3 // the messages API
	messagesPagination = 5 // filters, sort, limit, marker, offset
)

// messageFilters are the filters a user may give (resource_filters.json
// from 3.31).
var messageFilters = []string{"resource_uuid", "resource_type", "event_id", "request_id", "message_level"}

// messageRoutes are Cinder's user messages (v3/messages.py).
func (a *API) messageRoutes(rt *httpapi.Router) {
	rt.HandleFunc("GET /messages", a.since(messagesVersion, a.listMessages))
	rt.HandleFunc("GET /messages/{id}", a.since(messagesVersion, a.showMessage))
	rt.HandleFunc("DELETE /messages/{id}", a.since(messagesVersion, a.deleteMessage))
}

// messageTarget is the policy target of a message (Cinder's target_obj).
func messageTarget(m storage.Message) map[string]any {
	return map[string]any{"project_id": m.ProjectID, "id": m.ID}
}

// messageView is Cinder's message view: its user message built from the
// action and detail, guaranteed_until its expiry.
func (q *request) messageView(m storage.Message) map[string]any {
	out := map[string]any{"id": m.ID, "event_id": m.EventID, "user_message": m.UserMessage(), "message_level": m.Level,
		"created_at": isoTime(m.CreatedAt), "guaranteed_until": isoTime(m.ExpiresAt), "request_id": m.RequestID,
		"links": q.links("messages", m.ID)}
	if m.ResourceType != "" {
		out["resource_type"] = m.ResourceType
	}
	if m.ResourceUUID != "" {
		out["resource_uuid"] = m.ResourceUUID
	}
	return out
}

func (a *API) showMessage(w http.ResponseWriter, r *http.Request, q *request) error {
	m, err := a.Store.Message(r.Context(), q.viewer(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, "message:get", messageTarget(m)); err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"message": q.messageView(m)})
	return nil
}

func (a *API) deleteMessage(w http.ResponseWriter, r *http.Request, q *request) error {
	m, err := a.Store.Message(r.Context(), q.viewer(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, "message:delete", messageTarget(m)); err != nil {
		return err
	}
	if err := a.Store.DeleteMessage(r.Context(), q.viewer(), m.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// listMessages is Cinder's index: the caller's project's messages (an
// admin's, every project's), newest first; from 3.5 the query's
// filters (exact, on the message's columns: another key gives an empty
// list, as Cinder's is_valid_model_filters; from 3.31 a user's filter
// outside resource_filters.json is a 400), sort, limit, marker and
// offset, with next links.
func (a *API) listMessages(w http.ResponseWriter, r *http.Request, q *request) error {
	if err := a.authorize(r.Context(), q, "message:get_all", nil); err != nil {
		return err
	}
	var f storage.MessageFilter
	p := page{}
	none := false
	if q.at(messagesPagination) {
		query := newListQuery(r.URL.Query())
		var err error
		if p, err = query.readPage(); err != nil {
			return err
		}
		if f.SortKeys, f.SortDirs, err = query.readSort(); err != nil {
			return err
		}
		if !q.admin && q.at(resourceFilter) {
			var invalid []string
			for k := range query.Values {
				if !slices.Contains(messageFilters, k) {
					invalid = append(invalid, k)
				}
			}
			if len(invalid) > 0 {
				slices.Sort(invalid)
				return badRequest("Invalid filters %s are found in query options.", strings.Join(invalid, ","))
			}
		}
		for _, x := range []struct {
			key string
			dst *string
		}{{"resource_uuid", &f.ResourceUUID}, {"resource_type", &f.ResourceType}, {"event_id", &f.EventID},
			{"request_id", &f.RequestID}, {"message_level", &f.Level}, {"project_id", &f.ProjectID},
			{"action_id", &f.ActionID}, {"detail_id", &f.DetailID}} {
			if s, ok := query.pop(x.key); ok {
				*x.dst = s
			}
		}
		for k := range query.Values {
			if !slices.Contains(messageColumns, k) {
				none = true
			}
		}
		if !none && len(query.Values) > 0 {
			keys := make([]string, 0, len(query.Values))
			for k := range query.Values {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			return badRequest("The message filters %s are not supported yet.", strings.Join(keys, ", "))
		}
		f.Marker = p.marker
	}
	var ms []storage.Message
	if !none && (p.limit > 0 || !q.at(messagesPagination)) {
		if p.limit > 0 {
			f.Limit = p.limit + p.offset
		}
		var err error
		if ms, _, err = a.Store.Messages(r.Context(), q.viewer(), f); err != nil {
			return err
		}
		ms = ms[min(p.offset, len(ms)):]
	}
	httpapi.WriteJSON(w, http.StatusOK, listAnswer(q, r, "messages", "messages_links", "messages", ms,
		func(m storage.Message) string { return m.ID }, q.messageView))
	return nil
}

// messageColumns are the columns of Cinder's messages table a filter
// may name (is_valid_model_filters); the ones MessageFilter does not
// take are refused as not supported.
var messageColumns = []string{"id", "project_id", "request_id", "resource_uuid", "resource_type", "event_id", "message_level",
	"action_id", "detail_id", "created_at", "updated_at", "deleted_at", "deleted", "expires_at"}
