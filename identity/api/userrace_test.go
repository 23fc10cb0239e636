package api_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gostack/gostack/identity/password"
)

// TestUserPatchesDoNotUndoEachOther: a PATCH that resets a password
// (a slow hash) and one that sets multi-factor rules, sent together,
// both take effect — the slower one does not write back the options it
// read before the other's update, as it did when a PATCH wrote the whole
// user it had read.
func TestUserPatchesDoNotUndoEachOther(t *testing.T) {
	c := newCloud(t)
	c.Auth.Hasher = password.Hasher{Rounds: 12} // a hash slow enough for the other PATCH to land meanwhile
	admin := c.adminToken(t)
	for i := range 2 {
		id := c.mkUser(t, admin, "racer"+string(rune('a'+i)), "old-pw", "default")
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			c.Must(t, http.StatusOK, "PATCH", "/v3/users/"+id, admin, map[string]any{"user": map[string]any{"password": "new-pw"}})
		}()
		go func() {
			defer wg.Done()
			time.Sleep(40 * time.Millisecond) // after the first PATCH read the user
			c.Must(t, http.StatusOK, "PATCH", "/v3/users/"+id, admin, map[string]any{"user": map[string]any{"enabled": false,
				"options": map[string]any{"multi_factor_auth_rules": [][]string{{"password", "token"}}}}})
		}()
		wg.Wait()
		u := c.Must(t, http.StatusOK, "GET", "/v3/users/"+id, admin, nil)
		if at(u, "user.enabled") != false || at(u, "user.options.multi_factor_auth_rules") == nil {
			t.Errorf("round %d: the options and enabled PATCH was undone: %v", i, u)
		}
		if r := c.issue(t, passwordAuth("racer"+string(rune('a'+i)), "new-pw", nil), ""); r.Code != http.StatusUnauthorized {
			t.Errorf("round %d: a disabled user got %s", i, r)
		}
	}
}

// TestUserAttributeNamesExact: a member named like an attribute in
// another case ("OPTIONS", "Enabled") is an extra property, as in
// Keystone, not the attribute (encoding/json alone would take it).
func TestUserAttributeNamesExact(t *testing.T) {
	c := newCloud(t)
	admin := c.adminToken(t)
	id := c.mkUser(t, admin, "cased", "cased-pw", "default")
	c.Must(t, http.StatusOK, "PATCH", "/v3/users/"+id, admin, map[string]any{"user": map[string]any{
		"options": map[string]any{"multi_factor_auth_rules": [][]string{{"password", "token"}}}}})
	u := c.Must(t, http.StatusOK, "PATCH", "/v3/users/"+id, admin, map[string]any{"user": map[string]any{
		"OPTIONS": map[string]any{"multi_factor_auth_enabled": false}, "Enabled": false}})
	if at(u, "user.enabled") != true || at(u, "user.options.multi_factor_auth_enabled") != nil ||
		at(u, "user.options.multi_factor_auth_rules") == nil || at(u, "user.Enabled") != false || at(u, "user.OPTIONS") == nil {
		t.Errorf("user after the PATCH: %v", u)
	}
	if r := c.issue(t, passwordAuth("cased", "cased-pw", nil), ""); r.Code != http.StatusUnauthorized || r.Header.Get("Openstack-Auth-Receipt") == "" {
		t.Errorf("the rules no longer hold: %s", r)
	}
}

// TestLockPasswordDuringChange: an administrator who sets lock_password
// while a user's own password change is hashing wins, as Keystone checks
// the lock in the write that stores the password.
func TestLockPasswordDuringChange(t *testing.T) {
	c := newCloud(t)
	admin := c.adminToken(t)
	id := c.mkUser(t, admin, "locked", "old-pw", "default")
	c.Auth.Hasher = password.Hasher{Rounds: 13} // a new hash slow enough for the lock to land meanwhile
	var wg sync.WaitGroup
	var change reply
	wg.Add(1)
	go func() {
		defer wg.Done()
		change = c.Call(t, call{Method: "POST", Path: "/v3/users/" + id + "/password",
			Body: map[string]any{"user": map[string]any{"original_password": "old-pw", "password": "new-pw"}}})
	}()
	time.Sleep(150 * time.Millisecond) // the change has checked the user and is hashing
	c.Must(t, http.StatusOK, "PATCH", "/v3/users/"+id, admin, map[string]any{"user": map[string]any{
		"options": map[string]any{"lock_password": true}}})
	wg.Wait()
	wantError(t, change, 400, "You cannot change your password at this time")
	c.Auth.Hasher = password.Hasher{Rounds: 4}
	if r := c.issue(t, passwordAuth("locked", "old-pw", nil), ""); r.Code != http.StatusCreated {
		t.Errorf("the old password no longer works: %s", r)
	}
}
