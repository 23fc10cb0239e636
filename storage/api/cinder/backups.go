package cinder

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/kit/pyjson"
	"github.com/gostack/gostack/storage"
)

// Microversions of the backups API (cinder/api/microversions.py).
const (
	backupUpdateVersion = 9  // PUT /backups/{id}
	backupProject       = 18 // os-backup-project-attr:project_id
	backupSortName      = 37 // sort by name
	backupMetadata      = 43 // metadata
	backupAZ            = 51 // availability_zone in create
	backupProjectUserID = 56 // user_id
)

// backupRoutes are Cinder's backups (contrib/backups.py, v3/backups.py
// and the backup admin actions of contrib/admin_actions.py).
// import_record and export_record are not served.
func (a *API) backupRoutes(rt *httpapi.Router) {
	rt.HandleFunc("POST /backups", a.op(a.createBackup))
	rt.HandleFunc("GET /backups", a.op(a.listBackups(false)))
	rt.HandleFunc("GET /backups/detail", a.op(a.listBackups(true)))
	rt.HandleFunc("GET /backups/{id}", a.op(a.showBackup))
	rt.HandleFunc("PUT /backups/{id}", a.since(backupUpdateVersion, a.updateBackup))
	rt.HandleFunc("DELETE /backups/{id}", a.op(a.deleteBackup))
	rt.HandleFunc("POST /backups/{id}/restore", a.op(a.restoreBackup))
	rt.HandleFunc("POST /backups/{id}/action", a.op(a.backupAction))
	rt.HandleFunc("GET /backups/{id}/export_record", a.op(a.exportBackupRecord))
	rt.HandleFunc("POST /backups/import_record", a.op(a.importBackupRecord))
}

// backupTarget is the policy target of a backup (Cinder's target_obj).
func backupTarget(b storage.Backup) map[string]any {
	return map[string]any{"project_id": b.ProjectID, "user_id": b.UserID, "id": b.ID, "volume_id": b.VolumeID,
		"status": string(b.Status)}
}

// getBackup is Cinder's backup_api.get: the backup if the caller sees
// it, then backup:get on it.
func (a *API) getBackup(ctx context.Context, q *request, id string) (storage.Backup, error) {
	b, err := a.Store.Backup(ctx, q.viewer(), id)
	if err != nil {
		return storage.Backup{}, err
	}
	if err := a.authorize(ctx, q, "backup:get", backupTarget(b)); err != nil {
		return storage.Backup{}, err
	}
	return b, nil
}

// backupSummary is Cinder's summary view.
func (q *request) backupSummary(b storage.Backup) map[string]any {
	return map[string]any{"id": b.ID, "name": b.Name, "links": q.links("backups", b.ID)}
}

// backupDetail is Cinder's detail view at the request's microversion;
// attrs adds the project and user (backup:backup_project_attribute).
func (q *request) backupDetail(b storage.Backup, attrs bool) map[string]any {
	out := map[string]any{"id": b.ID, "status": string(b.Status), "size": b.Size, "object_count": b.ObjectCount,
		"availability_zone": orNull(b.AvailabilityZone), "container": b.Container, "created_at": isoTime(b.CreatedAt),
		"updated_at": isoTime(b.UpdatedAt), "name": b.Name, "description": b.Description, "fail_reason": b.FailReason,
		"volume_id": b.VolumeID, "links": q.links("backups", b.ID), "is_incremental": b.IsIncremental(),
		"has_dependent_backups": b.HasDependentBackups, "snapshot_id": orNull(b.SnapshotID),
		"data_timestamp": isoTime(b.DataTimestamp)}
	if q.at(backupMetadata) {
		out["metadata"] = b.Metadata
	}
	if attrs && q.at(backupProject) {
		out["os-backup-project-attr:project_id"] = b.ProjectID
	}
	if attrs && q.at(backupProjectUserID) {
		out["user_id"] = b.UserID
	}
	return out
}

func (a *API) showBackup(w http.ResponseWriter, r *http.Request, q *request) error {
	b, err := a.getBackup(r.Context(), q, r.PathValue("id"))
	if err != nil {
		return err
	}
	attrs := a.allowed(r.Context(), q, "backup:backup_project_attribute", nil)
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"backup": q.backupDetail(b, attrs)})
	return nil
}

// createBackup is Cinder's create (202, the summary view): the schema
// of the microversion, name and description stripped, the volume (one
// the caller sees and volume:get allows), backup:create on it, then the
// Store's checks.
func (a *API) createBackup(w http.ResponseWriter, r *http.Request, q *request) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	if body == nil {
		return errNoBody
	}
	sch := backupCreateSchema
	switch {
	case q.at(backupAZ):
		sch = backupCreateV351Schema
	case q.at(backupMetadata):
		sch = backupCreateV343Schema
	}
	if err := sch.check(nil, body); err != nil {
		return err
	}
	bk := body.Get("backup")
	c := storage.BackupCreate{VolumeID: bk.Get("volume_id").Text, UserID: q.caller.UserID, Name: textField(bk, "name"),
		Description: textField(bk, "description"), Container: textField(bk, "container")}
	if v := bk.Get("container"); v != nil && v.Kind == '"' {
		c.Container = &v.Text // not stripped
	}
	if v := bk.Get("incremental"); v != nil {
		c.Incremental = boolOf(v)
	}
	if v := bk.Get("force"); v != nil {
		c.Force = boolOf(v)
	}
	if v := bk.Get("snapshot_id"); v != nil && !v.Null() {
		c.SnapshotID = v.Text
	}
	if md := bk.Get("metadata"); q.at(backupMetadata) && md != nil && md.Kind == '{' {
		c.Metadata = map[string]string{}
		for i, k := range md.Keys {
			c.Metadata[k] = md.Items[i].Text
		}
	}
	vol, err := a.getVolume(r.Context(), q, c.VolumeID)
	if err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, "backup:create", volumeTarget(q, vol)); err != nil {
		return err
	}
	if c.SnapshotID != "" {
		if _, err := a.getSnapshot(r.Context(), q, c.SnapshotID); err != nil {
			return err
		}
	}
	b, err := a.Store.CreateBackup(r.Context(), q.viewer(), c)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusAccepted, map[string]any{"backup": q.backupSummary(b)})
	return nil
}

// backupFilters are the filters a user may give (resource_filters.json
// from 3.31, _get_backup_filter_options before).
var backupFilters = []string{"name", "status", "volume_id"}

// backupColumns are the columns of Cinder's Backup model (an admin's
// filters).
var backupColumns = []string{"availability_zone", "container", "created_at", "data_timestamp", "deleted", "deleted_at",
	"display_description", "display_name", "encryption_key_id", "fail_reason", "host", "id", "num_dependent_backups",
	"object_count", "parent_id", "project_id", "restore_volume_id", "service", "service_metadata", "size", "snapshot_id",
	"status", "temp_snapshot_id", "temp_volume_id", "updated_at", "user_id", "volume_id"}

// listBackups is GET /backups and /backups/detail as Cinder's
// _get_backups reads its query: pages, sort (name from 3.37),
// with_count (3.45), the filters, then backup:get_all.
func (a *API) listBackups(detail bool) handler {
	return func(w http.ResponseWriter, r *http.Request, q *request) error {
		query := newListQuery(r.URL.Query())
		p, err := query.readPage()
		if err != nil {
			return err
		}
		keys, dirs, err := query.readSort()
		if err != nil {
			return err
		}
		if q.at(backupSortName) {
			for i, k := range keys {
				if k == "name" {
					keys[i] = "display_name"
				}
			}
		}
		withCount := false
		if q.at(45) {
			if _, ok := query.Values["with_count"]; ok {
				if withCount, err = query.boolParam("with_count"); err != nil {
					return err
				}
				delete(query.Values, "with_count")
			}
		}
		f, none, err := backupFilter(q, query)
		if err != nil {
			return err
		}
		if err := a.authorize(r.Context(), q, "backup:get_all", nil); err != nil {
			return err
		}
		f.SortKeys, f.SortDirs, f.Marker = keys, dirs, p.marker
		var bs []storage.Backup
		if p.limit > 0 && !none {
			f.Limit = p.limit + p.offset
			if bs, _, err = a.Store.Backups(r.Context(), q.viewer(), f); err != nil {
				return err
			}
			bs = bs[min(p.offset, len(bs)):]
		}
		attrs := detail && a.allowed(r.Context(), q, "backup:backup_project_attribute", nil)
		collection := "backups"
		if detail {
			collection = "backups/detail"
		}
		res := listAnswer(q, r, "backups", "backups_links", collection, bs, func(b storage.Backup) string { return b.ID },
			func(b storage.Backup) map[string]any {
				if detail {
					return q.backupDetail(b, attrs)
				}
				return q.backupSummary(b)
			})
		if withCount {
			f.Marker, f.Limit = "", 0
			var all []storage.Backup
			if !none {
				if all, _, err = a.Store.Backups(r.Context(), q.viewer(), f); err != nil {
					return err
				}
			}
			res["count"] = len(all)
		}
		httpapi.WriteJSON(w, http.StatusOK, res)
		return nil
	}
}

// backupFilter reads the filters left in query as Cinder's backup
// controller does: from 3.31 a user's filter resource_filters.json does
// not list is refused, before it is dropped; an admin's may name any
// column (those the Store cannot filter on are refused with a 400 that
// names them).
func backupFilter(q *request, query listQuery) (f storage.BackupFilter, none bool, err error) {
	if s, ok := query.pop("all_tenants"); ok {
		b, _ := pyjson.Bool(s)
		f.AllProjects = q.admin && b
	}
	if !q.admin {
		var invalid []string
		for k := range query.Values {
			if !slices.Contains(backupFilters, k) {
				invalid = append(invalid, k)
			}
		}
		if len(invalid) > 0 && q.at(resourceFilter) {
			slices.Sort(invalid)
			return f, false, badRequest("Invalid filters %s are found in query options.", strings.Join(invalid, ","))
		}
		for _, k := range invalid {
			delete(query.Values, k)
		}
	}
	if s, ok := query.pop("name"); ok {
		query.Values.Set("display_name", s)
	}
	for _, x := range []struct {
		key string
		dst *string
	}{{"display_name", &f.Name}, {"volume_id", &f.VolumeID}, {"parent_id", &f.ParentID}} {
		if s, ok := query.pop(x.key); ok {
			*x.dst = s
		}
	}
	if s, ok := query.pop("status"); ok {
		f.Status = storage.BackupStatus(s)
	}
	if s, ok := query.pop("project_id"); ok && f.AllProjects {
		f.ProjectID = s
	}
	none, err = leftFilters(query, backupColumns, "backup")
	return f, none, err
}

// updateBackup is Cinder's update (3.9; metadata from 3.43): the
// summary view.
func (a *API) updateBackup(w http.ResponseWriter, r *http.Request, q *request) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	if body == nil {
		return errNoBody
	}
	sch := backupUpdateSchema
	if q.at(backupMetadata) {
		sch = backupUpdateV343Schema
	}
	if err := sch.check(nil, body); err != nil {
		return err
	}
	id := r.PathValue("id")
	b, err := a.Store.Backup(r.Context(), q.viewer(), id)
	if err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, "backup:update", backupTarget(b)); err != nil {
		return err
	}
	bk := body.Get("backup")
	var u storage.BackupUpdate
	if bk != nil && bk.Kind == '{' {
		if bk.Has("name") {
			u.Name = textField(bk, "name")
			u.ClearName = u.Name == nil
		}
		if bk.Has("description") {
			u.Description = textField(bk, "description")
			u.ClearDescription = u.Description == nil
		}
		if md := bk.Get("metadata"); q.at(backupMetadata) && md != nil && md.Kind == '{' {
			u.Metadata = map[string]string{}
			for i, k := range md.Keys {
				u.Metadata[k] = md.Items[i].Text
			}
		}
	}
	if b, err = a.Store.UpdateBackup(r.Context(), q.viewer(), id, u); err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"backup": q.backupSummary(b)})
	return nil
}

func (a *API) deleteBackup(w http.ResponseWriter, r *http.Request, q *request) error {
	return a.removeBackup(w, r, q, false)
}

// removeBackup is a delete (202), or (force) an admin's os-force_delete
// after its own policy.
func (a *API) removeBackup(w http.ResponseWriter, r *http.Request, q *request, force bool) error {
	id := r.PathValue("id")
	b, err := a.getBackup(r.Context(), q, id)
	if err != nil {
		return err
	}
	if force {
		if err := a.authorize(r.Context(), q, "volume_extension:backup_admin_actions:force_delete", backupTarget(b)); err != nil {
			return err
		}
	}
	if err := a.authorize(r.Context(), q, "backup:delete", backupTarget(b)); err != nil {
		return err
	}
	if _, err := a.Store.DeleteBackup(r.Context(), q.viewer(), id, force); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// restoreWait is how long a restore to a new volume waits for the
// volume to be made (Cinder's API waits without end).
const restoreWait = 5 * time.Minute

// restoreBackup is Cinder's restore (202): the backup (backup:get, then
// backup:restore on it) available; without volume_id a new volume of
// the backup's size ("restore_backup_<id>" unless named) made and waited
// for, as Cinder's API does; the volume available and large enough; a
// quota refusal of the new volume is the controller's own 413.
func (a *API) restoreBackup(w http.ResponseWriter, r *http.Request, q *request) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	if body == nil {
		return errNoBody
	}
	if err := backupRestoreSchema.check(nil, body); err != nil {
		return err
	}
	ctx, id := r.Context(), r.PathValue("id")
	b, err := a.getBackup(ctx, q, id)
	if err != nil {
		return err
	}
	if err := a.authorize(ctx, q, "backup:restore", backupTarget(b)); err != nil {
		return err
	}
	if b.Status != storage.BackupAvailable {
		return badRequest("Invalid backup: Backup status must be available")
	}
	rs := body.Get("restore")
	volID := ""
	if v := rs.Get("volume_id"); v != nil && !v.Null() {
		volID = v.Text
	}
	if volID == "" {
		if volID, err = a.restoreVolume(ctx, q, b, rs); err != nil {
			return err
		}
	} else if _, err := a.getVolume(ctx, q, volID); err != nil {
		return err
	}
	_, vol, err := a.Store.RestoreBackup(ctx, q.viewer(), id, volID)
	if err != nil {
		if typ := fault.TypeOf(err); typ == "InvalidVolume" || typ == "InvalidBackup" {
			return badRequest("%s", fault.Message(err))
		}
		return err
	}
	httpapi.WriteJSON(w, http.StatusAccepted, map[string]any{"restore": map[string]any{"backup_id": id, "volume_id": vol.ID,
		"volume_name": vol.Name}})
	return nil
}

// restoreVolume makes the new volume of a restore and waits until its
// agent has made it.
func (a *API) restoreVolume(ctx context.Context, q *request, b storage.Backup, rs *pyjson.Value) (string, error) {
	name := "restore_backup_" + b.ID
	if v := rs.Get("name"); v != nil && v.Kind == '"' {
		name = v.Text
	}
	desc := "auto-created_from_restore_from_backup"
	vol, err := a.Store.CreateVolume(ctx, q.viewer(), storage.VolumeCreate{UserID: q.caller.UserID, Size: b.Size, Name: &name,
		Description: &desc})
	if typ := fault.TypeOf(err); typ == "VolumeSizeExceedsAvailableQuota" || typ == "VolumeLimitExceeded" {
		return "", &fault.Error{Kind: fault.TooLarge, Type: entityTooLarge, Message: fault.Message(err)}
	}
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, restoreWait)
	defer cancel()
	for vol.Status == storage.VolumeCreating {
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if vol, err = a.Store.Volume(ctx, q.viewer(), vol.ID); err != nil {
			return "", err
		}
	}
	if vol.Status == storage.VolumeError {
		return "", badRequest("Invalid volume: Error while creating volume %s for restoring backup %s.", vol.ID, b.ID)
	}
	return vol.ID, nil
}

// backupActions are the actions of POST /backups/{id}/action: the
// admin actions.
var backupActions = map[string]func(a *API, w http.ResponseWriter, r *http.Request, q *request, body *pyjson.Value) error{
	"os-reset_status": (*API).resetBackupStatus,
	"os-force_delete": func(a *API, w http.ResponseWriter, r *http.Request, q *request, _ *pyjson.Value) error {
		return a.removeBackup(w, r, q, true)
	},
}

func (a *API) backupAction(w http.ResponseWriter, r *http.Request, q *request) error {
	name, body, err := readAction(w, r)
	if err != nil {
		return err
	}
	act, ok := backupActions[name]
	if !ok {
		return noSuchAction(name)
	}
	return act(a, w, r, q, body)
}

// resetBackupStatus is an admin's os-reset_status (202): the body, the
// backup, the policy on it; the status lowercased.
func (a *API) resetBackupStatus(w http.ResponseWriter, r *http.Request, q *request, body *pyjson.Value) error {
	if err := backupResetSchema.check(nil, body); err != nil {
		return err
	}
	id := r.PathValue("id")
	b, err := a.getBackup(r.Context(), q, id)
	if err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, "volume_extension:backup_admin_actions:reset_status", backupTarget(b)); err != nil {
		return err
	}
	status := storage.BackupStatus(strings.ToLower(body.Get("os-reset_status").Get("status").Text))
	if _, err := a.Store.ResetBackupStatus(r.Context(), q.viewer(), id, status); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// exportBackupRecord is Cinder's export_record (backup:export-import,
// admins): the backup's record, for import_record here or in a cloud
// whose agents share the backup store.
func (a *API) exportBackupRecord(w http.ResponseWriter, r *http.Request, q *request) error {
	ctx, id := r.Context(), r.PathValue("id")
	b, err := a.getBackup(ctx, q, id)
	if err != nil {
		return err
	}
	if err := a.authorize(ctx, q, "backup:export-import", backupTarget(b)); err != nil {
		return err
	}
	rec, err := a.Store.ExportBackupRecord(ctx, q.viewer(), id)
	if err != nil {
		if fault.TypeOf(err) == "InvalidBackup" {
			return badRequest("%s", fault.Message(err))
		}
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"backup-record": rec})
	return nil
}

// importBackupRecord is Cinder's import_record (backup:backup-import,
// admins): the record's backup made again in the caller's project,
// creating until an agent finds it in the backup store; 201 with its
// summary.
func (a *API) importBackupRecord(w http.ResponseWriter, r *http.Request, q *request) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	if body == nil {
		return errNoBody
	}
	if err := backupImportSchema.check(nil, body); err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, "backup:backup-import", nil); err != nil {
		return err
	}
	rec := body.Get("backup-record")
	b, err := a.Store.ImportBackupRecord(r.Context(), q.viewer(), q.caller.UserID,
		storage.BackupRecord{Service: rec.Get("backup_service").Text, URL: rec.Get("backup_url").Text})
	if err != nil {
		if fault.TypeOf(err) == "InvalidBackup" {
			return badRequest("%s", fault.Message(err))
		}
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, map[string]any{"backup": q.backupSummary(b)})
	return nil
}
