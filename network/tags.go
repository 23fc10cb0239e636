package network

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// MaxTagLen is Neutron's MAX_TAG_LEN: the most characters a tag has.
const MaxTagLen = 255

// Tagged are the kinds of resources that carry tags (Neutron's
// standard-attr-tag), as the feed names them.
var Tagged = []string{"network", "subnet", "port", "router", "floatingip", "security_group"}

// tagKind is how the tags of one kind of resource are changed: its table,
// its not-found error and how to read it whole for the feed.
type tagKind struct {
	table    string
	notFound func(id string) error
	load     func(ctx context.Context, tx *sqlstore.Tx, id string) (any, error)
}

var tagKinds = map[string]tagKind{
	"network": {"network_networks", networkNotFound, func(ctx context.Context, tx *sqlstore.Tx, id string) (any, error) {
		n, err := queryOne(ctx, tx, scanNetwork, "SELECT "+networkCols+" FROM network_networks WHERE id = ?", id)
		if err == nil {
			n.Tags, err = tagsOf(ctx, tx, "network", id)
		}
		return n, err
	}},
	"subnet": {"network_subnets", subnetTable.notFound, func(ctx context.Context, tx *sqlstore.Tx, id string) (any, error) {
		sub, err := queryOne(ctx, tx, scanSubnet, "SELECT "+subnetCols+" FROM network_subnets WHERE id = ?", id)
		if err == nil {
			sub.Tags, err = tagsOf(ctx, tx, "subnet", id)
		}
		return sub, err
	}},
	"port": {"network_ports", portTable.notFound, func(ctx context.Context, tx *sqlstore.Tx, id string) (any, error) {
		p, err := queryOne(ctx, tx, scanPort, "SELECT "+portCols+" FROM network_ports WHERE id = ?", id)
		if err == nil {
			p.FixedIPs, err = fixedIPs(ctx, tx, id)
		}
		if err == nil {
			p.Tags, err = tagsOf(ctx, tx, "port", id)
		}
		return p, err
	}},
	"router": {"network_routers", routerNotFound, func(ctx context.Context, tx *sqlstore.Tx, id string) (any, error) {
		return getRouter(ctx, tx, Viewer{Admin: true}, id)
	}},
	"floatingip": {"network_floatingips", fipNotFound, func(ctx context.Context, tx *sqlstore.Tx, id string) (any, error) {
		return getFIP(ctx, tx, Viewer{Admin: true}, id)
	}},
	"security_group": {"network_security_groups", sgNotFound, func(ctx context.Context, tx *sqlstore.Tx, id string) (any, error) {
		g, err := getGroup(ctx, tx, Viewer{Admin: true}, id)
		if err != nil {
			return nil, err
		}
		groups := []SecurityGroup{g}
		return groups[0], addRules(ctx, tx, groups)
	}},
}

// TagNotFound is Neutron's TagNotFound.
func TagNotFound(tag string) error {
	return neutronError(fault.NotFound, "TagNotFound", "Tag %s could not be found.", tag)
}

// CheckTag is Neutron's validate_tag: a string of at most MaxTagLen
// characters (and, as no text column holds them, no NUL nor invalid
// UTF-8), else InvalidInput.
func CheckTag(tag string) error {
	if !utf8.ValidString(tag) || strings.ContainsRune(tag, 0) {
		return invalidInput("'%s' is not a valid string", strings.ToValidUTF8(strings.ReplaceAll(tag, "\x00", ""), "?"))
	}
	if utf8.RuneCountInString(tag) > MaxTagLen {
		return invalidInput("'%s' exceeds maximum length of %d", tag, MaxTagLen)
	}
	return nil
}

// CheckTags is Neutron's validate_list_of_unique_strings for tags: no
// tag twice, each one as CheckTag takes it.
func CheckTags(tags []string) error {
	var dups []string
	seen := make(map[string]int, len(tags))
	for _, t := range tags {
		if seen[t]++; seen[t] == 2 {
			dups = append(dups, t)
		}
	}
	if len(dups) > 0 {
		return invalidInput("Duplicate items in the list: '%s'", strings.Join(dups, ", "))
	}
	for _, t := range tags {
		if err := CheckTag(t); err != nil {
			return err
		}
	}
	return nil
}

// tagsOf reads the tags of one resource, sorted.
func tagsOf(ctx context.Context, q querier, kind, id string) ([]string, error) {
	m, err := tagsByID(ctx, q, kind, []string{id})
	return m[id], err
}

// tagsByID reads the tags of resources of kind in one query: each id has
// a list, sorted (empty for none).
func tagsByID(ctx context.Context, q querier, kind string, ids []string) (map[string][]string, error) {
	out := make(map[string][]string, len(ids))
	for _, id := range ids {
		out[id] = []string{}
	}
	if len(ids) == 0 {
		return out, nil
	}
	in, args := inList(ids)
	rows, err := q.Query(ctx, "SELECT resource_id, tag FROM network_tags WHERE resource_type = ? AND resource_id IN "+in,
		append([]any{kind}, args...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, tag string
		if err := rows.Scan(&id, &tag); err != nil {
			return nil, err
		}
		out[id] = append(out[id], tag)
	}
	for _, tags := range out {
		slices.Sort(tags) // the same order on both engines, whatever their collation
	}
	return out, rows.Err()
}

// taggedRef is a pointer to a resource that carries tags: its id and its
// tags.
type taggedRef[T any] interface {
	*T
	tagRef() (string, *[]string)
}

func (n *Network) tagRef() (string, *[]string)       { return n.ID, &n.Tags }
func (s *Subnet) tagRef() (string, *[]string)        { return s.ID, &s.Tags }
func (p *Port) tagRef() (string, *[]string)          { return p.ID, &p.Tags }
func (r *Router) tagRef() (string, *[]string)        { return r.ID, &r.Tags }
func (f *FloatingIP) tagRef() (string, *[]string)    { return f.ID, &f.Tags }
func (g *SecurityGroup) tagRef() (string, *[]string) { return g.ID, &g.Tags }

// addTags reads the tags of items (resources of kind) in one query.
func addTags[T any, P taggedRef[T]](ctx context.Context, q querier, kind string, items []T) error {
	ids := make([]string, len(items))
	for i := range items {
		ids[i], _ = P(&items[i]).tagRef()
	}
	m, err := tagsByID(ctx, q, kind, ids)
	if err != nil {
		return err
	}
	for i := range items {
		id, tags := P(&items[i]).tagRef()
		*tags = m[id]
	}
	return nil
}

// withTags returns v, a resource about to go to the feed, with its tags
// read in tx when it does not carry them yet (nil): the feed always has a
// resource's tags, whichever write recorded it.
func withTags(ctx context.Context, tx *sqlstore.Tx, kind string, v any) (any, error) {
	var err error
	switch x := v.(type) {
	case Network:
		err = fillTags(ctx, tx, kind, &x)
		v = x
	case Subnet:
		err = fillTags(ctx, tx, kind, &x)
		v = x
	case Port:
		err = fillTags(ctx, tx, kind, &x)
		v = x
	case Router:
		err = fillTags(ctx, tx, kind, &x)
		v = x
	case FloatingIP:
		err = fillTags(ctx, tx, kind, &x)
		v = x
	case SecurityGroup:
		err = fillTags(ctx, tx, kind, &x)
		v = x
	}
	return v, err
}

func fillTags[T any, P taggedRef[T]](ctx context.Context, tx *sqlstore.Tx, kind string, x P) error {
	id, tags := x.tagRef()
	if *tags != nil {
		return nil
	}
	var err error
	*tags, err = tagsOf(ctx, tx, kind, id)
	return err
}

// insertTags stores tags of a new resource.
func insertTags(ctx context.Context, tx *sqlstore.Tx, kind, id string, tags []string) error {
	for _, t := range tags {
		if _, err := tx.Exec(ctx, "INSERT INTO network_tags (resource_type, resource_id, tag) VALUES (?, ?, ?)", kind, id, t); err != nil {
			return err
		}
	}
	return nil
}

// deleteTags deletes the tags of resources of kind that the transaction
// has deleted. It runs after their rows are gone: a tag write in flight
// holds a resource's row, so the delete of the row waited for it and
// this statement sees its tags.
func deleteTags(ctx context.Context, tx *sqlstore.Tx, kind string, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	in, args := inList(ids)
	_, err := tx.Exec(ctx, "DELETE FROM network_tags WHERE resource_type = ? AND resource_id IN "+in, append([]any{kind}, args...)...)
	return err
}

// SetTags replaces the tags of resource id of kind (one of Tagged) that v
// may change (its project's, any for an admin) by tags (none: removes
// them all), as Neutron's update_tags: the resource's revision is bumped
// and it goes to the feed if its tags change. It returns the tags the
// resource has.
func (s *Store) SetTags(ctx context.Context, v Viewer, kind, id string, tags []string) ([]string, error) {
	if err := CheckTags(tags); err != nil {
		return nil, err
	}
	return s.changeTags(ctx, v, kind, id, func([]string) ([]string, error) { return tags, nil })
}

// AddTag adds tag to resource id of kind (see SetTags); a tag it has
// already changes nothing.
func (s *Store) AddTag(ctx context.Context, v Viewer, kind, id, tag string) ([]string, error) {
	if err := CheckTag(tag); err != nil {
		return nil, err
	}
	return s.changeTags(ctx, v, kind, id, func(have []string) ([]string, error) {
		if slices.Contains(have, tag) {
			return have, nil
		}
		return append(slices.Clone(have), tag), nil
	})
}

// RemoveTag removes tag from resource id of kind (see SetTags), or
// answers Neutron's TagNotFound.
func (s *Store) RemoveTag(ctx context.Context, v Viewer, kind, id, tag string) ([]string, error) {
	if err := CheckTag(tag); err != nil {
		return nil, err
	}
	return s.changeTags(ctx, v, kind, id, func(have []string) ([]string, error) {
		if !slices.Contains(have, tag) {
			return nil, TagNotFound(tag)
		}
		return slices.DeleteFunc(slices.Clone(have), func(t string) bool { return t == tag }), nil
	})
}

// changeTags gives resource id of kind the tags fn makes of those it has,
// in one transaction that holds the resource's row: the tags added and
// removed, the revision bumped and updated_at set (Neutron's revision
// plugin bumps a resource whose tags change), the resource on the feed.
func (s *Store) changeTags(ctx context.Context, v Viewer, kind, id string, fn func(have []string) ([]string, error)) ([]string, error) {
	k, ok := tagKinds[kind]
	if !ok {
		return nil, fmt.Errorf("network: tags of %q: not a tagged kind", kind)
	}
	var out []string
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		res, err := tx.Exec(ctx, "UPDATE "+k.table+" SET revision = revision WHERE id = ?", id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return k.notFound(id)
		}
		var project string
		if err := tx.Get(ctx, "SELECT project_id FROM "+k.table+" WHERE id = ?", []any{id}, &project); errors.Is(err, sqlstore.ErrNotFound) {
			return k.notFound(id)
		} else if err != nil {
			return err
		}
		if !v.sees(project) {
			return k.notFound(id)
		}
		have, err := tagsOf(ctx, tx, kind, id)
		if err != nil {
			return err
		}
		want, err := fn(have)
		if err != nil {
			return err
		}
		gone, added := difference(have, want), difference(want, have)
		out = slices.Sorted(slices.Values(want))
		if out == nil {
			out = []string{}
		}
		if len(gone) == 0 && len(added) == 0 {
			return nil // nothing to write: no revision, no feed entry
		}
		if len(gone) > 0 {
			in, args := inList(gone)
			if _, err := tx.Exec(ctx, "DELETE FROM network_tags WHERE resource_type = ? AND resource_id = ? AND tag IN "+in,
				append([]any{kind, id}, args...)...); err != nil {
				return err
			}
		}
		if err := insertTags(ctx, tx, kind, id, added); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "UPDATE "+k.table+" SET revision = revision + 1, updated_at = ? WHERE id = ?",
			s.now().UnixMicro(), id); err != nil {
			return err
		}
		r, err := k.load(ctx, tx, id)
		if err != nil {
			return err
		}
		return s.record(ctx, tx, kind, id, project, watch.Update, r)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// tagFilters are Neutron's tag filters on a list of kind whose id is the
// SQL expression id: tags (all of them), tags-any (one of them),
// not-tags (not all of them), not-tags-any (none of them). Each value is
// a comma-separated list, and all values of a filter are one list.
func tagFilters(kind, id string, cols map[string]column) map[string]column {
	all := func(not string) func([]string) (string, []any) {
		return func(vs []string) (string, []any) {
			tags := tagList(vs)
			in, args := inList(tags)
			return id + not + " IN (SELECT resource_id FROM network_tags WHERE resource_type = ? AND tag IN " + in +
				" GROUP BY resource_id HAVING COUNT(*) = ?)", append(append([]any{kind}, args...), len(tags))
		}
	}
	anyOf := func(not string) func([]string) (string, []any) {
		return func(vs []string) (string, []any) {
			in, args := inList(tagList(vs))
			return id + not + " IN (SELECT resource_id FROM network_tags WHERE resource_type = ? AND tag IN " + in + ")",
				append([]any{kind}, args...)
		}
	}
	cols["tags"] = column{where: all("")}
	cols["tags-any"] = column{where: anyOf("")}
	cols["not-tags"] = column{where: all(" NOT")}
	cols["not-tags-any"] = column{where: anyOf(" NOT")}
	return cols
}

// tagList is Neutron's _get_tag_list: the values split at commas, each
// tag once.
func tagList(values []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, v := range values {
		for _, t := range strings.Split(v, ",") {
			if !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	return out
}

// difference is the tags of a that b lacks, in a's order.
func difference(a, b []string) []string {
	in := make(map[string]bool, len(b))
	for _, t := range b {
		in[t] = true
	}
	var out []string
	for _, t := range a {
		if !in[t] {
			out = append(out, t)
		}
	}
	return out
}
