package compute

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/gostack/gostack/compute/placement"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// ComputeNode is a Nova compute node, a hypervisor in the API: the
// machine a compute host's driver reports. A host has one node (the
// libvirt and QEMU drivers' rule); its UUID is also the uuid of the
// host's resource provider, which holds the node's inventories and
// usages (NodeUsages).
type ComputeNode struct {
	ID                 int64  `json:"id"` // Nova's integer id, shown before microversion 2.53
	UUID               string `json:"uuid"`
	Host               string `json:"host"`
	HypervisorHostname string `json:"hypervisor_hostname"`
	HypervisorType     string `json:"hypervisor_type"`    // "QEMU", "kvm"...
	HypervisorVersion  int64  `json:"hypervisor_version"` // as libvirt gives it: major*1000000 + minor*1000 + release
	HostIP             string `json:"host_ip"`            // "" when unknown
	// CPUInfo is the driver's JSON object text ("" for none), shown as
	// text before microversion 2.28 and as an object from it.
	CPUInfo  string `json:"cpu_info"`
	VCPUs    int64  `json:"vcpus"`
	MemoryMB int64  `json:"memory_mb"`
	LocalGB  int64  `json:"local_gb"`
	// DiskAvailableLeast is the driver's free disk in GB were every disk
	// image fully allocated (nil when the driver does not say).
	DiskAvailableLeast *int64    `json:"disk_available_least"`
	CreatedAt          time.Time `json:"created_at"`
	UpdatedAt          time.Time `json:"updated_at"`
}

// sameReport reports whether n and o hold the same reported facts.
func (n ComputeNode) sameReport(o ComputeNode) bool {
	sameLeast := (n.DiskAvailableLeast == nil) == (o.DiskAvailableLeast == nil) &&
		(n.DiskAvailableLeast == nil || *n.DiskAvailableLeast == *o.DiskAvailableLeast)
	return n.HypervisorHostname == o.HypervisorHostname && n.HypervisorType == o.HypervisorType &&
		n.HypervisorVersion == o.HypervisorVersion && n.HostIP == o.HostIP && n.CPUInfo == o.CPUInfo &&
		n.VCPUs == o.VCPUs && n.MemoryMB == o.MemoryMB && n.LocalGB == o.LocalGB && sameLeast
}

// NodeUsage is what Placement holds for a node's provider: its
// inventories and the amounts allocated from them.
type NodeUsage struct {
	Inventories map[string]placement.Inventory
	Usages      map[string]int64
}

// computeHostNotFound is Nova's ComputeHostNotFound, which Nova also
// raises for a compute node it cannot find (named by its id).
func computeHostNotFound(host string) error {
	return novaError(fault.NotFound, "ComputeHostNotFound", "Compute host %s could not be found.", host)
}

// checkNode refuses a report the API could not show.
func checkNode(n ComputeNode) error {
	bad := func(format string, args ...any) error {
		return fault.New(fault.BadRequest, "compute: node of host %q: "+format, append([]any{n.Host}, args...)...)
	}
	if err := checkHostName(n.Host); err != nil {
		return err
	}
	switch {
	case n.UUID != "" && !canonicalUUID(n.UUID):
		return bad("uuid %q is not a lowercase hyphenated uuid", n.UUID)
	case n.HypervisorHostname == "" || utf8.RuneCountInString(n.HypervisorHostname) > 255:
		return bad("hypervisor_hostname must have 1 to 255 characters")
	case n.HypervisorType == "" || utf8.RuneCountInString(n.HypervisorType) > 255:
		return bad("hypervisor_type must have 1 to 255 characters")
	case n.HostIP != "" && !validIP(n.HostIP):
		return bad("host_ip %q is not an IP address", n.HostIP)
	case n.CPUInfo != "" && !json.Valid([]byte(n.CPUInfo)):
		return bad("cpu_info is not JSON")
	case n.VCPUs < 0 || n.MemoryMB < 0 || n.LocalGB < 0 || n.HypervisorVersion < 0:
		return bad("vcpus, memory_mb, local_gb and hypervisor_version may not be negative")
	}
	return nil
}

func canonicalUUID(s string) bool {
	u, err := uuid.Parse(s)
	return err == nil && u.String() == s
}

func validIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

// ReportNode is a compute host's periodic report of its node: it creates
// or updates the node row of n.Host (whose nova-compute service must
// exist: Nova's ComputeHostNotFound), then reports the node's inventory
// to its resource provider (uuid n.UUID, named by the host) as
// ReportHost does, with ratios. A report that changes nothing writes
// nothing, neither the row nor the provider.
//
// n.UUID may be "" (the host's node keeps its uuid, a new node gets a
// new one); a uuid other than the host's node's is refused, as Nova
// refuses a compute node whose identity changed. ID, CreatedAt and
// UpdatedAt are the Store's.
//
// The row and the provider are written in two transactions, the row
// first: a failed provider report leaves the row, and the next report
// writes the provider.
func (s *Store) ReportNode(ctx context.Context, n ComputeNode, inv map[string]placement.Inventory, ratios Ratios) (ComputeNode, error) {
	if err := checkNode(n); err != nil {
		return ComputeNode{}, err
	}
	out, err := s.writeNode(ctx, n)
	if err != nil {
		return ComputeNode{}, err
	}
	if _, err := s.ReportHost(ctx, out.UUID, out.Host, inv, ratios); err != nil {
		return ComputeNode{}, err
	}
	return out, nil
}

// writeNode is ReportNode's row: insert, update or nothing.
func (s *Store) writeNode(ctx context.Context, n ComputeNode) (ComputeNode, error) {
	var out ComputeNode
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		var services int
		if err := tx.Get(ctx, "SELECT COUNT(*) FROM compute_services WHERE binary_name = ? AND host = ?",
			[]any{NovaCompute, n.Host}, &services); err != nil {
			return fmt.Errorf("compute: service of host %q: %w", n.Host, err)
		}
		if services == 0 {
			return computeHostNotFound(n.Host)
		}
		cur, err := nodeWhere(ctx, tx, n.Host, "n.host = ?", n.Host)
		if fault.KindOf(err) == fault.NotFound {
			// The sequence row serialises first reports; a parallel one
			// that got there first is updated instead.
			if n.ID, err = nextID(ctx, tx, "compute_node"); err != nil {
				return err
			}
			cur, err = nodeWhere(ctx, tx, n.Host, "n.host = ?", n.Host)
			if fault.KindOf(err) == fault.NotFound {
				out, err = s.insertNode(ctx, tx, n)
				return err
			}
		}
		if err != nil {
			return err
		}
		if n.UUID != "" && n.UUID != cur.UUID {
			return fault.New(fault.Conflict, "compute: host %q has compute node %s, not %s", n.Host, cur.UUID, n.UUID)
		}
		if cur.sameReport(n) {
			out = cur
			return nil
		}
		n.ID, n.UUID, n.CreatedAt, n.UpdatedAt = cur.ID, cur.UUID, cur.CreatedAt, s.now()
		if _, err := tx.Exec(ctx, `UPDATE compute_nodes SET hypervisor_hostname = ?, hypervisor_type = ?, hypervisor_version = ?,
			host_ip = ?, cpu_info = ?, vcpus = ?, memory_mb = ?, local_gb = ?, disk_available_least = ?, updated_at = ? WHERE id = ?`,
			n.HypervisorHostname, n.HypervisorType, n.HypervisorVersion, n.HostIP, n.CPUInfo, n.VCPUs, n.MemoryMB, n.LocalGB,
			nullableInt(n.DiskAvailableLeast), n.UpdatedAt.UnixMicro(), n.ID); err != nil {
			return fmt.Errorf("compute: update node of host %q: %w", n.Host, err)
		}
		out = n
		return s.record(ctx, tx, "compute_node", n.UUID, "", watch.Update, n)
	})
	if err != nil {
		return ComputeNode{}, err
	}
	return out, nil
}

func (s *Store) insertNode(ctx context.Context, tx *sqlstore.Tx, n ComputeNode) (ComputeNode, error) {
	if n.UUID == "" {
		n.UUID = uuid.NewString()
	}
	n.CreatedAt = s.now()
	n.UpdatedAt = n.CreatedAt
	_, err := tx.Exec(ctx, `INSERT INTO compute_nodes (id, uuid, host, hypervisor_hostname, hypervisor_type, hypervisor_version,
		host_ip, cpu_info, vcpus, memory_mb, local_gb, disk_available_least, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, n.ID, n.UUID, n.Host, n.HypervisorHostname, n.HypervisorType,
		n.HypervisorVersion, n.HostIP, n.CPUInfo, n.VCPUs, n.MemoryMB, n.LocalGB, nullableInt(n.DiskAvailableLeast),
		n.CreatedAt.UnixMicro(), n.UpdatedAt.UnixMicro())
	if errors.Is(err, sqlstore.ErrConflict) {
		return ComputeNode{}, fault.New(fault.Conflict, "compute: compute node %s is another host's", n.UUID)
	} else if err != nil {
		return ComputeNode{}, fmt.Errorf("compute: create node of host %q: %w", n.Host, err)
	}
	return n, s.record(ctx, tx, "compute_node", n.UUID, "", watch.Create, n)
}

func nullableInt(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

const nodeCols = `n.id, n.uuid, n.host, n.hypervisor_hostname, n.hypervisor_type, n.hypervisor_version, n.host_ip, n.cpu_info,
	n.vcpus, n.memory_mb, n.local_gb, n.disk_available_least, n.created_at, n.updated_at`

func queryNodes(ctx context.Context, q novaQuerier, cond string, args ...any) ([]ComputeNode, error) {
	rows, err := q.Query(ctx, "SELECT "+nodeCols+" FROM compute_nodes n WHERE "+cond, args...)
	if err != nil {
		return nil, fmt.Errorf("compute: read nodes: %w", err)
	}
	defer rows.Close()
	out := []ComputeNode{}
	for rows.Next() {
		var n ComputeNode
		var created, updated int64
		if err := rows.Scan(&n.ID, &n.UUID, &n.Host, &n.HypervisorHostname, &n.HypervisorType, &n.HypervisorVersion, &n.HostIP,
			&n.CPUInfo, &n.VCPUs, &n.MemoryMB, &n.LocalGB, &n.DiskAvailableLeast, &created, &updated); err != nil {
			return nil, fmt.Errorf("compute: read nodes: %w", err)
		}
		n.CreatedAt, n.UpdatedAt = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("compute: read nodes: %w", err)
	}
	return out, nil
}

// nodeWhere is the one node cond selects; missing names it in the
// ComputeHostNotFound refusal.
func nodeWhere(ctx context.Context, q novaQuerier, missing, cond string, args ...any) (ComputeNode, error) {
	ns, err := queryNodes(ctx, q, cond, args...)
	if err != nil {
		return ComputeNode{}, err
	}
	if len(ns) == 0 {
		return ComputeNode{}, computeHostNotFound(missing)
	}
	return ns[0], nil
}

// Nodes lists the compute nodes by id: those after id after (0: from
// the first), at most limit of them (0: all).
func (s *Store) Nodes(ctx context.Context, after int64, limit int) ([]ComputeNode, error) {
	q := "n.id > ? ORDER BY n.id"
	args := []any{after}
	if limit > 0 {
		q, args = q+" LIMIT ?", append(args, limit)
	}
	return queryNodes(ctx, s.db, q, args...)
}

// Node returns the compute node of uuid id (Nova's ComputeHostNotFound
// naming id).
func (s *Store) Node(ctx context.Context, id string) (ComputeNode, error) {
	return nodeWhere(ctx, s.db, id, "n.uuid = ?", id)
}

// NodeByID returns the compute node of integer id.
func (s *Store) NodeByID(ctx context.Context, id int64) (ComputeNode, error) {
	return nodeWhere(ctx, s.db, fmt.Sprint(id), "n.id = ?", id)
}

// NodeByHost returns the compute node of host.
func (s *Store) NodeByHost(ctx context.Context, host string) (ComputeNode, error) {
	return nodeWhere(ctx, s.db, host, "n.host = ?", host)
}

// NodesMatching lists by id the compute nodes whose hypervisor_hostname
// matches pattern as Nova's search does (SQL LIKE '%pattern%') on its
// usual MySQL database: case-insensitive (ASCII), '_' standing for any
// one character and '%' for any run of them.
func (s *Store) NodesMatching(ctx context.Context, pattern string) ([]ComputeNode, error) {
	all, err := s.Nodes(ctx, 0, 0)
	if err != nil {
		return nil, err
	}
	out := []ComputeNode{}
	for _, n := range all {
		if likeMatch("%"+pattern+"%", n.HypervisorHostname) {
			out = append(out, n)
		}
	}
	return out, nil
}

// likeMatch is SQL LIKE without escapes, folding ASCII case.
func likeMatch(pattern, s string) bool {
	p, t := []rune(strings.ToLower(pattern)), []rune(strings.ToLower(s))
	// Backtracking over the last '%' only, as glob matchers do.
	pi, ti, star, mark := 0, 0, -1, 0
	for ti < len(t) {
		switch {
		case pi < len(p) && (p[pi] == '_' || p[pi] == t[ti]):
			pi, ti = pi+1, ti+1
		case pi < len(p) && p[pi] == '%':
			star, mark = pi, ti
			pi++
		case star >= 0:
			mark++
			pi, ti = star+1, mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '%' {
		pi++
	}
	return pi == len(p)
}

// NodeUsages reads, in one view, the inventories and usages of the
// providers of the nodes uuids (the root providers only). A node
// without a provider yet has none of them.
func (s *Store) NodeUsages(ctx context.Context, uuids []string) (map[string]NodeUsage, error) {
	out := make(map[string]NodeUsage, len(uuids))
	for _, u := range uuids {
		out[u] = NodeUsage{Inventories: map[string]placement.Inventory{}, Usages: map[string]int64{}}
	}
	if len(uuids) == 0 {
		return out, nil
	}
	in := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(uuids)), ", ") + ")"
	err := s.db.ReadTx(ctx, func(tx *sqlstore.Tx) error {
		ps, err := s.loadProviders(ctx, tx, "WHERE p.uuid IN "+in, stringsToAny(uuids)...)
		for _, p := range ps {
			out[p.UUID] = NodeUsage{Inventories: p.Inventories, Usages: p.Usages}
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("compute: node usages: %w", err)
	}
	return out, nil
}

// DeleteNode deletes the compute node of host with its resource
// provider tree, as Nova does when the host's compute service is
// deleted: in one transaction, refused with Nova's 409 while the tree
// has allocations (instances on the host). A host without a node has
// nothing to delete.
func (s *Store) DeleteNode(ctx context.Context, host string) error {
	return s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		n, err := nodeWhere(ctx, tx, host, "n.host = ?", host)
		if fault.KindOf(err) == fault.NotFound {
			return nil
		} else if err != nil {
			return err
		}
		if err := s.deleteProviderTree(ctx, tx, n.UUID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM compute_nodes WHERE id = ?", n.ID); err != nil {
			return fmt.Errorf("compute: delete node of host %q: %w", host, err)
		}
		return s.record(ctx, tx, "compute_node", n.UUID, "", watch.Delete, nil)
	})
}

// deleteProviderTree deletes the provider root and its descendants,
// leaves first, unless any of them has allocations.
func (s *Store) deleteProviderTree(ctx context.Context, tx *sqlstore.Tx, root string) error {
	var tree []string
	err := scanEach(ctx, tx, "SELECT uuid FROM compute_providers WHERE root_uuid = ? ORDER BY uuid", []any{root}, func(r *sql.Rows) error {
		var u string
		err := r.Scan(&u)
		tree = append(tree, u)
		return err
	})
	if err != nil || len(tree) == 0 {
		return err
	}
	for _, u := range tree {
		if _, err := s.lockProvider(ctx, tx, u, nil); err != nil {
			return err
		}
	}
	var allocated int64
	if err := tx.Get(ctx, `SELECT COUNT(*) FROM compute_allocations a JOIN compute_providers p ON p.uuid = a.provider_uuid
		WHERE p.root_uuid = ?`, []any{root}, &allocated); err != nil {
		return err
	}
	if allocated > 0 {
		return novaError(fault.Conflict, "", "Unable to delete compute service that is hosting instances. Migrate or delete the instances first.")
	}
	for len(tree) > 0 {
		var leaves, rest []string
		for _, u := range tree {
			var children int
			if err := tx.Get(ctx, "SELECT COUNT(*) FROM compute_providers WHERE parent_uuid = ?", []any{u}, &children); err != nil {
				return err
			}
			if children == 0 {
				leaves = append(leaves, u)
			} else {
				rest = append(rest, u)
			}
		}
		if len(leaves) == 0 {
			return fmt.Errorf("compute: provider tree %s has no leaf", root)
		}
		for _, u := range leaves {
			if _, err := tx.Exec(ctx, "DELETE FROM compute_providers WHERE uuid = ?", u); err != nil {
				return fmt.Errorf("compute: delete provider %s: %w", u, err)
			}
			if err := s.record(ctx, tx, "resource_provider", u, "", watch.Delete, nil); err != nil {
				return err
			}
		}
		tree = rest
	}
	return nil
}
