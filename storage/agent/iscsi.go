package agent

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/gostack/gostack/storage"
	"github.com/gostack/gostack/storage/iscsi"
)

// ISCSI is the Backend of volumes kept as sparse files and exported as
// iSCSI targets by tgtd (storage/iscsi), as Cinder's LVM driver with its
// tgt target, on files. A volume's export is recorded as Cinder records
// it: provider_location "<portal>,<tid> <iqn> <lun>" and provider_auth
// "CHAP <user> <password>", which Reconcile exports again with after
// tgtd restarted.
type ISCSI struct {
	Files    iscsi.Files
	Exporter *iscsi.Exporter
	// ACL exports each volume to the initiators of its connected
	// attachments only (none: nobody may log in), as Cinder's LIO
	// target does, instead of to any initiator with the CHAP
	// credentials; the backend reports storage.CapInitiatorACL, so a
	// connect waits for its host to be let in.
	ACL bool

	mu       sync.Mutex
	exported []string            // the IQNs the last Reconcile exported
	allowed  map[string][]string // with ACL: volume id → the initiators the last Reconcile let in
}

var (
	_ Backend = (*ISCSI)(nil)
	_ Claimer = (*ISCSI)(nil)
)

const gib = 1 << 30

// Create makes the volume's file — empty, or a copy of its snapshot's,
// its source volume's or its image's raw file (the rest of a larger
// volume holes) — and exports it.
func (b *ISCSI) Create(ctx context.Context, v storage.Volume, src Source) (Export, error) {
	var path string
	var err error
	switch {
	case src.SnapshotID != "":
		path, err = b.Files.CreateFrom(ctx, v.ID, b.Files.SnapshotPath(src.SnapshotID), src.Size*gib, v.Size*gib)
	case src.VolumeID != "":
		path, err = b.Files.CreateFrom(ctx, v.ID, b.Files.Path(src.VolumeID), src.Size*gib, v.Size*gib)
	case src.File != "":
		// The agent's own raw file of the image becomes the volume's.
		path, err = b.Files.Adopt(ctx, v.ID, src.File, src.Bytes, v.Size*gib)
	default:
		path, err = b.Files.Create(ctx, v.ID, v.Size*gib)
	}
	if err != nil {
		return Export{}, err
	}
	return b.export(ctx, v, path)
}

// CreateClaimed makes a migration's copy of the volume, its file marked
// with claim (iscsi.Files.CreateClaimed: a file of that id not so
// marked is refused, iscsi.ErrNotClaimed), and exports it.
func (b *ISCSI) CreateClaimed(ctx context.Context, v storage.Volume, claim string) (Export, error) {
	path, err := b.Files.CreateClaimed(ctx, v.ID, claim, v.Size*gib)
	if err != nil {
		return Export{}, err
	}
	return b.export(ctx, v, path)
}

// Claimed says whether the volume's file is marked with claim.
func (b *ISCSI) Claimed(ctx context.Context, id, claim string) (bool, error) {
	return b.Files.Claimed(ctx, id, claim)
}

// Sweep removes the half-made files a stopped agent left (Files.Sweep).
func (b *ISCSI) Sweep(ctx context.Context) error { return b.Files.Sweep(ctx) }

// Content is the volume's file itself (read while the volume may be in
// use: a crash-consistent copy at best, as Cinder's forced upload).
func (b *ISCSI) Content(ctx context.Context, v storage.Volume) (string, func(), error) {
	if _, err := b.Files.Size(ctx, v.ID); err != nil {
		return "", nil, err
	}
	return b.Files.Path(v.ID), func() {}, nil
}

// CreateSnapshot copies the snapshot's volume, its first VolumeSize
// GiB, into the snapshot's file (storage/iscsi Files.Snapshot).
func (b *ISCSI) CreateSnapshot(ctx context.Context, n storage.Snapshot) error {
	_, err := b.Files.Snapshot(ctx, n.VolumeID, n.ID, n.VolumeSize*gib)
	return err
}

// DeleteSnapshot removes the snapshot's file.
func (b *ISCSI) DeleteSnapshot(ctx context.Context, n storage.Snapshot) error {
	return b.Files.DeleteSnapshot(ctx, n.ID)
}

// Extend grows the volume's file and exports it again (tgtd reads a
// LUN's size when the LUN is made).
func (b *ISCSI) Extend(ctx context.Context, v storage.Volume, size int64) (Export, error) {
	if err := b.Files.Extend(ctx, v.ID, size*gib); err != nil {
		return Export{}, err
	}
	return b.export(ctx, v, b.Files.Path(v.ID))
}

func (b *ISCSI) export(ctx context.Context, v storage.Volume, path string) (Export, error) {
	chap, _ := ParseCHAP(v.ProviderAuth)
	x := iscsi.Export{VolumeID: v.ID, Path: path, CHAP: chap}
	b.restrict(&x, v)
	c, err := b.Exporter.Export(ctx, x)
	if err != nil {
		return Export{}, err
	}
	return exportOf(c), nil
}

func exportOf(c iscsi.Connection) Export {
	return Export{Location: fmt.Sprintf("%s,%d %s %d", c.Portal, c.TID, c.IQN, c.LUN),
		Auth: "CHAP " + c.CHAP.Username + " " + c.CHAP.Password}
}

// Permanent reports whether err will not pass by doing the work again:
// a refused request, a volume file of another size, or one a
// migration's copy would take that it did not make.
func (b *ISCSI) Permanent(err error) bool {
	return errors.Is(err, iscsi.ErrInvalid) || errors.Is(err, iscsi.ErrExists) || errors.Is(err, iscsi.ErrConflict) ||
		errors.Is(err, iscsi.ErrNotClaimed)
}

// ParseCHAP reads provider_auth "CHAP <user> <password>"; false for
// anything else (no export yet).
func ParseCHAP(auth string) (iscsi.CHAP, bool) {
	f := strings.Fields(auth)
	if len(f) != 3 || f[0] != "CHAP" {
		return iscsi.CHAP{}, false
	}
	return iscsi.CHAP{Username: f[1], Password: f[2]}, true
}

// Delete unexports the volume and removes its file.
func (b *ISCSI) Delete(ctx context.Context, id string) error {
	if err := b.Exporter.Unexport(ctx, id); err != nil {
		return err
	}
	return b.Files.Delete(ctx, id)
}

// Reconcile exports exactly the volumes given that have a file and an
// export's credentials; a volume whose file is gone is left out, logged
// by the error it joins.
func (b *ISCSI) Reconcile(ctx context.Context, vols []storage.Volume) error {
	var want []iscsi.Export
	var errs []error
	users := map[string]bool{}
	for _, v := range vols {
		chap, ok := ParseCHAP(v.ProviderAuth)
		if !ok {
			continue
		}
		// One bad volume must not keep the others from their exports
		// (Reconcile refuses the whole list for one).
		if users[chap.Username] {
			errs = append(errs, fmt.Errorf("volume %s: its CHAP user is another volume's too", v.ID))
			continue
		}
		users[chap.Username] = true
		if _, err := b.Files.Size(ctx, v.ID); err != nil {
			errs = append(errs, fmt.Errorf("volume %s: %w", v.ID, err))
			continue
		}
		x := iscsi.Export{VolumeID: v.ID, Path: b.Files.Path(v.ID), CHAP: chap}
		b.restrict(&x, v)
		want = append(want, x)
	}
	// With nothing to export, Exporter.Reconcile does not start tgtd for
	// nothing (the all-in-one starts it with the first volume), but a
	// tgtd that runs still loses this pool's targets: one no delete
	// unexported — a migration's copy whose removal an admin's
	// os-reset_status dropped, its pool no longer listing the volume —
	// would otherwise keep its CHAP account, and the volume's old owner
	// its way in, for as long as the pool exports nothing else.
	conns, err := b.Exporter.Reconcile(ctx, want)
	if err != nil {
		errs = append(errs, err)
	}
	var iqns []string
	allowed := map[string][]string{}
	for i, c := range conns {
		if c.IQN != "" {
			iqns = append(iqns, c.IQN)
			allowed[want[i].VolumeID] = want[i].Initiators
		}
	}
	b.mu.Lock()
	b.exported = iqns
	if b.ACL {
		b.allowed = allowed
	}
	b.mu.Unlock()
	return errors.Join(errs...)
}

// restrict gives x, with ACL, the initiators of v's connected
// attachments as its whole ACL. A connector's initiator that cannot be
// an iSCSI name is left out (it could log in nowhere), so that it does
// not keep the other volumes from their exports.
func (b *ISCSI) restrict(x *iscsi.Export, v storage.Volume) {
	if !b.ACL {
		return
	}
	x.Only = true
	for _, a := range v.Attachments {
		if a.Connector == nil || (a.AttachStatus != storage.AttachAttaching && a.AttachStatus != storage.AttachAttached) {
			continue
		}
		n, _ := a.Connector["initiator"].(string)
		if iscsi.CheckInitiator(n) != nil || slices.Contains(x.Initiators, n) {
			continue
		}
		x.Initiators = append(x.Initiators, n)
	}
	slices.Sort(x.Initiators)
}

// Allowed is, with ACL, the initiators each volume's export lets in
// after the last Reconcile, by volume id (nil without ACL).
func (b *ISCSI) Allowed() map[string][]string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return maps.Clone(b.allowed)
}

// ExportsLost reports whether tgtd no longer has what the last Reconcile
// exported: it stopped, or restarted with none of its targets (tgtd
// keeps them in memory).
func (b *ISCSI) ExportsLost(ctx context.Context) bool {
	b.mu.Lock()
	want := b.exported
	b.mu.Unlock()
	if len(want) == 0 {
		return false
	}
	ts, err := b.Exporter.Targets(ctx)
	if err != nil {
		return ctx.Err() == nil
	}
	have := make(map[string]bool, len(ts))
	for _, t := range ts {
		have[t.IQN] = true
	}
	for _, iqn := range want {
		if !have[iqn] {
			return true
		}
	}
	return false
}

// Capacity is the file system's of Files.Dir: volumes are thin (sparse
// files). The pool takes multiattach volumes, as Cinder's LVM driver
// reports: one target serves every attachment (with ACL, every attached
// host's initiator is let in).
func (b *ISCSI) Capacity(ctx context.Context) (storage.BackendReport, error) {
	if err := os.MkdirAll(b.Files.Dir, 0o750); err != nil {
		return storage.BackendReport{}, fmt.Errorf("iscsi backend: %w", err)
	}
	var fs syscall.Statfs_t
	if err := syscall.Statfs(b.Files.Dir, &fs); err != nil {
		return storage.BackendReport{}, fmt.Errorf("iscsi backend: %s: %w", b.Files.Dir, err)
	}
	gb := func(blocks uint64) float64 {
		v := float64(blocks) * float64(fs.Frsize) / gib
		r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'f', 2, 64), 64)
		return r
	}
	r := storage.BackendReport{TotalCapacityGB: storage.GB(gb(fs.Blocks)), FreeCapacityGB: storage.GB(gb(fs.Bavail)),
		ThinProvisioningSupport: true, Multiattach: true, StorageProtocol: "iSCSI", VendorName: "Open Source", DriverVersion: "1.0"}
	if b.ACL {
		r.Capabilities = map[string]any{storage.CapInitiatorACL: true}
	}
	return r, nil
}

var _ Filer = (*ISCSI)(nil)

// VolumePath is volume id's file, which must exist.
func (b *ISCSI) VolumePath(ctx context.Context, id string) (string, error) {
	if _, err := b.Files.Size(ctx, id); err != nil {
		return "", err
	}
	return b.Files.Path(id), nil
}

// SnapshotPath is snapshot id's file, which must exist.
func (b *ISCSI) SnapshotPath(ctx context.Context, id string) (string, error) {
	p := b.Files.SnapshotPath(id)
	if _, err := os.Stat(p); err != nil {
		return "", err
	}
	return p, nil
}
