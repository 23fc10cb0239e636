package compute

import (
	"context"

	"github.com/gostack/gostack/kit/fault"
)

// Moves (resize, cold and live migration) follow Nova's "double up": from
// the start of a move until it is confirmed or reverted, the source's
// resources are held by the migration's consumer and the destination's
// by the instance, so neither host can give them away meanwhile.

// StartMove moves an instance's current allocations to the migration's
// consumer and gives the instance dest, in one transaction: the
// destination's capacity is checked while the source stays held. It is
// refused whole (concurrent_update) if the instance's allocations
// changed since they were read.
func (s *Store) StartMove(ctx context.Context, instance, migration string, dest map[string]map[string]int64) error {
	cur, err := s.Consumer(ctx, instance)
	if err != nil {
		return err
	}
	if len(cur.Allocations) == 0 {
		return placementError(fault.Conflict, CodeDefault, "instance %s has no allocations to move", instance)
	}
	src := map[string]map[string]int64{}
	for p, a := range cur.Allocations {
		src[p] = a.Resources
	}
	gen := cur.Generation
	return s.ClaimAll(ctx, []Claim{
		{Consumer: migration, ProjectID: cur.ProjectID, UserID: cur.UserID, ConsumerType: "MIGRATION", CheckGeneration: true, Resources: src},
		{Consumer: instance, ProjectID: cur.ProjectID, UserID: cur.UserID, CheckGeneration: true, Generation: &gen, Resources: dest},
	})
}

// ConfirmMove releases the source: the migration's allocations go.
func (s *Store) ConfirmMove(ctx context.Context, migration string) error {
	return s.DeleteAllocations(ctx, migration)
}

// RevertMove gives the instance back the source's allocations the
// migration held, releasing the destination, in one transaction.
func (s *Store) RevertMove(ctx context.Context, instance, migration string) error {
	mig, err := s.Consumer(ctx, migration)
	if err != nil {
		return err
	}
	if len(mig.Allocations) == 0 {
		return placementError(fault.Conflict, CodeDefault, "migration %s holds no allocations to revert to", migration)
	}
	inst, err := s.Consumer(ctx, instance)
	if err != nil {
		return err
	}
	src := map[string]map[string]int64{}
	for p, a := range mig.Allocations {
		src[p] = a.Resources
	}
	mg := mig.Generation
	var ig *int64 // an instance without allocations does not exist
	if len(inst.Allocations) > 0 {
		ig = &inst.Generation
	}
	return s.ClaimAll(ctx, []Claim{
		{Consumer: migration, CheckGeneration: true, Generation: &mg},
		{Consumer: instance, ProjectID: mig.ProjectID, UserID: mig.UserID, CheckGeneration: true, Generation: ig, Resources: src},
	})
}
