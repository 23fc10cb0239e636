package api_test

import (
	"encoding/json"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gostack/gostack/identity"
	"github.com/gostack/gostack/internal/apitest"
	"github.com/gostack/gostack/internal/testenv"
)

// optionsJSON renders the options of a user body for comparison.
func optionsJSON(t *testing.T, u any, path string) string {
	t.Helper()
	b, err := json.Marshal(at(u, path))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestUserOptions stores, shows, merges and removes Keystone's user
// options on both engines, and drives each option's effect on the
// security compliance checks.
func TestUserOptions(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			c := newCloudOn(t, e.DSN)
			now := setClock(c)
			admin := c.adminToken(t)
			advance := func(d time.Duration) {
				*now = now.Add(d)
				admin = c.adminToken(t)
			}
			login := func(user, pw string) reply { return c.issue(t, passwordAuth(user, pw, nil), "") }
			change := func(id, original, pw string) reply {
				return c.Call(t, call{Method: "POST", Path: "/v3/users/" + id + "/password",
					Body: map[string]any{"user": map[string]any{"original_password": original, "password": pw}}})
			}
			patch := func(id string, user map[string]any) map[string]any {
				return c.Must(t, http.StatusOK, "PATCH", "/v3/users/"+id, admin, map[string]any{"user": user})
			}
			ok := func(t *testing.T, r reply, code int) {
				t.Helper()
				if r.Code != code {
					t.Fatalf("%s, want %d", r, code)
				}
			}

			t.Run("stored, shown, merged, removed", func(t *testing.T) {
				u := c.Must(t, http.StatusCreated, "POST", "/v3/users", admin, map[string]any{"user": map[string]any{"name": "opt",
					"options": map[string]any{"ignore_password_expiry": true, "lock_password": false,
						"multi_factor_auth_enabled": false, "multi_factor_auth_rules": [][]string{{"password", "totp"}, {"password"}}}}})
				id := str(t, u, "user.id")
				want := `{"ignore_password_expiry":true,"lock_password":false,"multi_factor_auth_enabled":false,"multi_factor_auth_rules":[["password","totp"],["password"]]}`
				if got := optionsJSON(t, u, "user.options"); got != want {
					t.Errorf("create: options %s, want %s", got, want)
				}
				if got := optionsJSON(t, c.Must(t, http.StatusOK, "GET", "/v3/users/"+id, admin, nil), "user.options"); got != want {
					t.Errorf("show: options %s, want %s", got, want)
				}
				us := c.Must(t, http.StatusOK, "GET", "/v3/users?name=opt", admin, nil)
				if got := optionsJSON(t, us, "users.0.options"); got != want {
					t.Errorf("list: options %s, want %s", got, want)
				}
				// PATCH sets what it names, removes what it names null,
				// keeps the rest.
				got := optionsJSON(t, patch(id, map[string]any{"options": map[string]any{"lock_password": true, "ignore_password_expiry": nil,
					"ignore_user_inactivity": true, "multi_factor_auth_rules": []any{}}}), "user.options")
				want = `{"ignore_user_inactivity":true,"lock_password":true,"multi_factor_auth_enabled":false,"multi_factor_auth_rules":[]}`
				if got != want {
					t.Errorf("update: options %s, want %s", got, want)
				}
				// A PATCH without options leaves them.
				if got := optionsJSON(t, patch(id, map[string]any{"description": "d"}), "user.options"); got != want {
					t.Errorf("update without options: %s, want %s", got, want)
				}
				// Everything removed is {} (multi_factor_auth_enabled may
				// go: no rules are left to enforce).
				// to enforce); everything removed is {}.
				got = optionsJSON(t, patch(id, map[string]any{"options": map[string]any{"lock_password": nil, "ignore_user_inactivity": nil,
					"multi_factor_auth_rules": nil, "multi_factor_auth_enabled": nil}}), "user.options")
				if got != "{}" {
					t.Errorf("all removed: options %s", got)
				}
				if got := optionsJSON(t, c.Must(t, http.StatusOK, "GET", "/v3/users/"+c.Admin.ID, admin, nil), "user.options"); got != "{}" {
					t.Errorf("a user without options shows %s", got)
				}
			})

			t.Run("ignore_lockout_failure_attempts", func(t *testing.T) {
				comply(t, c, identity.Compliance{LockoutFailureAttempts: 1})
				defer comply(t, c, identity.Compliance{})
				id := c.mkUser(t, admin, "lockx", "lockx-pw", "default")
				patch(id, map[string]any{"options": map[string]any{"ignore_lockout_failure_attempts": true}})
				for range 3 {
					wantError(t, login("lockx", "bad"), 401, "The request you have made requires authentication.")
				}
				ok(t, login("lockx", "lockx-pw"), 201)
				patch(id, map[string]any{"options": map[string]any{"ignore_lockout_failure_attempts": false}})
				wantError(t, login("lockx", "bad"), 401, "The request you have made requires authentication.")
				wantError(t, login("lockx", "lockx-pw"), 401, "The request you have made requires authentication.") // locked
			})

			t.Run("ignore_password_expiry", func(t *testing.T) {
				comply(t, c, identity.Compliance{PasswordExpiresDays: 1})
				defer comply(t, c, identity.Compliance{})
				// Set with the password: it gets no expiry.
				u := c.Must(t, http.StatusCreated, "POST", "/v3/users", admin, map[string]any{"user": map[string]any{"name": "noexp",
					"password": "noexp-pw", "options": map[string]any{"ignore_password_expiry": true}}})
				if got := at(u, "user.password_expires_at"); got != nil {
					t.Errorf("password_expires_at = %v with ignore_password_expiry", got)
				}
				// Set after the password: its expiry is not enforced while
				// the option is on.
				id := c.mkUser(t, admin, "exp2", "exp2-pw", "default")
				patch(id, map[string]any{"options": map[string]any{"ignore_password_expiry": true}})
				advance(2 * 24 * time.Hour)
				ok(t, login("noexp", "noexp-pw"), 201)
				ok(t, login("exp2", "exp2-pw"), 201)
				patch(id, map[string]any{"options": map[string]any{"ignore_password_expiry": nil}})
				wantError(t, login("exp2", "exp2-pw"), 401, "The password is expired and needs to be changed for user: "+id+".")
			})

			t.Run("ignore_change_password_upon_first_use", func(t *testing.T) {
				comply(t, c, identity.Compliance{ChangePasswordUponFirstUse: true})
				defer comply(t, c, identity.Compliance{})
				u := c.Must(t, http.StatusCreated, "POST", "/v3/users", admin, map[string]any{"user": map[string]any{"name": "first2",
					"password": "f1", "options": map[string]any{"ignore_change_password_upon_first_use": true}}})
				id := str(t, u, "user.id")
				ok(t, login("first2", "f1"), 201)
				patch(id, map[string]any{"password": "f2"})
				ok(t, login("first2", "f2"), 201)
				patch(id, map[string]any{"password": "f3", "options": map[string]any{"ignore_change_password_upon_first_use": false}})
				wantError(t, login("first2", "f3"), 401, "The password is expired and needs to be changed for user: "+id+".")
			})

			t.Run("lock_password", func(t *testing.T) {
				id := c.mkUser(t, admin, "locked", "l1", "default")
				patch(id, map[string]any{"options": map[string]any{"lock_password": true}})
				before := c.snapshot(t, admin)
				wantError(t, change(id, "l1", "l2"), 400, "You cannot change your password at this time due to password policy disallowing password changes. "+
					"Please contact your administrator to reset your password.")
				if after := c.snapshot(t, admin); after != before {
					t.Errorf("a refused change changed the state:\n%s", apitest.LineDiff(before, after))
				}
				ok(t, login("locked", "l1"), 201)
				wantError(t, change(id, "bad", "l2"), 401, "The request you have made requires authentication.") // the original is checked first
				patch(id, map[string]any{"password": "l3"})                                                      // an administrator may reset it
				ok(t, login("locked", "l3"), 201)
				patch(id, map[string]any{"options": map[string]any{"lock_password": false}})
				ok(t, change(id, "l3", "l4"), 204)
				ok(t, login("locked", "l4"), 201)
			})
		})
	}
}

// TestUserOptionsBadInput sends options Keystone's schema or validators
// refuse, and multi-factor rules in force that name a method gostack
// does not serve, on
// create and update: each is a 400 that changes nothing.
func TestUserOptionsBadInput(t *testing.T) {
	c := newCloud(t)
	admin := c.adminToken(t)
	id := c.mkUser(t, admin, "bad", "bad-pw", "default")
	c.Must(t, http.StatusOK, "PATCH", "/v3/users/"+id, admin, map[string]any{"user": map[string]any{"options": map[string]any{
		"multi_factor_auth_enabled": false, "multi_factor_auth_rules": [][]string{{"password", "totp"}}}}})
	mfa := `"totp" is not an authentication method gostack serves (password, token, application_credential)`
	for _, tc := range []struct {
		name, options, msg string
		on                 string // "create", "update" or both when empty
	}{
		{"null", `null`, "None is not of type 'object'", ""},
		{"not an object", `"x"`, "options", ""},
		{"an array", `[]`, "options", ""},
		{"unknown option", `{"ignore_everything": true}`, "Additional properties are not allowed ('ignore_everything' was unexpected)", ""},
		{"string for boolean", `{"lock_password": "true"}`, `"true" is not of type 'boolean'`, ""},
		{"number for boolean", `{"ignore_password_expiry": 1}`, `1 is not of type 'boolean'`, ""},
		{"rules a string", `{"multi_factor_auth_enabled": false, "multi_factor_auth_rules": "password"}`, "is not a list of lists of strings", ""},
		{"rules of strings", `{"multi_factor_auth_enabled": false, "multi_factor_auth_rules": ["password"]}`, "is not a list of lists of strings", ""},
		{"rule with null", `{"multi_factor_auth_enabled": false, "multi_factor_auth_rules": [["password", null]]}`, "is not a list of lists of strings", ""},
		{"null rule", `{"multi_factor_auth_enabled": false, "multi_factor_auth_rules": [null]}`, "is not a list of lists of strings", ""},
		{"rule with number", `{"multi_factor_auth_enabled": false, "multi_factor_auth_rules": [["password", 1]]}`, "is not a list of lists of strings", ""},
		{"empty rule", `{"multi_factor_auth_enabled": false, "multi_factor_auth_rules": [[]]}`, "Sub-lists may not be duplicated", ""},
		{"method twice", `{"multi_factor_auth_enabled": false, "multi_factor_auth_rules": [["password", "password"]]}`, "Strings in sub-lists may not be duplicated", ""},
		{"rule twice", `{"multi_factor_auth_enabled": false, "multi_factor_auth_rules": [["totp"], ["totp"]]}`, "Sub-lists may not be duplicated", ""},
		{"rules in force naming totp", `{"multi_factor_auth_rules": [["password", "totp"]]}`, mfa, "create"},
		{"rules in force naming totp, enabled", `{"multi_factor_auth_enabled": true, "multi_factor_auth_rules": [["password"], ["totp"]]}`, mfa, ""},
		{"stored rules put in force", `{"multi_factor_auth_enabled": true}`, mfa, "update"},
		{"stored rules put in force by null", `{"multi_factor_auth_enabled": null}`, mfa, "update"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := c.snapshot(t, admin)
			if tc.on != "update" {
				r := c.Do(t, "POST", "/v3/users", admin, json.RawMessage(`{"user": {"name": "new", "options": `+tc.options+`}}`))
				wantError(t, r, 400, tc.msg)
			}
			if tc.on != "create" {
				r := c.Do(t, "PATCH", "/v3/users/"+id, admin, json.RawMessage(`{"user": {"options": `+tc.options+`}}`))
				wantError(t, r, 400, tc.msg)
			}
			if after := c.snapshot(t, admin); after != before {
				t.Errorf("a refused body changed the state:\n%s", apitest.LineDiff(before, after))
			}
		})
	}
}

// TestOpenStackCLIUserOptions is the client proof: openstack user
// create/set with openstackclient 6.0's option flags, user show printing
// them, user password set printing Keystone's refusal for a locked
// password, user set --enable-multi-factor-auth (rules naming totp) and
// role create --immutable printing their 400s.
func TestOpenStackCLIUserOptions(t *testing.T) {
	bin := testenv.LookPath(t, "openstack", "python3-openstackclient")
	c := newCloud(t)
	admin := c.adminToken(t)
	comply(t, c, identity.Compliance{PasswordExpiresDays: 30, LockoutFailureAttempts: 1})
	p := c.mkProject(t, admin, "p", "default")
	var u map[string]any
	c.openstackJSON(t, bin, &u, "user", "create", "ou", "--password", "ou-pw-1", "--ignore-password-expiry",
		"--ignore-lockout-failure-attempts", "--disable-multi-factor-auth", "--multi-factor-auth-rule", "password,totp")
	want := `{"ignore_lockout_failure_attempts":true,"ignore_password_expiry":true,"multi_factor_auth_enabled":false,"multi_factor_auth_rules":[["password","totp"]]}`
	if got := optionsJSON(t, u, "options"); got != want || u["password_expires_at"] != nil {
		t.Fatalf("user create: options %s (want %s), password_expires_at %v", got, want, u["password_expires_at"])
	}
	c.grant(t, admin, "projects/"+p, u["id"].(string), "member")
	c.openstack(t, bin, "user", "set", "ou", "--no-ignore-lockout-failure-attempts", "--enable-lock-password",
		"--ignore-change-password-upon-first-use")
	var shown map[string]any
	c.openstackJSON(t, bin, &shown, "user", "show", "ou")
	want = `{"ignore_change_password_upon_first_use":true,"ignore_lockout_failure_attempts":false,"ignore_password_expiry":true,` +
		`"lock_password":true,"multi_factor_auth_enabled":false,"multi_factor_auth_rules":[["password","totp"]]}`
	if got := optionsJSON(t, shown, "options"); got != want {
		t.Fatalf("user show: options %s, want %s", got, want)
	}
	run := func(env []string, args ...string) (string, error) {
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	userEnv := []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir(), "OS_AUTH_URL=" + c.URL + "/v3", "OS_IDENTITY_API_VERSION=3",
		"OS_USERNAME=ou", "OS_PASSWORD=ou-pw-1", "OS_PROJECT_NAME=p", "OS_USER_DOMAIN_NAME=Default", "OS_PROJECT_DOMAIN_NAME=Default"}
	out, err := run(userEnv, "user", "password", "set", "--original-password", "ou-pw-1", "--password", "ou-pw-2")
	if err == nil || !strings.Contains(out, "You cannot change your password at this time due to password policy disallowing password changes.") ||
		!strings.Contains(out, "HTTP 400") {
		t.Errorf("user password set with lock_password: %v\n%s", err, out)
	}
	out, err = run(c.openstackEnv(t), "user", "set", "ou", "--enable-multi-factor-auth")
	if err == nil || !strings.Contains(out, `"totp" is not an authentication method gostack serves`) || !strings.Contains(out, "HTTP 400") {
		t.Errorf("user set --enable-multi-factor-auth: %v\n%s", err, out)
	}
	out, err = run(c.openstackEnv(t), "role", "create", "frozen", "--immutable")
	if err == nil || !strings.Contains(out, "gostack does not keep the immutable resource option") || !strings.Contains(out, "HTTP 400") {
		t.Errorf("role create --immutable: %v\n%s", err, out)
	}
	c.openstack(t, bin, "user", "set", "ou", "--disable-lock-password")
	if out, err := run(userEnv, "user", "password", "set", "--original-password", "ou-pw-1", "--password", "ou-pw-2"); err != nil {
		t.Errorf("user password set after --disable-lock-password: %v\n%s", err, out)
	}
}

// TestImmutableOptionRefused: domains, projects and roles take Keystone's
// one resource option, immutable, only as false or null — gostack does
// not keep it, so immutable true is a 400 that changes nothing, as is any
// other option.
func TestImmutableOptionRefused(t *testing.T) {
	c := newCloud(t)
	admin := c.adminToken(t)
	role := str(t, c.Must(t, http.StatusCreated, "POST", "/v3/roles", admin, map[string]any{"role": map[string]any{"name": "r0"}}), "role.id")
	bodies := map[string]func(options string) (string, string, json.RawMessage){
		"domain create": func(o string) (string, string, json.RawMessage) {
			return "POST", "/v3/domains", json.RawMessage(`{"domain": {"name": "d1", "options": ` + o + `}}`)
		},
		"project create": func(o string) (string, string, json.RawMessage) {
			return "POST", "/v3/projects", json.RawMessage(`{"project": {"name": "p1", "options": ` + o + `}}`)
		},
		"role create": func(o string) (string, string, json.RawMessage) {
			return "POST", "/v3/roles", json.RawMessage(`{"role": {"name": "r1", "options": ` + o + `}}`)
		},
		"role update": func(o string) (string, string, json.RawMessage) {
			return "PATCH", "/v3/roles/" + role, json.RawMessage(`{"role": {"options": ` + o + `}}`)
		},
	}
	for name, body := range bodies {
		for _, tc := range []struct{ options, msg string }{
			{`{"immutable": true}`, "gostack does not keep the immutable resource option"},
			{`{"immutable": "yes"}`, `"yes" is not of type 'boolean'`},
			{`{"sticky": true}`, "Additional properties are not allowed ('sticky' was unexpected)"},
			{`null`, "None is not of type 'object'"},
		} {
			t.Run(name+" "+tc.options, func(t *testing.T) {
				before := c.snapshot(t, admin)
				method, path, b := body(tc.options)
				wantError(t, c.Do(t, method, path, admin, b), 400, tc.msg)
				if after := c.snapshot(t, admin); after != before {
					t.Errorf("a refused body changed the state:\n%s", apitest.LineDiff(before, after))
				}
			})
		}
	}
	r := c.Must(t, http.StatusCreated, "POST", "/v3/roles", admin, json.RawMessage(`{"role": {"name": "r2", "options": {"immutable": false}}}`))
	if got := optionsJSON(t, r, "role.options"); got != "{}" {
		t.Errorf("a role created with immutable false shows options %s", got)
	}
}
