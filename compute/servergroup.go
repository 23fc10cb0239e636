package compute

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// Server group policies, as Nova names them from 2.64. The hard ones
// (Affinity, AntiAffinity) are enforced when a member is placed; the soft
// ones only weigh hosts in the scheduler.
const (
	Affinity         = "affinity"
	AntiAffinity     = "anti-affinity"
	SoftAffinity     = "soft-affinity"
	SoftAntiAffinity = "soft-anti-affinity"
)

// MaxServerPerHost is the one rule Nova knows, of anti-affinity groups:
// how many members one host may hold (1 when unset).
const MaxServerPerHost = "max_server_per_host"

var serverGroupPolicies = []string{AntiAffinity, Affinity, SoftAntiAffinity, SoftAffinity}

// ServerGroup is a Nova server group: instances of one project placed
// by a policy.
type ServerGroup struct {
	ID        string         `json:"id"`
	Name      string         `json:"name"`
	ProjectID string         `json:"project_id"`
	UserID    string         `json:"user_id"`
	Policy    string         `json:"policy"`
	Rules     map[string]int `json:"rules"` // only MaxServerPerHost, of anti-affinity
	// Members in the order they joined, each with its host.
	Members   []ServerGroupMember `json:"members"`
	CreatedAt time.Time           `json:"created_at"`
	UpdatedAt time.Time           `json:"updated_at"`
}

// ServerGroupMember is an instance of a group and the host it is on (""
// until it is placed).
type ServerGroupMember struct {
	InstanceUUID string `json:"instance_uuid"`
	Host         string `json:"host"`
}

// MaxPerHost is how many members one host may hold under an
// anti-affinity policy: the MaxServerPerHost rule, 1 when unset.
func (g ServerGroup) MaxPerHost() int {
	if n, ok := g.Rules[MaxServerPerHost]; ok && n > 0 {
		return n
	}
	return 1
}

// HostCounts maps each host holding members to how many it holds.
func (g ServerGroup) HostCounts() map[string]int {
	out := map[string]int{}
	for _, m := range g.Members {
		if m.Host != "" {
			out[m.Host]++
		}
	}
	return out
}

// Hosts lists the hosts holding members, sorted.
func (g ServerGroup) Hosts() []string { return slices.Sorted(maps.Keys(g.HostCounts())) }

// Check is Nova's late affinity check: whether instance may be on host
// under the group's policy, the other members where they are. An
// anti-affinity host may hold at most MaxPerHost other members; an
// affinity host must be the one of the others (any, when none is
// placed). Soft policies and an empty host always pass. The error is
// Nova's GroupAffinityViolation (a Conflict).
func (g ServerGroup) Check(instanceUUID, host string) error {
	if host == "" {
		return nil
	}
	switch g.Policy {
	case AntiAffinity:
		n := 0
		for _, m := range g.Members {
			if m.InstanceUUID != instanceUUID && m.Host == host {
				n++
			}
		}
		if n >= g.MaxPerHost() {
			return novaError(fault.Conflict, "GroupAffinityViolation", "Anti-affinity instance group policy was violated")
		}
	case Affinity:
		for _, m := range g.Members {
			if m.InstanceUUID != instanceUUID && m.Host != "" && m.Host != host {
				return novaError(fault.Conflict, "GroupAffinityViolation", "Affinity instance group policy was violated")
			}
		}
	}
	return nil
}

func serverGroupNotFound(id string) error {
	return novaError(fault.NotFound, "InstanceGroupNotFound", "Instance group %s could not be found.", id)
}

// checkServerGroup is Nova's create schema of 2.64 and its rule that
// only anti-affinity has rules.
func checkServerGroup(g ServerGroup) error {
	if err := checkNovaName("name", g.Name, false); err != nil {
		return err
	}
	if !slices.Contains(serverGroupPolicies, g.Policy) {
		return novaValidation("policy", g.Policy, "%s is not one of %s", pyRepr(g.Policy), pyList(serverGroupPolicies))
	}
	for _, k := range slices.Sorted(maps.Keys(g.Rules)) {
		if k != MaxServerPerHost {
			return novaValidation("rules", pyRules(g.Rules), "Additional properties are not allowed (%s was unexpected)", pyRepr(k))
		}
		if v := g.Rules[k]; v < 1 {
			return novaValidation(k, v, "%d is less than the minimum of 1", v)
		}
	}
	if g.Policy != AntiAffinity && len(g.Rules) > 0 {
		return novaError(fault.BadRequest, "", "Only anti-affinity policy supports rules.")
	}
	if g.ProjectID == "" {
		return fault.Invalid("project_id", "a server group needs a project")
	}
	return nil
}

// pyRules formats rules as Python prints a dict.
func pyRules(rules map[string]int) string {
	var items []string
	for _, k := range slices.Sorted(maps.Keys(rules)) {
		items = append(items, fmt.Sprintf("%s: %d", pyRepr(k), rules[k]))
	}
	return "{" + strings.Join(items, ", ") + "}"
}

// CreateServerGroup stores a group of g.ProjectID made by g.UserID, with
// no members (the id is made when empty).
func (s *Store) CreateServerGroup(ctx context.Context, g ServerGroup) (ServerGroup, error) {
	if err := checkServerGroup(g); err != nil {
		return ServerGroup{}, err
	}
	if g.ID == "" {
		g.ID = uuid.NewString()
	}
	if g.Rules == nil {
		g.Rules = map[string]int{}
	}
	rules, err := json.Marshal(g.Rules)
	if err != nil {
		return ServerGroup{}, fmt.Errorf("compute: server group rules: %w", err)
	}
	now := s.now()
	g.Members, g.CreatedAt, g.UpdatedAt = []ServerGroupMember{}, now, now
	err = s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		res, err := tx.Exec(ctx, `INSERT INTO compute_server_groups (id, name, project_id, user_id, policy, rules, revision, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?) ON CONFLICT (id) DO NOTHING`,
			g.ID, g.Name, g.ProjectID, g.UserID, g.Policy, string(rules), now.UnixMicro(), now.UnixMicro())
		if err != nil {
			return fmt.Errorf("compute: create server group: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return novaError(fault.Conflict, "InstanceGroupIdExists", "Instance group %s already exists.", g.ID)
		}
		return s.record(ctx, tx, "server_group", g.ID, g.ProjectID, watch.Create, g)
	})
	if err != nil {
		return ServerGroup{}, err
	}
	return g, nil
}

const serverGroupCols = `g.id, g.name, g.project_id, g.user_id, g.policy, g.rules, g.created_at, g.updated_at`

// loadServerGroups reads the groups matching cond (on alias g) with
// their members, by creation.
func loadServerGroups(ctx context.Context, q novaQuerier, cond string, args ...any) ([]ServerGroup, error) {
	rows, err := q.Query(ctx, "SELECT "+serverGroupCols+" FROM compute_server_groups g WHERE "+cond+" ORDER BY g.created_at, g.id", args...)
	if err != nil {
		return nil, fmt.Errorf("compute: read server groups: %w", err)
	}
	defer rows.Close()
	out := []ServerGroup{}
	index := map[string]int{}
	for rows.Next() {
		var g ServerGroup
		var rules string
		var created, updated int64
		if err := rows.Scan(&g.ID, &g.Name, &g.ProjectID, &g.UserID, &g.Policy, &rules, &created, &updated); err != nil {
			return nil, fmt.Errorf("compute: read server groups: %w", err)
		}
		if err := json.Unmarshal([]byte(rules), &g.Rules); err != nil {
			return nil, fmt.Errorf("compute: server group %s rules: %w", g.ID, err)
		}
		g.Members, g.CreatedAt, g.UpdatedAt = []ServerGroupMember{}, time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
		index[g.ID] = len(out)
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("compute: read server groups: %w", err)
	}
	rows.Close()
	if len(out) == 0 {
		return out, nil
	}
	members, err := q.Query(ctx, `SELECT m.group_id, m.instance_uuid, m.host FROM compute_server_group_members m
		JOIN compute_server_groups g ON g.id = m.group_id WHERE `+cond+` ORDER BY m.created_at, m.instance_uuid`, args...)
	if err != nil {
		return nil, fmt.Errorf("compute: read server group members: %w", err)
	}
	defer members.Close()
	for members.Next() {
		var gid string
		var m ServerGroupMember
		if err := members.Scan(&gid, &m.InstanceUUID, &m.Host); err != nil {
			return nil, fmt.Errorf("compute: read server group members: %w", err)
		}
		if i, ok := index[gid]; ok {
			out[i].Members = append(out[i].Members, m)
		}
	}
	if err := members.Err(); err != nil {
		return nil, fmt.Errorf("compute: read server group members: %w", err)
	}
	return out, nil
}

// ServerGroup returns group id if v may see it (its project's, any for
// an admin), else Nova's InstanceGroupNotFound.
func (s *Store) ServerGroup(ctx context.Context, v Viewer, id string) (ServerGroup, error) {
	var out ServerGroup
	err := s.db.ReadTx(ctx, func(tx *sqlstore.Tx) error {
		gs, err := loadServerGroups(ctx, tx, "g.id = ?", id)
		if err != nil {
			return err
		}
		if len(gs) == 0 || !v.sees(gs[0].ProjectID) {
			return serverGroupNotFound(id)
		}
		out = gs[0]
		return nil
	})
	return out, err
}

// ServerGroups lists v's project's groups, or every project's for an
// admin asking for all (Nova's all_projects; a non-admin asking gets its
// own, as in Nova).
func (s *Store) ServerGroups(ctx context.Context, v Viewer, allProjects bool) ([]ServerGroup, error) {
	cond, args := "g.project_id = ?", []any{v.Project}
	if v.Admin && allProjects {
		cond, args = "1 = 1", nil
	}
	var out []ServerGroup
	err := s.db.ReadTx(ctx, func(tx *sqlstore.Tx) error {
		var err error
		out, err = loadServerGroups(ctx, tx, cond, args...)
		return err
	})
	return out, err
}

// ServerGroupOfInstance returns the group instance is a member of (Nova's
// InstanceGroup.get_by_instance_uuid), else InstanceGroupNotFound.
func (s *Store) ServerGroupOfInstance(ctx context.Context, instanceUUID string) (ServerGroup, error) {
	var out ServerGroup
	err := s.db.ReadTx(ctx, func(tx *sqlstore.Tx) error {
		gs, err := loadServerGroups(ctx, tx, "g.id IN (SELECT group_id FROM compute_server_group_members WHERE instance_uuid = ?)", instanceUUID)
		if err != nil {
			return err
		}
		if len(gs) == 0 {
			return novaError(fault.NotFound, "InstanceGroupNotFound", "Instance group of instance %s could not be found.", instanceUUID)
		}
		out = gs[0]
		return nil
	})
	return out, err
}

// lockServerGroup takes group id's row lock (bumping its revision) until
// the transaction ends and reads the group with its members. Every member write takes it
// first, so checks of the policy and writes of members are one step.
func (s *Store) lockServerGroup(ctx context.Context, tx *sqlstore.Tx, id string) (ServerGroup, error) {
	res, err := tx.Exec(ctx, "UPDATE compute_server_groups SET revision = revision + 1 WHERE id = ?", id)
	if err != nil {
		return ServerGroup{}, fmt.Errorf("compute: lock server group %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ServerGroup{}, serverGroupNotFound(id)
	}
	gs, err := loadServerGroups(ctx, tx, "g.id = ?", id)
	if err != nil {
		return ServerGroup{}, err
	}
	if len(gs) == 0 {
		return ServerGroup{}, serverGroupNotFound(id)
	}
	return gs[0], nil
}

// DeleteServerGroup deletes group id of v's project (any for an admin)
// with its members.
func (s *Store) DeleteServerGroup(ctx context.Context, v Viewer, id string) error {
	return s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		g, err := s.lockServerGroup(ctx, tx, id)
		if err != nil {
			return err
		}
		if !v.sees(g.ProjectID) {
			return serverGroupNotFound(id)
		}
		if _, err := tx.Exec(ctx, "DELETE FROM compute_server_group_members WHERE group_id = ?", id); err != nil {
			return fmt.Errorf("compute: delete server group %s: %w", id, err)
		}
		if _, err := tx.Exec(ctx, "DELETE FROM compute_server_groups WHERE id = ?", id); err != nil {
			return fmt.Errorf("compute: delete server group %s: %w", id, err)
		}
		return s.record(ctx, tx, "server_group", id, g.ProjectID, watch.Delete, nil)
	})
}

// AddServerGroupMember makes instance a member of group id on host (""
// when not placed yet), refusing a host that breaks the group's policy
// (Check: Nova's GroupAffinityViolation). The check and the write hold
// the group's row lock, so parallel schedulers placing members of one
// group take turns and never both break it. An instance already in the
// group is moved to host (SetMemberHost); one in another group is
// refused (Conflict).
func (s *Store) AddServerGroupMember(ctx context.Context, id, instanceUUID, host string) (ServerGroup, error) {
	if instanceUUID == "" {
		return ServerGroup{}, fault.Invalid("instance_uuid", "a server group member needs an instance")
	}
	return s.writeMember(ctx, id, func(tx *sqlstore.Tx, g *ServerGroup) error {
		if i := memberIndex(*g, instanceUUID); i >= 0 {
			return placeMember(ctx, tx, g, i, host)
		}
		if err := g.Check(instanceUUID, host); err != nil {
			return err
		}
		res, err := tx.Exec(ctx, `INSERT INTO compute_server_group_members (instance_uuid, group_id, host, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (instance_uuid) DO NOTHING`, instanceUUID, id, host, s.now().UnixMicro())
		if err != nil {
			return fmt.Errorf("compute: add member %s to server group %s: %w", instanceUUID, id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return novaError(fault.Conflict, "", "Instance %s is already a member of another server group.", instanceUUID)
		}
		g.Members = append(g.Members, ServerGroupMember{InstanceUUID: instanceUUID, Host: host})
		return nil
	})
}

// SetMemberHost moves member instance of group id to host ("" when it is
// no longer placed), under the same policy check and lock as
// AddServerGroupMember.
func (s *Store) SetMemberHost(ctx context.Context, id, instanceUUID, host string) (ServerGroup, error) {
	return s.writeMember(ctx, id, func(tx *sqlstore.Tx, g *ServerGroup) error {
		i := memberIndex(*g, instanceUUID)
		if i < 0 {
			return novaError(fault.NotFound, "", "Instance %s is not a member of server group %s.", instanceUUID, id)
		}
		return placeMember(ctx, tx, g, i, host)
	})
}

// RemoveServerGroupMember takes instance out of group id; an instance
// that is not a member is no error, as in Nova.
func (s *Store) RemoveServerGroupMember(ctx context.Context, id, instanceUUID string) (ServerGroup, error) {
	return s.writeMember(ctx, id, func(tx *sqlstore.Tx, g *ServerGroup) error {
		i := memberIndex(*g, instanceUUID)
		if i < 0 {
			return errUnchanged
		}
		if _, err := tx.Exec(ctx, "DELETE FROM compute_server_group_members WHERE instance_uuid = ? AND group_id = ?", instanceUUID, id); err != nil {
			return fmt.Errorf("compute: remove member %s from server group %s: %w", instanceUUID, id, err)
		}
		g.Members = slices.Delete(g.Members, i, i+1)
		return nil
	})
}

// errUnchanged tells writeMember that nothing changed: no feed record.
var errUnchanged = errors.New("compute: server group unchanged")

// writeMember runs change on group id under its row lock and records the
// group as it is after.
func (s *Store) writeMember(ctx context.Context, id string, change func(*sqlstore.Tx, *ServerGroup) error) (ServerGroup, error) {
	var out ServerGroup
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		g, err := s.lockServerGroup(ctx, tx, id)
		if err != nil {
			return err
		}
		out = g
		if err := change(tx, &g); err != nil {
			return err // errUnchanged too: the lock's bump is rolled back
		}
		g.UpdatedAt = s.now()
		if _, err := tx.Exec(ctx, "UPDATE compute_server_groups SET updated_at = ? WHERE id = ?", g.UpdatedAt.UnixMicro(), id); err != nil {
			return fmt.Errorf("compute: update server group %s: %w", id, err)
		}
		out = g
		return s.record(ctx, tx, "server_group", g.ID, g.ProjectID, watch.Update, g)
	})
	if errors.Is(err, errUnchanged) {
		return out, nil
	}
	if err != nil {
		return ServerGroup{}, err
	}
	return out, nil
}

func memberIndex(g ServerGroup, instanceUUID string) int {
	return slices.IndexFunc(g.Members, func(m ServerGroupMember) bool { return m.InstanceUUID == instanceUUID })
}

// placeMember puts member i of g on host after the policy check; the
// caller holds the group's lock.
func placeMember(ctx context.Context, tx *sqlstore.Tx, g *ServerGroup, i int, host string) error {
	m := g.Members[i]
	if m.Host == host {
		return errUnchanged
	}
	if err := g.Check(m.InstanceUUID, host); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, "UPDATE compute_server_group_members SET host = ? WHERE instance_uuid = ?", host, m.InstanceUUID); err != nil {
		return fmt.Errorf("compute: place member %s of server group %s: %w", m.InstanceUUID, g.ID, err)
	}
	g.Members[i].Host = host
	return nil
}
