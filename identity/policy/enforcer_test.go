package policy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gostack/gostack/kit/fault"
)

func keystoneEnforcer(t testing.TB) *Enforcer {
	t.Helper()
	e := New()
	if err := e.Register(KeystoneDefaults()...); err != nil {
		t.Fatalf("Register(KeystoneDefaults()): %v", err)
	}
	return e
}

func TestEnforceKeystone(t *testing.T) {
	e := keystoneEnforcer(t)
	systemReader := Creds{UserID: "u1", SystemScope: "all", Roles: []string{"Reader"}}
	domainReader := Creds{UserID: "u2", DomainID: "d1", Roles: []string{"reader"}}
	projectMember := Creds{UserID: "u3", ProjectID: "p1", ProjectDomainID: "d1", Roles: []string{"member", "reader"}}
	admin := Creds{UserID: "u4", ProjectID: "p9", Roles: []string{"ADMIN"}}
	project := Flatten("target", map[string]any{"project": map[string]any{"id": "p1", "domain_id": "d1"}})
	tests := []struct {
		name   string
		rule   string
		target map[string]any
		creds  Creds
		allow  bool
	}{
		{"admin lists projects", "identity:list_projects", nil, admin, true},
		{"system reader lists projects", "identity:list_projects", nil, systemReader, true},
		{"domain reader lists own domain", "identity:list_projects", map[string]any{"target.domain_id": "d1"}, domainReader, true},
		{"domain reader other domain", "identity:list_projects", map[string]any{"target.domain_id": "d2"}, domainReader, false},
		{"member cannot list projects", "identity:list_projects", map[string]any{"target.domain_id": "d1"}, projectMember, false},
		{"member gets own project", "identity:get_project", project, projectMember, true},
		{"member cannot create project", "identity:create_project", project, projectMember, false},
		{"role assignments need a domain", "identity:list_role_assignments", map[string]any{"target.domain_id": nil}, Creds{Roles: []string{"reader"}}, false},
		{"token subject validates own token", "identity:validate_token", map[string]any{"target.token.user_id": "u3"}, projectMember, true},
		{"other user's token", "identity:validate_token", map[string]any{"target.token.user_id": "u9"}, projectMember, false},
		{"service validates tokens", "identity:validate_token", nil, Creds{Roles: []string{"service"}}, true},
		{"catalog is open", "identity:get_auth_catalog", nil, Creds{}, true},
		{"owner creates app cred", "identity:create_application_credential", map[string]any{"user_id": "u3"}, projectMember, true},
		{"token path check", "identity:get_domain", map[string]any{"target.domain.id": "d1"},
			Creds{Extra: map[string]any{"token": map[string]any{"project": map[string]any{"domain": map[string]any{"id": "d1"}}}}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := e.Enforce(context.Background(), tt.rule, tt.target, tt.creds)
			if tt.allow {
				if err != nil {
					t.Fatalf("Enforce = %v, want allowed", err)
				}
				return
			}
			if fault.KindOf(err) != fault.Forbidden {
				t.Fatalf("Enforce = %v (kind %v), want Forbidden", err, fault.KindOf(err))
			}
			want := "You are not authorized to perform the requested action: " + tt.rule + "."
			if got := fault.Message(err); got != want {
				t.Fatalf("message = %q, want %q", got, want)
			}
		})
	}
}

func TestEnforceErrors(t *testing.T) {
	ctx := context.Background()
	e := New()
	if err := e.Register(Rule{Name: "cycle", Check: "rule:a"}, Rule{Name: "a", Check: "rule:cycle"},
		Rule{Name: "bad_path", Check: "role:x or roles.name:y"}); err != nil {
		t.Fatal(err)
	}
	t.Run("unregistered", func(t *testing.T) {
		err := e.Enforce(ctx, "identity:nope", nil, Creds{})
		if fault.KindOf(err) != fault.Internal || !errors.Is(err, ErrNotRegistered) {
			t.Fatalf("Enforce = %v, want Internal wrapping ErrNotRegistered", err)
		}
	})
	t.Run("zero enforcer", func(t *testing.T) {
		var z Enforcer
		if err := z.Enforce(ctx, "x", nil, Creds{}); !errors.Is(err, ErrNotRegistered) {
			t.Fatalf("Enforce = %v, want ErrNotRegistered", err)
		}
	})
	for _, rule := range []string{"cycle", "bad_path"} {
		t.Run(rule+" fails closed", func(t *testing.T) {
			err := e.Enforce(ctx, rule, nil, Creds{Roles: []string{"member"}})
			var fe *fault.Error
			if !errors.As(err, &fe) || fe.Kind != fault.Forbidden || fe.Err == nil {
				t.Fatalf("Enforce = %#v, want Forbidden with a cause", err)
			}
		})
	}
}

func TestRegister(t *testing.T) {
	tests := []struct {
		name  string
		rules []Rule
		want  string // substring of the error; "" for success
	}{
		{"ok", []Rule{{Name: "a", Check: "role:x"}, {Name: "b", Check: ""}}, ""},
		{"duplicate in batch", []Rule{{Name: "a"}, {Name: "a"}}, "already registered"},
		{"duplicate of earlier", []Rule{{Name: "first"}}, "already registered"},
		{"no name", []Rule{{Check: "@"}}, "no name"},
		{"bad syntax", []Rule{{Name: "a", Check: "role:x and"}}, "does not reduce"},
		{"no colon", []Rule{{Name: "a", Check: "admin"}}, "no ':'"},
		{"http", []Rule{{Name: "a", Check: "http://x"}}, "not supported"},
		{"bad kind", []Rule{{Name: "a", Check: "1abc:x"}}, "neither a Python literal"},
		{"bad format", []Rule{{Name: "a", Check: "a:%(x)d"}}, "conversions are supported"},
		{"scope types", []Rule{{Name: "a", ScopeTypes: []string{"system", "system"}}}, "unique"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := New()
			if err := e.Register(Rule{Name: "first"}); err != nil {
				t.Fatal(err)
			}
			err := e.Register(tt.rules...)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Register = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Register = %v, want error containing %q", err, tt.want)
			}
			if len(e.Rules()) != 1 {
				t.Fatalf("a failed Register added rules: %v", e.Rules())
			}
		})
	}
	if err := New().Register(Rule{Name: "a"}, Rule{Name: "a"}); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("duplicate: %v, want ErrDuplicate", err)
	}
}

func TestLoad(t *testing.T) {
	ctx := context.Background()
	member := Creds{Roles: []string{"member"}}
	tests := []struct {
		name    string
		doc     string
		allow   map[string]bool // rule -> allowed for member
		wantErr string
	}{
		{"yaml override", "identity:a: 'role:member'\n", map[string]bool{"identity:a": true, "identity:b": false}, ""},
		{"json override", `{"identity:b": "role:member or rule:custom", "custom": "!"}`, map[string]bool{"identity:a": false, "identity:b": true}, ""},
		{"list of lists", `{"identity:a": [["role:x"], ["role:member", "@"]]}`, map[string]bool{"identity:a": true}, ""},
		{"null is true", "identity:a:\n", map[string]bool{"identity:a": true}, ""},
		{"empty document", "", map[string]bool{"identity:a": false, "identity:b": false}, ""},
		{"default rule", "default: 'role:member'\nidentity:a: 'rule:missing'\n", map[string]bool{"identity:a": true}, ""},
		{"bad rule fails closed", "identity:a: 'role:member or'\nidentity:b: 'role:member'\n", map[string]bool{"identity:a": false, "identity:b": true}, `rule "identity:a"`},
		{"wrong type fails closed", "identity:a: 3\n", map[string]bool{"identity:a": false}, "must be a string"},
		{"http reported", "identity:a: 'http://example.com or role:member'\n", map[string]bool{"identity:a": true}, "not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := New()
			if err := e.Register(Rule{Name: "identity:a", Check: "role:admin"}, Rule{Name: "identity:b", Check: "!"}); err != nil {
				t.Fatal(err)
			}
			err := e.Load([]byte(tt.doc))
			if (err != nil) != (tt.wantErr != "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Load = %v, want error containing %q", err, tt.wantErr)
			}
			for rule, allow := range tt.allow {
				if got := e.Enforce(ctx, rule, nil, member) == nil; got != allow {
					t.Errorf("Enforce(%s) allowed = %v, want %v", rule, got, allow)
				}
			}
		})
	}
	t.Run("reload replaces overrides", func(t *testing.T) {
		e := New()
		e.Register(Rule{Name: "r", Check: "!"})
		e.Load([]byte(`{"r": "@"}`))
		if err := e.Enforce(ctx, "r", nil, member); err != nil {
			t.Fatalf("after override: %v", err)
		}
		e.Load([]byte(`{}`))
		if err := e.Enforce(ctx, "r", nil, member); err == nil {
			t.Fatal("override survived a reload without it")
		}
	})
	t.Run("undecodable document changes nothing", func(t *testing.T) {
		e := New()
		e.Register(Rule{Name: "r", Check: "!"})
		e.Load([]byte(`{"r": "@"}`))
		if err := e.Load([]byte("[1, 2")); err == nil {
			t.Fatal("Load accepted a broken document")
		}
		if err := e.Load([]byte("- a\n- b\n")); err == nil {
			t.Fatal("Load accepted a list document")
		}
		if err := e.Enforce(ctx, "r", nil, member); err != nil {
			t.Fatalf("override lost: %v", err)
		}
	})
	t.Run("file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "policy.yaml")
		os.WriteFile(path, []byte("identity:a: '@'\n"), 0o600)
		e := New()
		e.Register(Rule{Name: "identity:a", Check: "!"})
		if err := e.LoadFile(path); err != nil {
			t.Fatal(err)
		}
		if err := e.Enforce(ctx, "identity:a", nil, Creds{}); err != nil {
			t.Fatalf("Enforce = %v", err)
		}
		if err := e.LoadFile(path + ".missing"); err == nil {
			t.Fatal("LoadFile of a missing file succeeded")
		}
	})
}

func TestEnforceScope(t *testing.T) {
	ctx := context.Background()
	e := &Enforcer{EnforceScope: true}
	e.Register(Rule{Name: "sys", Check: "@", ScopeTypes: []string{"system"}}, Rule{Name: "any", Check: "@"})
	tests := []struct {
		name  string
		rule  string
		creds Creds
		allow bool
	}{
		{"system token", "sys", Creds{SystemScope: "all"}, true},
		{"domain token", "sys", Creds{DomainID: "d"}, false},
		{"project token", "sys", Creds{ProjectID: "p"}, false},
		{"no scope types", "any", Creds{ProjectID: "p"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := e.Enforce(ctx, tt.rule, nil, tt.creds)
			if (err == nil) != tt.allow {
				t.Fatalf("Enforce = %v, want allowed %v", err, tt.allow)
			}
		})
	}
	off := New()
	off.Register(Rule{Name: "sys", Check: "@", ScopeTypes: []string{"system"}})
	if err := off.Enforce(ctx, "sys", nil, Creds{ProjectID: "p"}); err != nil {
		t.Fatalf("scope enforced while EnforceScope is off: %v", err)
	}
}

func TestTwoEnforcers(t *testing.T) {
	a, b := New(), New()
	a.Register(Rule{Name: "r", Check: "@"})
	b.Register(Rule{Name: "r", Check: "!"})
	if a.Enforce(context.Background(), "r", nil, Creds{}) != nil || b.Enforce(context.Background(), "r", nil, Creds{}) == nil {
		t.Fatal("enforcers share state")
	}
}

func TestFlatten(t *testing.T) {
	got := Flatten("target", map[string]any{
		"project": map[string]any{"id": "p1", "domain_id": "d1", "tags": []any{"a"}, "options": map[string]any{}},
		"user":    map[string]string{"id": "u1"},
		"flag":    nil,
	})
	want := map[string]any{
		"target.project.id": "p1", "target.project.domain_id": "d1", "target.project.tags": []any{"a"},
		"target.user.id": "u1", "target.flag": nil,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Flatten = %v, want %v", got, want)
	}
	if got := Flatten("", map[string]any{"a": map[string]any{"b": 1}, "c": 2}); !reflect.DeepEqual(got, map[string]any{"a.b": 1, "c": 2}) {
		t.Fatalf("Flatten without prefix = %v", got)
	}
}

func TestCredsMap(t *testing.T) {
	c := Creds{UserID: "u", SystemScope: "all", Roles: []string{"admin"}, IsAdmin: true,
		Extra: map[string]any{"token": map[string]any{"x": 1}, "user_id": "spoofed"}}
	m := c.Map()
	want := map[string]any{
		"user_id": "u", "user_domain_id": nil, "project_id": nil, "project_domain_id": nil,
		"domain_id": nil, "system_scope": "all", "system": "all", "roles": []string{"admin"},
		"is_admin": true, "is_admin_project": false, "service_user_id": nil,
		"service_user_domain_id": nil, "service_project_id": nil, "service_project_domain_id": nil,
		"service_roles": []string{}, "token": map[string]any{"x": 1},
	}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("Map() = %v\nwant %v", m, want)
	}
	for _, tt := range []struct {
		c    Creds
		want string
	}{{Creds{SystemScope: "all", DomainID: "d"}, "system"}, {Creds{DomainID: "d"}, "domain"}, {Creds{}, "project"}} {
		if got := tt.c.Scope(); got != tt.want {
			t.Errorf("Scope() = %q, want %q", got, tt.want)
		}
	}
}

// TestCredsFastPath checks that Enforce's field lookups see exactly what
// Map shows, for every key of the view.
func TestCredsFastPath(t *testing.T) {
	c := Creds{UserID: "u", DomainID: "d", SystemScope: "all", Roles: []string{"a", "b"},
		IsAdmin: true, IsAdminProject: true, ServiceRoles: []string{"service"},
		Extra: map[string]any{"token": map[string]any{"roles": []any{map[string]any{"name": "r"}}}}}
	for key, v := range c.Map() {
		values := []any{v}
		if l, ok := v.([]string); ok {
			values = nil
			for _, s := range l {
				values = append(values, s)
			}
		}
		for _, x := range values {
			s, ok := pyStr(x)
			if !ok {
				continue
			}
			ev := evaluator{creds: &c}
			if !ev.findCreds([]string{key}, s) {
				t.Errorf("findCreds(%q, %q) = false, want true", key, s)
			}
		}
	}
	ev := evaluator{creds: &c}
	if !ev.findCreds([]string{"token", "roles", "name"}, "r") || ev.fail != "" {
		t.Errorf("fan-out through Extra failed: %q", ev.fail)
	}
}

func BenchmarkEnforce(b *testing.B) {
	e := keystoneEnforcer(b)
	ctx := context.Background()
	target := Flatten("target", map[string]any{"domain_id": "d1", "project": map[string]any{"id": "p1", "domain_id": "d1"}})
	creds := Creds{UserID: "u1", DomainID: "d1", Roles: []string{"member", "reader"}}
	b.ReportAllocs()
	for b.Loop() {
		if err := e.Enforce(ctx, "identity:list_projects", target, creds); err != nil {
			b.Fatal(err)
		}
	}
}

func TestConcurrentLoad(t *testing.T) {
	e := keystoneEnforcer(t)
	ctx := context.Background()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 200 {
			doc := `{"identity:list_regions": "!"}`
			if i%2 == 0 {
				doc = `{}`
			}
			if err := e.Load([]byte(doc)); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for {
		select {
		case <-done:
			return
		default:
			err := e.Enforce(ctx, "identity:list_regions", nil, Creds{})
			if err != nil && fault.KindOf(err) != fault.Forbidden {
				t.Fatalf("Enforce = %v", err)
			}
		}
	}
}

// A service's own check kind (Neutron's field:) is called for defaults
// and overrides alike; the language's own kinds cannot be replaced.
func TestRegisterCheck(t *testing.T) {
	ctx := context.Background()
	e := New()
	if err := e.Register(
		Rule{Name: "shared", Check: "field:networks:shared=True"},
		Rule{Name: "get_network", Check: "role:admin or tenant_id:%(tenant_id)s or rule:shared"},
	); err != nil {
		t.Fatal(err)
	}
	var seen []string
	field := func(target map[string]any, creds *Creds, match string) bool {
		seen = append(seen, match)
		_, fv, _ := strings.Cut(match, ":")
		f, v, _ := strings.Cut(fv, "=")
		got, ok := target[f]
		return ok && fmt.Sprint(got) == map[string]string{"True": "true", "False": "false"}[v]
	}
	if err := e.RegisterCheck("field", field); err != nil {
		t.Fatal(err)
	}
	member := Creds{ProjectID: "p2", Roles: []string{"member"}, Extra: map[string]any{"tenant_id": "p2"}}
	if err := e.Enforce(ctx, "get_network", map[string]any{"tenant_id": "p1", "shared": true}, member); err != nil {
		t.Fatalf("shared network: %v", err)
	}
	if err := e.Enforce(ctx, "get_network", map[string]any{"tenant_id": "p1", "shared": false}, member); err == nil {
		t.Fatal("another project's private network allowed")
	}
	if err := e.Enforce(ctx, "get_network", map[string]any{"tenant_id": "p2", "shared": false}, member); err != nil {
		t.Fatalf("own network: %v", err)
	}
	if len(seen) != 2 || seen[0] != "networks:shared=True" {
		t.Fatalf("field check called with %q", seen)
	}
	if err := e.Load([]byte(`{"get_network": "field:networks:router:external=True"}`)); err != nil {
		t.Fatal(err)
	}
	if err := e.Enforce(ctx, "get_network", map[string]any{"router:external": true}, member); err != nil {
		t.Fatalf("override with the registered kind: %v", err)
	}
	for _, kind := range []string{"role", "rule", "http", ""} {
		if err := e.RegisterCheck(kind, field); err == nil {
			t.Errorf("RegisterCheck(%q) accepted", kind)
		}
	}
}
