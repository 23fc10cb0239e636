package identity_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/gostack/gostack/identity"
	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/fault"
)

// TestUserExtra: a user's extra properties go through the store on both
// engines as the JSON values they are, and what Keystone refuses is
// refused by the store itself, with nothing stored.
func TestUserExtra(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) { testUserExtra(t, e.DSN) })
	}
}

func testUserExtra(t *testing.T, dsn string) {
	ctx := context.Background()
	s, feed := newStore(t, dsn)
	f := newInputFixture(t, s)
	extra := map[string]json.RawMessage{
		"email": json.RawMessage(`"a@b"`), "description": json.RawMessage(`null`),
		"deep": json.RawMessage(`{"k":[1,"two",null,1e400]}`), "text": json.RawMessage(`"ünï\u0000code"`),
	}
	u := must[identity.User](t)(s.CreateUser(ctx, identity.User{Name: "x", DomainID: "default", Enabled: true, Extra: extra}))
	got := must[identity.User](t)(s.GetUser(ctx, u.ID))
	for k, v := range extra {
		if string(got.Extra[k]) != string(v) {
			t.Errorf("extra %s = %s, want %s", k, got.Extra[k], v)
		}
	}
	got.Extra["email"] = json.RawMessage(`"c@d"`)
	delete(got.Extra, "deep")
	must[identity.User](t)(s.UpdateUser(ctx, got))
	again := must[identity.User](t)(s.GetUser(ctx, u.ID))
	if string(again.Extra["email"]) != `"c@d"` || again.Extra["deep"] != nil || len(again.Extra) != 3 {
		t.Errorf("after update: %v", again.Extra)
	}

	t.Run("a description stored before extras is read as one", func(t *testing.T) {
		if _, err := s.DB().Exec(ctx, "UPDATE identity_users SET description = ? WHERE id = ?", "from the column", f.user.ID); err != nil {
			t.Fatal(err)
		}
		old := must[identity.User](t)(s.GetUser(ctx, f.user.ID))
		if string(old.Extra["description"]) != `"from the column"` {
			t.Fatalf("legacy description = %s", old.Extra["description"])
		}
		old.Extra["email"] = json.RawMessage(`"e@f"`)
		must[identity.User](t)(s.UpdateUser(ctx, old))
		var column, stored string
		if err := s.DB().Get(ctx, "SELECT description, extra FROM identity_users WHERE id = ?", []any{f.user.ID}, &column, &stored); err != nil {
			t.Fatal(err)
		}
		if column != "" || stored != `{"description":"from the column","email":"e@f"}` {
			t.Errorf("after a write: column %q, extra %s", column, stored)
		}
	})

	t.Run("refused", func(t *testing.T) {
		before, changes := dumpStore(t, s), feedLength(t, feed)
		bad := []struct {
			name  string
			extra map[string]json.RawMessage
		}{
			{"an attribute's name", map[string]json.RawMessage{"enabled": json.RawMessage(`false`)}},
			{"the password", map[string]json.RawMessage{"password": json.RawMessage(`"x"`)}},
			{"not JSON", map[string]json.RawMessage{"email": json.RawMessage(`a@b`)}},
			{"two values", map[string]json.RawMessage{"email": json.RawMessage(`1 2`)}},
			{"invalid UTF-8", map[string]json.RawMessage{"email": json.RawMessage("\"\xff\"")}},
			{"a name with NUL", map[string]json.RawMessage{"a\x00b": json.RawMessage(`1`)}},
			{"a description not a string", map[string]json.RawMessage{"description": json.RawMessage(`5`)}},
		}
		for _, tt := range bad {
			t.Run(tt.name, func(t *testing.T) {
				_, err := s.CreateUser(ctx, identity.User{Name: "bad", DomainID: "default", Enabled: true, Extra: tt.extra})
				wantKind(t, err, fault.BadRequest)
				u := f.user
				u.Extra = tt.extra
				_, err = s.UpdateUser(ctx, u)
				wantKind(t, err, fault.BadRequest)
			})
		}
		_, err := s.CreateUser(ctx, identity.User{Name: "bad", DomainID: "default", Enabled: true, DefaultProjectID: "default"})
		wantKind(t, err, fault.BadRequest)
		if after := dumpStore(t, s); after != before || feedLength(t, feed) != changes {
			t.Errorf("a refused write changed the store")
		}
	})
}

// TestUserClone: a clone shares no map, time or option with its user.
func TestUserClone(t *testing.T) {
	now := time.Now()
	yes := true
	rules := [][]string{{"password", "totp"}}
	u := identity.User{ID: "u", Extra: map[string]json.RawMessage{"email": json.RawMessage(`"a@b"`)}, PasswordExpiresAt: &now,
		Options: identity.UserOptions{LockPassword: &yes, MultiFactorAuthRules: &rules}}
	c := u.Clone()
	c.Extra["email"] = json.RawMessage(`"c@d"`)
	*c.PasswordExpiresAt = now.Add(time.Hour)
	*c.Options.LockPassword = false
	(*c.Options.MultiFactorAuthRules)[0][0] = "token"
	if string(u.Extra["email"]) != `"a@b"` || !u.PasswordExpiresAt.Equal(now) || !*u.Options.LockPassword || rules[0][0] != "password" {
		t.Errorf("changing the clone changed the user: %+v", u)
	}
	if !reflect.DeepEqual(u.Clone(), u) {
		t.Error("a clone is not equal to its user")
	}
}
