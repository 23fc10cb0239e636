package storage_test

import (
	"context"
	"testing"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
	"github.com/gostack/gostack/storage"
)

// A delete the backend refused because the volume or the snapshot is in
// use (a client has the volume open; volumes are cloned from the
// snapshot) takes it back to available with the backend's words, as
// Cinder's volume manager does on VolumeIsBusy and SnapshotIsBusy;
// "busy" belongs to a failed delete only.
func TestReportBusy(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		vol := mustCreate(t, s, alice, storage.VolumeCreate{Size: 1})
		if _, err := s.ReportVolume(ctx, defaultPool, vol.ID, storage.VolumeReport{Status: storage.VolumeCreating, Busy: true, Error: "x"}); fault.KindOf(err) != fault.BadRequest {
			t.Errorf("busy on a create: %v", err)
		}
		if _, err := s.ReportVolume(ctx, defaultPool, vol.ID, storage.VolumeReport{Status: storage.VolumeCreating,
			ProviderLocation: "rbd name=volumes/volume-" + vol.ID + " cluster=ceph secret_uuid=s mons=10.0.0.1:6789"}); err != nil {
			t.Fatal(err)
		}
		n := made(t, s, alice, storage.SnapshotCreate{VolumeID: vol.ID, UserID: "u"})
		if _, err := s.DeleteSnapshot(ctx, alice, n.ID, false); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ReportSnapshot(ctx, defaultPool, n.ID, storage.SnapshotReport{Status: storage.SnapshotDeleting, Busy: true}); fault.KindOf(err) != fault.BadRequest {
			t.Errorf("busy without a reason: %v", err)
		}
		got, err := s.ReportSnapshot(ctx, defaultPool, n.ID, storage.SnapshotReport{Status: storage.SnapshotDeleting, Busy: true,
			Error: "volumes are cloned from it"})
		if err != nil || got.Status != storage.SnapshotAvailable || got.Message != "volumes are cloned from it" || got.DeletedAt != nil {
			t.Fatalf("a busy snapshot: %+v %v", got, err)
		}
		if _, err := s.DeleteSnapshot(ctx, alice, n.ID, false); err != nil {
			t.Fatalf("the busy snapshot's delete again: %v", err)
		}
		if _, err := s.ReportSnapshot(ctx, defaultPool, n.ID, storage.SnapshotReport{Status: storage.SnapshotDeleting}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DeleteVolume(ctx, alice, vol.ID, storage.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		v, err := s.ReportVolume(ctx, defaultPool, vol.ID, storage.VolumeReport{Status: storage.VolumeDeleting, Busy: true,
			Error: "a client has it open"})
		if err != nil || v.Status != storage.VolumeAvailable || v.Message != "a client has it open" || v.DeletedAt != nil {
			t.Fatalf("a busy volume: %+v %v", v, err)
		}
		if _, err := s.DeleteVolume(ctx, alice, vol.ID, storage.DeleteOptions{}); err != nil {
			t.Fatalf("the busy volume's delete again: %v", err)
		}
		if v, err := s.ReportVolume(ctx, defaultPool, vol.ID, storage.VolumeReport{Status: storage.VolumeDeleting}); err != nil || v.Status != storage.VolumeDeleted {
			t.Fatalf("deleted: %+v %v", v, err)
		}
	})
}
