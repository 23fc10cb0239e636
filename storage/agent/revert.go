package agent

import (
	"context"
	"errors"
	"fmt"

	"github.com/gostack/gostack/kit/crashpoint"
	"github.com/gostack/gostack/storage"
)

// Reverter is a Backend that reverts a volume to a snapshot of it
// (Cinder's driver revert_to_snapshot): the volume's data becomes the
// snapshot's, in place, its export kept. Doing it again gives the same
// data, so a revert cut short by a kill is done again whole.
type Reverter interface {
	Revert(ctx context.Context, v storage.Volume, n storage.Snapshot) error
}

// errNoRevert is the failure of a revert on a backend that has none.
var errNoRevert = permanentError{errors.New("this backend cannot revert a volume to a snapshot")}

// revert does volume v's revert (status reverting) to its restoring
// snapshot, and reports it: the volume available again, or error.
func (a *Agent) revert(ctx context.Context, v storage.Volume, st storage.BackendState, stats *SyncStats) {
	var snap *storage.Snapshot
	for i, n := range st.Snapshots {
		if n.VolumeID == v.ID && n.Status == storage.SnapshotRestoring {
			snap = &st.Snapshots[i]
		}
	}
	var err error
	switch r, ok := a.Backend.(Reverter); {
	case snap == nil:
		err = permanentError{fmt.Errorf("volume %s is reverting, but none of its snapshots is restoring", v.ID)}
	case !ok:
		err = errNoRevert
	default:
		if err = r.Revert(ctx, v, *snap); err == nil {
			crashpoint.Hit("volume.agent.reverted")
		}
	}
	a.done(ctx, job{volume: &v}, storage.VolumeReport{Status: v.Status}, err, stats)
}

// Revert writes the snapshot's file over the volume's, in place, so
// that tgtd, which has the volume's file open, serves the snapshot's
// data (iscsi.Files.Revert).
func (b *ISCSI) Revert(ctx context.Context, v storage.Volume, n storage.Snapshot) error {
	return b.Files.Revert(ctx, v.ID, n.ID)
}

// Revert rolls the volume's image back to the snapshot's RBD snapshot
// (rbd.Client.RevertVolume).
func (b *RBD) Revert(ctx context.Context, v storage.Volume, n storage.Snapshot) error {
	return b.Client.RevertVolume(ctx, v.ID, n.ID)
}

var (
	_ Reverter = (*ISCSI)(nil)
	_ Reverter = (*RBD)(nil)
)
