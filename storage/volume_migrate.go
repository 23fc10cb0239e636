package storage

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
)

// Cinder's migration_status of an admin's migration before its
// destination's copy is made (then MigrationMigrating).
const MigrationStarting = "starting"

// VolumeMigrateRequest is an admin's os-migrate_volume.
type VolumeMigrateRequest struct {
	// Host is the destination: a pool (host@backend#pool), or a backend
	// (host@backend: its best pool for the volume, other than the
	// volume's own).
	Host string
	// Cluster is the destination cluster (from 3.16, instead of Host).
	// No cluster is kept here: no service is ever found by one.
	Cluster string
	// ForceHostCopy is Cinder's force_host_copy. Every migration here is
	// the generic one (a host copy): it changes nothing.
	ForceHostCopy bool
	// LockVolume puts an available volume in maintenance until the
	// migration ends (Cinder's lock_volume); without it the volume
	// keeps its status.
	LockVolume bool
}

// MigrateVolume is an admin's os-migrate_volume (Cinder's
// volume API migrate_volume, then its scheduler's): the volume is
// copied to another pool with the retype's migration (VolumeRetype,
// Migrate set: the same phases, claims and copiers) and keeps its type.
// The checks, in Cinder's order:
//
//   - the destination's service, host@backend, up and enabled
//     (InvalidHost "No available service named '<host>'"; a cluster is
//     never found);
//   - the volume available or in-use, no migration (nor retype) under
//     way, no snapshots, and the destination not its own pool
//     (InvalidVolume with Cinder's one message; Cinder's replication and
//     group conditions have nothing to check here);
//   - an in-use volume needs Nova's swap_volume, which is not here
//     (InvalidVolume); a migration from an RBD pool to an RBD pool of
//     another Ceph cluster, or on the same Ceph pool, or reporting no
//     location_info, is not supported either (InvalidVolume: no client
//     holds two clusters' keys). Between two Ceph pools of one cluster
//     the source's agent copies by librbd.
//
// Then the scheduler's backend_passes_filters: the destination must
// pass every filter for the volume (its type, its size, its zone, as
// Cinder's request spec gives them). As in Cinder, whose scheduler
// fails the migration after the API's 202, a destination that does not
// pass leaves the volume with migration_status error and the reason in
// its Message ("Cannot place volume <id> on <host>."), its status
// unchanged. Otherwise the destination is claimed for the volume's
// size, migration_status goes to starting (migrating once the
// destination's copy is made, then success or error) and, with
// LockVolume, an available volume to maintenance until the end.
func (s *Store) MigrateVolume(ctx context.Context, v Viewer, id string, r VolumeMigrateRequest) (Volume, error) {
	return s.writeVolume(ctx, id, func(tx *sqlstore.Tx, vol *Volume) error {
		if !v.sees(vol.ProjectID) {
			return volumeNotFound(id)
		}
		name := r.Host
		if r.Cluster != "" {
			name = r.Cluster
		}
		up, err := s.serviceUp(ctx, tx, r.Host)
		if err != nil {
			return err
		}
		if r.Cluster != "" || !up {
			return cinderError(fault.BadRequest, "InvalidHost", "Invalid host: No available service named '%s'", name)
		}
		snaps, err := volumeSnapshots(ctx, tx, id)
		if err != nil {
			return err
		}
		if vol.Status != VolumeAvailable && vol.Status != VolumeInUse || vol.Retype != nil || vol.Host == r.Host || len(snaps) > 0 {
			return invalidVolume("Volume %s status must be available or in-use, must not be migrating, have snapshots, be replicated, "+
				"be part of a group and destination host/cluster must be different than the current one", id)
		}
		if vol.Status == VolumeInUse {
			return invalidVolume("Migration of in-use volume %s needs Nova's swap_volume: not supported. Detach the volume first.", id)
		}
		return s.scheduleMigration(ctx, tx, vol, r)
	})
}

// serviceUp says whether host's service (its host@backend) has a pool
// that is up and not disabled, as Cinder's Service.get_by_id(is_up,
// disabled=False) finds one.
func (s *Store) serviceUp(ctx context.Context, tx *sqlstore.Tx, host string) (bool, error) {
	svc, _, _ := strings.Cut(host, "#")
	if host == "" || svc == "" {
		return false, nil
	}
	cond, args := hostMatch("b.host", svc)
	bs, err := queryBackends(ctx, tx, "SELECT "+backendCols+" FROM storage_backends b WHERE b.disabled = ? AND "+cond,
		append([]any{false}, args...)...)
	if err != nil {
		return false, err
	}
	now := s.now()
	return slices.ContainsFunc(bs, func(b backendRow) bool { return s.view(b, now).Up }), nil
}

// scheduleMigration is Cinder's backend_passes_filters for r's
// destination, then the claim of its best pool (the pool named, or the
// backend's best other than the volume's own).
func (s *Store) scheduleMigration(ctx context.Context, tx *sqlstore.Tx, vol *Volume, r VolumeMigrateRequest) error {
	vt, err := typeByID(ctx, tx, adminViewer, vol.VolumeTypeID, false)
	if err != nil {
		return err
	}
	pools, err := s.pools(ctx, tx)
	if err != nil {
		return err
	}
	pools = slices.DeleteFunc(pools, func(p *PoolState) bool { return p.Host == vol.Host || !hostMatches(p.Host, r.Host) })
	if IsRBDLocation(vol.ProviderLocation) {
		src, err := s.poolOf(ctx, tx, vol.Host)
		if err != nil {
			return err
		}
		movable := func(p *PoolState) bool { return !isRBDPool(p) || rbdMovable(src, p) }
		if len(pools) > 0 && !slices.ContainsFunc(pools, movable) {
			return invalidVolume("Migration of volume %s to %s is not supported: a migration between two RBD pools is made only "+
				"within one Ceph cluster, to another Ceph pool (no client holds two clusters' keys).", vol.ID, r.Host)
		}
		pools = slices.DeleteFunc(pools, func(p *PoolState) bool { return !movable(p) })
	}
	sched := s.scheduler()
	req := &ScheduleRequest{Operation: OpMigrateVolume, VolumeID: vol.ID, Size: vol.Size,
		AvailabilityZones: []string{vol.AvailabilityZone}, VolumeType: vt}
	failed := func(reason string) error {
		vol.MigrationStatus, vol.Message = MigrationError, reason
		return nil
	}
	cannot := fmt.Sprintf("Cannot place volume %s on %s.", vol.ID, r.Host)
	ranked, err := sched.Rank(req, pools)
	var nvb *NoValidBackend
	if errors.As(err, &nvb) || err == nil && len(ranked) == 0 {
		return failed(cannot)
	}
	if err != nil {
		return err
	}
	for _, w := range ranked {
		p, _, err := s.claim(ctx, tx, sched, req, w.Pool.Host)
		if err != nil {
			return err
		}
		if p == nil {
			continue
		}
		claim, err := randomHex(32)
		if err != nil {
			return err
		}
		vol.Retype = &VolumeRetype{NewTypeID: vol.VolumeTypeID, PreviousStatus: vol.Status, Phase: RetypeCreate,
			Multiattach: vol.Multiattach, DestHost: p.Host, Claim: claim, Migrate: true, Lock: r.LockVolume}
		if r.LockVolume {
			vol.Status = VolumeMaintenance
		}
		vol.MigrationStatus, vol.Message = MigrationStarting, ""
		return nil
	}
	return failed(cannot)
}

// migrating says whether a migration (a retype's or an admin's) is
// copying v's data: from the destination's copy being made to the
// volume's move (Cinder's _is_volume_migrating). A migration that kept
// the volume's status (os-migrate_volume without lock_volume) leaves
// it available, and what would change its data or its place meanwhile
// (an attach, an extend, a snapshot, an upload, a backup, a restore
// into it, a clone) is refused: the copy would miss it, or the old copy's removal break it.
func (v *Volume) migrating() bool {
	return v.Retype != nil && (v.Retype.Phase == RetypeCreate || v.Retype.Phase == RetypeCopy)
}

// errMigrating is the refusal of what a migration under way does not
// allow (migrating).
func errMigrating(id string) error {
	return invalidVolume("Volume %s is migrating: wait until its migration_status is success or error.", id)
}
