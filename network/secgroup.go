package network

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// SecurityGroup is a Neutron security group with its rules. Ports in it
// accept what its ingress rules allow and send what its egress rules
// allow; the rest is dropped (the host agent enforces it).
type SecurityGroup struct {
	ID          string `json:"id"`
	ProjectID   string `json:"project_id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	// Stateful groups track connections (replies pass); nil when
	// creating: true, Neutron's default.
	Stateful  *bool               `json:"stateful"`
	Rules     []SecurityGroupRule `json:"security_group_rules"`
	Tags      []string            `json:"tags"` // sorted (standard-attr-tag)
	Revision  int                 `json:"revision_number"`
	CreatedAt time.Time           `json:"created_at"`
	UpdatedAt time.Time           `json:"updated_at"`
}

// DefaultSecurityGroupName is the name of the group every project gets
// on demand, which no one else may take.
const DefaultSecurityGroupName = "default"

// defaultSGDescription is Neutron's DEFAULT_SG_DESCRIPTION.
const defaultSGDescription = "Default security group"

func sgNotFound(id string) error {
	return neutronError(fault.NotFound, "SecurityGroupNotFound", "Security group %s does not exist", id)
}

const sgCols = `g.id, g.project_id, g.name, g.description, g.stateful, g.revision, g.created_at, g.updated_at`

func scanSG(r scanner) (SecurityGroup, error) {
	var g SecurityGroup
	var stateful bool
	var created, updated int64
	err := r.Scan(&g.ID, &g.ProjectID, &g.Name, &g.Description, &stateful, &g.Revision, &created, &updated)
	g.Stateful = &stateful
	g.CreatedAt, g.UpdatedAt = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
	return g, err
}

var sgTable = table[SecurityGroup]{
	name: "security_group", from: "FROM network_security_groups g", cols: sgCols, scan: scanSG, notFound: sgNotFound,
	columns: tagFilters("security_group", "g.id", map[string]column{
		"id": text("g.id"), "name": text("g.name"), "description": text("g.description"),
		"tenant_id": text("g.project_id"), "project_id": text("g.project_id"), "revision_number": integer("g.revision"),
		"created_at": {expr: "g.created_at", sort: true, noFilter: true}, "updated_at": {expr: "g.updated_at", sort: true, noFilter: true},
	}),
}

// sees reports whether v may see a resource of project.
func (v Viewer) sees(project string) bool { return v.Admin || v.Project == project }

// DefaultSecurityGroup returns the id of project's default group,
// creating it first if the project has none: Neutron's four rules, egress
// anywhere and ingress from the group's own ports, each for IPv4 and
// IPv6. It is created once however many requests ask at the same time
// (the project is the key of network_default_security_groups). A
// non-admin gets no group made for another project (""), as in Neutron.
func (s *Store) DefaultSecurityGroup(ctx context.Context, v Viewer, project string) (string, error) {
	if project == "" || !v.sees(project) {
		return "", nil
	}
	var id string
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		var err error
		id, err = s.ensureDefault(ctx, tx, project)
		return err
	})
	return id, err
}

// ensureDefault is DefaultSecurityGroup in the caller's transaction.
// Lock order: the network row (a port create), then the project's
// default group key, then the feed.
func (s *Store) ensureDefault(ctx context.Context, tx *sqlstore.Tx, project string) (string, error) {
	var id string
	err := tx.Get(ctx, "SELECT security_group_id FROM network_default_security_groups WHERE project_id = ?", []any{project}, &id)
	if err == nil || !errors.Is(err, sqlstore.ErrNotFound) {
		return id, err
	}
	id = uuid.NewString()
	// A parallel creator's uncommitted key makes this insert wait for
	// its end (PostgreSQL) or the writers take turns (SQLite); either way
	// one insert wins and the others read its group.
	res, err := tx.Exec(ctx, `INSERT INTO network_default_security_groups (project_id, security_group_id) VALUES (?, ?)
		ON CONFLICT (project_id) DO NOTHING`, project, id)
	if err != nil {
		return "", err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		err := tx.Get(ctx, "SELECT security_group_id FROM network_default_security_groups WHERE project_id = ?", []any{project}, &id)
		return id, err
	}
	yes := true
	g := SecurityGroup{ID: id, ProjectID: project, Name: DefaultSecurityGroupName, Description: defaultSGDescription, Stateful: &yes}
	_, err = s.insertGroup(ctx, tx, g, true)
	return id, err
}

// insertGroup stores a new group with its initial rules (egress anywhere;
// with ingress from the group itself for a default group) and records
// them on the feed.
func (s *Store) insertGroup(ctx context.Context, tx *sqlstore.Tx, g SecurityGroup, isDefault bool) (SecurityGroup, error) {
	now := s.now()
	g.Revision, g.CreatedAt, g.UpdatedAt = 1, now, now
	if _, err := tx.Exec(ctx, `INSERT INTO network_security_groups (id, project_id, name, description, stateful, revision, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, g.ID, g.ProjectID, g.Name, g.Description, *g.Stateful, g.Revision, now.UnixMicro(), now.UnixMicro()); err != nil {
		return g, err
	}
	g.Rules = []SecurityGroupRule{}
	for _, eth := range []string{IPv4, IPv6} {
		dirs := []string{Egress}
		if isDefault {
			dirs = []string{Ingress, Egress}
		}
		for _, dir := range dirs {
			r := SecurityGroupRule{ID: uuid.NewString(), ProjectID: g.ProjectID, SecurityGroupID: g.ID, Direction: dir, Ethertype: eth,
				Revision: 1, CreatedAt: now, UpdatedAt: now}
			if dir == Ingress {
				r.RemoteGroupID = g.ID
			}
			if err := insertRule(ctx, tx, r); err != nil {
				return g, err
			}
			g.Rules = append(g.Rules, r)
		}
	}
	if err := s.record(ctx, tx, "security_group", g.ID, g.ProjectID, watch.Create, g); err != nil {
		return g, err
	}
	for _, r := range g.Rules {
		if err := s.record(ctx, tx, "security_group_rule", r.ID, r.ProjectID, watch.Create, r); err != nil {
			return g, err
		}
	}
	return g, nil
}

// checkSGName refuses Neutron's reserved name, any case
// (_validate_name_not_default).
func checkSGName(name string) error {
	if strings.EqualFold(name, DefaultSecurityGroupName) {
		return neutronError(fault.Conflict, "SecurityGroupDefaultAlreadyExists", "Default security group already exists.")
	}
	if len(name) > 255 {
		return invalidInput("'%s' exceeds maximum length of 255", name)
	}
	return nil
}

// CreateSecurityGroup stores a group of g.ProjectID (v's project unless v
// is an admin) with Neutron's two egress rules (IPv4 and IPv6 anywhere),
// making the project's default group first if it has none. The project's
// security group quota applies (OverQuota) to this group, not to the
// default one nor to the rules made with them, as in Neutron.
func (s *Store) CreateSecurityGroup(ctx context.Context, v Viewer, g SecurityGroup) (SecurityGroup, error) {
	if g.ID == "" {
		g.ID = uuid.NewString()
	}
	if g.ProjectID == "" {
		g.ProjectID = v.Project
	}
	if !v.sees(g.ProjectID) {
		return SecurityGroup{}, neutronError(fault.Forbidden, "NotAuthorized", "Not authorized.")
	}
	if err := checkSGName(g.Name); err != nil {
		return SecurityGroup{}, err
	}
	if g.Stateful == nil {
		yes := true
		g.Stateful = &yes
	}
	var out SecurityGroup
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if err := s.checkQuota(ctx, tx, v.charged(g.ProjectID), QuotaSecurityGroup); err != nil {
			return err
		}
		if _, err := s.ensureDefault(ctx, tx, g.ProjectID); err != nil {
			return err
		}
		var err error
		out, err = s.insertGroup(ctx, tx, g, false)
		return err
	})
	if err != nil {
		return SecurityGroup{}, err
	}
	return out, nil
}

// GetSecurityGroup returns group id with its rules if v may see it (its
// project's, any for an admin), else Neutron's SecurityGroupNotFound.
func (s *Store) GetSecurityGroup(ctx context.Context, v Viewer, id string) (SecurityGroup, error) {
	var g SecurityGroup
	err := s.db.ReadTx(ctx, func(tx *sqlstore.Tx) error {
		var err error
		g, err = getGroup(ctx, tx, v, id)
		if err != nil {
			return err
		}
		groups := []SecurityGroup{g}
		err = addRules(ctx, tx, groups)
		g = groups[0]
		return err
	})
	return g, err
}

func getGroup(ctx context.Context, q querier, v Viewer, id string) (SecurityGroup, error) {
	g, err := queryOne(ctx, q, scanSG, "SELECT "+sgCols+" FROM network_security_groups g WHERE g.id = ?", id)
	if errors.Is(err, sqlstore.ErrNotFound) || (err == nil && !v.sees(g.ProjectID)) {
		return SecurityGroup{}, sgNotFound(id)
	}
	if err == nil {
		g.Tags, err = tagsOf(ctx, q, "security_group", id)
	}
	return g, err
}

// lockGroup reads group id for a write by v and locks its row until the
// transaction ends.
func lockGroup(ctx context.Context, tx *sqlstore.Tx, v Viewer, id string) (SecurityGroup, error) {
	if _, err := tx.Exec(ctx, "UPDATE network_security_groups SET revision = revision WHERE id = ?", id); err != nil {
		return SecurityGroup{}, err
	}
	return getGroup(ctx, tx, v, id)
}

// ListSecurityGroups returns the groups v may see (its project's, all for
// an admin) matching f with their rules, one page of them in SQL, and
// whether more follow. The project listed (project_id or tenant_id of f,
// else v's) gets its default group first if it has none, as in Neutron.
func (s *Store) ListSecurityGroups(ctx context.Context, v Viewer, f Filter, p Page) ([]SecurityGroup, bool, error) {
	if _, err := s.DefaultSecurityGroup(ctx, v, listedProject(v, f)); err != nil {
		return nil, false, err
	}
	return listOwned(ctx, s.db, sgTable, "g", v, f, p,
		func(tx *sqlstore.Tx, out []SecurityGroup) error { return addRules(ctx, tx, out) },
		func(tx *sqlstore.Tx, out []SecurityGroup) error { return addTags(ctx, tx, "security_group", out) })
}

// listedProject is the project a list is for: the first project_id (or
// tenant_id) filter, else the viewer's.
func listedProject(v Viewer, f Filter) string {
	for _, k := range []string{"project_id", "tenant_id"} {
		if vs := f[k]; len(vs) > 0 {
			return vs[0]
		}
	}
	return v.Project
}

// addRules reads the rules of groups in one query, oldest first (those
// made together with their group in the order Neutron makes them: per
// ethertype, ingress before egress).
func addRules(ctx context.Context, tx *sqlstore.Tx, groups []SecurityGroup) error {
	if len(groups) == 0 {
		return nil
	}
	idx := map[string]int{}
	args := make([]any, len(groups))
	for i, g := range groups {
		idx[g.ID], args[i] = i, g.ID
		groups[i].Rules = []SecurityGroupRule{}
	}
	rules, err := queryRules(ctx, tx, "r.security_group_id IN (?"+strings.Repeat(", ?", len(groups)-1)+") ORDER BY r.created_at, r.ethertype, r.direction DESC, r.id", args...)
	if err != nil {
		return err
	}
	for _, r := range rules {
		i := idx[r.SecurityGroupID]
		groups[i].Rules = append(groups[i].Rules, r)
	}
	return nil
}

// SecurityGroupUpdate is a group update; nil fields are left as they
// are.
type SecurityGroupUpdate struct {
	Name        *string
	Description *string
	Stateful    *bool
}

// UpdateSecurityGroup changes a group of v's, bumping its revision. The
// default group keeps its name (SecurityGroupCannotUpdateDefault); a
// group used by ports keeps its statefulness (SecurityGroupInUse).
func (s *Store) UpdateSecurityGroup(ctx context.Context, v Viewer, id string, u SecurityGroupUpdate) (SecurityGroup, error) {
	if u.Name != nil {
		if err := checkSGName(*u.Name); err != nil {
			return SecurityGroup{}, err
		}
	}
	var out SecurityGroup
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		g, err := lockGroup(ctx, tx, v, id)
		if err != nil {
			return err
		}
		if u.Stateful != nil && *u.Stateful != *g.Stateful {
			if used, err := groupInUse(ctx, tx, id); err != nil || used {
				return errors.Join(err, sgInUse(id, used))
			}
		}
		if g.Name == DefaultSecurityGroupName && u.Name != nil {
			return neutronError(fault.Conflict, "SecurityGroupCannotUpdateDefault", "Updating default security group not allowed.")
		}
		name, desc, stateful := g.Name, g.Description, *g.Stateful
		set(&g.Name, u.Name)
		set(&g.Description, u.Description)
		set(g.Stateful, u.Stateful)
		groups := []SecurityGroup{g}
		if err := addRules(ctx, tx, groups); err != nil {
			return err
		}
		out = groups[0]
		if g.Name == name && g.Description == desc && *g.Stateful == stateful {
			return nil // nothing to write: no revision, no feed entry
		}
		return s.touchGroup(ctx, tx, &out)
	})
	return out, err
}

// touchGroup writes group g with the next revision (a change of the group
// or of its rules) and records it with its rules.
func (s *Store) touchGroup(ctx context.Context, tx *sqlstore.Tx, g *SecurityGroup) error {
	g.Revision++
	g.UpdatedAt = s.now()
	if _, err := tx.Exec(ctx, "UPDATE network_security_groups SET name = ?, description = ?, stateful = ?, revision = ?, updated_at = ? WHERE id = ?",
		g.Name, g.Description, *g.Stateful, g.Revision, g.UpdatedAt.UnixMicro(), g.ID); err != nil {
		return err
	}
	return s.record(ctx, tx, "security_group", g.ID, g.ProjectID, watch.Update, *g)
}

func groupInUse(ctx context.Context, tx *sqlstore.Tx, id string) (bool, error) {
	var n int
	err := tx.Get(ctx, "SELECT COUNT(*) FROM network_port_security_groups WHERE security_group_id = ?", []any{id}, &n)
	return n > 0, err
}

// sgInUse is Neutron's SecurityGroupInUse when used (nil otherwise).
func sgInUse(id string, used bool) error {
	if !used {
		return nil
	}
	return neutronError(fault.Conflict, "SecurityGroupInUse", "Security Group %s in use.", id)
}

// DeleteSecurityGroup deletes a group of v's with its rules, and the
// rules of other groups that allow traffic from it (Neutron's cascade on
// remote_group_id), unless a port is in it (SecurityGroupInUse). Only an
// admin deletes a project's default group
// (SecurityGroupCannotRemoveDefault); the next list makes a new one.
func (s *Store) DeleteSecurityGroup(ctx context.Context, v Viewer, id string) error {
	return s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		g, err := lockGroup(ctx, tx, v, id)
		if err != nil {
			return err
		}
		if used, err := groupInUse(ctx, tx, id); err != nil || used {
			return errors.Join(err, sgInUse(id, used))
		}
		if g.Name == DefaultSecurityGroupName && !v.Admin {
			return neutronError(fault.Conflict, "SecurityGroupCannotRemoveDefault", "Insufficient rights for removing default security group.")
		}
		// Other groups' rules naming this one as their remote go too;
		// those groups change.
		var others []SecurityGroup
		rows, err := queryRules(ctx, tx, "r.remote_group_id = ? AND r.security_group_id <> ? ORDER BY r.security_group_id, r.id", id, id)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if n := len(others); n == 0 || others[n-1].ID != r.SecurityGroupID {
				o, err := lockGroup(ctx, tx, Viewer{Admin: true}, r.SecurityGroupID)
				if err != nil {
					return err
				}
				others = append(others, o)
			}
		}
		own, err := idsOf(ctx, tx, "SELECT id FROM network_security_group_rules WHERE security_group_id = ? ORDER BY id", id)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM network_security_group_rules WHERE remote_group_id = ? OR security_group_id = ?", id, id); err != nil {
			return err
		}
		for _, q := range []string{"DELETE FROM network_default_security_groups WHERE security_group_id = ?",
			"DELETE FROM network_security_groups WHERE id = ?"} {
			if _, err := tx.Exec(ctx, q, id); err != nil {
				return err
			}
		}
		if err := deleteTags(ctx, tx, "security_group", id); err != nil {
			return err
		}
		for _, r := range rows {
			if err := s.record(ctx, tx, "security_group_rule", r.ID, r.ProjectID, watch.Delete, nil); err != nil {
				return err
			}
		}
		for i := range others {
			if err := addRules(ctx, tx, others[i:i+1]); err != nil {
				return err
			}
			if err := s.touchGroup(ctx, tx, &others[i]); err != nil {
				return err
			}
		}
		for _, r := range own {
			if err := s.record(ctx, tx, "security_group_rule", r, g.ProjectID, watch.Delete, nil); err != nil {
				return err
			}
		}
		return s.record(ctx, tx, "security_group", id, g.ProjectID, watch.Delete, nil)
	})
}
