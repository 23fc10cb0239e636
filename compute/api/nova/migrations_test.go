package nova_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/compute/api/nova"
)

// os-migrations for admins: the records of moves with the fields of
// each microversion, Nova's loose filters before 2.59 and its strict
// query with pages after.
func TestMigrationsList(t *testing.T) {
	e := newServerAPI(t)
	var ids []string
	for range 3 {
		i := e.activeServer(t)
		ids = append(ids, i.UUID)
		e.must(t, 202, "2.1", admin, "POST", "/servers/"+i.UUID+"/action", map[string]any{"migrate": nil})
	}
	wantError(t, e.call(t, "2.1", alice, "GET", "/os-migrations", nil), 403, "forbidden")

	old := e.must(t, 200, "2.1", admin, "GET", "/os-migrations", nil)["migrations"].([]any)
	if len(old) != 3 {
		t.Fatalf("migrations: %v", old)
	}
	m := old[0].(map[string]any)
	if m["instance_uuid"] != ids[2] || m["id"] != float64(3) || m["status"] != "pre-migrating" || m["dest_compute"] != nil ||
		m["old_instance_type_id"] == nil || m["old_instance_type_id"] != m["new_instance_type_id"] || !strings.Contains(m["created_at"].(string), ".") {
		t.Fatalf("the newest migration at 2.1: %v", m)
	}
	for _, k := range []string{"migration_type", "uuid", "user_id", "project_id"} {
		if _, ok := m[k]; ok {
			t.Fatalf("%s at 2.1: %v", k, m)
		}
	}
	// Loose before 2.59: an unknown parameter is ignored, a filter works.
	if l := e.must(t, 200, "2.1", admin, "GET", "/os-migrations?instance_uuid="+ids[0]+"&whatever=1", nil)["migrations"].([]any); len(l) != 1 {
		t.Fatalf("filtered at 2.1: %v", l)
	}
	if l := e.must(t, 200, "2.1", admin, "GET", "/os-migrations?hidden=1", nil)["migrations"].([]any); len(l) != 0 {
		t.Fatalf("hidden ones: %v", l)
	}
	m = e.must(t, 200, "2.80", admin, "GET", "/os-migrations?limit=2", nil)["migrations"].([]any)[1].(map[string]any)
	if m["migration_type"] != "migration" || m["uuid"] == nil || m["user_id"] == nil || m["project_id"] != "admin" {
		t.Fatalf("a migration at 2.80: %v", m)
	}
	page := e.must(t, 200, "2.59", admin, "GET", "/os-migrations?limit=2", nil)
	links, _ := page["migrations_links"].([]any)
	if len(page["migrations"].([]any)) != 2 || len(links) != 1 || !strings.Contains(links[0].(map[string]any)["href"].(string), "marker="+m["uuid"].(string)) {
		t.Fatalf("a page: %v", page)
	}
	if l := e.must(t, 200, "2.59", admin, "GET", "/os-migrations?marker="+m["uuid"].(string), nil)["migrations"].([]any); len(l) != 1 ||
		l[0].(map[string]any)["instance_uuid"] != ids[0] {
		t.Fatalf("after the marker: %v", l)
	}
	wantError(t, e.call(t, "2.59", admin, "GET", "/os-migrations?whatever=1", nil), 400, "badRequest", "Additional properties are not allowed")
	wantError(t, e.call(t, "2.59", admin, "GET", "/os-migrations?user_id=x", nil), 400, "badRequest", "'user_id' was unexpected")
	wantError(t, e.call(t, "2.59", admin, "GET", "/os-migrations?marker=nope", nil), 400, "badRequest", "Marker nope could not be found.")
	wantError(t, e.call(t, "2.66", admin, "GET", "/os-migrations?changes-since=2030-01-01&changes-before=2020-01-01", nil), 400, "badRequest",
		"The value of changes-since must be less than or equal to changes-before.")
	if l := e.must(t, 200, "2.80", admin, "GET", "/os-migrations?user_id=nobody", nil)["migrations"].([]any); len(l) != 0 {
		t.Fatalf("another user's: %v", l)
	}
}

// What a controller killed during a move leaves in its staging
// directory goes at the next start: half-received disks and the disks
// of moves that ended; the disk of a move under way stays.
func TestSweepStaging(t *testing.T) {
	e := newServerAPI(t)
	i := e.activeServer(t)
	e.must(t, 202, "2.1", admin, "POST", "/servers/"+i.UUID+"/action", map[string]any{"migrate": nil})
	ms, err := e.store.Migrations(context.Background(), compute.MigrationFilter{InstanceID: i.UUID})
	if err != nil || len(ms) != 1 {
		t.Fatalf("migrations: %v %v", ms, err)
	}
	dir := t.TempDir()
	files := map[string]bool{ // name → kept
		ms[0].UUID + ".qcow2":              true,
		"." + ms[0].UUID + ".qcow2.123456": false,
		uuid.NewString() + ".qcow2":        false,
		"README":                           true,
	}
	for name := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	api := &nova.API{Store: e.store, StagingDir: dir}
	n, err := api.SweepStaging(context.Background())
	if err != nil || n != 2 {
		t.Fatalf("swept %d: %v", n, err)
	}
	for name, kept := range files {
		if _, err := os.Stat(filepath.Join(dir, name)); (err == nil) != kept {
			t.Errorf("%s: kept %v, want %v", name, err == nil, kept)
		}
	}
}
