package api_test

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gostack/gostack/internal/testenv"
)

// TestMultiFactorAuth: a user's multi-factor rules in force are enforced
// as Keystone enforces them — credentials that satisfy no rule are a
// 401 with an auth receipt (Openstack-Auth-Receipt, Keystone's receipt
// body), the receipt sent back counts for its methods, and a receipt
// that is expired, forged or another user's is Keystone's 401 "Could not
// find auth receipt". On both engines.
func TestMultiFactorAuth(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			c := newCloudOn(t, e.DSN)
			now := setClock(c)
			admin := c.adminToken(t)
			p := c.mkProject(t, admin, "mfa-p", "default")
			id := c.mkUser(t, admin, "mfa", "mfa-pw", "default")
			c.grant(t, admin, "projects/"+p, id, "member")
			other := c.mkUser(t, admin, "other", "other-pw", "default")
			c.grant(t, admin, "projects/"+p, other, "member")
			// An application credential, made while one factor was enough.
			userTok := c.token(t, "mfa", "mfa-pw", projectScope(p))
			ac := c.Must(t, http.StatusCreated, "POST", "/v3/users/"+id+"/application_credentials", userTok,
				map[string]any{"application_credential": map[string]any{"name": "second"}})
			acID, acSecret := str(t, ac, "application_credential.id"), str(t, ac, "application_credential.secret")
			c.Must(t, http.StatusOK, "PATCH", "/v3/users/"+id, admin, map[string]any{"user": map[string]any{"options": map[string]any{
				"multi_factor_auth_enabled": true, "multi_factor_auth_rules": [][]string{{"password", "application_credential"}}}}})

			auth := func(methods []string, receipt string) reply {
				t.Helper()
				ident := map[string]any{"methods": methods}
				if slices.Contains(methods, "password") {
					ident["password"] = map[string]any{"user": map[string]any{"id": id, "password": "mfa-pw"}}
				}
				if slices.Contains(methods, "application_credential") {
					ident["application_credential"] = map[string]any{"id": acID, "secret": acSecret}
				}
				var h map[string]string
				if receipt != "" {
					h = map[string]string{"Openstack-Auth-Receipt": receipt}
				}
				return c.Call(t, call{Method: "POST", Path: "/v3/auth/tokens", Body: map[string]any{"auth": map[string]any{"identity": ident}}, Header: h})
			}
			// wantReceipt checks Keystone's receipt reply and returns the receipt.
			wantReceipt := func(r reply, methods ...string) string {
				t.Helper()
				if r.Code != http.StatusUnauthorized || r.Header.Get("X-Subject-Token") != "" {
					t.Fatalf("want a receipt: %s", r)
				}
				rc := r.Header.Get("Openstack-Auth-Receipt")
				b := r.JSON(t)
				got := []string{}
				for _, m := range list(t, b, "receipt.methods") {
					got = append(got, m.(string))
				}
				slices.Sort(got)
				req := list(t, b, "required_auth_methods")
				if rc == "" || !slices.Equal(got, methods) || at(b, "receipt.user.id") != id || at(b, "receipt.user.name") != "mfa" ||
					at(b, "receipt.user.domain.id") != "default" || at(b, "receipt.user.domain.name") != "Default" ||
					at(b, "receipt.expires_at") != now.UTC().Truncate(time.Second).Add(5*time.Minute).Format("2006-01-02T15:04:05.000000Z") ||
					at(b, "receipt.issued_at") != now.UTC().Truncate(time.Second).Format("2006-01-02T15:04:05.000000Z") ||
					len(req) != 1 || len(req[0].([]any)) != 2 {
					t.Fatalf("receipt reply: %s (header %q)", r.Body, rc)
				}
				return rc
			}
			tokenMethods := func(r reply) []string { t.Helper(); return tokenMethodsOf(t, r) }
			both := []string{"application_credential", "password"}

			byPassword := wantReceipt(auth([]string{"password"}, ""), "password")
			byAppCred := wantReceipt(auth([]string{"application_credential"}, ""), "application_credential")
			// The receipt completes the rule with the other method.
			if got := tokenMethods(auth([]string{"application_credential"}, byPassword)); !slices.Equal(got, both) {
				t.Errorf("app cred + password receipt: token methods %v", got)
			}
			if got := tokenMethods(auth([]string{"password"}, byAppCred)); !slices.Equal(got, both) {
				t.Errorf("password + app cred receipt: token methods %v", got)
			}
			// Both methods in one request.
			if got := tokenMethods(auth(both, "")); !slices.Equal(got, both) {
				t.Errorf("both methods: token methods %v", got)
			}
			// A receipt of the same method completes nothing: a new receipt.
			wantReceipt(auth([]string{"password"}, byPassword), "password")
			// Bad receipts, after the credentials are checked.
			notFound := "Could not find auth receipt: "
			wantError(t, auth([]string{"application_credential"}, "garbage"), 401, notFound)
			wantError(t, auth([]string{"application_credential"}, userTok), 401, notFound) // a token is no receipt
			otherReceipt := func() string {
				c.Must(t, http.StatusOK, "PATCH", "/v3/users/"+other, admin, map[string]any{"user": map[string]any{"options": map[string]any{
					"multi_factor_auth_rules": [][]string{{"password", "token"}}}}})
				r := c.issue(t, passwordAuth("other", "other-pw", nil), "")
				if r.Code != http.StatusUnauthorized || r.Header.Get("Openstack-Auth-Receipt") == "" {
					t.Fatalf("other user's receipt: %s", r)
				}
				return r.Header.Get("Openstack-Auth-Receipt")
			}()
			wantError(t, auth([]string{"application_credential"}, otherReceipt), 401, notFound)
			wantError(t, c.issue(t, passwordAuth("mfa", "wrong", nil), ""), 401, "The request you have made requires authentication.")
			*now = now.Add(5*time.Minute + time.Second)
			wantError(t, auth([]string{"application_credential"}, byPassword), 401, notFound) // expired
			admin = c.adminToken(t)

			// Rules not in force: one factor is enough again.
			c.Must(t, http.StatusOK, "PATCH", "/v3/users/"+id, admin, map[string]any{"user": map[string]any{"options": map[string]any{
				"multi_factor_auth_enabled": false}}})
			if got := tokenMethods(auth([]string{"password"}, "")); !slices.Equal(got, []string{"password"}) {
				t.Errorf("rules disabled: token methods %v", got)
			}
			// A rule one method satisfies.
			c.Must(t, http.StatusOK, "PATCH", "/v3/users/"+id, admin, map[string]any{"user": map[string]any{"options": map[string]any{
				"multi_factor_auth_enabled": nil, "multi_factor_auth_rules": [][]string{{"password", "application_credential"}, {"password"}}}}})
			tokenMethods(auth([]string{"password"}, ""))
		})
	}
}

// TestOpenStackCLIMultiFactor is the client proof: keystoneauth reads
// the receipt reply (openstack token issue with the password alone
// prints its required methods), and its v3multifactor plugin gets a
// token with both methods of the rule in one request.
func TestOpenStackCLIMultiFactor(t *testing.T) {
	bin := testenv.LookPath(t, "openstack", "python3-openstackclient")
	c := newCloud(t)
	admin := c.adminToken(t)
	p := c.mkProject(t, admin, "p", "default")
	id := c.mkUser(t, admin, "mf", "mf-pw", "default")
	c.grant(t, admin, "projects/"+p, id, "member")
	ac := c.Must(t, http.StatusCreated, "POST", "/v3/users/"+id+"/application_credentials", c.token(t, "mf", "mf-pw", projectScope(p)),
		map[string]any{"application_credential": map[string]any{"name": "second"}})
	c.openstack(t, bin, "user", "set", "mf", "--enable-multi-factor-auth", "--multi-factor-auth-rule", "password,application_credential")
	env := []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir(), "OS_AUTH_URL=" + c.URL + "/v3", "OS_IDENTITY_API_VERSION=3",
		"OS_USERNAME=mf", "OS_PASSWORD=mf-pw", "OS_USER_DOMAIN_NAME=Default"}
	run := func(env []string, args ...string) (string, error) {
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run(append(env, "OS_PROJECT_NAME=p", "OS_PROJECT_DOMAIN_NAME=Default"), "token", "issue")
	if err == nil || !strings.Contains(out, "Not all required auth rules were satisfied: [['") ||
		!strings.Contains(out, "'password'") || !strings.Contains(out, "'application_credential'") {
		t.Errorf("token issue with the password alone: %v\n%s", err, out)
	}
	// auth_methods is a list, which only clouds.yaml can give (the
	// option's environment and flag forms are read as one string).
	cloudsYAML := filepath.Join(t.TempDir(), "clouds.yaml")
	if err := os.WriteFile(cloudsYAML, []byte(fmt.Sprintf(`clouds:
  mfa:
    auth_type: v3multifactor
    identity_api_version: 3
    auth:
      auth_url: %s/v3
      auth_methods: [v3password, v3applicationcredential]
      username: mf
      password: mf-pw
      user_domain_name: Default
      application_credential_id: %s
      application_credential_secret: %s
`, c.URL, str(t, ac, "application_credential.id"), str(t, ac, "application_credential.secret"))), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = run([]string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir(), "OS_CLIENT_CONFIG_FILE=" + cloudsYAML},
		"--os-cloud", "mfa", "token", "issue", "-f", "json")
	if err != nil || !strings.Contains(out, `"project_id": "`+p+`"`) {
		t.Errorf("token issue with v3multifactor: %v\n%s", err, out)
	}
}
