package compute

import (
	"context"
	"maps"
	"slices"

	"github.com/gostack/gostack/compute/placement"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// Inventories returns a provider's inventories and generation.
func (s *Store) Inventories(ctx context.Context, u string) (map[string]placement.Inventory, int64, error) {
	p, err := s.Provider(ctx, u)
	return p.Inventories, p.Generation, err
}

// InventoryChange is how SetInventories treats classes it is not given.
type InventoryChange int

const (
	// ReplaceAll makes the given inventories the provider's only ones
	// (PUT /resource_providers/{uuid}/inventories).
	ReplaceAll InventoryChange = iota
	// AddOnly adds classes the provider has not got (POST …/inventories).
	AddOnly
	// UpdateOnly changes classes the provider has (PUT …/inventories/{rc}).
	UpdateOnly
	// DeleteOnly removes the given classes (DELETE …/inventories/{rc}).
	DeleteOnly
)

// SetInventories changes a provider's inventories at generation gen (nil:
// unchecked) and returns the new generation. A class with allocations is
// never removed (placement.inventory.inuse). Shrinking an inventory
// below its usage is allowed, as in Placement: the allocations stay and
// no new ones fit.
func (s *Store) SetInventories(ctx context.Context, u string, gen *int64, change InventoryChange, invs map[string]placement.Inventory) (int64, error) {
	for c, inv := range invs {
		if change == DeleteOnly {
			continue
		}
		if err := inv.Validate(); err != nil {
			return 0, placementError(fault.BadRequest, CodeDefault, "Unable to update inventory for resource provider %s: %s: %s", u, c, trimInvalid(err))
		}
	}
	var out int64
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if _, err := s.lockProvider(ctx, tx, u, gen); err != nil {
			return err
		}
		cur, err := s.inventoryRows(ctx, tx, u)
		if err != nil {
			return err
		}
		want, err := s.planInventories(ctx, tx, u, cur, change, invs)
		if err != nil {
			return err
		}
		if err := s.writeInventories(ctx, tx, u, cur, want); err != nil {
			return err
		}
		if out, err = s.bumpGeneration(ctx, tx, u); err != nil {
			return err
		}
		return s.record(ctx, tx, "inventory", u, "", watch.Update, map[string]any{"resource_provider_generation": out, "inventories": want})
	})
	return out, err
}

type inventoryRow struct {
	placement.Inventory
	used int64
}

func (s *Store) inventoryRows(ctx context.Context, tx *sqlstore.Tx, u string) (map[string]inventoryRow, error) {
	out := map[string]inventoryRow{}
	rows, err := tx.Query(ctx, `SELECT resource_class, total, reserved, min_unit, max_unit, step_size, allocation_ratio, used
		FROM compute_inventories WHERE provider_uuid = ?`, u)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var c string
		var r inventoryRow
		if err := rows.Scan(&c, &r.Total, &r.Reserved, &r.MinUnit, &r.MaxUnit, &r.StepSize, &r.AllocationRatio, &r.used); err != nil {
			return nil, err
		}
		out[c] = r
	}
	return out, rows.Err()
}

// planInventories is the whole set of inventories a change leads to.
func (s *Store) planInventories(ctx context.Context, tx *sqlstore.Tx, u string, cur map[string]inventoryRow, change InventoryChange, invs map[string]placement.Inventory) (map[string]placement.Inventory, error) {
	want := map[string]placement.Inventory{}
	if change != ReplaceAll {
		for c, r := range cur {
			want[c] = r.Inventory
		}
	}
	for _, c := range slices.Sorted(maps.Keys(invs)) {
		_, has := cur[c]
		switch {
		case change == AddOnly && has:
			return nil, placementError(fault.Conflict, CodeDefault, "Update to inventory failed: inventory for %s on resource provider %s already exists.", c, u)
		case (change == UpdateOnly || change == DeleteOnly) && !has:
			return nil, placementError(fault.NotFound, CodeDefault, "No inventory of class %s found for resource provider %s", c, u)
		case change == DeleteOnly:
			delete(want, c)
			continue
		}
		ok, err := classExists(ctx, tx, c)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, placementError(fault.BadRequest, CodeDefault, "Unknown resource class in inventory for resource provider %s: %s", u, c)
		}
		want[c] = invs[c]
	}
	for c, r := range cur {
		if _, keep := want[c]; !keep && r.used > 0 {
			return nil, placementError(fault.Conflict, CodeInventoryInUse,
				"Inventory for '%s' on resource provider '%s' in use.", c, u)
		}
	}
	return want, nil
}

// writeInventories turns cur into want: deletes, updates (keeping used)
// and inserts, class by class in order.
func (s *Store) writeInventories(ctx context.Context, tx *sqlstore.Tx, u string, cur map[string]inventoryRow, want map[string]placement.Inventory) error {
	for _, c := range slices.Sorted(maps.Keys(cur)) {
		if _, keep := want[c]; !keep {
			if _, err := tx.Exec(ctx, `DELETE FROM compute_inventories WHERE provider_uuid = ? AND resource_class = ?`, u, c); err != nil {
				return err
			}
		}
	}
	for _, c := range slices.Sorted(maps.Keys(want)) {
		inv := want[c]
		var err error
		if r, has := cur[c]; !has {
			_, err = tx.Exec(ctx, `INSERT INTO compute_inventories (provider_uuid, resource_class, total, reserved, min_unit, max_unit,
				step_size, allocation_ratio, capacity, used) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`,
				u, c, inv.Total, inv.Reserved, inv.MinUnit, inv.MaxUnit, inv.StepSize, inv.AllocationRatio, inv.Capacity())
		} else if r.Inventory != inv {
			_, err = tx.Exec(ctx, `UPDATE compute_inventories SET total = ?, reserved = ?, min_unit = ?, max_unit = ?, step_size = ?,
				allocation_ratio = ?, capacity = ? WHERE provider_uuid = ? AND resource_class = ?`,
				inv.Total, inv.Reserved, inv.MinUnit, inv.MaxUnit, inv.StepSize, inv.AllocationRatio, inv.Capacity(), u, c)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func trimInvalid(err error) string {
	msg := err.Error()
	if p := placement.ErrInvalid.Error() + ": "; len(msg) > len(p) && msg[:len(p)] == p {
		return msg[len(p):]
	}
	return msg
}

// Ratios are a host's allocation ratios by resource class, as Nova's
// compute service applies them (nova.conf [DEFAULT]):
//   - Initial (initial_cpu_allocation_ratio...) is used once, when the
//     host's provider gets the class for the first time;
//   - Override (cpu_allocation_ratio...), when set, wins on every report;
//   - otherwise the ratio in the store stays, whoever set it: an admin
//     who changed it through the Placement API keeps the change.
type Ratios struct {
	Initial  map[string]float64 `json:"initial,omitempty"`
	Override map[string]float64 `json:"override,omitempty"`
}

// DefaultInitialRatios are Nova's initial_*_allocation_ratio since
// 2023.1: VCPU 4.0, MEMORY_MB 1.0, DISK_GB 1.0.
func DefaultInitialRatios() map[string]float64 {
	return map[string]float64{placement.VCPU: 4, placement.MemoryMB: 1, placement.DiskGB: 1}
}

// ReportHost is a compute host's periodic inventory report: it creates
// the host's provider (uuid, name) if missing and sets its inventories
// to those reported, with allocation ratios chosen by ratios (the ratio
// in inv is ignored). A report that changes nothing writes nothing and
// keeps the generation.
func (s *Store) ReportHost(ctx context.Context, u, name string, inv map[string]placement.Inventory, ratios Ratios) (Provider, error) {
	if _, err := s.Provider(ctx, u); fault.KindOf(err) == fault.NotFound {
		if _, err := s.CreateProvider(ctx, u, name, ""); err != nil && fault.KindOf(err) != fault.Conflict {
			return Provider{}, err
		}
		// A host that joined Nova aggregates before its provider existed.
		if err := s.mirrorHostAggregates(ctx, name); err != nil {
			return Provider{}, err
		}
	} else if err != nil {
		return Provider{}, err
	}
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if _, err := s.lockProvider(ctx, tx, u, nil); err != nil {
			return err
		}
		cur, err := s.inventoryRows(ctx, tx, u)
		if err != nil {
			return err
		}
		want := map[string]placement.Inventory{}
		for c, i := range inv {
			switch r, has := cur[c]; {
			case ratios.Override[c] > 0:
				i.AllocationRatio = ratios.Override[c]
			case has:
				i.AllocationRatio = r.AllocationRatio
			case ratios.Initial[c] > 0:
				i.AllocationRatio = ratios.Initial[c]
			default:
				i.AllocationRatio = 1
			}
			if err := i.Validate(); err != nil {
				return placementError(fault.BadRequest, CodeDefault, "host %s: %s: %s", name, c, trimInvalid(err))
			}
			want[c] = i
		}
		if same(cur, want) {
			return nil
		}
		if _, err := s.planInventories(ctx, tx, u, cur, ReplaceAll, want); err != nil {
			return err
		}
		if err := s.writeInventories(ctx, tx, u, cur, want); err != nil {
			return err
		}
		gen, err := s.bumpGeneration(ctx, tx, u)
		if err != nil {
			return err
		}
		return s.record(ctx, tx, "inventory", u, "", watch.Update, map[string]any{"resource_provider_generation": gen, "inventories": want})
	})
	if err != nil {
		return Provider{}, err
	}
	return s.Provider(ctx, u)
}

func same(cur map[string]inventoryRow, want map[string]placement.Inventory) bool {
	if len(cur) != len(want) {
		return false
	}
	for c, r := range cur {
		if w, ok := want[c]; !ok || w != r.Inventory {
			return false
		}
	}
	return true
}
