package api_test

import (
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gostack/gostack/identity"
	"github.com/gostack/gostack/internal/apitest"
	"github.com/gostack/gostack/internal/testenv"
)

// setClock gives the cloud's Auth and Store one clock, starting now;
// advancing *now moves both.
func setClock(c *cloud) *time.Time {
	now := time.Now().UTC()
	clock := func() time.Time { return now }
	c.Auth.Now, c.Store.Now = clock, clock
	return &now
}

// comply sets the cloud's security compliance settings.
func comply(t *testing.T, c *cloud, x identity.Compliance) {
	t.Helper()
	if err := x.Validate(); err != nil {
		t.Fatal(err)
	}
	c.Store.Compliance = x
}

// TestSecurityCompliance drives each of Keystone's [security_compliance]
// options on both engines, with the statuses and messages a Keystone 22
// configured the same way answered.
func TestSecurityCompliance(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			c := newCloudOn(t, e.DSN)
			now := setClock(c)
			admin := c.adminToken(t)
			// advance moves the clock, and takes a new admin token (the
			// one before may have expired).
			advance := func(d time.Duration) {
				*now = now.Add(d)
				admin = c.adminToken(t)
			}
			generic := "The request you have made requires authentication."
			login := func(user, pw string) reply { return c.issue(t, passwordAuth(user, pw, nil), "") }
			change := func(id, original, pw string) reply {
				return c.Call(t, call{Method: "POST", Path: "/v3/users/" + id + "/password",
					Body: map[string]any{"user": map[string]any{"original_password": original, "password": pw}}})
			}
			reset := func(id, pw string) reply {
				return c.Do(t, "PATCH", "/v3/users/"+id, admin, map[string]any{"user": map[string]any{"password": pw}})
			}
			ok := func(t *testing.T, r reply, code int) {
				t.Helper()
				if r.Code != code {
					t.Fatalf("%s, want %d", r, code)
				}
			}

			t.Run("lockout_failure_attempts and lockout_duration", func(t *testing.T) {
				comply(t, c, identity.Compliance{LockoutFailureAttempts: 2, LockoutDuration: 10 * time.Minute})
				id := c.mkUser(t, admin, "lock", "lock-pw", "default")
				wantError(t, login("lock", "bad"), 401, generic)
				ok(t, login("lock", "lock-pw"), 201) // a success starts the count again
				wantError(t, login("lock", "bad"), 401, generic)
				wantError(t, login("lock", "bad"), 401, generic)
				wantError(t, login("lock", "lock-pw"), 401, generic)          // locked: Keystone's generic 401
				wantError(t, change(id, "lock-pw", "other-pw"), 401, generic) // the change is locked too
				advance(10*time.Minute + time.Second)
				ok(t, login("lock", "lock-pw"), 201)
				wantError(t, login("lock", "bad"), 401, generic)
				wantError(t, login("lock", "bad"), 401, generic)
				// Any update that leaves the user enabled unlocks them.
				c.Must(t, http.StatusOK, "PATCH", "/v3/users/"+id, admin, map[string]any{"user": map[string]any{"description": "d"}})
				ok(t, login("lock", "lock-pw"), 201)
				// Without a duration, a lockout lasts until such an update.
				comply(t, c, identity.Compliance{LockoutFailureAttempts: 1})
				wantError(t, login("lock", "bad"), 401, generic)
				advance(1000 * time.Hour)
				wantError(t, login("lock", "lock-pw"), 401, generic)
				c.Must(t, http.StatusOK, "PATCH", "/v3/users/"+id, admin, map[string]any{"user": map[string]any{"enabled": true}})
				ok(t, login("lock", "lock-pw"), 201)
				// gostack's own users are exempt.
				for range 3 {
					wantError(t, login("admin", "bad"), 401, generic)
				}
				ok(t, login("admin", adminPassword), 201)
			})

			t.Run("password_expires_days", func(t *testing.T) {
				comply(t, c, identity.Compliance{PasswordExpiresDays: 3})
				u := c.Must(t, http.StatusCreated, "POST", "/v3/users", admin, map[string]any{"user": map[string]any{"name": "exp", "password": "exp-pw"}})
				id := str(t, u, "user.id")
				want := now.AddDate(0, 0, 3).Truncate(time.Second).Format("2006-01-02T15:04:05.000000")
				if got := at(u, "user.password_expires_at"); got != want {
					t.Errorf("password_expires_at = %v, want %s", got, want)
				}
				tok := login("exp", "exp-pw")
				if tok.Code != 201 || at(tok.JSON(t), "token.user.password_expires_at") != want {
					t.Errorf("token: %s", tok)
				}
				advance(3 * 24 * time.Hour)
				wantError(t, login("exp", "exp-pw"), 401, "The password is expired and needs to be changed for user: "+id+".")
				wantError(t, login("exp", "bad"), 401, generic)
				ok(t, change(id, "exp-pw", "exp-pw2"), 204) // an expired password may be changed
				ok(t, login("exp", "exp-pw2"), 201)
				if got := at(c.Must(t, http.StatusOK, "GET", "/v3/users/"+id, admin, nil), "user.password_expires_at"); got != now.AddDate(0, 0, 3).Truncate(time.Second).Format("2006-01-02T15:04:05.000000") {
					t.Errorf("after the change, password_expires_at = %v", got)
				}
				comply(t, c, identity.Compliance{})
				ok(t, reset(id, "exp-pw3"), 200)
				if got := at(c.Must(t, http.StatusOK, "GET", "/v3/users/"+id, admin, nil), "user.password_expires_at"); got != nil {
					t.Errorf("a password set with no expiry expires at %v", got)
				}
			})

			t.Run("unique_last_password_count", func(t *testing.T) {
				comply(t, c, identity.Compliance{UniqueLastPasswordCount: 2})
				id := c.mkUser(t, admin, "hist", "h1", "default")
				msg := "The new password cannot be identical to a previous password. The total number which includes the new password must be unique is 2."
				wantError(t, change(id, "h1", "h1"), 400, msg)
				ok(t, change(id, "h1", "h2"), 204)
				wantError(t, change(id, "h2", "h1"), 400, msg)
				wantError(t, change(id, "h2", "h2"), 400, msg)
				ok(t, change(id, "h2", "h3"), 204)
				ok(t, change(id, "h3", "h1"), 204) // three back: out of the last two
				ok(t, reset(id, "h1"), 200)        // an administrator's reset is not checked
			})

			t.Run("minimum_password_age", func(t *testing.T) {
				comply(t, c, identity.Compliance{MinimumPasswordAge: 1})
				id := c.mkUser(t, admin, "age", "a1", "default")
				ok(t, change(id, "a1", "a2"), 204) // an administrator's password may be changed at once
				wantError(t, change(id, "a2", "a3"), 400, "You cannot change your password at this time due to the minimum password age. "+
					"Once you change your password, it must be used for 1 day(s) before it can be changed. Please try again in 0 day(s) "+
					"or contact your administrator to reset your password.")
				advance(24 * time.Hour)
				ok(t, change(id, "a2", "a3"), 204)
				ok(t, reset(id, "a4"), 200)
				ok(t, change(id, "a4", "a5"), 204)
			})

			t.Run("password_regex", func(t *testing.T) {
				comply(t, c, identity.Compliance{PasswordRegex: `.*\d`, PasswordRegexDescription: "at least one digit"})
				msg := "The password does not match the requirements: at least one digit."
				before := c.snapshot(t, admin)
				wantError(t, c.Do(t, "POST", "/v3/users", admin, map[string]any{"user": map[string]any{"name": "rx", "password": "nodigit"}}), 400, msg)
				if after := c.snapshot(t, admin); after != before {
					t.Errorf("a refused user changed the state:\n%s", apitest.LineDiff(before, after))
				}
				id := c.mkUser(t, admin, "rx", "digit1", "default")
				before = c.snapshot(t, admin)
				wantError(t, reset(id, "nodigit"), 400, msg)
				wantError(t, change(id, "digit1", "nodigit"), 400, msg)
				if after := c.snapshot(t, admin); after != before {
					t.Errorf("refused passwords changed the state:\n%s", apitest.LineDiff(before, after))
				}
				ok(t, change(id, "digit1", "digit2"), 204)
				// Python's re.match: from the start, not to the end.
				comply(t, c, identity.Compliance{PasswordRegex: `[a-z]+\d`, PasswordRegexDescription: "letters then a digit"})
				ok(t, change(id, "digit2", "abc1!!"), 204)
				wantError(t, change(id, "abc1!!", "!abc1"), 400, "The password does not match the requirements: letters then a digit.")
			})

			t.Run("change_password_upon_first_use", func(t *testing.T) {
				comply(t, c, identity.Compliance{ChangePasswordUponFirstUse: true})
				u := c.Must(t, http.StatusCreated, "POST", "/v3/users", admin, map[string]any{"user": map[string]any{"name": "first", "password": "f1"}})
				id := str(t, u, "user.id")
				if at(u, "user.password_expires_at") != now.Format("2006-01-02T15:04:05.000000") {
					t.Errorf("password_expires_at = %v, want now", at(u, "user.password_expires_at"))
				}
				expiredMsg := "The password is expired and needs to be changed for user: " + id + "."
				wantError(t, login("first", "f1"), 401, expiredMsg)
				ok(t, change(id, "f1", "f2"), 204)
				ok(t, login("first", "f2"), 201)
				ok(t, reset(id, "f3"), 200)
				wantError(t, login("first", "f3"), 401, expiredMsg)
				ok(t, login("admin", adminPassword), 201) // gostack's own users are exempt
			})

			t.Run("disable_user_account_days_inactive", func(t *testing.T) {
				comply(t, c, identity.Compliance{DisableUserAccountDaysInactive: 2})
				day := 24 * time.Hour
				id := c.mkUser(t, admin, "idle", "idle-pw", "default")
				free := str(t, c.Must(t, http.StatusCreated, "POST", "/v3/users", admin, map[string]any{"user": map[string]any{
					"name": "free", "password": "free-pw", "options": map[string]any{"ignore_user_inactivity": true}}}), "user.id")
				enabled := func(path string) any { return at(c.Must(t, http.StatusOK, "GET", path, admin, nil), "user.enabled") }
				advance(day)
				ok(t, login("idle", "idle-pw"), 201) // activity: the count starts again
				advance(day)
				ok(t, login("idle", "idle-pw"), 201)
				advance(2 * day)
				// Keystone's answers for a user read as disabled: the
				// generic 401 for a token, UserDisabled for the change.
				wantError(t, login("idle", "idle-pw"), 401, generic)
				wantError(t, change(id, "idle-pw", "idle-pw2"), 401, "The account is disabled for user: "+id+".")
				if got := enabled("/v3/users/" + id); got != false {
					t.Errorf("GET user: enabled %v", got)
				}
				// The list's enabled filter matches what it shows (Keystone's
				// SQL filter reads the stored column instead).
				l := c.Must(t, http.StatusOK, "GET", "/v3/users?name=idle&enabled=false", admin, nil)
				if len(list(t, l, "users")) != 1 || at(l, "users.0.enabled") != false {
					t.Errorf("users?enabled=false: %v", l)
				}
				if l := c.Must(t, http.StatusOK, "GET", "/v3/users?name=idle&enabled=true", admin, nil); len(list(t, l, "users")) != 0 {
					t.Errorf("users?enabled=true: %v", l)
				}
				ok(t, login("free", "free-pw"), 201) // ignore_user_inactivity
				if got := enabled("/v3/users/" + free); got != true {
					t.Errorf("ignore_user_inactivity: enabled %v", got)
				}
				ok(t, login("admin", adminPassword), 201) // gostack's own users are exempt

				// Re-enabled by an administrator: active today.
				if got := at(c.Must(t, http.StatusOK, "PATCH", "/v3/users/"+id, admin, map[string]any{"user": map[string]any{"enabled": true}}), "user.enabled"); got != true {
					t.Errorf("PATCH enabled: %v", got)
				}
				ok(t, login("idle", "idle-pw"), 201)
				ok(t, change(id, "idle-pw", "idle-pw2"), 204)
				comply(t, c, identity.Compliance{})
			})
		})
	}
}

// TestOpenStackCLISecurityCompliance is the client proof: the openstack
// CLI shows a user's password_expires_at, prints Keystone's 400s for a
// password the regex or the history refuses (user password set), and
// Keystone's 401 for an expired password (token issue).
func TestOpenStackCLISecurityCompliance(t *testing.T) {
	bin := testenv.LookPath(t, "openstack", "python3-openstackclient")
	c := newCloud(t)
	admin := c.adminToken(t)
	comply(t, c, identity.Compliance{PasswordExpiresDays: 30, UniqueLastPasswordCount: 3,
		PasswordRegex: `.{6,}`, PasswordRegexDescription: "at least 6 characters"})
	p := c.mkProject(t, admin, "p", "default")
	var u map[string]any
	c.openstackJSON(t, bin, &u, "user", "create", "cu", "--password", "cu-pw-1", "--project", "p")
	if exp, _ := u["password_expires_at"].(string); !strings.HasPrefix(exp, time.Now().UTC().AddDate(0, 0, 30).Format("2006-01-02")) {
		t.Errorf("user create: password_expires_at %v", u["password_expires_at"])
	}
	c.grant(t, admin, "projects/"+p, u["id"].(string), "member")
	as := func(pw string, args ...string) (string, error) {
		cmd := exec.Command(bin, args...)
		cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir(), "OS_AUTH_URL=" + c.URL + "/v3", "OS_IDENTITY_API_VERSION=3",
			"OS_USERNAME=cu", "OS_PASSWORD=" + pw, "OS_PROJECT_NAME=p", "OS_USER_DOMAIN_NAME=Default", "OS_PROJECT_DOMAIN_NAME=Default"}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	refused := func(pw, original, newPw, msg string) {
		t.Helper()
		if out, err := as(pw, "user", "password", "set", "--original-password", original, "--password", newPw); err == nil ||
			!strings.Contains(out, msg) || !strings.Contains(out, "HTTP 400") {
			t.Errorf("user password set %s: %v\n%s", newPw, err, out)
		}
	}
	refused("cu-pw-1", "cu-pw-1", "short", "The password does not match the requirements: at least 6 characters.")
	if out, err := as("cu-pw-1", "user", "password", "set", "--original-password", "cu-pw-1", "--password", "cu-pw-2"); err != nil {
		t.Fatalf("user password set: %v\n%s", err, out)
	}
	refused("cu-pw-2", "cu-pw-2", "cu-pw-1", "The new password cannot be identical to a previous password.")
	now := setClock(c)
	*now = now.AddDate(0, 0, 31)
	if out, err := as("cu-pw-2", "token", "issue"); err == nil || !strings.Contains(out, "The password is expired and needs to be changed for user: "+u["id"].(string)+".") {
		t.Errorf("token issue with an expired password: %v\n%s", err, out)
	}
}

// TestOpenStackCLIInactiveUser is the client proof of
// disable_user_account_days_inactive: a user a day without a password
// authentication gets Keystone's 401 from token issue, user show prints
// them disabled, and user set --enable lets them in again.
func TestOpenStackCLIInactiveUser(t *testing.T) {
	bin := testenv.LookPath(t, "openstack", "python3-openstackclient")
	c := newCloud(t)
	admin := c.adminToken(t)
	comply(t, c, identity.Compliance{DisableUserAccountDaysInactive: 1})
	p := c.mkProject(t, admin, "p", "default")
	var u map[string]any
	c.openstackJSON(t, bin, &u, "user", "create", "iu", "--password", "iu-pw", "--project", "p")
	c.grant(t, admin, "projects/"+p, u["id"].(string), "member")
	issue := func() (string, error) {
		cmd := exec.Command(bin, "token", "issue", "-f", "json")
		cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir(), "OS_AUTH_URL=" + c.URL + "/v3", "OS_IDENTITY_API_VERSION=3",
			"OS_USERNAME=iu", "OS_PASSWORD=iu-pw", "OS_PROJECT_NAME=p", "OS_USER_DOMAIN_NAME=Default", "OS_PROJECT_DOMAIN_NAME=Default"}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := issue(); err != nil {
		t.Fatalf("token issue: %v\n%s", err, out)
	}
	now := setClock(c)
	*now = now.AddDate(0, 0, 1)
	if out, err := issue(); err == nil || !strings.Contains(out, "The request you have made requires authentication. (HTTP 401)") {
		t.Errorf("token issue a day later: %v\n%s", err, out)
	}
	var shown map[string]any
	c.openstackJSON(t, bin, &shown, "user", "show", "iu")
	if shown["enabled"] != false {
		t.Errorf("user show: enabled %v", shown["enabled"])
	}
	c.openstack(t, bin, "user", "set", "--enable", "iu")
	if out, err := issue(); err != nil {
		t.Errorf("token issue once enabled again: %v\n%s", err, out)
	}
}
