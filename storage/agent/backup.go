package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/gostack/gostack/kit/crashpoint"
	"github.com/gostack/gostack/storage"
	"github.com/gostack/gostack/storage/chunked"
)

// Filer is a Backend whose volumes and snapshots are files the agent
// reads and writes: backups are made from them and restored into them.
type Filer interface {
	VolumePath(ctx context.Context, id string) (string, error)
	SnapshotPath(ctx context.Context, id string) (string, error)
}

// Opener is a Backend whose volumes and snapshots the agent reads and
// writes through the backend's own client (an RBD image through
// librbd), as Cinder's chunked backup drivers read any backend through
// its connector: backups are made from them and restored into them. A
// reader or writer may also say where its data is (chunked.Extenter)
// and zero itself without writing (chunked.Zeroer).
type Opener interface {
	// ReadVolume opens volume id for backup backupID to read. live says
	// a guest may be writing it (it was in-use): the backend then reads
	// a point-in-time copy (Cinder's temporary snapshot of an in-use
	// volume's backup), which Close removes, and the backend's sweep
	// after a kill.
	ReadVolume(ctx context.Context, id, backupID string, live bool) (VolumeReader, error)
	// ReadSnapshot opens snapshot snapID of volume volID to read.
	ReadSnapshot(ctx context.Context, volID, snapID string) (VolumeReader, error)
	// WriteVolume opens volume id to write (a restore); Close makes
	// the writes durable.
	WriteVolume(ctx context.Context, id string) (VolumeWriter, error)
}

// VolumeReader is a volume or a snapshot a backup reads.
type VolumeReader interface {
	io.ReaderAt
	io.Closer
}

// VolumeWriter is a volume a restore writes.
type VolumeWriter interface {
	io.WriterAt
	io.Closer
}

// backups does the work of the backups on this host (Cinder's backup
// service, in the volume's agent): creating → the volume's (or
// snapshot's) content stored as a chunked backup in Config.BackupDir,
// incremental on its parent; restoring → the backup's chain written
// into the restore volume; deleting → removed. Each is reported through
// the internal API; a backup made or removed before a kill is found so
// at the next sync and reported then.
func (a *Agent) backups(ctx context.Context, st storage.BackendState, stats *SyncStats) {
	for _, b := range st.Backups {
		var err error
		rep := storage.BackupReport{Status: b.Status}
		store, ferr := a.backupStore()
		switch {
		case ferr != nil:
			err = ferr
		case b.Status == storage.BackupCreating && b.VolumeID == storage.ImportVolumeID:
			rep, err = importOf(store, b)
		case b.Status == storage.BackupCreating:
			var res chunked.Result
			res, err = a.backUp(ctx, store, b)
			if err == nil {
				crashpoint.Hit("volume.agent.backed-up")
				rep.ObjectCount = res.Objects
			}
		case b.Status == storage.BackupRestoring && restoresNew(b, st):
			continue // with its volume's creation
		case b.Status == storage.BackupRestoring:
			err = a.restore(ctx, store, b)
			if err == nil {
				crashpoint.Hit("volume.agent.restored")
			}
		case b.Status == storage.BackupDeleting:
			err = store.Delete(ctx, b.ID)
			if err == nil {
				crashpoint.Hit("volume.agent.backup-deleted")
			}
		default:
			continue
		}
		a.done(ctx, job{backup: &b}, rep, err, stats)
	}
}

// backupStore is the backup directory, made when missing.
func (a *Agent) backupStore() (*chunked.Store, error) {
	if a.Config.BackupDir == "" {
		return nil, permanentError{errors.New("this backend's agent has no backup directory")}
	}
	_, filer := a.Backend.(Filer)
	_, opener := a.Backend.(Opener)
	if !filer && !opener {
		return nil, permanentError{errors.New("this backend cannot back volumes up")}
	}
	if err := os.MkdirAll(a.Config.BackupDir, 0o700); err != nil {
		return nil, err
	}
	return &chunked.Store{Dir: a.Config.BackupDir}, nil
}

// backUp stores backup b of its volume (or snapshot): a Filer's file,
// or what an Opener reads.
func (a *Agent) backUp(ctx context.Context, store *chunked.Store, b storage.Backup) (chunked.Result, error) {
	j := chunked.Job{ID: b.ID, VolumeID: b.VolumeID, ParentID: b.ParentID, Size: b.Size << 30}
	var err error
	switch be := a.Backend.(type) {
	case Filer:
		if b.SnapshotID != "" {
			j.Source, err = be.SnapshotPath(ctx, b.SnapshotID)
		} else {
			j.Source, err = be.VolumePath(ctx, b.VolumeID)
		}
	case Opener:
		var r VolumeReader
		if b.SnapshotID != "" {
			r, err = be.ReadSnapshot(ctx, b.VolumeID, b.SnapshotID)
		} else {
			r, err = be.ReadVolume(ctx, b.VolumeID, b.ID, b.PreviousStatus == string(storage.VolumeInUse))
		}
		if err == nil {
			defer func() {
				// What it leaves (a temporary snapshot) is swept; the
				// backup is whole.
				if err := r.Close(); err != nil {
					a.log().Warn("volume agent: a backup's volume could not be closed cleanly", "backup", b.ID, "err", err)
				}
			}()
			j.Reader = r
		}
	}
	if err != nil {
		return chunked.Result{}, fmt.Errorf("backup %s: %w", b.ID, err)
	}
	start := time.Now()
	res, err := store.Backup(ctx, j)
	if err != nil {
		return res, err
	}
	a.log().Info("volume agent: backed up", "backup", b.ID, "volume", b.VolumeID, "snapshot", b.SnapshotID, "incremental", b.ParentID != "",
		"objects", res.Objects, "bytes", res.Bytes, "stored", res.Stored, "took", time.Since(start))
	return res, nil
}

// restore writes backup b into its restore volume: a Filer's file, or
// what an Opener writes.
func (a *Agent) restore(ctx context.Context, store *chunked.Store, b storage.Backup) error {
	start := time.Now()
	switch be := a.Backend.(type) {
	case Filer:
		dst, err := be.VolumePath(ctx, b.RestoreVolumeID)
		if err != nil {
			return fmt.Errorf("restore %s: %w", b.ID, err)
		}
		if err := store.Restore(ctx, b.ID, dst); err != nil {
			return err
		}
	case Opener:
		w, err := be.WriteVolume(ctx, b.RestoreVolumeID)
		if err != nil {
			return fmt.Errorf("restore %s: %w", b.ID, err)
		}
		err = store.RestoreTo(ctx, b.ID, w)
		if cerr := w.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("restore %s: %w", b.ID, cerr)
		}
		if err != nil {
			return err
		}
	}
	a.log().Info("volume agent: restored", "backup", b.ID, "volume", b.RestoreVolumeID, "took", time.Since(start))
	return nil
}

// restoresNew tells whether restoring backup b writes a volume being
// made from it (Cinder's 3.47), which the volume's creation does.
func restoresNew(b storage.Backup, st storage.BackendState) bool {
	return slices.ContainsFunc(st.Volumes, func(v storage.Volume) bool {
		return v.ID == b.RestoreVolumeID && v.Status == storage.VolumeCreating
	})
}

// restoreOf is the backup being restored into volume v, which is being
// made from it; nil for none.
func restoreOf(v storage.Volume, st storage.BackendState) *storage.Backup {
	i := slices.IndexFunc(st.Backups, func(b storage.Backup) bool {
		return b.Status == storage.BackupRestoring && b.RestoreVolumeID == v.ID
	})
	if i < 0 {
		return nil
	}
	b := st.Backups[i]
	return &b
}

// restoreNew writes backup b into the volume just made from it and
// reports the restore; it tells whether the restore was done and its
// report taken, so the volume may be reported made.
func (a *Agent) restoreNew(ctx context.Context, b *storage.Backup, stats *SyncStats) bool {
	store, err := a.backupStore()
	if err == nil {
		err = a.restore(ctx, store, *b)
	}
	if err == nil {
		crashpoint.Hit("volume.agent.restored")
	}
	return a.done(ctx, job{backup: b}, storage.BackupReport{Status: b.Status}, err, stats) && err == nil
}

// importOf checks an imported backup (Cinder's import_record) against
// the backup store: its files must be there, of the record's backup,
// size and parent (whose files must be there too). The report names
// the volume the store recorded and the objects it holds.
func importOf(store *chunked.Store, b storage.Backup) (storage.BackupReport, error) {
	rep := storage.BackupReport{Status: b.Status}
	md, err := store.Metadata(b.ID)
	if err != nil {
		return rep, permanentError{fmt.Errorf("Import record failed: backup %s is not in the backup store: %w", b.ID, err)}
	}
	parent := ""
	if md.ParentID != nil {
		parent = *md.ParentID
	}
	switch {
	case md.BackupID != b.ID:
		err = fmt.Errorf("the backup store's backup %s says it is backup %s", b.ID, md.BackupID)
	case md.Size != b.Size<<30:
		err = fmt.Errorf("the backup store holds %d bytes of volume %s, the record says %d GiB", md.Size, md.VolumeID, b.Size)
	case parent != b.ParentID:
		err = fmt.Errorf("the backup store's backup builds on %q, the record's on %q", parent, b.ParentID)
	case parent != "":
		if _, perr := store.Metadata(parent); perr != nil {
			err = fmt.Errorf("its parent backup %s is not in the backup store", parent)
		}
	}
	if err != nil {
		return rep, permanentError{fmt.Errorf("Import record failed: %w", err)}
	}
	rep.ObjectCount, rep.VolumeID = int64(len(md.Objects)), md.VolumeID
	return rep, nil
}
