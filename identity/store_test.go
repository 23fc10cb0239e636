package identity_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gostack/gostack/identity"
	"github.com/gostack/gostack/identity/revoke"
	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func newStore(t *testing.T, dsn string) (*identity.Store, *watch.Log) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx, watch.Migrations(), identity.Migrations()); err != nil {
		t.Fatal(err)
	}
	feed := watch.New(db)
	return identity.NewStore(db, feed), feed
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func wantKind(t *testing.T, err error, k fault.Kind) {
	t.Helper()
	if fault.KindOf(err) != k {
		t.Fatalf("err = %v (kind %v), want kind %v", err, fault.KindOf(err), k)
	}
}

func TestStore(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Run("resources", func(t *testing.T) { testResources(t, e.DSN) })
			t.Run("assignments", func(t *testing.T) { testAssignments(t, e.New(t)) })
			t.Run("catalog and credentials", func(t *testing.T) { testCatalog(t, e.New(t)) })
		})
	}
}

func testResources(t *testing.T, dsn string) {
	s, feed := newStore(t, dsn)
	ctx := context.Background()
	d := must[identity.Domain](t)(s.CreateDomain(ctx, identity.Domain{ID: "default", Name: "Default", Enabled: true}))
	_, err := s.CreateDomain(ctx, identity.Domain{Name: "Default", Enabled: true})
	wantKind(t, err, fault.Conflict)
	if got := must[identity.Domain](t)(s.GetDomainByName(ctx, "Default")); got != d {
		t.Fatalf("GetDomainByName = %+v", got)
	}
	parent := must[identity.Project](t)(s.CreateProject(ctx, identity.Project{Name: "parent", DomainID: "default", Enabled: true, Tags: []string{"a", "b"}}))
	child := must[identity.Project](t)(s.CreateProject(ctx, identity.Project{Name: "child", DomainID: "default", ParentID: parent.ID, Enabled: true}))
	_, err = s.CreateProject(ctx, identity.Project{Name: "child", DomainID: "default", Enabled: true})
	wantKind(t, err, fault.Conflict)
	_, err = s.CreateProject(ctx, identity.Project{Name: "x", DomainID: "nope", Enabled: true})
	wantKind(t, err, fault.NotFound)
	if ps := must[[]identity.Project](t)(s.ListProjects(ctx, identity.ProjectFilter{Tags: []string{"b"}})); len(ps) != 1 || ps[0].ID != parent.ID {
		t.Fatalf("tag filter: %+v", ps)
	}
	if ps := must[[]identity.Project](t)(s.ListProjects(ctx, identity.ProjectFilter{ParentID: parent.ID})); len(ps) != 1 || ps[0].ID != child.ID {
		t.Fatalf("parent filter: %+v", ps)
	}
	wantKind(t, s.DeleteProject(ctx, parent.ID), fault.Forbidden) // not a leaf
	child.Description = "changed"
	must[identity.Project](t)(s.UpdateProject(ctx, child))
	if got := must[identity.Project](t)(s.GetProject(ctx, child.ID)); got.Description != "changed" {
		t.Fatalf("update lost: %+v", got)
	}
	u := must[identity.User](t)(s.CreateUser(ctx, identity.User{Name: "alice", DomainID: "default", Enabled: true, PasswordHash: "$2b$04$x"}))
	if got := must[identity.User](t)(s.GetUserByName(ctx, "default", "alice")); got.ID != u.ID || got.PasswordHash != "$2b$04$x" {
		t.Fatalf("GetUserByName = %+v", got)
	}
	g := must[identity.Group](t)(s.CreateGroup(ctx, identity.Group{Name: "devs", DomainID: "default"}))
	if err := s.AddMember(ctx, g.ID, u.ID); err != nil {
		t.Fatal(err)
	}
	if ok := must[bool](t)(s.IsMember(ctx, g.ID, u.ID)); !ok {
		t.Fatal("membership lost")
	}
	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if us := must[[]identity.User](t)(s.UsersInGroup(ctx, g.ID, 0)); len(us) != 0 {
		t.Fatalf("deleted user still in group: %+v", us)
	}
	wantKind(t, s.DeleteDomain(ctx, "default"), fault.Forbidden) // enabled
	d.Enabled = false
	must[identity.Domain](t)(s.UpdateDomain(ctx, d))
	if err := s.DeleteDomain(ctx, "default"); err != nil {
		t.Fatal(err)
	}
	if ps := must[[]identity.Project](t)(s.ListProjects(ctx, identity.ProjectFilter{})); len(ps) != 0 {
		t.Fatalf("projects outlived their domain: %+v", ps)
	}
	// Every write is in the feed, in order; password hashes are not.
	b, err := feed.Since(ctx, watch.Query{Area: "identity"})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, c := range b.Changes {
		kinds = append(kinds, string(c.Op)+" "+c.Kind)
		if c.Kind == "user" && strings.Contains(string(c.Data), "$2b$") {
			t.Fatalf("password hash in the feed: %s", c.Data)
		}
	}
	want := []string{"create domain", "create project", "create project", "update project", "create user", "create group",
		"create group_member", "delete user", "update domain", "delete domain"}
	if !slices.Equal(kinds, want) {
		t.Fatalf("feed: %v\nwant  %v", kinds, want)
	}
}

func testAssignments(t *testing.T, dsn string) {
	s, _ := newStore(t, dsn)
	ctx := context.Background()
	must[identity.Domain](t)(s.CreateDomain(ctx, identity.Domain{ID: "d1", Name: "d1", Enabled: true}))
	top := must[identity.Project](t)(s.CreateProject(ctx, identity.Project{Name: "top", DomainID: "d1", Enabled: true}))
	sub := must[identity.Project](t)(s.CreateProject(ctx, identity.Project{Name: "sub", DomainID: "d1", ParentID: top.ID, Enabled: true}))
	u := must[identity.User](t)(s.CreateUser(ctx, identity.User{Name: "u", DomainID: "d1", Enabled: true}))
	g := must[identity.Group](t)(s.CreateGroup(ctx, identity.Group{Name: "g", DomainID: "d1"}))
	if err := s.AddMember(ctx, g.ID, u.ID); err != nil {
		t.Fatal(err)
	}
	role := func(name string) identity.Role {
		return must[identity.Role](t)(s.CreateRole(ctx, identity.Role{Name: name}))
	}
	admin, member, reader, ops, audit := role("admin"), role("member"), role("reader"), role("ops"), role("audit")
	for _, p := range [][2]identity.Role{{admin, member}, {member, reader}} {
		if err := s.Imply(ctx, p[0].ID, p[1].ID); err != nil {
			t.Fatal(err)
		}
	}
	wantKind(t, s.Imply(ctx, reader.ID, admin.ID), fault.Forbidden) // cycle
	grant := func(a identity.Assignment) {
		t.Helper()
		if err := s.Grant(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	grant(identity.Assignment{ActorType: "user", ActorID: u.ID, TargetType: "project", TargetID: top.ID, RoleID: member.ID})
	grant(identity.Assignment{ActorType: "group", ActorID: g.ID, TargetType: "project", TargetID: top.ID, RoleID: ops.ID})
	grant(identity.Assignment{ActorType: "user", ActorID: u.ID, TargetType: "domain", TargetID: "d1", RoleID: audit.ID, Inherited: true})
	grant(identity.Assignment{ActorType: "group", ActorID: g.ID, TargetType: "project", TargetID: top.ID, RoleID: admin.ID, Inherited: true})
	// A group assignment whose actor id equals the user's id must not count.
	err := s.Grant(ctx, identity.Assignment{ActorType: "group", ActorID: u.ID, TargetType: "project", TargetID: top.ID, RoleID: admin.ID})
	wantKind(t, err, fault.NotFound)

	eff := func(tt, id string) []string {
		ids := must[[]string](t)(s.EffectiveRoleIDs(ctx, u.ID, tt, id))
		var names []string
		for _, id := range ids {
			names = append(names, must[identity.Role](t)(s.GetRole(ctx, id)).Name)
		}
		slices.Sort(names)
		return names
	}
	// top: member (direct) -> reader; ops (group); audit (inherited from domain).
	if got := eff("project", top.ID); !slices.Equal(got, []string{"audit", "member", "ops", "reader"}) {
		t.Fatalf("roles on top: %v", got)
	}
	// sub: audit (domain, inherited); admin -> member -> reader (inherited from top via group).
	if got := eff("project", sub.ID); !slices.Equal(got, []string{"admin", "audit", "member", "reader"}) {
		t.Fatalf("roles on sub: %v", got)
	}
	// The domain itself: the inherited assignment does not apply to it.
	if got := eff("domain", "d1"); len(got) != 0 {
		t.Fatalf("roles on the domain: %v", got)
	}
	if err := s.Revoke(ctx, identity.Assignment{ActorType: "user", ActorID: u.ID, TargetType: "project", TargetID: top.ID, RoleID: member.ID}); err != nil {
		t.Fatal(err)
	}
	if got := eff("project", top.ID); !slices.Equal(got, []string{"audit", "ops"}) {
		t.Fatalf("after revoke: %v", got)
	}
	wantKind(t, s.Revoke(ctx, identity.Assignment{ActorType: "user", ActorID: u.ID, TargetType: "project", TargetID: top.ID, RoleID: member.ID}), fault.NotFound)
	if err := s.DeleteRole(ctx, ops.ID); err != nil {
		t.Fatal(err)
	}
	if got := eff("project", top.ID); !slices.Equal(got, []string{"audit"}) {
		t.Fatalf("after deleting a role: %v", got)
	}
}

func testCatalog(t *testing.T, dsn string) {
	s, _ := newStore(t, dsn)
	ctx := context.Background()
	must[identity.Region](t)(s.CreateRegion(ctx, identity.Region{ID: "RegionOne"}))
	svc := must[identity.Service](t)(s.CreateService(ctx, identity.Service{Type: "identity", Name: "keystone", Enabled: true}))
	off := must[identity.Service](t)(s.CreateService(ctx, identity.Service{Type: "compute", Name: "nova", Enabled: false}))
	for _, iface := range []string{"public", "internal", "admin"} {
		must[identity.Endpoint](t)(s.CreateEndpoint(ctx, identity.Endpoint{ServiceID: svc.ID, Interface: iface, RegionID: "RegionOne", URL: "http://127.0.0.1:5000/v3", Enabled: true}))
	}
	must[identity.Endpoint](t)(s.CreateEndpoint(ctx, identity.Endpoint{ServiceID: off.ID, Interface: "public", URL: "http://x"}))
	_, err := s.CreateEndpoint(ctx, identity.Endpoint{ServiceID: svc.ID, Interface: "public", RegionID: "Nowhere", URL: "http://x"})
	wantKind(t, err, fault.BadRequest) // Keystone: "Expecting to find endpoint region_id in region table"
	cat := must[[]identity.CatalogEntry](t)(s.Catalog(ctx, ""))
	if len(cat) != 1 || cat[0].Service.ID != svc.ID || len(cat[0].Endpoints) != 3 {
		t.Fatalf("catalog: %+v", cat)
	}
	wantKind(t, s.DeleteRegion(ctx, "RegionOne"), fault.Forbidden) // endpoints use it
	if err := s.DeleteService(ctx, svc.ID); err != nil {
		t.Fatal(err)
	}
	if eps := must[[]identity.Endpoint](t)(s.ListEndpoints(ctx, svc.ID, "", "", 0)); len(eps) != 0 {
		t.Fatalf("endpoints outlived their service: %+v", eps)
	}

	must[identity.Domain](t)(s.CreateDomain(ctx, identity.Domain{ID: "default", Name: "Default", Enabled: true}))
	u := must[identity.User](t)(s.CreateUser(ctx, identity.User{Name: "u", DomainID: "default", Enabled: true}))
	exp := time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)
	ac := must[identity.AppCred](t)(s.CreateAppCred(ctx, identity.AppCred{Name: "ci", UserID: u.ID, ProjectID: "p", SecretHash: "h", ExpiresAt: &exp, RoleIDs: []string{"r1"}}))
	_, err = s.CreateAppCred(ctx, identity.AppCred{Name: "ci", UserID: u.ID, ProjectID: "p", SecretHash: "h"})
	wantKind(t, err, fault.Conflict)
	got := must[identity.AppCred](t)(s.GetAppCredByName(ctx, u.ID, "ci"))
	if got.ID != ac.ID || !got.ExpiresAt.Equal(exp) || !slices.Equal(got.RoleIDs, []string{"r1"}) {
		t.Fatalf("app cred: %+v", got)
	}

	now := time.Now()
	if _, err := s.AddRevocation(ctx, revoke.Event{AuditID: "a1"}, now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	old := revoke.Event{UserID: "u-old", RevokedAt: now.Add(-48 * time.Hour)}
	if _, err := s.AddRevocation(ctx, old, now.Add(-49*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddRevocation(ctx, revoke.Event{UserID: "u2"}, now.Add(-time.Hour)); err != nil { // prunes u-old
		t.Fatal(err)
	}
	evs := must[[]revoke.Event](t)(s.Revocations(ctx))
	if len(evs) != 2 || evs[0].AuditID != "a1" || evs[1].UserID != "u2" {
		t.Fatalf("revocations: %+v", evs)
	}
}
