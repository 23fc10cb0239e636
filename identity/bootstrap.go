package identity

import (
	"context"
	"fmt"

	"github.com/gostack/gostack/identity/password"
	"github.com/gostack/gostack/kit/fault"
)

// BootstrapConfig is keystone-manage bootstrap's arguments.
type BootstrapConfig struct {
	AdminUser, AdminPassword, AdminProject, AdminRole string // defaults: admin, -, admin, admin
	Region                                            string // default RegionOne
	// PublicURL, InternalURL, AdminURL are the identity endpoints
	// (e.g. http://127.0.0.1:5000/v3); empty ones are not created.
	PublicURL, InternalURL, AdminURL string
}

// Bootstrap does what keystone-manage bootstrap does, and like it may run
// again at every start: the default domain; the reader, member and admin
// roles with admin implying member implying reader; the admin project and
// user (re-enabled and its password reset if they differ; exempt from
// lockout and password expiry, User.ComplianceExempt); admin on the
// project and on the system; the region; the identity service and its
// endpoints. It returns the admin user.
func Bootstrap(ctx context.Context, s *Store, h password.Hasher, c BootstrapConfig) (User, error) {
	def := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	def(&c.AdminUser, "admin")
	def(&c.AdminProject, "admin")
	def(&c.AdminRole, "admin")
	def(&c.Region, "RegionOne")
	if c.AdminPassword == "" {
		return User{}, fmt.Errorf("identity: bootstrap: an admin password is required")
	}
	b := bootstrapper{ctx: ctx, s: s}
	b.domain()
	project := b.project(c.AdminProject)
	user := b.user(h, c.AdminUser, c.AdminPassword)
	reader, member := b.role("reader"), b.role("member")
	admin := b.role(c.AdminRole)
	b.imply(member, reader)
	b.imply(admin, member)
	b.grant(Assignment{ActorType: ActorUser, ActorID: user.ID, TargetType: TargetProject, TargetID: project.ID, RoleID: admin.ID})
	b.grant(Assignment{ActorType: ActorUser, ActorID: user.ID, TargetType: TargetSystem, TargetID: "all", RoleID: admin.ID})
	b.region(c.Region)
	b.catalog(c)
	if b.err != nil {
		return User{}, fmt.Errorf("identity: bootstrap: %w", b.err)
	}
	return user, nil
}

// bootstrapper runs steps until one fails.
type bootstrapper struct {
	ctx context.Context
	s   *Store
	err error
}

func (b *bootstrapper) ok(err error) bool {
	if b.err == nil && err != nil {
		b.err = err
	}
	return b.err == nil
}

func missing(err error) bool { return fault.KindOf(err) == fault.NotFound }

func (b *bootstrapper) domain() {
	if _, err := b.s.GetDomain(b.ctx, DefaultDomainID); missing(err) {
		_, err = b.s.CreateDomain(b.ctx, Domain{ID: DefaultDomainID, Name: "Default", Description: "The default domain", Enabled: true})
		b.ok(err)
	} else {
		b.ok(err)
	}
}

func (b *bootstrapper) project(name string) Project {
	if b.err != nil {
		return Project{}
	}
	p, err := b.s.GetProjectByName(b.ctx, DefaultDomainID, name)
	if missing(err) {
		p, err = b.s.CreateProject(b.ctx, Project{Name: name, DomainID: DefaultDomainID, Description: "Bootstrap project for initializing the cloud.", Enabled: true})
	}
	b.ok(err)
	return p
}

func (b *bootstrapper) user(h password.Hasher, name, pw string) User {
	if b.err != nil {
		return User{}
	}
	u, err := b.s.GetUserByName(b.ctx, DefaultDomainID, name)
	if missing(err) {
		hash, herr := h.Hash(pw)
		if !b.ok(herr) {
			return u
		}
		u, err = b.s.CreateUser(b.ctx, User{Name: name, DomainID: DefaultDomainID, Enabled: true, PasswordHash: hash, ComplianceExempt: true})
		b.ok(err)
		return u
	}
	if !b.ok(err) {
		return u
	}
	same, _ := h.Verify(pw, u.PasswordHash)
	if !same || !u.Enabled || !u.ComplianceExempt {
		u.ComplianceExempt = true // gostack's own users: never locked out, never expired
		if !same {
			hash, herr := h.Hash(pw)
			if !b.ok(herr) {
				return u
			}
			u.PasswordHash = hash
		}
		u.Enabled = true
		u, err = b.s.UpdateUser(b.ctx, u)
		b.ok(err)
	}
	return u
}

func (b *bootstrapper) role(name string) Role {
	if b.err != nil {
		return Role{}
	}
	r, err := b.s.GetRoleByName(b.ctx, "", name)
	if missing(err) {
		r, err = b.s.CreateRole(b.ctx, Role{Name: name})
	}
	b.ok(err)
	return r
}

func (b *bootstrapper) imply(prior, implied Role) {
	if b.err == nil {
		b.ok(b.s.Imply(b.ctx, prior.ID, implied.ID))
	}
}

func (b *bootstrapper) grant(a Assignment) {
	if b.err == nil {
		b.ok(b.s.Grant(b.ctx, a))
	}
}

func (b *bootstrapper) region(id string) {
	if b.err != nil {
		return
	}
	if _, err := b.s.GetRegion(b.ctx, id); missing(err) {
		_, err = b.s.CreateRegion(b.ctx, Region{ID: id})
		b.ok(err)
	}
}

func (b *bootstrapper) catalog(c BootstrapConfig) {
	if b.err != nil {
		return
	}
	b.ok(EnsureService(b.ctx, b.s, c.Region, "identity", "keystone",
		map[string]string{"public": c.PublicURL, "internal": c.InternalURL, "admin": c.AdminURL}))
}

// EnsureService makes the catalog hold a service of type typ (created as
// name if missing) with one endpoint per interface of urls ("public",
// "internal", "admin") in region, pointing at the URL given; empty URLs
// are skipped. Other services' daemons call it at every start, as
// keystone-manage bootstrap does for identity, so it may run repeatedly.
func EnsureService(ctx context.Context, s *Store, region, typ, name string, urls map[string]string) error {
	svcs, err := s.ListServices(ctx, typ, "", 0)
	if err != nil {
		return err
	}
	var svc Service
	if len(svcs) > 0 {
		svc = svcs[0]
	} else if svc, err = s.CreateService(ctx, Service{Type: typ, Name: name, Enabled: true}); err != nil {
		return err
	}
	for iface, url := range urls {
		if url == "" {
			continue
		}
		eps, err := s.ListEndpoints(ctx, svc.ID, iface, region, 0)
		if err != nil {
			return err
		}
		if len(eps) == 0 {
			_, err = s.CreateEndpoint(ctx, Endpoint{ServiceID: svc.ID, Interface: iface, RegionID: region, URL: url, Enabled: true})
		} else if eps[0].URL != url {
			eps[0].URL = url
			_, err = s.UpdateEndpoint(ctx, eps[0])
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// ServiceProject and ServiceRole are where OpenStack's services keep
// their users: the "service" project, and the "service" role on it.
const (
	ServiceProject = "service"
	ServiceRole    = "service"
)

// EnsureServiceUser makes name a service user, as a deployment tool does
// for each OpenStack service: a user of the Default domain with password
// pw (reset if it differs, re-enabled if disabled, exempt from lockout
// and password expiry) holding the service role on the service project,
// both created if missing. Like Bootstrap, it may run at every start.
func EnsureServiceUser(ctx context.Context, s *Store, h password.Hasher, name, pw string) (User, error) {
	if name == "" || pw == "" {
		return User{}, fmt.Errorf("identity: service user: a name and a password are required")
	}
	b := bootstrapper{ctx: ctx, s: s}
	b.domain()
	project := b.project(ServiceProject)
	user := b.user(h, name, pw)
	role := b.role(ServiceRole)
	b.grant(Assignment{ActorType: ActorUser, ActorID: user.ID, TargetType: TargetProject, TargetID: project.ID, RoleID: role.ID})
	if b.err != nil {
		return User{}, fmt.Errorf("identity: service user %s: %w", name, b.err)
	}
	return user, nil
}
