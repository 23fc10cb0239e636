package cinder

import (
	"net/http"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/kit/pyjson"
	"github.com/gostack/gostack/storage"
)

// Microversions of the transfers API (cinder/api/microversions.py).
const (
	transferWithSnapshots = 55 // no_snapshots in create and the views
	transferWithHistory   = 57 // source and destination projects, accepted
	transferPagination    = 59 // marker, limit, offset and sort on /volume-transfers
)

// transferRoutes are Cinder's volume transfers: the v3 controller at
// /volume-transfers (v3/volume_transfer.py) and the older extension at
// /os-volume-transfer (contrib/volume_transfer.py), at every
// microversion, as Cinder's router maps both.
func (a *API) transferRoutes(rt *httpapi.Router) {
	for _, c := range []struct {
		path string
		v3   bool
	}{{"/volume-transfers", true}, {"/os-volume-transfer", false}} {
		rt.HandleFunc("POST "+c.path, a.op(a.createTransfer(c.v3)))
		rt.HandleFunc("GET "+c.path, a.op(a.listTransfers(false, c.v3)))
		rt.HandleFunc("GET "+c.path+"/detail", a.op(a.listTransfers(true, c.v3)))
		rt.HandleFunc("GET "+c.path+"/{id}", a.op(a.showTransfer))
		rt.HandleFunc("DELETE "+c.path+"/{id}", a.op(a.deleteTransfer))
		rt.HandleFunc("POST "+c.path+"/{id}/accept", a.op(a.acceptTransfer))
	}
}

// transferCollection is the collection Cinder's transfer views name in
// links, whichever route was asked.
const transferCollection = "os-volume-transfer"

// transferSummary is Cinder's summary view (api/views/transfers.py).
func (q *request) transferSummary(t storage.Transfer) map[string]any {
	return map[string]any{"id": t.ID, "volume_id": t.VolumeID, "name": t.Name, "links": q.links(transferCollection, t.ID)}
}

// transferDetail is Cinder's detail view at the request's microversion;
// create's adds the key.
func (q *request) transferDetail(t storage.Transfer) map[string]any {
	out := map[string]any{"id": t.ID, "created_at": isoTime(t.CreatedAt), "name": t.Name, "volume_id": t.VolumeID,
		"links": q.links(transferCollection, t.ID)}
	if q.at(transferWithSnapshots) {
		out["no_snapshots"] = t.NoSnapshots
	}
	if q.at(transferWithHistory) {
		out["destination_project_id"], out["source_project_id"], out["accepted"] = t.DestinationProjectID, t.SourceProjectID, t.Accepted
	}
	return out
}

// createTransfer is Cinder's create (202): the schema of the route and
// microversion (no_snapshots on /volume-transfers from 3.55), the name
// stripped, the volume (one the caller sees: Cinder reads it without
// volume:get), volume:create_transfer on it, then the Store's checks.
// The answer holds the key, the only time it is shown.
func (a *API) createTransfer(v3 bool) handler {
	return func(w http.ResponseWriter, r *http.Request, q *request) error {
		body, err := readBody(w, r)
		if err != nil {
			return err
		}
		if body == nil {
			return errNoBody
		}
		withSnapshots := v3 && q.at(transferWithSnapshots)
		sch := transferCreateSchema
		if withSnapshots {
			sch = transferCreateV355Schema
		}
		if err := sch.check(nil, body); err != nil {
			return err
		}
		tr := body.Get("transfer")
		c := storage.TransferCreate{VolumeID: tr.Get("volume_id").Text}
		if n := tr.Get("name"); n != nil && !n.Null() {
			name := pyStrip(n.Text)
			c.Name = &name
		}
		if ns := tr.Get("no_snapshots"); withSnapshots && ns != nil {
			c.NoSnapshots = boolOf(ns)
		}
		vol, err := a.Store.Volume(r.Context(), q.viewer(), c.VolumeID)
		if err != nil {
			return err
		}
		if err := a.authorize(r.Context(), q, "volume:create_transfer", volumeTarget(q, vol)); err != nil {
			return err
		}
		t, err := a.Store.CreateTransfer(r.Context(), q.viewer(), c)
		if err != nil {
			return err
		}
		view := q.transferDetail(t)
		view["auth_key"] = t.AuthKey
		httpapi.WriteJSON(w, http.StatusAccepted, map[string]any{"transfer": view})
		return nil
	}
}

// transferColumns are the columns of Cinder's Transfer model, which its
// database layer filters on; a filter that is none gives an empty list.
var transferColumns = []string{"accepted", "created_at", "crypt_hash", "deleted", "deleted_at", "destination_project_id",
	"display_name", "expires_at", "id", "no_snapshots", "salt", "source_project_id", "updated_at", "volume_id"}

// listTransfers is GET .../ and .../detail as Cinder's controllers read
// their query: on /volume-transfers from 3.59 the pagination and sort
// (created_at desc by default), else created_at and id ascending with
// every parameter a filter (so a limit given there is a filter on no
// column: an empty list, as Cinder answers); name is display_name,
// all_tenants is an admin's; then volume:get_all_transfers; the page
// cut again by the request's offset and limit (Cinder's
// common.limited, which applies the offset a second time on a page
// that had one).
func (a *API) listTransfers(detail, v3 bool) handler {
	return func(w http.ResponseWriter, r *http.Request, q *request) error {
		query := newListQuery(r.URL.Query())
		var f storage.TransferFilter
		p := page{limit: maxLimit}
		var err error
		if v3 && q.at(transferPagination) {
			if p, err = query.readPage(); err != nil {
				return err
			}
			if f.SortKeys, f.SortDirs, err = query.readSort(); err != nil {
				return err
			}
		} else {
			f.SortKeys, f.SortDirs = []string{"created_at", "id"}, []string{"asc", "asc"}
		}
		if s, ok := query.pop("name"); ok {
			query.Values.Set("display_name", s)
		}
		if s, ok := query.pop("all_tenants"); ok {
			b, _ := pyjson.Bool(s)
			f.AllProjects = q.admin && b
		}
		for _, x := range []struct {
			key string
			dst *string
		}{{"display_name", &f.Name}, {"volume_id", &f.VolumeID}, {"id", &f.ID}} {
			if s, ok := query.pop(x.key); ok {
				*x.dst = s
			}
		}
		none, err := leftFilters(query, transferColumns, "transfer")
		if err != nil {
			return err
		}
		if err := a.authorize(r.Context(), q, "volume:get_all_transfers", nil); err != nil {
			return err
		}
		var ts []storage.Transfer
		if !none && p.limit > 0 {
			f.Marker, f.Limit = p.marker, p.limit+p.offset
			if ts, _, err = a.Store.Transfers(r.Context(), q.viewer(), f); err != nil {
				return err
			}
			ts = ts[min(p.offset, len(ts)):]
		}
		again, err := newListQuery(r.URL.Query()).readPage()
		if err != nil {
			return err
		}
		ts = ts[min(again.offset, len(ts)):]
		ts = ts[:min(again.limit, len(ts))]
		res := listAnswer(q, r, "transfers", "transfers_links", transferCollection, ts, func(t storage.Transfer) string { return t.ID },
			func(t storage.Transfer) map[string]any {
				if detail {
					return q.transferDetail(t)
				}
				return q.transferSummary(t)
			})
		httpapi.WriteJSON(w, http.StatusOK, res)
		return nil
	}
}

// showTransfer is Cinder's show: volume:get_transfer (the caller's own
// target), then the transfer if the caller's project offers it.
func (a *API) showTransfer(w http.ResponseWriter, r *http.Request, q *request) error {
	if err := a.authorize(r.Context(), q, "volume:get_transfer", nil); err != nil {
		return err
	}
	t, err := a.Store.Transfer(r.Context(), q.viewer(), r.PathValue("id"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"transfer": q.transferDetail(t)})
	return nil
}

// deleteTransfer is Cinder's delete (202): the transfer, its volume as
// the caller sees it, volume:delete_transfer on the volume.
func (a *API) deleteTransfer(w http.ResponseWriter, r *http.Request, q *request) error {
	id := r.PathValue("id")
	t, err := a.Store.Transfer(r.Context(), q.viewer(), id)
	if err != nil {
		return err
	}
	vol, err := a.Store.Volume(r.Context(), q.viewer(), t.VolumeID)
	if err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, "volume:delete_transfer", volumeTarget(q, vol)); err != nil {
		return err
	}
	if err := a.Store.DeleteTransfer(r.Context(), q.viewer(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// acceptTransfer is Cinder's accept (202): the schema (the key a string
// or an integer, read as Python's str()), volume:accept_transfer (the
// caller's own target: any project may accept a transfer whose id and
// key it has), then the Store's accept for the caller's project and
// user. A gigabytes quota refusal is the controller's 413 (the message
// alone); the answer is the summary view.
func (a *API) acceptTransfer(w http.ResponseWriter, r *http.Request, q *request) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	if body == nil {
		return errNoBody
	}
	if err := transferAcceptSchema.check(nil, body); err != nil {
		return err
	}
	k := body.Get("accept").Get("auth_key")
	key := k.Text
	if k.Kind != '"' {
		if n, ok := pyjson.Int(k.Text); ok {
			key = n.String()
		}
	}
	if err := a.authorize(r.Context(), q, "volume:accept_transfer", nil); err != nil {
		return err
	}
	t, err := a.Store.AcceptTransfer(r.Context(), r.PathValue("id"),
		storage.TransferAccept{Project: q.caller.ProjectID, User: q.caller.UserID, AuthKey: key})
	if fault.TypeOf(err) == "VolumeSizeExceedsAvailableQuota" {
		return &fault.Error{Kind: fault.TooLarge, Type: entityTooLarge, Message: fault.Message(err)}
	}
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusAccepted, map[string]any{"transfer": q.transferSummary(t)})
	return nil
}
