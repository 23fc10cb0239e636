package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gostack/gostack/internal/apitest"

	"github.com/gostack/gostack/identity"
	"github.com/gostack/gostack/identity/api"
	"github.com/gostack/gostack/identity/fernet"
	"github.com/gostack/gostack/identity/password"
	"github.com/gostack/gostack/identity/policy"
	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// adminPassword is the bootstrap admin's password in every test cloud.
const adminPassword = "admin-secret"

// cloud is a Keystone v3 API on an httptest server over a fresh,
// bootstrapped store: the admin user, the admin project, the reader,
// member and admin roles, RegionOne and the identity endpoints pointing
// at the server itself.
type cloud struct {
	apitest.Client
	Store        *identity.Store
	Auth         *identity.Auth
	Keys         *fernet.Repository
	Creds        *identity.Credentials
	Admin        identity.User
	AdminProject identity.Project
}

// newCloud starts a cloud on a SQLite database in t.TempDir().
func newCloud(t *testing.T) *cloud {
	t.Helper()
	return newCloudOn(t, "sqlite://"+filepath.Join(t.TempDir(), "identity.db"))
}

// newCloudOn starts a cloud on the empty database dsn.
func newCloudOn(t *testing.T, dsn string) *cloud {
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
	store := identity.NewStore(db, watch.New(db))
	keys, err := fernet.Setup(filepath.Join(t.TempDir(), "fernet-keys"), 3)
	if err != nil {
		t.Fatal(err)
	}
	auth := identity.NewAuth(store, &fernet.Formatter{Keys: keys})
	auth.Hasher = password.Hasher{Rounds: 4} // bcrypt's minimum: fast tests
	enf := policy.New()
	if err := enf.Register(policy.KeystoneDefaults()...); err != nil {
		t.Fatal(err)
	}
	credKeys, err := fernet.Setup(filepath.Join(t.TempDir(), "credential-keys"), 3)
	if err != nil {
		t.Fatal(err)
	}
	creds := &identity.Credentials{Store: store, Keys: credKeys}
	auth.Credentials = creds
	srv := httptest.NewServer((&api.API{Auth: auth, Store: store, Policy: enf, Credentials: creds}).Handler())
	t.Cleanup(srv.Close)
	v3 := srv.URL + "/v3"
	admin, err := identity.Bootstrap(ctx, store, auth.Hasher, identity.BootstrapConfig{
		AdminPassword: adminPassword, PublicURL: v3, InternalURL: v3, AdminURL: v3,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := auth.LoadRevocations(ctx); err != nil {
		t.Fatal(err)
	}
	proj, err := store.GetProjectByName(ctx, identity.DefaultDomainID, "admin")
	if err != nil {
		t.Fatal(err)
	}
	return &cloud{Client: apitest.Client{URL: srv.URL}, Store: store, Auth: auth, Keys: keys, Creds: creds, Admin: admin, AdminProject: proj}
}

// ---- requests ----

// call and reply are the requests of these tests (internal/apitest);
// cloud's embedded apitest.Client sends them (Call, Do, Must).
type (
	call  = apitest.Call
	reply = apitest.Reply
)

// ---- tokens ----

// passwordAuth is a POST /v3/auth/tokens body for a user of the Default
// domain, by name. scope is nil (no scope), "unscoped", or a scope object.
func passwordAuth(user, pw string, scope any) map[string]any {
	a := map[string]any{"identity": map[string]any{
		"methods": []string{"password"},
		"password": map[string]any{"user": map[string]any{
			"name": user, "domain": map[string]any{"name": "Default"}, "password": pw,
		}},
	}}
	if scope != nil {
		a["scope"] = scope
	}
	return map[string]any{"auth": a}
}

func projectScope(id string) map[string]any {
	return map[string]any{"project": map[string]any{"id": id}}
}

func domainScope(id string) map[string]any {
	return map[string]any{"domain": map[string]any{"id": id}}
}

var systemScope = map[string]any{"system": map[string]any{"all": true}}

// issue posts an auth body to /v3/auth/tokens (with query, e.g.
// "?nocatalog").
func (c *cloud) issue(t *testing.T, body any, query string) reply {
	t.Helper()
	return c.Call(t, call{Method: "POST", Path: "/v3/auth/tokens" + query, Body: body})
}

// token returns the X-Subject-Token of a successful password
// authentication.
func (c *cloud) token(t *testing.T, user, pw string, scope any) string {
	t.Helper()
	r := c.issue(t, passwordAuth(user, pw, scope), "")
	if r.Code != http.StatusCreated {
		t.Fatalf("authenticate %s: %s", user, r)
	}
	tok := r.Header.Get("X-Subject-Token")
	if tok == "" {
		t.Fatalf("authenticate %s: no X-Subject-Token", user)
	}
	return tok
}

// adminToken is a system-scoped token of the bootstrap admin.
func (c *cloud) adminToken(t *testing.T) string {
	t.Helper()
	return c.token(t, "admin", adminPassword, systemScope)
}

// ---- fixtures, made through the API ----

// roleID returns the id of a global role (reader, member, admin).
func (c *cloud) roleID(t *testing.T, name string) string {
	t.Helper()
	r, err := c.Store.GetRoleByName(context.Background(), "", name)
	if err != nil {
		t.Fatal(err)
	}
	return r.ID
}

func (c *cloud) mkProject(t *testing.T, admin, name, domainID string) string {
	t.Helper()
	b := c.Must(t, http.StatusCreated, "POST", "/v3/projects", admin,
		map[string]any{"project": map[string]any{"name": name, "domain_id": domainID}})
	return str(t, b, "project.id")
}

func (c *cloud) mkUser(t *testing.T, admin, name, pw, domainID string) string {
	t.Helper()
	b := c.Must(t, http.StatusCreated, "POST", "/v3/users", admin,
		map[string]any{"user": map[string]any{"name": name, "password": pw, "domain_id": domainID}})
	return str(t, b, "user.id")
}

// grant gives user the named role on target ("projects/<id>",
// "domains/<id>" or "system").
func (c *cloud) grant(t *testing.T, admin, target, userID, role string) {
	t.Helper()
	c.Must(t, http.StatusNoContent, "PUT", "/v3/"+target+"/users/"+userID+"/roles/"+c.roleID(t, role), admin, nil)
}

// ---- JSON ----

// at walks v along a dotted path; numeric parts index arrays. It returns
// nil when the path does not exist.
func at(v any, path string) any {
	for _, k := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[k]
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

func has(v any, path string) bool {
	i := strings.LastIndex(path, ".")
	parent := v
	if i >= 0 {
		parent = at(v, path[:i])
	}
	m, ok := parent.(map[string]any)
	if !ok {
		return false
	}
	_, ok = m[path[i+1:]]
	return ok
}

// str returns the string at path, failing the test when there is none.
func str(t *testing.T, v any, path string) string {
	t.Helper()
	s, ok := at(v, path).(string)
	if !ok {
		t.Fatalf("%s: not a string: %v", path, at(v, path))
	}
	return s
}

// list returns the array at path, failing the test when there is none.
func list(t *testing.T, v any, path string) []any {
	t.Helper()
	l, ok := at(v, path).([]any)
	if !ok {
		t.Fatalf("%s: not an array: %v", path, at(v, path))
	}
	return l
}

// ids returns the sorted values of key in the objects of the array at
// path.
func ids(t *testing.T, v any, path, key string) []string {
	t.Helper()
	var out []string
	for _, x := range list(t, v, path) {
		s, _ := at(x, key).(string)
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// wantError checks a Keystone error body:
// {"error":{"code":N,"title":"...","message":"..."}}, with a message
// containing msg.
func wantError(t *testing.T, r reply, code int, msg string) {
	t.Helper()
	if r.Code != code {
		t.Fatalf("status = %s, want %d", r, code)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q", ct)
	}
	var body struct {
		Error *struct {
			Code    *int    `json:"code"`
			Title   *string `json:"title"`
			Message *string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil || body.Error == nil ||
		body.Error.Code == nil || body.Error.Title == nil || body.Error.Message == nil {
		t.Fatalf("not a Keystone error body: %s", r.Body)
	}
	if *body.Error.Code != code || *body.Error.Title != http.StatusText(code) {
		t.Errorf("error code/title = %d %q, want %d %q", *body.Error.Code, *body.Error.Title, code, http.StatusText(code))
	}
	if !strings.Contains(*body.Error.Message, msg) {
		t.Errorf("error message = %q, want it to contain %q", *body.Error.Message, msg)
	}
}

// ---- state ----

// snapshot renders everything an API call could change, read through an
// admin token (plus password hashes and token validity, which the API
// does not show), so a test can prove a rejected call changed nothing.
// tokens are checked with HEAD /v3/auth/tokens.
func (c *cloud) snapshot(t *testing.T, admin string, tokens ...string) string {
	t.Helper()
	var b strings.Builder
	section := func(path, key string) map[string]any {
		m := c.Must(t, http.StatusOK, "GET", path, admin, nil)
		items := list(t, m, key)
		lines := make([]string, 0, len(items))
		for _, it := range items {
			j, _ := json.Marshal(it)
			lines = append(lines, string(j))
		}
		slices.Sort(lines) // list order is not part of the API
		fmt.Fprintf(&b, "%s\n  %s\n", path, strings.Join(lines, "\n  "))
		return m
	}
	for _, p := range [][2]string{
		{"/v3/domains", "domains"}, {"/v3/projects", "projects"}, {"/v3/groups", "groups"},
		{"/v3/roles", "roles"}, {"/v3/role_assignments", "role_assignments"},
		{"/v3/regions", "regions"}, {"/v3/services", "services"}, {"/v3/endpoints", "endpoints"},
		{"/v3/credentials", "credentials"}, {"/v3/OS-TRUST/trusts", "trusts"},
		{"/v3/OS-EP-FILTER/endpoint_groups", "endpoint_groups"}, {"/v3/policies", "policies"},
	} {
		section(p[0], p[1])
	}
	for _, id := range ids(t, c.Must(t, http.StatusOK, "GET", "/v3/projects", admin, nil), "projects", "id") {
		section("/v3/OS-EP-FILTER/projects/"+id+"/endpoints", "endpoints")
		section("/v3/OS-EP-FILTER/projects/"+id+"/endpoint_groups", "endpoint_groups")
	}
	users := section("/v3/users", "users")
	for _, id := range ids(t, users, "users", "id") {
		section("/v3/users/"+id+"/application_credentials", "application_credentials")
		u, err := c.Store.GetUser(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "password of %s: %s\n", id, u.PasswordHash)
	}
	for i, tok := range tokens {
		r := c.Call(t, call{Method: "HEAD", Path: "/v3/auth/tokens", Token: admin, Subject: tok})
		fmt.Fprintf(&b, "token %d: %d\n", i, r.Code)
	}
	return b.String()
}

// tokenMethodsOf is the sorted "methods" of a token reply (201).
func tokenMethodsOf(t *testing.T, r reply) []string {
	t.Helper()
	if r.Code != http.StatusCreated {
		t.Fatalf("want a token: %s", r)
	}
	var ms []string
	for _, m := range list(t, r.JSON(t), "token.methods") {
		ms = append(ms, m.(string))
	}
	slices.Sort(ms)
	return ms
}
