package identity

import (
	"encoding/json"
	"slices"
	"time"
)

// DefaultDomainID is the id of the domain every deployment has.
const DefaultDomainID = "default"

// Domain is a Keystone domain.
type Domain struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Enabled     bool   `json:"enabled"`
}

// Project is a Keystone project.
//
// IsDomain marks a domain seen as a project: Keystone keeps each domain
// as a project "acting as a domain", with no domain and no parent, and
// serves it under /v3/projects too. gostack keeps domains apart
// (Domain); Domain.AsProject is this view of one, and the store's
// project calls take it where Keystone's do (GetProjectOrDomain,
// CreateProject, UpdateProject, DeleteProject, ListProjects).
type Project struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	DomainID    string   `json:"domain_id"`
	ParentID    string   `json:"parent_id,omitempty"` // "" for a top-level project (Keystone shows the domain id)
	Description string   `json:"description"`
	Enabled     bool     `json:"enabled"`
	Tags        []string `json:"tags"`
	IsDomain    bool     `json:"is_domain,omitempty"`
}

// AsProject is d as Keystone's project acting as a domain: no domain, no
// parent, no tags.
func (d Domain) AsProject() Project {
	return Project{ID: d.ID, Name: d.Name, Description: d.Description, Enabled: d.Enabled, Tags: []string{}, IsDomain: true}
}

// domain is the domain a project acting as a domain stands for.
func (p Project) domain() Domain {
	return Domain{ID: p.ID, Name: p.Name, Description: p.Description, Enabled: p.Enabled}
}

// User is a Keystone user. PasswordHash never leaves the store layer in
// API responses.
//
// Extra holds what Keystone keeps in a user's "extra" column: every
// top-level member of the user's JSON that is none of its attributes
// (description, email or any other name), each a JSON value, null
// included. Keystone shows them at the top level of the user.
type User struct {
	ID                string                     `json:"id"`
	Name              string                     `json:"name"`
	DomainID          string                     `json:"domain_id"`
	Enabled           bool                       `json:"enabled"`
	DefaultProjectID  string                     `json:"default_project_id,omitempty"`
	PasswordExpiresAt *time.Time                 `json:"password_expires_at"`
	PasswordHash      string                     `json:"-"`
	Extra             map[string]json.RawMessage `json:"extra,omitempty"`
	// Options are Keystone's user options, stored and shown.
	Options UserOptions `json:"options"`

	// Password bookkeeping for Keystone's security compliance, never
	// shown and never in the feed: when the password was set, whether
	// its user set it (a self-service change, from which
	// minimum_password_age counts), and the failed password
	// authentications since the last success (lockout).
	PasswordCreatedAt   *time.Time `json:"-"`
	PasswordSelfService bool       `json:"-"`
	FailedAuths         int        `json:"-"`
	LastFailedAuth      *time.Time `json:"-"`
	// ComplianceExempt users are never locked out, never disabled for
	// inactivity and their passwords never expire: the users gostack
	// manages itself (the bootstrap admin, the service users), as a
	// deployer exempts them in Keystone with the ignore_* user options.
	ComplianceExempt bool `json:"-"`
	// CreatedAt is when the user was created (nil for users stored before
	// gostack kept it) and LastActiveAt the UTC date (its midnight) of
	// their last activity, Keystone's last_active_at: a successful
	// password authentication, or an update that left them enabled, while
	// Compliance.DisableUserAccountDaysInactive is on. Never shown; an
	// authentication stamps it outside the feed (Store.RecordActive).
	CreatedAt    *time.Time `json:"-"`
	LastActiveAt *time.Time `json:"-"`
}

// userAttributes are the members of a user's JSON that are not extra:
// Keystone's User.attributes, and what its API takes out of the body
// before the rest goes to the extra column (options, federated, and
// "extra" itself, which it drops). "links" is the API's own.
var userAttributes = []string{"id", "name", "domain_id", "password", "enabled", "default_project_id",
	"password_expires_at", "options", "federated", "extra", "links"}

// IsUserAttribute reports whether a member of a user's JSON is one of
// its attributes rather than an extra property.
func IsUserAttribute(name string) bool { return slices.Contains(userAttributes, name) }

// Group is a Keystone group.
type Group struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	DomainID    string `json:"domain_id"`
	Description string `json:"description"`
}

// Role is a Keystone role; DomainID is "" for a global role.
type Role struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	DomainID    string `json:"domain_id,omitempty"`
	Description string `json:"description,omitempty"`
}

// Actor and target kinds of an assignment.
const (
	ActorUser     = "user"
	ActorGroup    = "group"
	TargetProject = "project"
	TargetDomain  = "domain"
	TargetSystem  = "system" // target id "all"
)

// Assignment grants a role to a user or group on a project, a domain or
// the system. Inherited assignments on a domain apply to its projects, on
// a project to its subprojects, and not to the target itself.
type Assignment struct {
	ActorType  string `json:"actor_type"`
	ActorID    string `json:"actor_id"`
	TargetType string `json:"target_type"`
	TargetID   string `json:"target_id"`
	RoleID     string `json:"role_id"`
	Inherited  bool   `json:"inherited"`
}

// Region, Service and Endpoint make the catalog.
type Region struct {
	ID             string `json:"id"`
	Description    string `json:"description"`
	ParentRegionID string `json:"parent_region_id,omitempty"`
}

// Service is a catalog service.
type Service struct {
	ID          string `json:"id"`
	Type        string `json:"type"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Enabled     bool   `json:"enabled"`
}

// Endpoint is one URL of a service.
type Endpoint struct {
	ID        string `json:"id"`
	ServiceID string `json:"service_id"`
	Interface string `json:"interface"` // public, internal or admin
	RegionID  string `json:"region_id,omitempty"`
	URL       string `json:"url"`
	Enabled   bool   `json:"enabled"`
}

// AppCred is an application credential: a secret a user delegates a subset
// of their roles on one project to.
type AppCred struct {
	ID           string     `json:"id"`
	Name         string     `json:"name"`
	UserID       string     `json:"user_id"`
	ProjectID    string     `json:"project_id"`
	Description  string     `json:"description"`
	ExpiresAt    *time.Time `json:"expires_at"`
	Unrestricted bool       `json:"unrestricted"`
	RoleIDs      []string   `json:"role_ids"`
	SecretHash   string     `json:"-"`
}
