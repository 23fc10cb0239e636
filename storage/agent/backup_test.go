package agent_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	kitagent "github.com/gostack/gostack/kit/agent"
	"github.com/gostack/gostack/storage"
	"github.com/gostack/gostack/storage/agent"
)

// fileBackend is fakeBackend whose volumes are also sparse files: what
// backups read and restores write.
type fileBackend struct {
	*fakeBackend
	dir string
}

var _ agent.Filer = (*fileBackend)(nil)

func (f *fileBackend) path(id string) string { return filepath.Join(f.dir, "volume-"+id) }

func (f *fileBackend) Create(ctx context.Context, v storage.Volume, src agent.Source) (agent.Export, error) {
	exp, err := f.fakeBackend.Create(ctx, v, src)
	if err != nil {
		return exp, err
	}
	file, err := os.OpenFile(f.path(v.ID), os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return exp, err
	}
	defer file.Close()
	return exp, file.Truncate(v.Size << 30)
}

func (f *fileBackend) VolumePath(_ context.Context, id string) (string, error) {
	_, err := os.Stat(f.path(id))
	return f.path(id), err
}

func (f *fileBackend) SnapshotPath(_ context.Context, id string) (string, error) {
	return "", os.ErrNotExist
}

// Backups through the agent: a full backup and an incremental one are
// made into the backup directory (a partial one a killed agent left is
// made again, whole), each restored to a new volume gives the bytes it
// backed up, a delete removes the files; an agent without a backup
// directory fails the backup with its reason.
func TestVolumeAgentBackups(t *testing.T) {
	store, url := controller(t)
	dir := t.TempDir()
	backups := filepath.Join(dir, "backups")
	b := &fileBackend{fakeBackend: &fakeBackend{vols: map[string]int64{}, failing: map[string]error{}}, dir: dir}
	start := func(backupDir string) func() {
		a := &agent.Agent{Config: agent.Config{Host: "node1@fake#fake", BackendName: "fake", SyncInterval: 100 * time.Millisecond,
			BackupDir: backupDir}, Backend: b,
			Session:   kitagent.NewSession(kitagent.Credentials{AuthURL: url + "/v3", Username: "volume-agent", Password: "x"}),
			VolumeURL: url, FeedURL: url + "/v1/watch/volume"}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- a.Run(ctx) }()
		return func() { cancel(); <-done }
	}
	wait := func(what string, cond func() bool) {
		t.Helper()
		for end := time.Now().Add(10 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("not %s after 10 s", what)
			}
		}
	}
	ctx, user, adm := context.Background(), storage.Viewer{Project: "proj"}, storage.Viewer{Admin: true}
	backup := func(id string) storage.Backup { bk, _ := store.Backup(ctx, adm, id); return bk }
	volume := func(id string) storage.Volume { v, _ := store.Volume(ctx, adm, id); return v }
	write := func(id string, off int64, c byte) {
		t.Helper()
		f, err := os.OpenFile(b.path(id), os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteAt(bytes.Repeat([]byte{c}, 1<<20), off); err != nil {
			t.Fatal(err)
		}
	}
	read := func(id string, off int64) []byte {
		t.Helper()
		f, err := os.Open(b.path(id))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		buf := make([]byte, 1<<20)
		if _, err := f.ReadAt(buf, off); err != nil {
			t.Fatal(err)
		}
		return buf
	}

	stop := start(backups)
	wait("a pool", func() bool { bs, _ := store.Backends(ctx); return len(bs) == 1 })
	v, err := store.CreateVolume(ctx, user, storage.VolumeCreate{UserID: "u", Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	wait("available", func() bool { return volume(v.ID).Status == storage.VolumeAvailable })
	write(v.ID, 4<<20, 0x31)
	full, err := store.CreateBackup(ctx, user, storage.BackupCreate{VolumeID: v.ID, UserID: "u"})
	if err != nil {
		t.Fatal(err)
	}
	wait("backed up", func() bool { return backup(full.ID).Status == storage.BackupAvailable })
	if n := backup(full.ID).ObjectCount; n != 1 || volume(v.ID).Status != storage.VolumeAvailable {
		t.Fatalf("full backup: %d objects, volume %s", n, volume(v.ID).Status)
	}
	stop()
	// A kill mid-backup left a partial directory: the next agent makes
	// the backup again, whole.
	write(v.ID, 4<<20, 0x32)
	write(v.ID, 12<<20, 0x33)
	inc, err := store.CreateBackup(ctx, user, storage.BackupCreate{VolumeID: v.ID, UserID: "u", Incremental: true})
	if err != nil {
		t.Fatal(err)
	}
	partial := filepath.Join(backups, ".partial-"+inc.ID)
	if err := os.MkdirAll(partial, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(partial, "backup-00001"), []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	stop = start(backups)
	defer func() { stop() }()
	wait("the incremental backed up", func() bool { return backup(inc.ID).Status == storage.BackupAvailable })
	if n := backup(inc.ID).ObjectCount; n != 2 {
		t.Fatalf("incremental: %d objects", n)
	}
	if _, err := os.Stat(partial); !os.IsNotExist(err) {
		t.Fatalf("the partial directory: %v", err)
	}
	for _, x := range []struct {
		backup   string
		at4, a12 byte
	}{{full.ID, 0x31, 0}, {inc.ID, 0x32, 0x33}} {
		dst, err := store.CreateVolume(ctx, user, storage.VolumeCreate{UserID: "u", Size: 2})
		if err != nil {
			t.Fatal(err)
		}
		wait("the restore's volume", func() bool { return volume(dst.ID).Status == storage.VolumeAvailable })
		write(dst.ID, 12<<20, 0x99) // what was there goes
		if _, _, err := store.RestoreBackup(ctx, user, x.backup, dst.ID); err != nil {
			t.Fatal(err)
		}
		wait("restored", func() bool { return volume(dst.ID).Status == storage.VolumeAvailable })
		if got := read(dst.ID, 4<<20); !bytes.Equal(got, bytes.Repeat([]byte{x.at4}, 1<<20)) {
			t.Fatalf("restore of %s at 4 MiB: %x...", x.backup, got[:4])
		}
		if got := read(dst.ID, 12<<20); !bytes.Equal(got, bytes.Repeat([]byte{x.a12}, 1<<20)) {
			t.Fatalf("restore of %s at 12 MiB: %x...", x.backup, got[:4])
		}
	}
	// A volume made from a backup (3.47): of the backup's size, its
	// bytes, available only once they are written, marked with the
	// backup it came from.
	made, err := store.CreateVolume(ctx, user, storage.VolumeCreate{UserID: "u", BackupID: inc.ID})
	if err != nil {
		t.Fatal(err)
	}
	if made.Size != 1 || made.Status != storage.VolumeCreating || backup(inc.ID).Status != storage.BackupRestoring ||
		backup(inc.ID).RestoreVolumeID != made.ID {
		t.Fatalf("made from a backup: size %d, %s; the backup %s to %s", made.Size, made.Status, backup(inc.ID).Status, backup(inc.ID).RestoreVolumeID)
	}
	wait("made from the backup", func() bool { return volume(made.ID).Status == storage.VolumeAvailable })
	if got := read(made.ID, 12<<20); !bytes.Equal(got, bytes.Repeat([]byte{0x33}, 1<<20)) {
		t.Fatalf("volume from backup at 12 MiB: %x...", got[:4])
	}
	if md := volume(made.ID).Metadata; md["src_backup_id"] != inc.ID || backup(inc.ID).Status != storage.BackupAvailable {
		t.Fatalf("volume from backup: metadata %v, the backup %s", md, backup(inc.ID).Status)
	}
	for _, id := range []string{inc.ID, full.ID} {
		if _, err := store.DeleteBackup(ctx, user, id, false); err != nil {
			t.Fatal(err)
		}
		wait("deleted", func() bool { _, err := store.Backup(ctx, adm, id); return err != nil })
	}
	if left, _ := os.ReadDir(backups); len(left) != 0 {
		t.Fatalf("left in the backup directory: %v", left)
	}
	stop()
	stop = start("")
	bad, err := store.CreateBackup(ctx, user, storage.BackupCreate{VolumeID: v.ID, UserID: "u"})
	if err != nil {
		t.Fatal(err)
	}
	wait("in error", func() bool { return backup(bad.ID).Status == storage.BackupError })
	if r := backup(bad.ID).FailReason; r == nil || !strings.Contains(*r, "no backup directory") || volume(v.ID).Status != storage.VolumeAvailable {
		t.Fatalf("the failed backup: %v, volume %s", r, volume(v.ID).Status)
	}
	// A volume made from a backup this agent cannot restore fails, and
	// the backup is available again.
	ok, err := store.CreateBackup(ctx, user, storage.BackupCreate{VolumeID: v.ID, UserID: "u", Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.ResetBackupStatus(ctx, adm, ok.ID, storage.BackupAvailable); err != nil {
		t.Fatal(err)
	}
	failed, err := store.CreateVolume(ctx, user, storage.VolumeCreate{UserID: "u", BackupID: ok.ID, Size: 2})
	if err != nil {
		t.Fatal(err)
	}
	wait("the volume from the backup in error", func() bool { return volume(failed.ID).Status == storage.VolumeError })
	if bk := backup(ok.ID); bk.Status != storage.BackupAvailable || bk.FailReason == nil || !strings.Contains(volume(failed.ID).Message, "no backup directory") {
		t.Fatalf("the backup after a failed restore: %s %v; the volume says %q", bk.Status, bk.FailReason, volume(failed.ID).Message)
	}
}

// A backup exported from one cloud and imported into another whose
// agent shares the backup store (Cinder's export_record and
// import_record): available there with the volume and objects the store
// recorded, restored with the bytes it backed up; imported again it is
// refused; a record of a backup the store does not hold ends in error.
func TestVolumeAgentBackupImport(t *testing.T) {
	ctx, user, adm := context.Background(), storage.Viewer{Project: "proj"}, storage.Viewer{Admin: true, Project: "admins"}
	backups := filepath.Join(t.TempDir(), "backups")
	run := func(url string, b *fileBackend) {
		a := &agent.Agent{Config: agent.Config{Host: "node1@fake#fake", BackendName: "fake", SyncInterval: 100 * time.Millisecond,
			BackupDir: backups}, Backend: b,
			Session:   kitagent.NewSession(kitagent.Credentials{AuthURL: url + "/v3", Username: "volume-agent", Password: "x"}),
			VolumeURL: url, FeedURL: url + "/v1/watch/volume"}
		actx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- a.Run(actx) }()
		t.Cleanup(func() { cancel(); <-done })
	}
	wait := func(what string, cond func() bool) {
		t.Helper()
		for end := time.Now().Add(10 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("not %s after 10 s", what)
			}
		}
	}
	newBackend := func() *fileBackend {
		return &fileBackend{fakeBackend: &fakeBackend{vols: map[string]int64{}, failing: map[string]error{}}, dir: t.TempDir()}
	}
	// The first cloud: a volume with a pattern, backed up.
	storeA, urlA := controller(t)
	ba := newBackend()
	run(urlA, ba)
	wait("a pool", func() bool { bs, _ := storeA.Backends(ctx); return len(bs) == 1 })
	v, err := storeA.CreateVolume(ctx, user, storage.VolumeCreate{UserID: "u", Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	wait("available", func() bool { x, _ := storeA.Volume(ctx, adm, v.ID); return x.Status == storage.VolumeAvailable })
	f, err := os.OpenFile(ba.path(v.ID), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt(bytes.Repeat([]byte{0x5c}, 1<<20), 6<<20)
	f.Close()
	bk, err := storeA.CreateBackup(ctx, user, storage.BackupCreate{VolumeID: v.ID, UserID: "u"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := storeA.ExportBackupRecord(ctx, user, bk.ID); err == nil || !strings.Contains(err.Error(), "Backup status must be available and not creating.") {
		t.Fatalf("export of a backup being made: %v", err)
	}
	wait("backed up", func() bool { x, _ := storeA.Backup(ctx, adm, bk.ID); return x.Status == storage.BackupAvailable })
	made, _ := storeA.Backup(ctx, adm, bk.ID)
	rec, err := storeA.ExportBackupRecord(ctx, user, bk.ID)
	if err != nil || rec.Service != storage.BackupService {
		t.Fatalf("export: %+v %v", rec, err)
	}

	// The second cloud, on the same backup store.
	storeB, urlB := controller(t)
	bb := newBackend()
	run(urlB, bb)
	wait("a pool", func() bool { bs, _ := storeB.Backends(ctx); return len(bs) == 1 })
	imp, err := storeB.ImportBackupRecord(ctx, adm, "admin-user", rec)
	if err != nil {
		t.Fatal(err)
	}
	if imp.ID != bk.ID || imp.Status != storage.BackupCreating || imp.VolumeID != storage.ImportVolumeID || imp.ProjectID != "admins" {
		t.Fatalf("imported: %+v", imp)
	}
	wait("imported", func() bool { x, _ := storeB.Backup(ctx, adm, bk.ID); return x.Status == storage.BackupAvailable })
	got, _ := storeB.Backup(ctx, adm, bk.ID)
	if got.VolumeID != v.ID || got.ObjectCount != made.ObjectCount || got.Size != 1 {
		t.Fatalf("the imported backup: volume %s, %d objects, %d GiB; it was %s, %d, %d", got.VolumeID, got.ObjectCount, got.Size,
			v.ID, made.ObjectCount, made.Size)
	}
	if _, err := storeB.ImportBackupRecord(ctx, adm, "admin-user", rec); err == nil || !strings.Contains(err.Error(), "Backup already exists in database.") {
		t.Fatalf("imported twice: %v", err)
	}
	dst, err := storeB.CreateVolume(ctx, adm, storage.VolumeCreate{UserID: "u", BackupID: bk.ID})
	if err != nil {
		t.Fatal(err)
	}
	wait("restored", func() bool { x, _ := storeB.Volume(ctx, adm, dst.ID); return x.Status == storage.VolumeAvailable })
	buf := make([]byte, 1<<20)
	rf, err := os.Open(bb.path(dst.ID))
	if err != nil {
		t.Fatal(err)
	}
	rf.ReadAt(buf, 6<<20)
	rf.Close()
	if !bytes.Equal(buf, bytes.Repeat([]byte{0x5c}, 1<<20)) {
		t.Fatalf("the volume restored from the imported backup: %x...", buf[:4])
	}

	// A record of a backup the store does not hold.
	raw, _ := storage.DecodeBase64(rec.URL)
	other := strings.Replace(string(raw), bk.ID, "0b0b0b0b-0000-4000-8000-000000000001", 1)
	lost, err := storeB.ImportBackupRecord(ctx, adm, "admin-user", storage.BackupRecord{Service: rec.Service,
		URL: base64.StdEncoding.EncodeToString([]byte(other))})
	if err != nil {
		t.Fatal(err)
	}
	wait("in error", func() bool { x, _ := storeB.Backup(ctx, adm, lost.ID); return x.Status == storage.BackupError })
	if x, _ := storeB.Backup(ctx, adm, lost.ID); x.FailReason == nil || !strings.Contains(*x.FailReason, "is not in the backup store") {
		t.Fatalf("the lost backup's reason: %v", x.FailReason)
	}
}
