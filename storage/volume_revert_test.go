package storage_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
	"github.com/gostack/gostack/storage"
)

// A revert to the volume's latest snapshot: refused, changing nothing,
// without snapshots, for another snapshot or none, another project's
// volume, when the caller's check refuses, for a volume or a snapshot
// that is not available, and once the volume grew; taken, the volume
// is reverting and the snapshot restoring in its agent's state, and the
// agent's report makes them available again, or the volume error.
func TestRevertVolume(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		vol := exported(t, s, alice, storage.VolumeCreate{Size: 1})
		refused := func(id, snap string, v storage.Viewer, allow func(storage.Volume) error, kind fault.Kind, msg string) {
			t.Helper()
			before := snapRows(t, db, feed)
			_, err := s.RevertVolume(ctx, v, id, snap, allow)
			if fault.KindOf(err) != kind || !strings.Contains(fault.Message(err), msg) {
				t.Fatalf("revert of %s to %q: %v, want %v %q", id, snap, err, kind, msg)
			}
			before.same(t, db, feed)
		}
		refused(vol.ID, "x", alice, nil, fault.BadRequest, "Volume "+vol.ID+" doesn't have any snapshots.")
		first := made(t, s, alice, storage.SnapshotCreate{VolumeID: vol.ID})
		latest := made(t, s, alice, storage.SnapshotCreate{VolumeID: vol.ID})
		refused(vol.ID, latest.ID, bob, nil, fault.NotFound, "Volume "+vol.ID+" could not be found.")
		refused(vol.ID, first.ID, alice, nil, fault.BadRequest, "Specified snapshot "+first.ID+" is None or not the latest one of volume "+vol.ID+".")
		refused(vol.ID, "", alice, nil, fault.BadRequest, "Specified snapshot None is None or not the latest one")
		refused(vol.ID, latest.ID, alice, func(storage.Volume) error { return fault.New(fault.Forbidden, "no") }, fault.Forbidden, "no")

		var asked storage.Volume
		got, err := s.RevertVolume(ctx, alice, vol.ID, latest.ID, func(v storage.Volume) error { asked = v; return nil })
		if err != nil || got.Status != storage.VolumeReverting || asked.ID != vol.ID {
			t.Fatalf("revert: %+v %v (asked about %q)", got, err, asked.ID)
		}
		if n, err := s.Snapshot(ctx, alice, latest.ID); err != nil || n.Status != storage.SnapshotRestoring {
			t.Fatalf("the snapshot: %+v %v", n, err)
		}
		st, err := s.BackendState(ctx, defaultPool)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range st.Volumes {
			if v.ID == vol.ID && v.Status != storage.VolumeReverting {
				t.Fatalf("the agent's volume: %+v", v)
			}
		}
		for _, n := range st.Snapshots {
			if want := map[string]storage.SnapshotStatus{first.ID: storage.SnapshotAvailable, latest.ID: storage.SnapshotRestoring}[n.ID]; n.Status != want {
				t.Fatalf("the agent's snapshot %s: %s, want %s", n.ID, n.Status, want)
			}
		}
		refused(vol.ID, latest.ID, alice, nil, fault.Conflict,
			"Invalid volume: Can't revert volume "+vol.ID+" to its latest snapshot "+latest.ID+". Volume's status must be 'available'.")
		if _, err := s.ReportVolume(ctx, "elsewhere@lvm#pool", vol.ID, storage.VolumeReport{Status: storage.VolumeReverting}); fault.KindOf(err) != fault.NotFound {
			t.Fatalf("another pool's report: %v", err)
		}
		if got, err := s.ReportVolume(ctx, defaultPool, vol.ID, storage.VolumeReport{Status: storage.VolumeReverting}); err != nil ||
			got.Status != storage.VolumeAvailable || got.Message != "" {
			t.Fatalf("reverted: %+v %v", got, err)
		}
		if n, err := s.Snapshot(ctx, alice, latest.ID); err != nil || n.Status != storage.SnapshotAvailable {
			t.Fatalf("the snapshot after: %+v %v", n, err)
		}
		if _, err := s.ReportVolume(ctx, defaultPool, vol.ID, storage.VolumeReport{Status: storage.VolumeReverting}); fault.KindOf(err) != fault.Conflict {
			t.Fatalf("a second report: %v", err)
		}

		// A failed revert: the volume in error with the agent's reason,
		// the snapshot available.
		if _, err := s.RevertVolume(ctx, alice, vol.ID, latest.ID, nil); err != nil {
			t.Fatal(err)
		}
		if got, err := s.ReportVolume(ctx, defaultPool, vol.ID, storage.VolumeReport{Status: storage.VolumeReverting, Error: "disk on fire"}); err != nil ||
			got.Status != storage.VolumeError || got.Message != "disk on fire" {
			t.Fatalf("failed: %+v %v", got, err)
		}
		if n, err := s.Snapshot(ctx, alice, latest.ID); err != nil || n.Status != storage.SnapshotAvailable {
			t.Fatalf("the snapshot after a failure: %+v %v", n, err)
		}
		refused(vol.ID, latest.ID, alice, nil, fault.Conflict, "Volume's status must be 'available'.")
		if _, err := s.ResetStatus(ctx, admin, vol.ID, storage.StatusReset{Status: storage.VolumeAvailable}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ResetSnapshotStatus(ctx, admin, latest.ID, storage.SnapshotError); err != nil {
			t.Fatal(err)
		}
		refused(vol.ID, latest.ID, alice, nil, fault.Conflict,
			"Invalid snapshot: Can't revert volume "+vol.ID+" to its latest snapshot "+latest.ID+". Snapshot's status must be 'available'.")
		if _, err := s.ResetSnapshotStatus(ctx, admin, latest.ID, storage.SnapshotAvailable); err != nil {
			t.Fatal(err)
		}
		// A volume grown since its latest snapshot.
		if _, err := s.ExtendVolume(ctx, alice, vol.ID, 2); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ReportVolume(ctx, defaultPool, vol.ID, storage.VolumeReport{Status: storage.VolumeExtending, Size: 2}); err != nil {
			t.Fatal(err)
		}
		refused(vol.ID, latest.ID, alice, nil, fault.BadRequest, "The volume size must be equal to the snapshot size.")
	})
}

// A volume transferred without its snapshots: its new project sees none
// of them, so a revert is refused as for a volume without snapshots and
// the old project's snapshot is left as it was (Cinder's latest
// snapshot is the caller's project's).
func TestRevertSeesOwnSnapshotsOnly(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		vol := exported(t, s, alice, storage.VolumeCreate{Size: 1})
		n := made(t, s, alice, storage.SnapshotCreate{VolumeID: vol.ID})
		tr, err := s.CreateTransfer(ctx, alice, storage.TransferCreate{VolumeID: vol.ID, NoSnapshots: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.AcceptTransfer(ctx, tr.ID, storage.TransferAccept{Project: bob.Project, User: "bob", AuthKey: tr.AuthKey}); err != nil {
			t.Fatal(err)
		}
		before := snapRows(t, db, feed)
		for _, id := range []string{n.ID, ""} {
			if _, err := s.RevertVolume(ctx, bob, vol.ID, id, nil); fault.KindOf(err) != fault.BadRequest ||
				fault.Message(err) != "Volume "+vol.ID+" doesn't have any snapshots." {
				t.Fatalf("bob's revert to %q: %v", id, err)
			}
		}
		before.same(t, db, feed)
	})
}

// An admin's reset of a reverting volume abandons the revert: its
// snapshot is available again, and the agent's late report is refused.
func TestResetAbandonsRevert(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		vol := exported(t, s, alice, storage.VolumeCreate{Size: 1})
		n := made(t, s, alice, storage.SnapshotCreate{VolumeID: vol.ID})
		if _, err := s.RevertVolume(ctx, alice, vol.ID, n.ID, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ResetStatus(ctx, admin, vol.ID, storage.StatusReset{Status: storage.VolumeError}); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Snapshot(ctx, alice, n.ID); err != nil || got.Status != storage.SnapshotAvailable {
			t.Fatalf("the snapshot after the reset: %+v %v", got, err)
		}
		if _, err := s.ReportVolume(ctx, defaultPool, vol.ID, storage.VolumeReport{Status: storage.VolumeReverting}); fault.KindOf(err) != fault.Conflict {
			t.Fatalf("the agent's late report: %v", err)
		}
	})
}
