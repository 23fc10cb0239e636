package api_test

import (
	"encoding/base32"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gostack/gostack/identity"
	"github.com/gostack/gostack/identity/fernet"
	"github.com/gostack/gostack/internal/testenv"
)

// withTOTP serves totp as Keystone does once [auth] methods lists it
// (after its defaults, so the other methods keep their token bits).
func withTOTP(c *cloud) {
	methods := append(slices.Clone(fernet.DefaultMethods), "totp")
	c.Store.AuthMethods, c.Auth.Tokens.Methods = methods, methods
}

// passcode is the TOTP passcode of secret steps 30-second steps ago.
func passcode(t *testing.T, secret string, steps int) string {
	t.Helper()
	codes, err := identity.TOTPPasscodes(secret, time.Now().Add(-time.Duration(steps)*30*time.Second), 0)
	if err != nil {
		t.Fatal(err)
	}
	return codes[0]
}

// TestTOTP: the totp method as Keystone's — refused while [auth] methods
// does not list it (and so are rules naming it); listed, a passcode of a
// user's totp credential, now or one step before
// (included_previous_windows 1), gives a token with the totp method,
// anything else the generic 401; a rule of password and totp is met
// across two requests with the receipt, and the token it gives rescopes.
func TestTOTP(t *testing.T) {
	c := newCloud(t)
	admin := c.adminToken(t)
	p := c.mkProject(t, admin, "tp", "default")
	id := c.mkUser(t, admin, "tu", "tu-pw", "default")
	c.grant(t, admin, "projects/"+p, id, "member")
	secret := base32.StdEncoding.EncodeToString([]byte("a totp secret of 24 bytes"))
	c.Must(t, http.StatusCreated, "POST", "/v3/credentials", admin, map[string]any{"credential": map[string]any{
		"type": "totp", "user_id": id, "blob": secret}})
	totp := func(code string, scope any) reply {
		t.Helper()
		a := map[string]any{"identity": map[string]any{"methods": []string{"totp"},
			"totp": map[string]any{"user": map[string]any{"name": "tu", "domain": map[string]any{"id": "default"}, "passcode": code}}}}
		if scope != nil {
			a["scope"] = scope
		}
		return c.issue(t, map[string]any{"auth": a}, "")
	}
	methodsOf := func(r reply) []string { t.Helper(); return tokenMethodsOf(t, r) }

	// Not listed in [auth] methods: as Keystone, no such method.
	wantError(t, totp(passcode(t, secret, 0), nil), 401, "Attempted to authenticate with an unsupported method.")
	wantError(t, c.Do(t, "PATCH", "/v3/users/"+id, admin, map[string]any{"user": map[string]any{"options": map[string]any{
		"multi_factor_auth_rules": [][]string{{"password", "totp"}}}}}), 400, `"totp" is not an authentication method gostack serves`)

	withTOTP(c)
	if got := methodsOf(totp(passcode(t, secret, 0), projectScope(p))); !slices.Equal(got, []string{"totp"}) {
		t.Errorf("token methods %v", got)
	}
	methodsOf(totp(passcode(t, secret, 1), nil)) // the step before: included_previous_windows 1
	generic := "The request you have made requires authentication."
	for name, code := range map[string]string{"two steps back": passcode(t, secret, 3), "wrong": "000000", "empty": "", "long": passcode(t, secret, 0) + "0"} {
		if code == passcode(t, secret, 0) || code == passcode(t, secret, 1) {
			continue // a collision with a valid code
		}
		r := totp(code, nil)
		if r.Code != http.StatusUnauthorized || !strings.Contains(string(r.Body), generic) {
			t.Errorf("%s passcode: %s", name, r)
		}
	}
	wantError(t, c.issue(t, map[string]any{"auth": map[string]any{"identity": map[string]any{"methods": []string{"totp"},
		"totp": map[string]any{"user": map[string]any{"id": id}}}}}, ""), 400, "'user' with a 'passcode' is required")
	// Another user's secret is not this user's.
	other := c.mkUser(t, admin, "tu2", "tu2-pw", "default")
	r := c.issue(t, map[string]any{"auth": map[string]any{"identity": map[string]any{"methods": []string{"totp"},
		"totp": map[string]any{"user": map[string]any{"id": other, "passcode": passcode(t, secret, 0)}}}}}, "")
	if r.Code != http.StatusUnauthorized {
		t.Errorf("another user with tu's passcode: %s", r)
	}

	// A rule of password and totp: the password alone is a receipt, the
	// receipt and the passcode a token of both, which rescopes.
	c.Must(t, http.StatusOK, "PATCH", "/v3/users/"+id, admin, map[string]any{"user": map[string]any{"options": map[string]any{
		"multi_factor_auth_rules": [][]string{{"password", "totp"}}}}})
	r = c.issue(t, passwordAuth("tu", "tu-pw", projectScope(p)), "")
	receipt := r.Header.Get("Openstack-Auth-Receipt")
	if r.Code != http.StatusUnauthorized || receipt == "" {
		t.Fatalf("password alone: %s", r)
	}
	if r := totp(passcode(t, secret, 0), nil); r.Code != http.StatusUnauthorized || r.Header.Get("Openstack-Auth-Receipt") == "" {
		t.Errorf("totp alone: %s", r) // a receipt too
	}
	r = c.Call(t, call{Method: "POST", Path: "/v3/auth/tokens", Header: map[string]string{"Openstack-Auth-Receipt": receipt},
		Body: map[string]any{"auth": map[string]any{"identity": map[string]any{"methods": []string{"totp"},
			"totp": map[string]any{"user": map[string]any{"id": id, "passcode": passcode(t, secret, 0)}}}, "scope": projectScope(p)}}})
	if got := methodsOf(r); !slices.Equal(got, []string{"password", "totp"}) {
		t.Errorf("receipt + totp: token methods %v", got)
	}
	tok := r.Header.Get("X-Subject-Token")
	r = c.issue(t, map[string]any{"auth": map[string]any{"identity": map[string]any{"methods": []string{"token"},
		"token": map[string]any{"id": tok}}, "scope": projectScope(p)}}, "")
	if got := methodsOf(r); !slices.Equal(got, []string{"password", "token", "totp"}) {
		t.Errorf("rescoped: token methods %v", got)
	}
	// The token's methods survive its validation (their bits, totp's the
	// seventh).
	v := c.Call(t, call{Method: "GET", Path: "/v3/auth/tokens", Header: map[string]string{"X-Auth-Token": admin, "X-Subject-Token": tok}})
	if got := methodsOf(reply{Code: http.StatusCreated, Body: v.Body}); !slices.Equal(got, []string{"password", "totp"}) {
		t.Errorf("validated: token methods %v (%s)", got, v)
	}
	// A disabled user's passcode is refused.
	c.Must(t, http.StatusOK, "PATCH", "/v3/users/"+id, admin, map[string]any{"user": map[string]any{"enabled": false,
		"options": map[string]any{"multi_factor_auth_rules": nil}}})
	if r := totp(passcode(t, secret, 0), nil); r.Code != http.StatusUnauthorized {
		t.Errorf("disabled user: %s", r)
	}
}

// TestOpenStackCLITOTP is the client proof: keystoneauth's v3totp plugin
// (openstack --os-auth-type v3totp --os-passcode) gets a project token.
func TestOpenStackCLITOTP(t *testing.T) {
	bin := testenv.LookPath(t, "openstack", "python3-openstackclient")
	c := newCloud(t)
	withTOTP(c)
	admin := c.adminToken(t)
	p := c.mkProject(t, admin, "p", "default")
	id := c.mkUser(t, admin, "cli", "cli-pw", "default")
	c.grant(t, admin, "projects/"+p, id, "member")
	secret := base32.StdEncoding.EncodeToString([]byte("the cli user's totp secret"))
	c.Must(t, http.StatusCreated, "POST", "/v3/credentials", admin, map[string]any{"credential": map[string]any{
		"type": "totp", "user_id": id, "blob": secret}})
	cmd := exec.Command(bin, "--os-auth-type", "v3totp", "--os-auth-url", c.URL+"/v3", "--os-identity-api-version", "3",
		"--os-username", "cli", "--os-user-domain-name", "Default", "--os-project-name", "p", "--os-project-domain-name", "Default",
		"--os-passcode", passcode(t, secret, 0), "token", "issue", "-f", "json")
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir()}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), `"project_id": "`+p+`"`) || !strings.Contains(string(out), `"user_id": "`+id+`"`) {
		t.Errorf("token issue with v3totp: %v\n%s", err, out)
	}
}
