package identity_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gostack/gostack/identity"
	"github.com/gostack/gostack/identity/fernet"
	"github.com/gostack/gostack/identity/password"
	"github.com/gostack/gostack/identity/revoke"
	"github.com/gostack/gostack/kit/fault"
)

type fixture struct {
	auth                  *identity.Auth
	s                     *identity.Store
	alice, bob            identity.User
	projA, projB          identity.Project
	admin, member, reader identity.Role
	now                   time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	s, _ := newStore(t, "sqlite://"+filepath.Join(t.TempDir(), "id.db"))
	keys, err := fernet.Setup(filepath.Join(t.TempDir(), "keys"), 3)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{s: s, now: time.Now()}
	f.auth = identity.NewAuth(s, &fernet.Formatter{Keys: keys})
	f.auth.Hasher = password.Hasher{Rounds: 4}
	f.auth.Now = func() time.Time { return f.now }
	must[identity.Domain](t)(s.CreateDomain(ctx, identity.Domain{ID: "default", Name: "Default", Enabled: true}))
	hash := func(pw string) string { return must[string](t)(f.auth.Hasher.Hash(pw)) }
	f.projA = must[identity.Project](t)(s.CreateProject(ctx, identity.Project{Name: "A", DomainID: "default", Enabled: true}))
	f.projB = must[identity.Project](t)(s.CreateProject(ctx, identity.Project{Name: "B", DomainID: "default", Enabled: true}))
	f.alice = must[identity.User](t)(s.CreateUser(ctx, identity.User{Name: "alice", DomainID: "default", Enabled: true, PasswordHash: hash("alice-pw"), DefaultProjectID: f.projA.ID}))
	f.bob = must[identity.User](t)(s.CreateUser(ctx, identity.User{Name: "bob", DomainID: "default", Enabled: true, PasswordHash: hash("bob-pw")}))
	f.admin = must[identity.Role](t)(s.CreateRole(ctx, identity.Role{Name: "admin"}))
	f.member = must[identity.Role](t)(s.CreateRole(ctx, identity.Role{Name: "member"}))
	f.reader = must[identity.Role](t)(s.CreateRole(ctx, identity.Role{Name: "reader"}))
	s.Imply(ctx, f.admin.ID, f.member.ID)
	s.Imply(ctx, f.member.ID, f.reader.ID)
	for _, a := range []identity.Assignment{
		{ActorType: "user", ActorID: f.alice.ID, TargetType: "project", TargetID: f.projA.ID, RoleID: f.member.ID},
		{ActorType: "user", ActorID: f.alice.ID, TargetType: "domain", TargetID: "default", RoleID: f.reader.ID},
		{ActorType: "user", ActorID: f.bob.ID, TargetType: "system", TargetID: "all", RoleID: f.admin.ID},
	} {
		if err := s.Grant(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func pw(name, password string, scope identity.Scope) identity.AuthRequest {
	return identity.AuthRequest{Methods: []string{"password"}, Scope: scope,
		Password: &identity.PasswordAuth{User: identity.UserRef{Name: name, DomainName: "Default"}, Password: password}}
}

func roleNames(t identity.Token) []string {
	var out []string
	for _, r := range t.Roles {
		out = append(out, r.Name)
	}
	slices.Sort(out)
	return out
}

func TestAuthenticate(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	// Project scope by name: implied roles included.
	tok := must[identity.Token](t)(f.auth.Authenticate(ctx, pw("alice", "alice-pw", identity.Scope{ProjectName: "A", ProjectDomainName: "Default"})))
	if tok.Project == nil || tok.Project.ID != f.projA.ID || !slices.Equal(roleNames(tok), []string{"member", "reader"}) {
		t.Fatalf("project token: %+v roles %v", tok.Project, roleNames(tok))
	}
	v := must[identity.Token](t)(f.auth.Validate(ctx, tok.ID))
	if v.User.ID != f.alice.ID || v.Payload.Version != fernet.ProjectScoped {
		t.Fatalf("validate: %+v", v.Payload)
	}
	// No scope: the default project. Explicitly unscoped: none.
	if tok := must[identity.Token](t)(f.auth.Authenticate(ctx, pw("alice", "alice-pw", identity.Scope{}))); tok.Project == nil {
		t.Fatal("default project not used")
	}
	if tok := must[identity.Token](t)(f.auth.Authenticate(ctx, pw("alice", "alice-pw", identity.Scope{Unscoped: true}))); tok.Project != nil || len(tok.Roles) != 0 {
		t.Fatal("unscoped token has a scope")
	}
	dom := must[identity.Token](t)(f.auth.Authenticate(ctx, pw("alice", "alice-pw", identity.Scope{DomainName: "Default"})))
	if dom.Domain == nil || !slices.Equal(roleNames(dom), []string{"reader"}) {
		t.Fatalf("domain token roles %v", roleNames(dom))
	}
	sys := must[identity.Token](t)(f.auth.Authenticate(ctx, pw("bob", "bob-pw", identity.Scope{System: true})))
	if !sys.System || !slices.Equal(roleNames(sys), []string{"admin", "member", "reader"}) {
		t.Fatalf("system token: %v", roleNames(sys))
	}
	// Failures: all 401; wrong password and unknown user say the same.
	for name, req := range map[string]identity.AuthRequest{
		"wrong password":  pw("alice", "nope", identity.Scope{}),
		"unknown user":    pw("mallory", "nope", identity.Scope{}),
		"no role on B":    pw("alice", "alice-pw", identity.Scope{ProjectID: f.projB.ID}),
		"no such project": pw("alice", "alice-pw", identity.Scope{ProjectID: "nope"}),
		"no system role":  pw("alice", "alice-pw", identity.Scope{System: true}),
		"unknown method":  {Methods: []string{"totp"}},
	} {
		_, err := f.auth.Authenticate(ctx, req)
		if fault.KindOf(err) != fault.Unauthorized {
			t.Errorf("%s: %v, want 401", name, err)
		}
	}
	_, e1 := f.auth.Authenticate(ctx, pw("alice", "nope", identity.Scope{}))
	_, e2 := f.auth.Authenticate(ctx, pw("mallory", "nope", identity.Scope{}))
	if fault.Message(e1) != fault.Message(e2) {
		t.Fatalf("wrong password and unknown user differ: %q vs %q", fault.Message(e1), fault.Message(e2))
	}
}

func TestTokenLifecycle(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	unscoped := must[identity.Token](t)(f.auth.Authenticate(ctx, pw("alice", "alice-pw", identity.Scope{Unscoped: true})))
	// Rescope with the token method: same expiry, audit chain kept.
	f.now = f.now.Add(10 * time.Minute)
	scoped := must[identity.Token](t)(f.auth.Authenticate(ctx, identity.AuthRequest{Methods: []string{"token"}, Token: unscoped.ID, Scope: identity.Scope{ProjectID: f.projA.ID}}))
	if !scoped.Payload.ExpiresAt.Equal(unscoped.Payload.ExpiresAt) || scoped.Payload.AuditIDs[1] != unscoped.Payload.AuditIDs[0] {
		t.Fatalf("rescoped: exp %v vs %v, audit %v vs %v", scoped.Payload.ExpiresAt, unscoped.Payload.ExpiresAt, scoped.Payload.AuditIDs, unscoped.Payload.AuditIDs)
	}
	// DELETE /v3/auth/tokens revokes that token only (Keystone revokes by
	// audit id): its rescoped child lives on until the chain is revoked.
	other := must[identity.Token](t)(f.auth.Authenticate(ctx, pw("alice", "alice-pw", identity.Scope{ProjectID: f.projA.ID})))
	f.now = f.now.Add(time.Second)
	if err := f.auth.RevokeToken(ctx, unscoped.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.auth.Validate(ctx, unscoped.ID); fault.KindOf(err) != fault.Unauthorized {
		t.Fatalf("revoked token: %v", err)
	}
	must[identity.Token](t)(f.auth.Validate(ctx, scoped.ID))
	if err := f.auth.Revoke(ctx, revoke.Event{AuditChainID: unscoped.Payload.AuditIDs[0]}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.auth.Validate(ctx, scoped.ID); fault.KindOf(err) != fault.Unauthorized {
		t.Fatalf("child after its chain was revoked: %v", err)
	}
	must[identity.Token](t)(f.auth.Validate(ctx, other.ID))
	// Revocations survive a reload from the store.
	fresh := identity.NewAuth(f.s, f.auth.Tokens)
	fresh.Now = f.auth.Now
	if err := fresh.LoadRevocations(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := fresh.Validate(ctx, unscoped.ID); err == nil {
		t.Fatal("revocation lost on reload")
	}
	// Losing the role, disabling the project or the user, or expiry: 401.
	checks := []func(){
		func() {
			f.s.Revoke(ctx, identity.Assignment{ActorType: "user", ActorID: f.alice.ID, TargetType: "project", TargetID: f.projA.ID, RoleID: f.member.ID})
		},
	}
	for _, change := range checks {
		change()
		if _, err := f.auth.Validate(ctx, other.ID); fault.KindOf(err) != fault.Unauthorized {
			t.Fatalf("after losing the role: %v", err)
		}
	}
	f.now = f.now.Add(2 * time.Hour)
	if _, err := f.auth.Validate(ctx, unscoped.ID); fault.KindOf(err) != fault.Unauthorized {
		t.Fatalf("expired: %v", err)
	}
	// A user-wide event revokes everything the user had.
	f.now = time.Now()
	bobTok := must[identity.Token](t)(f.auth.Authenticate(ctx, pw("bob", "bob-pw", identity.Scope{System: true})))
	f.now = f.now.Add(time.Second)
	if err := f.auth.Revoke(ctx, revoke.Event{UserID: f.bob.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.auth.Validate(ctx, bobTok.ID); err == nil {
		t.Fatal("user revocation ignored")
	}
}

func TestAppCred(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.s.Grant(ctx, identity.Assignment{ActorType: "user", ActorID: f.alice.ID, TargetType: "project", TargetID: f.projA.ID, RoleID: f.admin.ID})
	exp := f.now.Add(30 * time.Minute)
	ac := must[identity.AppCred](t)(f.s.CreateAppCred(ctx, identity.AppCred{Name: "ci", UserID: f.alice.ID, ProjectID: f.projA.ID,
		SecretHash: must[string](t)(f.auth.Hasher.Hash("s3cret")), RoleIDs: []string{f.member.ID}, ExpiresAt: &exp}))
	req := identity.AuthRequest{Methods: []string{"application_credential"}, AppCred: &identity.AppCredAuth{ID: ac.ID, Secret: "s3cret"}}
	tok := must[identity.Token](t)(f.auth.Authenticate(ctx, req))
	// Only the delegated role (and what it implies), not admin.
	if !slices.Equal(roleNames(tok), []string{"member", "reader"}) || tok.Payload.Version != fernet.ApplicationCredentialScoped {
		t.Fatalf("app cred token: roles %v version %d", roleNames(tok), tok.Payload.Version)
	}
	if !tok.Payload.ExpiresAt.Equal(exp.Truncate(time.Second)) {
		t.Fatalf("token outlives its credential: %v > %v", tok.Payload.ExpiresAt, exp)
	}
	byName := identity.AuthRequest{Methods: []string{"application_credential"},
		AppCred: &identity.AppCredAuth{Name: "ci", User: identity.UserRef{Name: "alice", DomainID: "default"}, Secret: "s3cret"}}
	must[identity.Token](t)(f.auth.Authenticate(ctx, byName))
	bad := identity.AuthRequest{Methods: []string{"application_credential"}, AppCred: &identity.AppCredAuth{ID: ac.ID, Secret: "wrong"}}
	if _, err := f.auth.Authenticate(ctx, bad); fault.KindOf(err) != fault.Unauthorized {
		t.Fatalf("wrong secret: %v", err)
	}
	if _, err := f.auth.Authenticate(ctx, identity.AuthRequest{Methods: []string{"token"}, Token: tok.ID}); fault.KindOf(err) != fault.Forbidden {
		t.Fatalf("rescoping an app cred token: %v", err)
	}
}
