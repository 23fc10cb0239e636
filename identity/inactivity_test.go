package identity_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/gostack/gostack/identity"
	"github.com/gostack/gostack/identity/fernet"
	"github.com/gostack/gostack/identity/password"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/watch"
)

// inactivity is a store and an Auth on one clock that tests move, with
// Keystone's disable_user_account_days_inactive set to days.
type inactivity struct {
	ctx  context.Context
	s    *identity.Store
	feed *watch.Log
	auth *identity.Auth
	now  time.Time
}

func newInactivity(t *testing.T, days int) *inactivity {
	t.Helper()
	x := &inactivity{ctx: context.Background(), now: time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)}
	x.s, x.feed = newStore(t, "sqlite://"+filepath.Join(t.TempDir(), "id.db"))
	clock := func() time.Time { return x.now }
	x.s.Now = clock
	x.s.Compliance = identity.Compliance{DisableUserAccountDaysInactive: days}
	if err := x.s.Compliance.Validate(); err != nil {
		t.Fatal(err)
	}
	keys, err := fernet.Setup(filepath.Join(t.TempDir(), "keys"), 3)
	if err != nil {
		t.Fatal(err)
	}
	x.auth = identity.NewAuth(x.s, &fernet.Formatter{Keys: keys})
	x.auth.Hasher = password.Hasher{Rounds: 4}
	x.auth.Now = clock
	must[identity.Domain](t)(x.s.CreateDomain(x.ctx, identity.Domain{ID: "default", Name: "Default", Enabled: true}))
	return x
}

func (x *inactivity) user(t *testing.T, u identity.User) identity.User {
	t.Helper()
	u.DomainID, u.Enabled = "default", true
	u.PasswordHash = must[string](t)(x.auth.Hasher.Hash(u.Name + "-pw"))
	return must[identity.User](t)(x.s.CreateUser(x.ctx, u))
}

func (x *inactivity) login(name string) (identity.Token, error) {
	return x.auth.Authenticate(x.ctx, pw(name, name+"-pw", identity.Scope{}))
}

// enabled is the user's enabled as the API shows it.
func (x *inactivity) enabled(t *testing.T, id string) bool {
	t.Helper()
	return must[identity.User](t)(x.s.GetUser(x.ctx, id)).Enabled
}

// refused checks Keystone's answer to a password authentication of a
// disabled user: the generic 401 (its UserAuthInfo asserts the user
// enabled before the password is checked, and hides why).
func refused(t *testing.T, err error) {
	t.Helper()
	if fault.KindOf(err) != fault.Unauthorized || err.Error() != "The request you have made requires authentication." {
		t.Fatalf("authenticate: %v, want Keystone's generic 401", err)
	}
}

// TestInactiveUser: a user who has not authenticated with a password for
// disable_user_account_days_inactive days (whole UTC dates) reads as
// disabled, as Keystone's enabled getter reads them — in GET and in a
// list filtered on the stored column — cannot get a token, keeps none
// they had and cannot change their password (Keystone's "The account is
// disabled for user" 401); each successful password authentication is
// activity, stamped outside the watch feed and once a day at most.
func TestInactiveUser(t *testing.T) {
	x := newInactivity(t, 3)
	carol := x.user(t, identity.User{Name: "carol"})
	day := 24 * time.Hour

	x.now = x.now.Add(2 * day)
	if _, err := x.login("carol"); err != nil {
		t.Fatalf("two days on: %v", err)
	}
	head, _, _ := x.feed.Head(x.ctx)
	if u := must[identity.User](t)(x.s.GetUser(x.ctx, carol.ID)); u.LastActiveAt == nil || !u.LastActiveAt.Equal(time.Date(2026, 3, 12, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("last_active_at after a login = %v, want 2026-03-12", u.LastActiveAt)
	}
	x.now = x.now.Add(11 * time.Hour) // 23:00 the same day
	tok, err := x.login("carol")
	if err != nil {
		t.Fatal(err)
	}
	if h, _, _ := x.feed.Head(x.ctx); h != head {
		t.Errorf("logins moved the feed from %d to %d", head, h)
	}

	// Three dates on from 2026-03-12, though not three whole days.
	x.now = time.Date(2026, 3, 15, 0, 30, 0, 0, time.UTC)
	if x.enabled(t, carol.ID) {
		t.Fatal("inactive for three days: enabled")
	}
	_, err = x.login("carol")
	refused(t, err)
	if _, err := x.auth.Validate(x.ctx, tok.ID); fault.KindOf(err) != fault.NotFound && fault.KindOf(err) != fault.Unauthorized {
		t.Errorf("the token of an inactive user validates: %v", err)
	}
	err = x.auth.ChangePassword(x.ctx, carol.ID, "carol-pw", "new-pw")
	if fault.KindOf(err) != fault.Unauthorized || err.Error() != "The account is disabled for user: "+carol.ID+"." {
		t.Errorf("password change: %v, want Keystone's UserDisabled", err)
	}
	// Keystone's list filter reads the stored column, its body the getter.
	on := true
	listed := must[[]identity.User](t)(x.s.ListUsers(x.ctx, "default", "carol", &on, 0))
	if len(listed) != 1 || listed[0].Enabled {
		t.Errorf("enabled=true lists %+v, want carol shown disabled", listed)
	}
	off := false
	if listed := must[[]identity.User](t)(x.s.ListUsers(x.ctx, "default", "carol", &off, 0)); len(listed) != 0 {
		t.Errorf("enabled=false lists %+v before any update", listed)
	}
}

// TestInactiveUserReenabled: an update of an inactive user that does not
// enable them stores them disabled (Keystone's update writes what its
// getter read), so they stay disabled once the option is off; enabling
// them stamps today as their activity, so they authenticate again.
func TestInactiveUserReenabled(t *testing.T) {
	x := newInactivity(t, 2)
	dave := x.user(t, identity.User{Name: "dave"})
	x.now = x.now.AddDate(0, 0, 2)
	_, err := x.login("dave")
	refused(t, err)

	u := must[identity.User](t)(x.s.GetUser(x.ctx, dave.ID))
	u.Extra = nil
	u = must[identity.User](t)(x.s.UpdateUser(x.ctx, u))
	if u.Enabled {
		t.Fatal("an update of an inactive user enabled them")
	}
	x.s.Compliance = identity.Compliance{}
	if x.enabled(t, dave.ID) {
		t.Fatal("the update did not store the user disabled")
	}
	x.s.Compliance = identity.Compliance{DisableUserAccountDaysInactive: 2}

	u.Enabled = true
	u = must[identity.User](t)(x.s.UpdateUser(x.ctx, u))
	if !u.Enabled || u.LastActiveAt == nil || !u.LastActiveAt.Equal(time.Date(2026, 3, 12, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("re-enabled: enabled %v, last_active_at %v, want today", u.Enabled, u.LastActiveAt)
	}
	if _, err := x.login("dave"); err != nil {
		t.Fatalf("re-enabled: %v", err)
	}
	x.now = x.now.AddDate(0, 0, 1)
	if !x.enabled(t, dave.ID) {
		t.Error("a day after a login: disabled")
	}
	x.now = x.now.AddDate(0, 0, 1)
	if x.enabled(t, dave.ID) {
		t.Error("two days after the last login: enabled")
	}
}

// TestInactivityExempt: ignore_user_inactivity exempts a user as in
// Keystone, and so does being one of gostack's own users; with the
// option off no user is disabled, however long inactive.
func TestInactivityExempt(t *testing.T) {
	x := newInactivity(t, 1)
	yes := true
	opt := x.user(t, identity.User{Name: "opt", Options: identity.UserOptions{IgnoreUserInactivity: &yes}})
	own := x.user(t, identity.User{Name: "own", ComplianceExempt: true})
	plain := x.user(t, identity.User{Name: "plain"})
	x.now = x.now.AddDate(1, 0, 0)
	for _, u := range []identity.User{opt, own} {
		if !x.enabled(t, u.ID) {
			t.Errorf("%s: disabled", u.Name)
		}
		if _, err := x.login(u.Name); err != nil {
			t.Errorf("%s: %v", u.Name, err)
		}
	}
	_, err := x.login("plain")
	refused(t, err)

	// The option removed by an update, which leaves the user enabled:
	// that is activity today (Keystone's enabled setter), and a day
	// without a login then disables them.
	u := must[identity.User](t)(x.s.GetUser(x.ctx, opt.ID))
	u.Options.IgnoreUserInactivity = nil
	x.now = x.now.Add(time.Hour)
	if u = must[identity.User](t)(x.s.UpdateUser(x.ctx, u)); !u.Enabled || !x.enabled(t, opt.ID) {
		t.Fatal("the option removed: disabled at once")
	}
	x.now = x.now.AddDate(0, 0, 1)
	if x.enabled(t, opt.ID) {
		t.Error("a day after the update and without the option: enabled")
	}

	x.s.Compliance = identity.Compliance{}
	if !x.enabled(t, plain.ID) {
		t.Error("with the option off: disabled")
	}
	if _, err := x.login("plain"); err != nil {
		t.Errorf("with the option off: %v", err)
	}
}

// TestInactivityWithoutActivity: a user who never authenticated counts
// from the date they were created, as Keystone's getter falls back to
// created_at; a user with neither date (stored before gostack kept them)
// is never disabled, as in Keystone. A user created while the option is
// off has no activity stamped.
func TestInactivityWithoutActivity(t *testing.T) {
	x := newInactivity(t, 0)
	fresh := x.user(t, identity.User{Name: "fresh"})
	old := x.user(t, identity.User{Name: "old"})
	if fresh.LastActiveAt != nil || fresh.CreatedAt == nil {
		t.Fatalf("created with the option off: last_active_at %v, created_at %v", fresh.LastActiveAt, fresh.CreatedAt)
	}
	if _, err := x.s.DB().Exec(x.ctx, "UPDATE identity_users SET created_at = NULL WHERE id = ?", old.ID); err != nil {
		t.Fatal(err)
	}
	x.now = x.now.AddDate(0, 0, 10)
	x.s.Compliance = identity.Compliance{DisableUserAccountDaysInactive: 10}
	if x.enabled(t, fresh.ID) {
		t.Error("ten days after its creation without a login: enabled")
	}
	_, err := x.login("fresh")
	refused(t, err)
	if !x.enabled(t, old.ID) {
		t.Error("a user without dates: disabled")
	}
	if _, err := x.login("old"); err != nil {
		t.Fatal(err)
	}
	if u := must[identity.User](t)(x.s.GetUser(x.ctx, old.ID)); u.LastActiveAt == nil {
		t.Error("a login stamped no activity")
	}
}

// TestComplianceValidateInactivity: a negative number of days is
// refused, naming the setting.
func TestComplianceValidateInactivity(t *testing.T) {
	c := identity.Compliance{DisableUserAccountDaysInactive: -1}
	if err := c.Validate(); err == nil || err.Error() != "disable_user_account_days_inactive must be 0 (off) or more" {
		t.Errorf("Validate = %v", err)
	}
}
