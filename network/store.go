package network

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
	"github.com/gostack/gostack/network/ipam"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migrations is the network schema, to apply with watch.Migrations().
func Migrations() sqlstore.Migrations {
	return sqlstore.Migrations{Area: "network", FS: migrationFS, Dir: "migrations"}
}

// Segments is a range of segmentation ids (VXLAN VNIs) tenant networks
// get, lowest free first: ML2's vni_ranges.
type Segments struct{ Min, Max int }

// Store keeps networks, subnets, ports and address allocations in a
// sqlstore database. Every write is one transaction that also appends to
// the watch feed (area "network", kinds "network", "subnet", "port";
// "quota" for a project's limits).
//
// Lock order, the same in every transaction: the project's quota lock
// (a create that counts against a quota, a quota change: first, one
// project per transaction), then the tenant segment pool's lock (a
// tenant network's create), then the network row, then its subnets' rows
// by id, then the feed.
type Store struct {
	db   *sqlstore.DB
	feed *watch.Log

	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// TenantSegments are the VNIs of tenant networks (1 to 1000 when
	// zero, devstack's vni_ranges).
	TenantSegments Segments
	// MTU of VXLAN networks (1450 when zero: 1500 less the VXLAN
	// overhead); other types get 1500.
	MTU int
	// BaseMAC is the base of port MACs (ipam.DefaultBaseMAC when nil).
	BaseMAC []byte
	// Quotas are the limits of a project without its own (SetQuota), by
	// resource (QuotaResources); a resource missing has Neutron's default
	// (DefaultQuotas). -1 is unlimited.
	Quotas map[string]int
}

// NewStore returns a store over db, whose schema includes Migrations()
// and watch.Migrations().
func NewStore(db *sqlstore.DB, feed *watch.Log) *Store { return &Store{db: db, feed: feed} }

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC().Truncate(time.Microsecond)
	}
	return time.Now().UTC().Truncate(time.Microsecond)
}

func (s *Store) record(ctx context.Context, tx *sqlstore.Tx, kind, id, project string, op watch.Op, v any) error {
	v, err := withTags(ctx, tx, kind, v)
	if err != nil {
		return err
	}
	_, err = s.feed.AppendValue(ctx, tx, watch.Change{Area: "network", Kind: kind, ID: id, Project: project, Op: op}, v)
	return err
}

// Neutron's errors: the exception name in Type, its message.
func neutronError(kind fault.Kind, typ, format string, args ...any) error {
	return &fault.Error{Kind: kind, Type: typ, Message: fmt.Sprintf(format, args...)}
}

func invalidInput(format string, args ...any) error {
	return neutronError(fault.BadRequest, "InvalidInput", "Invalid input for operation: "+format+".", args...)
}

// Viewer is who is looking: a project, or an admin who sees everything.
// Shared and external networks are seen by every project.
type Viewer struct {
	Project string
	Admin   bool
}

// CreateNetwork stores a network. A tenant network (Type "") is VXLAN on
// the lowest free VNI of TenantSegments; provider attributes given by an
// admin are kept (a VLAN or VXLAN segment must be free). The project's
// network quota applies (OverQuota).
func (s *Store) CreateNetwork(ctx context.Context, n Network) (Network, error) {
	if n.ID == "" {
		n.ID = uuid.NewString()
	}
	if n.Type == "" {
		n.Type = VXLAN
	}
	switch n.Type {
	case Local, Flat:
		if n.Segment != 0 {
			return Network{}, invalidInput("segmentation_id requires a VLAN or VXLAN provider network")
		}
	case VLAN:
		if n.Segment < 1 || n.Segment > 4094 {
			return Network{}, invalidInput("provider:segmentation_id %d is not a VLAN id (1 to 4094)", n.Segment)
		}
	case VXLAN:
		if n.Segment < 0 || n.Segment > 1<<24-1 {
			return Network{}, invalidInput("provider:segmentation_id %d is not a VXLAN id", n.Segment)
		}
		if n.Physical != "" { // ML2's type driver: a tunnel has no physical network
			return Network{}, invalidInput("provider:physical_network specified for vxlan network")
		}
	default:
		return Network{}, invalidInput("network_type value '%s' not supported", n.Type)
	}
	if n.PortSecurity == nil {
		yes := true
		n.PortSecurity = &yes
	}
	if n.MTU == 0 {
		n.MTU = 1500
		if n.Type == VXLAN {
			n.MTU = s.vxlanMTU()
		}
	}
	now := s.now()
	n.Revision, n.CreatedAt, n.UpdatedAt = 1, now, now
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if err := s.checkQuota(ctx, tx, n.ProjectID, QuotaNetwork); err != nil {
			return err
		}
		if n.Type == Flat {
			// One flat network per physical network, as ML2's flat type
			// driver allows (the unique key cannot: the segment is NULL).
			if err := lockProject(ctx, tx, segmentsLock); err != nil {
				return err
			}
			var taken int
			if err := tx.Get(ctx, "SELECT COUNT(*) FROM network_networks WHERE network_type = 'flat' AND physical_network = ?",
				[]any{n.Physical}, &taken); err != nil {
				return err
			}
			if taken > 0 {
				return neutronError(fault.Conflict, "FlatNetworkInUse",
					"Unable to create the flat network. Physical network %s is in use.", n.Physical)
			}
		}
		if n.Type == VXLAN && n.Segment == 0 {
			// Tenant networks of all projects take turns on the segment
			// pool, so two never pick the same free VNI (on PostgreSQL
			// the loser's unique-key conflict would not be retried).
			if err := lockProject(ctx, tx, segmentsLock); err != nil {
				return err
			}
			seg, err := s.freeSegment(ctx, tx)
			if err != nil {
				return err
			}
			n.Segment = seg
		}
		_, err := tx.Exec(ctx, `INSERT INTO network_networks (id, project_id, name, description, admin_state_up, shared, external,
			mtu, network_type, physical_network, segmentation_id, port_security_enabled, revision, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			n.ID, n.ProjectID, n.Name, n.Description, n.AdminStateUp, n.Shared, n.External, n.MTU, n.Type, n.Physical,
			nullSegment(n.Segment), *n.PortSecurity, n.Revision, now.UnixMicro(), now.UnixMicro())
		if fault.KindOf(err) == fault.Conflict {
			return neutronError(fault.Conflict, "SegmentationIdInUse", "Unable to create the network. The %s %d on physical network %s is in use.",
				segmentWord(n.Type), n.Segment, n.Physical)
		}
		if err != nil {
			return err
		}
		return s.record(ctx, tx, "network", n.ID, n.ProjectID, watch.Create, n)
	})
	if err != nil {
		return Network{}, err
	}
	return n, nil
}

func (s *Store) vxlanMTU() int {
	if s.MTU > 0 {
		return s.MTU
	}
	return 1450
}

func segmentWord(typ string) string {
	if typ == VLAN {
		return "vlan"
	}
	return "segmentation id"
}

func nullSegment(seg int) any {
	if seg == 0 {
		return nil
	}
	return seg
}

// segmentsLock is the lock row of the tenant segment pool: after the
// project's lock, before the network's row. No project id has a '*'.
const segmentsLock = "*segments*"

// freeSegment is the lowest VNI of TenantSegments no network holds; the
// caller holds segmentsLock. The unique key on (type, physical network,
// segment) stays the last word.
func (s *Store) freeSegment(ctx context.Context, tx *sqlstore.Tx) (int, error) {
	r := s.TenantSegments
	if r.Min == 0 && r.Max == 0 {
		r = Segments{1, 1000}
	}
	rows, err := tx.Query(ctx, `SELECT segmentation_id FROM network_networks
		WHERE network_type = 'vxlan' AND segmentation_id BETWEEN ? AND ? ORDER BY segmentation_id`, r.Min, r.Max)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	next := r.Min
	for rows.Next() {
		var seg int
		if err := rows.Scan(&seg); err != nil {
			return 0, err
		}
		if seg != next {
			break
		}
		next++
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if next > r.Max {
		return 0, neutronError(fault.Unavailable, "NoNetworkAvailable",
			"Unable to create the network. No tenant network is available for allocation.")
	}
	return next, nil
}

const networkCols = `id, project_id, name, description, admin_state_up, shared, external, mtu, network_type,
	physical_network, segmentation_id, port_security_enabled, revision, created_at, updated_at`

type scanner interface{ Scan(...any) error }

// querier is a *sqlstore.DB or a *sqlstore.Tx.
type querier interface {
	Query(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

// queryOne scans the first row of q, or returns sqlstore.ErrNotFound.
func queryOne[T any](ctx context.Context, db querier, scan func(scanner) (T, error), q string, args ...any) (T, error) {
	var zero T
	rows, err := db.Query(ctx, q, args...)
	if err != nil {
		return zero, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return zero, err
		}
		return zero, sqlstore.ErrNotFound
	}
	return scan(rows)
}

func scanNetwork(r scanner) (Network, error) {
	var n Network
	var seg *int64
	var portSecurity bool
	var created, updated int64
	err := r.Scan(&n.ID, &n.ProjectID, &n.Name, &n.Description, &n.AdminStateUp, &n.Shared, &n.External, &n.MTU, &n.Type,
		&n.Physical, &seg, &portSecurity, &n.Revision, &created, &updated)
	n.PortSecurity = &portSecurity
	if seg != nil {
		n.Segment = int(*seg)
	}
	n.CreatedAt, n.UpdatedAt = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
	return n, err
}

// visible is the SQL condition for the networks v may see, with its
// argument: its project's, shared and external ones, or all for an admin.
func (v Viewer) visible(alias string) (string, []any) {
	if v.Admin {
		return "1 = 1", nil
	}
	return "(" + alias + ".project_id = ? OR " + alias + ".shared OR " + alias + ".external)", []any{v.Project}
}

// GetNetwork returns network id if v may see it, else Neutron's
// NetworkNotFound.
func (s *Store) GetNetwork(ctx context.Context, v Viewer, id string) (Network, error) {
	cond, args := v.visible("n")
	n, err := queryOne(ctx, s.db, scanNetwork, "SELECT "+networkCols+" FROM network_networks n WHERE id = ? AND "+cond,
		append([]any{id}, args...)...)
	if errors.Is(err, sqlstore.ErrNotFound) {
		return Network{}, networkNotFound(id)
	}
	if err == nil {
		n.Tags, err = tagsOf(ctx, s.db, "network", id)
	}
	return n, err
}

func networkNotFound(id string) error {
	return neutronError(fault.NotFound, "NetworkNotFound", "Network %s could not be found.", id)
}

// DeleteNetwork deletes a network of v's, with its subnets, unless ports
// other than the network's own (DHCP) use it: Neutron's NetworkInUse.
func (s *Store) DeleteNetwork(ctx context.Context, v Viewer, id string) error {
	return s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		n, err := lockNetwork(ctx, tx, v, id)
		if err != nil {
			return err
		}
		var ports int
		if err := tx.Get(ctx, `SELECT COUNT(*) FROM network_ports WHERE network_id = ? AND (device_owner NOT LIKE 'network:%' OR `+servicePort("id")+`)`,
			[]any{id}, &ports); err != nil {
			return err
		}
		if ports > 0 {
			return neutronError(fault.Conflict, "NetworkInUse",
				"Unable to complete operation on network %s. There are one or more ports still in use on the network.", id)
		}
		portIDs, err := idsOf(ctx, tx, "SELECT id FROM network_ports WHERE network_id = ? ORDER BY id", id)
		if err != nil {
			return err
		}
		subnetIDs, err := idsOf(ctx, tx, "SELECT id FROM network_subnets WHERE network_id = ? ORDER BY id", id)
		if err != nil {
			return err
		}
		for _, q := range []string{"DELETE FROM network_ip_allocations WHERE network_id = ?",
			"DELETE FROM network_port_security_groups WHERE port_id IN (SELECT id FROM network_ports WHERE network_id = ?)",
			"DELETE FROM network_ports WHERE network_id = ?",
			"DELETE FROM network_subnets WHERE network_id = ?", "DELETE FROM network_networks WHERE id = ?"} {
			if _, err := tx.Exec(ctx, q, id); err != nil {
				return err
			}
		}
		for kind, ids := range map[string][]string{"port": portIDs, "subnet": subnetIDs, "network": {id}} {
			if err := deleteTags(ctx, tx, kind, ids...); err != nil {
				return err
			}
		}
		for _, p := range portIDs {
			if err := s.record(ctx, tx, "port", p, n.ProjectID, watch.Delete, nil); err != nil {
				return err
			}
		}
		for _, sub := range subnetIDs {
			if err := s.record(ctx, tx, "subnet", sub, n.ProjectID, watch.Delete, nil); err != nil {
				return err
			}
		}
		return s.record(ctx, tx, "network", id, n.ProjectID, watch.Delete, nil)
	})
}

func idsOf(ctx context.Context, tx *sqlstore.Tx, q string, args ...any) ([]string, error) {
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// lockNetwork reads network id for a write by v (its project's, or any
// for an admin) and locks its row until the transaction ends.
func lockNetwork(ctx context.Context, tx *sqlstore.Tx, v Viewer, id string) (Network, error) {
	if _, err := tx.Exec(ctx, "UPDATE network_networks SET revision = revision WHERE id = ?", id); err != nil {
		return Network{}, err
	}
	n, err := queryOne(ctx, tx, scanNetwork, "SELECT "+networkCols+" FROM network_networks WHERE id = ?", id)
	if errors.Is(err, sqlstore.ErrNotFound) || (err == nil && !v.Admin && n.ProjectID != v.Project && !n.Shared && !n.External) {
		return Network{}, networkNotFound(id)
	}
	return n, err
}

// CreateSubnet stores a subnet on a network v may use: Neutron's checks
// (ipam.Subnet.Validate), no overlap with the network's other subnets,
// the gateway defaulting to the network address + 1 (Gateway is taken as
// given when NoGateway is set, so that a zero Gateway means none), the
// pools to ipam.Pools. Only the network's owner (or an admin) adds
// subnets. The subnet's project's quota applies (OverQuota).
func (s *Store) CreateSubnet(ctx context.Context, v Viewer, sub Subnet, noGateway bool) (Subnet, error) {
	if sub.ID == "" {
		sub.ID = uuid.NewString()
	}
	if !sub.CIDR.IsValid() {
		return Subnet{}, invalidInput("'%s' is not a valid IP subnet", sub.CIDR)
	}
	if sub.CIDR.Bits() == 0 {
		return Subnet{}, invalidInput("0 is not allowed as CIDR prefix length")
	}
	v4 := sub.CIDR.Addr().Is4()
	switch {
	case sub.IPVersion == 0 && v4, sub.IPVersion == 4 && v4:
		sub.IPVersion = 4
	case sub.IPVersion == 0 && !v4, sub.IPVersion == 6 && !v4:
		sub.IPVersion = 6
	default:
		return Subnet{}, invalidInput("cidr '%s' does not match the ip_version '%d'", sub.CIDR, sub.IPVersion)
	}
	if !sub.Gateway.IsValid() && !noGateway {
		sub.Gateway = ipam.DefaultGateway(sub.CIDR)
	}
	spec := ipam.Subnet{CIDR: sub.CIDR, Gateway: sub.Gateway, Pools: sub.Pools, Nameservers: sub.Nameservers, Routes: sub.Routes, DHCP: sub.EnableDHCP}
	if err := spec.Validate(); err != nil {
		return Subnet{}, err
	}
	if sub.Pools == nil {
		sub.Pools = ipam.Pools(sub.CIDR, sub.Gateway)
	}
	if sub.Nameservers == nil {
		sub.Nameservers = []netip.Addr{}
	}
	if sub.Routes == nil {
		sub.Routes = []ipam.Route{}
	}
	now := s.now()
	sub.Revision, sub.CreatedAt, sub.UpdatedAt = 1, now, now
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		project := sub.ProjectID
		if project == "" { // the network's, below
			var err error
			if project, err = projectOf(ctx, tx, v, "network_networks", sub.NetworkID); err != nil {
				return err
			}
		}
		if err := s.checkQuota(ctx, tx, v.charged(project), QuotaSubnet); err != nil {
			return err
		}
		n, err := lockNetwork(ctx, tx, v, sub.NetworkID)
		if err != nil {
			return err
		}
		if !v.Admin && n.ProjectID != v.Project {
			return neutronError(fault.NotFound, "NetworkNotFound", "Network %s could not be found.", sub.NetworkID)
		}
		if sub.ProjectID == "" {
			sub.ProjectID = n.ProjectID
		}
		others, err := subnetsOf(ctx, tx, sub.NetworkID)
		if err != nil {
			return err
		}
		for _, o := range others {
			if o.CIDR.Overlaps(sub.CIDR) {
				return invalidInput("Requested subnet with cidr: %s for network: %s overlaps with another subnet", sub.CIDR, sub.NetworkID)
			}
		}
		_, err = tx.Exec(ctx, `INSERT INTO network_subnets (id, project_id, network_id, name, description, ip_version, cidr, gateway_ip,
			allocation_pools, dns_nameservers, host_routes, enable_dhcp, revision, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			sub.ID, sub.ProjectID, sub.NetworkID, sub.Name, sub.Description, sub.IPVersion, sub.CIDR.String(), addrText(sub.Gateway),
			jsonText(sub.Pools), jsonText(sub.Nameservers), jsonText(sub.Routes), sub.EnableDHCP, sub.Revision, now.UnixMicro(), now.UnixMicro())
		if err != nil {
			return err
		}
		return s.record(ctx, tx, "subnet", sub.ID, sub.ProjectID, watch.Create, sub)
	})
	if err != nil {
		return Subnet{}, err
	}
	return sub, nil
}

func addrText(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

const subnetCols = `id, project_id, network_id, name, description, ip_version, cidr, gateway_ip, allocation_pools,
	dns_nameservers, host_routes, enable_dhcp, revision, created_at, updated_at`

func scanSubnet(r scanner) (Subnet, error) {
	var sub Subnet
	var cidr, gw, pools, ns, routes string
	var created, updated int64
	err := r.Scan(&sub.ID, &sub.ProjectID, &sub.NetworkID, &sub.Name, &sub.Description, &sub.IPVersion, &cidr, &gw, &pools,
		&ns, &routes, &sub.EnableDHCP, &sub.Revision, &created, &updated)
	if err != nil {
		return Subnet{}, err
	}
	sub.CIDR, err = netip.ParsePrefix(cidr)
	if err == nil && gw != "" {
		sub.Gateway, err = netip.ParseAddr(gw)
	}
	for _, j := range []struct {
		text string
		v    any
	}{{pools, &sub.Pools}, {ns, &sub.Nameservers}, {routes, &sub.Routes}} {
		if err == nil {
			err = json.Unmarshal([]byte(j.text), j.v)
		}
	}
	sub.CreatedAt, sub.UpdatedAt = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
	return sub, err
}

func subnetsOf(ctx context.Context, q querier, networkID string) ([]Subnet, error) {
	rows, err := q.Query(ctx, "SELECT "+subnetCols+" FROM network_subnets WHERE network_id = ? ORDER BY created_at, id", networkID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Subnet{}
	for rows.Next() {
		sub, err := scanSubnet(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, sub)
	}
	return out, rows.Err()
}

// Subnets returns the subnets of a network v may see, oldest first.
func (s *Store) Subnets(ctx context.Context, v Viewer, networkID string) ([]Subnet, error) {
	if _, err := s.GetNetwork(ctx, v, networkID); err != nil {
		return nil, err
	}
	return subnetsOf(ctx, s.db, networkID)
}

// CreatePort stores a port on a network v may see, with a MAC (random
// under BaseMAC, or the one given, unique on the network) and its
// addresses: each requested FixedIP (a subnet with an address, or a
// subnet alone for its next free address), or with none requested, the
// next free address of the network's first IPv4 subnet with room and of
// its first IPv6 subnet with room. Allocations on one subnet take turns
// (its row is locked), so parallel creates never share an address.
//
// Port security is the port's, else its network's (none for a network:*
// port); with it, a port given no SecurityGroups (nil) is put in its
// project's default group, made then if the project has none. Groups
// must be the port's project's; address pairs get the port's MAC when
// they name none; its Tags are stored with it (Neutron's
// tag-ports-during-bulk-creation). The project's port quota applies
// (OverQuota), except to gostack's own ports (an admin Viewer without a
// project: the DHCP port an agent asks for), as Neutron's quotas limit
// API requests only; every port of the project counts.
func (s *Store) CreatePort(ctx context.Context, v Viewer, p Port) (Port, error) {
	if p.ID == "" {
		p.ID = uuid.NewString()
	}
	if p.MAC != "" {
		mac, err := parseMAC(p.MAC)
		if err != nil {
			return Port{}, err
		}
		p.MAC = mac
	}
	if p.Status == "" {
		p.Status = Down
	}
	if err := CheckTags(p.Tags); err != nil {
		return Port{}, err
	}
	p.Tags = slices.Sorted(slices.Values(append([]string{}, p.Tags...)))
	now := s.now()
	p.Revision, p.CreatedAt, p.UpdatedAt = 1, now, now
	requested := p.FixedIPs
	if p.ProjectID == "" {
		p.ProjectID = v.Project
	}
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if err := s.checkQuota(ctx, tx, v.charged(p.ProjectID), QuotaPort); err != nil {
			return err
		}
		n, err := lockNetwork(ctx, tx, v, p.NetworkID)
		if err != nil {
			return err
		}
		if !v.Admin && n.ProjectID != v.Project && !n.Shared {
			// An external network is seen by all, but only admins put
			// ports on it directly (floating IPs and gateways do).
			return neutronError(fault.Forbidden, "NotAuthorized", "Not authorized.")
		}
		if err := s.preparePortSecurity(ctx, tx, v, &p, n); err != nil {
			return err
		}
		if err := s.insertPortMAC(ctx, tx, &p); err != nil {
			return err
		}
		if err := bindGroups(ctx, tx, p.ID, p.SecurityGroups); err != nil {
			return err
		}
		subnets, err := subnetsOf(ctx, tx, p.NetworkID)
		if err != nil {
			return err
		}
		if p.FixedIPs, err = allocate(ctx, tx, p, subnets, requested); err != nil {
			return err
		}
		if err := insertTags(ctx, tx, "port", p.ID, p.Tags); err != nil {
			return err
		}
		return s.record(ctx, tx, "port", p.ID, p.ProjectID, watch.Create, p)
	})
	if err != nil {
		return Port{}, err
	}
	return p, nil
}

// insertPortMAC inserts the port row; a random MAC that collides on the
// network is drawn again, a given one is Neutron's MacAddressInUse.
func (s *Store) insertPortMAC(ctx context.Context, tx *sqlstore.Tx, p *Port) error {
	base := s.BaseMAC
	if base == nil {
		base = ipam.DefaultBaseMAC
	}
	given := p.MAC != ""
	for try := 0; ; try++ {
		if !given {
			mac, err := ipam.RandomMAC(base, nil)
			if err != nil {
				return err
			}
			p.MAC = mac.String()
		}
		var n int
		if err := tx.Get(ctx, "SELECT COUNT(*) FROM network_ports WHERE network_id = ? AND mac_address = ?", []any{p.NetworkID, p.MAC}, &n); err != nil {
			return err
		}
		if n == 0 {
			break
		}
		if given || try == 16 {
			return neutronError(fault.Conflict, "MacAddressInUse",
				"Unable to complete operation for network %s. The mac address %s is in use.", p.NetworkID, p.MAC)
		}
	}
	pairs, err := fillPairMACs(p.AllowedAddressPairs, p.MAC)
	if err != nil {
		return err
	}
	p.AllowedAddressPairs = pairs
	_, err = tx.Exec(ctx, `INSERT INTO network_ports (id, project_id, network_id, name, description, admin_state_up, mac_address,
		device_owner, device_id, host_id, status, port_security_enabled, security_groups, allowed_address_pairs, revision, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.ProjectID, p.NetworkID, p.Name, p.Description, p.AdminStateUp, p.MAC, p.DeviceOwner, p.DeviceID, p.HostID, p.Status,
		*p.PortSecurity, jsonText(p.SecurityGroups), jsonText(p.AllowedAddressPairs), p.Revision, p.CreatedAt.UnixMicro(), p.UpdatedAt.UnixMicro())
	return err
}

// allocate gives port p its addresses on subnets (the network's) and
// stores them.
func allocate(ctx context.Context, tx *sqlstore.Tx, p Port, subnets []Subnet, requested []FixedIP) ([]FixedIP, error) {
	byID := map[string]Subnet{}
	for _, sub := range subnets {
		byID[sub.ID] = sub
	}
	var want []FixedIP
	if len(requested) == 0 {
		for _, version := range []int{4, 6} {
			for _, sub := range subnets {
				if sub.IPVersion == version {
					want = append(want, FixedIP{SubnetID: sub.ID})
					break
				}
			}
		}
	}
	for _, r := range requested {
		switch {
		case r.SubnetID == "" && r.IP.IsValid():
			// An address alone: the subnet holding it.
			found := false
			for _, sub := range subnets {
				if ipam.ValidIP(sub.CIDR, r.IP, p.IsRouterPort()) {
					r.SubnetID, found = sub.ID, true
					break
				}
			}
			if !found {
				return nil, neutronError(fault.BadRequest, "InvalidIpForNetwork",
					"IP address %s is not a valid IP for any of the subnets on the specified network.", r.IP)
			}
		case r.SubnetID == "":
			return nil, invalidInput("Invalid fixed_ips: a fixed IP needs a subnet_id or an ip_address")
		}
		sub, ok := byID[r.SubnetID]
		if !ok {
			return nil, invalidInput("Failed to create port on network %s, because fixed_ips included invalid subnet %s", p.NetworkID, r.SubnetID)
		}
		if r.IP.IsValid() && !ipam.ValidIP(sub.CIDR, r.IP, p.IsRouterPort()) {
			return nil, neutronError(fault.BadRequest, "InvalidIpForSubnet", "IP address %s is not a valid IP for the specified subnet.", r.IP)
		}
		want = append(want, r)
	}
	// Lock the subnets in id order, the same in every transaction.
	ids := []string{}
	for _, w := range want {
		if !slices.Contains(ids, w.SubnetID) {
			ids = append(ids, w.SubnetID)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		if _, err := tx.Exec(ctx, "UPDATE network_subnets SET allocations = allocations + 1 WHERE id = ?", id); err != nil {
			return nil, err
		}
	}
	out := make([]FixedIP, 0, len(want))
	for _, w := range want {
		sub := byID[w.SubnetID]
		used, err := usedAddrs(ctx, tx, sub.ID)
		if err != nil {
			return nil, err
		}
		if w.IP.IsValid() {
			if slices.Contains(used, w.IP) {
				return nil, neutronError(fault.Conflict, "IpAddressAlreadyAllocated", "IP address %s already allocated in subnet %s", w.IP, sub.ID)
			}
		} else {
			if sub.Gateway.IsValid() {
				used = append(used, sub.Gateway)
			}
			ip, ok := ipam.Free(sub.Pools, used)
			if !ok {
				if len(requested) == 0 {
					continue // another subnet of the network may have room
				}
				return nil, ipam.Exhausted(sub.ID)
			}
			w.IP = ip
		}
		if _, err := tx.Exec(ctx, "INSERT INTO network_ip_allocations (subnet_id, ip_address, port_id, network_id) VALUES (?, ?, ?, ?)",
			sub.ID, w.IP.String(), p.ID, p.NetworkID); err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	if len(out) == 0 && len(subnets) > 0 {
		return nil, neutronError(fault.Conflict, "IpAddressGenerationFailure", "No more IP addresses available on network %s.", p.NetworkID)
	}
	return out, nil
}

func usedAddrs(ctx context.Context, tx *sqlstore.Tx, subnetID string) ([]netip.Addr, error) {
	rows, err := tx.Query(ctx, "SELECT ip_address FROM network_ip_allocations WHERE subnet_id = ?", subnetID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []netip.Addr
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

const portCols = `id, project_id, network_id, name, description, admin_state_up, mac_address, device_owner, device_id,
	host_id, status, port_security_enabled, security_groups, allowed_address_pairs, revision, created_at, updated_at`

func scanPort(r scanner) (Port, error) {
	var p Port
	var portSecurity bool
	var groups, pairs string
	var created, updated int64
	err := r.Scan(&p.ID, &p.ProjectID, &p.NetworkID, &p.Name, &p.Description, &p.AdminStateUp, &p.MAC, &p.DeviceOwner, &p.DeviceID,
		&p.HostID, &p.Status, &portSecurity, &groups, &pairs, &p.Revision, &created, &updated)
	if err != nil {
		return Port{}, err
	}
	p.PortSecurity = &portSecurity
	p.CreatedAt, p.UpdatedAt = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
	if err := scanList(groups, &p.SecurityGroups); err != nil {
		return Port{}, err
	}
	return p, scanList(pairs, &p.AllowedAddressPairs)
}

// GetPort returns port id if v may see it (its project's, or any for an
// admin), else Neutron's PortNotFound.
func (s *Store) GetPort(ctx context.Context, v Viewer, id string) (Port, error) {
	p, err := queryOne(ctx, s.db, scanPort, "SELECT "+portCols+" FROM network_ports WHERE id = ?", id)
	if errors.Is(err, sqlstore.ErrNotFound) || (err == nil && !v.Admin && p.ProjectID != v.Project) {
		return Port{}, neutronError(fault.NotFound, "PortNotFound", "Port %s could not be found.", id)
	}
	if err != nil {
		return Port{}, err
	}
	if p.FixedIPs, err = fixedIPs(ctx, s.db, p.ID); err != nil {
		return Port{}, err
	}
	p.Tags, err = tagsOf(ctx, s.db, "port", p.ID)
	return p, err
}

func fixedIPs(ctx context.Context, db querier, portID string) ([]FixedIP, error) {
	rows, err := db.Query(ctx, "SELECT subnet_id, ip_address FROM network_ip_allocations WHERE port_id = ?", portID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []FixedIP{}
	for rows.Next() {
		var subnetID, ip string
		if err := rows.Scan(&subnetID, &ip); err != nil {
			return nil, err
		}
		f, err := fixedIP(subnetID, ip)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	sortFixedIPs(out)
	return out, rows.Err()
}

func fixedIP(subnetID, ip string) (FixedIP, error) {
	a, err := netip.ParseAddr(ip)
	return FixedIP{SubnetID: subnetID, IP: a}, err
}

// sortFixedIPs orders a port's addresses: IPv4 before IPv6, then by
// address.
func sortFixedIPs(f []FixedIP) {
	slices.SortFunc(f, func(a, b FixedIP) int { return a.IP.Compare(b.IP) })
}

func parseMAC(s string) (string, error) { return ipam.ParseMAC(s) }

// DeletePort deletes a port of v's and frees its addresses. A router's
// or a floating IP's port goes only with them (ServicePortInUse); the
// floating IPs of the port are disassociated.
func (s *Store) DeletePort(ctx context.Context, v Viewer, id string) error {
	p, err := s.GetPort(ctx, v, id)
	if err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if err := servicePortInUse(ctx, tx, p); err != nil {
			return err
		}
		if err := s.disassociatePort(ctx, tx, id); err != nil {
			return err
		}
		for _, q := range []string{"DELETE FROM network_ip_allocations WHERE port_id = ?", "DELETE FROM network_port_security_groups WHERE port_id = ?"} {
			if _, err := tx.Exec(ctx, q, id); err != nil {
				return err
			}
		}
		res, err := tx.Exec(ctx, "DELETE FROM network_ports WHERE id = ?", id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return neutronError(fault.NotFound, "PortNotFound", "Port %s could not be found.", id)
		}
		if err := deleteTags(ctx, tx, "port", id); err != nil {
			return err
		}
		return s.record(ctx, tx, "port", id, p.ProjectID, watch.Delete, nil)
	})
}

// NotFound is Neutron's NetworkNotFound, SubnetNotFound, PortNotFound,
// SecurityGroupNotFound, SecurityGroupRuleNotFound, RouterNotFound or
// FloatingIPNotFound for resource ("network", "subnet", "port",
// "security_group", "security_group_rule", "router" or "floatingip") id.
func NotFound(resource, id string) error {
	switch resource {
	case "network":
		return networkNotFound(id)
	case "subnet":
		return subnetTable.notFound(id)
	case "port":
		return portTable.notFound(id)
	case "security_group":
		return sgNotFound(id)
	case "security_group_rule":
		return sgRuleNotFound(id)
	case "router":
		return routerNotFound(id)
	case "floatingip":
		return fipNotFound(id)
	}
	return neutronError(fault.NotFound, "HTTPNotFound", "The resource could not be found.")
}
