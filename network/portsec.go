package network

import (
	"context"
	"encoding/json"
	"net/netip"
	"slices"
	"strings"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
)

// MaxAllowedAddressPairs is Neutron's max_allowed_address_pair default.
const MaxAllowedAddressPairs = 10

func badRequest(format string, args ...any) error {
	return neutronError(fault.BadRequest, "HTTPBadRequest", format, args...)
}

func addressPairsNeedPortSecurity() error {
	return neutronError(fault.Conflict, "AddressPairAndPortSecurityRequired",
		"Port Security must be enabled in order to have allowed address pairs on a port.")
}

func groupsNeedPortSecurity() error {
	return neutronError(fault.BadRequest, "PortSecurityAndIPRequiredForSecurityGroups",
		"Port security must be enabled and port must have an IP address in order to use security groups.")
}

// checkAddressPairs is neutron_lib's _validate_allowed_address_pairs:
// at most MaxAllowedAddressPairs, each with an address or a CIDR as
// Neutron's validators take them and, if given, a valid MAC, no pair
// twice.
func checkAddressPairs(pairs []AddressPair) error {
	if len(pairs) > MaxAllowedAddressPairs {
		return neutronError(fault.BadRequest, "AllowedAddressPairExhausted",
			"The number of allowed address pair exceeds the maximum %d.", MaxAllowedAddressPairs)
	}
	seen := map[AddressPair]bool{}
	for _, pair := range pairs {
		if pair.MAC != "" {
			if _, err := parseMAC(pair.MAC); err != nil {
				return badRequest("'%s' is not a valid MAC address", pair.MAC)
			}
		}
		if pair.IP == "" {
			return neutronError(fault.BadRequest, "AllowedAddressPairsMissingIP", "AllowedAddressPair must contain ip_address")
		}
		if seen[pair] {
			mac := pair.MAC
			if mac == "" {
				mac = "None"
			}
			return duplicatePair(mac, pair.IP)
		}
		seen[pair] = true
		if err := checkPairIP(pair.IP); err != nil {
			return err
		}
	}
	return nil
}

func duplicatePair(mac, ip string) error {
	return neutronError(fault.BadRequest, "DuplicateAddressPairInRequest",
		"Request contains duplicate address pair: mac_address %s ip_address %s.", mac, ip)
}

// checkPairIP is validate_subnet for a CIDR (an IPv4 one written
// canonically) and validate_ip_address for an address (IPv4 dotted quad
// without leading zeros).
func checkPairIP(ip string) error {
	if strings.Contains(ip, "/") {
		p, err := netip.ParsePrefix(ip)
		if err != nil || p.Addr().Zone() != "" {
			return badRequest("'%s' is not a valid IP subnet", ip)
		}
		if p.Addr().Is4() && p.String() != ip {
			return badRequest("'%s' isn't a recognized IP subnet cidr, '%s' is recommended", ip, p.Masked())
		}
		return nil
	}
	a, err := netip.ParseAddr(ip)
	if err != nil || a.Zone() != "" || (!strings.Contains(ip, ":") && strings.Count(ip, ".") != 3) {
		return badRequest("'%s' is not a valid IP address", ip)
	}
	return nil
}

// fillPairMACs gives the pairs without a MAC the port's, normalises the
// others, and refuses a pair that is then there twice (Neutron's
// primary key on port, MAC and address).
func fillPairMACs(pairs []AddressPair, mac string) ([]AddressPair, error) {
	out := make([]AddressPair, len(pairs))
	seen := map[AddressPair]bool{}
	for i, pair := range pairs {
		if pair.MAC == "" {
			pair.MAC = mac
		} else {
			m, err := parseMAC(pair.MAC)
			if err != nil {
				return nil, err
			}
			pair.MAC = m
		}
		if seen[pair] {
			return nil, duplicatePair(pair.MAC, pair.IP)
		}
		seen[pair] = true
		out[i] = pair
	}
	return out, nil
}

// checkGroupList refuses a group listed twice, as Neutron's uuid_list
// validator does.
func checkGroupList(ids []string) error {
	var dups []string
	for i, id := range ids {
		if slices.Contains(ids[:i], id) && !slices.Contains(dups, id) {
			dups = append(dups, id)
		}
	}
	if len(dups) > 0 {
		return badRequest("Invalid input for security_groups. Reason: Duplicate items in the list: '%s'.", strings.Join(dups, ", "))
	}
	return nil
}

// portGroups checks that the groups ids exist in project (else Neutron's
// SecurityGroupNotFound naming the missing ones) and are all stateful or
// all stateless.
func portGroups(ctx context.Context, tx *sqlstore.Tx, project string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	args := []any{project}
	for _, id := range ids {
		args = append(args, id)
	}
	rows, err := tx.Query(ctx, "SELECT id, stateful FROM network_security_groups WHERE project_id = ? AND id IN (?"+
		strings.Repeat(", ?", len(ids)-1)+")", args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	found := map[string]bool{}
	states := map[bool]bool{}
	for rows.Next() {
		var id string
		var stateful bool
		if err := rows.Scan(&id, &stateful); err != nil {
			return err
		}
		found[id], states[stateful] = true, true
	}
	if err := rows.Err(); err != nil {
		return err
	}
	var missing []string
	for _, id := range ids {
		if !found[id] {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return sgNotFound(strings.Join(missing, ", "))
	}
	if len(states) > 1 {
		return neutronError(fault.Conflict, "SecurityGroupConflict",
			"Error Cannot apply both stateful and stateless security groups on the same port at the same time while attempting the operation.")
	}
	return nil
}

// preparePortSecurity settles a new port's security before it is stored,
// as ML2 does: port security is the port's (a network:* port gets none),
// else its network's; with it, a port given no groups gets its project's
// default group; without it, groups and address pairs are refused.
func (s *Store) preparePortSecurity(ctx context.Context, tx *sqlstore.Tx, v Viewer, p *Port, n Network) error {
	if err := checkAddressPairs(p.AllowedAddressPairs); err != nil {
		return err
	}
	if err := checkGroupList(p.SecurityGroups); err != nil {
		return err
	}
	enabled := n.PortSecurity == nil || *n.PortSecurity
	if p.PortSecurity != nil {
		enabled = *p.PortSecurity
	}
	if p.IsTrusted() {
		enabled = false
	}
	p.PortSecurity = &enabled
	switch {
	case !enabled && len(p.AllowedAddressPairs) > 0:
		return addressPairsNeedPortSecurity()
	case !enabled && len(p.SecurityGroups) > 0:
		return groupsNeedPortSecurity()
	case enabled && p.SecurityGroups == nil && v.sees(p.ProjectID):
		// Neutron makes no default group for another project unless the
		// caller is an admin.
		id, err := s.ensureDefault(ctx, tx, p.ProjectID)
		if err != nil {
			return err
		}
		p.SecurityGroups = []string{id}
	}
	if p.SecurityGroups == nil {
		p.SecurityGroups = []string{}
	}
	if p.AllowedAddressPairs == nil {
		p.AllowedAddressPairs = []AddressPair{}
	}
	return portGroups(ctx, tx, p.ProjectID, p.SecurityGroups)
}

// bindGroups records port id's groups (what in-use checks and filters
// read), replacing those it had.
func bindGroups(ctx context.Context, tx *sqlstore.Tx, id string, groups []string) error {
	if _, err := tx.Exec(ctx, "DELETE FROM network_port_security_groups WHERE port_id = ?", id); err != nil {
		return err
	}
	for _, g := range groups {
		if _, err := tx.Exec(ctx, "INSERT INTO network_port_security_groups (port_id, security_group_id) VALUES (?, ?)", id, g); err != nil {
			return err
		}
	}
	return nil
}

// updatePortSecurity checks a port update's security attributes against
// the port as it will be (p), as ML2 does: a port without port security
// may keep no groups and no address pairs (PortSecurityPortHasSecurityGroup
// when it has some the update leaves), and rebinds changed groups.
func updatePortSecurity(ctx context.Context, tx *sqlstore.Tx, before Port, p *Port, u PortUpdate) error {
	if u.AllowedAddressPairs != nil {
		if err := checkAddressPairs(*u.AllowedAddressPairs); err != nil {
			return err
		}
		pairs, err := fillPairMACs(*u.AllowedAddressPairs, p.MAC)
		if err != nil {
			return err
		}
		p.AllowedAddressPairs = pairs
	}
	if u.SecurityGroups != nil {
		if err := checkGroupList(*u.SecurityGroups); err != nil {
			return err
		}
		if sameSet(*u.SecurityGroups, before.SecurityGroups) {
			p.SecurityGroups = before.SecurityGroups
		} else {
			p.SecurityGroups = slices.Clone(*u.SecurityGroups)
		}
	}
	if !*p.PortSecurity {
		switch {
		case len(p.AllowedAddressPairs) > 0:
			return addressPairsNeedPortSecurity()
		case u.SecurityGroups != nil && len(*u.SecurityGroups) > 0:
			return groupsNeedPortSecurity()
		case len(p.SecurityGroups) > 0:
			return neutronError(fault.Conflict, "PortSecurityPortHasSecurityGroup",
				"Port has security group associated. Cannot disable port security or IP address until security group is removed.")
		}
	}
	if u.SecurityGroups == nil || sameSet(p.SecurityGroups, before.SecurityGroups) {
		return nil
	}
	if err := portGroups(ctx, tx, p.ProjectID, p.SecurityGroups); err != nil {
		return err
	}
	return bindGroups(ctx, tx, p.ID, p.SecurityGroups)
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

func scanList[T any](text string, dst *[]T) error {
	*dst = []T{}
	return json.Unmarshal([]byte(text), dst)
}
