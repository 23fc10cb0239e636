package api_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"github.com/gostack/gostack/internal/apitest"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gostack/gostack/identity/fernet"
)

func TestAuthBadInput(t *testing.T) {
	c := newCloud(t)
	admin := c.adminToken(t)
	before := c.snapshot(t, admin)
	user := `"user":{"name":"admin","domain":{"name":"Default"},"password":"` + adminPassword + `"}`
	pw := func(identity string) string {
		return `{"auth":{"identity":{"methods":["password"],"password":{` + identity + `}}}}`
	}
	scoped := func(scope string) string {
		return `{"auth":{"identity":{"methods":["password"],"password":{` + user + `}},"scope":` + scope + `}}`
	}
	tests := []struct {
		name, body string
		msg        string // the error message must contain it
	}{
		{"empty body", "", "request body is empty"},
		{"whitespace body", "  \n", "request body is empty"},
		{"malformed JSON", `{"auth":`, "not valid JSON"},
		{"not JSON", `auth=admin`, "not valid JSON"},
		{"data after the value", `{"auth":{}} {}`, "data after the JSON value"},
		{"array body", `[]`, "wrong type"},
		{"auth not an object", `{"auth":"admin"}`, "'auth'"},
		{"missing auth", `{}`, "'auth.identity'"},
		{"missing identity", `{"auth":{}}`, "'auth.identity'"},
		{"null identity", `{"auth":{"identity":null}}`, "'auth.identity'"},
		{"missing methods", `{"auth":{"identity":{"password":{` + user + `}}}}`, "'auth.identity.methods'"},
		{"empty methods", `{"auth":{"identity":{"methods":[],"password":{` + user + `}}}}`, "'auth.identity.methods'"},
		{"methods not an array", `{"auth":{"identity":{"methods":"password","password":{` + user + `}}}}`, "'auth.identity.methods'"},
		{"method not a string", `{"auth":{"identity":{"methods":[1],"password":{` + user + `}}}}`, "'auth.identity.methods"},
		{"password method without password", `{"auth":{"identity":{"methods":["password"]}}}`, "'auth.identity.password'"},
		{"password without user", pw(``), "'auth.identity.password.user'"},
		{"password user null", pw(`"user":null`), "'auth.identity.password.user'"},
		{"user without password", pw(`"user":{"name":"admin","domain":{"name":"Default"}}`), "'auth.identity.password.user'"},
		{"user without id or name", pw(`"user":{"password":"x"}`), "'auth.identity.password.user'"},
		{"user name without domain", pw(`"user":{"name":"admin","password":"x"}`), "'auth.identity.password.user.domain'"},
		{"password not a string", pw(`"user":{"id":"x","password":5}`), "'auth.identity.password.user.password'"},
		{"user name not a string", pw(`"user":{"name":5,"domain":{"name":"Default"},"password":"x"}`), "'auth.identity.password.user.name'"},
		{"application_credential id not a string", `{"auth":{"identity":{"methods":["application_credential"],"application_credential":{"id":5,"secret":"x"}}}}`,
			"'auth.identity.application_credential.id'"},
		{"application_credential method without one", `{"auth":{"identity":{"methods":["application_credential"]}}}`,
			"'auth.identity.application_credential'"},
		{"scope a number", scoped(`5`), "'auth.scope'"},
		{"scope an unknown word", scoped(`"global"`), "'auth.scope'"},
		{"scope project a string", scoped(`{"project":"admin"}`), "'auth.scope'"},
		{"scope project empty", scoped(`{"project":{}}`), "'auth.scope.project'"},
		{"scope domain empty", scoped(`{"domain":{}}`), "'auth.scope.domain'"},
		// Keystone: "Invalid input for field 'scope/project/domain'".
		{"scope project name without domain", scoped(`{"project":{"name":"admin"}}`), "domain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.Call(t, call{Method: "POST", Path: "/v3/auth/tokens", Body: tt.body})
			wantError(t, r, http.StatusBadRequest, tt.msg)
			if r.Header.Get("X-Subject-Token") != "" {
				t.Error("a 400 carries a token")
			}
		})
	}
	if after := c.snapshot(t, admin); after != before {
		t.Errorf("bad auth requests changed the state:\n%s", apitest.LineDiff(before, after))
	}
}

// TestEveryAuthMethodIsChecked: Keystone authenticates every method listed
// in auth.identity.methods, and the token's methods say which ones were
// proven. A valid first method must not vouch for the others.
func TestEveryAuthMethodIsChecked(t *testing.T) {
	c := newCloud(t)
	tok := c.token(t, "admin", adminPassword, "unscoped")
	user := func(pw string) map[string]any {
		return map[string]any{"user": map[string]any{"name": "admin", "domain": map[string]any{"name": "Default"}, "password": pw}}
	}
	tests := []struct {
		name     string
		identity map[string]any
	}{
		{"password and an unsupported method", map[string]any{"methods": []string{"password", "totp"}, "password": user(adminPassword)}},
		{"password and a bad application credential", map[string]any{"methods": []string{"password", "application_credential"},
			"password": user(adminPassword), "application_credential": map[string]any{"id": "00000000000000000000000000000000", "secret": "guess"}}},
		{"password and a missing application credential", map[string]any{"methods": []string{"password", "application_credential"},
			"password": user(adminPassword)}},
		{"token and a wrong password", map[string]any{"methods": []string{"token", "password"},
			"token": map[string]any{"id": tok}, "password": user("wrong")}},
		{"password and a bad token", map[string]any{"methods": []string{"password", "token"},
			"password": user(adminPassword), "token": map[string]any{"id": "not-a-token"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.issue(t, map[string]any{"auth": map[string]any{"identity": tt.identity}}, "")
			if r.Code != http.StatusUnauthorized && r.Code != http.StatusBadRequest {
				t.Fatalf("POST /v3/auth/tokens = %s, want 401 (or 400): only %v was proven",
					r, tt.identity["methods"].([]string)[0])
			}
			wantError(t, r, r.Code, "")
		})
	}
}

func TestCredentialFailuresLookAlike(t *testing.T) {
	c := newCloud(t)
	admin := c.adminToken(t)
	off := c.mkUser(t, admin, "off", "off-pw", "default")
	c.Must(t, http.StatusOK, "PATCH", "/v3/users/"+off, admin, map[string]any{"user": map[string]any{"enabled": false}})
	c.Must(t, http.StatusCreated, "POST", "/v3/users", admin, map[string]any{"user": map[string]any{"name": "nopw"}})

	byID := func(id, pw string) map[string]any {
		return map[string]any{"auth": map[string]any{"identity": map[string]any{"methods": []string{"password"},
			"password": map[string]any{"user": map[string]any{"id": id, "password": pw}}}}}
	}
	byDomain := func(domain, user, pw string) map[string]any {
		return map[string]any{"auth": map[string]any{"identity": map[string]any{"methods": []string{"password"},
			"password": map[string]any{"user": map[string]any{"name": user, "password": pw, "domain": map[string]any{"name": domain}}}}}}
	}
	reference := c.issue(t, passwordAuth("admin", "wrong", nil), "")
	wantError(t, reference, http.StatusUnauthorized, "The request you have made requires authentication.")

	tests := []struct {
		name string
		body map[string]any
	}{
		{"unknown user", passwordAuth("mallory", "wrong", nil)},
		{"unknown user id", byID("00000000000000000000000000000000", "wrong")},
		{"wrong password by id", byID(c.Admin.ID, "wrong")},
		{"unknown domain", byDomain("Nowhere", "admin", adminPassword)},
		{"disabled user, right password", passwordAuth("off", "off-pw", nil)},
		{"user without a password", passwordAuth("nopw", "", nil)},
		{"empty password", passwordAuth("admin", "", nil)},
		{"very long password", passwordAuth("admin", strings.Repeat("x", 4096), nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.issue(t, tt.body, "")
			if r.Code != reference.Code || string(r.Body) != string(reference.Body) {
				t.Errorf("got %s\nwant the same as a wrong password: %s", r, reference)
			}
			if got, want := r.Header.Get("WWW-Authenticate"), reference.Header.Get("WWW-Authenticate"); got != want || got == "" {
				t.Errorf("WWW-Authenticate = %q, want %q", got, want)
			}
		})
	}
}

// forge issues a token for the admin on the admin project with keys,
// after edit changes its payload (which starts valid for an hour).
func (c *cloud) forge(t *testing.T, keys fernet.KeySource, edit func(*fernet.Payload)) string {
	t.Helper()
	var audit [16]byte
	if _, err := rand.Read(audit[:]); err != nil {
		t.Fatal(err)
	}
	p := fernet.Payload{UserID: c.Admin.ID, Methods: []string{"password"}, ProjectID: c.AdminProject.ID,
		AuditIDs: []string{base64.RawURLEncoding.EncodeToString(audit[:])}, ExpiresAt: time.Now().Add(time.Hour).UTC()}
	edit(&p)
	tok, err := (&fernet.Formatter{Keys: keys}).Issue(p)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestBadTokens(t *testing.T) {
	c := newCloud(t)
	admin := c.adminToken(t)
	good := c.token(t, "admin", adminPassword, projectScope(c.AdminProject.ID))

	revoked := c.token(t, "admin", adminPassword, projectScope(c.AdminProject.ID))
	c.Call(t, call{Method: "DELETE", Path: "/v3/auth/tokens", Token: admin, Subject: revoked})

	gone := c.mkUser(t, admin, "gone", "gone-pw", "default")
	c.grant(t, admin, "projects/"+c.AdminProject.ID, gone, "member")
	goneTok := c.token(t, "gone", "gone-pw", projectScope(c.AdminProject.ID))
	c.Must(t, http.StatusNoContent, "DELETE", "/v3/users/"+gone, admin, nil)

	otherKey, err := fernet.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	valid := func(*fernet.Payload) {}
	wrongKey := c.forge(t, fernet.StaticKeys{otherKey}, valid)
	expired := c.forge(t, c.Keys, func(p *fernet.Payload) { p.ExpiresAt = time.Now().Add(-time.Minute).UTC() })
	ghost := c.forge(t, c.Keys, func(p *fernet.Payload) { p.UserID = "00000000000000000000000000000000" })
	if forged := c.forge(t, c.Keys, valid); c.Do(t, "GET", "/v3/projects", forged, nil).Code != http.StatusOK {
		t.Fatal("forge does not make valid tokens: the cases below would prove nothing")
	}

	padded := good + strings.Repeat("=", (4-len(good)%4)%4)
	flipped := []byte(good)
	if flipped[len(flipped)/2] == 'A' {
		flipped[len(flipped)/2] = 'B'
	} else {
		flipped[len(flipped)/2] = 'A'
	}

	tests := []struct {
		name, token string
		msg         string
	}{
		{"garbage", "not-a-token", "requires authentication"},
		{"non-base64 characters", "!!!!" + good[4:], "requires authentication"},
		{"truncated", good[:len(good)-5], "requires authentication"},
		{"half", good[:len(good)/2], "requires authentication"},
		{"one character changed", string(flipped), "requires authentication"},
		{"wrong padding", padded + "====", "requires authentication"},
		{"stray padding inside", good[:8] + "=" + good[8:], "requires authentication"},
		{"huge", strings.Repeat("A", 64<<10), "requires authentication"},
		{"wrong key", wrongKey, "requires authentication"},
		{"expired", expired, "expired"},
		{"revoked", revoked, "revoked"},
		{"user deleted", goneTok, ""},
		{"unknown user", ghost, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name+" as X-Auth-Token", func(t *testing.T) {
			for _, p := range []string{"/v3/projects", "/v3/auth/projects", "/v3/users/" + c.Admin.ID} {
				r := c.Do(t, "GET", p, tt.token, nil)
				wantError(t, r, http.StatusUnauthorized, tt.msg)
				if r.Header.Get("WWW-Authenticate") == "" {
					t.Errorf("GET %s: 401 without WWW-Authenticate", p)
				}
				if strings.Contains(string(r.Body), tt.token[len(tt.token)/2:]) {
					t.Errorf("GET %s: the token is echoed in the error: %s", p, r.Body)
				}
			}
		})
		t.Run(tt.name+" as X-Subject-Token", func(t *testing.T) {
			for _, m := range []string{"GET", "HEAD", "DELETE"} {
				r := c.Call(t, call{Method: m, Path: "/v3/auth/tokens", Token: admin, Subject: tt.token})
				if r.Code != http.StatusNotFound {
					t.Errorf("%s /v3/auth/tokens = %s, want 404", m, r)
				}
			}
		})
	}
	t.Run("no token", func(t *testing.T) {
		wantError(t, c.Do(t, "GET", "/v3/projects", "", nil), http.StatusUnauthorized, "requires authentication")
	})
	t.Run("no subject token", func(t *testing.T) {
		wantError(t, c.Do(t, "GET", "/v3/auth/tokens", admin, nil), http.StatusBadRequest, "X-Subject-Token")
	})
	// Keystone restores the padding it strips, so a token with exactly the
	// right padding is the same token.
	t.Run("padding restored", func(t *testing.T) {
		c.Must(t, http.StatusOK, "GET", "/v3/projects", padded, nil)
	})
	t.Run("the good token still works", func(t *testing.T) {
		c.Must(t, http.StatusOK, "GET", "/v3/projects", good, nil)
	})
}

func TestWriteBadInput(t *testing.T) {
	c := newCloud(t)
	admin := c.adminToken(t)
	proj := c.mkProject(t, admin, "existing", "default")
	user := c.mkUser(t, admin, "existing", "pw", "default")
	projTok := c.token(t, "admin", adminPassword, projectScope(c.AdminProject.ID))
	acs := "/v3/users/" + c.Admin.ID + "/application_credentials"
	other := str(t, c.Must(t, http.StatusCreated, "POST", "/v3/domains", admin, map[string]any{"domain": map[string]any{"name": "other"}}), "domain.id")
	inOther := str(t, c.Must(t, http.StatusCreated, "POST", "/v3/projects", admin,
		map[string]any{"project": map[string]any{"name": "in-other", "domain_id": other, "enabled": false}}), "project.id")
	c.Must(t, http.StatusOK, "PATCH", "/v3/domains/"+other, admin, map[string]any{"domain": map[string]any{"enabled": false}})
	before := c.snapshot(t, admin)

	tests := []struct {
		name, method, path string
		body               string
		want               int
		msg                string
		token              string // default: the system-scoped admin token
	}{
		{"project: empty body", "POST", "/v3/projects", "", 400, "request body is empty", ""},
		{"project: malformed", "POST", "/v3/projects", `{"project":{"name":"x"`, 400, "not valid JSON", ""},
		{"project: missing", "POST", "/v3/projects", `{}`, 400, "'project.name'", ""},
		{"project: no name", "POST", "/v3/projects", `{"project":{"description":"x"}}`, 400, "'project.name'", ""},
		{"project: blank name", "POST", "/v3/projects", `{"project":{"name":"  "}}`, 400, "'project.name'", ""},
		{"project: name a number", "POST", "/v3/projects", `{"project":{"name":5}}`, 400, "'project.name'", ""},
		{"project: enabled a string", "POST", "/v3/projects", `{"project":{"name":"x","enabled":"yes"}}`, 400, "'project.enabled'", ""},
		{"project: tags an object", "POST", "/v3/projects", `{"project":{"name":"x","tags":{}}}`, 400, "'project.tags'", ""},
		{"project: is_domain with a domain", "POST", "/v3/projects", `{"project":{"name":"x","is_domain":true,"domain_id":"default"}}`, 400,
			"only root projects are allowed to act as domains.", ""},
		{"project: is_domain with a parent", "POST", "/v3/projects", `{"project":{"name":"x","is_domain":true,"parent_id":"` + proj + `"}}`, 400,
			"only root projects are allowed to act as domains.", ""},
		{"project: is_domain a string", "POST", "/v3/projects", `{"project":{"name":"x","is_domain":"true"}}`, 400, "'project.is_domain'", ""},
		{"project: is_domain with tags", "POST", "/v3/projects", `{"project":{"name":"x","is_domain":true,"tags":["t"]}}`, 400, "domain tags", ""},
		{"project: is_domain named as a domain", "POST", "/v3/projects", `{"project":{"name":"Default","is_domain":true}}`, 409,
			"two projects acting as domains with the same name: Default.", ""},
		{"project: is_domain name blank", "POST", "/v3/projects", `{"project":{"name":" ","is_domain":true}}`, 400, "'project.name'", ""},
		{"project: parent a domain of another", "POST", "/v3/projects", `{"project":{"name":"x","parent_id":"default","domain_id":"` + other + `"}}`, 400,
			"is acting as a domain, but this project's domain id (" + other + ") does not match the parent's id.", ""},
		{"project: in a disabled domain", "POST", "/v3/projects", `{"project":{"name":"x","domain_id":"` + other + `"}}`, 400,
			"cannot create a project in a branch containing a disabled project: " + other, ""},
		{"project update of a domain: new domain", "PATCH", "/v3/projects/default", `{"project":{"domain_id":"` + other + `"}}`, 400, "Cannot change Domain ID", ""},
		{"project update of a domain: a parent", "PATCH", "/v3/projects/default", `{"project":{"parent_id":"` + proj + `"}}`, 403, "Update of `parent_id` is not allowed.", ""},
		{"project update of a domain: not a domain", "PATCH", "/v3/projects/default", `{"project":{"is_domain":false}}`, 400, "Update of `is_domain` is not allowed.", ""},
		{"project update of a domain: name blank", "PATCH", "/v3/projects/default", `{"project":{"name":""}}`, 400, "'project.name'", ""},
		{"project update: parent null", "PATCH", "/v3/projects/" + proj, `{"project":{"parent_id":null}}`, 403, "Update of `parent_id` is not allowed.", ""},
		{"project update: enable under a disabled domain", "PATCH", "/v3/projects/" + inOther, `{"project":{"enabled":true}}`, 403,
			"Cannot enable project " + inOther + " since it has disabled parents", ""},
		{"project delete: an enabled domain", "DELETE", "/v3/projects/default", "", 403, "Cannot delete a domain that is enabled, please disable it first.", ""},
		{"project: duplicate", "POST", "/v3/projects", `{"project":{"name":"existing"}}`, 409,
			"it is not permitted to have two projects with either the same name or same id in the same domain: name is existing", ""},
		{"project: unknown domain", "POST", "/v3/projects", `{"project":{"name":"x","domain_id":"nope"}}`, 400, "Could not find domain: nope.", ""},
		{"project: unknown parent", "POST", "/v3/projects", `{"project":{"name":"x","parent_id":"nope"}}`, 400, "Could not find project: nope.", ""},
		{"project update: empty object", "PATCH", "/v3/projects/" + proj, `{}`, 400, "'project'", ""},
		{"project update: name a number", "PATCH", "/v3/projects/" + proj, `{"project":{"name":5}}`, 400, "'project.name'", ""},
		{"project update: move domain", "PATCH", "/v3/projects/" + proj, `{"project":{"domain_id":"other"}}`, 400, "Cannot change Domain ID", ""},
		{"project update: unknown id", "PATCH", "/v3/projects/nope", `{"project":{"name":"x"}}`, 404, "nope", ""},
		{"project delete: unknown id", "DELETE", "/v3/projects/nope", "", 404, "nope", ""},
		{"user: no name", "POST", "/v3/users", `{"user":{"password":"x"}}`, 400, "'user.name'", ""},
		{"user: password a number", "POST", "/v3/users", `{"user":{"name":"x","password":5}}`, 400, "'user.password'", ""},
		{"user: duplicate", "POST", "/v3/users", `{"user":{"name":"existing"}}`, 409, "", ""},
		{"user update: enabled a string", "PATCH", "/v3/users/" + user, `{"user":{"enabled":"no"}}`, 400, "'user.enabled'", ""},
		{"user update: move domain", "PATCH", "/v3/users/" + user, `{"user":{"domain_id":"other"}}`, 400, "'user.domain_id'", ""},
		{"role: no name", "POST", "/v3/roles", `{"role":{}}`, 400, "'role.name'", ""},
		{"role: duplicate", "POST", "/v3/roles", `{"role":{"name":"admin"}}`, 409, "", ""},
		{"domain: no name", "POST", "/v3/domains", `{"domain":{}}`, 400, "'domain.name'", ""},
		{"group: no name", "POST", "/v3/groups", `{"group":{}}`, 400, "'group.name'", ""},
		{"service: no type", "POST", "/v3/services", `{"service":{"name":"x"}}`, 400, "'service.type'", ""},
		{"endpoint: bad interface", "POST", "/v3/endpoints", `{"endpoint":{"service_id":"x","interface":"web","url":"http://x"}}`, 400, "'endpoint.interface'", ""},
		{"endpoint: no url", "POST", "/v3/endpoints", `{"endpoint":{"service_id":"x","interface":"public"}}`, 400, "'endpoint.url'", ""},
		{"region: missing", "POST", "/v3/regions", `{}`, 400, "'region'", ""},
		{"grant: unknown role", "PUT", "/v3/projects/" + proj + "/users/" + user + "/roles/nope", "", 404, "", ""},
		{"grant: unknown user", "PUT", "/v3/projects/" + proj + "/users/nope/roles/" + c.roleID(t, "member"), "", 404, "", ""},
		{"grant: unknown project", "PUT", "/v3/projects/nope/users/" + user + "/roles/" + c.roleID(t, "member"), "", 404, "", ""},
		{"app cred: system-scoped token", "POST", acs, `{"application_credential":{"name":"x"}}`, 403, "project-scoped", ""},
		{"app cred: no name", "POST", acs, `{"application_credential":{}}`, 400, "'application_credential.name'", projTok},
		{"app cred: bad expiry", "POST", acs, `{"application_credential":{"name":"x","expires_at":"soon"}}`, 400, "'application_credential.expires_at'", projTok},
		{"app cred: roles not a list", "POST", acs, `{"application_credential":{"name":"x","roles":{}}}`, 400, "'application_credential.roles'", projTok},
		{"app cred: a role the token lacks", "POST", acs, `{"application_credential":{"name":"x","roles":[{"name":"service"}]}}`, 403, "service", projTok},
		{"app cred: access rules", "POST", acs, `{"application_credential":{"name":"x","access_rules":[{}]}}`, 400, "'application_credential.access_rules'", projTok},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := admin
			if tt.token != "" {
				tok = tt.token
			}
			r := c.Call(t, call{Method: tt.method, Path: tt.path, Token: tok, Body: tt.body})
			wantError(t, r, tt.want, tt.msg)
			if after := c.snapshot(t, admin); after != before {
				t.Errorf("a rejected call changed the state:\n%s", apitest.LineDiff(before, after))
				before = after
			}
		})
	}
}

func TestUnknownRoutes(t *testing.T) {
	c := newCloud(t)
	admin := c.adminToken(t)
	tests := []struct {
		method, path string
		token        string
		want         int
		allow        string // for 405, a method the Allow header must list
	}{
		{"GET", "/v3/nope", "", http.StatusNotFound, ""},
		{"GET", "/v2.0/tokens", "", http.StatusNotFound, ""},
		{"GET", "/v3/projects/x/y/z", admin, http.StatusNotFound, ""},
		{"GET", "/v3/projects/nope", admin, http.StatusNotFound, ""},
		{"GET", "/v3/users/nope", admin, http.StatusNotFound, ""},
		{"PUT", "/v3/auth/tokens", "", http.StatusMethodNotAllowed, "POST"},
		{"PATCH", "/v3/projects", admin, http.StatusMethodNotAllowed, "GET"},
		{"DELETE", "/v3/users", admin, http.StatusMethodNotAllowed, "POST"},
		{"POST", "/v3/projects/" + c.AdminProject.ID, admin, http.StatusMethodNotAllowed, "PATCH"},
		{"POST", "/", "", http.StatusMethodNotAllowed, "GET"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			before := c.snapshot(t, admin)
			r := c.Do(t, tt.method, tt.path, tt.token, nil)
			wantError(t, r, tt.want, "")
			if tt.allow != "" && !strings.Contains(r.Header.Get("Allow"), tt.allow) {
				t.Errorf("Allow = %q, want it to list %s", r.Header.Get("Allow"), tt.allow)
			}
			if after := c.snapshot(t, admin); after != before {
				t.Errorf("state changed:\n%s", apitest.LineDiff(before, after))
			}
		})
	}
}

// TestHarnessBootstrap checks the harness itself: the bootstrap made the
// admin and pointed the identity endpoints at the test server.
func TestHarnessBootstrap(t *testing.T) {
	c := newCloud(t)
	ctx := context.Background()
	u, err := c.Store.GetUserByName(ctx, "default", "admin")
	if err != nil || u.ID != c.Admin.ID {
		t.Fatalf("admin = %+v, %v", u, err)
	}
	eps, err := c.Store.ListEndpoints(ctx, "", "", "RegionOne", 0)
	if err != nil || len(eps) != 3 {
		t.Fatalf("endpoints = %+v, %v", eps, err)
	}
	for _, e := range eps {
		if e.URL != c.URL+"/v3" {
			t.Errorf("endpoint %s = %s, want the test server", e.Interface, e.URL)
		}
	}
}
