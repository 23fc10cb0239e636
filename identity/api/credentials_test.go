package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gostack/gostack/identity"
	"github.com/gostack/gostack/identity/ec2"
	"github.com/gostack/gostack/internal/testenv"
)

func credBody(user, project, typ, blob string) map[string]any {
	c := map[string]any{"user_id": user, "type": typ, "blob": blob}
	if project != "" {
		c["project_id"] = project
	}
	return map[string]any{"credential": c}
}

// TestCredentials drives /v3/credentials on both engines: create (an ec2
// credential's id is the SHA-256 of its access key), show, list with its
// filters, update of the blob, delete; blobs encrypted at rest; bad
// input refused with Keystone's error body and nothing changed.
func TestCredentials(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			c := newCloudOn(t, e.DSN)
			f := newTenants(t, c)
			ctx := context.Background()

			cert := c.Must(t, http.StatusCreated, "POST", "/v3/credentials", f.alice,
				map[string]any{"credential": map[string]any{"user_id": f.aliceID, "type": "cert", "blob": "alice-blob", "note": []int{1}}})
			certID := str(t, cert, "credential.id")
			if at(cert, "credential.project_id") != nil || at(cert, "credential.blob") != "alice-blob" || !has(cert, "credential.note") ||
				!strings.HasSuffix(str(t, cert, "credential.links.self"), "/v3/credentials/"+certID) {
				t.Errorf("create reply: %v", cert)
			}
			blob := `{"access": "AKIA-alice", "secret": "s3cret"}`
			ec2Cred := c.Must(t, http.StatusCreated, "POST", "/v3/credentials", f.alice, credBody(f.aliceID, f.a, "ec2", blob))
			if got, want := str(t, ec2Cred, "credential.id"), identity.EC2CredentialID("AKIA-alice"); got != want {
				t.Errorf("ec2 credential id = %s, want sha256(access) %s", got, want)
			}
			c.Must(t, http.StatusCreated, "POST", "/v3/credentials", f.admin, credBody(f.bobID, f.b, "totp", "bob-seed"))

			// At rest: Fernet under the credential keys, never the blob.
			var enc, hash string
			if err := c.Store.DB().Get(ctx, "SELECT encrypted_blob, key_hash FROM identity_credentials WHERE id = ?", []any{certID}, &enc, &hash); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(enc, "alice-blob") || !strings.HasPrefix(enc, "gAAAAA") || hash != identity.KeyHash(c.Creds.Keys.Keys()[0]) {
				t.Errorf("stored %q with key hash %q", enc, hash)
			}

			lists := []struct {
				name, path, token string
				want              []string // types
			}{
				// bob has a cert and an ec2 credential from newTenants.
				{"admin, all", "/v3/credentials", f.admin, []string{"cert", "cert", "ec2", "ec2", "totp"}},
				{"admin, by user", "/v3/credentials?user_id=" + f.aliceID, f.admin, []string{"cert", "ec2"}},
				{"admin, by type", "/v3/credentials?type=ec2", f.admin, []string{"ec2", "ec2"}},
				{"admin, by user and type", "/v3/credentials?type=totp&user_id=" + f.bobID, f.admin, []string{"totp"}},
				{"alice, her own", "/v3/credentials", f.alice, []string{"cert", "ec2"}},
				{"alice, asking for bob's", "/v3/credentials?user_id=" + f.bobID, f.alice, nil},
				{"bob, his own", "/v3/credentials", f.bob, []string{"cert", "ec2", "totp"}},
			}
			for _, tt := range lists {
				t.Run(tt.name, func(t *testing.T) {
					got := ids(t, c.Must(t, http.StatusOK, "GET", tt.path, tt.token, nil), "credentials", "type")
					if !slices.Equal(got, tt.want) {
						t.Errorf("types = %v, want %v", got, tt.want)
					}
				})
			}

			if b := c.Must(t, http.StatusOK, "GET", "/v3/credentials/"+certID, f.alice, nil); at(b, "credential.blob") != "alice-blob" {
				t.Errorf("show: %v", b)
			}
			if b := c.Must(t, http.StatusOK, "PATCH", "/v3/credentials/"+certID, f.alice,
				map[string]any{"credential": map[string]any{"blob": "new-blob"}}); at(b, "credential.blob") != "new-blob" || at(b, "credential.type") != "cert" {
				t.Errorf("update: %v", b)
			}

			bad := []struct {
				name, method, path string
				body               any
				code               int
				msg                string
			}{
				{"no blob", "POST", "/v3/credentials", map[string]any{"credential": map[string]any{"user_id": f.aliceID, "type": "cert"}}, 400, "'blob' is a required property"},
				{"no type", "POST", "/v3/credentials", map[string]any{"credential": map[string]any{"user_id": f.aliceID, "blob": "x"}}, 400, "'type' is a required property"},
				{"no credential", "POST", "/v3/credentials", map[string]any{}, 400, "required"},
				{"blob not a string", "POST", "/v3/credentials", map[string]any{"credential": map[string]any{"user_id": f.aliceID, "type": "cert", "blob": 5}}, 400, "string"},
				{"ec2 without a project", "POST", "/v3/credentials", credBody(f.aliceID, "", "ec2", blob), 400, "project_id"},
				{"ec2 blob not JSON", "POST", "/v3/credentials", credBody(f.aliceID, f.a, "ec2", "{"), 400, "Invalid blob in credential"},
				{"ec2 blob without access", "POST", "/v3/credentials", credBody(f.aliceID, f.a, "ec2", `{"secret":"x"}`), 400, "access"},
				{"ec2 blob with a trust", "POST", "/v3/credentials", credBody(f.aliceID, f.a, "ec2", `{"access":"k2","trust_id":"t"}`), 400, "trust_id"},
				{"ec2 access taken", "POST", "/v3/credentials", credBody(f.aliceID, f.a, "ec2", `{"access":"AKIA-alice","secret":"other"}`), 409, "Duplicate ID"},
				{"no such project", "POST", "/v3/credentials", credBody(f.aliceID, "nope", "cert", "x"), 404, "Could not find project"},
				{"user_id of 65", "POST", "/v3/credentials", credBody(strings.Repeat("u", 65), "", "cert", "x"), 400, "user_id"},
				{"NUL in blob", "POST", "/v3/credentials", credBody(f.aliceID, "", "cert", "a\x00b"), 400, "NUL"},
				{"patch the type", "PATCH", "/v3/credentials/" + certID, map[string]any{"credential": map[string]any{"blob": "x", "type": "ec2"}}, 400, "'type' was unexpected"},
				{"patch nothing", "PATCH", "/v3/credentials/" + certID, map[string]any{"credential": map[string]any{}}, 400, "'blob' is a required property"},
				{"patch blob null", "PATCH", "/v3/credentials/" + certID, map[string]any{"credential": map[string]any{"blob": nil}}, 400, "string"},
				{"patch the ec2 access", "PATCH", "/v3/credentials/" + identity.EC2CredentialID("AKIA-alice"),
					map[string]any{"credential": map[string]any{"blob": `{"access":"other","secret":"s"}`}}, 400, "access can not be updated"},
				{"show missing", "GET", "/v3/credentials/nope", nil, 404, "Could not find credential: nope."},
				{"delete missing", "DELETE", "/v3/credentials/nope", nil, 404, "Could not find credential"},
			}
			before := c.snapshot(t, f.admin)
			for _, tt := range bad {
				t.Run(tt.name, func(t *testing.T) {
					wantError(t, c.Do(t, tt.method, tt.path, f.admin, tt.body), tt.code, tt.msg)
				})
			}
			if after := c.snapshot(t, f.admin); after != before {
				t.Errorf("refused calls changed the state")
			}

			// A delegated token (an application credential's) may not.
			ac := c.issue(t, map[string]any{"auth": map[string]any{"identity": map[string]any{
				"methods": []string{"application_credential"}, "application_credential": map[string]any{"id": f.aliceAC, "secret": f.aliceACSecret},
			}}}, "").Header.Get("X-Subject-Token")
			wantError(t, c.Do(t, "GET", "/v3/credentials/"+certID, ac, nil), 403, "Delegated tokens cannot access credentials directly")
			if got := list(t, c.Must(t, http.StatusOK, "GET", "/v3/credentials", ac, nil), "credentials"); len(got) != 0 {
				t.Errorf("a delegated token lists %v", got)
			}

			c.Must(t, http.StatusNoContent, "DELETE", "/v3/credentials/"+certID, f.alice, nil)
			c.Must(t, http.StatusNotFound, "GET", "/v3/credentials/"+certID, f.admin, nil)
			// A user's and a project's deletes take their credentials.
			c.Must(t, http.StatusNoContent, "DELETE", "/v3/users/"+f.bobID, f.admin, nil)
			if got := ids(t, c.Must(t, http.StatusOK, "GET", "/v3/credentials", f.admin, nil), "credentials", "type"); !slices.Equal(got, []string{"ec2"}) {
				t.Errorf("after deleting bob: %v", got)
			}
			c.Must(t, http.StatusNoContent, "DELETE", "/v3/projects/"+f.a+"/users/"+f.aliceID+"/roles/"+f.member, f.admin, nil)
			c.Must(t, http.StatusNoContent, "DELETE", "/v3/projects/"+f.a+"/users/"+f.carolID+"/roles/"+f.reader, f.admin, nil)
			c.Must(t, http.StatusNoContent, "DELETE", "/v3/projects/"+f.a, f.admin, nil)
			if got := list(t, c.Must(t, http.StatusOK, "GET", "/v3/credentials", f.admin, nil), "credentials"); len(got) != 0 {
				t.Errorf("after deleting A: %v", got)
			}
		})
	}
}

// TestCredentialKeyRotation: a rotation keeps credentials readable, a
// migration moves them to the new primary, and a rotation is refused
// while one is not migrated.
func TestCredentialKeyRotation(t *testing.T) {
	c := newCloud(t)
	f := newTenants(t, c)
	ctx := context.Background()
	x, err := c.Creds.Create(ctx, identity.Credential{UserID: f.aliceID, Type: "cert", Blob: "before"})
	if err != nil {
		t.Fatal(err)
	}
	repo := c.Creds.Keys.(interface{ Rotate() error })
	if err := repo.Rotate(); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Creds.Unmigrated(ctx); err != nil || n != 3 { // bob's two and this one
		t.Fatalf("unmigrated = %d, %v; want 3", n, err)
	}
	if got, err := c.Creds.Get(ctx, x.ID); err != nil || got.Blob != "before" {
		t.Fatalf("after a rotation: %v %v", got, err)
	}
	if n, err := c.Creds.Migrate(ctx); err != nil || n != 3 {
		t.Fatalf("migrate = %d, %v", n, err)
	}
	if n, _ := c.Creds.Unmigrated(ctx); n != 0 {
		t.Fatalf("unmigrated after migrate = %d", n)
	}
	for range 2 {
		if err := repo.Rotate(); err != nil {
			t.Fatal(err)
		}
	}
	// Two rotations without a migration purged the key it was under.
	if _, err := c.Creds.Get(ctx, x.ID); err == nil {
		t.Fatal("a credential under a purged key was read")
	}
}

// ec2Signed is a version 2 request to an EC2 API signed with secret.
func ec2Signed(t *testing.T, access, secret string, when time.Time) map[string]any {
	t.Helper()
	params := map[string]string{"Action": "DescribeInstances", "SignatureVersion": "2", "AWSAccessKeyId": access,
		"Timestamp": when.UTC().Format("2006-01-02T15:04:05Z")}
	creds := map[string]any{"access": access, "host": "ec2.example.com:8773", "verb": "GET", "path": "/", "params": params}
	raw, _ := json.Marshal(creds)
	req, err := ec2.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := ec2.Sign(secret, req)
	if err != nil {
		t.Fatal(err)
	}
	creds["signature"] = sig
	return map[string]any{"credentials": creds}
}

// TestEC2Credentials drives OS-EC2 and /v3/ec2tokens on both engines.
func TestEC2Credentials(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			c := newCloudOn(t, e.DSN)
			f := newTenants(t, c)
			base := "/v3/users/" + f.aliceID + "/credentials/OS-EC2"
			b := c.Must(t, http.StatusCreated, "POST", base, f.alice, map[string]any{"tenant_id": f.a})
			access, secret := str(t, b, "credential.access"), str(t, b, "credential.secret")
			if at(b, "credential.tenant_id") != f.a || at(b, "credential.user_id") != f.aliceID || at(b, "credential.trust_id") != nil ||
				!strings.HasSuffix(str(t, b, "credential.links.self"), base+"/"+access) || len(access) != 32 || len(secret) != 32 {
				t.Errorf("create: %v", b)
			}
			if got := ids(t, c.Must(t, http.StatusOK, "GET", base, f.alice, nil), "credentials", "access"); !slices.Equal(got, []string{access}) {
				t.Errorf("list = %v", got)
			}
			if s := c.Must(t, http.StatusOK, "GET", base+"/"+access, f.alice, nil); at(s, "credential.secret") != secret {
				t.Errorf("show: %v", s)
			}
			// The same credential through /v3/credentials.
			v3 := c.Must(t, http.StatusOK, "GET", "/v3/credentials/"+identity.EC2CredentialID(access), f.alice, nil)
			var blob map[string]any
			if err := json.Unmarshal([]byte(str(t, v3, "credential.blob")), &blob); err != nil || blob["secret"] != secret || at(v3, "credential.type") != "ec2" {
				t.Errorf("as a v3 credential: %v", v3)
			}

			svc := f.admin // ec2tokens is for services and admins
			tok := c.Call(t, call{Method: "POST", Path: "/v3/ec2tokens", Token: svc, Body: ec2Signed(t, access, secret, time.Now())})
			if tok.Code != http.StatusOK || tok.Header.Get("X-Subject-Token") == "" {
				t.Fatalf("ec2tokens: %s", tok)
			}
			tb := tok.JSON(t)
			if at(tb, "token.project.id") != f.a || at(tb, "token.user.id") != f.aliceID || !slices.Equal(ids(t, tb, "token.roles", "name"), []string{"member", "reader"}) {
				t.Errorf("ec2 token: %v", tb)
			}
			if m := list(t, tb, "token.methods"); len(m) != 1 || m[0] != "ec2credential" {
				t.Errorf("methods = %v", m)
			}
			// The token validates, and may not touch credentials.
			ec2Tok := tok.Header.Get("X-Subject-Token")
			c.Must(t, http.StatusOK, "GET", "/v3/projects/"+f.a, ec2Tok, nil)
			wantError(t, c.Do(t, "GET", base, ec2Tok, nil), 403, "Delegated tokens")
			// Nor is it traded for another token (Keystone's delegated-method
			// guard of the token method).
			for _, scope := range []any{nil, projectScope(f.a)} {
				a := map[string]any{"identity": map[string]any{"methods": []string{"token"}, "token": map[string]any{"id": ec2Tok}}}
				if scope != nil {
					a["scope"] = scope
				}
				wantError(t, c.issue(t, map[string]any{"auth": a}, ""), 403,
					"You are not authorized to perform the requested action: Using a delegated token to create another token is not allowed..")
			}

			wrong := ec2Signed(t, access, "not-the-secret", time.Now())
			noSig := ec2Signed(t, access, secret, time.Now())
			delete(noSig["credentials"].(map[string]any), "signature")
			old := ec2Signed(t, access, secret, time.Now().Add(-16*time.Minute))
			unknown := ec2Signed(t, "unknown", secret, time.Now())
			refused := []struct {
				name, token string
				body        any
				code        int
				msg         string
			}{
				{"wrong secret", svc, wrong, 401, "Invalid EC2 signature."},
				{"no signature", svc, noSig, 401, "EC2 signature not supplied."},
				{"expired", svc, old, 401, "Credential is expired"},
				{"unknown access", svc, unknown, 401, "EC2 access key not found."},
				{"no access", svc, map[string]any{"credentials": map[string]any{"signature": "x"}}, 401, "EC2 Signature not supplied"},
				{"empty body", svc, map[string]any{}, 400, "request must include a request body"},
				{"params not an object", svc, map[string]any{"credentials": map[string]any{"access": access, "params": []int{1}}}, 400, "params"},
				{"a member may not", f.alice, ec2Signed(t, access, secret, time.Now()), 403, ""},
			}
			for _, tt := range refused {
				t.Run(tt.name, func(t *testing.T) {
					wantError(t, c.Call(t, call{Method: "POST", Path: "/v3/ec2tokens", Token: tt.token, Body: tt.body}), tt.code, tt.msg)
				})
			}
			// Without a role on the project there is no token.
			dave := c.mkUser(t, f.admin, "dave", "dave-pw", "default")
			d := c.Must(t, http.StatusCreated, "POST", "/v3/users/"+dave+"/credentials/OS-EC2", f.admin, map[string]any{"tenant_id": f.a})
			wantError(t, c.Call(t, call{Method: "POST", Path: "/v3/ec2tokens", Token: svc,
				Body: ec2Signed(t, str(t, d, "credential.access"), str(t, d, "credential.secret"), time.Now())}), 401, "User not valid for project.")
			alice := f.alice

			badCreate := []struct {
				name string
				body any
				code int
				msg  string
			}{
				{"no tenant", map[string]any{}, 400, "tenant_id"},
				{"tenant not a string", map[string]any{"tenant_id": 5}, 400, "tenant_id"},
				{"no such tenant", map[string]any{"tenant_id": "nope"}, 404, "Could not find project"},
			}
			before := c.snapshot(t, f.admin)
			for _, tt := range badCreate {
				t.Run(tt.name, func(t *testing.T) { wantError(t, c.Do(t, "POST", base, alice, tt.body), tt.code, tt.msg) })
			}
			wantError(t, c.Do(t, "GET", base+"/nope", alice, nil), 404, "Could not find credential")
			if after := c.snapshot(t, f.admin); after != before {
				t.Errorf("refused calls changed the state")
			}
			c.Must(t, http.StatusNoContent, "DELETE", base+"/"+access, alice, nil)
			wantError(t, c.Call(t, call{Method: "POST", Path: "/v3/ec2tokens", Token: svc, Body: ec2Signed(t, access, secret, time.Now())}),
				401, "EC2 access key not found.")
		})
	}
}
