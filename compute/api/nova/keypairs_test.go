package nova_test

import (
	"strings"
	"testing"

	"github.com/gostack/gostack/internal/apitest"
)

const sshKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMndHqje7Lv4uWQiXTVyY4Cp2RutcOpUJCJTiZCCNxw+ alice@example"

func keypairBody(fields map[string]any) map[string]any { return map[string]any{"keypair": fields} }

// Key pairs are the user's: imported and generated at each microversion
// with Nova's status codes and fields, paged from 2.35, and another
// user's only for an admin naming it (2.10).
func TestKeypairs(t *testing.T) {
	c := newAPI(t)
	// 2.1: 200, no type; a generated key comes with its private key.
	kp := c.must(t, 200, "2.1", alice, "POST", "/os-keypairs", keypairBody(map[string]any{"name": "gen"}))["keypair"].(map[string]any)
	if !strings.HasPrefix(kp["private_key"].(string), "-----BEGIN RSA PRIVATE KEY-----") || kp["user_id"] != "alice" || kp["type"] != nil ||
		!strings.HasSuffix(kp["public_key"].(string), "Generated-by-Nova") || len(kp["fingerprint"].(string)) != 47 {
		t.Fatalf("generated: %v", kp)
	}
	// 2.2: 201 with type; an import has no private key.
	kp = c.must(t, 201, "2.2", alice, "POST", "/os-keypairs", keypairBody(map[string]any{"name": "imp", "public_key": sshKey}))["keypair"].(map[string]any)
	if kp["type"] != "ssh" || kp["private_key"] != nil || kp["fingerprint"] != "50:bf:b0:0a:9c:8d:2b:8d:1e:8e:e8:9b:7e:ab:7f:e3" {
		t.Fatalf("imported: %v", kp)
	}
	show := c.must(t, 200, "2.2", alice, "GET", "/os-keypairs/imp", nil)["keypair"].(map[string]any)
	for _, f := range []string{"name", "public_key", "fingerprint", "user_id", "created_at", "deleted", "deleted_at", "id", "updated_at", "type"} {
		if _, ok := show[f]; !ok {
			t.Errorf("show lacks %s: %v", f, show)
		}
	}
	// Bob sees none of alice's.
	if l := c.must(t, 200, "2.2", bob, "GET", "/os-keypairs", nil)["keypairs"].([]any); len(l) != 0 {
		t.Fatalf("bob lists %v", l)
	}
	wantError(t, c.call(t, "2.2", bob, "GET", "/os-keypairs/imp", nil), 404, "itemNotFound", "Keypair imp not found for user bob")
	// 2.10: only an admin names another user.
	wantError(t, c.call(t, "2.10", bob, "GET", "/os-keypairs?user_id=alice", nil), 403, "forbidden", "os_compute_api:os-keypairs:index")
	if l := c.must(t, 200, "2.10", admin, "GET", "/os-keypairs?user_id=alice", nil)["keypairs"].([]any); len(l) != 2 {
		t.Fatalf("admin lists alice's: %v", l)
	}
	c.must(t, 201, "2.10", admin, "POST", "/os-keypairs", keypairBody(map[string]any{"name": "for-bob", "public_key": sshKey, "user_id": "bob"}))
	wantError(t, c.call(t, "2.10", bob, "POST", "/os-keypairs", keypairBody(map[string]any{"name": "x", "public_key": sshKey, "user_id": "alice"})),
		403, "forbidden", "os_compute_api:os-keypairs:create")
	if l := c.must(t, 200, "2.10", bob, "GET", "/os-keypairs", nil)["keypairs"].([]any); len(l) != 1 {
		t.Fatalf("bob lists %v", l)
	}
	// 2.35: pages with a next link.
	for _, n := range []string{"p1", "p2", "p3"} {
		c.must(t, 201, "2.35", alice, "POST", "/os-keypairs", keypairBody(map[string]any{"name": n, "public_key": sshKey}))
	}
	page := c.must(t, 200, "2.35", alice, "GET", "/os-keypairs?limit=2", nil)
	if l := page["keypairs"].([]any); len(l) != 2 || l[1].(map[string]any)["keypair"].(map[string]any)["name"] != "imp" {
		t.Fatalf("page 1: %v", page)
	}
	next := page["keypairs_links"].([]any)[0].(map[string]any)
	if next["rel"] != "next" || !strings.Contains(next["href"].(string), "/v2.1/os-keypairs?limit=2&marker=imp") {
		t.Fatalf("next link: %v", next)
	}
	page = c.must(t, 200, "2.35", alice, "GET", "/os-keypairs?limit=2&marker=imp", nil)
	if l := page["keypairs"].([]any); len(l) != 2 || l[0].(map[string]any)["keypair"].(map[string]any)["name"] != "p1" {
		t.Fatalf("page 2: %v", page)
	}
	wantError(t, c.call(t, "2.35", alice, "GET", "/os-keypairs?marker=nope", nil), 400, "badRequest", "Marker nope could not be found.")
	// Delete: 202 at 2.1, 204 after.
	if r := c.call(t, "2.1", alice, "DELETE", "/os-keypairs/p1", nil); r.Code != 202 {
		t.Fatalf("delete at 2.1: %s", r)
	}
	if r := c.call(t, "2.2", alice, "DELETE", "/os-keypairs/p2", nil); r.Code != 204 {
		t.Fatalf("delete at 2.2: %s", r)
	}
	wantError(t, c.call(t, "2.2", alice, "DELETE", "/os-keypairs/p2", nil), 404, "itemNotFound", "Keypair p2 not found for user alice")
}

// Bad input is refused with Nova's message and creates nothing.
func TestKeypairRefusals(t *testing.T) {
	c := newAPI(t)
	c.must(t, 201, "2.2", alice, "POST", "/os-keypairs", keypairBody(map[string]any{"name": "k1", "public_key": sshKey}))
	for _, tc := range []struct {
		v      string
		body   any
		status int
		key    string
		msg    string
	}{
		{"2.2", map[string]any{}, 400, "badRequest", "'keypair' is a required property"},
		{"2.2", map[string]any{"keypair": map[string]any{"name": "x"}, "extra": 1}, 400, "badRequest", "Additional properties are not allowed ('extra' was unexpected)"},
		{"2.2", keypairBody(map[string]any{"public_key": sshKey}), 400, "badRequest", "'name' is a required property"},
		{"2.2", keypairBody(map[string]any{"name": "a.b", "public_key": sshKey}), 400, "badRequest",
			"An invalid 'name' value was provided. The name must be: Only expected characters: [_- 0123456789"},
		{"2.2", keypairBody(map[string]any{"name": " lead", "public_key": sshKey}), 400, "badRequest", "Can not start or end with whitespace."},
		{"2.2", keypairBody(map[string]any{"name": "", "public_key": sshKey}), 400, "badRequest", "is too short"},
		{"2.2", keypairBody(map[string]any{"name": strings.Repeat("n", 256), "public_key": sshKey}), 400, "badRequest", "is too long"},
		{"2.2", keypairBody(map[string]any{"name": 7, "public_key": sshKey}), 400, "badRequest", "7 is not of type 'string'"},
		{"2.2", keypairBody(map[string]any{"name": "t", "type": "gpg", "public_key": sshKey}), 400, "badRequest", "'gpg' is not one of ['ssh', 'x509']"},
		{"2.1", keypairBody(map[string]any{"name": "t", "type": "ssh", "public_key": sshKey}), 400, "badRequest", "('type' was unexpected)"},
		{"2.2", keypairBody(map[string]any{"name": "t", "user_id": "bob", "public_key": sshKey}), 400, "badRequest", "('user_id' was unexpected)"},
		{"2.2", keypairBody(map[string]any{"name": "bad", "public_key": "ssh-rsa AAAA"}), 400, "badRequest", "Keypair data is invalid: failed to generate fingerprint"},
		{"2.2", keypairBody(map[string]any{"name": "bad", "type": "x509", "public_key": sshKey}), 400, "badRequest", "failed to generate X509 fingerprint"},
		{"2.2", keypairBody(map[string]any{"name": "k1", "public_key": sshKey}), 409, "conflictingRequest", "Key pair 'k1' already exists."},
		{"2.92", keypairBody(map[string]any{"name": "gen"}), 400, "badRequest", "'public_key' is a required property"},
		{"2.2", []any{"x"}, 400, "badRequest", "is not of type 'object'"},
	} {
		wantError(t, c.call(t, tc.v, alice, "POST", "/os-keypairs", tc.body), tc.status, tc.key, tc.msg)
	}
	r := c.Call(t, apitest.Call{Method: "POST", Path: "/v2.1/os-keypairs", Token: alice, Body: "{not json"})
	wantError(t, r, 400, "badRequest", "Malformed request body")
	// 2.92 takes '@' and '.' in names.
	c.must(t, 201, "2.92", alice, "POST", "/os-keypairs", keypairBody(map[string]any{"name": "a@b.c", "public_key": sshKey}))
	// 2.75 refuses unknown query parameters.
	wantError(t, c.call(t, "2.75", alice, "GET", "/os-keypairs?foo=1", nil), 400, "badRequest", "('foo' was unexpected)")
	if l := c.must(t, 200, "2.2", alice, "GET", "/os-keypairs", nil)["keypairs"].([]any); len(l) != 2 {
		t.Fatalf("after the refusals alice has %v", l)
	}
}
