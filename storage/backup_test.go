package storage_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
	"github.com/gostack/gostack/storage"
)

// backupState is snapState with every backup row.
type backupState struct {
	snapState
	backups string
}

func backupRows(t *testing.T, db *sqlstore.DB, feed *watch.Log) backupState {
	t.Helper()
	rows, err := db.Query(context.Background(), `SELECT id, status, revision, host, restore_volume_id, coalesce(deleted_at, 0)
		FROM storage_backups ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, status, host, restore string
		var rev, deleted int64
		if err := rows.Scan(&id, &status, &rev, &host, &restore, &deleted); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(&b, id, status, rev, host, restore, deleted)
	}
	return backupState{snapRows(t, db, feed), b.String()}
}

func (st backupState) same(t *testing.T, db *sqlstore.DB, feed *watch.Log) {
	t.Helper()
	if now := backupRows(t, db, feed); now != st {
		t.Fatalf("a refused call changed the state:\nbefore %+v\nafter  %+v", st, now)
	}
}

// backedUp is backup c, reported made by its agent.
func backedUp(t *testing.T, s *storage.Store, v storage.Viewer, c storage.BackupCreate) storage.Backup {
	t.Helper()
	b, err := s.CreateBackup(context.Background(), v, c)
	if err != nil {
		t.Fatalf("backup %+v: %v", c, err)
	}
	b, err = s.ReportBackup(context.Background(), b.Host, b.ID, storage.BackupReport{Status: storage.BackupCreating, ObjectCount: 3})
	if err != nil || b.Status != storage.BackupAvailable || b.ObjectCount != 3 {
		t.Fatalf("backup made: %+v %v", b, err)
	}
	return b
}

// A backup's life: the volume backing-up while it is made (in-use with
// force, back to in-use after), an incremental one on the latest, the
// quotas counting both, a restore (the volume restoring-backup, then
// available), the full one not deletable while the incremental builds
// on it, the agent's state listing the work.
func TestBackupLife(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		vol := exported(t, s, alice, storage.VolumeCreate{Size: 2})
		b, err := s.CreateBackup(ctx, alice, storage.BackupCreate{VolumeID: vol.ID, UserID: "alice", Name: ptr("full")})
		if err != nil || b.Status != storage.BackupCreating || b.Host != vol.Host || b.Size != 2 || b.IsIncremental() {
			t.Fatalf("create: %+v %v", b, err)
		}
		if v, _ := s.Volume(ctx, alice, vol.ID); v.Status != storage.VolumeBackingUp {
			t.Fatalf("volume %s", v.Status)
		}
		st, err := s.BackendState(ctx, vol.Host)
		if err != nil || len(st.Backups) != 1 || st.Backups[0].ID != b.ID {
			t.Fatalf("the agent's state: %+v %v", st.Backups, err)
		}
		if _, err := s.ReportBackup(ctx, vol.Host, b.ID, storage.BackupReport{Status: storage.BackupCreating, ObjectCount: 2}); err != nil {
			t.Fatal(err)
		}
		if v, _ := s.Volume(ctx, alice, vol.ID); v.Status != storage.VolumeAvailable {
			t.Fatalf("volume after the backup %s", v.Status)
		}
		inc := backedUp(t, s, alice, storage.BackupCreate{VolumeID: vol.ID, Incremental: true})
		if inc.ParentID != b.ID {
			t.Fatalf("incremental's parent %q, want %s", inc.ParentID, b.ID)
		}
		if got, _ := s.Backup(ctx, alice, b.ID); !got.HasDependentBackups {
			t.Fatalf("the full backup has no dependents: %+v", got)
		}
		if use, err := s.QuotaUsage(ctx, alice.Project); err != nil || use["backups"] != 2 || use["backup_gigabytes"] != 4 {
			t.Fatalf("usage %v %v", use, err)
		}
		// Restore to another available volume, at least as large.
		dst := exported(t, s, alice, storage.VolumeCreate{Size: 3})
		rb, rv, err := s.RestoreBackup(ctx, alice, inc.ID, dst.ID)
		if err != nil || rb.Status != storage.BackupRestoring || rb.RestoreVolumeID != dst.ID || rv.Status != storage.VolumeRestoringBackup {
			t.Fatalf("restore: %+v %+v %v", rb, rv, err)
		}
		if _, err := s.ReportBackup(ctx, dst.Host, inc.ID, storage.BackupReport{Status: storage.BackupRestoring}); err != nil {
			t.Fatal(err)
		}
		if v, _ := s.Volume(ctx, alice, dst.ID); v.Status != storage.VolumeAvailable {
			t.Fatalf("restored volume %s", v.Status)
		}
		// A failed restore: the volume error_restoring, the backup available.
		if _, _, err := s.RestoreBackup(ctx, alice, b.ID, dst.ID); err != nil {
			t.Fatal(err)
		}
		got, err := s.ReportBackup(ctx, dst.Host, b.ID, storage.BackupReport{Status: storage.BackupRestoring, Error: "disk on fire"})
		if v, _ := s.Volume(ctx, alice, dst.ID); err != nil || got.Status != storage.BackupAvailable || v.Status != storage.VolumeErrorRestoring {
			t.Fatalf("failed restore: %+v %s %v", got, v.Status, err)
		}
		// In use: with force, back to in-use.
		attach(t, s, alice, vol.ID, "11111111-2222-3333-4444-555555555555")
		forced := backedUp(t, s, alice, storage.BackupCreate{VolumeID: vol.ID, Force: true})
		if v, _ := s.Volume(ctx, alice, vol.ID); v.Status != storage.VolumeInUse || forced.PreviousStatus != "in-use" {
			t.Fatalf("after a forced backup: %s %+v", v.Status, forced)
		}
		// Deletes: the newest first; the full one once nothing builds on it.
		for _, id := range []string{forced.ID, inc.ID} {
			d, err := s.DeleteBackup(ctx, alice, id, false)
			if err != nil || d.Status != storage.BackupDeleting {
				t.Fatalf("delete %s: %+v %v", id, d, err)
			}
			if d, err = s.ReportBackup(ctx, d.Host, id, storage.BackupReport{Status: storage.BackupDeleting}); err != nil || d.DeletedAt == nil {
				t.Fatalf("deleted %s: %+v %v", id, d, err)
			}
		}
		if _, err := s.DeleteBackup(ctx, alice, b.ID, false); err != nil {
			t.Fatal(err)
		}
		if use, _ := s.QuotaUsage(ctx, alice.Project); use["backups"] != 1 || use["backup_gigabytes"] != 2 {
			t.Fatalf("usage after the deletes %v", use)
		}
	})
}

// Refusals, each with Cinder's error and nothing changed.
func TestBackupRefusals(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		vol := exported(t, s, alice, storage.VolumeCreate{Size: 2})
		fresh := exported(t, s, alice, storage.VolumeCreate{Size: 1})
		small := exported(t, s, alice, storage.VolumeCreate{Size: 1})
		used := exported(t, s, alice, storage.VolumeCreate{Size: 1})
		attach(t, s, alice, used.ID, "11111111-2222-3333-4444-555555555555")
		creating := mustCreate(t, s, alice, storage.VolumeCreate{Size: 1})
		full := backedUp(t, s, alice, storage.BackupCreate{VolumeID: vol.ID})
		inc := backedUp(t, s, alice, storage.BackupCreate{VolumeID: vol.ID, Incremental: true})
		pending, err := s.CreateBackup(ctx, alice, storage.BackupCreate{VolumeID: fresh.ID})
		if err != nil {
			t.Fatal(err)
		}
		snap := made(t, s, alice, storage.SnapshotCreate{VolumeID: small.ID})
		other := made(t, s, alice, storage.SnapshotCreate{VolumeID: vol.ID})
		create := func(v storage.Viewer, c storage.BackupCreate) func() error {
			return func() error { _, err := s.CreateBackup(ctx, v, c); return err }
		}
		for _, c := range []struct {
			name   string
			limits map[string]int64
			call   func() error
			want   refusal
		}{
			{"another project's volume", nil, create(bob, storage.BackupCreate{VolumeID: vol.ID}),
				refusal{fault.NotFound, "Volume " + vol.ID + " could not be found.", false}},
			{"a volume creating", nil, create(alice, storage.BackupCreate{VolumeID: creating.ID}),
				refusal{fault.BadRequest, `Invalid volume: Volume to be backed up must be available or in-use, but the current status is "creating".`, false}},
			{"a volume backing up", nil, create(alice, storage.BackupCreate{VolumeID: fresh.ID}),
				refusal{fault.BadRequest, `Invalid volume: Volume to be backed up must be available or in-use, but the current status is "backing-up".`, false}},
			{"in-use without force", nil, create(alice, storage.BackupCreate{VolumeID: used.ID}),
				refusal{fault.BadRequest, "Invalid volume: Backing up an in-use volume must use the force flag.", false}},
			{"an incremental without a backup", nil, create(alice, storage.BackupCreate{VolumeID: small.ID, Incremental: true}),
				refusal{fault.BadRequest, "Invalid backup: No backups available to do an incremental backup.", false}},
			{"another volume's snapshot", nil, create(alice, storage.BackupCreate{VolumeID: small.ID, SnapshotID: other.ID}),
				refusal{fault.BadRequest, "Invalid volume: Volume " + small.ID + " does not match with snapshot.volume_id " + vol.ID + ".", false}},
			{"the backups quota", map[string]int64{"backups": 3}, create(alice, storage.BackupCreate{VolumeID: small.ID, SnapshotID: snap.ID}),
				refusal{fault.TooLarge, "Maximum number of backups allowed (3) exceeded", false}},
			{"the backup_gigabytes quota", map[string]int64{"backup_gigabytes": 5}, create(alice, storage.BackupCreate{VolumeID: vol.ID}),
				refusal{fault.TooLarge, "Requested backup exceeds allowed Backup gigabytes quota. Requested 2G, quota is 5G and 5G has been consumed.", false}},
			{"delete a backup being made", nil, func() error { _, err := s.DeleteBackup(ctx, alice, pending.ID, false); return err },
				refusal{fault.BadRequest, "Invalid backup: Backup status must be available or error", false}},
			{"delete a parent", nil, func() error { _, err := s.DeleteBackup(ctx, admin, full.ID, true); return err },
				refusal{fault.BadRequest, "Invalid backup: Incremental backups exist for this backup.", false}},
			{"delete another project's", nil, func() error { _, err := s.DeleteBackup(ctx, bob, inc.ID, false); return err },
				refusal{fault.NotFound, "Backup " + inc.ID + " could not be found.", false}},
			{"restore a backup being made", nil, func() error { _, _, err := s.RestoreBackup(ctx, alice, pending.ID, small.ID); return err },
				refusal{fault.BadRequest, "Invalid backup: Backup status must be available", false}},
			{"restore to a smaller volume", nil, func() error { _, _, err := s.RestoreBackup(ctx, alice, full.ID, small.ID); return err },
				refusal{fault.BadRequest, "Invalid volume: volume size 1 is too small to restore backup of size 2.", false}},
			{"restore to a volume in use", nil, func() error { _, _, err := s.RestoreBackup(ctx, alice, inc.ID, used.ID); return err },
				refusal{fault.BadRequest, "Invalid volume: Volume to be restored to must be available", false}},
			{"restore to bob's volume", nil, func() error { _, _, err := s.RestoreBackup(ctx, bob, inc.ID, vol.ID); return err },
				refusal{fault.NotFound, "Backup " + inc.ID + " could not be found.", false}},
			{"a volume from bob's view of the backup", nil, func() error {
				_, err := s.CreateVolume(ctx, bob, storage.VolumeCreate{BackupID: inc.ID})
				return err
			}, refusal{fault.NotFound, "Backup " + inc.ID + " could not be found.", false}},
			{"a volume from a backup being made", nil, func() error {
				_, err := s.CreateVolume(ctx, alice, storage.VolumeCreate{BackupID: pending.ID})
				return err
			}, refusal{fault.BadRequest, "Invalid backup: Originating backup status must be one of 'available' values", false}},
			{"a volume smaller than its backup", nil, func() error {
				_, err := s.CreateVolume(ctx, alice, storage.VolumeCreate{BackupID: full.ID, Size: 1})
				return err
			}, refusal{fault.BadRequest, "Invalid input received: Volume size 1GB cannot be smaller than the backup size 2GB. It must be >= backup size.", false}},
			{"a volume from a backup and a snapshot", nil, func() error {
				_, err := s.CreateVolume(ctx, alice, storage.VolumeCreate{BackupID: full.ID, SnapshotID: snap.ID})
				return err
			}, refusal{fault.BadRequest, "Invalid input received: May specify only one of backup, imageRef, snapshot, source volume", false}},
			{"a volume from a backup over the gigabytes quota", map[string]int64{"gigabytes": 10}, func() error {
				_, err := s.CreateVolume(ctx, alice, storage.VolumeCreate{BackupID: full.ID})
				return err
			}, refusal{fault.TooLarge, "Requested volume or snapshot exceeds allowed gigabytes quota. Requested 2G", true}},
			{"export a backup being made", nil, func() error { _, err := s.ExportBackupRecord(ctx, alice, pending.ID); return err },
				refusal{fault.BadRequest, "Invalid backup: Backup status must be available and not creating.", false}},
			{"import what is not base64", nil, importRecord(s, storage.BackupService, "abc"),
				refusal{fault.BadRequest, "Invalid input received: Can't parse backup record.", false}},
			{"import what is not JSON", nil, importRecord(s, storage.BackupService, b64("{not json")),
				refusal{fault.BadRequest, "Invalid input received: Can't parse backup record.", false}},
			{"import a record without an id", nil, importRecord(s, storage.BackupService, b64(`{"size": 1}`)),
				refusal{fault.BadRequest, "Invalid input received: Provided backup record is missing an id", false}},
			{"import a record without a size", nil, importRecord(s, storage.BackupService, b64(`{"id": "`+full.ID+`"}`)),
				refusal{fault.BadRequest, "Invalid input received: Provided backup record is missing size attribute", false}},
			{"import a backup that exists", nil, importRecord(s, storage.BackupService, b64(`{"id": "`+full.ID+`", "size": 2}`)),
				refusal{fault.BadRequest, "Invalid backup: Backup already exists in database.", false}},
			{"import of another backup service", nil, importRecord(s, "cinder.backup.drivers.swift.SwiftBackupDriver",
				b64(`{"id": "0b0b0b0b-0000-4000-8000-000000000002", "size": 2}`)),
				refusal{fault.Unavailable, "Service cinder.backup.drivers.swift.SwiftBackupDriver could not be found.", false}},
			{"import over the backups quota", map[string]int64{"backups": 3}, importRecord(s, storage.BackupService,
				b64(`{"id": "0b0b0b0b-0000-4000-8000-000000000003", "size": 2}`)),
				refusal{fault.TooLarge, "Maximum number of backups allowed (3) exceeded", false}},
			{"reset to creating", nil, func() error { _, err := s.ResetBackupStatus(ctx, admin, inc.ID, storage.BackupCreating); return err },
				refusal{fault.BadRequest, "Backup status: creating is invalid, valid statuses are: ['available', 'error'].", false}},
			{"a report from another host", nil, func() error {
				_, err := s.ReportBackup(ctx, "other@lvm#pool", pending.ID, storage.BackupReport{Status: storage.BackupCreating})
				return err
			}, refusal{fault.NotFound, "Backup " + pending.ID + " could not be found.", false}},
			{"a report on a status gone", nil, func() error {
				_, err := s.ReportBackup(ctx, full.Host, full.ID, storage.BackupReport{Status: storage.BackupCreating})
				return err
			}, refusal{fault.Conflict, "Conflict updating backup " + full.ID + ". Expected: {'status': 'creating'}. Actual: {'status': 'available'}", false}},
		} {
			t.Run(c.name, func(t *testing.T) {
				if err := s.DeleteQuotas(ctx, alice.Project); err != nil {
					t.Fatal(err)
				}
				if c.limits != nil {
					if _, err := s.SetQuotas(ctx, alice.Project, c.limits); err != nil {
						t.Fatal(err)
					}
				}
				before := backupRows(t, db, feed)
				c.want.check(t, c.call())
				before.same(t, db, feed)
			})
		}
		// A snapshot's backup: the snapshot backing-up, then available.
		if err := s.DeleteQuotas(ctx, alice.Project); err != nil {
			t.Fatal(err)
		}
		b, err := s.CreateBackup(ctx, alice, storage.BackupCreate{VolumeID: small.ID, SnapshotID: snap.ID})
		if n, _ := s.Snapshot(ctx, alice, snap.ID); err != nil || n.Status != storage.SnapshotBackingUp || !b.DataTimestamp.Equal(snap.CreatedAt) {
			t.Fatalf("snapshot backup: %+v %s %v", b, n.Status, err)
		}
		if v, _ := s.Volume(ctx, alice, small.ID); v.Status != storage.VolumeAvailable {
			t.Fatalf("the snapshot's volume %s", v.Status)
		}
		if _, err := s.ReportBackup(ctx, b.Host, b.ID, storage.BackupReport{Status: storage.BackupCreating, Error: "no"}); err != nil {
			t.Fatal(err)
		}
		if n, _ := s.Snapshot(ctx, alice, snap.ID); n.Status != storage.SnapshotAvailable {
			t.Fatalf("the snapshot after a failed backup: %s", n.Status)
		}
	})
}

func importRecord(s *storage.Store, service, url string) func() error {
	return func() error {
		_, err := s.ImportBackupRecord(context.Background(), alice, "u", storage.BackupRecord{Service: service, URL: url})
		return err
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
