package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
)

// Cinder's migration policies of a retype.
const (
	MigrationNever    = "never"
	MigrationOnDemand = "on-demand"
)

// RetypePhase is the step a retype is at, and says whose agent acts.
type RetypePhase string

// The steps of a retype.
const (
	// RetypeInPlace: the volume's pool takes the new type (the driver's
	// retype: an RBD image's multiattach features); its agent acts.
	RetypeInPlace RetypePhase = "in-place"
	// RetypeCreate: a migration's destination pool makes its copy of
	// the volume, empty; its agent acts.
	RetypeCreate RetypePhase = "create"
	// RetypeCopy: the volume's data is copied into the destination's
	// copy, by the agent MigrationCopier names.
	RetypeCopy RetypePhase = "copy"
	// RetypeCleanup: the migration is done (the volume is on its new
	// pool, of its new type); its old pool's agent removes the old copy.
	RetypeCleanup RetypePhase = "cleanup"
	// RetypeAbort: the migration failed (the volume stays where it was,
	// of its type); the destination's agent removes what it made.
	RetypeAbort RetypePhase = "abort"
)

// VolumeRetype is a retype under way (Cinder's os-retype): the new
// type, the status to return to, and for a migration (Cinder's generic
// migration: a copy made on another pool, the data copied, then the
// volume moved to it) where each copy is.
type VolumeRetype struct {
	NewTypeID      string       `json:"new_type_id"`
	PreviousStatus VolumeStatus `json:"previous_status"`
	Phase          RetypePhase  `json:"phase"`
	// Multiattach is the new type's: what the volume's image (or the
	// destination's copy) is made ready for.
	Multiattach bool `json:"multiattach"`
	// DestHost is a migration's destination pool; DestLocation and
	// DestAuth its copy's export once made (DestAuth a secret).
	DestHost     string `json:"dest_host,omitempty"`
	DestLocation string `json:"dest_location,omitempty"`
	DestAuth     string `json:"dest_auth,omitempty"`
	// SourceHost, SourceLocation and SourceAuth are, once the volume
	// moved (RetypeCleanup), its old copy's pool and export.
	SourceHost     string `json:"source_host,omitempty"`
	SourceLocation string `json:"source_location,omitempty"`
	SourceAuth     string `json:"source_auth,omitempty"`
	// Claim is a migration's nonce: the destination's agent marks the
	// copy it makes with it, and takes or removes only a copy so marked
	// (two pools may share one storage, where the volume's own copy has
	// the same name).
	Claim string `json:"claim,omitempty"`
	// Migrate marks an admin's migration (os-migrate_volume, Store
	// .MigrateVolume) rather than a retype: the volume keeps its type
	// (NewTypeID is its own, not counted again in quotas) and its
	// status, or with Lock is in maintenance until the migration ends;
	// migration_status is starting until the destination's copy is
	// made. A retype's volume is retyping throughout.
	Migrate bool `json:"migrate,omitempty"`
	Lock    bool `json:"lock,omitempty"`
}

// heldStatus is the status the volume holds while r is under way
// (retyping for a retype, maintenance for a locked migration), and
// returns from to PreviousStatus when r ends; "" for a migration that
// keeps the volume's status.
func (r *VolumeRetype) heldStatus() VolumeStatus {
	switch {
	case !r.Migrate:
		return VolumeRetyping
	case r.Lock:
		return VolumeMaintenance
	}
	return ""
}

// retypeColumn is r as its column keeps it ("" for none).
func retypeColumn(r *VolumeRetype) string {
	if r == nil {
		return ""
	}
	b, err := json.Marshal(r)
	if err != nil {
		panic(err) // strings only
	}
	return string(b)
}

// typeColumn is the type counted in quotas beside the volume's own while
// the retype is under way ("" once the volume has it, or kept its own).
func (r *VolumeRetype) typeColumn() string {
	if r == nil || r.Migrate || r.Phase == RetypeCleanup || r.Phase == RetypeAbort {
		return ""
	}
	return r.NewTypeID
}

// hostColumn is the other pool whose agent acts on the volume: a
// migration's destination, or its source once the volume moved.
func (r *VolumeRetype) hostColumn() string {
	switch {
	case r == nil:
		return ""
	case r.Phase == RetypeCleanup:
		return r.SourceHost
	}
	return r.DestHost
}

// Copier says which agent copies a migrating volume's data: "source"
// (the pool the volume is on writes into the destination's export) or
// "destination" (the destination's pool reads the volume's export).
// Both must hold the data path: an iSCSI export is reachable by either
// (its portal and CHAP credentials), an RBD image only by its own
// cluster's clients; so the destination reads when it alone is RBD,
// and between two RBD pools of one cluster the source writes by librbd.
func (r *VolumeRetype) Copier(sourceLocation string) string {
	if IsRBDLocation(r.DestLocation) && !IsRBDLocation(sourceLocation) {
		return "destination"
	}
	return "source"
}

// Cinder's migration_status values a retype's migration sets
// (Volume.MigrationStatus).
const (
	MigrationMigrating = "migrating"
	MigrationSuccess   = "success"
	MigrationError     = "error"
)

// VolumeRetypeRequest is an os-retype.
type VolumeRetypeRequest struct {
	// NewType is the type's name or id.
	NewType string
	// MigrationPolicy is MigrationNever ("" too, Cinder's default) or
	// MigrationOnDemand.
	MigrationPolicy string
	// AllowMultiattach, when set, is asked when the retype makes the
	// volume multiattach (Cinder's volume:multiattach policy); its error
	// refuses the retype.
	AllowMultiattach func(VolumeType) error
}

// RetypeVolume is Cinder's retype (the API's checks, then the
// scheduler's choice of a pool), in Cinder's order:
//
//   - the type, by name or id, as v sees it (a private type only by
//     admins and the projects it is shared with, as for a create;
//     Cinder looks it up elevated, so a project could take a private
//     type not shared with it): VolumeTypeNotFound,
//     VolumeTypeNotFoundByName (404);
//   - its size limits (InvalidInput);
//   - a change of multiattach only on an available volume
//     (InvalidInput), and AllowMultiattach asked when it turns on;
//   - the new type's quotas (volumes_<type>, gigabytes_<type> with the
//     snapshots' sizes, snapshots_<type>), counted from now until the
//     retype ends (Cinder's reservation; 413);
//   - the volume available or in-use, not in a retype already, of
//     another type, and for an in-use volume no front-end QoS change
//     (InvalidVolume with Cinder's message).
//
// Then the pool: the volume's own when it passes the scheduler's
// filters for the new type (its capacity not counted again, Cinder's
// vol_exists_on): the volume goes to retyping for its agent (the
// driver's retype), or takes the type at once when the two types are
// the same in all but name (Cinder's volume_types_diff). Otherwise,
// as Cinder's scheduler and volume manager fail such a retype after
// its 202, nothing changes but the volume's Message (their reasons),
// when the policy is never ("Current backend not valid for volume <id>
// with type <name>, migration not allowed"), when no other pool passes
// ("No valid backends for volume <id> with type <name>") or when the
// volume has snapshots ("Invalid volume: Volume must not have
// snapshots."). An RBD volume migrates to another RBD pool only on its
// Ceph cluster and to another Ceph pool (the pools' location_info, as
// Cinder's RBD driver reports it; no copier holds two clusters' keys):
// other RBD pools are passed over, and with none other "No valid
// backends ..." says why. With on-demand the best other pool is claimed for
// the volume's size and the volume goes to retyping for a migration
// (RetypeCreate). An in-use volume's migration needs Nova's
// swap_volume, which is not here: refused (InvalidVolume).
func (s *Store) RetypeVolume(ctx context.Context, v Viewer, id string, r VolumeRetypeRequest) (Volume, error) {
	if r.MigrationPolicy == "" {
		r.MigrationPolicy = MigrationNever
	}
	if r.MigrationPolicy != MigrationNever && r.MigrationPolicy != MigrationOnDemand {
		return Volume{}, invalidInput("migration_policy must be %s or %s, not %q.", MigrationOnDemand, MigrationNever, r.MigrationPolicy)
	}
	return s.writeVolume(ctx, id, func(tx *sqlstore.Tx, vol *Volume) error {
		if !v.sees(vol.ProjectID) {
			return volumeNotFound(id)
		}
		nt, err := typeByNameOrID(ctx, tx, v, r.NewType, true)
		if err != nil {
			return err
		}
		if err := typeSizeLimits(nt, vol.Size); err != nil {
			return err
		}
		if vol.Multiattach != multiattach(nt) {
			if vol.Status != VolumeAvailable {
				return invalidInput("Invalid volume_type passed, retypes affecting multiattach are only allowed on available volumes, "+
					"the specified volume however currently has a status of: %s.", vol.Status)
			}
			if multiattach(nt) && r.AllowMultiattach != nil {
				if err := r.AllowMultiattach(*nt); err != nil {
					return err
				}
			}
		}
		snaps, err := volumeSnapshots(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := lockProject(ctx, tx, vol.ProjectID); err != nil {
			return err
		}
		if err := s.checkRetypeQuota(ctx, tx, vol, nt, snaps); err != nil {
			return err
		}
		ok, err := retypeAllowed(ctx, tx, vol, nt)
		if err != nil {
			return err
		}
		if !ok {
			return invalidVolume("Retype needs volume to be in available or in-use state, not be part of an active migration or a " +
				"consistency group, requested type has to be different that the one from the volume, and for in-use volumes front-end " +
				"qos specs cannot change.")
		}
		return s.scheduleRetype(ctx, tx, vol, nt, r.MigrationPolicy, len(snaps) > 0)
	})
}

// retypeAllowed is the condition of Cinder's conditional update: status
// available or in-use, no retype under way (Cinder's migration_status),
// another type, and for an in-use volume the same QoS specs or none
// consumed by the front end on either side (volume_qos_allows_retype).
func retypeAllowed(ctx context.Context, tx *sqlstore.Tx, vol *Volume, nt *VolumeType) (bool, error) {
	if vol.Status != VolumeAvailable && vol.Status != VolumeInUse || vol.Retype != nil || vol.VolumeTypeID == nt.ID {
		return false, nil
	}
	if vol.Status == VolumeAvailable {
		return true, nil
	}
	old, err := typeByID(ctx, tx, adminViewer, vol.VolumeTypeID, false)
	if err != nil {
		return false, err
	}
	if old != nil && old.QoSSpecsID == nt.QoSSpecsID {
		return true, nil
	}
	for _, t := range []*VolumeType{old, nt} {
		q, err := typeQoS(ctx, tx, t)
		if err != nil {
			return false, err
		}
		if q != nil && q.Consumer != QoSBackEnd {
			return false, nil
		}
	}
	return true, nil
}

// checkRetypeQuota is Cinder's get_volume_type_reservation of the new
// type (reserve_vol_type_only): volumes_<type> 1, gigabytes_<type> the
// size and the snapshots' sizes, snapshots_<type> their number, with
// process_reserve_over_quota's refusals.
func (s *Store) checkRetypeQuota(ctx context.Context, tx *sqlstore.Tx, vol *Volume, nt *VolumeType, snaps []Snapshot) error {
	limits, err := s.quotasIn(ctx, tx, vol.ProjectID)
	if err != nil {
		return err
	}
	used, err := usageIn(ctx, tx, vol.ProjectID)
	if err != nil {
		return err
	}
	gb := vol.Size
	for _, n := range snaps {
		gb += n.VolumeSize
	}
	type reservation struct {
		name  string
		delta int64
	}
	// In Cinder's order of its reservation's keys.
	deltas := []reservation{{QuotaVolumes + "_" + nt.Name, 1}, {QuotaGigabytes + "_" + nt.Name, gb}}
	if len(snaps) > 0 {
		deltas = append(deltas, reservation{QuotaSnapshots + "_" + nt.Name, int64(len(snaps))})
	}
	for _, d := range deltas {
		lim, ok := limits[d.name]
		if !ok || lim < 0 || lim >= d.delta+used[d.name] {
			continue
		}
		switch d.name {
		case QuotaVolumes + "_" + nt.Name:
			return cinderError(fault.TooLarge, "VolumeLimitExceeded",
				"Maximum number of volumes allowed (%d) exceeded for quota '%s'.", lim, d.name)
		case QuotaGigabytes + "_" + nt.Name:
			return quotaExceeded(d.name, vol.Size, lim, used[d.name])
		}
		return cinderError(fault.TooLarge, "UnexpectedOverQuota", "Unexpected over quota on %s.", d.name)
	}
	return nil
}

// scheduleRetype is Cinder's find_retype_backend and the volume
// manager's first steps, on a volume the API's checks passed.
func (s *Store) scheduleRetype(ctx context.Context, tx *sqlstore.Tx, vol *Volume, nt *VolumeType, policy string, hasSnapshots bool) error {
	zones := volumeTypeZones(nt)
	if zones == nil {
		zones = []string{vol.AvailabilityZone}
	}
	sched := s.scheduler()
	pools, err := s.pools(ctx, tx)
	if err != nil {
		return err
	}
	here := &ScheduleRequest{Operation: OpRetypeVolume, VolumeID: vol.ID, AvailabilityZones: zones, VolumeType: nt}
	i := slices.IndexFunc(pools, func(p *PoolState) bool { return p.Host == vol.Host })
	retype := &VolumeRetype{NewTypeID: nt.ID, PreviousStatus: vol.Status, Multiattach: multiattach(nt)}
	if vol.Host != "" && i >= 0 && sched.passes(here, pools[i]) == nil {
		old, err := typeByID(ctx, tx, adminViewer, vol.VolumeTypeID, false)
		if err != nil {
			return err
		}
		same, err := sameTypes(ctx, tx, old, nt)
		if err != nil {
			return err
		}
		if same {
			return s.retyped(ctx, tx, vol, nt.ID)
		}
		retype.Phase = RetypeInPlace
		vol.Status, vol.Retype, vol.Message = VolumeRetyping, retype, ""
		return nil
	}
	failed := func(msg string) error {
		vol.Message = msg
		return nil
	}
	if policy == MigrationNever {
		return failed(fmt.Sprintf("Current backend not valid for volume %s with type %s, migration not allowed", vol.ID, nt.Name))
	}
	req := &ScheduleRequest{Operation: OpRetypeVolume, VolumeID: vol.ID, Size: vol.Size, AvailabilityZones: zones, VolumeType: nt}
	others := slices.DeleteFunc(pools, func(p *PoolState) bool { return p.Host == vol.Host })
	ranked, err := sched.Rank(req, others)
	var nvh *NoValidBackend
	if errors.As(err, &nvh) || err == nil && len(ranked) == 0 {
		return failed(fmt.Sprintf("No valid backends for volume %s with type %s", vol.ID, nt.Name))
	}
	if err != nil {
		return err
	}
	if IsRBDLocation(vol.ProviderLocation) {
		// No copier holds two clusters' keys: an RBD destination on
		// another cluster's copy would be made only to be removed.
		src, err := s.poolOf(ctx, tx, vol.Host)
		if err != nil {
			return err
		}
		if ranked = slices.DeleteFunc(ranked, func(w Weighed) bool { return isRBDPool(w.Pool) && !rbdMovable(src, w.Pool) }); len(ranked) == 0 {
			return failed(fmt.Sprintf("No valid backends for volume %s with type %s: a migration between two RBD pools is supported "+
				"only within one Ceph cluster (no client holds two clusters' keys)", vol.ID, nt.Name))
		}
	}
	if hasSnapshots {
		return failed("Invalid volume: Volume must not have snapshots.")
	}
	if vol.Status != VolumeAvailable {
		return invalidVolume("Retype of in-use volume %s to type %s needs a migration to another backend, which needs Nova's "+
			"swap_volume: not supported. Detach the volume first.", vol.ID, nt.Name)
	}
	for _, w := range ranked {
		p, _, err := s.claim(ctx, tx, sched, req, w.Pool.Host)
		if err != nil {
			return err
		}
		if p != nil {
			claim, err := randomHex(32)
			if err != nil {
				return err
			}
			retype.Phase, retype.DestHost, retype.Claim = RetypeCreate, p.Host, claim
			vol.Status, vol.Retype, vol.Message, vol.MigrationStatus = VolumeRetyping, retype, "", MigrationMigrating
			return nil
		}
	}
	return failed(fmt.Sprintf("No valid backends for volume %s with type %s", vol.ID, nt.Name))
}

// isRBDPool: the pool reports Cinder's RBD driver's storage_protocol.
func isRBDPool(p *PoolState) bool {
	proto, _ := p.Capabilities["storage_protocol"].(string)
	return strings.EqualFold(proto, "ceph")
}

// sameTypes is Cinder's volume_types_diff's all_equal: the same extra
// specs and QoS specs (encryption is never set here).
func sameTypes(ctx context.Context, tx *sqlstore.Tx, a, b *VolumeType) (bool, error) {
	if a == nil || b == nil || !maps.Equal(a.ExtraSpecs, b.ExtraSpecs) {
		return false, nil
	}
	qa, err := typeQoS(ctx, tx, a)
	if err != nil {
		return false, err
	}
	qb, err := typeQoS(ctx, tx, b)
	if err != nil || qa == nil || qb == nil {
		return qa == nil && qb == nil, err
	}
	return qa.Consumer == qb.Consumer && maps.EqualFunc(qa.Specs, qb.Specs, func(x, y *string) bool {
		return x == nil && y == nil || x != nil && y != nil && *x == *y
	}), nil
}

// retyped gives vol the type newTypeID (its multiattach follows) and its
// snapshots too, as Cinder's retype ends; the status is the previous
// one when a retype was under way.
func (s *Store) retyped(ctx context.Context, tx *sqlstore.Tx, vol *Volume, newTypeID string) error {
	nt, err := typeByID(ctx, tx, adminViewer, newTypeID, false)
	if err != nil {
		return err
	}
	vol.VolumeTypeID, vol.Multiattach, vol.Message = newTypeID, multiattach(nt), ""
	vol.Status = statusAfterRetype(vol)
	vol.Retype = nil
	snaps, err := volumeSnapshots(ctx, tx, vol.ID)
	if err != nil {
		return err
	}
	for _, n := range snaps {
		if _, err := tx.Exec(ctx, "UPDATE storage_snapshots SET volume_type_id = ? WHERE id = ?", newTypeID, n.ID); err != nil {
			return fmt.Errorf("storage: retype snapshot %s: %w", n.ID, err)
		}
		var out Snapshot
		if err := s.changeSnapshot(ctx, tx, n.ID, func(*sqlstore.Tx, *Snapshot) error { return nil }, &out); err != nil {
			return err
		}
	}
	return nil
}

// statusAfterRetype is the status vol returns to as its retype (or
// migration) ends: the one it had before, unless something moved it on
// from the status the retype held meanwhile (a detach: the status its
// attachments give), or the migration kept the volume's own.
func statusAfterRetype(vol *Volume) VolumeStatus {
	if vol.Retype == nil || vol.Retype.heldStatus() == "" || vol.Status != vol.Retype.heldStatus() {
		return vol.Status
	}
	return vol.Retype.PreviousStatus
}

// reportRetype applies a retype's report (VolumeReport.Retype, the phase
// the agent acted on) from host's agent: the phase's agent only
// (another's is VolumeNotFound), a phase the retype is no longer at a
// 409.
func (s *Store) reportRetype(ctx context.Context, host, id string, r VolumeReport) (Volume, error) {
	return s.writeVolume(ctx, id, func(tx *sqlstore.Tx, vol *Volume) error {
		rt := vol.Retype
		if rt == nil || rt.Phase != r.Retype {
			return cinderError(fault.Conflict, "UnexpectedVolumeStatus", "Conflict updating volume %s: it is not at retype step %s.", id, r.Retype)
		}
		actor := vol.Host
		switch {
		case rt.Phase == RetypeCreate || rt.Phase == RetypeAbort:
			actor = rt.DestHost
		case rt.Phase == RetypeCleanup:
			actor = rt.SourceHost
		case rt.Phase == RetypeCopy && rt.Copier(vol.ProviderLocation) == "destination":
			actor = rt.DestHost
		}
		if !hostMatches(actor, host) {
			return volumeNotFound(id)
		}
		switch rt.Phase {
		case RetypeInPlace:
			if r.Error != "" {
				vol.Status = statusAfterRetype(vol)
				vol.Retype, vol.Message = nil, r.Error
				return nil
			}
			return s.retyped(ctx, tx, vol, rt.NewTypeID)
		case RetypeCreate, RetypeCopy:
			if r.Error != "" {
				abort := *rt
				abort.Phase = RetypeAbort
				vol.Status = statusAfterRetype(vol)
				vol.Retype, vol.Message, vol.MigrationStatus = &abort, r.Error, MigrationError
				return nil
			}
			next := *rt
			if rt.Phase == RetypeCreate {
				next.Phase, next.DestLocation, next.DestAuth = RetypeCopy, r.ProviderLocation, r.ProviderAuth
				vol.Retype = &next
				if rt.Migrate {
					vol.MigrationStatus = MigrationMigrating
				}
				return nil
			}
			// Copied: the volume is the destination's copy now, and the
			// old one goes (Cinder's migrate_volume_completion).
			next = VolumeRetype{NewTypeID: rt.NewTypeID, PreviousStatus: rt.PreviousStatus, Phase: RetypeCleanup, Multiattach: rt.Multiattach,
				SourceHost: vol.Host, SourceLocation: vol.ProviderLocation, SourceAuth: vol.ProviderAuth, Migrate: rt.Migrate, Lock: rt.Lock}
			vol.Host, vol.ProviderLocation, vol.ProviderAuth = rt.DestHost, rt.DestLocation, rt.DestAuth
			if err := s.retyped(ctx, tx, vol, rt.NewTypeID); err != nil {
				return err
			}
			vol.Retype, vol.MigrationStatus = &next, MigrationSuccess
			return nil
		default: // cleanup, abort: the other copy removed
			if r.Error != "" {
				vol.Message = r.Error // tried again at the agent's next sync
				return nil
			}
			vol.Retype = nil
			return nil
		}
	})
}
