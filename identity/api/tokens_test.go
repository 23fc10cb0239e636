package api_test

import (
	"net/http"
	"regexp"
	"slices"
	"testing"
	"time"
)

// isoTime is Keystone's token time format: microseconds, always zero.
var isoTime = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000000Z$`)

// auditID is Keystone's: 16 random bytes, URL-safe base64 without padding.
var auditID = regexp.MustCompile(`^[A-Za-z0-9_-]{22}$`)

func parseISO(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse("2006-01-02T15:04:05.000000Z", s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// checkTokenTimes checks expires_at, issued_at and audit_ids.
func checkTokenTimes(t *testing.T, body map[string]any) {
	t.Helper()
	exp, iss := str(t, body, "token.expires_at"), str(t, body, "token.issued_at")
	if !isoTime.MatchString(exp) || !isoTime.MatchString(iss) {
		t.Errorf("times not in Keystone's format: expires_at %q issued_at %q", exp, iss)
	}
	// The default TTL is one hour; expiry and issue time are truncated to
	// the second separately.
	if d := parseISO(t, exp).Sub(parseISO(t, iss)); d <= time.Hour-time.Minute || d > time.Hour {
		t.Errorf("expires_at - issued_at = %v, want about 1h", d)
	}
	audit := list(t, body, "token.audit_ids")
	if len(audit) == 0 {
		t.Fatal("no audit_ids")
	}
	for _, a := range audit {
		if s, _ := a.(string); !auditID.MatchString(s) {
			t.Errorf("audit id %v is not 22 characters of URL-safe base64", a)
		}
	}
}

// roleNames returns the sorted names of the token's roles, and checks
// each role has an id.
func roleNames(t *testing.T, body map[string]any) []string {
	t.Helper()
	var names []string
	for _, r := range list(t, body, "token.roles") {
		if id, _ := at(r, "id").(string); len(id) != 32 {
			t.Errorf("role without a Keystone id: %v", r)
		}
		names = append(names, str(t, r, "name"))
	}
	slices.Sort(names)
	return names
}

func TestIssueToken(t *testing.T) {
	c := newCloud(t)
	admin := c.adminToken(t)
	// The admin also gets a role on the Default domain, for domain scope.
	c.grant(t, admin, "domains/default", c.Admin.ID, "reader")
	all := []string{"admin", "member", "reader"}

	tests := []struct {
		name  string
		scope any
		query string
		// What the body must show; everything else in
		// {project, domain, system, roles, catalog} must be absent.
		project, domain, system bool
		roles                   []string
		catalog                 bool
	}{
		{name: "project by id", scope: projectScope(c.AdminProject.ID), project: true, roles: all, catalog: true},
		{name: "project by name", scope: map[string]any{"project": map[string]any{"name": "admin", "domain": map[string]any{"name": "Default"}}},
			project: true, roles: all, catalog: true},
		{name: "project nocatalog", scope: projectScope(c.AdminProject.ID), query: "?nocatalog", project: true, roles: all},
		{name: "domain", scope: domainScope("default"), domain: true, roles: []string{"reader"}, catalog: true},
		{name: "domain by name", scope: map[string]any{"domain": map[string]any{"name": "Default"}}, domain: true, roles: []string{"reader"}, catalog: true},
		{name: "system", scope: systemScope, system: true, roles: all, catalog: true},
		{name: "system nocatalog", scope: systemScope, query: "?nocatalog", system: true, roles: all},
		{name: "unscoped", scope: "unscoped"},
		{name: "no scope and no default project", scope: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.issue(t, passwordAuth("admin", adminPassword, tt.scope), tt.query)
			if r.Code != http.StatusCreated {
				t.Fatalf("POST /v3/auth/tokens = %s", r)
			}
			if r.Header.Get("X-Subject-Token") == "" {
				t.Fatal("no X-Subject-Token")
			}
			body := r.JSON(t)
			if m := list(t, body, "token.methods"); len(m) != 1 || m[0] != "password" {
				t.Errorf("methods = %v", m)
			}
			for path, want := range map[string]string{
				"token.user.id": c.Admin.ID, "token.user.name": "admin",
				"token.user.domain.id": "default", "token.user.domain.name": "Default",
			} {
				if got := at(body, path); got != want {
					t.Errorf("%s = %v, want %q", path, got, want)
				}
			}
			checkTokenTimes(t, body)
			for path, want := range map[string]bool{
				"token.project": tt.project, "token.domain": tt.domain, "token.system": tt.system,
				"token.roles": tt.roles != nil, "token.catalog": tt.catalog,
			} {
				if has(body, path) != want {
					t.Errorf("%s present = %v, want %v", path, has(body, path), want)
				}
			}
			if tt.project {
				for path, want := range map[string]any{
					"token.project.id": c.AdminProject.ID, "token.project.name": "admin",
					"token.project.domain.id": "default", "token.project.domain.name": "Default",
					"token.is_domain": false,
				} {
					if got := at(body, path); got != want {
						t.Errorf("%s = %v, want %v", path, got, want)
					}
				}
			}
			if tt.domain && (at(body, "token.domain.id") != "default" || at(body, "token.domain.name") != "Default") {
				t.Errorf("domain = %v", at(body, "token.domain"))
			}
			if tt.system && at(body, "token.system.all") != true {
				t.Errorf("system = %v", at(body, "token.system"))
			}
			if tt.roles != nil {
				if got := roleNames(t, body); !slices.Equal(got, tt.roles) {
					t.Errorf("roles = %v, want %v", got, tt.roles)
				}
			}
			if tt.catalog {
				checkCatalog(t, c, list(t, body, "token.catalog"))
			}
		})
	}
}

// checkCatalog wants the bootstrap's identity service with its three
// endpoints on the test server.
func checkCatalog(t *testing.T, c *cloud, cat []any) {
	t.Helper()
	if len(cat) != 1 {
		t.Fatalf("catalog = %v, want the identity service only", cat)
	}
	svc := cat[0]
	if at(svc, "type") != "identity" || at(svc, "name") != "keystone" || len(str(t, svc, "id")) != 32 {
		t.Errorf("service = %v", svc)
	}
	var ifaces []string
	for _, e := range list(t, svc, "endpoints") {
		ifaces = append(ifaces, str(t, e, "interface"))
		if at(e, "url") != c.URL+"/v3" || at(e, "region") != "RegionOne" || at(e, "region_id") != "RegionOne" || len(str(t, e, "id")) != 32 {
			t.Errorf("endpoint = %v", e)
		}
	}
	slices.Sort(ifaces)
	if !slices.Equal(ifaces, []string{"admin", "internal", "public"}) {
		t.Errorf("interfaces = %v", ifaces)
	}
}

func TestValidateAndRevokeToken(t *testing.T) {
	c := newCloud(t)
	admin := c.adminToken(t)
	subject := c.token(t, "admin", adminPassword, projectScope(c.AdminProject.ID))

	steps := []struct {
		name    string
		method  string
		query   string
		token   string
		want    int
		catalog bool
	}{
		{"GET", "GET", "", admin, http.StatusOK, true},
		{"GET nocatalog", "GET", "?nocatalog", admin, http.StatusOK, false},
		{"GET own token", "GET", "", subject, http.StatusOK, true},
		{"HEAD", "HEAD", "", admin, http.StatusOK, false},
		{"DELETE", "DELETE", "", admin, http.StatusNoContent, false},
		{"GET revoked", "GET", "", admin, http.StatusNotFound, false},
		{"HEAD revoked", "HEAD", "", admin, http.StatusNotFound, false},
		{"DELETE revoked", "DELETE", "", admin, http.StatusNotFound, false},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			r := c.Call(t, call{Method: s.method, Path: "/v3/auth/tokens" + s.query, Token: s.token, Subject: subject})
			if r.Code != s.want {
				t.Fatalf("%s /v3/auth/tokens = %s, want %d", s.method, r, s.want)
			}
			switch {
			case s.want == http.StatusNotFound && s.method != "HEAD":
				wantError(t, r, http.StatusNotFound, "Could not find token")
			case s.want == http.StatusNotFound, s.want == http.StatusNoContent:
			case s.method == "HEAD":
				if got := r.Header.Get("X-Subject-Token"); got != subject {
					t.Errorf("X-Subject-Token = %q, want the subject", got)
				}
				if len(r.Body) != 0 {
					t.Errorf("HEAD has a body: %s", r.Body)
				}
			default:
				if got := r.Header.Get("X-Subject-Token"); got != subject {
					t.Errorf("X-Subject-Token = %q, want the subject", got)
				}
				body := r.JSON(t)
				if at(body, "token.user.id") != c.Admin.ID || at(body, "token.project.id") != c.AdminProject.ID {
					t.Errorf("validated token = %v", body)
				}
				checkTokenTimes(t, body)
				if has(body, "token.catalog") != s.catalog {
					t.Errorf("catalog present = %v, want %v", has(body, "token.catalog"), s.catalog)
				}
			}
		})
	}
	t.Run("revoked token is refused as X-Auth-Token", func(t *testing.T) {
		wantError(t, c.Do(t, "GET", "/v3/projects", subject, nil), http.StatusUnauthorized, "")
	})
	t.Run("the caller's token still works", func(t *testing.T) {
		c.Must(t, http.StatusOK, "GET", "/v3/projects", admin, nil)
	})
}

func TestRescopeWithTokenMethod(t *testing.T) {
	c := newCloud(t)
	unscopedReply := c.issue(t, passwordAuth("admin", adminPassword, "unscoped"), "")
	if unscopedReply.Code != http.StatusCreated {
		t.Fatal(unscopedReply)
	}
	unscoped, parent := unscopedReply.Header.Get("X-Subject-Token"), unscopedReply.JSON(t)

	tests := []struct {
		name    string
		scope   any
		key     string // "token.project" or "token.system"
		wantID  any
		wantErr int
	}{
		{"to a project", projectScope(c.AdminProject.ID), "token.project.id", c.AdminProject.ID, 0},
		{"to the system", systemScope, "token.system.all", true, 0},
		{"to a project without a role", projectScope("00000000000000000000000000000000"), "", nil, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := map[string]any{"auth": map[string]any{
				"identity": map[string]any{"methods": []string{"token"}, "token": map[string]any{"id": unscoped}},
				"scope":    tt.scope,
			}}
			r := c.issue(t, body, "")
			if tt.wantErr != 0 {
				wantError(t, r, tt.wantErr, "")
				return
			}
			if r.Code != http.StatusCreated {
				t.Fatal(r)
			}
			got := r.JSON(t)
			if at(got, tt.key) != tt.wantID {
				t.Errorf("%s = %v, want %v", tt.key, at(got, tt.key), tt.wantID)
			}
			methods := list(t, got, "token.methods")
			if len(methods) != 2 || !slices.Contains(methods, any("password")) || !slices.Contains(methods, any("token")) {
				t.Errorf("methods = %v, want password and token", methods)
			}
			// A rescoped token keeps its parent's expiry and audit chain.
			if at(got, "token.expires_at") != at(parent, "token.expires_at") {
				t.Errorf("expires_at = %v, parent's %v", at(got, "token.expires_at"), at(parent, "token.expires_at"))
			}
			audit := list(t, got, "token.audit_ids")
			if len(audit) != 2 || audit[1] != at(parent, "token.audit_ids.0") || audit[0] == audit[1] {
				t.Errorf("audit_ids = %v, parent's %v", audit, at(parent, "token.audit_ids"))
			}
			if roles := roleNames(t, got); !slices.Equal(roles, []string{"admin", "member", "reader"}) {
				t.Errorf("roles = %v", roles)
			}
		})
	}
}

func TestApplicationCredentials(t *testing.T) {
	c := newCloud(t)
	projTok := c.token(t, "admin", adminPassword, projectScope(c.AdminProject.ID))
	base := "/v3/users/" + c.Admin.ID + "/application_credentials"

	create := func(t *testing.T, body map[string]any) map[string]any {
		t.Helper()
		return c.Must(t, http.StatusCreated, "POST", base, projTok, map[string]any{"application_credential": body})
	}
	full := create(t, map[string]any{"name": "ci", "description": "for CI"})
	chosen := create(t, map[string]any{"name": "mine", "secret": "my own secret"})
	narrow := create(t, map[string]any{"name": "read-only", "roles": []any{map[string]any{"name": "reader"}}})

	t.Run("created", func(t *testing.T) {
		for path, want := range map[string]any{
			"application_credential.name": "ci", "application_credential.description": "for CI",
			"application_credential.user_id": c.Admin.ID, "application_credential.project_id": c.AdminProject.ID,
			"application_credential.unrestricted": false, "application_credential.expires_at": nil,
		} {
			if got := at(full, path); got != want {
				t.Errorf("%s = %v, want %v", path, got, want)
			}
		}
		if s := str(t, full, "application_credential.secret"); len(s) < 32 {
			t.Errorf("generated secret %q is too short", s)
		}
		if got := at(chosen, "application_credential.secret"); got != "my own secret" {
			t.Errorf("chosen secret = %v", got)
		}
		if got := ids(t, full, "application_credential.roles", "name"); !slices.Equal(got, []string{"admin", "member", "reader"}) {
			t.Errorf("default roles = %v, want the token's", got)
		}
		if got := ids(t, narrow, "application_credential.roles", "name"); !slices.Equal(got, []string{"reader"}) {
			t.Errorf("roles = %v, want reader", got)
		}
	})
	t.Run("secret is shown only once", func(t *testing.T) {
		id := str(t, full, "application_credential.id")
		got := c.Must(t, http.StatusOK, "GET", base+"/"+id, projTok, nil)
		if at(got, "application_credential.name") != "ci" || has(got, "application_credential.secret") {
			t.Errorf("GET = %v", got)
		}
		l := c.Must(t, http.StatusOK, "GET", base, projTok, nil)
		if names := ids(t, l, "application_credentials", "name"); !slices.Equal(names, []string{"ci", "mine", "read-only"}) {
			t.Errorf("list = %v", names)
		}
		for _, x := range list(t, l, "application_credentials") {
			if has(x, "secret") {
				t.Errorf("list shows a secret: %v", x)
			}
		}
	})

	t.Run("authenticate", func(t *testing.T) { testAppCredAuth(t, c, full, chosen, narrow) })
}

// testAppCredAuth authenticates with the credentials TestApplicationCredentials
// made: full (all the admin's roles), chosen (its own secret) and narrow
// (reader only).
func testAppCredAuth(t *testing.T, c *cloud, full, chosen, narrow map[string]any) {
	acAuth := func(ac map[string]any) map[string]any {
		return map[string]any{"id": str(t, ac, "application_credential.id"), "secret": str(t, ac, "application_credential.secret")}
	}
	tests := []struct {
		name  string
		ac    map[string]any
		want  int
		roles []string
		acID  any
	}{
		{"by id", acAuth(full), http.StatusCreated, []string{"admin", "member", "reader"}, at(full, "application_credential.id")},
		{"by name and user", map[string]any{"name": "mine", "secret": "my own secret",
			"user": map[string]any{"name": "admin", "domain": map[string]any{"name": "Default"}}},
			http.StatusCreated, []string{"admin", "member", "reader"}, at(chosen, "application_credential.id")},
		{"by name and user id", map[string]any{"name": "mine", "secret": "my own secret", "user": map[string]any{"id": c.Admin.ID}},
			http.StatusCreated, []string{"admin", "member", "reader"}, at(chosen, "application_credential.id")},
		{"restricted roles", acAuth(narrow), http.StatusCreated, []string{"reader"}, at(narrow, "application_credential.id")},
		{"wrong secret", map[string]any{"id": at(full, "application_credential.id"), "secret": "nope"}, http.StatusUnauthorized, nil, nil},
		{"unknown id", map[string]any{"id": "00000000000000000000000000000000", "secret": "nope"}, http.StatusUnauthorized, nil, nil},
		{"unknown name", map[string]any{"name": "nope", "secret": "nope", "user": map[string]any{"id": c.Admin.ID}}, http.StatusUnauthorized, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.issue(t, map[string]any{"auth": map[string]any{"identity": map[string]any{
				"methods": []string{"application_credential"}, "application_credential": tt.ac,
			}}}, "")
			if tt.want != http.StatusCreated {
				wantError(t, r, tt.want, "")
				return
			}
			if r.Code != http.StatusCreated || r.Header.Get("X-Subject-Token") == "" {
				t.Fatal(r)
			}
			body := r.JSON(t)
			if m := list(t, body, "token.methods"); len(m) != 1 || m[0] != "application_credential" {
				t.Errorf("methods = %v", m)
			}
			if at(body, "token.project.id") != c.AdminProject.ID || at(body, "token.user.id") != c.Admin.ID {
				t.Errorf("token = %v", body)
			}
			if at(body, "token.application_credential.id") != tt.acID {
				t.Errorf("application_credential = %v", at(body, "token.application_credential"))
			}
			if got := roleNames(t, body); !slices.Equal(got, tt.roles) {
				t.Errorf("roles = %v, want %v", got, tt.roles)
			}
			// The token works, with only its roles.
			tok := r.Header.Get("X-Subject-Token")
			wantList := http.StatusOK
			if !slices.Contains(tt.roles, "admin") {
				wantList = http.StatusForbidden
			}
			if got := c.Do(t, "GET", "/v3/users", tok, nil); got.Code != wantList {
				t.Errorf("GET /v3/users with it = %s, want %d", got, wantList)
			}
			// It cannot be traded for another token.
			rescope := c.issue(t, map[string]any{"auth": map[string]any{"identity": map[string]any{
				"methods": []string{"token"}, "token": map[string]any{"id": tok},
			}}}, "")
			wantError(t, rescope, http.StatusForbidden, "")
		})
	}
}

func TestVersionDiscovery(t *testing.T) {
	c := newCloud(t)
	tests := []struct {
		path     string
		want     int
		docPath  string
		location string
	}{
		{"/", http.StatusMultipleChoices, "versions.values.0", c.URL + "/v3/"},
		{"/v3", http.StatusOK, "version", ""},
		{"/v3/", http.StatusOK, "version", ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			r := c.Do(t, "GET", tt.path, "", nil)
			if r.Code != tt.want {
				t.Fatalf("GET %s = %s", tt.path, r)
			}
			if got := r.Header.Get("Location"); got != tt.location {
				t.Errorf("Location = %q, want %q", got, tt.location)
			}
			body := r.JSON(t)
			if tt.want == http.StatusMultipleChoices && len(list(t, body, "versions.values")) != 1 {
				t.Errorf("versions.values = %v", at(body, "versions.values"))
			}
			doc := at(body, tt.docPath)
			for path, want := range map[string]any{
				"id": "v3.14", "status": "stable", "links.0.rel": "self", "links.0.href": c.URL + "/v3/",
				"media-types.0.type": "application/vnd.openstack.identity-v3+json",
			} {
				if got := at(doc, path); got != want {
					t.Errorf("%s = %v, want %v", path, got, want)
				}
			}
		})
	}
}

func TestAuthDiscovery(t *testing.T) {
	c := newCloud(t)
	admin := c.adminToken(t)
	project := c.token(t, "admin", adminPassword, projectScope(c.AdminProject.ID))
	unscoped := c.token(t, "admin", adminPassword, "unscoped")

	tests := []struct {
		name, path, token string
		want              int
		check             func(t *testing.T, body map[string]any)
	}{
		{"catalog", "/v3/auth/catalog", project, http.StatusOK, func(t *testing.T, b map[string]any) {
			checkCatalog(t, c, list(t, b, "catalog"))
		}},
		{"catalog needs a scope", "/v3/auth/catalog", unscoped, http.StatusForbidden, nil},
		{"projects", "/v3/auth/projects", unscoped, http.StatusOK, func(t *testing.T, b map[string]any) {
			if got := ids(t, b, "projects", "id"); !slices.Equal(got, []string{c.AdminProject.ID}) {
				t.Errorf("projects = %v", got)
			}
		}},
		{"domains", "/v3/auth/domains", unscoped, http.StatusOK, func(t *testing.T, b map[string]any) {
			if got := list(t, b, "domains"); len(got) != 0 {
				t.Errorf("domains = %v, want none", got)
			}
		}},
		{"system", "/v3/auth/system", admin, http.StatusOK, func(t *testing.T, b map[string]any) {
			if got := at(b, "system.0.all"); got != true {
				t.Errorf("system = %v", at(b, "system"))
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.Do(t, "GET", tt.path, tt.token, nil)
			if tt.check == nil {
				wantError(t, r, tt.want, "")
				return
			}
			if r.Code != tt.want {
				t.Fatal(r)
			}
			tt.check(t, r.JSON(t))
		})
	}
}
