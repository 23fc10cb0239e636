package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/gostack/gostack/storage"
	"github.com/gostack/gostack/storage/chunked"
	"github.com/gostack/gostack/storage/rbd"
)

// RBD is the Backend of volumes kept as Ceph RBD images (storage/rbd),
// as Cinder's RBD driver keeps them: volume-<id> in the client's pool,
// snapshots snapshot-<id> (protected), volumes from snapshots and from
// volumes copy-on-write clones (flattened past the clone depth), a
// volume from an image the image's raw content written in thin.
//
// There is nothing to export: hosts reach the images through the
// cluster's monitors. A volume's export records them, with the pool,
// the image, the cluster name, the cephx user and the libvirt secret's
// uuid, in provider_location (storage.RBDExport), from which the
// controller answers Cinder's RBD connection info; provider_auth stays
// empty (the key is in the compute hosts' libvirt secret, as with
// Cinder). Reconcile has nothing to do and removes nothing.
//
// A delete refused because the volume is in use is reported busy
// (Busier): a snapshot volumes are cloned from, a volume with snapshots
// at once; a volume a client has open after the agent's retries (a
// crashed client's watch ends within 30 s), as Cinder's driver retries.
// The volume or snapshot goes back to available with the reason, as
// Cinder's VolumeIsBusy and SnapshotIsBusy do. A volume that only its
// clones hold is deleted (renamed volume-<id>.deleted, removed with its
// last clone), so it is never left deleting.
//
// Backups read the volume's image through librbd (Opener), an in-use
// volume's at a temporary snapshot (backup-<id>.backup_snap, removed
// once read, swept after a kill), a snapshot's at the snapshot, only
// where objects exist; restores write the image, discarded first so it
// stays thin.
//
// A leftover of earlier work (rbd.ErrLeftover: a volume-<id>.partial a
// killed agent's client still holds, a parent's .clone_snap or a
// deleted parent a delete could not release) is never the volume's
// failure: a create waits for it (Waiter: not counted toward the
// agent's attempts), a delete is done and logs it, and the agent's
// periodic Sweep removes it once released. The pool must be the
// backend's own: Sweep removes the leftovers it finds there.
type RBD struct {
	Client *rbd.Client
	// TempDir is where Content exports a volume for an upload to an
	// image ("" refuses uploads).
	TempDir string
	// Log is where a delete's leftovers are told (slog.Default when
	// nil).
	Log *slog.Logger
}

var (
	_ Backend     = (*RBD)(nil)
	_ Sweeper     = (*RBD)(nil)
	_ Permanenter = (*RBD)(nil)
	_ Busier      = (*RBD)(nil)
	_ Waiter      = (*RBD)(nil)
	_ ImageCloner = (*RBD)(nil)
	_ Opener      = (*RBD)(nil)
	_ Claimer     = (*RBD)(nil)
)

// Cloneable: the image at loc is an RBD image of this cluster the
// backend can open (rbd.Client.Cloneable); a volume of it is a
// copy-on-write clone.
func (b *RBD) Cloneable(ctx context.Context, loc string) error { return b.Client.Cloneable(ctx, loc) }

// Create makes the volume's image: empty, a clone of its snapshot, a
// clone (or, past the clone depth, a flattened clone) of its source
// volume, or its image's raw content; then records where it is. A
// multiattach volume's image goes without the features that let one
// writer at a time (rbd.Client.Multiattach), however it was made, as
// Cinder's _setup_volume does after each create; a clone has the
// cluster's default features, whatever its source had.
func (b *RBD) Create(ctx context.Context, v storage.Volume, src Source) (Export, error) {
	size := v.Size * gib
	var err error
	switch {
	case src.SnapshotID != "":
		if src.SnapshotOf == "" {
			return Export{}, permanentError{fmt.Errorf("volume %s: the volume of snapshot %s is not known", v.ID, src.SnapshotID)}
		}
		err = b.Client.CreateFromSnapshot(ctx, v.ID, src.SnapshotOf, src.SnapshotID, size)
	case src.VolumeID != "":
		err = b.Client.CloneVolume(ctx, v.ID, src.VolumeID, size)
	case src.ImageLocation != "":
		err = b.Client.CloneImage(ctx, v.ID, src.ImageLocation, size)
	case src.File != "":
		err = b.Client.Import(ctx, v.ID, src.File, src.Bytes, size)
	default:
		err = b.Client.Create(ctx, v.ID, size)
	}
	if err == nil && v.Multiattach {
		err = b.Client.Multiattach(ctx, v.ID)
	}
	if err != nil {
		return Export{}, err
	}
	return b.export(ctx, v.ID)
}

// CreateClaimed makes a migration's copy of the volume, its image
// marked with claim (rbd.Client.CreateClaimed: an image of that id not
// so marked is refused, rbd.ErrNotClaimed), ready for multiattach if
// the volume is.
func (b *RBD) CreateClaimed(ctx context.Context, v storage.Volume, claim string) (Export, error) {
	err := b.Client.CreateClaimed(ctx, v.ID, claim, v.Size*gib)
	if err == nil && v.Multiattach {
		err = b.Client.Multiattach(ctx, v.ID)
	}
	if err != nil {
		return Export{}, err
	}
	return b.export(ctx, v.ID)
}

// Claimed says whether the volume's image is marked with claim.
func (b *RBD) Claimed(ctx context.Context, id, claim string) (bool, error) {
	return b.Client.Claimed(ctx, id, claim)
}

// export is where volume id is, its monitors read now. Monitors past
// provider_location's 256 characters are left out and logged (the
// connection info takes the monitors of the backend's last report, all
// of them); a location with no room for one is a permanent failure.
func (b *RBD) export(ctx context.Context, id string) (Export, error) {
	c, err := b.Client.Connection(ctx, id)
	if err != nil {
		return Export{}, err
	}
	x := storage.RBDExport{Name: c.Pool + "/" + c.Image, ClusterName: c.ClusterName, User: c.User, SecretUUID: c.SecretUUID,
		Hosts: c.Hosts, Ports: c.Ports}
	loc, omitted, err := x.Location()
	if err != nil {
		return Export{}, permanentError{err}
	}
	if omitted > 0 {
		b.log().Warn("rbd backend: monitors left out of the volume's provider_location (256 characters); its connections take the backend's reported monitors",
			"volume", id, "monitors", len(x.Hosts), "left_out", omitted)
	}
	return Export{Location: loc}, nil
}

// Extend grows the volume's image (the export's monitors read again).
func (b *RBD) Extend(ctx context.Context, v storage.Volume, size int64) (Export, error) {
	if err := b.Client.Resize(ctx, v.ID, size*gib); err != nil {
		return Export{}, err
	}
	return b.export(ctx, v.ID)
}

// Delete removes the volume's image (rbd.Client.Delete: Cinder's
// delete_volume). What it could not remove with it (rbd.ErrLeftover) is
// logged and left to the sweep: the volume is deleted.
func (b *RBD) Delete(ctx context.Context, id string) error {
	err := b.Client.Delete(ctx, id)
	if errors.Is(err, rbd.ErrLeftover) {
		b.log().Warn("rbd backend: volume deleted; what it leaves is removed by a later sweep", "volume", id, "err", err)
		return nil
	}
	return err
}

func (b *RBD) log() *slog.Logger {
	if b.Log != nil {
		return b.Log
	}
	return slog.Default()
}

// Reconcile has nothing to export again, and removes nothing.
func (b *RBD) Reconcile(context.Context, []storage.Volume) error { return nil }

// Capacity is the pool's, as Cinder's RBD driver reports it: protocol
// "ceph", thin provisioned; with the cluster's monitors ("mon dump"
// now), which the connection info of every volume of the backend takes,
// as Cinder's driver reads them at each initialize_connection. The pool
// takes multiattach volumes, as Cinder's RBD driver reports.
func (b *RBD) Capacity(ctx context.Context) (storage.BackendReport, error) {
	c, err := b.Client.Capacity(ctx)
	if err != nil {
		return storage.BackendReport{}, fmt.Errorf("rbd backend: %w", err)
	}
	hosts, ports, err := b.Client.Monitors(ctx)
	if err != nil {
		return storage.BackendReport{}, fmt.Errorf("rbd backend: %w", err)
	}
	mons := make([]string, len(hosts))
	for i, h := range hosts {
		if strings.Contains(h, ":") {
			h = "[" + h + "]"
		}
		mons[i] = h + ":" + ports[i]
	}
	cfg := b.Client.Config()
	return storage.BackendReport{TotalCapacityGB: storage.GB(c.TotalGB), FreeCapacityGB: storage.GB(c.FreeGB),
		ThinProvisioningSupport: true, Multiattach: true, StorageProtocol: "ceph", VendorName: "Open Source", DriverVersion: "1.3.0", RBDMonitors: mons,
		Capabilities: map[string]any{storage.CapLocationInfo: storage.RBDLocationInfo(cfg.ClusterName, cfg.ConfFile, b.Client.FSID(), cfg.User, cfg.Pool)}}, nil
}

// CopyToPool writes v's data into its migration's destination copy, an
// image of another pool of this cluster (PoolCopier), by librbd.
func (b *RBD) CopyToPool(ctx context.Context, v storage.Volume) error {
	x, err := storage.ParseRBDExport(v.Retype.DestLocation)
	if err != nil {
		return permanentError{err}
	}
	pool, _, _ := strings.Cut(x.Name, "/")
	err = b.Client.CopyToPool(ctx, v.ID, pool, v.Retype.Claim)
	if errors.Is(err, rbd.ErrNotClaimed) || errors.Is(err, rbd.ErrInvalid) {
		return permanentError{err}
	}
	return err
}

// Content is the volume's content exported to a sparse raw file in
// TempDir (Cinder's copy_volume_to_image runs rbd export), removed on
// release. The volume may be in use: a crash-consistent copy at best, as
// Cinder's forced upload.
func (b *RBD) Content(ctx context.Context, v storage.Volume) (string, func(), error) {
	if b.TempDir == "" {
		return "", nil, permanentError{errors.New("this RBD backend has no directory to export volumes into")}
	}
	if err := os.MkdirAll(b.TempDir, 0o700); err != nil {
		return "", nil, err
	}
	p := filepath.Join(b.TempDir, v.ID+exportSuffix)
	if _, err := b.Client.Export(ctx, v.ID, p); err != nil {
		os.Remove(p)
		return "", nil, err
	}
	return p, func() { os.Remove(p) }, nil
}

// exportSuffix names Content's files in TempDir.
const exportSuffix = ".rbd-export"

// CreateSnapshot makes and protects the snapshot's RBD snapshot.
func (b *RBD) CreateSnapshot(ctx context.Context, n storage.Snapshot) error {
	return b.Client.CreateSnapshot(ctx, n.VolumeID, n.ID)
}

// DeleteSnapshot unprotects and removes the snapshot's RBD snapshot; one
// volumes are cloned from is busy.
func (b *RBD) DeleteSnapshot(ctx context.Context, n storage.Snapshot) error {
	return b.Client.DeleteSnapshot(ctx, n.VolumeID, n.ID)
}

// Sweep removes what a stopped agent left: half-filled images, unused
// clone snapshots, backups' temporary snapshots, deleted volumes nothing
// holds (rbd.Client.Sweep), and Content's files.
func (b *RBD) Sweep(ctx context.Context) error {
	if b.TempDir != "" {
		left, _ := filepath.Glob(filepath.Join(b.TempDir, "*"+exportSuffix))
		for _, p := range left {
			os.Remove(p)
		}
	}
	return b.Client.Sweep(ctx)
}

// Permanent: a request the cluster refuses for good (an image in the way,
// another's image a migration's copy would take,
// a source that is gone, a shrink, a build without Ceph), and a busy
// delete that waiting does not mend (snapshots, clones); a volume a
// client has open is tried again.
func (b *RBD) Permanent(err error) bool {
	var be *rbd.BusyError
	if errors.As(err, &be) {
		return len(be.Snapshots) > 0 || len(be.Children) > 0
	}
	return errors.Is(err, rbd.ErrExists) || errors.Is(err, rbd.ErrNotClaimed) || errors.Is(err, rbd.ErrInvalid) || errors.Is(err, rbd.ErrNotFound) ||
		errors.Is(err, rbd.ErrUnavailable)
}

// Waiting: a leftover of earlier work is in the way (rbd.ErrLeftover),
// not the volume.
func (b *RBD) Waiting(err error) bool { return errors.Is(err, rbd.ErrLeftover) }

// Busy: the volume or snapshot is in use (rbd.ErrBusy).
func (b *RBD) Busy(err error) bool { return errors.Is(err, rbd.ErrBusy) }

// ReadVolume opens volume id's image for backup backupID to read; a
// live (in-use) volume is read at a temporary snapshot, removed by
// Close (by Sweep after a kill).
func (b *RBD) ReadVolume(ctx context.Context, id, backupID string, live bool) (VolumeReader, error) {
	var h *rbd.Handle
	var err error
	if live {
		h, err = b.Client.OpenBackupSnapshot(ctx, id, backupID)
	} else {
		h, err = b.Client.OpenVolume(ctx, id)
	}
	if err != nil {
		return nil, err
	}
	return rbdData{h}, nil
}

// ReadSnapshot opens snapshot snapID of volume volID to read.
func (b *RBD) ReadSnapshot(ctx context.Context, volID, snapID string) (VolumeReader, error) {
	h, err := b.Client.OpenSnapshot(ctx, volID, snapID)
	if err != nil {
		return nil, err
	}
	return rbdData{h}, nil
}

// WriteVolume opens volume id's image to write a restore into.
func (b *RBD) WriteVolume(ctx context.Context, id string) (VolumeWriter, error) {
	h, err := b.Client.OpenVolume(ctx, id)
	if err != nil {
		return nil, err
	}
	return rbdData{h}, nil
}

// rbdData is an open image as the backup store reads and writes it:
// only its allocated objects read (chunked.Extenter), zeroed by a
// discard (chunked.Zeroer).
type rbdData struct{ *rbd.Handle }

var (
	_ chunked.Extenter = rbdData{}
	_ chunked.Zeroer   = rbdData{}
)

// Extents are the image's allocated extents.
func (d rbdData) Extents(ctx context.Context, size int64) ([]chunked.Extent, error) {
	ext, err := d.Handle.Extents(ctx, size)
	if err != nil {
		return nil, err
	}
	out := make([]chunked.Extent, len(ext))
	for i, e := range ext {
		out[i] = chunked.Extent{Offset: e.Offset, Length: e.Length}
	}
	return out, nil
}

var (
	_ Retyper = (*RBD)(nil)
	_ Filler  = (*RBD)(nil)
)

// Retype is Cinder's RBD driver's retype on the same pool: a type that
// turns multiattach on takes the image's single-writer features off
// (_enable_multiattach, rbd.Client.Multiattach), one that turns it off
// puts the cluster's defaults of them back (_disable_multiattach,
// rbd.Client.SingleWriter). Either is no work when done already. A
// retype that leaves multiattach as it was (v.Multiattach is the old
// type's until the retype is done) does nothing to the image, as
// Cinder's: an in-use volume's image a guest has open keeps its
// features.
func (b *RBD) Retype(ctx context.Context, v storage.Volume, multiattach bool) error {
	switch {
	case multiattach == v.Multiattach:
		return nil
	case multiattach:
		return b.Client.Multiattach(ctx, v.ID)
	}
	return b.Client.SingleWriter(ctx, v.ID)
}

// Fill writes the raw file at path into the volume's image, made
// already as large (a migration's copy): its runs of zeros skipped, so
// the image stays thin (it was made empty). Done again after a kill, it
// writes the same data.
func (b *RBD) Fill(ctx context.Context, v storage.Volume, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h, err := b.Client.OpenVolume(ctx, v.ID)
	if err != nil {
		return err
	}
	buf := make([]byte, sparseChunk)
	var off int64
	for off < h.Size() {
		if err := ctx.Err(); err != nil {
			h.Close()
			return err
		}
		n, rerr := io.ReadFull(f, buf[:min(int64(len(buf)), h.Size()-off)])
		if n > 0 && !bytes.Equal(buf[:n], zeroChunk[:n]) {
			if _, err := h.WriteAt(buf[:n], off); err != nil {
				h.Close()
				return err
			}
		}
		off += int64(n)
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			h.Close()
			return fmt.Errorf("rbd backend: read %s: %w", path, rerr)
		}
	}
	return h.Close()
}
