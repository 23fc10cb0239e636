package network

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// Rule directions and ethertypes.
const (
	Ingress = "ingress"
	Egress  = "egress"
	IPv4    = "IPv4"
	IPv6    = "IPv6"
)

// SecurityGroupRule is one rule of a security group: traffic in one
// direction, of one ethertype, optionally of one protocol and port range,
// from or to a prefix or the ports of a group. Empty (nil) fields match
// anything.
type SecurityGroupRule struct {
	ID              string `json:"id"`
	ProjectID       string `json:"project_id"`
	SecurityGroupID string `json:"security_group_id"`
	Direction       string `json:"direction"` // Ingress or Egress
	Ethertype       string `json:"ethertype"` // IPv4 or IPv6 (IPv4 when creating without one)
	// Protocol is kept as Neutron keeps it: a name of its list (lower
	// case) or a number 0 to 255 as given; IPv6 ICMP is always ipv6-icmp
	// (or 58).
	Protocol string `json:"protocol"`
	// The port range for TCP, UDP, SCTP, DCCP and UDP-Lite; the ICMP type
	// and code for ICMP. The whole range 1-65535 is kept as none.
	PortRangeMin *int `json:"port_range_min"`
	PortRangeMax *int `json:"port_range_max"`
	// RemoteIPPrefix is the prefix as given, with its mask
	// ("10.0.0.5/8" stays so, as in Neutron); NormalizedCIDR is its
	// network ("10.0.0.0/8"), what an agent matches.
	RemoteIPPrefix string    `json:"remote_ip_prefix"`
	NormalizedCIDR string    `json:"normalized_cidr"`
	RemoteGroupID  string    `json:"remote_group_id"`
	Description    string    `json:"description"`
	Revision       int       `json:"revision_number"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// ipProtocols is neutron_lib's IP_PROTOCOL_MAP, in its order.
var ipProtocols = []struct {
	name string
	num  int
}{
	{"ah", 51}, {"dccp", 33}, {"egp", 8}, {"esp", 50}, {"gre", 47}, {"hopopt", 0}, {"icmp", 1}, {"igmp", 2}, {"ip", 0},
	{"ipip", 4}, {"ipv6-encap", 41}, {"ipv6-frag", 44}, {"ipv6-icmp", 58}, {"icmpv6", 58}, {"ipv6-nonxt", 59},
	{"ipv6-opts", 60}, {"ipv6-route", 43}, {"ospf", 89}, {"pgm", 113}, {"rsvp", 46}, {"sctp", 132}, {"tcp", 6},
	{"udp", 17}, {"udplite", 136}, {"vrrp", 112},
}

func protocolNumber(name string) (int, bool) {
	for _, p := range ipProtocols {
		if p.name == name {
			return p.num, true
		}
	}
	return 0, false
}

// protocolName is IP_PROTOCOL_NUM_TO_NAME_MAP: the last name of a number
// (0 is "ip"), icmpv6 left out.
func protocolName(num string) (string, bool) {
	name, ok := "", false
	for _, p := range ipProtocols {
		if strconv.Itoa(p.num) == num && p.name != "icmpv6" {
			name, ok = p.name, true
		}
	}
	return name, ok
}

// supportedProtocols is sg_supported_protocols as Neutron prints it.
func supportedProtocols() string {
	names := []string{"None"}
	for _, p := range ipProtocols {
		names = append(names, "'"+p.name+"'")
	}
	return "[" + strings.Join(names, ", ") + "]"
}

// protocolInt reads a protocol given as a number, as Python's int() does
// (spaces around, a sign).
func protocolInt(s string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	return n, err == nil
}

// convertProtocol is Neutron's convert_protocol: a number 0 to 255 kept
// as given, or a known name in lower case.
func convertProtocol(p string) (string, error) {
	if n, ok := protocolInt(p); ok {
		if n >= 0 && n <= 255 {
			return p, nil
		}
	} else if _, ok := protocolNumber(strings.ToLower(p)); ok {
		return strings.ToLower(p), nil
	}
	return "", neutronError(fault.BadRequest, "SecurityGroupRuleInvalidProtocol",
		"Security group rule protocol %s not supported. Only protocol values %s and integer representations [0 to 255] are supported.",
		p, supportedProtocols())
}

// ipProtoNumber is Neutron's _get_ip_proto_number of a converted
// protocol.
func ipProtoNumber(p string) int {
	if p == "icmpv6" {
		p = "ipv6-icmp"
	}
	if n, ok := protocolNumber(p); ok {
		return n
	}
	n, _ := protocolInt(p)
	return n
}

// InvalidPortValue is Neutron's SecurityGroupInvalidPortValue for a port
// of a rule that is no port number (0 to 65535).
func InvalidPortValue(v any) error {
	return neutronError(fault.BadRequest, "SecurityGroupInvalidPortValue", "Invalid value for port %v", v)
}

func sgRuleNotFound(id string) error {
	return neutronError(fault.NotFound, "SecurityGroupRuleNotFound", "Security group rule %s does not exist", id)
}

// normalise checks a new rule as Neutron does, in Neutron's order (the
// API's attribute conversions, then _validate_security_group_rule), and
// puts it in Neutron's stored form.
func (r *SecurityGroupRule) normalise() error {
	if r.SecurityGroupID == "" {
		return neutronError(fault.BadRequest, "HTTPBadRequest", "Failed to parse request. Required attribute 'security_group_id' not specified")
	}
	switch r.Direction {
	case Ingress, Egress:
	case "":
		return neutronError(fault.BadRequest, "HTTPBadRequest", "Failed to parse request. Required attribute 'direction' not specified")
	default:
		return neutronError(fault.BadRequest, "HTTPBadRequest", "Invalid input for direction. Reason: %s is not in valid_values.", r.Direction)
	}
	if r.Protocol != "" {
		p, err := convertProtocol(r.Protocol)
		if err != nil {
			return err
		}
		r.Protocol = p
	}
	for _, port := range []*int{r.PortRangeMin, r.PortRangeMax} {
		if port != nil && (*port < 0 || *port > 65535) {
			return InvalidPortValue(*port)
		}
	}
	switch {
	case r.Ethertype == "" || strings.EqualFold(r.Ethertype, IPv4):
		r.Ethertype = IPv4
	case strings.EqualFold(r.Ethertype, IPv6):
		r.Ethertype = IPv6
	default:
		return neutronError(fault.BadRequest, "SecurityGroupRuleInvalidEtherType",
			"Security group rule for ethertype '%s' not supported. Allowed values are ['IPv4', 'IPv6'].", r.Ethertype)
	}
	var prefix netip.Prefix
	if r.RemoteIPPrefix != "" {
		var err error
		if prefix, err = parsePrefix(r.RemoteIPPrefix); err != nil {
			return neutronError(fault.BadRequest, "InvalidCIDR", "Invalid CIDR %s given as IP prefix.", r.RemoteIPPrefix)
		}
		r.RemoteIPPrefix, r.NormalizedCIDR = prefix.String(), prefix.Masked().String()
	}
	// _make_canonical_ipv6_icmp_protocol, _make_canonical_port_range.
	if r.Ethertype == IPv6 {
		switch r.Protocol {
		case "icmp", "icmpv6":
			r.Protocol = "ipv6-icmp"
		case "1":
			r.Protocol = "58"
		}
	}
	if r.PortRangeMin != nil && r.PortRangeMax != nil && *r.PortRangeMin == 1 && *r.PortRangeMax == 65535 {
		r.PortRangeMin, r.PortRangeMax = nil, nil
	}
	if err := r.checkPortRange(); err != nil {
		return err
	}
	if prefix.IsValid() && (prefix.Addr().Is4() != (r.Ethertype == IPv4)) {
		return neutronError(fault.BadRequest, "SecurityGroupRuleParameterConflict", "Conflicting value ethertype %s for CIDR %s",
			r.Ethertype, r.RemoteIPPrefix)
	}
	switch r.Protocol {
	case "ipv6-encap", "ipv6-frag", "ipv6-icmp", "icmpv6", "ipv6-nonxt", "ipv6-opts", "ipv6-route", "41", "44", "58", "59", "60", "43":
		if r.Ethertype == IPv4 {
			return neutronError(fault.BadRequest, "SecurityGroupEthertypeConflictWithProtocol", "Invalid ethertype %s for protocol %s.",
				r.Ethertype, r.Protocol)
		}
	}
	if r.RemoteIPPrefix != "" && r.RemoteGroupID != "" {
		return neutronError(fault.BadRequest, "SecurityGroupMultipleRemoteEntites",
			"Only one of remote_ip_prefix or remote_group_id or remote_address_group_id may be provided.")
	}
	if len(r.Description) > 255 {
		return invalidInput("'%s' exceeds maximum length of 255", r.Description)
	}
	return nil
}

// parsePrefix reads an address with or without a mask (a bare address is
// a /32 or /128), keeping the host bits as netaddr.IPNetwork does.
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err == nil && p.Addr().Zone() != "" {
			err = fmt.Errorf("zone in %q", s)
		}
		return p, err
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("not an address: %q", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// checkPortRange is Neutron's _validate_port_range.
func (r *SecurityGroupRule) checkPortRange() error {
	lo, hi := r.PortRangeMin, r.PortRangeMax
	if lo == nil && hi == nil {
		return nil
	}
	if r.Protocol == "" {
		return neutronError(fault.BadRequest, "SecurityGroupProtocolRequiredWithPorts", "Must also specify protocol if port range is given.")
	}
	switch proto := ipProtoNumber(r.Protocol); proto {
	case 6, 17, 33, 132, 136: // TCP, UDP, DCCP, SCTP, UDP-Lite
		if (lo != nil && *lo == 0) || (hi != nil && *hi == 0) {
			return InvalidPortValue(0)
		}
		if lo == nil || hi == nil || *lo > *hi {
			return neutronError(fault.BadRequest, "SecurityGroupInvalidPortRange", "For TCP/UDP protocols, port_range_min must be <= port_range_max")
		}
	case 1, 58: // ICMP, IPv6 ICMP: type and code
		for _, f := range []struct {
			v           *int
			field, attr string
		}{{lo, "type", "port_range_min"}, {hi, "code", "port_range_max"}} {
			if f.v != nil && (*f.v < 0 || *f.v > 255) {
				return neutronError(fault.BadRequest, "SecurityGroupInvalidIcmpValue", "Invalid value for ICMP %s (%s) %d. It must be 0 to 255.",
					f.field, f.attr, *f.v)
			}
		}
		if lo == nil && hi != nil {
			return neutronError(fault.BadRequest, "SecurityGroupMissingIcmpType",
				"ICMP code (port-range-max) %d is provided but ICMP type (port-range-min) is missing.", *hi)
		}
	default:
		return neutronError(fault.BadRequest, "SecurityGroupInvalidProtocolForPort",
			"Ports cannot be specified for protocol %d. Ports are only supported for DCCP, SCTP, TCP, UDP, UDPLITE.", proto)
	}
	return nil
}

// key is Neutron's _rule_to_key: two rules with one key are duplicates
// (a protocol by name and by number are one; any prefix is none).
func (r SecurityGroupRule) key() string {
	val := func(s string) string {
		if s == "" {
			return "+"
		}
		return s
	}
	port := func(p *int) string {
		if p == nil {
			return "+"
		}
		return strconv.Itoa(*p)
	}
	proto := "+"
	if r.Protocol != "" {
		p := r.Protocol
		if n, ok := protocolNumber(p); ok {
			proto = p + "/" + strconv.Itoa(n)
		} else if name, ok := protocolName(p); ok {
			proto = name + "/" + p
		} else {
			proto = p + "/" + p
		}
	}
	prefix := r.RemoteIPPrefix
	if prefix == "0.0.0.0/0" || prefix == "::/0" {
		prefix = ""
	}
	return strings.Join([]string{r.Direction, r.Ethertype, port(r.PortRangeMax), port(r.PortRangeMin), proto,
		val(r.RemoteGroupID), "+", val(prefix), r.SecurityGroupID}, "_")
}

const ruleCols = `r.id, r.project_id, r.security_group_id, r.direction, r.ethertype, r.protocol, r.port_range_min, r.port_range_max,
	r.remote_ip_prefix, r.normalized_cidr, r.remote_group_id, r.description, r.revision, r.created_at, r.updated_at`

func scanRule(row scanner) (SecurityGroupRule, error) {
	var r SecurityGroupRule
	var proto, prefix, cidr, remote sql.NullString
	var lo, hi sql.NullInt64
	var created, updated int64
	err := row.Scan(&r.ID, &r.ProjectID, &r.SecurityGroupID, &r.Direction, &r.Ethertype, &proto, &lo, &hi, &prefix, &cidr, &remote,
		&r.Description, &r.Revision, &created, &updated)
	r.Protocol, r.RemoteIPPrefix, r.NormalizedCIDR, r.RemoteGroupID = proto.String, prefix.String, cidr.String, remote.String
	if lo.Valid {
		n := int(lo.Int64)
		r.PortRangeMin = &n
	}
	if hi.Valid {
		n := int(hi.Int64)
		r.PortRangeMax = &n
	}
	r.CreatedAt, r.UpdatedAt = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
	return r, err
}

// queryRules reads the rules matching cond (with its ORDER BY).
func queryRules(ctx context.Context, q querier, cond string, args ...any) ([]SecurityGroupRule, error) {
	rows, err := q.Query(ctx, "SELECT "+ruleCols+" FROM network_security_group_rules r WHERE "+cond, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []SecurityGroupRule{}
	for rows.Next() {
		r, err := scanRule(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func insertRule(ctx context.Context, tx *sqlstore.Tx, r SecurityGroupRule) error {
	null := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	port := func(p *int) any {
		if p == nil {
			return nil
		}
		return *p
	}
	_, err := tx.Exec(ctx, `INSERT INTO network_security_group_rules (id, project_id, security_group_id, direction, ethertype, protocol,
		port_range_min, port_range_max, remote_ip_prefix, normalized_cidr, remote_group_id, description, revision, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.ProjectID, r.SecurityGroupID, r.Direction, r.Ethertype, null(r.Protocol), port(r.PortRangeMin), port(r.PortRangeMax),
		null(r.RemoteIPPrefix), null(r.NormalizedCIDR), null(r.RemoteGroupID), r.Description, r.Revision,
		r.CreatedAt.UnixMicro(), r.UpdatedAt.UnixMicro())
	return err
}

// CreateSecurityGroupRule adds a rule to a group v may see, checked and
// stored as Neutron does (see normalise). The rule belongs to the
// group's project (a rule naming another project is SecurityGroupNotFound,
// as in Neutron for a tenant that does not own the group); a remote group
// must be one v sees. A rule with the key of one the group has is
// SecurityGroupRuleExists: rule writes on a group take turns on its row,
// so two parallel creates of one rule never both succeed. The group's
// revision is bumped. The rule's project's quota applies (OverQuota).
func (s *Store) CreateSecurityGroupRule(ctx context.Context, v Viewer, r SecurityGroupRule) (SecurityGroupRule, error) {
	if r.ID == "" {
		r.ID = uuid.NewString()
	}
	if err := r.normalise(); err != nil {
		return SecurityGroupRule{}, err
	}
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		project := r.ProjectID
		if project == "" { // the group's, below
			var err error
			if project, err = projectOf(ctx, tx, v, "network_security_groups", r.SecurityGroupID); err != nil {
				return err
			}
		}
		if err := s.checkQuota(ctx, tx, v.charged(project), QuotaSecurityGroupRule); err != nil {
			return err
		}
		if r.RemoteGroupID != "" {
			if _, err := getGroup(ctx, tx, v, r.RemoteGroupID); err != nil {
				return err
			}
		}
		g, err := lockGroup(ctx, tx, v, r.SecurityGroupID)
		if err != nil {
			return err
		}
		if r.ProjectID == "" {
			r.ProjectID = g.ProjectID
		} else if r.ProjectID != g.ProjectID {
			return sgNotFound(r.SecurityGroupID)
		}
		groups := []SecurityGroup{g}
		if err := addRules(ctx, tx, groups); err != nil {
			return err
		}
		g = groups[0]
		k := r.key()
		for _, o := range g.Rules {
			if o.key() == k {
				return neutronError(fault.Conflict, "SecurityGroupRuleExists", "Security group rule already exists. Rule id is %s.", o.ID)
			}
		}
		now := s.now()
		r.Revision, r.CreatedAt, r.UpdatedAt = 1, now, now
		if err := insertRule(ctx, tx, r); err != nil {
			return err
		}
		g.Rules = append(g.Rules, r)
		if err := s.touchGroup(ctx, tx, &g); err != nil {
			return err
		}
		return s.record(ctx, tx, "security_group_rule", r.ID, r.ProjectID, watch.Create, r)
	})
	if err != nil {
		return SecurityGroupRule{}, err
	}
	return r, nil
}

// ruleVisible is the SQL condition for the rules v may see: its own and
// those of its groups (all for an admin), as Neutron's
// get_security_group_rule policy allows the rule's owner and the group's.
func (v Viewer) ruleVisible() (string, []any) {
	if v.Admin {
		return "1 = 1", nil
	}
	return "(r.project_id = ? OR g.project_id = ?)", []any{v.Project, v.Project}
}

var ruleTable = table[SecurityGroupRule]{
	name: "security_group_rule", from: "FROM network_security_group_rules r JOIN network_security_groups g ON g.id = r.security_group_id",
	cols: ruleCols, scan: scanRule, notFound: sgRuleNotFound,
	columns: map[string]column{
		"id": text("r.id"), "tenant_id": text("r.project_id"), "project_id": text("r.project_id"),
		"security_group_id": text("r.security_group_id"), "remote_group_id": text("r.remote_group_id"),
		"direction": text("r.direction"), "ethertype": text("r.ethertype"), "protocol": text("r.protocol"),
		"port_range_min": integer("r.port_range_min"), "port_range_max": integer("r.port_range_max"),
		"remote_ip_prefix": text("r.remote_ip_prefix"), "normalized_cidr": text("r.normalized_cidr"),
		"description": text("r.description"), "revision_number": integer("r.revision"),
		"created_at": {expr: "r.created_at", sort: true, noFilter: true}, "updated_at": {expr: "r.updated_at", sort: true, noFilter: true},
	},
}

// GetSecurityGroupRule returns rule id if v may see it (its own, one of
// its groups', any for an admin), else SecurityGroupRuleNotFound.
func (s *Store) GetSecurityGroupRule(ctx context.Context, v Viewer, id string) (SecurityGroupRule, error) {
	cond, args := v.ruleVisible()
	r, err := queryOne(ctx, s.db, scanRule, "SELECT "+ruleCols+" "+ruleTable.from+" WHERE r.id = ? AND "+cond, append([]any{id}, args...)...)
	if errors.Is(err, sqlstore.ErrNotFound) {
		return SecurityGroupRule{}, sgRuleNotFound(id)
	}
	return r, err
}

// ListSecurityGroupRules returns the rules v may see matching f, one page
// of them in SQL, and whether more follow. The project listed gets its
// default group first, as in Neutron.
func (s *Store) ListSecurityGroupRules(ctx context.Context, v Viewer, f Filter, p Page) ([]SecurityGroupRule, bool, error) {
	if _, err := s.DefaultSecurityGroup(ctx, v, listedProject(v, f)); err != nil {
		return nil, false, err
	}
	var out []SecurityGroupRule
	var more bool
	err := s.db.ReadTx(ctx, func(tx *sqlstore.Tx) error {
		cond, args := v.ruleVisible()
		var err error
		out, more, err = list(ctx, tx, ruleTable, cond, args, f, p)
		return err
	})
	return out, more, err
}

// DeleteSecurityGroupRule deletes a rule v may see, bumping its group's
// revision.
func (s *Store) DeleteSecurityGroupRule(ctx context.Context, v Viewer, id string) error {
	r, err := s.GetSecurityGroupRule(ctx, v, id)
	if err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		g, err := lockGroup(ctx, tx, Viewer{Admin: true}, r.SecurityGroupID)
		if fault.KindOf(err) == fault.NotFound { // deleted with its group meanwhile
			return sgRuleNotFound(id)
		} else if err != nil {
			return err
		}
		res, err := tx.Exec(ctx, "DELETE FROM network_security_group_rules WHERE id = ?", id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return sgRuleNotFound(id)
		}
		groups := []SecurityGroup{g}
		if err := addRules(ctx, tx, groups); err != nil {
			return err
		}
		if err := s.touchGroup(ctx, tx, &groups[0]); err != nil {
			return err
		}
		return s.record(ctx, tx, "security_group_rule", id, r.ProjectID, watch.Delete, nil)
	})
}
