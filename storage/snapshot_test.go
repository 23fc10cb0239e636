package storage_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
	"github.com/gostack/gostack/storage"
)

// snapState is state with every snapshot row.
type snapState struct {
	state
	snaps string
}

func snapRows(t *testing.T, db *sqlstore.DB, feed *watch.Log) snapState {
	t.Helper()
	rows, err := db.Query(context.Background(), `SELECT id, status, revision, coalesce(name, '<nil>'), coalesce(deleted_at, 0),
		(SELECT COUNT(*) FROM storage_snapshot_metadata m WHERE m.snapshot_id = s.id) FROM storage_snapshots s ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, status, name string
		var rev, deleted, md int64
		if err := rows.Scan(&id, &status, &rev, &name, &deleted, &md); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(&b, id, status, rev, name, deleted, md)
	}
	return snapState{snapshot(t, db, feed), b.String()}
}

func (st snapState) same(t *testing.T, db *sqlstore.DB, feed *watch.Log) {
	t.Helper()
	if now := snapRows(t, db, feed); now != st {
		t.Fatalf("a refused call changed the state:\nbefore %+v\nafter  %+v", st, now)
	}
}

// made is snapshot c, reported made by its pool's agent.
func made(t *testing.T, s *storage.Store, v storage.Viewer, c storage.SnapshotCreate) storage.Snapshot {
	t.Helper()
	n, err := s.CreateSnapshot(context.Background(), v, c)
	if err != nil {
		t.Fatalf("snapshot %+v: %v", c, err)
	}
	n, err = s.ReportSnapshot(context.Background(), n.Host, n.ID, storage.SnapshotReport{Status: storage.SnapshotCreating})
	if err != nil || n.Status != storage.SnapshotAvailable || n.Progress != "100%" {
		t.Fatalf("snapshot made: %+v %v", n, err)
	}
	return n
}

// A snapshot's life: made on its volume's pool, in the agent's state,
// reported available, a volume made from it (on its pool, at least its
// size, its volume's type), renamed, its metadata changed, deleted and
// reported gone; the feed records each step.
func TestSnapshotLife(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		vol := exported(t, s, alice, storage.VolumeCreate{Size: 2})
		head, _, _ := feed.Head(ctx)
		n, err := s.CreateSnapshot(ctx, alice, storage.SnapshotCreate{VolumeID: vol.ID, UserID: "u1", Name: ptr("daily"),
			Metadata: map[string]string{"k": "v"}})
		if err != nil {
			t.Fatal(err)
		}
		if n.Status != storage.SnapshotCreating || n.Host != defaultPool || n.VolumeSize != 2 || n.Progress != "0%" ||
			n.ProjectID != alice.Project || n.UserID != "u1" || *n.Name != "daily" || n.Metadata["k"] != "v" || n.VolumeTypeID != vol.VolumeTypeID {
			t.Fatalf("created: %+v", n)
		}
		b, err := feed.Since(ctx, watch.Query{Area: storage.FeedArea, Since: head})
		if err != nil || len(b.Changes) != 1 || b.Changes[0].Kind != "snapshot" || b.Changes[0].ID != n.ID {
			t.Fatalf("feed after the create: %+v %v", b, err)
		}
		st, err := s.BackendState(ctx, "host@lvm")
		if err != nil || len(st.Snapshots) != 1 || st.Snapshots[0].ID != n.ID {
			t.Fatalf("the agent's state: %+v %v", st.Snapshots, err)
		}
		// Not available yet: no volume from it.
		_, err = s.CreateVolume(ctx, alice, storage.VolumeCreate{SnapshotID: n.ID})
		refusal{fault.BadRequest, "Invalid snapshot: Originating snapshot status must be one of 'available' values", false}.check(t, err)
		n = made(t, s, alice, storage.SnapshotCreate{VolumeID: vol.ID})
		from := mustCreate(t, s, alice, storage.VolumeCreate{SnapshotID: n.ID})
		if from.Size != 2 || from.SnapshotID != n.ID || from.Host != defaultPool || from.VolumeTypeID != vol.VolumeTypeID {
			t.Fatalf("volume from the snapshot: %+v", from)
		}
		bigger := mustCreate(t, s, alice, storage.VolumeCreate{SnapshotID: n.ID, Size: 5})
		if bigger.Size != 5 {
			t.Fatalf("a larger volume from the snapshot: %+v", bigger)
		}
		// A snapshot being copied into a new volume is not deleted.
		_, err = s.DeleteSnapshot(ctx, alice, n.ID, false)
		refusal{fault.BadRequest, "Invalid snapshot: Snapshot " + n.ID + " is being copied into a new volume.", false}.check(t, err)
		for _, id := range []string{from.ID, bigger.ID} {
			if _, err := s.ReportVolume(ctx, defaultPool, id, storage.VolumeReport{Status: storage.VolumeCreating,
				ProviderLocation: "x", ProviderAuth: "CHAP a b"}); err != nil {
				t.Fatal(err)
			}
		}
		u, err := s.UpdateSnapshot(ctx, alice, n.ID, storage.SnapshotUpdate{Name: ptr("weekly"), ClearDescription: true})
		if err != nil || *u.Name != "weekly" || u.Description != nil {
			t.Fatalf("update: %+v %v", u, err)
		}
		md, err := s.UpdateSnapshotMetadata(ctx, alice, n.ID, map[string]string{"a": "1", "b": "2"}, false)
		if err != nil || len(md) != 2 {
			t.Fatalf("metadata: %v %v", md, err)
		}
		if err := s.DeleteSnapshotMetadata(ctx, alice, n.ID, "a"); err != nil {
			t.Fatal(err)
		}
		err = s.DeleteSnapshotMetadata(ctx, alice, n.ID, "a")
		refusal{fault.NotFound, "Snapshot " + n.ID + " has no metadata with key a.", false}.check(t, err)
		del, err := s.DeleteSnapshot(ctx, alice, n.ID, false)
		if err != nil || del.Status != storage.SnapshotDeleting {
			t.Fatalf("delete: %+v %v", del, err)
		}
		gone, err := s.ReportSnapshot(ctx, "host", n.ID, storage.SnapshotReport{Status: storage.SnapshotDeleting})
		if err != nil || gone.Status != storage.SnapshotDeleted || gone.DeletedAt == nil {
			t.Fatalf("deleted: %+v %v", gone, err)
		}
		_, err = s.Snapshot(ctx, alice, n.ID)
		refusal{fault.NotFound, "Snapshot " + n.ID + " could not be found.", false}.check(t, err)
		// The volumes made from it stay.
		if v, err := s.Volume(ctx, alice, from.ID); err != nil || v.Status != storage.VolumeAvailable {
			t.Fatalf("the volume from the deleted snapshot: %+v %v", v, err)
		}
	})
}

// Cinder's refusals of snapshot calls, each changing nothing.
func TestSnapshotRefusals(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		vol := exported(t, s, alice, storage.VolumeCreate{Size: 1})
		used := exported(t, s, alice, storage.VolumeCreate{Size: 1})
		attach(t, s, alice, used.ID, "11111111-2222-3333-4444-555555555555")
		unplaced := mustCreate(t, s, alice, storage.VolumeCreate{Size: 1, VolumeType: nowhere(t, s)})
		creating := mustCreate(t, s, alice, storage.VolumeCreate{Size: 1})
		broken := exported(t, s, alice, storage.VolumeCreate{Size: 1})
		if _, err := s.ResetStatus(ctx, admin, broken.ID, storage.StatusReset{Status: storage.VolumeError}); err != nil {
			t.Fatal(err)
		}
		maint := exported(t, s, alice, storage.VolumeCreate{Size: 1})
		if _, err := s.ResetStatus(ctx, admin, maint.ID, storage.StatusReset{Status: storage.VolumeMaintenance}); err != nil {
			t.Fatal(err)
		}
		n := made(t, s, alice, storage.SnapshotCreate{VolumeID: vol.ID})
		pending, err := s.CreateSnapshot(ctx, alice, storage.SnapshotCreate{VolumeID: vol.ID})
		if err != nil {
			t.Fatal(err)
		}
		before := snapRows(t, db, feed)
		for _, c := range []struct {
			name string
			call func() error
			want refusal
		}{
			{"another project's volume", func() error {
				_, err := s.CreateSnapshot(ctx, bob, storage.SnapshotCreate{VolumeID: vol.ID})
				return err
			}, refusal{fault.NotFound, "Volume " + vol.ID + " could not be found.", false}},
			{"in-use without force", func() error {
				_, err := s.CreateSnapshot(ctx, alice, storage.SnapshotCreate{VolumeID: used.ID})
				return err
			}, refusal{fault.BadRequest, "Invalid volume: Volume " + used.ID + " status must be available, but current status is: in-use.", false}},
			{"never placed", func() error {
				_, err := s.CreateSnapshot(ctx, alice, storage.SnapshotCreate{VolumeID: unplaced.ID})
				return err
			}, refusal{fault.BadRequest, "Invalid volume: The snapshot cannot be created because volume has not been scheduled to any host.", false}},
			{"creating", func() error {
				_, err := s.CreateSnapshot(ctx, alice, storage.SnapshotCreate{VolumeID: creating.ID, Force: true})
				return err
			}, refusal{fault.BadRequest, "Invalid volume: Volume " + creating.ID + " status must be available, in-use, but current status is: creating.", false}},
			{"error", func() error {
				_, err := s.CreateSnapshot(ctx, alice, storage.SnapshotCreate{VolumeID: broken.ID})
				return err
			}, refusal{fault.BadRequest, "Invalid volume: The snapshot cannot be created when the volume is in error status.", false}},
			{"maintenance", func() error {
				_, err := s.CreateSnapshot(ctx, alice, storage.SnapshotCreate{VolumeID: maint.ID})
				return err
			}, refusal{fault.BadRequest, "Invalid volume: The snapshot cannot be created when the volume is in maintenance mode.", false}},
			{"a NUL in the name", func() error {
				_, err := s.CreateSnapshot(ctx, alice, storage.SnapshotCreate{VolumeID: vol.ID, Name: ptr("a\x00b")})
				return err
			}, refusal{fault.BadRequest, "Invalid input received: name", true}},
			{"an id taken", func() error {
				_, err := s.CreateSnapshot(ctx, alice, storage.SnapshotCreate{ID: n.ID, VolumeID: vol.ID})
				return err
			}, refusal{fault.Conflict, "Snapshot " + n.ID + " already exists.", false}},
			{"another project's snapshot", func() error {
				_, err := s.DeleteSnapshot(ctx, bob, n.ID, false)
				return err
			}, refusal{fault.NotFound, "Snapshot " + n.ID + " could not be found.", false}},
			{"delete while creating", func() error {
				_, err := s.DeleteSnapshot(ctx, alice, pending.ID, false)
				return err
			}, refusal{fault.BadRequest, "Invalid snapshot: Snapshot status must be available or error and must not be part of a group.", false}},
			{"a volume from another project's snapshot", func() error {
				_, err := s.CreateVolume(ctx, bob, storage.VolumeCreate{SnapshotID: n.ID})
				return err
			}, refusal{fault.NotFound, "Snapshot " + n.ID + " could not be found.", false}},
			{"a volume from a snapshot and a volume", func() error {
				_, err := s.CreateVolume(ctx, alice, storage.VolumeCreate{SnapshotID: n.ID, SourceVolID: vol.ID})
				return err
			}, refusal{fault.BadRequest, "Invalid input received: May specify only one of backup, imageRef, snapshot, source volume", false}},
			{"a volume with snapshots", func() error {
				_, err := s.DeleteVolume(ctx, alice, vol.ID, storage.DeleteOptions{})
				return err
			}, refusal{fault.BadRequest, "Invalid volume: Volume status must be available or error or error_restoring or error_extending or error_managing and must not be migrating, attached, belong to a group, have snapshots, awaiting a transfer, or be disassociated from snapshots after volume transfer.", false}},
			{"cascade over a snapshot being made", func() error {
				_, err := s.DeleteVolume(ctx, alice, vol.ID, storage.DeleteOptions{Cascade: true})
				return err
			}, refusal{fault.BadRequest, "Invalid volume: Volume status must be", true}},
			{"a report from another host", func() error {
				_, err := s.ReportSnapshot(ctx, "other@lvm#pool", pending.ID, storage.SnapshotReport{Status: storage.SnapshotCreating})
				return err
			}, refusal{fault.NotFound, "Snapshot " + pending.ID + " could not be found.", false}},
			{"a report of another status", func() error {
				_, err := s.ReportSnapshot(ctx, defaultPool, pending.ID, storage.SnapshotReport{Status: storage.SnapshotDeleting})
				return err
			}, refusal{fault.Conflict, "Conflict updating snapshot " + pending.ID + ". Expected: {'status': 'deleting'}. Actual: {'status': 'creating'}", false}},
			{"a reset to deleted", func() error {
				_, err := s.ResetSnapshotStatus(ctx, admin, n.ID, storage.SnapshotDeleted)
				return err
			}, refusal{fault.BadRequest, "Snapshot status: deleted is invalid.", false}},
		} {
			t.Run(c.name, func(t *testing.T) {
				c.want.check(t, c.call())
				before.same(t, db, feed)
			})
		}
		_, err = s.CreateVolume(ctx, alice, storage.VolumeCreate{SnapshotID: n.ID, Size: 0})
		if err != nil {
			t.Fatal(err)
		}
		small := made(t, s, alice, storage.SnapshotCreate{VolumeID: exported(t, s, alice, storage.VolumeCreate{Size: 3}).ID})
		mustType(t, s, storage.VolumeTypeCreate{Name: "elsewhere", ExtraSpecs: map[string]string{"volume_backend_name": "other"}})
		_, err = s.CreateVolume(ctx, alice, storage.VolumeCreate{SnapshotID: small.ID, VolumeType: "elsewhere"})
		refusal{fault.BadRequest, "Invalid input received: Invalid volume_type provided: ", true}.check(t, err)
		if !strings.HasSuffix(fault.Message(err), "(requested type is not compatible; recommend omitting the type argument).") {
			t.Errorf("a snapshot's incompatible type: %q", fault.Message(err))
		}
		_, err = s.CreateVolume(ctx, alice, storage.VolumeCreate{SnapshotID: small.ID, Size: 2})
		refusal{fault.BadRequest, "Invalid input received: Volume size '2'GB cannot be smaller than the snapshot size 3GB. They must be >= original snapshot size.", false}.check(t, err)
		// In use, with force (or 3.66's allow): made.
		if _, err := s.CreateSnapshot(ctx, alice, storage.SnapshotCreate{VolumeID: used.ID, Force: true}); err != nil {
			t.Errorf("a forced snapshot of an in-use volume: %v", err)
		}
		if _, err := s.CreateSnapshot(ctx, alice, storage.SnapshotCreate{VolumeID: used.ID, AllowInUse: true}); err != nil {
			t.Errorf("an in-use volume's snapshot, allowed: %v", err)
		}
	})
}

// Snapshots count against the snapshots quotas and take their volume's
// size of the gigabytes ones, in total and by type; Cinder's messages
// name the first resource over.
func TestSnapshotQuotas(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		mustType(t, s, storage.VolumeTypeCreate{Name: "gold"})
		vol := exported(t, s, alice, storage.VolumeCreate{Size: 3, VolumeType: "gold"})
		if _, err := s.SetQuotas(ctx, alice.Project, map[string]int64{"snapshots": 2, "gigabytes": 8, "snapshots_gold": -1}); err != nil {
			t.Fatal(err)
		}
		made(t, s, alice, storage.SnapshotCreate{VolumeID: vol.ID})
		use, err := s.QuotaUsage(ctx, alice.Project)
		if err != nil || use["snapshots"] != 1 || use["gigabytes"] != 6 || use["snapshots_gold"] != 1 || use["gigabytes_gold"] != 6 {
			t.Fatalf("usage: %v %v", use, err)
		}
		before := snapRows(t, db, feed)
		_, err = s.CreateSnapshot(ctx, alice, storage.SnapshotCreate{VolumeID: vol.ID})
		refusal{fault.TooLarge, "Requested volume or snapshot exceeds allowed gigabytes quota. Requested 3G, quota is 8G and 6G has been consumed.", false}.check(t, err)
		before.same(t, db, feed)
		if _, err := s.SetQuotas(ctx, alice.Project, map[string]int64{"gigabytes": -1, "snapshots": 1}); err != nil {
			t.Fatal(err)
		}
		before = snapRows(t, db, feed)
		_, err = s.CreateSnapshot(ctx, alice, storage.SnapshotCreate{VolumeID: vol.ID})
		refusal{fault.TooLarge, "Maximum number of snapshots allowed (1) exceeded", false}.check(t, err)
		before.same(t, db, feed)
		if _, err := s.SetQuotas(ctx, alice.Project, map[string]int64{"snapshots": -1, "snapshots_gold": 1}); err != nil {
			t.Fatal(err)
		}
		_, err = s.CreateSnapshot(ctx, alice, storage.SnapshotCreate{VolumeID: vol.ID})
		refusal{fault.TooLarge, "Maximum number of snapshots allowed (1) exceeded", false}.check(t, err)
	})
}

// A cascading delete: the volume's snapshots go to deleting with it (the
// agent removes them first), and the volume's report of its removal is
// refused while any is left.
func TestSnapshotCascade(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		vol := exported(t, s, alice, storage.VolumeCreate{Size: 1})
		a := made(t, s, alice, storage.SnapshotCreate{VolumeID: vol.ID})
		b := made(t, s, alice, storage.SnapshotCreate{VolumeID: vol.ID})
		if _, err := s.ResetSnapshotStatus(ctx, admin, b.ID, storage.SnapshotError); err != nil {
			t.Fatal(err)
		}
		// A snapshot being deleted holds a cascade back (Cinder's
		// undeletable snapshots: only available and error go).
		c := made(t, s, alice, storage.SnapshotCreate{VolumeID: vol.ID})
		if _, err := s.DeleteSnapshot(ctx, alice, c.ID, false); err != nil {
			t.Fatal(err)
		}
		before := snapRows(t, db, feed)
		_, err := s.DeleteVolume(ctx, alice, vol.ID, storage.DeleteOptions{Cascade: true})
		refusal{fault.BadRequest, "Invalid volume: Volume status must be", true}.check(t, err)
		before.same(t, db, feed)
		if _, err := s.ReportSnapshot(ctx, defaultPool, c.ID, storage.SnapshotReport{Status: storage.SnapshotDeleting}); err != nil {
			t.Fatal(err)
		}
		// Bob cannot cascade over alice's volume (he does not see it);
		// alice can.
		if _, err := s.DeleteVolume(ctx, bob, vol.ID, storage.DeleteOptions{Cascade: true}); fault.KindOf(err) != fault.NotFound {
			t.Fatalf("bob's cascade: %v", err)
		}
		v, err := s.DeleteVolume(ctx, alice, vol.ID, storage.DeleteOptions{Cascade: true})
		if err != nil || v.Status != storage.VolumeDeleting {
			t.Fatalf("cascade: %+v %v", v, err)
		}
		for _, id := range []string{a.ID, b.ID} {
			if n, _ := s.Snapshot(ctx, alice, id); n.Status != storage.SnapshotDeleting {
				t.Fatalf("snapshot %s after the cascade: %s", id, n.Status)
			}
		}
		_, err = s.ReportVolume(ctx, defaultPool, vol.ID, storage.VolumeReport{Status: storage.VolumeDeleting})
		refusal{fault.Conflict, "Invalid volume: volume " + vol.ID + " still has 2 snapshots.", false}.check(t, err)
		for _, id := range []string{a.ID, b.ID} {
			if _, err := s.ReportSnapshot(ctx, defaultPool, id, storage.SnapshotReport{Status: storage.SnapshotDeleting}); err != nil {
				t.Fatal(err)
			}
		}
		if v, err := s.ReportVolume(ctx, defaultPool, vol.ID, storage.VolumeReport{Status: storage.VolumeDeleting}); err != nil || v.DeletedAt == nil {
			t.Fatalf("the volume's removal: %+v %v", v, err)
		}
		if use, _ := s.QuotaUsage(ctx, alice.Project); use["snapshots"] != 0 || use["gigabytes"] != 0 {
			t.Fatalf("usage after the cascade: %v", use)
		}
	})
}

// Lists: the viewer's project (all projects for an admin who asks),
// filters, sort and keyset pages.
func TestSnapshotList(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		v1 := exported(t, s, alice, storage.VolumeCreate{Size: 1})
		v2 := exported(t, s, alice, storage.VolumeCreate{Size: 2})
		vb := exported(t, s, bob, storage.VolumeCreate{Size: 1})
		var ids []string
		for i := range 5 {
			v := v1
			if i%2 == 1 {
				v = v2
			}
			n := made(t, s, alice, storage.SnapshotCreate{VolumeID: v.ID, Name: ptr(fmt.Sprintf("snap-%d", i)),
				Metadata: map[string]string{"even": fmt.Sprint(i%2 == 0)}})
			ids = append(ids, n.ID)
		}
		made(t, s, bob, storage.SnapshotCreate{VolumeID: vb.ID, Name: ptr("bob's")})
		list := func(v storage.Viewer, f storage.SnapshotFilter) []string {
			t.Helper()
			ns, _, err := s.Snapshots(ctx, v, f)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, n := range ns {
				out = append(out, *n.Name)
			}
			return out
		}
		if got := list(alice, storage.SnapshotFilter{}); strings.Join(got, ",") != "snap-4,snap-3,snap-2,snap-1,snap-0" {
			t.Errorf("alice's, newest first: %q", got)
		}
		if got := list(alice, storage.SnapshotFilter{AllProjects: true}); len(got) != 5 {
			t.Errorf("alice's all_tenants (not an admin): %q", got)
		}
		if got := list(admin, storage.SnapshotFilter{AllProjects: true}); len(got) != 6 {
			t.Errorf("the admin's all_tenants: %q", got)
		}
		if got := list(alice, storage.SnapshotFilter{VolumeID: v2.ID, SortKeys: []string{"name"}, SortDirs: []string{"asc"}}); strings.Join(got, ",") != "snap-1,snap-3" {
			t.Errorf("volume_id filter: %q", got)
		}
		if got := list(alice, storage.SnapshotFilter{Metadata: map[string]string{"even": "true"}, NameLike: "SNAP"}); len(got) != 3 {
			t.Errorf("metadata and name~ filters: %q", got)
		}
		page, more, err := s.Snapshots(ctx, alice, storage.SnapshotFilter{Limit: 2, Marker: ids[3]})
		if err != nil || !more || len(page) != 2 || page[0].ID != ids[2] || page[1].ID != ids[1] {
			t.Errorf("a page after %s: %+v %v %v", ids[3], page, more, err)
		}
		_, _, err = s.Snapshots(ctx, bob, storage.SnapshotFilter{Marker: ids[0]})
		refusal{fault.NotFound, "Snapshot " + ids[0] + " could not be found.", false}.check(t, err)
		_, _, err = s.Snapshots(ctx, alice, storage.SnapshotFilter{SortKeys: []string{"nope"}})
		if fault.KindOf(err) != fault.BadRequest {
			t.Errorf("an unknown sort key: %v", err)
		}
	})
}

// A volume made from a snapshot and the snapshot's delete, at once: one
// of them is refused, never both taken (the delete would remove what the
// copy reads). The same for a clone and its source's delete.
func TestCopyDeleteRace(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		if _, err := s.SetQuotas(ctx, alice.Project, map[string]int64{"snapshots": -1}); err != nil {
			t.Fatal(err)
		}
		for range 15 {
			vol := exported(t, s, alice, storage.VolumeCreate{Size: 1})
			n := made(t, s, alice, storage.SnapshotCreate{VolumeID: vol.ID})
			var wg sync.WaitGroup
			var createErr, deleteErr error
			wg.Add(2)
			go func() {
				defer wg.Done()
				_, createErr = s.CreateVolume(ctx, alice, storage.VolumeCreate{SnapshotID: n.ID})
			}()
			go func() { defer wg.Done(); _, deleteErr = s.DeleteSnapshot(ctx, alice, n.ID, false) }()
			wg.Wait()
			if createErr == nil && deleteErr == nil {
				t.Fatal("a volume was made from a snapshot whose delete was taken at once")
			}
			src := exported(t, s, alice, storage.VolumeCreate{Size: 1})
			wg.Add(2)
			go func() {
				defer wg.Done()
				_, createErr = s.CreateVolume(ctx, alice, storage.VolumeCreate{SourceVolID: src.ID})
			}()
			go func() { defer wg.Done(); _, deleteErr = s.DeleteVolume(ctx, alice, src.ID, storage.DeleteOptions{}) }()
			wg.Wait()
			if createErr == nil && deleteErr == nil {
				t.Fatal("a clone was made of a volume whose delete was taken at once")
			}
		}
	})
}
