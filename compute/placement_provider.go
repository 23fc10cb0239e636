package compute

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/gostack/gostack/compute/placement"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// Provider is a resource provider as the Store keeps it: the model's
// provider with its times (Unix microseconds) for Last-Modified.
type Provider struct {
	placement.Provider
	CreatedAt, UpdatedAt int64
}

// CreateProvider stores a new resource provider: uuid (made when empty)
// and name unique, the parent (if any) existing; a root is its own root.
func (s *Store) CreateProvider(ctx context.Context, uuidStr, name, parent string) (Provider, error) {
	if uuidStr == "" {
		uuidStr = uuid.NewString()
	}
	if err := checkProviderName(name); err != nil {
		return Provider{}, err
	}
	now := s.now().UnixMicro()
	p := Provider{Provider: placement.Provider{UUID: uuidStr, Name: name, ParentUUID: parent, RootUUID: uuidStr}, CreatedAt: now, UpdatedAt: now}
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if err := s.checkUnique(ctx, tx, uuidStr, name); err != nil {
			return err
		}
		if parent != "" {
			var root string
			err := tx.Get(ctx, `SELECT root_uuid FROM compute_providers WHERE uuid = ?`, []any{parent}, &root)
			if errors.Is(err, sqlstore.ErrNotFound) {
				return placementError(fault.BadRequest, CodeDefault, "parent provider UUID %s does not exist", parent)
			} else if err != nil {
				return err
			}
			p.RootUUID = root
		}
		_, err := tx.Exec(ctx, `INSERT INTO compute_providers (uuid, name, generation, parent_uuid, root_uuid, created_at, updated_at)
			VALUES (?, ?, 0, ?, ?, ?, ?)`, p.UUID, p.Name, nullable(parent), p.RootUUID, now, now)
		if errors.Is(err, sqlstore.ErrConflict) {
			return placementError(fault.Conflict, CodeDuplicateName, "Conflicting resource provider name: %s already exists.", name)
		} else if err != nil {
			return err
		}
		return s.record(ctx, tx, "resource_provider", p.UUID, "", watch.Create, p.Provider)
	})
	return p, err
}

func (s *Store) checkUnique(ctx context.Context, tx *sqlstore.Tx, uuidStr, name string) error {
	var u, n string
	err := tx.Get(ctx, `SELECT uuid, name FROM compute_providers WHERE uuid = ? OR name = ?`, []any{uuidStr, name}, &u, &n)
	switch {
	case errors.Is(err, sqlstore.ErrNotFound):
		return nil
	case err != nil:
		return err
	case u == uuidStr:
		return placementError(fault.Conflict, CodeDuplicateName, "Conflicting resource provider uuid: %s already exists.", uuidStr)
	}
	return placementError(fault.Conflict, CodeDuplicateName, "Conflicting resource provider name: %s already exists.", name)
}

func checkProviderName(name string) error {
	if name == "" || len(name) > 200 {
		return placementError(fault.BadRequest, CodeDefault, "resource provider name must be 1 to 200 characters")
	}
	return nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Provider returns one provider with its inventories, usages, traits and
// aggregates.
func (s *Store) Provider(ctx context.Context, uuidStr string) (Provider, error) {
	var out Provider
	err := s.db.ReadTx(ctx, func(tx *sqlstore.Tx) error {
		ps, err := s.loadProviders(ctx, tx, "WHERE p.uuid = ?", uuidStr)
		if err != nil {
			return err
		}
		if len(ps) == 0 {
			return providerNotFound(uuidStr)
		}
		out = ps[0]
		return nil
	})
	return out, err
}

// ProviderFilter is GET /resource_providers' query: every field set must
// hold. Resources keeps providers with room for all the amounts.
type ProviderFilter struct {
	Name, UUID, InTree string
	MemberOf           [][]string
	NotMemberOf        []string
	Resources          map[string]int64
	Required           []string
	Forbidden          []string
	AnyOf              [][]string
}

// Providers lists providers by uuid that pass f.
func (s *Store) Providers(ctx context.Context, f ProviderFilter) ([]Provider, error) {
	var all []Provider
	roots := map[string]*placement.Provider{}
	treeRoot := ""
	err := s.db.ReadTx(ctx, func(tx *sqlstore.Tx) error {
		var err error
		where, args := "", []any{}
		switch {
		case f.UUID != "":
			where, args = "WHERE p.uuid = ?", append(args, f.UUID)
		case f.Name != "":
			where, args = "WHERE p.name = ?", append(args, f.Name)
		case f.InTree != "":
			where, args = "WHERE p.root_uuid = (SELECT root_uuid FROM compute_providers WHERE uuid = ?)", append(args, f.InTree)
		}
		if all, err = s.loadProviders(ctx, tx, where, args...); err != nil {
			return err
		}
		if f.InTree != "" {
			err := tx.Get(ctx, `SELECT root_uuid FROM compute_providers WHERE uuid = ?`, []any{f.InTree}, &treeRoot)
			if fault.KindOf(err) == fault.NotFound {
				all = nil
				return nil
			} else if err != nil {
				return err
			}
		}
		// member_of looks at a provider's root too: read the roots the
		// selection lacks.
		for i := range all {
			if all[i].UUID == all[i].RootUUID {
				roots[all[i].UUID] = &all[i].Provider
			}
		}
		for _, p := range all {
			if roots[p.RootUUID] != nil {
				continue
			}
			rs, err := s.loadProviders(ctx, tx, "WHERE p.uuid = ?", p.RootUUID)
			if err != nil {
				return err
			}
			if len(rs) == 1 {
				roots[p.RootUUID] = &rs[0].Provider
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]Provider, 0, len(all))
	for _, p := range all {
		if (treeRoot == "" || p.RootUUID == treeRoot) && f.keeps(&p.Provider, roots[p.RootUUID]) {
			out = append(out, p)
		}
	}
	return out, nil
}

func (f *ProviderFilter) keeps(p, root *placement.Provider) bool {
	if (f.Name != "" && p.Name != f.Name) || (f.UUID != "" && p.UUID != f.UUID) {
		return false
	}
	in := func(a string) bool { return p.InAggregate(a) || (root != nil && root.InAggregate(a)) }
	for _, any := range f.MemberOf {
		if !slices.ContainsFunc(any, in) {
			return false
		}
	}
	if slices.ContainsFunc(f.NotMemberOf, in) {
		return false
	}
	for c, n := range f.Resources {
		if p.Fit(c, n, 0) != nil {
			return false
		}
	}
	for _, t := range f.Required {
		if !p.HasTrait(t) {
			return false
		}
	}
	if slices.ContainsFunc(f.Forbidden, p.HasTrait) {
		return false
	}
	for _, any := range f.AnyOf {
		if !slices.ContainsFunc(any, p.HasTrait) {
			return false
		}
	}
	return true
}

// loadProviders reads the providers a WHERE clause on compute_providers
// p selects, with their inventories, traits and aggregates, by uuid.
func (s *Store) loadProviders(ctx context.Context, tx *sqlstore.Tx, where string, args ...any) ([]Provider, error) {
	rows, err := tx.Query(ctx, `SELECT p.uuid, p.name, p.generation, COALESCE(p.parent_uuid, ''), p.root_uuid, p.created_at, p.updated_at
		FROM compute_providers p `+where+` ORDER BY p.uuid`, args...)
	if err != nil {
		return nil, err
	}
	var out []Provider
	idx := map[string]int{}
	for rows.Next() {
		var p Provider
		if err := rows.Scan(&p.UUID, &p.Name, &p.Generation, &p.ParentUUID, &p.RootUUID, &p.CreatedAt, &p.UpdatedAt); err != nil {
			rows.Close()
			return nil, err
		}
		p.Inventories, p.Usages = map[string]placement.Inventory{}, map[string]int64{}
		idx[p.UUID] = len(out)
		out = append(out, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(out) == 0 {
		return out, err
	}
	// One query per part over the same selection; a single provider's
	// parts come by key.
	sub := `SELECT p.uuid FROM compute_providers p ` + where
	if where == "" {
		sub, args = `SELECT uuid FROM compute_providers`, nil
	}
	err = scanEach(ctx, tx, `SELECT provider_uuid, resource_class, total, reserved, min_unit, max_unit, step_size, allocation_ratio, used
		FROM compute_inventories WHERE provider_uuid IN (`+sub+`)`, args, func(r *sql.Rows) error {
		var u, c string
		var inv placement.Inventory
		var used int64
		if err := r.Scan(&u, &c, &inv.Total, &inv.Reserved, &inv.MinUnit, &inv.MaxUnit, &inv.StepSize, &inv.AllocationRatio, &used); err != nil {
			return err
		}
		if i, ok := idx[u]; ok {
			out[i].Inventories[c], out[i].Usages[c] = inv, used
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = scanEach(ctx, tx, `SELECT provider_uuid, trait FROM compute_provider_traits WHERE provider_uuid IN (`+sub+`) ORDER BY provider_uuid, trait`, args, func(r *sql.Rows) error {
		var u, t string
		if err := r.Scan(&u, &t); err != nil {
			return err
		}
		if i, ok := idx[u]; ok {
			out[i].Traits = append(out[i].Traits, t)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = scanEach(ctx, tx, `SELECT provider_uuid, aggregate_uuid FROM compute_provider_aggregates WHERE provider_uuid IN (`+sub+`) ORDER BY provider_uuid, aggregate_uuid`, args, func(r *sql.Rows) error {
		var u, a string
		if err := r.Scan(&u, &a); err != nil {
			return err
		}
		if i, ok := idx[u]; ok {
			out[i].Aggregates = append(out[i].Aggregates, a)
		}
		return nil
	})
	return out, err
}

func scanEach(ctx context.Context, tx *sqlstore.Tx, q string, args []any, fn func(*sql.Rows) error) error {
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// UpdateProvider renames a provider and sets its parent: a root may get
// a parent (Placement 1.37 re-parenting), a child may move within or
// out of its tree, but no provider becomes its own ancestor. The
// generation does not change, as in Placement.
func (s *Store) UpdateProvider(ctx context.Context, uuidStr, name, parent string) (Provider, error) {
	if err := checkProviderName(name); err != nil {
		return Provider{}, err
	}
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		cur, err := s.lockProvider(ctx, tx, uuidStr, nil)
		if err != nil {
			return err
		}
		var other string
		err = tx.Get(ctx, `SELECT uuid FROM compute_providers WHERE name = ? AND uuid <> ?`, []any{name, uuidStr}, &other)
		if err == nil {
			return placementError(fault.Conflict, CodeDuplicateName, "Conflicting resource provider name: %s already exists.", name)
		} else if !errors.Is(err, sqlstore.ErrNotFound) {
			return err
		}
		root := uuidStr
		if parent != "" {
			if root, err = s.ancestorCheck(ctx, tx, uuidStr, parent); err != nil {
				return err
			}
		}
		now := s.now().UnixMicro()
		if _, err := tx.Exec(ctx, `UPDATE compute_providers SET name = ?, parent_uuid = ?, updated_at = ? WHERE uuid = ?`,
			name, nullable(parent), now, uuidStr); err != nil {
			return err
		}
		if root != cur.root {
			if err := s.setRoot(ctx, tx, uuidStr, root); err != nil {
				return err
			}
		}
		return s.record(ctx, tx, "resource_provider", uuidStr, "", watch.Update, map[string]string{"uuid": uuidStr, "name": name, "parent_provider_uuid": parent})
	})
	if err != nil {
		return Provider{}, err
	}
	return s.Provider(ctx, uuidStr)
}

// ancestorCheck returns parent's root, refusing a parent that is u
// itself or one of its descendants. It takes the row lock of each
// ancestor before reading its parent, so two moves that would make a
// loop together (X under Y, Y under X) take turns, and the second sees
// the first's parent.
func (s *Store) ancestorCheck(ctx context.Context, tx *sqlstore.Tx, u, parent string) (string, error) {
	for cur, hops := parent, 0; cur != ""; hops++ {
		if cur == u || hops > 1000 {
			return "", placementError(fault.BadRequest, CodeDefault, "creating loop in the provider tree is not allowed")
		}
		if _, err := tx.Exec(ctx, `UPDATE compute_providers SET generation = generation WHERE uuid = ?`, cur); err != nil {
			return "", err
		}
		var next sql.NullString
		err := tx.Get(ctx, `SELECT parent_uuid FROM compute_providers WHERE uuid = ?`, []any{cur}, &next)
		if errors.Is(err, sqlstore.ErrNotFound) {
			return "", placementError(fault.BadRequest, CodeDefault, "parent provider UUID %s does not exist", parent)
		} else if err != nil {
			return "", err
		}
		if !next.Valid {
			return cur, nil
		}
		cur = next.String
	}
	return "", nil
}

// setRoot gives u and its descendants root.
func (s *Store) setRoot(ctx context.Context, tx *sqlstore.Tx, u, root string) error {
	level := []string{u}
	for depth := 0; len(level) > 0; depth++ {
		if depth > 1000 { // a loop: never stored, since ancestorCheck locks the chain
			return placementError(fault.Conflict, CodeConcurrentUpdate, "the provider tree of %s changed while moving it; retry", u)
		}
		var next []string
		for _, p := range level {
			if _, err := tx.Exec(ctx, `UPDATE compute_providers SET root_uuid = ? WHERE uuid = ?`, root, p); err != nil {
				return err
			}
			err := scanEach(ctx, tx, `SELECT uuid FROM compute_providers WHERE parent_uuid = ?`, []any{p}, func(r *sql.Rows) error {
				var c string
				err := r.Scan(&c)
				next = append(next, c)
				return err
			})
			if err != nil {
				return err
			}
		}
		level = next
	}
	return nil
}

type lockedProvider struct {
	generation int64
	root       string
}

// lockProvider takes a provider's row lock (and checks its generation
// when want is given) by bumping nothing: an UPDATE that touches the row.
// With want it is the compare-and-swap of Placement's generations.
func (s *Store) lockProvider(ctx context.Context, tx *sqlstore.Tx, u string, want *int64) (lockedProvider, error) {
	if _, err := tx.Exec(ctx, `UPDATE compute_providers SET generation = generation WHERE uuid = ?`, u); err != nil {
		return lockedProvider{}, err
	}
	var lp lockedProvider
	err := tx.Get(ctx, `SELECT generation, root_uuid FROM compute_providers WHERE uuid = ?`, []any{u}, &lp.generation, &lp.root)
	if errors.Is(err, sqlstore.ErrNotFound) {
		return lp, providerNotFound(u)
	} else if err != nil {
		return lp, err
	}
	if want != nil && *want != lp.generation {
		return lp, generationConflict(u)
	}
	return lp, nil
}

// bumpGeneration increments a locked provider's generation.
func (s *Store) bumpGeneration(ctx context.Context, tx *sqlstore.Tx, u string) (int64, error) {
	var g int64
	if _, err := tx.Exec(ctx, `UPDATE compute_providers SET generation = generation + 1, updated_at = ? WHERE uuid = ?`, s.now().UnixMicro(), u); err != nil {
		return 0, err
	}
	err := tx.Get(ctx, `SELECT generation FROM compute_providers WHERE uuid = ?`, []any{u}, &g)
	return g, err
}

// DeleteProvider removes a provider with its inventories, traits and
// aggregates: refused while it has allocations or children.
func (s *Store) DeleteProvider(ctx context.Context, u string) error {
	return s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if _, err := s.lockProvider(ctx, tx, u, nil); err != nil {
			return err
		}
		var n int64
		if err := tx.Get(ctx, `SELECT COUNT(*) FROM compute_providers WHERE parent_uuid = ?`, []any{u}, &n); err != nil {
			return err
		}
		if n > 0 {
			return placementError(fault.Conflict, CodeCannotDeleteParent,
				"Unable to delete parent resource provider %s: It has child resource providers.", u)
		}
		if err := tx.Get(ctx, `SELECT COUNT(*) FROM compute_allocations WHERE provider_uuid = ?`, []any{u}, &n); err != nil {
			return err
		}
		if n > 0 {
			return placementError(fault.Conflict, CodeProviderInUse,
				"Unable to delete resource provider %s: Resource provider has allocations.", u)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM compute_providers WHERE uuid = ?`, u); err != nil {
			return err
		}
		return s.record(ctx, tx, "resource_provider", u, "", watch.Delete, nil)
	})
}

// SetProviderTraits replaces a provider's traits at generation gen; the
// traits must exist. It returns the new generation.
func (s *Store) SetProviderTraits(ctx context.Context, u string, gen int64, traits []string) (int64, error) {
	traits = sortedSet(traits)
	var out int64
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if _, err := s.lockProvider(ctx, tx, u, &gen); err != nil {
			return err
		}
		if missing, err := s.missingTraits(ctx, tx, traits); err != nil {
			return err
		} else if len(missing) > 0 {
			return placementError(fault.BadRequest, CodeDefault, "No such trait(s): %s", strings.Join(missing, ", "))
		}
		if _, err := tx.Exec(ctx, `DELETE FROM compute_provider_traits WHERE provider_uuid = ?`, u); err != nil {
			return err
		}
		for _, t := range traits {
			if _, err := tx.Exec(ctx, `INSERT INTO compute_provider_traits (provider_uuid, trait) VALUES (?, ?)`, u, t); err != nil {
				return err
			}
		}
		var err error
		if out, err = s.bumpGeneration(ctx, tx, u); err != nil {
			return err
		}
		return s.record(ctx, tx, "resource_provider", u, "", watch.Update, map[string]any{"uuid": u, "traits": traits})
	})
	return out, err
}

// SetProviderAggregates replaces a provider's aggregates (uuids) at
// generation gen, and bumps it. With gen nil (before Placement 1.19)
// the generation is neither checked nor bumped, as in Placement. It
// returns the provider's generation afterwards.
func (s *Store) SetProviderAggregates(ctx context.Context, u string, gen *int64, aggs []string) (int64, error) {
	aggs = sortedSet(aggs)
	for _, a := range aggs {
		if uuid.Validate(a) != nil {
			return 0, placementError(fault.BadRequest, CodeDefault, "aggregate %q is not a uuid", a)
		}
	}
	var out int64
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		lp, err := s.lockProvider(ctx, tx, u, gen)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM compute_provider_aggregates WHERE provider_uuid = ?`, u); err != nil {
			return err
		}
		for _, a := range aggs {
			if _, err := tx.Exec(ctx, `INSERT INTO compute_provider_aggregates (provider_uuid, aggregate_uuid) VALUES (?, ?)`, u, a); err != nil {
				return err
			}
		}
		if gen == nil {
			out = lp.generation
		} else if out, err = s.bumpGeneration(ctx, tx, u); err != nil {
			return err
		}
		return s.record(ctx, tx, "resource_provider", u, "", watch.Update, map[string]any{"uuid": u, "aggregates": aggs})
	})
	return out, err
}

func sortedSet(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}

// checkCustom is the rule for names of custom classes and traits.
func checkCustom(name string) error {
	if err := placement.CheckCustomName(name); err != nil {
		return placementError(fault.BadRequest, CodeDefault, "%s", strings.TrimPrefix(err.Error(), placement.ErrInvalid.Error()+": "))
	}
	return nil
}

var _ = fmt.Sprintf
