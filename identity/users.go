package identity

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// ---- users ----

const userCols = "id, name, domain_id, enabled, password_hash, password_expires_at, default_project_id, description, extra, " +
	"password_created_at, password_self_service, failed_auth_count, failed_auth_at, compliance_exempt, options, created_at, last_active_at"

// scanUser reads a row of userCols. The description column is what
// gostack stored before descriptions moved to the extra column, as
// Keystone keeps them: a row written since has it empty, and an older
// row's description is read as the extra property it now is.
func scanUser(r interface{ Scan(...any) error }) (User, error) {
	var u User
	var hash, defProject sql.NullString
	var expires, created, failedAt, userCreated, lastActive sql.NullInt64
	var legacyDescription, extra, options string
	if err := r.Scan(&u.ID, &u.Name, &u.DomainID, &u.Enabled, &hash, &expires, &defProject, &legacyDescription, &extra,
		&created, &u.PasswordSelfService, &u.FailedAuths, &failedAt, &u.ComplianceExempt, &options, &userCreated, &lastActive); err != nil {
		return u, err
	}
	u.CreatedAt, u.LastActiveAt = fromMicros(userCreated), fromMicros(lastActive)
	if err := json.Unmarshal([]byte(options), &u.Options); err != nil {
		return u, fmt.Errorf("identity: user %s: options: %w", u.ID, err)
	}
	u.PasswordHash, u.DefaultProjectID = hash.String, defProject.String
	u.PasswordExpiresAt, u.PasswordCreatedAt, u.LastFailedAuth = fromMicros(expires), fromMicros(created), fromMicros(failedAt)
	if err := json.Unmarshal([]byte(extra), &u.Extra); err != nil {
		return u, fmt.Errorf("identity: user %s: extra: %w", u.ID, err)
	}
	if _, ok := u.Extra["description"]; !ok && legacyDescription != "" {
		if u.Extra == nil {
			u.Extra = map[string]json.RawMessage{}
		}
		u.Extra["description"], _ = json.Marshal(legacyDescription)
	}
	return u, nil
}

// scanUser reads a user as Keystone's model reads it: one inactive for
// Compliance.DisableUserAccountDaysInactive days is disabled (Keystone's
// enabled getter; the stored column keeps true until an update writes
// the user, and list filters on enabled read the column, as Keystone's
// SQL filter does).
func (s *Store) scanUser(r interface{ Scan(...any) error }) (User, error) {
	u, err := scanUser(r)
	if err == nil && s.Compliance.inactive(u, s.now()) {
		u.Enabled = false
	}
	return u, err
}

// extraText is the extra column's JSON object.
func extraText(extra map[string]json.RawMessage) string {
	if len(extra) == 0 {
		return "{}"
	}
	return jsonText(extra)
}

// checkDefaultProject is Keystone's _assert_default_project_id_is_not_domain:
// a user's default project may be a project that does not exist, but
// not a domain.
func (s *Store) checkDefaultProject(ctx context.Context, id string) error {
	if id == "" {
		return nil
	}
	_, err := s.GetDomain(ctx, id)
	if fault.KindOf(err) == fault.NotFound {
		return nil
	}
	if err != nil {
		return err
	}
	return fault.Invalid("user.default_project_id", "User's default project ID cannot be a domain ID: %s", id)
}

// CreateUser stores u (with its password hash, if any) in an existing domain.
func (s *Store) CreateUser(ctx context.Context, u User) (User, error) {
	if u.ID == "" {
		u.ID = NewID()
	}
	if err := first(u.Validate(), u.Options.checkMFAMethods(s.ServedMethods())); err != nil {
		return u, err
	}
	u.Name = strip(u.Name)
	if _, err := s.GetDomain(ctx, u.DomainID); err != nil {
		return u, err
	}
	if err := s.checkDefaultProject(ctx, u.DefaultProjectID); err != nil {
		return u, err
	}
	if u.PasswordHash != "" {
		s.newPassword(&u, false)
	}
	// Keystone's create_user stamps created_at, and its enabled setter
	// the activity of a user created enabled.
	now := s.now().Truncate(time.Microsecond) // as stored
	u.CreatedAt, u.LastActiveAt = &now, nil
	if u.Enabled {
		u.LastActiveAt = s.Compliance.activeToday(now)
	}
	err := s.write(ctx, "user", u.ID, watch.Create, u, func(tx *sqlstore.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO identity_users (id, name, domain_id, enabled, password_hash, password_expires_at, default_project_id, description, extra, "+
			"password_created_at, password_self_service, compliance_exempt, options, created_at, last_active_at) VALUES (?, ?, ?, ?, ?, ?, ?, '', ?, ?, ?, ?, ?, ?, ?)",
			u.ID, u.Name, u.DomainID, u.Enabled, nullString(u.PasswordHash), micros(u.PasswordExpiresAt), nullString(u.DefaultProjectID), extraText(u.Extra),
			micros(u.PasswordCreatedAt), u.PasswordSelfService, u.ComplianceExempt, jsonText(u.Options), micros(u.CreatedAt), micros(u.LastActiveAt))
		if errors.Is(err, sqlstore.ErrConflict) {
			return conflict("user", fmt.Sprintf("Duplicate entry found with name %s at domain ID %s", u.Name, u.DomainID))
		}
		return err
	})
	return u, err
}

// GetUser returns a user by id.
func (s *Store) GetUser(ctx context.Context, id string) (User, error) {
	us, err := list(ctx, s.db, "SELECT "+userCols+" FROM identity_users WHERE id = ?", []any{id}, s.scanUser)
	if err != nil {
		return User{}, err
	}
	if len(us) == 0 {
		return User{}, notFound("user", id)
	}
	return us[0], nil
}

// GetUserByName returns a user by domain and name.
func (s *Store) GetUserByName(ctx context.Context, domainID, name string) (User, error) {
	us, err := list(ctx, s.db, "SELECT "+userCols+" FROM identity_users WHERE domain_id = ? AND name = ?", []any{domainID, name}, s.scanUser)
	if err != nil {
		return User{}, err
	}
	if len(us) == 0 {
		return User{}, notFound("user", name)
	}
	return us[0], nil
}

// ListUsers returns users, filtered by domain, name and enabled when set,
// by name; limit > 0 returns only the first limit of them. The enabled
// filter reads the stored column, as Keystone's SQL filter does: a user
// read as disabled for inactivity is listed under true (identity/api
// filters what it shows instead).
func (s *Store) ListUsers(ctx context.Context, domainID, name string, enabled *bool, limit int) ([]User, error) {
	q, args := "SELECT "+userCols+" FROM identity_users WHERE 1=1", []any{}
	if domainID != "" {
		q, args = q+" AND domain_id = ?", append(args, domainID)
	}
	if name != "" {
		q, args = q+" AND name = ?", append(args, name)
	}
	if enabled != nil {
		q, args = q+" AND enabled = ?", append(args, *enabled)
	}
	q, args = limited(q+" ORDER BY name, id", args, limit)
	return list(ctx, s.db, q, args, s.scanUser)
}

// UpdateUser stores u's mutable fields, the password hash and the
// options included. Its domain cannot change. An update that leaves u
// enabled unlocks them and, while DisableUserAccountDaysInactive is on,
// counts as their activity today (Keystone's enabled setter); one that
// leaves a user read as disabled for inactivity stores them disabled.
func (s *Store) UpdateUser(ctx context.Context, u User) (User, error) {
	return s.updateUser(ctx, nil, u)
}

// ErrUserChanged is UpdateUserFrom's answer when the stored user is no
// longer the one the change was made to.
var ErrUserChanged = &fault.Error{Kind: fault.Conflict, Message: "The user was changed by another request meanwhile; try again."}

// UpdateUserFrom is UpdateUser for u made by changing base, the user as
// the caller read it: when another update came between (the stored user
// is no longer base), nothing is written and the error is
// ErrUserChanged, so that the caller reads the user and applies its
// change again instead of putting back what the other update changed
// (Keystone's update_user merges a PATCH in one write session).
func (s *Store) UpdateUserFrom(ctx context.Context, base, u User) (User, error) {
	return s.updateUser(ctx, &base, u)
}

func (s *Store) updateUser(ctx context.Context, base *User, u User) (User, error) {
	if err := first(u.Validate(), u.Options.checkMFAMethods(s.ServedMethods())); err != nil {
		return u, err
	}
	u.Name = strip(u.Name)
	old, err := s.GetUser(ctx, u.ID)
	if err != nil {
		return u, err
	}
	if u.DomainID != old.DomainID {
		return u, fault.Invalid("user.domain_id", "Cannot change Domain ID")
	}
	if u.DefaultProjectID != old.DefaultProjectID {
		if err := s.checkDefaultProject(ctx, u.DefaultProjectID); err != nil {
			return u, err
		}
	}
	newPassword := u.PasswordHash != old.PasswordHash
	if newPassword {
		s.newPassword(&u, false)
	}
	var active *time.Time // the activity this update stamps, if any
	if u.Enabled {
		// Keystone's enabled setter: an update that leaves a user enabled
		// unlocks them, and is their activity today.
		u.FailedAuths, u.LastFailedAuth = 0, nil
		if active = s.Compliance.activeToday(s.now()); active != nil {
			u.LastActiveAt = active
		}
	}
	err = s.write(ctx, "user", u.ID, watch.Update, u, func(tx *sqlstore.Tx) error {
		if base != nil {
			cur, err := s.lockedUser(ctx, tx, u.ID)
			if err != nil {
				return err
			}
			if !reflect.DeepEqual(cur, *base) {
				return ErrUserChanged
			}
		}
		if newPassword {
			if err := s.keepPassword(ctx, tx, old); err != nil {
				return err
			}
		}
		res, err := tx.Exec(ctx, "UPDATE identity_users SET name = ?, enabled = ?, password_hash = ?, password_expires_at = ?, default_project_id = ?, description = '', extra = ?, "+
			"password_created_at = ?, password_self_service = ?, failed_auth_count = ?, failed_auth_at = ?, compliance_exempt = ?, options = ?, "+
			"last_active_at = COALESCE(?, last_active_at) WHERE id = ?",
			u.Name, u.Enabled, nullString(u.PasswordHash), micros(u.PasswordExpiresAt), nullString(u.DefaultProjectID), extraText(u.Extra),
			micros(u.PasswordCreatedAt), u.PasswordSelfService, u.FailedAuths, micros(u.LastFailedAuth), u.ComplianceExempt, jsonText(u.Options),
			micros(active), u.ID)
		if errors.Is(err, sqlstore.ErrConflict) {
			return conflict("user", fmt.Sprintf("Duplicate entry found with name %s at domain ID %s", u.Name, u.DomainID))
		}
		if err != nil {
			return err
		}
		return affected(res, "user", u.ID)
	})
	return u, err
}

// DeleteUser deletes a user with its memberships, assignments,
// application credentials and credentials.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	return s.write(ctx, "user", id, watch.Delete, nil, func(tx *sqlstore.Tx) error {
		if _, err := tx.Exec(ctx, "DELETE FROM identity_assignments WHERE actor_type = 'user' AND actor_id = ?", id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM identity_credentials WHERE user_id = ?", id); err != nil {
			return err
		}
		// Keystone's trust callback: the user's trusts, as trustor or
		// trustee, go with them.
		if _, err := tx.Exec(ctx, "DELETE FROM identity_trusts WHERE trustor_user_id = ? OR trustee_user_id = ?", id, id); err != nil {
			return err
		}
		res, err := tx.Exec(ctx, "DELETE FROM identity_users WHERE id = ?", id)
		if err != nil {
			return err
		}
		return affected(res, "user", id)
	})
}

// ---- groups ----

func scanGroup(r interface{ Scan(...any) error }) (Group, error) {
	var g Group
	err := r.Scan(&g.ID, &g.Name, &g.DomainID, &g.Description)
	return g, err
}

// CreateGroup stores g in an existing domain.
func (s *Store) CreateGroup(ctx context.Context, g Group) (Group, error) {
	if g.ID == "" {
		g.ID = NewID()
	}
	if err := g.Validate(); err != nil {
		return g, err
	}
	g.Name = strip(g.Name)
	if _, err := s.GetDomain(ctx, g.DomainID); err != nil {
		return g, err
	}
	err := s.write(ctx, "group", g.ID, watch.Create, g, func(tx *sqlstore.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO identity_groups (id, name, domain_id, description) VALUES (?, ?, ?, ?)", g.ID, g.Name, g.DomainID, g.Description)
		if errors.Is(err, sqlstore.ErrConflict) {
			return conflict("group", fmt.Sprintf("Duplicate entry found with name %s at domain ID %s", g.Name, g.DomainID))
		}
		return err
	})
	return g, err
}

// GetGroup returns a group by id.
func (s *Store) GetGroup(ctx context.Context, id string) (Group, error) {
	gs, err := list(ctx, s.db, "SELECT id, name, domain_id, description FROM identity_groups WHERE id = ?", []any{id}, scanGroup)
	if err != nil {
		return Group{}, err
	}
	if len(gs) == 0 {
		return Group{}, notFound("group", id)
	}
	return gs[0], nil
}

// ListGroups returns groups, filtered by domain and name when set, by
// name; limit > 0 returns only the first limit of them.
func (s *Store) ListGroups(ctx context.Context, domainID, name string, limit int) ([]Group, error) {
	q, args := "SELECT id, name, domain_id, description FROM identity_groups WHERE 1=1", []any{}
	if domainID != "" {
		q, args = q+" AND domain_id = ?", append(args, domainID)
	}
	if name != "" {
		q, args = q+" AND name = ?", append(args, name)
	}
	q, args = limited(q+" ORDER BY name, id", args, limit)
	return list(ctx, s.db, q, args, scanGroup)
}

// UpdateGroup stores g's name and description. Its domain cannot change.
func (s *Store) UpdateGroup(ctx context.Context, g Group) (Group, error) {
	if err := g.Validate(); err != nil {
		return g, err
	}
	g.Name = strip(g.Name)
	old, err := s.GetGroup(ctx, g.ID)
	if err != nil {
		return g, err
	}
	if g.DomainID != old.DomainID {
		return g, fault.Invalid("group.domain_id", "Cannot change Domain ID")
	}
	err = s.write(ctx, "group", g.ID, watch.Update, g, func(tx *sqlstore.Tx) error {
		res, err := tx.Exec(ctx, "UPDATE identity_groups SET name = ?, description = ? WHERE id = ?", g.Name, g.Description, g.ID)
		if errors.Is(err, sqlstore.ErrConflict) {
			return conflict("group", fmt.Sprintf("Duplicate entry found with name %s at domain ID %s", g.Name, g.DomainID))
		}
		if err != nil {
			return err
		}
		return affected(res, "group", g.ID)
	})
	return g, err
}

// DeleteGroup deletes a group, its memberships and assignments.
func (s *Store) DeleteGroup(ctx context.Context, id string) error {
	return s.write(ctx, "group", id, watch.Delete, nil, func(tx *sqlstore.Tx) error {
		if _, err := tx.Exec(ctx, "DELETE FROM identity_assignments WHERE actor_type = 'group' AND actor_id = ?", id); err != nil {
			return err
		}
		res, err := tx.Exec(ctx, "DELETE FROM identity_groups WHERE id = ?", id)
		if err != nil {
			return err
		}
		return affected(res, "group", id)
	})
}

// AddMember puts a user in a group (idempotent).
func (s *Store) AddMember(ctx context.Context, groupID, userID string) error {
	if _, err := s.GetGroup(ctx, groupID); err != nil {
		return err
	}
	if _, err := s.GetUser(ctx, userID); err != nil {
		return err
	}
	return s.write(ctx, "group_member", groupID+":"+userID, watch.Create, map[string]string{"group_id": groupID, "user_id": userID}, func(tx *sqlstore.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO identity_group_members (group_id, user_id) VALUES (?, ?) ON CONFLICT DO NOTHING", groupID, userID)
		return err
	})
}

// RemoveMember takes a user out of a group.
func (s *Store) RemoveMember(ctx context.Context, groupID, userID string) error {
	return s.write(ctx, "group_member", groupID+":"+userID, watch.Delete, nil, func(tx *sqlstore.Tx) error {
		res, err := tx.Exec(ctx, "DELETE FROM identity_group_members WHERE group_id = ? AND user_id = ?", groupID, userID)
		if err != nil {
			return err
		}
		return affected(res, "user in group", userID)
	})
}

// IsMember reports whether the user is in the group.
func (s *Store) IsMember(ctx context.Context, groupID, userID string) (bool, error) {
	var n int
	err := s.db.Get(ctx, "SELECT COUNT(*) FROM identity_group_members WHERE group_id = ? AND user_id = ?", []any{groupID, userID}, &n)
	return n > 0, err
}

// GroupsOfUser lists the groups a user is in, by name; limit > 0 returns
// only the first limit of them.
func (s *Store) GroupsOfUser(ctx context.Context, userID string, limit int) ([]Group, error) {
	q, args := limited("SELECT g.id, g.name, g.domain_id, g.description FROM identity_groups g JOIN identity_group_members m ON m.group_id = g.id WHERE m.user_id = ? ORDER BY g.name, g.id", []any{userID}, limit)
	return list(ctx, s.db, q, args, scanGroup)
}

// UsersInGroup lists a group's members, by name; limit > 0 returns only
// the first limit of them.
func (s *Store) UsersInGroup(ctx context.Context, groupID string, limit int) ([]User, error) {
	q, args := limited("SELECT "+prefixed("u.", userCols)+" FROM identity_users u JOIN identity_group_members m ON m.user_id = u.id WHERE m.group_id = ? ORDER BY u.name, u.id", []any{groupID}, limit)
	return list(ctx, s.db, q, args, s.scanUser)
}

// prefixed qualifies each column of a column list with a table alias.
func prefixed(alias, cols string) string {
	parts := strings.Split(cols, ", ")
	for i, c := range parts {
		parts[i] = alias + c
	}
	return strings.Join(parts, ", ")
}

// fromMicros reads a time column (micros since the epoch, NULL for none).
func fromMicros(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := time.UnixMicro(v.Int64).UTC()
	return &t
}

func micros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMicro()
}

// Clone is a copy of u that shares nothing with it (its extra
// properties, times and options copied), so that one may be changed and
// the other still compared with the store (UpdateUserFrom).
func (u User) Clone() User {
	c := u
	c.Extra = maps.Clone(u.Extra)
	for _, t := range []**time.Time{&c.PasswordExpiresAt, &c.PasswordCreatedAt, &c.LastFailedAuth, &c.CreatedAt, &c.LastActiveAt} {
		if *t != nil {
			v := **t
			*t = &v
		}
	}
	for _, name := range UserOptionNames {
		if b := c.Options.Bool(name); b != nil && *b != nil {
			v := **b
			*b = &v
		}
	}
	if r := u.Options.MultiFactorAuthRules; r != nil {
		rules := make([][]string, len(*r))
		for i, rule := range *r {
			rules[i] = slices.Clone(rule)
		}
		c.Options.MultiFactorAuthRules = &rules
	}
	return c
}

// lockedUser reads user id in write transaction tx, locked until it ends
// (FOR UPDATE on PostgreSQL; SQLite's write transaction already holds the
// lock), so that what a write checks is what it changes.
func (s *Store) lockedUser(ctx context.Context, tx *sqlstore.Tx, id string) (User, error) {
	q := "SELECT " + userCols + " FROM identity_users WHERE id = ?"
	if tx.Dialect() == sqlstore.Postgres {
		q += " FOR UPDATE"
	}
	rows, err := tx.Query(ctx, q, id)
	if err != nil {
		return User{}, err
	}
	cur, err := collect(rows, s.scanUser)
	if err != nil {
		return User{}, err
	}
	if len(cur) == 0 {
		return User{}, notFound("user", id)
	}
	return cur[0], nil
}
