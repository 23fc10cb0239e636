package storage_test

import (
	"context"
	"testing"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
	"github.com/gostack/gostack/storage"
)

// otherLVM is a second pool of backend lvm, on another host: where a
// gold volume may migrate.
const otherLVM = "h3@lvm#other"

func newMigrateFixture(t *testing.T, s *storage.Store) retypeFixture {
	t.Helper()
	f := newRetypeFixture(t, s)
	addPool(t, s, otherLVM, "", storage.BackendReport{VolumeBackendName: "lvm", TotalCapacityGB: storage.GB(1000), FreeCapacityGB: storage.GB(1000)})
	return f
}

// Refused migrations answer Cinder's errors in Cinder's order and
// change nothing.
func TestMigrateRefused(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		f := newMigrateFixture(t, s)
		addPool(t, s, "h4@lvm#off", "", storage.BackendReport{VolumeBackendName: "lvm", TotalCapacityGB: storage.GB(1000), FreeCapacityGB: storage.GB(1000)})
		if _, err := s.SetBackendDisabled(ctx, "h4@lvm#off", true, "maintenance"); err != nil {
			t.Fatal(err)
		}
		inUse := available(t, s, storage.VolumeCreate{Size: 1, VolumeType: "gold"})
		if _, err := s.AttachVolume(ctx, alice, inUse.ID, storage.VolumeAttach{InstanceUUID: "11111111-2222-3333-4444-555555555555",
			Mountpoint: "/dev/vdb"}); err != nil {
			t.Fatal(err)
		}
		creating := mustCreate(t, s, alice, storage.VolumeCreate{Size: 1, VolumeType: "gold"})
		withSnap := available(t, s, storage.VolumeCreate{Size: 1, VolumeType: "gold"})
		if _, err := s.CreateSnapshot(ctx, alice, storage.SnapshotCreate{VolumeID: withSnap.ID, UserID: "u"}); err != nil {
			t.Fatal(err)
		}
		migrating := available(t, s, storage.VolumeCreate{Size: 1, VolumeType: "gold"})
		if v, err := s.MigrateVolume(ctx, admin, migrating.ID, storage.VolumeMigrateRequest{Host: otherLVM}); err != nil || v.Retype == nil {
			t.Fatalf("a first migration: %+v (%v)", v.Retype, err)
		}
		invalid := func(id string) refusal {
			return refusal{fault.BadRequest, "Invalid volume: Volume " + id + " status must be available or in-use, must not be migrating, " +
				"have snapshots, be replicated, be part of a group and destination host/cluster must be different than the current one", false}
		}
		for _, c := range []struct {
			name string
			who  storage.Viewer
			id   string
			req  storage.VolumeMigrateRequest
			want refusal
		}{
			{"another project's volume", bob, f.vol.ID, storage.VolumeMigrateRequest{Host: otherLVM},
				refusal{fault.NotFound, "Volume " + f.vol.ID + " could not be found.", false}},
			{"unknown host", admin, f.vol.ID, storage.VolumeMigrateRequest{Host: "nowhere@lvm#pool"},
				refusal{fault.BadRequest, "Invalid host: No available service named 'nowhere@lvm#pool'", false}},
			{"disabled service", admin, f.vol.ID, storage.VolumeMigrateRequest{Host: "h4@lvm#off"},
				refusal{fault.BadRequest, "Invalid host: No available service named 'h4@lvm#off'", false}},
			{"a cluster", admin, f.vol.ID, storage.VolumeMigrateRequest{Cluster: "c1@lvm"},
				refusal{fault.BadRequest, "Invalid host: No available service named 'c1@lvm'", false}},
			{"same host", admin, f.vol.ID, storage.VolumeMigrateRequest{Host: f.vol.Host}, invalid(f.vol.ID)},
			{"snapshots", admin, withSnap.ID, storage.VolumeMigrateRequest{Host: otherLVM}, invalid(withSnap.ID)},
			{"creating", admin, creating.ID, storage.VolumeMigrateRequest{Host: otherLVM}, invalid(creating.ID)},
			{"already migrating", admin, migrating.ID, storage.VolumeMigrateRequest{Host: defaultPool}, invalid(migrating.ID)},
			{"in-use", admin, inUse.ID, storage.VolumeMigrateRequest{Host: otherLVM},
				refusal{fault.BadRequest, "Invalid volume: Migration of in-use volume " + inUse.ID + " needs Nova's swap_volume: not supported. Detach the volume first.", false}},
		} {
			t.Run(c.name, func(t *testing.T) {
				before := snapshot(t, db, feed)
				_, err := s.MigrateVolume(ctx, c.who, c.id, c.req)
				c.want.check(t, err)
				before.same(t, db, feed)
			})
		}

		// What would change a migrating volume's data or place is
		// refused, the volume available all along.
		other := available(t, s, storage.VolumeCreate{Size: 1, VolumeType: "gold"})
		bk := backedUp(t, s, alice, storage.BackupCreate{VolumeID: other.ID})
		before := snapshot(t, db, feed)
		for name, err := range map[string]error{
			"attach": func() error {
				_, err := s.AttachVolume(ctx, alice, migrating.ID, storage.VolumeAttach{InstanceUUID: "11111111-2222-3333-4444-555555555556", Mountpoint: "/dev/vdc"})
				return err
			}(),
			"reserve": func() error { _, err := s.ReserveVolume(ctx, alice, migrating.ID); return err }(),
			"attachment": func() error {
				_, err := s.CreateAttachment(ctx, alice, storage.AttachmentCreate{VolumeID: migrating.ID})
				return err
			}(),
			"extend": func() error { _, err := s.ExtendVolume(ctx, alice, migrating.ID, 3); return err }(),
			"upload": func() error { _, err := s.BeginUpload(ctx, alice, migrating.ID, "img", "raw", false); return err }(),
			"clone": func() error {
				_, err := s.CreateVolume(ctx, alice, storage.VolumeCreate{Size: 1, VolumeType: "gold", SourceVolID: migrating.ID})
				return err
			}(),
			"backup": func() error {
				_, err := s.CreateBackup(ctx, alice, storage.BackupCreate{VolumeID: migrating.ID})
				return err
			}(),
			"restore": func() error { _, _, err := s.RestoreBackup(ctx, alice, bk.ID, migrating.ID); return err }(),
		} {
			t.Run(name, func(t *testing.T) {
				refusal{fault.BadRequest, "Invalid volume: Volume " + migrating.ID + " is migrating: wait until its migration_status is success or error.", false}.check(t, err)
			})
		}
		_, err := s.CreateSnapshot(ctx, alice, storage.SnapshotCreate{VolumeID: migrating.ID, UserID: "u"})
		refusal{fault.BadRequest, "Invalid volume: Snapshot cannot be created while volume is migrating.", false}.check(t, err)
		_, err = s.DeleteVolume(ctx, alice, migrating.ID, storage.DeleteOptions{})
		if fault.KindOf(err) != fault.BadRequest {
			t.Fatalf("delete while migrating: %v", err)
		}
		before.same(t, db, feed)
	})
}

// An admin's migration: the destination makes its copy (starting, then
// migrating), the source writes the data, the volume moves (success)
// keeping its type, status and quotas, and the old copy goes; with
// lock_volume the volume is in maintenance until the end; a failure
// sends it back (error); a destination the scheduler's filters refuse
// fails it after the 202, as Cinder's scheduler does.
func TestMigrateVolume(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		f := newMigrateFixture(t, s)
		gold := typeID(t, s, "gold")
		usage, _ := s.QuotaUsage(ctx, alice.Project)
		v, err := s.MigrateVolume(ctx, admin, f.vol.ID, storage.VolumeMigrateRequest{Host: otherLVM, ForceHostCopy: true})
		if err != nil || v.Status != storage.VolumeAvailable || v.MigrationStatus != storage.MigrationStarting || v.Retype == nil ||
			v.Retype.Phase != storage.RetypeCreate || !v.Retype.Migrate || v.Retype.DestHost != otherLVM || v.Retype.Claim == "" ||
			v.VolumeTypeID != gold || v.Host != defaultPool {
			t.Fatalf("migrate: %s %q %+v (%v)", v.Status, v.MigrationStatus, v.Retype, err)
		}
		if u, _ := s.QuotaUsage(ctx, alice.Project); u["volumes_gold"] != usage["volumes_gold"] || u["gigabytes_gold"] != usage["gigabytes_gold"] {
			t.Fatalf("gold's usage while migrating: %v, was %v", u, usage)
		}
		if b, _ := s.Backend(ctx, otherLVM); b.AllocatedCapacityGB != f.vol.Size {
			t.Fatalf("the destination's allocated capacity: %d GiB", b.AllocatedCapacityGB)
		}
		destLoc := "192.0.2.3:3260,1 iqn.2010-10.org.openstack:volume-" + f.vol.ID + " 1"
		v, err = s.ReportVolume(ctx, otherLVM, f.vol.ID, storage.VolumeReport{Status: storage.VolumeRetyping, Retype: storage.RetypeCreate,
			ProviderLocation: destLoc, ProviderAuth: "CHAP u3 p3"})
		if err != nil || v.Retype.Phase != storage.RetypeCopy || v.MigrationStatus != storage.MigrationMigrating || v.Status != storage.VolumeAvailable {
			t.Fatalf("made at the destination: %s %q %+v (%v)", v.Status, v.MigrationStatus, v.Retype, err)
		}
		v, err = s.ReportVolume(ctx, defaultPool, f.vol.ID, storage.VolumeReport{Status: storage.VolumeRetyping, Retype: storage.RetypeCopy})
		if err != nil || v.Status != storage.VolumeAvailable || v.Host != otherLVM || v.ProviderLocation != destLoc || v.VolumeTypeID != gold ||
			v.MigrationStatus != storage.MigrationSuccess || v.Retype == nil || v.Retype.Phase != storage.RetypeCleanup {
			t.Fatalf("copied: %s on %s %q %+v (%v)", v.Status, v.Host, v.MigrationStatus, v.Retype, err)
		}
		if v, err = s.ReportVolume(ctx, defaultPool, f.vol.ID, storage.VolumeReport{Status: storage.VolumeRetyping, Retype: storage.RetypeCleanup}); err != nil || v.Retype != nil {
			t.Fatalf("cleaned up: %+v (%v)", v.Retype, err)
		}
		if u, _ := s.QuotaUsage(ctx, alice.Project); u["volumes_gold"] != usage["volumes_gold"] || u["gigabytes_gold"] != usage["gigabytes_gold"] {
			t.Fatalf("gold's usage after the migration: %v, was %v", u, usage)
		}

		// Locked, to a backend (its pool other than the volume's): in
		// maintenance; a failed create sends it back, available.
		v, err = s.MigrateVolume(ctx, admin, f.vol.ID, storage.VolumeMigrateRequest{Host: "host@lvm", LockVolume: true})
		if err != nil || v.Status != storage.VolumeMaintenance || v.Retype == nil || v.Retype.DestHost != defaultPool || !v.Retype.Lock {
			t.Fatalf("locked: %s %+v (%v)", v.Status, v.Retype, err)
		}
		if _, err := s.CreateSnapshot(ctx, alice, storage.SnapshotCreate{VolumeID: f.vol.ID, UserID: "u"}); fault.Message(err) !=
			"Invalid volume: The snapshot cannot be created when the volume is in maintenance mode." {
			t.Fatalf("a snapshot in maintenance: %v", err)
		}
		v, err = s.ReportVolume(ctx, defaultPool, f.vol.ID, storage.VolumeReport{Status: storage.VolumeRetyping, Retype: storage.RetypeCreate, Error: "no space"})
		if err != nil || v.Status != storage.VolumeAvailable || v.Host != otherLVM || v.MigrationStatus != storage.MigrationError ||
			v.Retype == nil || v.Retype.Phase != storage.RetypeAbort || v.Message != "no space" {
			t.Fatalf("failed create: %s on %s %q %+v %q (%v)", v.Status, v.Host, v.MigrationStatus, v.Retype, v.Message, err)
		}
		if v, err = s.ReportVolume(ctx, defaultPool, f.vol.ID, storage.VolumeReport{Status: storage.VolumeRetyping, Retype: storage.RetypeAbort}); err != nil || v.Retype != nil {
			t.Fatalf("aborted: %+v (%v)", v.Retype, err)
		}

		// Locked and copied: available again at the end.
		if v, err = s.MigrateVolume(ctx, admin, f.vol.ID, storage.VolumeMigrateRequest{Host: defaultPool, LockVolume: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ReportVolume(ctx, defaultPool, f.vol.ID, storage.VolumeReport{Status: storage.VolumeRetyping, Retype: storage.RetypeCreate,
			ProviderLocation: "192.0.2.1:3260,1 iqn.2010-10.org.openstack:volume-" + f.vol.ID + " 1", ProviderAuth: "CHAP u p"}); err != nil {
			t.Fatal(err)
		}
		v, err = s.ReportVolume(ctx, otherLVM, f.vol.ID, storage.VolumeReport{Status: storage.VolumeRetyping, Retype: storage.RetypeCopy})
		if err != nil || v.Status != storage.VolumeAvailable || v.Host != defaultPool || v.MigrationStatus != storage.MigrationSuccess {
			t.Fatalf("locked, copied: %s on %s %q (%v)", v.Status, v.Host, v.MigrationStatus, err)
		}
		if v, err = s.ReportVolume(ctx, otherLVM, f.vol.ID, storage.VolumeReport{Status: storage.VolumeRetyping, Retype: storage.RetypeCleanup}); err != nil || v.Retype != nil {
			t.Fatalf("cleaned up: %+v (%v)", v.Retype, err)
		}

		// A destination the type does not go to: 202 in Cinder, then the
		// scheduler fails it: migration_status error, nothing else.
		for _, host := range []string{fastPool, "h2@fast"} {
			v, err = s.MigrateVolume(ctx, admin, f.vol.ID, storage.VolumeMigrateRequest{Host: host})
			if err != nil || v.Status != storage.VolumeAvailable || v.Retype != nil || v.Host != defaultPool || v.MigrationStatus != storage.MigrationError ||
				v.Message != "Cannot place volume "+f.vol.ID+" on "+host+"." {
				t.Fatalf("to %s: %s on %s %q %+v %q (%v)", host, v.Status, v.Host, v.MigrationStatus, v.Retype, v.Message, err)
			}
			if b, _ := s.Backend(ctx, fastPool); b.AllocatedCapacityGB != 0 {
				t.Fatalf("the refused destination's allocated capacity: %d GiB", b.AllocatedCapacityGB)
			}
		}

		// An admin's reset abandons a migration: its destination's copy
		// is removed by its agent.
		if _, err = s.MigrateVolume(ctx, admin, f.vol.ID, storage.VolumeMigrateRequest{Host: otherLVM, LockVolume: true}); err != nil {
			t.Fatal(err)
		}
		v, err = s.ResetStatus(ctx, admin, f.vol.ID, storage.StatusReset{Status: storage.VolumeAvailable})
		if err != nil || v.Status != storage.VolumeAvailable || v.Retype == nil || v.Retype.Phase != storage.RetypeAbort || v.MigrationStatus != storage.MigrationError {
			t.Fatalf("reset while migrating: %s %+v %q (%v)", v.Status, v.Retype, v.MigrationStatus, err)
		}
		// A reset to retyping too: a migration never holds it, so
		// nothing would give the volume its status back.
		if _, err := s.ReportVolume(ctx, otherLVM, f.vol.ID, storage.VolumeReport{Status: storage.VolumeRetyping, Retype: storage.RetypeAbort}); err != nil {
			t.Fatal(err)
		}
		if _, err = s.MigrateVolume(ctx, admin, f.vol.ID, storage.VolumeMigrateRequest{Host: otherLVM, LockVolume: true}); err != nil {
			t.Fatal(err)
		}
		v, err = s.ResetStatus(ctx, admin, f.vol.ID, storage.StatusReset{Status: storage.VolumeRetyping})
		if err != nil || v.Retype == nil || v.Retype.Phase != storage.RetypeAbort || v.MigrationStatus != storage.MigrationError {
			t.Fatalf("reset to retyping while migrating: %s %+v %q (%v)", v.Status, v.Retype, v.MigrationStatus, err)
		}
	})
}

// A volume on an RBD pool migrates to another RBD pool only on the
// same Ceph cluster (the pools' location_info, as Cinder's RBD driver
// reports it, names one fsid) and another Ceph pool: the source's agent
// then copies by librbd. To another cluster, to a pool reporting no
// location_info, or to a backend on the same Ceph pool: refused at
// once, nothing claimed.
func TestMigrateBetweenRBDPools(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		mustType(t, s, storage.VolumeTypeCreate{Name: "here", ExtraSpecs: map[string]string{"volume_backend_name": "here"}})
		for _, p := range []struct{ host, backend, info string }{
			{"h1@here#volumes", "here", storage.RBDLocationInfo("ceph", "/etc/ceph/ceph.conf", "fsid-1", "cinder", "volumes")},
			{"h2@ceph#two", "ceph", storage.RBDLocationInfo("ceph", "/etc/ceph/ceph.conf", "fsid-1", "cinder", "two")},
			{"h3@ceph#same", "ceph", storage.RBDLocationInfo("ceph", "/etc/ceph/ceph.conf", "fsid-1", "cinder", "volumes")},
			{"h4@ceph#far", "ceph", storage.RBDLocationInfo("ceph", "/etc/ceph/ceph.conf", "fsid-2", "cinder", "two")},
			{"h5@ceph#none", "ceph", ""},
		} {
			r := storage.BackendReport{VolumeBackendName: p.backend, StorageProtocol: "ceph", TotalCapacityGB: storage.GB(1000), FreeCapacityGB: storage.GB(1000)}
			if p.info != "" {
				r.Capabilities = map[string]any{storage.CapLocationInfo: p.info}
			}
			addPool(t, s, p.host, "", r)
		}
		v := mustCreate(t, s, alice, storage.VolumeCreate{Size: 1, VolumeType: "here"})
		v, err := s.ReportVolume(ctx, v.Host, v.ID, storage.VolumeReport{Status: storage.VolumeCreating,
			ProviderLocation: "rbd name=volumes/volume-" + v.ID + " cluster=ceph secret_uuid=s mons=10.0.0.1:6789"})
		if err != nil || v.Host != "h1@here#volumes" {
			t.Fatalf("created on %s (%v)", v.Host, err)
		}
		mustType(t, s, storage.VolumeTypeCreate{Name: "any"})
		if _, err := s.RetypeVolume(ctx, alice, v.ID, storage.VolumeRetypeRequest{NewType: "any"}); err != nil {
			t.Fatal(err)
		}
		if v, err = s.ReportVolume(ctx, v.Host, v.ID, storage.VolumeReport{Status: storage.VolumeRetyping, Retype: storage.RetypeInPlace}); err != nil {
			t.Fatal(err)
		}
		for _, host := range []string{"h3@ceph#same", "h4@ceph#far", "h5@ceph#none"} {
			before := snapshot(t, db, feed)
			_, err = s.MigrateVolume(ctx, admin, v.ID, storage.VolumeMigrateRequest{Host: host})
			refusal{fault.BadRequest, "Invalid volume: Migration of volume " + v.ID + " to " + host + " is not supported: a migration between two RBD pools", true}.check(t, err)
			before.same(t, db, feed)
		}
		// A backend (its pools): the one on the same cluster and another
		// Ceph pool is chosen.
		got, err := s.MigrateVolume(ctx, admin, v.ID, storage.VolumeMigrateRequest{Host: "h2@ceph"})
		if err != nil || got.Retype == nil || got.Retype.DestHost != "h2@ceph#two" || got.Retype.Copier(got.ProviderLocation) != "source" {
			t.Fatalf("to another pool of the cluster: %+v %q (%v)", got.Retype, got.Message, err)
		}
	})
}

// A retype that migrates an RBD volume takes only RBD pools of the same
// cluster and another Ceph pool.
func TestRetypeBetweenRBDPoolsOfOneCluster(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		mustType(t, s, storage.VolumeTypeCreate{Name: "one", ExtraSpecs: map[string]string{"volume_backend_name": "one"}})
		mustType(t, s, storage.VolumeTypeCreate{Name: "two", ExtraSpecs: map[string]string{"volume_backend_name": "two"}})
		for _, p := range []struct{ host, backend, pool string }{{"h1@one#a", "one", "a"}, {"h2@two#b", "two", "b"}} {
			addPool(t, s, p.host, "", storage.BackendReport{VolumeBackendName: p.backend, StorageProtocol: "ceph",
				TotalCapacityGB: storage.GB(1000), FreeCapacityGB: storage.GB(1000),
				Capabilities: map[string]any{storage.CapLocationInfo: storage.RBDLocationInfo("ceph", "", "fsid-1", "cinder", p.pool)}})
		}
		v := mustCreate(t, s, alice, storage.VolumeCreate{Size: 1, VolumeType: "one"})
		if _, err := s.ReportVolume(ctx, v.Host, v.ID, storage.VolumeReport{Status: storage.VolumeCreating,
			ProviderLocation: "rbd name=a/volume-" + v.ID + " cluster=ceph secret_uuid=s mons=10.0.0.1:6789"}); err != nil {
			t.Fatal(err)
		}
		got, err := s.RetypeVolume(ctx, alice, v.ID, storage.VolumeRetypeRequest{NewType: "two", MigrationPolicy: storage.MigrationOnDemand})
		if err != nil || got.Retype == nil || got.Retype.Phase != storage.RetypeCreate || got.Retype.DestHost != "h2@two#b" {
			t.Fatalf("to an RBD pool of the same cluster: %+v %q (%v)", got.Retype, got.Message, err)
		}
	})
}
