package api_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gostack/gostack/identity/fernet"
	"github.com/gostack/gostack/internal/testenv"
)

func trustBody(trustor, trustee, project string, impersonation bool, roles ...map[string]any) map[string]any {
	tr := map[string]any{"trustor_user_id": trustor, "trustee_user_id": trustee, "impersonation": impersonation}
	if project != "" {
		tr["project_id"] = project
	}
	if roles != nil {
		tr["roles"] = roles
	}
	return map[string]any{"trust": tr}
}

func roleByName(name string) map[string]any { return map[string]any{"name": name} }
func roleByID(id string) map[string]any     { return map[string]any{"id": id} }

// trustAuth is a password authentication of user scoped to a trust.
func trustAuth(user, pw, trustID string) map[string]any {
	return passwordAuth(user, pw, map[string]any{"OS-TRUST:trust": map[string]any{"id": trustID}})
}

// TestTrusts drives OS-TRUST on both engines: alice (member on A) trusts
// dave with member on A; create, show, list with the filters each caller
// may use, the role sub-resources, trust-scoped tokens (the trustee's,
// the trustor shown when impersonating, the trust's roles only, Fernet
// payload 3), and delete.
func TestTrusts(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			c := newCloudOn(t, e.DSN)
			f := newTenants(t, c)
			daveID := c.mkUser(t, f.admin, "dave", "dave-pw", "default")
			tr := c.Must(t, http.StatusCreated, "POST", "/v3/OS-TRUST/trusts", f.alice,
				trustBody(f.aliceID, daveID, f.a, true, roleByName("member")))
			id := str(t, tr, "trust.id")
			if at(tr, "trust.trustor_user_id") != f.aliceID || at(tr, "trust.trustee_user_id") != daveID ||
				at(tr, "trust.project_id") != f.a || at(tr, "trust.impersonation") != true ||
				at(tr, "trust.remaining_uses") != nil || at(tr, "trust.expires_at") != nil ||
				at(tr, "trust.redelegation_count") != float64(0) || !has(tr, "trust.redelegated_trust_id") ||
				!strings.HasSuffix(str(t, tr, "trust.links.self"), "/v3/OS-TRUST/trusts/"+id) {
				t.Errorf("create reply: %v", tr)
			}
			if got := ids(t, tr, "trust.roles", "id"); !slices.Equal(got, []string{f.member}) {
				t.Errorf("roles = %v, want member", got)
			}
			noImp := str(t, c.Must(t, http.StatusCreated, "POST", "/v3/OS-TRUST/trusts", f.alice,
				trustBody(f.aliceID, daveID, f.a, false, roleByID(f.reader))), "trust.id")

			// Show and roles: the trustor, the trustee and the admin; HEAD too.
			dave := c.token(t, "dave", "dave-pw", nil)
			for _, tok := range []string{f.alice, dave, f.admin} {
				c.Must(t, http.StatusOK, "GET", "/v3/OS-TRUST/trusts/"+id, tok, nil)
				c.Must(t, http.StatusOK, "HEAD", "/v3/OS-TRUST/trusts/"+id, tok, nil)
				roles := c.Must(t, http.StatusOK, "GET", "/v3/OS-TRUST/trusts/"+id+"/roles", tok, nil)
				if got := ids(t, roles, "roles", "name"); !slices.Equal(got, []string{"member"}) {
					t.Errorf("trust roles = %v", got)
				}
				if r := c.Must(t, http.StatusOK, "GET", "/v3/OS-TRUST/trusts/"+id+"/roles/"+f.member, tok, nil); at(r, "role.name") != "member" {
					t.Errorf("trust role: %v", r)
				}
				c.Must(t, http.StatusOK, "HEAD", "/v3/OS-TRUST/trusts/"+id+"/roles/"+f.member, tok, nil)
			}
			wantError(t, c.Do(t, "GET", "/v3/OS-TRUST/trusts/"+id+"/roles/"+f.reader, f.alice, nil), 404, "Could not find role: "+f.reader)
			wantError(t, c.Do(t, "GET", "/v3/OS-TRUST/trusts/"+strings.Repeat("0", 32), f.alice, nil), 404, "Could not find trust")

			lists := []struct {
				name, query, token string
				code               int
				want               []string
			}{
				{"admin, all", "", f.admin, 200, sorted([]string{id, noImp, f.bobTrust})},
				{"admin, by trustee", "?trustee_user_id=" + daveID, f.admin, 200, sorted([]string{id, noImp})},
				{"alice, as trustor", "?trustor_user_id=" + f.aliceID, f.alice, 200, sorted([]string{id, noImp})},
				{"dave, as trustee", "?trustee_user_id=" + daveID, dave, 200, sorted([]string{id, noImp})},
				{"alice, all", "", f.alice, 403, nil},
				{"alice, bob's", "?trustor_user_id=" + f.bobID, f.alice, 403, nil},
				{"dave, as trustor of alice's", "?trustor_user_id=" + f.aliceID, dave, 403, nil},
				{"admin, unknown filter", "?project_id=" + f.a, f.admin, 200, nil},
			}
			for _, tt := range lists {
				t.Run(tt.name, func(t *testing.T) {
					r := c.Do(t, "GET", "/v3/OS-TRUST/trusts"+tt.query, tt.token, nil)
					if tt.code != 200 {
						wantError(t, r, tt.code, "")
						return
					}
					if r.Code != 200 {
						t.Fatalf("list: %s", r)
					}
					if got := ids(t, r.JSON(t), "trusts", "id"); !slices.Equal(got, tt.want) {
						t.Errorf("ids = %v, want %v", got, tt.want)
					}
				})
			}

			// Trust-scoped tokens: dave's, showing alice when impersonating,
			// with member and the reader it implies.
			r := c.issue(t, trustAuth("dave", "dave-pw", id), "")
			if r.Code != http.StatusCreated {
				t.Fatalf("trust token: %s", r)
			}
			tok := r.JSON(t)
			trTok := r.Header.Get("X-Subject-Token")
			if at(tok, "token.user.id") != f.aliceID || at(tok, "token.project.id") != f.a ||
				at(tok, "token.OS-TRUST:trust.id") != id || at(tok, "token.OS-TRUST:trust.trustor_user.id") != f.aliceID ||
				at(tok, "token.OS-TRUST:trust.trustee_user.id") != daveID || at(tok, "token.OS-TRUST:trust.impersonation") != true ||
				has(tok, "token.is_domain") || len(list(t, tok, "token.catalog")) == 0 {
				t.Errorf("trust token: %v", tok)
			}
			if got := ids(t, tok, "token.roles", "name"); !slices.Equal(got, []string{"member", "reader"}) {
				t.Errorf("trust token roles = %v, want member and reader", got)
			}
			p, err := c.Auth.Tokens.Parse(trTok)
			if err != nil || fernet.PayloadVersion(p) != fernet.TrustScoped || p.UserID != daveID || p.TrustID != id || p.ProjectID != f.a {
				t.Errorf("payload = %+v (%v), want version 3 for dave", p, err)
			}
			v := c.Call(t, call{Method: "GET", Path: "/v3/auth/tokens", Token: f.admin, Subject: trTok})
			if v.Code != 200 || at(v.JSON(t), "token.OS-TRUST:trust.id") != id {
				t.Errorf("validate the trust token: %s", v)
			}
			// The token works on an API, as alice, with member only.
			c.Must(t, http.StatusOK, "GET", "/v3/projects/"+f.a, trTok, nil)
			wantError(t, c.Do(t, "GET", "/v3/users", trTok, nil), 403, "")
			// Without impersonation the token shows dave; a trust of reader
			// gives reader only, though alice holds member.
			plain := c.issue(t, trustAuth("dave", "dave-pw", noImp), "")
			if plain.Code != 201 || at(plain.JSON(t), "token.user.id") != daveID || at(plain.JSON(t), "token.OS-TRUST:trust.impersonation") != false {
				t.Errorf("token of a trust without impersonation: %s", plain)
			}
			if got := ids(t, plain.JSON(t), "token.roles", "name"); !slices.Equal(got, []string{"reader"}) {
				t.Errorf("roles of a trust of reader = %v", got)
			}
			wantError(t, c.Do(t, "PATCH", "/v3/projects/"+f.a, plain.Header.Get("X-Subject-Token"),
				map[string]any{"project": map[string]any{"description": "x"}}), 403, "")
			// With the token method too.
			if r := c.issue(t, map[string]any{"auth": map[string]any{"identity": map[string]any{"methods": []string{"token"},
				"token": map[string]any{"id": dave}}, "scope": map[string]any{"OS-TRUST:trust": map[string]any{"id": id}}}}, ""); r.Code != 201 {
				t.Errorf("token method with a trust scope: %s", r)
			}

			refused := []struct {
				name string
				body any
				code int
				msg  string
			}{
				{"not the trustee", trustAuth("carol", "carol-pw", id), 403, "User is not a trustee"},
				{"the trustor", trustAuth("alice", "alice-pw", id), 403, "User is not a trustee"},
				{"unknown trust", trustAuth("dave", "dave-pw", strings.Repeat("0", 32)), 401, "Could not find trust"},
				{"trust and project", passwordAuth("dave", "dave-pw", map[string]any{"OS-TRUST:trust": map[string]any{"id": id},
					"project": map[string]any{"id": f.a}}), 400, "only one of"},
				{"no trust id", passwordAuth("dave", "dave-pw", map[string]any{"OS-TRUST:trust": map[string]any{}}), 400, "a trust needs an id"},
				{"trust token for a token", map[string]any{"auth": map[string]any{"identity": map[string]any{"methods": []string{"token"},
					"token": map[string]any{"id": trTok}}}}, 403, "Using trust-scoped token to create another token"},
			}
			for _, tt := range refused {
				t.Run(tt.name, func(t *testing.T) {
					wantError(t, c.issue(t, tt.body, ""), tt.code, tt.msg)
				})
			}
			// A trust-scoped token may not redelegate.
			wantError(t, c.Do(t, "POST", "/v3/OS-TRUST/trusts", trTok, trustBody(f.aliceID, f.carolID, f.a, false, roleByName("member"))),
				403, "redelegation depth")

			// Delete: by the trustor (dave may not), its tokens revoked.
			wantError(t, c.Do(t, "DELETE", "/v3/OS-TRUST/trusts/"+id, dave, nil), 403, "")
			c.Must(t, http.StatusNoContent, "DELETE", "/v3/OS-TRUST/trusts/"+id, f.alice, nil)
			wantError(t, c.Do(t, "GET", "/v3/OS-TRUST/trusts/"+id, f.alice, nil), 404, "Could not find trust: "+id)
			wantError(t, c.Call(t, call{Method: "GET", Path: "/v3/auth/tokens", Token: f.admin, Subject: trTok}), 404, "Could not find token")
			wantError(t, c.issue(t, trustAuth("dave", "dave-pw", id), ""), 401, "Could not find trust")
		})
	}
}

// TestTrustTokenInvalidation: a trust's tokens stop validating when the
// trust expires, when the trustor is disabled or loses a delegated role,
// and when the trustor or trustee is deleted.
func TestTrustTokenInvalidation(t *testing.T) {
	c := newCloud(t)
	f := newTenants(t, c)
	daveID := c.mkUser(t, f.admin, "dave", "dave-pw", "default")
	mk := func(body map[string]any) (string, string) {
		t.Helper()
		id := str(t, c.Must(t, http.StatusCreated, "POST", "/v3/OS-TRUST/trusts", f.alice, body), "trust.id")
		r := c.issue(t, trustAuth("dave", "dave-pw", id), "?nocatalog")
		if r.Code != 201 {
			t.Fatalf("trust token: %s", r)
		}
		return id, r.Header.Get("X-Subject-Token")
	}
	valid := func(tok string) int {
		return c.Call(t, call{Method: "HEAD", Path: "/v3/auth/tokens", Token: f.admin, Subject: tok}).Code
	}

	t.Run("expiry", func(t *testing.T) {
		body := trustBody(f.aliceID, daveID, f.a, false, roleByName("member"))
		body["trust"].(map[string]any)["expires_at"] = time.Now().Add(5 * time.Minute).UTC().Format("2006-01-02T15:04:05.000000Z")
		id, tok := mk(body)
		if got := valid(tok); got != 200 {
			t.Fatalf("before expiry: %d", got)
		}
		c.Auth.Now = func() time.Time { return time.Now().Add(10 * time.Minute) }
		defer func() { c.Auth.Now = nil }()
		if got := valid(tok); got != 404 {
			t.Errorf("token of an expired trust: %d, want 404", got)
		}
		wantError(t, c.Do(t, "GET", "/v3/OS-TRUST/trusts/"+id, f.admin, nil), 404, "Could not find trust")
		wantError(t, c.issue(t, trustAuth("dave", "dave-pw", id), ""), 401, "Could not find trust")
	})
	t.Run("trustor loses the role", func(t *testing.T) {
		_, tok := mk(trustBody(f.aliceID, daveID, f.a, false, roleByName("member")))
		c.Must(t, http.StatusNoContent, "DELETE", "/v3/projects/"+f.a+"/users/"+f.aliceID+"/roles/"+f.member, f.admin, nil)
		if got := valid(tok); got != 404 {
			t.Errorf("after the trustor lost member: %d, want 404", got)
		}
		c.grant(t, f.admin, "projects/"+f.a, f.aliceID, "member")
		time.Sleep(time.Second) // tokens of the revocation's second are revoked too, as in Keystone
		f.alice = c.token(t, "alice", "alice-pw", projectScope(f.a))
	})
	t.Run("trustor disabled", func(t *testing.T) {
		_, tok := mk(trustBody(f.aliceID, daveID, f.a, false, roleByName("member")))
		c.Must(t, http.StatusOK, "PATCH", "/v3/users/"+f.aliceID, f.admin, map[string]any{"user": map[string]any{"enabled": false}})
		if got := valid(tok); got != 404 {
			t.Errorf("after disabling the trustor: %d, want 404", got)
		}
		c.Must(t, http.StatusOK, "PATCH", "/v3/users/"+f.aliceID, f.admin, map[string]any{"user": map[string]any{"enabled": true}})
		time.Sleep(time.Second)
		f.alice = c.token(t, "alice", "alice-pw", projectScope(f.a))
	})
	t.Run("trustee deleted", func(t *testing.T) {
		id, tok := mk(trustBody(f.aliceID, daveID, f.a, true, roleByName("member")))
		c.Must(t, http.StatusNoContent, "DELETE", "/v3/users/"+daveID, f.admin, nil)
		if got := valid(tok); got != 404 {
			t.Errorf("after deleting the trustee: %d, want 404", got)
		}
		if _, err := c.Store.GetTrust(context.Background(), id); err == nil {
			t.Errorf("the trustee's trust outlived them")
		}
	})
}

// TestTrustRemainingUses: parallel trust-scoped authentications never
// take more uses than the trust has; the trust then answers 404.
func TestTrustRemainingUses(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			c := newCloudOn(t, e.DSN)
			f := newTenants(t, c)
			c.mkUser(t, f.admin, "dave", "dave-pw", "default")
			daveID := str(t, c.Must(t, http.StatusOK, "GET", "/v3/users?name=dave", f.admin, nil), "users.0.id")
			body := trustBody(f.aliceID, daveID, f.a, false, roleByName("member"))
			body["trust"].(map[string]any)["remaining_uses"] = 3
			tr := c.Must(t, http.StatusCreated, "POST", "/v3/OS-TRUST/trusts", f.alice, body)
			id := str(t, tr, "trust.id")
			if at(tr, "trust.remaining_uses") != float64(3) {
				t.Errorf("remaining_uses = %v", at(tr, "trust.remaining_uses"))
			}
			dave := c.token(t, "dave", "dave-pw", nil)
			const n = 12
			codes := make([]int, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					codes[i] = c.issue(t, map[string]any{"auth": map[string]any{"identity": map[string]any{"methods": []string{"token"},
						"token": map[string]any{"id": dave}}, "scope": map[string]any{"OS-TRUST:trust": map[string]any{"id": id}}}}, "?nocatalog").Code
				}()
			}
			wg.Wait()
			ok := 0
			for _, code := range codes {
				switch code {
				case 201:
					ok++
				case 401, 403:
				default:
					t.Errorf("unexpected status %d", code)
				}
			}
			if ok != 3 {
				t.Errorf("%d tokens issued from a trust with 3 uses (codes %v)", ok, codes)
			}
			got, err := c.Store.GetTrust(context.Background(), id)
			if err != nil || got.RemainingUses == nil || *got.RemainingUses != 0 {
				t.Errorf("stored trust = %+v, %v; want 0 uses left", got, err)
			}
			wantError(t, c.Do(t, "GET", "/v3/OS-TRUST/trusts/"+id, f.alice, nil), 404, "Could not find trust")
			if l := list(t, c.Must(t, http.StatusOK, "GET", "/v3/OS-TRUST/trusts?trustor_user_id="+f.aliceID, f.alice, nil), "trusts"); len(l) != 1 {
				t.Errorf("list keeps a used-up trust, as Keystone's: %v", l)
			}
		})
	}
}

// TestTrustBadInput: every refused create answers Keystone's error body
// and changes nothing.
func TestTrustBadInput(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			c := newCloudOn(t, e.DSN)
			f := newTenants(t, c)
			daveID := c.mkUser(t, f.admin, "dave", "dave-pw", "default")
			acTok := str(t, map[string]any{"t": c.issue(t, map[string]any{"auth": map[string]any{"identity": map[string]any{
				"methods": []string{"application_credential"}, "application_credential": map[string]any{"id": f.aliceAC, "secret": f.aliceACSecret}}}},
				"").Header.Get("X-Subject-Token")}, "t")
			good := func(mod func(m map[string]any)) map[string]any {
				b := trustBody(f.aliceID, daveID, f.a, false, roleByName("member"))
				mod(b["trust"].(map[string]any))
				return b
			}
			zero := strings.Repeat("0", 32)
			tests := []struct {
				name  string
				token string
				body  any
				code  int
				msg   string
			}{
				{"no trust", f.alice, map[string]any{}, 400, "'trust' is a required property"},
				{"no impersonation", f.alice, good(func(m map[string]any) { delete(m, "impersonation") }), 400, "trust.impersonation"},
				{"impersonation a string", f.alice, good(func(m map[string]any) { m["impersonation"] = "yes" }), 400, "trust.impersonation"},
				{"no trustee", f.alice, good(func(m map[string]any) { delete(m, "trustee_user_id") }), 400, "trust.trustee_user_id"},
				{"trustee too long", f.alice, good(func(m map[string]any) { m["trustee_user_id"] = strings.Repeat("x", 65) }), 400, "trust.trustee_user_id"},
				{"remaining_uses 0", f.alice, good(func(m map[string]any) { m["remaining_uses"] = 0 }), 400, "trust.remaining_uses"},
				{"remaining_uses a string", f.alice, good(func(m map[string]any) { m["remaining_uses"] = "1" }), 400, "trust.remaining_uses"},
				{"role with two members", f.alice, good(func(m map[string]any) { m["roles"] = []any{map[string]any{"id": f.member, "name": "member"}} }), 400, "trust.roles"},
				{"role id with a slash", f.alice, good(func(m map[string]any) { m["roles"] = []any{map[string]any{"id": "a/b"}} }), 400, "trust.roles"},
				{"expires_at garbage", f.alice, good(func(m map[string]any) { m["expires_at"] = "tomorrow" }), 400, "Timestamp not in expected format"},
				{"expires_at past", f.alice, good(func(m map[string]any) { m["expires_at"] = "2001-01-01T00:00:00Z" }), 400, "must be later than now"},
				{"redelegation", f.alice, good(func(m map[string]any) { m["allow_redelegation"] = true }), 400, "redelegation is not supported"},
				{"another trustor", f.alice, good(func(m map[string]any) { m["trustor_user_id"] = f.bobID }), 403, ""},
				{"project without roles", f.alice, good(func(m map[string]any) { delete(m, "roles") }), 403, "At least one role should be specified"},
				{"unknown trustee", f.alice, good(func(m map[string]any) { m["trustee_user_id"] = zero }), 404, "Could not find user"},
				{"unknown project", f.alice, good(func(m map[string]any) { m["project_id"] = zero }), 404, "Could not find project"},
				{"role not held", f.alice, good(func(m map[string]any) { m["roles"] = []any{roleByName("admin")} }), 404, "Could not find role: " + f.role},
				{"unknown role name", f.alice, good(func(m map[string]any) { m["roles"] = []any{roleByName("nope")} }), 404, "Could not find role"},
				{"on a project of another", f.alice, good(func(m map[string]any) { m["project_id"] = f.b }), 404, "Could not find role"},
				{"delegated token", acTok, good(func(m map[string]any) {}), 403, "Delegated tokens cannot manage trusts"},
				{"no token", "", good(func(m map[string]any) {}), 401, ""},
			}
			before := c.snapshot(t, f.admin)
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					wantError(t, c.Do(t, "POST", "/v3/OS-TRUST/trusts", tt.token, tt.body), tt.code, tt.msg)
				})
			}
			wantError(t, c.Do(t, "DELETE", "/v3/OS-TRUST/trusts/"+zero, f.alice, nil), 404, "Could not find trust")
			if after := c.snapshot(t, f.admin); after != before {
				t.Errorf("refused calls changed the state:\n%s\nwant\n%s", after, before)
			}
		})
	}
}
