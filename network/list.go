package network

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
)

// Page is one page of a list in Neutron's way: sorted by SortKeys (each
// with its direction; id is always added last as the tie-break), the
// items after Marker (an id), at most Limit (0: all).
type Page struct {
	Sort   []Sort
	Marker string
	Limit  int
}

// Sort is one sort_key/sort_dir pair.
type Sort struct {
	Key  string
	Desc bool
}

// PortFilter selects ports; zero fields do not filter.
type PortFilter struct {
	NetworkID   string
	DeviceOwner string
	DeviceID    string
	HostID      string
	Status      string
	MAC         string
	Name        string
}

// portSortKeys are the columns ports sort on, by Neutron attribute.
var portSortKeys = map[string]string{
	"id": "id", "name": "name", "network_id": "network_id", "mac_address": "mac_address", "status": "status",
	"device_owner": "device_owner", "device_id": "device_id", "created_at": "created_at", "updated_at": "updated_at",
	"project_id": "project_id", "tenant_id": "project_id",
}

// ListPorts returns the ports v may see (its project's; every one for an
// admin) matching f, one page of them in SQL, with their addresses, and
// whether more follow.
func (s *Store) ListPorts(ctx context.Context, v Viewer, f PortFilter, p Page) ([]Port, bool, error) {
	var conds []string
	var args []any
	add := func(cond string, arg any) { conds, args = append(conds, cond), append(args, arg) }
	if !v.Admin {
		add("project_id = ?", v.Project)
	}
	for _, c := range []struct{ col, val string }{{"network_id", f.NetworkID}, {"device_owner", f.DeviceOwner},
		{"device_id", f.DeviceID}, {"host_id", f.HostID}, {"status", f.Status}, {"name", f.Name}} {
		if c.val != "" {
			add(c.col+" = ?", c.val)
		}
	}
	if f.MAC != "" {
		mac, err := parseMAC(f.MAC)
		if err != nil {
			return nil, false, err
		}
		add("mac_address = ?", mac)
	}
	ks := sqlstore.Keyset{}
	for _, o := range p.Sort {
		col, ok := portSortKeys[o.Key]
		if !ok {
			return nil, false, neutronError(fault.BadRequest, "BadRequest", "%s is an invalid attribute for sort_keys", o.Key)
		}
		if col != "id" {
			ks = append(ks, sqlstore.SortKey{Expr: col, Desc: o.Desc})
		}
	}
	ks = append(ks, sqlstore.SortKey{Expr: "id", Desc: len(p.Sort) > 0 && p.Sort[len(p.Sort)-1].Desc})
	where := func() string {
		if len(conds) == 0 {
			return ""
		}
		return " WHERE " + strings.Join(conds, " AND ")
	}
	var out []Port
	more := false
	err := s.db.ReadTx(ctx, func(tx *sqlstore.Tx) error {
		out, more = []Port{}, false
		if p.Marker != "" {
			values, err := ks.Marker(ctx, tx, "FROM network_ports"+where()+andOr(conds)+"id = ?", append(slices.Clone(args), p.Marker)...)
			if errors.Is(err, sqlstore.ErrNotFound) {
				return neutronError(fault.NotFound, "PortNotFound", "Port %s could not be found.", p.Marker)
			} else if err != nil {
				return err
			}
			cond, cargs := ks.After(values)
			conds, args = append(conds, cond), append(args, cargs...)
		}
		q := "SELECT " + portCols + " FROM network_ports" + where() + ks.OrderBy()
		if p.Limit > 0 {
			q += " LIMIT ?"
			args = append(args, p.Limit+1)
		}
		rows, err := tx.Query(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			port, err := scanPort(rows)
			if err != nil {
				return err
			}
			out = append(out, port)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if p.Limit > 0 && len(out) > p.Limit {
			out, more = out[:p.Limit], true
		}
		return addFixedIPs(ctx, tx, out)
	})
	return out, more, err
}

// andOr joins the marker's id condition to the filters.
func andOr(conds []string) string {
	if len(conds) == 0 {
		return " WHERE "
	}
	return " AND "
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
