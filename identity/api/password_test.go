package api_test

import (
	"bytes"
	"net/http"
	"os/exec"
	"strings"
	"testing"

	"github.com/gostack/gostack/internal/apitest"
	"github.com/gostack/gostack/internal/testenv"
)

// TestChangePassword: POST /v3/users/{id}/password as Keystone 22 answers
// it — no token and no policy, the original password authorizes the
// change (so an admin's token does not do without it, and whoever knows
// it may change it), every token of the user revoked. Statuses and
// messages are those a Keystone 22 answered.
func TestChangePassword(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			c := newCloudOn(t, e.DSN)
			admin := c.adminToken(t)
			p := c.mkProject(t, admin, "p", "default")
			u := c.mkUser(t, admin, "u", "old-pw", "default")
			other := c.mkUser(t, admin, "other", "other-pw", "default")
			c.grant(t, admin, "projects/"+p, u, "member")
			c.grant(t, admin, "projects/"+p, other, "member")
			path := "/v3/users/" + u + "/password"
			change := func(token, original, pw string) reply {
				return c.Call(t, call{Method: "POST", Path: path, Token: token,
					Body: map[string]any{"user": map[string]any{"original_password": original, "password": pw}}})
			}
			uTok := c.token(t, "u", "old-pw", projectScope(p))

			before := c.snapshot(t, admin, uTok)
			generic := "The request you have made requires authentication."
			wantError(t, change(admin, "wrong", "x"), 401, generic)
			wantError(t, change("", "wrong", "x"), 401, generic)
			wantError(t, c.Call(t, call{Method: "POST", Path: path, Token: admin, Body: `{"user":{"password":"x"}}`}), 400,
				"'original_password' is a required property")
			wantError(t, c.Call(t, call{Method: "POST", Path: "/v3/users/nope/password",
				Body: `{"user":{"original_password":"old-pw","password":"x"}}`}), 401, generic)
			wantError(t, c.Call(t, call{Method: "POST", Path: path, Token: "not-a-token",
				Body: `{"user":{"original_password":"old-pw","password":"x"}}`}), 401, generic)
			if r := c.Do(t, "GET", path, admin, nil); r.Code != http.StatusMethodNotAllowed {
				t.Errorf("GET %s = %s, want 405", path, r)
			}
			if after := c.snapshot(t, admin, uTok); after != before {
				t.Errorf("refused changes changed the state:\n%s", apitest.LineDiff(before, after))
			}

			// No token: the original password is enough. The user's token
			// goes, the new password works, the old one does not.
			if r := change("", "old-pw", "new-pw"); r.Code != http.StatusNoContent {
				t.Fatalf("change without a token: %s", r)
			}
			wantError(t, c.Call(t, call{Method: "GET", Path: "/v3/auth/tokens", Token: admin, Subject: uTok}), 404, "")
			wantError(t, c.issue(t, passwordAuth("u", "old-pw", nil), ""), 401, "")
			c.token(t, "u", "new-pw", projectScope(p))

			// Another user's token with the original password: authorized
			// by the password, as in Keystone.
			otherTok := c.token(t, "other", "other-pw", projectScope(p))
			if r := change(otherTok, "new-pw", "newer-pw"); r.Code != http.StatusNoContent {
				t.Errorf("change with another user's token and the original password: %s", r)
			}
			// Keystone's schema takes the empty string as a password.
			if r := change(admin, "newer-pw", ""); r.Code != http.StatusNoContent {
				t.Errorf("change to the empty password: %s", r)
			}
			c.token(t, "u", "", projectScope(p))

			// A disabled user: Keystone's own 401 once the password is right.
			c.Must(t, http.StatusOK, "PATCH", "/v3/users/"+u, admin, map[string]any{"user": map[string]any{"enabled": false}})
			wantError(t, change("", "", "again"), 401, "The account is disabled for user: "+u+".")
			wantError(t, change("", "wrong", "again"), 401, generic)
		})
	}
}

// TestChangePasswordBadInput: Keystone's password_change schema, each
// refusal a 400 that changes nothing.
func TestChangePasswordBadInput(t *testing.T) {
	c := newCloud(t)
	admin := c.adminToken(t)
	u := c.mkUser(t, admin, "u", "pw", "default")
	path := "/v3/users/" + u + "/password"
	before := c.snapshot(t, admin)
	for _, tt := range []struct{ name, body, msg string }{
		{"empty body", ``, "request body is empty"},
		{"malformed", `{"user":`, "not valid JSON"},
		{"no user", `{}`, "'original_password' is a required property"},
		{"user null", `{"user":null}`, "'original_password' is a required property"},
		{"user a string", `{"user":"u"}`, "user"},
		{"no password", `{"user":{"original_password":"pw"}}`, "'password' is a required property"},
		{"password null", `{"user":{"original_password":"pw","password":null}}`, "'user.password'"},
		{"password a number", `{"user":{"original_password":"pw","password":5}}`, "'user.password'"},
		{"original a list", `{"user":{"original_password":["pw"],"password":"x"}}`, "'user.original_password'"},
		{"another member", `{"user":{"original_password":"pw","password":"x","name":"u"}}`, "Additional properties are not allowed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, c.Call(t, call{Method: "POST", Path: path, Body: tt.body}), 400, tt.msg)
		})
	}
	if after := c.snapshot(t, admin); after != before {
		t.Errorf("refused changes changed the state:\n%s", apitest.LineDiff(before, after))
	}
}

// TestOpenStackCLIUserPasswordSet is the client proof: a user changes
// their own password with openstack user password set, and the CLI
// prints Keystone's 401 for a wrong original password.
func TestOpenStackCLIUserPasswordSet(t *testing.T) {
	bin := testenv.LookPath(t, "openstack", "python3-openstackclient")
	c := newCloud(t)
	admin := c.adminToken(t)
	p := c.mkProject(t, admin, "p", "default")
	u := c.mkUser(t, admin, "cli-u", "cli-old", "default")
	c.grant(t, admin, "projects/"+p, u, "member")
	as := func(pw string, args ...string) (string, error) {
		cmd := exec.Command(bin, args...)
		cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir(), "OS_AUTH_URL=" + c.URL + "/v3", "OS_IDENTITY_API_VERSION=3",
			"OS_USERNAME=cli-u", "OS_PASSWORD=" + pw, "OS_PROJECT_NAME=p", "OS_USER_DOMAIN_NAME=Default", "OS_PROJECT_DOMAIN_NAME=Default"}
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return out.String(), err
	}
	if out, err := as("cli-old", "user", "password", "set", "--original-password", "wrong", "--password", "cli-new"); err == nil ||
		!strings.Contains(out, "HTTP 401") {
		t.Errorf("user password set with a wrong original password: %v\n%s", err, out)
	}
	if out, err := as("cli-old", "user", "password", "set", "--original-password", "cli-old", "--password", "cli-new"); err != nil {
		t.Fatalf("user password set: %v\n%s", err, out)
	}
	if out, err := as("cli-new", "token", "issue"); err != nil {
		t.Errorf("token issue with the new password: %v\n%s", err, out)
	}
	if out, err := as("cli-old", "token", "issue"); err == nil {
		t.Errorf("token issue with the old password succeeded:\n%s", out)
	}
}
