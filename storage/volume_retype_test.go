package storage_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
	"github.com/gostack/gostack/storage"
)

// retypeFixture is a store with an available volume of type gold on the
// default pool (backend lvm), the types it may go to, and a second pool
// (backend fast) that only the type fast goes to.
type retypeFixture struct {
	s   *storage.Store
	vol storage.Volume
}

const fastPool = "h2@fast#p"

func newRetypeFixture(t *testing.T, s *storage.Store) retypeFixture {
	t.Helper()
	mustType(t, s, storage.VolumeTypeCreate{Name: "gold", ExtraSpecs: map[string]string{"volume_backend_name": "lvm"}})
	mustType(t, s, storage.VolumeTypeCreate{Name: "silver", ExtraSpecs: map[string]string{"volume_backend_name": "lvm", "note:tier": "2"}})
	mustType(t, s, storage.VolumeTypeCreate{Name: "gold-too", ExtraSpecs: map[string]string{"volume_backend_name": "lvm"}})
	mustType(t, s, storage.VolumeTypeCreate{Name: "multi", ExtraSpecs: map[string]string{"volume_backend_name": "lvm",
		storage.SpecMultiattach: "<is> True"}})
	mustType(t, s, storage.VolumeTypeCreate{Name: "fast", ExtraSpecs: map[string]string{"volume_backend_name": "fast"}})
	mustType(t, s, storage.VolumeTypeCreate{Name: "tiny", ExtraSpecs: map[string]string{"volume_backend_name": "lvm",
		storage.SpecMaxVolSize: "1"}})
	mustType(t, s, storage.VolumeTypeCreate{Name: "hidden", IsPublic: ptr(false), ExtraSpecs: map[string]string{"volume_backend_name": "lvm", "note:x": "y"}})
	addPool(t, s, defaultPool, "", storage.BackendReport{VolumeBackendName: "lvm", Multiattach: true,
		TotalCapacityGB: storage.GB(100000), FreeCapacityGB: storage.GB(100000)})
	addPool(t, s, fastPool, "", storage.BackendReport{VolumeBackendName: "fast", TotalCapacityGB: storage.GB(1000), FreeCapacityGB: storage.GB(1000)})
	return retypeFixture{s: s, vol: available(t, s, storage.VolumeCreate{Size: 2, VolumeType: "gold"})}
}

// available creates a volume for alice and reports it made.
func available(t *testing.T, s *storage.Store, c storage.VolumeCreate) storage.Volume {
	t.Helper()
	v := mustCreate(t, s, alice, c)
	v, err := s.ReportVolume(context.Background(), v.Host, v.ID, storage.VolumeReport{Status: storage.VolumeCreating,
		ProviderLocation: "192.0.2.1:3260,1 iqn.2010-10.org.openstack:volume-" + v.ID + " 1", ProviderAuth: "CHAP u p"})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func typeID(t *testing.T, s *storage.Store, name string) string {
	t.Helper()
	vt, err := s.FindVolumeType(context.Background(), admin, name)
	if err != nil {
		t.Fatal(err)
	}
	return vt.ID
}

// Refused retypes answer Cinder's errors in Cinder's order and change
// nothing.
func TestRetypeRefused(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		f := newRetypeFixture(t, s)
		inUse := available(t, s, storage.VolumeCreate{Size: 1, VolumeType: "gold"})
		if _, err := s.AttachVolume(ctx, alice, inUse.ID, storage.VolumeAttach{InstanceUUID: "11111111-2222-3333-4444-555555555555",
			Mountpoint: "/dev/vdb"}); err != nil {
			t.Fatal(err)
		}
		creating := mustCreate(t, s, alice, storage.VolumeCreate{Size: 1, VolumeType: "gold"})
		denied := errors.New("policy says no")
		for _, c := range []struct {
			name string
			who  storage.Viewer
			id   string
			req  storage.VolumeRetypeRequest
			want refusal
		}{
			{"another project's volume", bob, f.vol.ID, storage.VolumeRetypeRequest{NewType: "silver"},
				refusal{fault.NotFound, "Volume " + f.vol.ID + " could not be found.", false}},
			{"unknown type", alice, f.vol.ID, storage.VolumeRetypeRequest{NewType: "bronze"},
				refusal{fault.NotFound, "Volume type with name bronze could not be found.", false}},
			{"unknown type id", alice, f.vol.ID, storage.VolumeRetypeRequest{NewType: "9d1c1c9e-0f1e-4c4b-9e0e-000000000000"},
				refusal{fault.NotFound, "Volume type 9d1c1c9e-0f1e-4c4b-9e0e-000000000000 could not be found.", false}},
			{"bad policy", alice, f.vol.ID, storage.VolumeRetypeRequest{NewType: "silver", MigrationPolicy: "sometimes"},
				refusal{fault.BadRequest, `Invalid input received: migration_policy must be on-demand or never, not "sometimes".`, false}},
			{"too large for the type", alice, f.vol.ID, storage.VolumeRetypeRequest{NewType: "tiny"},
				refusal{fault.BadRequest, "Invalid input received: Specified volume size of '2' is greater than the maximum allowable size of '1' for volume type 'tiny'.", false}},
			{"multiattach of an in-use volume", alice, inUse.ID, storage.VolumeRetypeRequest{NewType: "multi"},
				refusal{fault.BadRequest, "Invalid input received: Invalid volume_type passed, retypes affecting multiattach are only allowed on available volumes, the specified volume however currently has a status of: in-use.", false}},
			{"multiattach not allowed", alice, f.vol.ID, storage.VolumeRetypeRequest{NewType: "multi",
				AllowMultiattach: func(storage.VolumeType) error { return fault.New(fault.Forbidden, "%v", denied) }},
				refusal{fault.Forbidden, "policy says no", false}},
			{"same type", alice, f.vol.ID, storage.VolumeRetypeRequest{NewType: "gold"},
				refusal{fault.BadRequest, "Invalid volume: Retype needs volume to be in available or in-use state", true}},
			{"creating", alice, creating.ID, storage.VolumeRetypeRequest{NewType: "silver"},
				refusal{fault.BadRequest, "Invalid volume: Retype needs volume to be in available or in-use state", true}},
			{"in-use needing a migration", alice, inUse.ID, storage.VolumeRetypeRequest{NewType: "fast", MigrationPolicy: storage.MigrationOnDemand},
				refusal{fault.BadRequest, "Invalid volume: Retype of in-use volume " + inUse.ID + " to type fast needs a migration", true}},
		} {
			t.Run(c.name, func(t *testing.T) {
				before := snapshot(t, db, feed)
				_, err := s.RetypeVolume(ctx, c.who, c.id, c.req)
				c.want.check(t, err)
				before.same(t, db, feed)
			})
		}

		// The new type's quotas: volumes_<type>, then gigabytes_<type>.
		if _, err := s.SetQuotas(ctx, alice.Project, map[string]int64{"volumes_silver": 0}); err != nil {
			t.Fatal(err)
		}
		before := snapshot(t, db, feed)
		_, err := s.RetypeVolume(ctx, alice, f.vol.ID, storage.VolumeRetypeRequest{NewType: "silver"})
		refusal{fault.TooLarge, "Maximum number of volumes allowed (0) exceeded for quota 'volumes_silver'.", false}.check(t, err)
		before.same(t, db, feed)
		if _, err := s.SetQuotas(ctx, alice.Project, map[string]int64{"volumes_silver": 5, "gigabytes_silver": 1}); err != nil {
			t.Fatal(err)
		}
		before = snapshot(t, db, feed)
		_, err = s.RetypeVolume(ctx, alice, f.vol.ID, storage.VolumeRetypeRequest{NewType: "silver"})
		refusal{fault.TooLarge, "Requested volume or snapshot exceeds allowed gigabytes_silver quota. Requested 2G, quota is 1G and 0G has been consumed.", false}.check(t, err)
		before.same(t, db, feed)
	})
}

// A retype the volume's pool takes: retyping for its agent, whose
// report gives the volume (and its snapshots) the type and its status
// back; a retype between types that differ only in name is done at
// once; a private type is found only once shared with the project (as
// for a create; Cinder finds it elevated).
func TestRetypeInPlace(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		f := newRetypeFixture(t, s)
		n, err := s.CreateSnapshot(ctx, alice, storage.SnapshotCreate{VolumeID: f.vol.ID, UserID: "u"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.ReportSnapshot(ctx, n.Host, n.ID, storage.SnapshotReport{Status: storage.SnapshotCreating}); err != nil {
			t.Fatal(err)
		}
		v, err := s.RetypeVolume(ctx, alice, f.vol.ID, storage.VolumeRetypeRequest{NewType: "silver"})
		if err != nil {
			t.Fatal(err)
		}
		if v.Status != storage.VolumeRetyping || v.Retype == nil || v.Retype.Phase != storage.RetypeInPlace ||
			v.Retype.NewTypeID != typeID(t, s, "silver") || v.VolumeTypeID != typeID(t, s, "gold") {
			t.Fatalf("after the retype's request: %s %+v", v.Status, v.Retype)
		}
		// Counted in silver's quotas until done.
		if u, _ := s.QuotaUsage(ctx, alice.Project); u["volumes_silver"] != 1 || u["gigabytes_silver"] != 4 || u["snapshots_silver"] != 1 {
			t.Fatalf("silver's usage while retyping: %v", u)
		}
		st, err := s.BackendState(ctx, fastPool)
		if err != nil || len(st.Volumes) != 0 {
			t.Fatalf("another pool sees %d volumes (%v)", len(st.Volumes), err)
		}
		rep := storage.VolumeReport{Status: storage.VolumeRetyping, Retype: storage.RetypeInPlace}
		if _, err := s.ReportVolume(ctx, fastPool, f.vol.ID, rep); fault.KindOf(err) != fault.NotFound {
			t.Fatalf("another pool's report: %v", err)
		}
		if _, err := s.ReportVolume(ctx, f.vol.Host, f.vol.ID, storage.VolumeReport{Status: storage.VolumeRetyping, Retype: storage.RetypeCopy}); fault.KindOf(err) != fault.Conflict {
			t.Fatalf("a report of another step: %v", err)
		}
		if v, err = s.ReportVolume(ctx, f.vol.Host, f.vol.ID, rep); err != nil {
			t.Fatal(err)
		}
		if v.Status != storage.VolumeAvailable || v.Retype != nil || v.VolumeTypeID != typeID(t, s, "silver") || v.Host != defaultPool {
			t.Fatalf("retyped: %s %+v type %s on %s", v.Status, v.Retype, v.VolumeTypeID, v.Host)
		}
		if got, _ := s.Snapshot(ctx, alice, n.ID); got.VolumeTypeID != typeID(t, s, "silver") {
			t.Fatalf("the snapshot's type %s, want silver's", got.VolumeTypeID)
		}
		if u, _ := s.QuotaUsage(ctx, alice.Project); u["volumes_silver"] != 1 || u["volumes_gold"] != 0 {
			t.Fatalf("usage after the retype: %v", u)
		}

		// A private type not shared with the project is not found, and
		// nothing changes; shared, it is.
		before, _ := s.Volume(ctx, alice, f.vol.ID)
		if _, err := s.RetypeVolume(ctx, alice, f.vol.ID, storage.VolumeRetypeRequest{NewType: "hidden"}); fault.KindOf(err) != fault.NotFound {
			t.Fatalf("retype to a private type not shared: %v", err)
		}
		if after, _ := s.Volume(ctx, alice, f.vol.ID); after.Status != before.Status || after.VolumeTypeID != before.VolumeTypeID || after.Retype != nil {
			t.Fatalf("a refused retype changed the volume: %s %s %+v", after.Status, after.VolumeTypeID, after.Retype)
		}
		if _, err := s.AddVolumeTypeAccess(ctx, typeID(t, s, "hidden"), alice.Project); err != nil {
			t.Fatal(err)
		}
		// The driver's failure: the status back, the type kept.
		if _, err := s.RetypeVolume(ctx, alice, f.vol.ID, storage.VolumeRetypeRequest{NewType: "hidden"}); err != nil {
			t.Fatalf("retype to a private type shared with the project: %v", err)
		}
		v, err = s.ReportVolume(ctx, f.vol.Host, f.vol.ID, storage.VolumeReport{Status: storage.VolumeRetyping, Retype: storage.RetypeInPlace,
			Error: "features could not change"})
		if err != nil || v.Status != storage.VolumeAvailable || v.VolumeTypeID != typeID(t, s, "silver") || v.Message != "features could not change" {
			t.Fatalf("failed retype: %s type %s %q (%v)", v.Status, v.VolumeTypeID, v.Message, err)
		}

		// An in-use volume retypes in place; detached meanwhile, it ends
		// available.
		inUse := available(t, s, storage.VolumeCreate{Size: 1, VolumeType: "gold"})
		att, err := s.AttachVolume(ctx, alice, inUse.ID, storage.VolumeAttach{InstanceUUID: "11111111-2222-3333-4444-555555555555", Mountpoint: "/dev/vdb"})
		if err != nil {
			t.Fatal(err)
		}
		if v, err = s.RetypeVolume(ctx, alice, inUse.ID, storage.VolumeRetypeRequest{NewType: "silver"}); err != nil || v.Retype.PreviousStatus != storage.VolumeInUse {
			t.Fatalf("retype of an in-use volume: %+v (%v)", v.Retype, err)
		}
		if _, err := s.DeleteAttachment(ctx, alice, att.ID); err != nil {
			t.Fatal(err)
		}
		if v, err = s.ReportVolume(ctx, inUse.Host, inUse.ID, rep); err != nil || v.Status != storage.VolumeAvailable || v.VolumeTypeID != typeID(t, s, "silver") {
			t.Fatalf("retyped after a detach: %s %s (%v)", v.Status, v.VolumeTypeID, err)
		}

		// Types equal in all but name: no work for the agent.
		other := available(t, s, storage.VolumeCreate{Size: 1, VolumeType: "gold"})
		if v, err = s.RetypeVolume(ctx, alice, other.ID, storage.VolumeRetypeRequest{NewType: "gold-too"}); err != nil ||
			v.Status != storage.VolumeAvailable || v.VolumeTypeID != typeID(t, s, "gold-too") || v.Retype != nil {
			t.Fatalf("retype to an equal type: %s %s %+v (%v)", v.Status, v.VolumeTypeID, v.Retype, err)
		}
		// To a multiattach type: the volume becomes multiattach when done.
		if _, err = s.RetypeVolume(ctx, alice, other.ID, storage.VolumeRetypeRequest{NewType: "multi"}); err != nil {
			t.Fatal(err)
		}
		if v, err = s.ReportVolume(ctx, other.Host, other.ID, rep); err != nil || !v.Multiattach {
			t.Fatalf("retyped to multi: multiattach %v (%v)", v.Multiattach, err)
		}
	})
}

// A retype the volume's pool does not take: with the never policy (and
// with snapshots, or no other pool) Cinder's scheduler or manager fails
// it after the 202, so the volume is left as it was with a message;
// with on-demand it migrates: the destination makes its copy, the data
// is copied, the volume moves, and the old copy is removed; a failure
// sends it back and has the destination's copy removed.
func TestRetypeMigration(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		f := newRetypeFixture(t, s)
		gold := typeID(t, s, "gold")
		v, err := s.RetypeVolume(ctx, alice, f.vol.ID, storage.VolumeRetypeRequest{NewType: "fast"})
		if err != nil || v.Status != storage.VolumeAvailable || v.VolumeTypeID != gold || v.Retype != nil ||
			v.Message != "Current backend not valid for volume "+f.vol.ID+" with type fast, migration not allowed" {
			t.Fatalf("never: %s %s %+v %q (%v)", v.Status, v.VolumeTypeID, v.Retype, v.Message, err)
		}

		withSnap := available(t, s, storage.VolumeCreate{Size: 1, VolumeType: "gold"})
		n, err := s.CreateSnapshot(ctx, alice, storage.SnapshotCreate{VolumeID: withSnap.ID, UserID: "u"})
		if err != nil {
			t.Fatal(err)
		}
		if v, err = s.RetypeVolume(ctx, alice, withSnap.ID, storage.VolumeRetypeRequest{NewType: "fast", MigrationPolicy: storage.MigrationOnDemand}); err != nil ||
			v.Retype != nil || v.Message != "Invalid volume: Volume must not have snapshots." {
			t.Fatalf("with a snapshot: %+v %q (%v)", v.Retype, v.Message, err)
		}
		_ = n

		// On demand: the destination pool makes its copy.
		v, err = s.RetypeVolume(ctx, alice, f.vol.ID, storage.VolumeRetypeRequest{NewType: "fast", MigrationPolicy: storage.MigrationOnDemand})
		if err != nil || v.Status != storage.VolumeRetyping || v.Retype.Phase != storage.RetypeCreate || v.Retype.DestHost != fastPool {
			t.Fatalf("on-demand: %s %+v (%v)", v.Status, v.Retype, err)
		}
		if b, err := s.Backend(ctx, fastPool); err != nil || b.AllocatedCapacityGB != f.vol.Size {
			t.Fatalf("the destination's allocated capacity: %d GiB (%v), want the copy's %d", b.AllocatedCapacityGB, err, f.vol.Size)
		}
		if _, err := s.DeleteVolume(ctx, admin, f.vol.ID, storage.DeleteOptions{Force: true}); fault.KindOf(err) != fault.BadRequest {
			t.Fatalf("a forced delete while migrating: %v", err)
		}
		st, err := s.BackendState(ctx, fastPool)
		if err != nil || len(st.Volumes) != 1 || st.Volumes[0].ID != f.vol.ID {
			t.Fatalf("the destination's state: %+v (%v)", st.Volumes, err)
		}
		if _, err := s.ReportVolume(ctx, defaultPool, f.vol.ID, storage.VolumeReport{Status: storage.VolumeRetyping, Retype: storage.RetypeCreate}); fault.KindOf(err) != fault.NotFound {
			t.Fatalf("the source reports the destination's step: %v", err)
		}
		destLoc := "192.0.2.2:3260,1 iqn.2010-10.org.openstack:volume-" + f.vol.ID + " 1"
		v, err = s.ReportVolume(ctx, fastPool, f.vol.ID, storage.VolumeReport{Status: storage.VolumeRetyping, Retype: storage.RetypeCreate,
			ProviderLocation: destLoc, ProviderAuth: "CHAP u2 p2"})
		if err != nil || v.Retype.Phase != storage.RetypeCopy || v.Retype.DestLocation != destLoc || v.Retype.Copier(v.ProviderLocation) != "source" {
			t.Fatalf("made at the destination: %+v (%v)", v.Retype, err)
		}
		// Copied (iSCSI to iSCSI: the source writes): the volume moves.
		v, err = s.ReportVolume(ctx, defaultPool, f.vol.ID, storage.VolumeReport{Status: storage.VolumeRetyping, Retype: storage.RetypeCopy})
		if err != nil || v.Status != storage.VolumeAvailable || v.Host != fastPool || v.ProviderLocation != destLoc || v.ProviderAuth != "CHAP u2 p2" ||
			v.VolumeTypeID != typeID(t, s, "fast") || v.Retype == nil || v.Retype.Phase != storage.RetypeCleanup || v.Retype.SourceHost != defaultPool {
			t.Fatalf("copied: %s on %s type %s %+v (%v)", v.Status, v.Host, v.VolumeTypeID, v.Retype, err)
		}
		if b, _ := s.Backend(ctx, defaultPool); b.AllocatedCapacityGB != f.vol.Size+1 {
			t.Fatalf("the old pool's allocated capacity with the old copy: %d GiB", b.AllocatedCapacityGB)
		}
		if st, _ := s.BackendState(ctx, defaultPool); !containsVolume(st.Volumes, f.vol.ID) {
			t.Fatal("the old pool does not see the volume whose old copy it removes")
		}
		if _, err := s.RetypeVolume(ctx, alice, f.vol.ID, storage.VolumeRetypeRequest{NewType: "gold", MigrationPolicy: storage.MigrationOnDemand}); fault.KindOf(err) != fault.BadRequest {
			t.Fatalf("a retype before the old copy is removed: %v", err)
		}
		if v, err = s.ReportVolume(ctx, defaultPool, f.vol.ID, storage.VolumeReport{Status: storage.VolumeRetyping, Retype: storage.RetypeCleanup}); err != nil || v.Retype != nil {
			t.Fatalf("cleaned up: %+v (%v)", v.Retype, err)
		}
		if st, _ := s.BackendState(ctx, defaultPool); containsVolume(st.Volumes, f.vol.ID) {
			t.Fatal("the old pool still sees the moved volume")
		}
		if u, _ := s.QuotaUsage(ctx, alice.Project); u["volumes_fast"] != 1 || u["volumes_gold"] != 1 {
			t.Fatalf("usage after the migration: %v", u)
		}

		// A failed copy: back where it was, the destination's copy removed.
		v, err = s.RetypeVolume(ctx, alice, f.vol.ID, storage.VolumeRetypeRequest{NewType: "gold", MigrationPolicy: storage.MigrationOnDemand})
		if err != nil || v.Retype.DestHost != defaultPool {
			t.Fatalf("back to gold: %+v (%v)", v.Retype, err)
		}
		v, err = s.ReportVolume(ctx, defaultPool, f.vol.ID, storage.VolumeReport{Status: storage.VolumeRetyping, Retype: storage.RetypeCreate, Error: "no space"})
		if err != nil || v.Status != storage.VolumeAvailable || v.Host != fastPool || v.Retype.Phase != storage.RetypeAbort || v.Message != "no space" {
			t.Fatalf("failed create: %s on %s %+v %q (%v)", v.Status, v.Host, v.Retype, v.Message, err)
		}
		if u, _ := s.QuotaUsage(ctx, alice.Project); u["volumes_gold"] != 1 {
			t.Fatalf("gold's usage after the failure: %v", u)
		}
		if v, err = s.ReportVolume(ctx, defaultPool, f.vol.ID, storage.VolumeReport{Status: storage.VolumeRetyping, Retype: storage.RetypeAbort}); err != nil || v.Retype != nil {
			t.Fatalf("aborted: %+v (%v)", v.Retype, err)
		}
		// An admin's reset abandons a retype: in place, at once; a
		// migration's destination copy is removed by its agent.
		if v, err = s.RetypeVolume(ctx, alice, f.vol.ID, storage.VolumeRetypeRequest{NewType: "gold", MigrationPolicy: storage.MigrationOnDemand}); err != nil {
			t.Fatal(err)
		}
		v, err = s.ResetStatus(ctx, admin, f.vol.ID, storage.StatusReset{Status: storage.VolumeAvailable})
		if err != nil || v.Retype == nil || v.Retype.Phase != storage.RetypeAbort || v.Host != fastPool || v.VolumeTypeID != typeID(t, s, "fast") {
			t.Fatalf("reset during a migration: %+v on %s (%v)", v.Retype, v.Host, err)
		}
		if v, err = s.ReportVolume(ctx, defaultPool, f.vol.ID, storage.VolumeReport{Status: storage.VolumeRetyping, Retype: storage.RetypeAbort}); err != nil || v.Retype != nil {
			t.Fatalf("aborted after the reset: %+v (%v)", v.Retype, err)
		}
		if u, _ := s.QuotaUsage(ctx, alice.Project); u["volumes_gold"] != 1 {
			t.Fatalf("gold's usage after the reset: %v", u)
		}
		purge(t, s, alice, f.vol.ID)
	})
}

func containsVolume(vs []storage.Volume, id string) bool {
	for _, v := range vs {
		if v.ID == id {
			return true
		}
	}
	return false
}

// A volume on an RBD pool is not migrated to an RBD pool that reports
// no location_info (no copier is known to hold both pools' keys): the retype is refused at once, as
// Cinder's scheduler fails one with no pool after its 202, with the
// reason, and no copy is claimed or made; an iSCSI pool beside them
// still takes it.
func TestRetypeBetweenRBDPools(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		mustType(t, s, storage.VolumeTypeCreate{Name: "ceph", ExtraSpecs: map[string]string{"volume_backend_name": "ceph"}})
		mustType(t, s, storage.VolumeTypeCreate{Name: "ceph2", ExtraSpecs: map[string]string{"volume_backend_name": "ceph2"}})
		mustType(t, s, storage.VolumeTypeCreate{Name: "elsewhere", ExtraSpecs: map[string]string{"pool_name": "<or> other <or> tgt"}})
		for _, p := range []struct{ host, name, proto string }{{"h1@ceph#volumes", "ceph", "ceph"}, {"h2@ceph2#other", "ceph2", "ceph"},
			{"h3@tgt#tgt", "tgt", "iSCSI"}} {
			addPool(t, s, p.host, "", storage.BackendReport{VolumeBackendName: p.name, StorageProtocol: p.proto,
				TotalCapacityGB: storage.GB(1000), FreeCapacityGB: storage.GB(1000)})
		}
		v := mustCreate(t, s, alice, storage.VolumeCreate{Size: 1, VolumeType: "ceph"})
		v, err := s.ReportVolume(ctx, v.Host, v.ID, storage.VolumeReport{Status: storage.VolumeCreating,
			ProviderLocation: "rbd name=volumes/volume-" + v.ID + " cluster=ceph secret_uuid=s mons=10.0.0.1:6789"})
		if err != nil || v.Host != "h1@ceph#volumes" {
			t.Fatalf("created on %s (%v)", v.Host, err)
		}
		before, _ := s.Backend(ctx, "h2@ceph2#other")
		got, err := s.RetypeVolume(ctx, alice, v.ID, storage.VolumeRetypeRequest{NewType: "ceph2", MigrationPolicy: storage.MigrationOnDemand})
		want := "No valid backends for volume " + v.ID + " with type ceph2: a migration between two RBD pools is supported only within one Ceph cluster (no client holds two clusters' keys)"
		if err != nil || got.Status != storage.VolumeAvailable || got.Retype != nil || got.VolumeTypeID != v.VolumeTypeID || got.Message != want {
			t.Fatalf("to another RBD pool: %s %+v type %s %q (%v)", got.Status, got.Retype, got.VolumeTypeID, got.Message, err)
		}
		if b, _ := s.Backend(ctx, "h2@ceph2#other"); b.AllocatedCapacityGB != before.AllocatedCapacityGB {
			t.Fatalf("the other RBD pool's allocated capacity: %d GiB, was %d", b.AllocatedCapacityGB, before.AllocatedCapacityGB)
		}
		if st, _ := s.BackendState(ctx, "h2@ceph2#other"); containsVolume(st.Volumes, v.ID) {
			t.Fatal("the other RBD pool is given the volume")
		}
		// A type both another RBD pool and an iSCSI pool take: the iSCSI
		// one, whatever the weights.
		got, err = s.RetypeVolume(ctx, alice, v.ID, storage.VolumeRetypeRequest{NewType: "elsewhere", MigrationPolicy: storage.MigrationOnDemand})
		if err != nil || got.Retype == nil || got.Retype.Phase != storage.RetypeCreate || got.Retype.DestHost != "h3@tgt#tgt" || got.Retype.Claim == "" {
			t.Fatalf("to a type an iSCSI pool takes too: %+v %q (%v)", got.Retype, got.Message, err)
		}
	})
}

// A removal a migration still has to do on a pool that never does it
// (gone after the volume moved, or its delete failing for ever) holds
// the volume: no delete, no retype. An admin's reset drops it, as
// Cinder's migrate_volume_completion logs a failed delete of the old
// copy and moves on: the copy is left where it is, logged with its pool
// and name, and the volume can be deleted. The same for a failed
// migration's destination copy (a second reset, the first having sent
// the migration to its abort).
func TestRetypeResetDropsRemoval(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		var logged bytes.Buffer
		s.Log = slog.New(slog.NewTextHandler(&logged, nil))
		f := newRetypeFixture(t, s)
		oldLoc := f.vol.ProviderLocation
		v, err := s.RetypeVolume(ctx, alice, f.vol.ID, storage.VolumeRetypeRequest{NewType: "fast", MigrationPolicy: storage.MigrationOnDemand})
		if err != nil || v.Retype == nil {
			t.Fatalf("on-demand: %+v (%v)", v.Retype, err)
		}
		destLoc := "192.0.2.2:3260,1 iqn.2010-10.org.openstack:volume-" + f.vol.ID + " 1"
		if _, err := s.ReportVolume(ctx, fastPool, f.vol.ID, storage.VolumeReport{Status: storage.VolumeRetyping, Retype: storage.RetypeCreate,
			ProviderLocation: destLoc, ProviderAuth: "CHAP u2 p2"}); err != nil {
			t.Fatal(err)
		}
		v, err = s.ReportVolume(ctx, defaultPool, f.vol.ID, storage.VolumeReport{Status: storage.VolumeRetyping, Retype: storage.RetypeCopy})
		if err != nil || v.Host != fastPool || v.Retype == nil || v.Retype.Phase != storage.RetypeCleanup {
			t.Fatalf("moved: on %s %+v (%v)", v.Host, v.Retype, err)
		}
		// The old pool never removes its copy.
		if _, err := s.DeleteVolume(ctx, admin, f.vol.ID, storage.DeleteOptions{Force: true}); fault.KindOf(err) != fault.BadRequest {
			t.Fatalf("a forced delete with the old copy to remove: %v", err)
		}
		v, err = s.ResetStatus(ctx, admin, f.vol.ID, storage.StatusReset{Status: storage.VolumeAvailable})
		if err != nil || v.Retype != nil || v.Host != fastPool || v.Status != storage.VolumeAvailable || v.VolumeTypeID != typeID(t, s, "fast") ||
			v.MigrationStatus != storage.MigrationSuccess {
			t.Fatalf("reset with the old copy to remove: %s on %s %+v, migration %q (%v)", v.Status, v.Host, v.Retype, v.MigrationStatus, err)
		}
		for _, want := range []string{"pool=" + defaultPool, "name=volume-" + f.vol.ID, "step=cleanup", "volume=" + f.vol.ID, oldLoc,
			"target=iqn.2010-10.org.openstack:volume-" + f.vol.ID, "file=volume-" + f.vol.ID} {
			if !strings.Contains(logged.String(), want) {
				t.Fatalf("the orphan's log has no %q: %s", want, logged.String())
			}
		}
		if st, _ := s.BackendState(ctx, defaultPool); containsVolume(st.Volumes, f.vol.ID) {
			t.Fatal("the old pool still sees the volume after the reset")
		}
		if v, err = s.DeleteVolume(ctx, alice, f.vol.ID, storage.DeleteOptions{}); err != nil || v.Status != storage.VolumeDeleting || v.Host != fastPool {
			t.Fatalf("delete after the reset: %s on %s (%v)", v.Status, v.Host, err)
		}

		// A failed migration whose destination never removes its copy.
		logged.Reset()
		vol := available(t, s, storage.VolumeCreate{Size: 1, VolumeType: "gold"})
		if v, err = s.RetypeVolume(ctx, alice, vol.ID, storage.VolumeRetypeRequest{NewType: "fast", MigrationPolicy: storage.MigrationOnDemand}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ReportVolume(ctx, fastPool, vol.ID, storage.VolumeReport{Status: storage.VolumeRetyping, Retype: storage.RetypeCreate,
			ProviderLocation: "192.0.2.2:3260,2 iqn.2010-10.org.openstack:volume-" + vol.ID + " 1", ProviderAuth: "CHAP u3 p3"}); err != nil {
			t.Fatal(err)
		}
		v, err = s.ResetStatus(ctx, admin, vol.ID, storage.StatusReset{Status: storage.VolumeAvailable})
		if err != nil || v.Retype == nil || v.Retype.Phase != storage.RetypeAbort || logged.Len() != 0 || v.MigrationStatus != storage.MigrationError {
			t.Fatalf("first reset: %+v, migration %q, logged %q (%v)", v.Retype, v.MigrationStatus, logged.String(), err)
		}
		v, err = s.ResetStatus(ctx, admin, vol.ID, storage.StatusReset{Status: storage.VolumeAvailable})
		if err != nil || v.Retype != nil || v.Host != defaultPool || v.VolumeTypeID != typeID(t, s, "gold") {
			t.Fatalf("second reset: %+v on %s (%v)", v.Retype, v.Host, err)
		}
		for _, want := range []string{"pool=" + fastPool, "name=volume-" + vol.ID, "step=abort",
			"target=iqn.2010-10.org.openstack:volume-" + vol.ID, "file=volume-" + vol.ID} {
			if !strings.Contains(logged.String(), want) {
				t.Fatalf("the orphan's log has no %q: %s", want, logged.String())
			}
		}
		if st, _ := s.BackendState(ctx, fastPool); containsVolume(st.Volumes, vol.ID) {
			t.Fatal("the destination still sees the volume after the reset")
		}
		if v, err = s.RetypeVolume(ctx, alice, vol.ID, storage.VolumeRetypeRequest{NewType: "silver"}); err != nil || v.Retype == nil || v.Retype.Phase != storage.RetypeInPlace {
			t.Fatalf("a retype after the reset: %+v %q (%v)", v.Retype, v.Message, err)
		}
	})
}
