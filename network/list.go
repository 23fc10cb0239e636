package network

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
)

// Page is one page of a list in Neutron's way: sorted by Sort (id is
// always added last as the tie-break, in the last key's direction), the
// items after Marker (an id), or before it with Reverse, at most Limit
// (0: all).
type Page struct {
	Sort    []Sort
	Marker  string
	Limit   int
	Reverse bool
}

// Sort is one sort_key/sort_dir pair.
type Sort struct {
	Key  string
	Desc bool
}

// Filter selects by Neutron attribute: each attribute's values are
// alternatives, the attributes all apply (Neutron's ?name=a&name=b&shared=true).
type Filter map[string][]string

// column is how a Neutron attribute is read in SQL: an expression, and a
// conversion of filter values (booleans, MACs).
type column struct {
	expr     string
	convert  func(string) (any, error)
	sort     bool
	noFilter bool // sorts, but is no filter (timestamps, as in Neutron)
	// filter is the condition a filter value makes, with one ? for it,
	// when it is not expr = ? (a port's security groups).
	filter string
	// where is the one condition all the values make together, with its
	// arguments, when they are not alternatives (tags).
	where func(values []string) (string, []any)
}

func text(expr string) column { return column{expr: expr, sort: true} }

func boolean(expr string) column {
	return column{expr: expr, sort: true, convert: func(s string) (any, error) {
		switch strings.ToLower(s) {
		case "true", "1", "t", "y", "yes", "on":
			return true, nil
		case "false", "0", "f", "n", "no", "off":
			return false, nil
		}
		return nil, neutronError(fault.BadRequest, "InvalidInput", "Invalid input for operation: '%s' cannot be converted to boolean.", s)
	}}
}

func integer(expr string) column {
	return column{expr: expr, sort: true, convert: func(s string) (any, error) {
		var n int64
		if _, err := fmt.Sscan(s, &n); err != nil {
			return nil, neutronError(fault.BadRequest, "InvalidInput", "Invalid input for operation: '%s' is not an integer.", s)
		}
		return n, nil
	}}
}

// table is a listable resource.
type table[T any] struct {
	name     string // for messages: "network"
	from     string
	cols     string
	columns  map[string]column
	scan     func(scanner) (T, error)
	notFound func(id string) error
}

// list reads one page of t that v may see (cond, args) matching f.
func list[T any](ctx context.Context, tx *sqlstore.Tx, t table[T], cond string, args []any, f Filter, p Page) ([]T, bool, error) {
	conds := []string{cond}
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var invalid []string
	for _, k := range keys {
		c, ok := t.columns[k]
		if !ok || c.noFilter {
			invalid = append(invalid, "'"+k+"'")
			continue
		}
		if c.where != nil {
			cond, a := c.where(f[k])
			conds, args = append(conds, cond), append(args, a...)
			continue
		}
		var alts []string
		for _, v := range f[k] {
			var arg any = v
			if c.convert != nil {
				var err error
				if arg, err = c.convert(v); err != nil {
					return nil, false, err
				}
			}
			cond := c.expr + " = ?"
			if c.filter != "" {
				cond = c.filter
			}
			alts, args = append(alts, cond), append(args, arg)
		}
		if len(alts) > 0 {
			conds = append(conds, "("+strings.Join(alts, " OR ")+")")
		}
	}
	if len(invalid) > 0 {
		return nil, false, neutronError(fault.BadRequest, "HTTPBadRequest", "[%s] is invalid attribute for filtering", strings.Join(invalid, ", "))
	}
	ks := sqlstore.Keyset{}
	var absent []string
	for _, o := range p.Sort {
		c, ok := t.columns[o.Key]
		if !ok || !c.sort {
			absent = append(absent, "'"+o.Key+"'")
			continue
		}
		if c.expr != t.columns["id"].expr {
			ks = append(ks, sqlstore.SortKey{Expr: c.expr, Desc: o.Desc})
		}
	}
	if len(absent) > 0 {
		return nil, false, neutronError(fault.BadRequest, "HTTPBadRequest", "[%s] is invalid attribute for sort_keys", strings.Join(absent, ", "))
	}
	ks = append(ks, sqlstore.SortKey{Expr: t.columns["id"].expr, Desc: len(p.Sort) > 0 && p.Sort[len(p.Sort)-1].Desc})
	if p.Reverse {
		for i := range ks {
			ks[i].Desc = !ks[i].Desc
		}
	}
	where := " WHERE " + strings.Join(conds, " AND ")
	if p.Marker != "" {
		values, err := ks.Marker(ctx, tx, t.from+where+" AND "+t.columns["id"].expr+" = ?", append(slices.Clone(args), p.Marker)...)
		if errors.Is(err, sqlstore.ErrNotFound) {
			return nil, false, t.notFound(p.Marker)
		} else if err != nil {
			return nil, false, err
		}
		c, cargs := ks.After(values)
		where, args = where+" AND "+c, append(args, cargs...)
	}
	q := "SELECT " + t.cols + " " + t.from + where + ks.OrderBy()
	if p.Limit > 0 {
		q, args = q+" LIMIT ?", append(args, p.Limit+1)
	}
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		x, err := t.scan(rows)
		if err != nil {
			return nil, false, err
		}
		out = append(out, x)
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	more := false
	if p.Limit > 0 && len(out) > p.Limit {
		out, more = out[:p.Limit], true
	}
	if p.Reverse {
		slices.Reverse(out)
	}
	return out, more, nil
}

var networkTable = table[Network]{
	name: "network", from: "FROM network_networks n", cols: networkCols, scan: scanNetwork, notFound: networkNotFound,
	columns: tagFilters("network", "n.id", map[string]column{
		"id": text("n.id"), "name": text("n.name"), "description": text("n.description"),
		"tenant_id": text("n.project_id"), "project_id": text("n.project_id"),
		"admin_state_up": boolean("n.admin_state_up"), "shared": boolean("n.shared"), "router:external": boolean("n.external"),
		"mtu": integer("n.mtu"), "provider:network_type": text("n.network_type"),
		"provider:physical_network": text("n.physical_network"), "provider:segmentation_id": integer("n.segmentation_id"),
		"status": {expr: "'ACTIVE'"}, "revision_number": integer("n.revision"),
		"created_at": {expr: "n.created_at", sort: true, noFilter: true}, "updated_at": {expr: "n.updated_at", sort: true, noFilter: true},
	}),
}

var subnetTable = table[Subnet]{
	name: "subnet", from: "FROM network_subnets s", cols: subnetCols, scan: scanSubnet,
	notFound: func(id string) error {
		return neutronError(fault.NotFound, "SubnetNotFound", "Subnet %s could not be found.", id)
	},
	columns: tagFilters("subnet", "s.id", map[string]column{
		"id": text("s.id"), "name": text("s.name"), "description": text("s.description"),
		"tenant_id": text("s.project_id"), "project_id": text("s.project_id"), "network_id": text("s.network_id"),
		"ip_version": integer("s.ip_version"), "cidr": text("s.cidr"), "gateway_ip": text("s.gateway_ip"),
		"enable_dhcp": boolean("s.enable_dhcp"), "revision_number": integer("s.revision"),
		"created_at": {expr: "s.created_at", sort: true, noFilter: true}, "updated_at": {expr: "s.updated_at", sort: true, noFilter: true},
	}),
}

var portTable = table[Port]{
	name: "port", from: "FROM network_ports p", cols: portCols, scan: scanPort,
	notFound: func(id string) error {
		return neutronError(fault.NotFound, "PortNotFound", "Port %s could not be found.", id)
	},
	columns: tagFilters("port", "p.id", map[string]column{
		"id": text("p.id"), "name": text("p.name"), "description": text("p.description"),
		"tenant_id": text("p.project_id"), "project_id": text("p.project_id"), "network_id": text("p.network_id"),
		"admin_state_up": boolean("p.admin_state_up"), "status": text("p.status"),
		"mac_address":  {expr: "p.mac_address", sort: true, convert: func(s string) (any, error) { return parseMAC(s) }},
		"device_owner": text("p.device_owner"), "device_id": text("p.device_id"), "binding:host_id": text("p.host_id"),
		"security_groups": {filter: "p.id IN (SELECT port_id FROM network_port_security_groups WHERE security_group_id = ?)"},
		"revision_number": integer("p.revision"),
		"created_at":      {expr: "p.created_at", sort: true, noFilter: true}, "updated_at": {expr: "p.updated_at", sort: true, noFilter: true},
	}),
}

// ListNetworks returns the networks v may see matching f, one page of
// them in SQL, and whether more follow.
func (s *Store) ListNetworks(ctx context.Context, v Viewer, f Filter, p Page) ([]Network, bool, error) {
	var out []Network
	var more bool
	err := s.db.ReadTx(ctx, func(tx *sqlstore.Tx) error {
		cond, args := v.visible("n")
		var err error
		if out, more, err = list(ctx, tx, networkTable, cond, args, f, p); err != nil {
			return err
		}
		return addTags(ctx, tx, "network", out)
	})
	return out, more, err
}

// ListSubnets returns the subnets v may see (its project's, those of
// shared networks, or all for an admin) matching f, one page of them.
func (s *Store) ListSubnets(ctx context.Context, v Viewer, f Filter, p Page) ([]Subnet, bool, error) {
	var out []Subnet
	var more bool
	err := s.db.ReadTx(ctx, func(tx *sqlstore.Tx) error {
		cond, args := "1 = 1", []any(nil)
		if !v.Admin {
			cond, args = "(s.project_id = ? OR s.network_id IN (SELECT id FROM network_networks WHERE shared OR external))", []any{v.Project}
		}
		var err error
		if out, more, err = list(ctx, tx, subnetTable, cond, args, f, p); err != nil {
			return err
		}
		return addTags(ctx, tx, "subnet", out)
	})
	return out, more, err
}

// ListPorts returns the ports v may see (its project's; every one for an
// admin) matching f, one page of them in SQL, with their addresses, and
// whether more follow.
func (s *Store) ListPorts(ctx context.Context, v Viewer, f Filter, p Page) ([]Port, bool, error) {
	var out []Port
	var more bool
	err := s.db.ReadTx(ctx, func(tx *sqlstore.Tx) error {
		cond, args := "1 = 1", []any(nil)
		if !v.Admin {
			cond, args = "p.project_id = ?", []any{v.Project}
		}
		var err error
		if out, more, err = list(ctx, tx, portTable, cond, args, f, p); err != nil {
			return err
		}
		if err := addFixedIPs(ctx, tx, out); err != nil {
			return err
		}
		return addTags(ctx, tx, "port", out)
	})
	return out, more, err
}

// addFixedIPs reads the addresses of ports in one query.
func addFixedIPs(ctx context.Context, tx *sqlstore.Tx, ports []Port) error {
	if len(ports) == 0 {
		return nil
	}
	idx := map[string]int{}
	args := make([]any, len(ports))
	for i, p := range ports {
		idx[p.ID], args[i] = i, p.ID
		ports[i].FixedIPs = []FixedIP{}
	}
	rows, err := tx.Query(ctx, "SELECT port_id, subnet_id, ip_address FROM network_ip_allocations WHERE port_id IN (?"+
		strings.Repeat(", ?", len(ports)-1)+")", args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var portID, subnetID, ip string
		if err := rows.Scan(&portID, &subnetID, &ip); err != nil {
			return err
		}
		f, err := fixedIP(subnetID, ip)
		if err != nil {
			return err
		}
		i := idx[portID]
		ports[i].FixedIPs = append(ports[i].FixedIPs, f)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for i := range ports {
		sortFixedIPs(ports[i].FixedIPs)
	}
	return nil
}

// listOwned lists the rows of t that v may see (its project's, all for an
// admin; alias is t's table alias), one page in SQL, then completes the
// page with each of then, all in one read transaction.
func listOwned[T any](ctx context.Context, db *sqlstore.DB, t table[T], alias string, v Viewer, f Filter, p Page,
	then ...func(*sqlstore.Tx, []T) error) ([]T, bool, error) {
	var out []T
	var more bool
	err := db.ReadTx(ctx, func(tx *sqlstore.Tx) error {
		cond, args := "1 = 1", []any(nil)
		if !v.Admin {
			cond, args = alias+".project_id = ?", []any{v.Project}
		}
		var err error
		if out, more, err = list(ctx, tx, t, cond, args, f, p); err != nil {
			return err
		}
		for _, fn := range then {
			if err := fn(tx, out); err != nil {
				return err
			}
		}
		return nil
	})
	return out, more, err
}
