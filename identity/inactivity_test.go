package identity_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/gostack/gostack/identity"
	"github.com/gostack/gostack/identity/fernet"
	"github.com/gostack/gostack/identity/password"
	"github.com/gostack/gostack/internal/testenv"
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

// TestInactivityAgainstKeystone: whether a user reads as enabled, and
// what an update that enables them stamps, are what Keystone's own User
// model (python3-keystone's sql_model, its clock fixed) answers, for
// random creation times, last activities, days, exemptions and clocks,
// midnights included.
func TestInactivityAgainstKeystone(t *testing.T) {
	testenv.RequirePython(t, "keystone.identity.backends.sql_model", "python3-keystone")
	type tc struct {
		Days    int    `json:"days"`
		Created *int64 `json:"created"`
		Last    *int64 `json:"last"`
		Exempt  bool   `json:"exempt"`
		Now     int64  `json:"now"`
	}
	at := func(s string) *int64 {
		u := must[time.Time](t)(time.Parse(time.RFC3339, s)).Unix()
		return &u
	}
	cases := []tc{
		{Days: 1, Created: at("2026-03-01T23:59:59Z"), Now: *at("2026-03-02T00:00:00Z")},
		{Days: 1, Created: at("2026-03-01T00:00:00Z"), Now: *at("2026-03-01T23:59:59Z")},
		{Days: 2, Created: at("2026-03-01T12:00:00Z"), Last: at("2026-03-03T23:59:59Z"), Now: *at("2026-03-05T00:00:01Z")},
		{Days: 2, Created: at("2026-03-01T12:00:00Z"), Last: at("2026-03-03T00:00:00Z"), Now: *at("2026-03-04T23:59:59Z")},
		{Days: 5, Now: *at("2030-01-01T00:00:00Z")},
		{Days: 5, Created: at("2026-03-01T12:00:00Z"), Exempt: true, Now: *at("2030-01-01T00:00:00Z")},
		{Days: 0, Created: at("2026-03-01T12:00:00Z"), Now: *at("2030-01-01T00:00:00Z")},
	}
	rng := rand.New(rand.NewPCG(16, 9))
	base := *at("2026-01-01T00:00:00Z")
	for range 200 {
		c := tc{Days: []int{0, 1, 2, 3, 7, 30, 90}[rng.IntN(7)], Exempt: rng.IntN(5) == 0}
		from := base + rng.Int64N(200*86400)
		if rng.IntN(10) != 0 {
			created := from
			c.Created = &created
		}
		if rng.IntN(3) != 0 {
			last := from + rng.Int64N(100*86400)
			c.Last, from = &last, last
		}
		c.Now = from + rng.Int64N(120*86400)
		cases = append(cases, c)
	}
	in := must[[]byte](t)(json.Marshal(cases))
	cmd := exec.Command(testenv.SystemPython, "-c", `
import datetime, json, sys
import keystone.conf
from keystone.identity.backends import sql_model
from keystone.identity.backends import resource_options as iro

CONF = keystone.conf.CONF
keystone.conf.configure()
CONF([], project='keystone', default_config_files=[])

class Clock:
    now = None
    @classmethod
    def utcnow(cls):
        return cls.now

class Module:  # sql_model's datetime module, its clock fixed
    timedelta = datetime.timedelta
    date = datetime.date
    datetime = Clock

sql_model.datetime = Module
utc = lambda s: datetime.datetime.fromtimestamp(s, datetime.timezone.utc).replace(tzinfo=None)
res = []
for c in json.load(sys.stdin):
    CONF.set_override('disable_user_account_days_inactive', c['days'] or None, group='security_compliance')
    u = sql_model.User()
    u._enabled = True
    if c['created'] is not None:
        u.created_at = utc(c['created'])
    if c['last'] is not None:
        u.last_active_at = utc(c['last']).date()
    if c['exempt']:
        opt = sql_model.UserOption(option_id=iro.IGNORE_USER_INACTIVITY_OPT.option_id, option_value=True)
        u._resource_option_mapper[opt.option_id] = opt
    Clock.now = utc(c['now'])
    enabled = bool(u.enabled)
    u.enabled = True  # the setter, as an update that enables the user
    res.append({'enabled': enabled, 'last_active_at': u.last_active_at.isoformat() if u.last_active_at else None})
print(json.dumps(res))
`)
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("keystone: %v\n%s", err, out)
	}
	var want []struct {
		Enabled      bool    `json:"enabled"`
		LastActiveAt *string `json:"last_active_at"`
	}
	if err := json.Unmarshal(out, &want); err != nil || len(want) != len(cases) {
		t.Fatalf("%v: %s", err, out)
	}

	x := newInactivity(t, 0)
	for i, c := range cases {
		x.s.Compliance = identity.Compliance{}
		x.now = time.Unix(base, 0).UTC()
		if c.Created != nil {
			x.now = time.Unix(*c.Created, 0).UTC()
		}
		u := identity.User{Name: fmt.Sprintf("u%d", i)}
		if c.Exempt {
			yes := true
			u.Options.IgnoreUserInactivity = &yes
		}
		u = x.user(t, u)
		if c.Created == nil {
			if _, err := x.s.DB().Exec(x.ctx, "UPDATE identity_users SET created_at = NULL WHERE id = ?", u.ID); err != nil {
				t.Fatal(err)
			}
		}
		if c.Last != nil {
			x.s.Compliance.DisableUserAccountDaysInactive = 1 // to stamp it
			x.now = time.Unix(*c.Last, 0).UTC()
			if err := x.s.RecordActive(x.ctx, u); err != nil {
				t.Fatal(err)
			}
		}
		x.s.Compliance.DisableUserAccountDaysInactive = c.Days
		x.now = time.Unix(c.Now, 0).UTC()
		got := must[identity.User](t)(x.s.GetUser(x.ctx, u.ID))
		if got.Enabled != want[i].Enabled {
			t.Errorf("%+v: enabled %v, Keystone %v", c, got.Enabled, want[i].Enabled)
		}
		got.Enabled = true
		got = must[identity.User](t)(x.s.UpdateUser(x.ctx, got))
		var stamped *string
		if got.LastActiveAt != nil {
			d := got.LastActiveAt.Format(time.DateOnly)
			stamped = &d
		}
		if (stamped == nil) != (want[i].LastActiveAt == nil) || (stamped != nil && *stamped != *want[i].LastActiveAt) {
			t.Errorf("%+v: enabling stamps %v, Keystone %v", c, deref(stamped), deref(want[i].LastActiveAt))
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return "none"
	}
	return *s
}
