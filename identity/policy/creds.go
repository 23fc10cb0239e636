package policy

// Creds describes the caller, as Keystone's token and oslo.context's
// to_policy_values() describe it. An empty string means "not set" and is
// None in the dict view, so "domain_id:%(target.domain_id)s" behaves as in
// Keystone when both sides are unset ("None" == "None").
type Creds struct {
	UserID          string
	UserDomainID    string
	ProjectID       string
	ProjectDomainID string
	DomainID        string // set for domain-scoped tokens
	SystemScope     string // "all" for system-scoped tokens
	Roles           []string

	// IsAdmin is the caller's is_admin flag. oslo.context does not put it
	// in the policy dict; the view carries "is_admin": True only when it
	// is set, so "is_admin:True" rules work. Enforce grants nothing for it
	// by itself (Keystone's shared admin token bypass is the caller's job).
	IsAdmin bool
	// IsAdminProject is Keystone's is_admin_project token flag. Note that
	// oslo.context defaults it to True; the zero Creds has it false.
	IsAdminProject bool

	ServiceUserID          string
	ServiceUserDomainID    string
	ServiceProjectID       string
	ServiceProjectDomainID string
	ServiceRoles           []string

	// Extra holds further keys for generic checks, such as Keystone's
	// "token" (the rendered token body: "token.project.domain.id").
	// Entries named like a standard key are ignored.
	Extra map[string]any
}

// Keys of the creds dict that come from Creds fields. "system" mirrors
// system_scope, as oslo.policy's Enforcer adds it.
var standardKeys = map[string]bool{
	"user_id": true, "user_domain_id": true, "project_id": true, "project_domain_id": true,
	"domain_id": true, "system_scope": true, "system": true, "roles": true,
	"is_admin": true, "is_admin_project": true, "service_user_id": true,
	"service_user_domain_id": true, "service_project_id": true,
	"service_project_domain_id": true, "service_roles": true,
}

// Map returns the dict that oslo.policy's checks see for these creds: the
// keys of oslo.context's to_policy_values() (user_id, user_domain_id,
// system_scope, domain_id, project_id, project_domain_id, roles,
// is_admin_project, service_user_id, service_user_domain_id,
// service_project_id, service_project_domain_id, service_roles), "system"
// when system-scoped (oslo.policy copies system_scope there), "is_admin"
// when IsAdmin is set, and Extra. Unset strings are nil (Python None);
// role lists are copies and never nil.
func (c Creds) Map() map[string]any {
	m := make(map[string]any, len(standardKeys)+len(c.Extra))
	for k, v := range c.Extra {
		if !standardKeys[k] {
			m[k] = v
		}
	}
	for _, k := range stringKeys {
		m[k] = none(*c.stringField(k))
	}
	m["roles"] = append([]string{}, c.Roles...)
	m["service_roles"] = append([]string{}, c.ServiceRoles...)
	m["is_admin_project"] = c.IsAdminProject
	if c.SystemScope != "" {
		m["system"] = c.SystemScope
	}
	if c.IsAdmin {
		m["is_admin"] = true
	}
	return m
}

// Scope returns the token scope as oslo.policy derives it for scope_types
// checks: "system" when system-scoped, else "domain" when DomainID is set,
// else "project".
func (c Creds) Scope() string {
	switch {
	case c.SystemScope != "":
		return "system"
	case c.DomainID != "":
		return "domain"
	}
	return "project"
}

var stringKeys = []string{
	"user_id", "user_domain_id", "project_id", "project_domain_id", "domain_id",
	"system_scope", "service_user_id", "service_user_domain_id",
	"service_project_id", "service_project_domain_id",
}

// stringField returns the field behind a string key, or nil.
func (c *Creds) stringField(key string) *string {
	switch key {
	case "user_id":
		return &c.UserID
	case "user_domain_id":
		return &c.UserDomainID
	case "project_id":
		return &c.ProjectID
	case "project_domain_id":
		return &c.ProjectDomainID
	case "domain_id":
		return &c.DomainID
	case "system_scope":
		return &c.SystemScope
	case "service_user_id":
		return &c.ServiceUserID
	case "service_user_domain_id":
		return &c.ServiceUserDomainID
	case "service_project_id":
		return &c.ServiceProjectID
	case "service_project_domain_id":
		return &c.ServiceProjectDomainID
	}
	return nil
}

func none(s string) any {
	if s == "" {
		return nil
	}
	return s
}
