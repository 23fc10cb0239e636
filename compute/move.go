package compute

import (
	"context"
	"errors"
	"fmt"

	"github.com/gostack/gostack/compute/scheduler"
	"github.com/gostack/gostack/kit/fault"
)

// MoveWaiting does the controller's part of the cold moves under way
// (Nova's conductor): it chooses the destination of each resize or
// migration waiting for one (the source's resources held by the
// migration's consumer, the destination's claimed by the instance),
// switches to the destination the instances whose source has sent their
// disk (their ports bound there first), binds back to the source the
// ports of reverts on their way back, and settles the allocations of
// moves that ended. Every step is idempotent: a controller stopped
// half-way does it again.
func (b *Builder) MoveWaiting(ctx context.Context) error {
	waiting, err := b.Store.movesWaiting(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, i := range waiting {
		errs = append(errs, b.leased(ctx, i.UUID, func() error {
			// Read again under the lease: another controller may have
			// done this step since the list was read.
			now, err := b.Store.Instance(ctx, Viewer{Admin: true}, i.UUID)
			if fault.KindOf(err) == fault.NotFound || err == nil && now.TaskState != i.TaskState {
				return nil
			} else if err != nil {
				return err
			}
			switch now.TaskState {
			case ResizePrep:
				return b.scheduleMove(ctx, now)
			case ResizeMigrated:
				return b.switchToDest(ctx, now)
			}
			return nil
		}))
	}
	errs = append(errs, b.settleMoves(ctx))
	return errors.Join(errs...)
}

// scheduleMove chooses i's destination.
func (b *Builder) scheduleMove(ctx context.Context, i Instance) error {
	m, err := b.Store.ActiveMigration(ctx, i.UUID)
	if err != nil {
		return err
	}
	// The source is held by the migration from now on; a claim of the
	// instance left by an earlier try (a destination it did not keep)
	// goes.
	mc, err := b.Store.Consumer(ctx, m.UUID)
	if err != nil {
		return err
	}
	if len(mc.Allocations) == 0 {
		if err := b.Store.StartMove(ctx, i.UUID, m.UUID, map[string]map[string]int64{}); err != nil {
			return fmt.Errorf("compute move: hold the source of %s: %w", i.UUID, err)
		}
	} else if err := b.Store.DeleteAllocations(ctx, i.UUID); err != nil && fault.KindOf(err) != fault.NotFound {
		return err
	}
	f := m.NewFlavor
	if i.RootVolume() != nil {
		f.RootGB = 0 // the root disk is a volume: no local disk is claimed
	}
	req := &scheduler.Request{InstanceUUIDs: []string{i.UUID}, ProjectID: i.ProjectID, UserID: i.UserID,
		Flavor: scheduler.Flavor{Name: f.Name, VCPUs: int64(f.VCPUs), MemoryMB: f.MemoryMB, RootGB: f.RootGB,
			EphemeralGB: f.EphemeralGB, SwapMB: f.SwapMB, ExtraSpecs: f.ExtraSpecs},
		Image: scheduler.Image{ID: i.ImageRef}, AvailabilityZone: i.AvailabilityZone, Move: true, SourceHost: m.Source}
	if m.Type == "migration" || !b.AllowResizeToSameHost {
		req.IgnoreHosts = []string{m.Source}
	}
	if m.RequestedHost != "" {
		req.Destination = &scheduler.Destination{Host: m.RequestedHost}
	}
	if i.ServerGroup != "" {
		// Its place in the group is where it goes; the source's is given
		// back if it goes nowhere.
		if _, err := b.Store.RemoveServerGroupMember(ctx, i.ServerGroup, i.UUID); err != nil && fault.KindOf(err) != fault.NotFound {
			return err
		}
		g, err := b.Store.ServerGroup(ctx, Viewer{Admin: true}, i.ServerGroup)
		if err == nil {
			req.Group = g.SchedulerGroup()
		}
	}
	hosts, err := b.Store.Hosts(ctx, b.DownTime)
	if err != nil {
		return err
	}
	res, err := b.Scheduler.Schedule(ctx, hosts, req)
	var nvh *scheduler.NoValidHost
	switch {
	case errors.As(err, &nvh):
		if err := b.Store.RevertMove(ctx, i.UUID, m.UUID); err != nil {
			return fmt.Errorf("compute move: give %s its source back: %w", i.UUID, err)
		}
		if req.Group != nil {
			b.Store.AddServerGroupMember(ctx, req.Group.UUID, i.UUID, m.Source)
		}
		_, err := b.Store.FailMove(ctx, i.UUID, "No valid host was found. "+nvh.Error(), nvh.Explain())
		b.log().Info("instance move: no destination", "instance", i.UUID, "why", nvh.Error())
		return err
	case err != nil:
		return err
	case len(res.Placements) != 1:
		return fmt.Errorf("compute move: %s: %d placements", i.UUID, len(res.Placements))
	}
	dest := res.Placements[0].Host
	if _, err := b.Store.PlaceMove(ctx, i.UUID, dest.Name, dest.Node); err != nil {
		b.Store.DeleteAllocations(ctx, i.UUID)
		if fault.KindOf(err) == fault.NotFound || fault.KindOf(err) == fault.Conflict {
			return nil // deleted or moved on meanwhile: settled below
		}
		return err
	}
	b.log().Info("instance move: destination chosen", "instance", i.UUID, "from", m.Source, "to", dest.Name)
	return nil
}

// switchToDest binds i's ports to the destination and hands i to it.
func (b *Builder) switchToDest(ctx context.Context, i Instance) error {
	m, err := b.Store.ActiveMigration(ctx, i.UUID)
	if err != nil {
		return err
	}
	if err := b.bindPorts(ctx, i, m.Dest); err != nil {
		return err
	}
	_, err = b.Store.SwitchToDest(ctx, i.UUID)
	return err
}

// bindPorts binds i's ports to host (the network agent there plumbs
// them; the guest there waits for them). Only the ports i has: none is
// made (an instance deleted meanwhile has given them back, and the
// bind then fails).
func (b *Builder) bindPorts(ctx context.Context, i Instance, host string) error {
	if b.Networks == nil || len(i.Ports) == 0 {
		return nil
	}
	reqs := make([]NetworkRequest, 0, len(i.Ports))
	for _, p := range i.Ports {
		reqs = append(reqs, NetworkRequest{PortID: p.ID})
	}
	if _, err := b.Networks.Allocate(ctx, i.ProjectID, i.UUID, host, reqs); err != nil {
		return fmt.Errorf("compute move: bind the ports of %s to %s: %w", i.UUID, host, err)
	}
	return nil
}

// settleMoves gives the allocations of moves that ended their final
// shape: a confirmed move's source is released; a reverted (or
// reverting, back on its source) one's instance gets the source back
// and its ports are bound there; a failed one keeps where the instance
// is. An instance deleted meanwhile frees both.
func (b *Builder) settleMoves(ctx context.Context) error {
	ms, err := queryMigrations(ctx, b.Store.db, `status IN (?, ?, ?, ?) AND uuid IN (SELECT uuid FROM compute_consumers)`,
		MigrationConfirmed, MigrationRevertSource, MigrationReverted, MigrationError)
	if err != nil {
		return err
	}
	var errs []error
	for _, m := range ms {
		errs = append(errs, b.leased(ctx, m.InstanceID, func() error {
			// Read again under the lease: another controller may have
			// settled it.
			if c, err := b.Store.Consumer(ctx, m.UUID); err != nil || len(c.Allocations) == 0 {
				return err
			}
			return b.settleMove(ctx, m)
		}))
	}
	return errors.Join(errs...)
}

// settleMove settles one ended move's allocations.
func (b *Builder) settleMove(ctx context.Context, m Migration) error {
	i, err := b.Store.Instance(ctx, Viewer{Admin: true}, m.InstanceID)
	switch {
	case fault.KindOf(err) == fault.NotFound:
		return b.Store.DeleteAllocations(ctx, m.UUID)
	case err != nil:
		return err
	case m.Status == MigrationConfirmed || m.Status == MigrationError && i.Host != m.Source:
		return b.Store.ConfirmMove(ctx, m.UUID)
	}
	// Reverting back on the source, reverted, or failed on the source.
	if m.Status == MigrationRevertSource {
		if err := b.bindPorts(ctx, i, m.Source); err != nil {
			return err
		}
		if i.ServerGroup != "" {
			// Its place in the group is the source's again.
			if _, err := b.Store.RemoveServerGroupMember(ctx, i.ServerGroup, i.UUID); err != nil && fault.KindOf(err) != fault.NotFound {
				return err
			}
			if _, err := b.Store.AddServerGroupMember(ctx, i.ServerGroup, i.UUID, m.Source); err != nil && fault.KindOf(err) != fault.NotFound {
				return err
			}
		}
	}
	return b.Store.RevertMove(ctx, i.UUID, m.UUID)
}
