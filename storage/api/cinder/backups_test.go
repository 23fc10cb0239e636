package cinder_test

import (
	"context"
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/gostack/gostack/internal/apitest"
	"github.com/gostack/gostack/storage"
)

// backupDone is the pool's agent reporting that the work of backup
// id's status is done.
func (c *client) backupDone(t *testing.T, id string) {
	t.Helper()
	b, err := c.store.Backup(context.Background(), storage.Viewer{Admin: true}, id)
	if err != nil {
		t.Fatal(err)
	}
	r := c.Call(t, apitest.Call{Method: "PUT", Path: "/internal/volume/hosts/" + url.PathEscape(pool) + "/backups/" + id, Token: service,
		Body: storage.BackupReport{Status: b.Status, ObjectCount: 2}})
	if r.Code != 200 {
		t.Fatalf("agent report on backup %s: %s", id, r)
	}
}

// backupDump is the store's backups as JSON.
func (c *client) backupDump(t *testing.T) string {
	t.Helper()
	bs, _, err := c.store.Backups(context.Background(), storage.Viewer{Admin: true}, storage.BackupFilter{AllProjects: true})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(bs)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (c *client) backupsUnchanged(t *testing.T, fn func()) {
	t.Helper()
	before := c.backupDump(t)
	c.nothingChanges(t, fn)
	if d := apitest.LineDiff(before, c.backupDump(t)); d != "" {
		t.Fatalf("a refusal changed the backups:\n%s", d)
	}
}

// A backup's life through the API: created (202, the summary view),
// made by the agent, shown with the fields of each microversion, an
// incremental one, listed, renamed (3.9), restored to a new volume (made
// and waited for) and to an existing one, deleted newest first.
func TestBackupLifecycle(t *testing.T) {
	c := newAPI(t)
	vol := c.availableVolume(t, alice, 2)
	created := c.must(t, 202, "3.0", alice, "POST", "/backups", map[string]any{"backup": map[string]any{
		"volume_id": vol, "name": " full ", "description": "d"}})["backup"].(map[string]any)
	id := created["id"].(string)
	if len(created) != 3 || created["name"] != "full" {
		t.Fatalf("created: %v", created)
	}
	if v := c.must(t, 200, "3.0", alice, "GET", "/volumes/"+vol, nil)["volume"].(map[string]any); v["status"] != "backing-up" {
		t.Fatalf("volume %v", v["status"])
	}
	c.backupDone(t, id)
	shown := c.must(t, 200, "3.0", alice, "GET", "/backups/"+id, nil)["backup"].(map[string]any)
	if shown["status"] != "available" || shown["size"] != float64(2) || shown["object_count"] != float64(2) || shown["is_incremental"] != false ||
		shown["description"] != "d" || len(shown) != 17 {
		t.Fatalf("show: %v", shown)
	}
	if s := c.must(t, 200, "3.56", admin, "GET", "/backups/"+id, nil)["backup"].(map[string]any); s["os-backup-project-attr:project_id"] != projA ||
		s["user_id"] != "alice" || s["metadata"] == nil {
		t.Fatalf("an admin's 3.56 show: %v", s)
	}
	if s := c.must(t, 200, "3.56", alice, "GET", "/backups/"+id, nil)["backup"].(map[string]any); s["user_id"] != nil {
		t.Fatalf("a member sees the backup's user: %v", s)
	}
	inc := c.must(t, 202, "3.43", alice, "POST", "/backups", map[string]any{"backup": map[string]any{
		"volume_id": vol, "incremental": true, "metadata": map[string]any{"k": "v"}}})["backup"].(map[string]any)["id"].(string)
	c.backupDone(t, inc)
	s := c.must(t, 200, "3.43", alice, "GET", "/backups/"+inc, nil)["backup"].(map[string]any)
	if s["is_incremental"] != true || s["metadata"].(map[string]any)["k"] != "v" {
		t.Fatalf("incremental: %v", s)
	}
	if s := c.must(t, 200, "3.0", alice, "GET", "/backups/"+id, nil)["backup"].(map[string]any); s["has_dependent_backups"] != true {
		t.Fatalf("the parent: %v", s)
	}
	list := c.must(t, 200, "3.0", alice, "GET", "/backups/detail?sort=created_at:asc", nil)["backups"].([]any)
	if len(list) != 2 || list[0].(map[string]any)["id"] != id {
		t.Fatalf("list: %v", list)
	}
	if l := c.must(t, 200, "3.0", bob, "GET", "/backups", nil)["backups"].([]any); len(l) != 0 {
		t.Fatalf("bob's list: %v", l)
	}
	wantError(t, c.call(t, "3.8", alice, "PUT", "/backups/"+id, map[string]any{"backup": map[string]any{"name": "x"}}), 404, "itemNotFound")
	if u := c.must(t, 200, "3.9", alice, "PUT", "/backups/"+id, map[string]any{"backup": map[string]any{"name": "renamed"}}); u["backup"].(map[string]any)["name"] != "renamed" {
		t.Fatalf("update: %v", u)
	}
	// Restore to a new volume: the API makes it and waits for the agent.
	go func() {
		for range 100 {
			vs, _, _ := c.store.Volumes(context.Background(), storage.Viewer{Admin: true}, storage.VolumeFilter{AllProjects: true})
			for _, v := range vs {
				if v.Status == storage.VolumeCreating {
					c.agentDone(t, v.ID)
					return
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	rs := c.must(t, 202, "3.0", alice, "POST", "/backups/"+inc+"/restore", map[string]any{"restore": map[string]any{}})["restore"].(map[string]any)
	newVol := rs["volume_id"].(string)
	if rs["backup_id"] != inc || rs["volume_name"] != "restore_backup_"+inc {
		t.Fatalf("restore: %v", rs)
	}
	if v := c.must(t, 200, "3.0", alice, "GET", "/volumes/"+newVol, nil)["volume"].(map[string]any); v["status"] != "restoring-backup" || v["size"] != float64(2) {
		t.Fatalf("the restore's volume: %v", v)
	}
	if b := c.must(t, 200, "3.0", alice, "GET", "/backups/"+inc, nil)["backup"].(map[string]any); b["status"] != "restoring" {
		t.Fatalf("restoring: %v", b)
	}
	c.backupDone(t, inc)
	if v := c.must(t, 200, "3.0", alice, "GET", "/volumes/"+newVol, nil)["volume"].(map[string]any); v["status"] != "available" {
		t.Fatalf("restored: %v", v)
	}
	// To an existing volume, named.
	rs = c.must(t, 202, "3.0", alice, "POST", "/backups/"+id+"/restore", map[string]any{"restore": map[string]any{"volume_id": vol}})["restore"].(map[string]any)
	if rs["volume_id"] != vol {
		t.Fatalf("restore to %s: %v", vol, rs)
	}
	c.backupDone(t, id)
	c.backupsUnchanged(t, func() {
		wantError(t, c.call(t, "3.0", alice, "DELETE", "/backups/"+id, nil), 400, "badRequest", "Invalid backup: Incremental backups exist for this backup.")
	})
	c.must(t, 202, "3.0", alice, "DELETE", "/backups/"+inc, nil)
	c.backupDone(t, inc)
	c.must(t, 202, "3.0", alice, "DELETE", "/backups/"+id, nil)
	c.backupDone(t, id)
	if l := c.must(t, 200, "3.0", alice, "GET", "/backups", nil)["backups"].([]any); len(l) != 0 {
		t.Fatalf("after the deletes: %v", l)
	}
}

// Refusals with Cinder's errors, nothing changed; the admin actions.
func TestBackupRefusals(t *testing.T) {
	c := newAPI(t)
	vol := c.availableVolume(t, alice, 2)
	small := c.availableVolume(t, alice, 1)
	id := c.must(t, 202, "3.0", alice, "POST", "/backups", map[string]any{"backup": map[string]any{"volume_id": vol}})["backup"].(map[string]any)["id"].(string)
	c.backupsUnchanged(t, func() {
		for _, x := range []struct {
			v, token, method, path string
			body                   any
			status                 int
			errKey, msg            string
		}{
			{"3.0", alice, "POST", "/backups", map[string]any{"backup": map[string]any{"volume_id": vol}}, 400, "badRequest",
				`Invalid volume: Volume to be backed up must be available or in-use, but the current status is "backing-up".`},
			{"3.0", alice, "POST", "/backups", map[string]any{"backup": map[string]any{"volume_id": small, "incremental": true}}, 400, "badRequest",
				"Invalid backup: No backups available to do an incremental backup."},
			{"3.0", alice, "POST", "/backups", map[string]any{"backup": map[string]any{"volume_id": small, "incremental": "maybe"}}, 400, "badRequest",
				"Invalid input for field/attribute incremental."},
			{"3.0", alice, "POST", "/backups", map[string]any{"backup": map[string]any{"volume_id": small, "metadata": map[string]any{}}}, 400, "badRequest",
				"Additional properties are not allowed ('metadata' was unexpected)"},
			{"3.0", bob, "POST", "/backups", map[string]any{"backup": map[string]any{"volume_id": small}}, 404, "itemNotFound",
				"Volume " + small + " could not be found."},
			{"3.0", alice, "POST", "/backups/" + id + "/restore", map[string]any{"restore": map[string]any{"volume_id": small}}, 400, "badRequest",
				"Invalid backup: Backup status must be available"},
			{"3.0", alice, "DELETE", "/backups/" + id, nil, 400, "badRequest", "Invalid backup: Backup status must be available or error"},
			{"3.0", bob, "GET", "/backups/" + id, nil, 404, "itemNotFound", "Backup " + id + " could not be found."},
			{"3.0", alice, "POST", "/backups/" + id + "/action", map[string]any{"os-reset_status": map[string]any{"status": "error"}}, 403, "forbidden",
				"Policy doesn't allow volume_extension:backup_admin_actions:reset_status to be performed."},
			{"3.0", admin, "POST", "/backups/" + id + "/action", map[string]any{"os-reset_status": map[string]any{"status": "creating"}}, 400, "badRequest",
				"Backup status: creating is invalid, valid statuses are: ['available', 'error']."},
			{"3.0", alice, "POST", "/backups/" + id + "/action", map[string]any{"os-force_delete": map[string]any{}}, 403, "forbidden",
				"Policy doesn't allow volume_extension:backup_admin_actions:force_delete to be performed."},
			{"3.31", alice, "GET", "/backups?host=x", nil, 400, "badRequest", "Invalid filters host are found in query options."},
		} {
			wantError(t, c.call(t, x.v, x.token, x.method, x.path, x.body), x.status, x.errKey, x.msg)
		}
	})
	c.backupDone(t, id)
	c.must(t, 200, "3.0", admin, "PUT", "/os-quota-sets/"+projA, map[string]any{"quota_set": map[string]any{"backups": 1}})
	c.backupsUnchanged(t, func() {
		r := c.call(t, "3.0", alice, "POST", "/backups", map[string]any{"backup": map[string]any{"volume_id": small}})
		wantError(t, r, 413, "overLimit", "BackupLimitExceeded: Maximum number of backups allowed (1) exceeded")
		wantError(t, c.call(t, "3.0", alice, "POST", "/backups/"+id+"/restore", map[string]any{"restore": map[string]any{"volume_id": small}}),
			400, "badRequest", "Invalid volume: volume size 1 is too small to restore backup of size 2.")
	})
	c.must(t, 200, "3.0", admin, "PUT", "/os-quota-sets/"+projA, map[string]any{"quota_set": map[string]any{"volumes": 2}})
	c.backupsUnchanged(t, func() {
		wantError(t, c.call(t, "3.0", alice, "POST", "/backups/"+id+"/restore", map[string]any{"restore": nil}), 413, "overLimit",
			"Maximum number of volumes allowed (2) exceeded for quota 'volumes'.")
	})
	// An admin resets and force-deletes.
	c.must(t, 202, "3.0", admin, "POST", "/backups/"+id+"/action", map[string]any{"os-reset_status": map[string]any{"status": "ERROR"}})
	if b := c.must(t, 200, "3.0", alice, "GET", "/backups/"+id, nil)["backup"].(map[string]any); b["status"] != "error" {
		t.Fatalf("reset: %v", b)
	}
	c.must(t, 202, "3.0", admin, "POST", "/backups/"+id+"/action", map[string]any{"os-force_delete": map[string]any{}})
	if b := c.must(t, 200, "3.0", alice, "GET", "/backups/"+id, nil)["backup"].(map[string]any); b["status"] != "deleting" {
		t.Fatalf("force delete: %v", b)
	}
}
